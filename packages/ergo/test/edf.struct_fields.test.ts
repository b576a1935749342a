// registerStruct: a Go struct registered by its field names. Same bytes as the positional
// register() form; the class is checked at registration (every field present, nothing extra)
// and every encoded value must carry every field (ERR_EDF_FIELD_MISSING naming it).

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { EdfError, Go, createRegistry, decode, encode } from '../src/net/index.js';

class Item {
  sku = '';
  qty = 0;
}

class Order {
  id = 0;
  items: Item[] = [];
  note = '';
  describe(): string {
    return `order ${this.id}`;
  }
}

function setup() {
  const r = createRegistry({ framework: false });
  const ItemT = r.registerStruct('#example.com/shop/Item', { sku: Go.string, qty: Go.int32 }, { class: Item });
  const OrderT = r.registerStruct(
    '#example.com/shop/Order',
    { id: Go.int64, items: Go.slice(ItemT), note: Go.string },
    { class: Order },
  );
  return { r, ItemT, OrderT };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof EdfError, `expected EdfError, got ${String(e)}`);
    return `${e.code} ${e.message}`;
  }
  assert.fail('expected an error');
}

test('registerStruct encodes in declaration order, byte for byte as register()', () => {
  const { r } = setup();
  const positional = createRegistry({ framework: false });
  class Item2 {
    sku = '';
    qty = 0;
  }
  class Order2 {
    id = 0;
    items: Item2[] = [];
    note = '';
  }
  const I2 = positional.register({
    name: '#example.com/shop/Item',
    class: Item2,
    fields: [
      ['sku', Go.string],
      ['qty', Go.int32],
    ],
  });
  positional.register({
    name: '#example.com/shop/Order',
    class: Order2,
    fields: { id: Go.int64, items: Go.slice(I2), note: Go.string },
  });
  const o = Object.assign(new Order(), { id: 7, items: [Object.assign(new Item(), { sku: 'a', qty: 2 })], note: 'n' });
  const o2 = Object.assign(new Order2(), {
    id: 7,
    items: [Object.assign(new Item2(), { sku: 'a', qty: 2 })],
    note: 'n',
  });
  const bytes = encode(o, { registry: r });
  assert.deepEqual(bytes, encode(o2, { registry: positional }));
  const back = decode(bytes, { registry: r }) as Order;
  assert.ok(back instanceof Order);
  assert.ok(back.items[0] instanceof Item);
  assert.deepEqual(
    { ...back, items: back.items.map((i) => ({ ...i })) },
    { id: 7, items: [{ sku: 'a', qty: 2 }], note: 'n' },
  );
});

test('a value missing a field fails with ERR_EDF_FIELD_MISSING naming the field', () => {
  const { r, OrderT } = setup();
  const o = new Order() as Partial<Order>;
  delete o.note;
  const msg = code(() => encode(o, { registry: r }));
  assert.match(msg, /^ERR_EDF_FIELD_MISSING /);
  assert.match(msg, /Order\.note/);
  // A plain object sent as the struct is checked the same way, nested ones too.
  const nested = { id: 1, items: [{ sku: 'x' }], note: '' };
  const m2 = code(() => encode(OrderT.of(nested as never), { registry: r }));
  assert.match(m2, /^ERR_EDF_FIELD_MISSING /);
  assert.match(m2, /items\[0\]\.qty/);
  // A field that is present but undefined is the slot's zero value, as with register().
  const z = decode(encode(Object.assign(new Order(), { note: undefined }), { registry: r }), { registry: r }) as Order;
  assert.equal(z.note, '');
});

test('the positional register() keeps sending zero values for absent fields', () => {
  const r = createRegistry({ framework: false });
  const T = r.register({ name: '#example.com/shop/Loose', fields: { a: Go.int32, b: Go.string } });
  assert.doesNotThrow(() => encode(T.of({ a: 1, b: '' }), { registry: r }));
});

test('registration checks the class against the schema, naming the field', () => {
  const r = createRegistry({ framework: false });
  const typo = code(() =>
    r.registerStruct('#example.com/shop/Item', { sku: Go.string, qtty: Go.int32 } as never, { class: Item }),
  );
  assert.match(typo, /^ERR_EDF_REGISTER .*"qtty" is not a property of Item/);
  const extra = code(() => r.registerStruct('#example.com/shop/Item', { sku: Go.string } as never, { class: Item }));
  assert.match(extra, /^ERR_EDF_REGISTER .*property "qty" of Item is not in the schema/);
  // Nothing was registered by the failed attempts.
  assert.equal(r.type('#example.com/shop/Item'), undefined);
  assert.ok(r.registerStruct('#example.com/shop/Item', { sku: Go.string, qty: Go.int32 }, { class: Item }));
});

test('without a class: a generated class, or plain objects with create', () => {
  const r = createRegistry({ framework: false });
  const P = r.registerStruct<{ x: number; y: number }>(
    '#example.com/geo/Point',
    { x: Go.float64, y: Go.float64 },
    { create: (f) => ({ x: f.x as number, y: f.y as number }) },
  );
  const back = decode(encode(P.of({ x: 1.5, y: -2 }), { registry: r }), { registry: r });
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.deepEqual(back, { x: 1.5, y: -2 });
  const G = r.registerStruct('#example.com/geo/Size', { w: Go.int32, h: Go.int32 });
  const g = decode(encode(G.of({ w: 1, h: 2 }), { registry: r }), { registry: r }) as object;
  assert.equal(g.constructor.name, 'Size');
});
