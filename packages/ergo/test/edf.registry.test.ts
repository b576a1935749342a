// Type registration and the value model: classes and generated classes, named types, custom
// marshalers, registered errors and sentinels, and the encode errors that name the offending
// field.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { ErrAliasOwner, ErrEventOwner, ErrTimeout, ErgoError, defineError } from '../src/gen/errors.js';
import { PID } from '../src/gen/pid.js';
import {
  EdfDecoder,
  EdfEncoder,
  EdfError,
  Go,
  Typed,
  asAtom,
  createRegistry,
  decode,
  encode,
  int8,
  int,
  uint64,
} from '../src/net/index.js';
import { hex, unhex } from './edf.fixtures.js';

class Money {
  constructor(
    public currency = '',
    public cents: number | bigint = 0,
  ) {}
}

function setup() {
  const r = createRegistry({ framework: false });
  const MoneyT = r.register({
    name: '#example.com/shop/Money',
    class: Money,
    fields: { currency: Go.string, cents: Go.int64 },
  });
  class Order {
    id = 0;
    tags: string[] | null = null;
    total: Money = new Money();
    lines: Map<string, number> | null = null;
  }
  const OrderT = r.register({
    name: '#example.com/shop/Order',
    class: Order,
    fields: [
      ['id', Go.int32],
      ['tags', Go.slice(Go.string)],
      ['total', MoneyT],
      ['lines', Go.map(Go.string, Go.uint8)],
    ],
  });
  return { r, MoneyT, OrderT, Order };
}

test('a registered struct encodes its fields in order, untagged, and decodes into its class', () => {
  const { r, Order } = setup();
  const o = Object.assign(new Order(), {
    id: 7,
    tags: ['a'],
    total: new Money('EUR', 250),
    lines: new Map([['x', 2]]),
  });
  const bytes = new EdfEncoder({ registry: r }).encode(o);
  assert.equal(
    hex(bytes),
    '83' +
      '0017' +
      Buffer.from('#example.com/shop/Order').toString('hex') +
      '00000007' +
      '9d00000001' +
      '000161' +
      '0003455552' +
      '00000000000000fa' +
      '9f00000001' +
      '000178' +
      '02',
  );
  const back = new EdfDecoder({ registry: r }).decode(bytes);
  assert.ok(back instanceof Order);
  assert.ok(back.total instanceof Money);
  assert.deepStrictEqual(back, o);
});

test('plain objects fill struct fields; missing fields are Go zero values', () => {
  const { r, OrderT, Order } = setup();
  const bytes = new EdfEncoder({ registry: r }).encode(OrderT.of({ id: 1, total: { currency: 'USD' } } as never));
  const back = new EdfDecoder({ registry: r }).decode(bytes);
  assert.deepStrictEqual(
    back,
    Object.assign(new Order(), { id: 1, tags: null, total: new Money('USD', 0), lines: null }),
  );
});

test('without a class a struct gets a generated one named after the Go type', () => {
  const r = createRegistry({ framework: false });
  const P = r.register({ name: '#example.com/geo/Point', fields: { x: Go.float64, y: Go.float64 } });
  assert.equal(P.cls?.name, 'Point');
  assert.equal(P.name, 'geo.Point');
  assert.equal(P.regName, '#example.com/geo/Point');
  const p = P.make({ x: 1.5, y: -2 });
  assert.ok(p instanceof P.cls!);
  const back = new EdfDecoder({ registry: r }).decode(new EdfEncoder({ registry: r }).encode(p));
  assert.ok(back instanceof P.cls!);
  assert.deepStrictEqual({ ...(back as object) }, { x: 1.5, y: -2 });
  assert.equal(r.typeOf(P.cls!), P);
  assert.equal(r.type('#example.com/geo/Point'), P);
});

test('create builds values of classes whose constructor takes arguments', () => {
  const r = createRegistry({ framework: false });
  class Temp {
    constructor(readonly celsius: number) {}
  }
  r.register({
    name: '#example.com/t/Temp',
    class: Temp,
    fields: { celsius: Go.float32 },
    create: (f: Record<string, unknown>) => new Temp(f.celsius as number),
  });
  const back = new EdfDecoder({ registry: r }).decode(new EdfEncoder({ registry: r }).encode(new Temp(21.5)));
  assert.deepStrictEqual(back, new Temp(21.5));
  // A create that throws is reported as a decode error with the cause.
  const r2 = createRegistry({ framework: false });
  r2.register({
    name: '#example.com/t/Temp',
    class: Temp,
    fields: { celsius: Go.float32 },
    create: () => {
      throw new RangeError('too cold');
    },
  });
  const err = (() => {
    try {
      new EdfDecoder({ registry: r2 }).decode(new EdfEncoder({ registry: r2 }).encode(new Temp(-300)));
    } catch (e) {
      return e;
    }
  })();
  assert.ok(
    err instanceof EdfError &&
      err.code === 'ERR_EDF_DECODE' &&
      err.cause instanceof RangeError &&
      /too cold/.test(err.message),
  );
});

test('named types: the underlying body, 0x83 markers for slices/maps, Typed in any slots, classes via valueOf', () => {
  const r = createRegistry({ framework: false });
  const Level = r.register({ name: '#example.com/x/Level', type: Go.int });
  const Names = r.register({ name: '#example.com/x/Names', type: Go.slice(Go.string) });
  const Bag = r.register({ name: '#example.com/x/Bag', type: Go.map(Go.atom, Go.bool) });
  class Celsius {
    constructor(readonly v: number) {}
    valueOf(): number {
      return this.v;
    }
  }
  r.register({ name: '#example.com/x/Celsius', type: Go.float64, class: Celsius });
  const enc = new EdfEncoder({ registry: r });
  const dec = new EdfDecoder({ registry: r });
  assert.match(hex(enc.encode(Level.of(3))), /0000000000000003$/);
  assert.match(hex(enc.encode(Names.of(['a']))), /8300000001000161$/, 'registered slice marker is 0x83');
  assert.match(hex(enc.encode(Bag.of({ k: true }))), /830000000100016b01$/, 'registered map marker is 0x83');
  assert.deepStrictEqual(dec.decode(enc.encode(Names.of(['a']))), new Typed(Names, ['a']));
  assert.deepStrictEqual(dec.decode(enc.encode(new Celsius(36.6))), new Celsius(36.6));
  // In typed slots named values are plain.
  const S = r.register({ name: '#example.com/x/S', fields: { level: Level, names: Names } });
  const back = dec.decode(enc.encode(S.make({ level: 2, names: Names.of(['z']) }))) as Record<string, unknown>;
  assert.deepStrictEqual({ ...back }, { level: 2, names: ['z'] });
  assert.throws(() => enc.encode(S.make({ level: int(2) })), {
    code: 'ERR_EDF_ENCODE',
    message: /expected x\.Level, got a int value/,
  });
  assert.throws(() => r.register({ name: '#example.com/x/Bad', type: Go.pid }), { code: 'ERR_EDF_REGISTER' });
});

test('custom marshalers: u32 length + bytes; callback failures become codec errors with the cause', () => {
  const r = createRegistry({ framework: false });
  class Blob {
    constructor(readonly data: string) {}
  }
  const B = r.register({
    name: '#example.com/x/Blob',
    class: Blob,
    marshal: (v: Blob) => {
      if (v.data === 'bad') throw new TypeError('cannot marshal');
      return new TextEncoder().encode(v.data);
    },
    unmarshal: (b: Uint8Array) => {
      if (b.length === 0) throw new Error('empty');
      return new Blob(new TextDecoder().decode(b));
    },
  });
  const enc = new EdfEncoder({ registry: r });
  const bytes = enc.encode(new Blob('hi'));
  assert.equal(
    hex(bytes),
    `83${B.regName.length.toString(16).padStart(4, '0')}${Buffer.from(B.regName).toString('hex')}000000026869`,
  );
  assert.deepStrictEqual(new EdfDecoder({ registry: r }).decode(bytes), new Blob('hi'));
  assert.throws(
    () => enc.encode([1, new Blob('bad')]),
    (e: unknown) =>
      e instanceof EdfError && e.code === 'ERR_EDF_ENCODE' && e.path === 'value[1]' && e.cause instanceof TypeError,
  );
  assert.throws(
    () => new EdfDecoder({ registry: r }).decode(enc.encode(new Blob(''))),
    (e: unknown) => e instanceof EdfError && e.code === 'ERR_EDF_DECODE' && e.offset > 0,
  );
});

test('registration errors', () => {
  const r = createRegistry({ framework: false });
  const err = (f: () => unknown, code = 'ERR_EDF_REGISTER') =>
    assert.throws(f, (e: unknown) => e instanceof EdfError && e.code === code);
  err(() => r.register({ name: 'Point', fields: {} }));
  err(() => r.register({ name: '#nopackage', fields: {} }));
  err(() => r.register({ name: '#a/' + 'x'.repeat(5000), fields: {} }), 'ERR_EDF_TYPE_NAME_TOO_LONG');
  err(() => r.register({ name: '#a/B', fields: { 1: Go.int } }));
  err(() => r.register({ name: '#a/B', fields: { x: 'int' as never } }));
  err(() => r.register({ name: '#a/B', fields: { x: Go.int }, type: Go.int } as never));
  err(() => r.register({ name: '#a/B', fields: { k: Go.map(Go.slice(Go.int), Go.int) } }));
  r.register({ name: '#a/B', fields: { x: Go.int } });
  err(() => r.register({ name: '#a/B', fields: { x: Go.int } }));
  class K {}
  r.register({ name: '#a/K', class: K, fields: {} });
  err(() => r.register({ name: '#a/K2', class: K, fields: {} }));
  err(() => r.register({ name: '#a/P', class: PID as never, fields: {} }));
  const other = createRegistry({ framework: false });
  const O = other.register({ name: '#a/O', fields: {} });
  err(() => r.register({ name: '#a/UsesO', fields: { o: O } }));
  err(() => r.register({ name: '#a/UsesO', fields: { o: Go.slice(O) } }));
});

test('encode errors name the path to the offending value', () => {
  const { r, Order } = setup();
  const enc = new EdfEncoder({ registry: r });
  const e1 = catchErr(() => enc.encode(Object.assign(new Order(), { tags: ['a', 'b', 5] })));
  assert.equal(e1.code, 'ERR_EDF_ENCODE');
  assert.equal(e1.path, 'Order.tags[2]');
  assert.match(e1.message, /expected string, got number 5 \(at Order\.tags\[2\]\)/);
  const e2 = catchErr(() => enc.encode(Object.assign(new Order(), { lines: new Map([['x', 300]]) })));
  assert.equal(e2.code, 'ERR_EDF_RANGE');
  assert.equal(e2.path, 'Order.lines["x"]');
  const e3 = catchErr(() => enc.encode(Object.assign(new Order(), { total: { cents: 1.5 } })));
  assert.equal(e3.path, 'Order.total.cents');
  assert.equal(e3.code, 'ERR_EDF_RANGE');
  const e4 = catchErr(() => enc.encode({ list: [1, 2, new (class Widget {})()] }));
  assert.equal(e4.code, 'ERR_EDF_UNREGISTERED');
  assert.equal(e4.path, 'value["list"][2]');
  assert.match(e4.message, /Widget/);
  const e5 = catchErr(() => enc.encode([() => 1]));
  assert.equal(e5.code, 'ERR_EDF_UNREGISTERED');
  assert.equal(e5.path, 'value[0]');
  assert.equal(catchErr(() => enc.encode(null)).code, 'ERR_EDF_ENCODE');
  assert.equal(catchErr(() => enc.encode(undefined)).code, 'ERR_EDF_ENCODE');
  // A struct slot refuses an instance of another registered class.
  assert.equal(catchErr(() => enc.encode(Object.assign(new Order(), { total: new Order() }))).path, 'Order.total');
  // The encoder is reusable after an error.
  assert.ok(enc.encode(new Money('X', 1)).length > 0);
});

test('numbers out of range of their Go type are refused', () => {
  const enc = new EdfEncoder();
  const codes = (v: unknown) => catchErr(() => enc.encode(v)).code;
  assert.equal(codes(int8(128)), 'ERR_EDF_RANGE');
  assert.equal(codes(int8(1.5)), 'ERR_EDF_RANGE');
  assert.equal(codes(int8(-129n)), 'ERR_EDF_RANGE');
  assert.equal(codes(uint64(-1)), 'ERR_EDF_RANGE');
  assert.equal(codes(uint64(2n ** 64n)), 'ERR_EDF_RANGE');
  assert.equal(codes(2n ** 64n), 'ERR_EDF_RANGE');
  assert.equal(codes(-(2n ** 63n) - 1n), 'ERR_EDF_RANGE');
  assert.equal(codes(int(2 ** 63)), 'ERR_EDF_RANGE');
  assert.equal(codes(Go.uint8.of('1' as never)), 'ERR_EDF_ENCODE');
  assert.equal(codes(Symbol('s')), 'ERR_EDF_UNREGISTERED');
  // Integral numbers beyond 2^53 that int64 can hold are written exactly.
  assert.equal(hex(enc.encode(int(2 ** 60))), '961000000000000000');
  assert.equal(hex(enc.encode(2 ** 60)), '9043b0000000000000', 'an unsafe plain number is a float64');
  assert.equal(hex(enc.encode(2n ** 63n)), '9a8000000000000000', 'bigints above int64 are uint64');
});

test('default JS mapping of plain values', () => {
  const enc = (v: unknown) => hex(encode(v));
  assert.equal(enc(5), '950000000000000005');
  assert.equal(enc(-0), '908000000000000000');
  assert.equal(enc(0.5), '903fe0000000000000');
  assert.equal(enc('a'), '8d000161');
  assert.equal(enc(asAtom('a')), '8c000161');
  assert.equal(enc(new Uint8Array([1])), '8e0000000101');
  assert.equal(enc([true]), '8200029d849d000000019101');
  assert.equal(enc({ a: null }), '8200039f8d849f00000001000161ff');
  assert.equal(enc(new Map([[1, 'x']])), '8200039f84849f00000001950000000000000001' + '8d000178');
  assert.equal(enc(new Int32Array([1])), '8200029d949d0000000100000001');
  assert.equal(enc(new Date(0)), 'af0f010000000e7791f70000000000ffff');
  assert.deepStrictEqual(decode(encode({ a: [1, 'b'] })), new Map([['a', [1, 'b']]]));
});

test('errors: sentinel identity on decode, canonical sentinel text on encode, registered errors', () => {
  const r = createRegistry({ framework: false });
  const dec = new EdfDecoder({ registry: r });
  const enc = new EdfEncoder({ registry: r });
  assert.equal(dec.decode(enc.encode(ErrTimeout)), ErrTimeout);
  assert.equal(hex(enc.encode(ErrTimeout.with('while calling'))), '9c0009' + Buffer.from('timed out').toString('hex'));
  assert.equal(
    dec.decode(enc.encode(new Error('timed out'))),
    ErrTimeout,
    'Go sends plain texts; they map to our sentinel',
  );
  // Two sentinels share "not an owner": the first defined wins.
  assert.equal(dec.decode(enc.encode(ErrEventOwner)), ErrAliasOwner);
  // Sentinels defined later are found too.
  const Late = defineError('ERR_TEST_EDF_LATE', 'edf test late sentinel');
  assert.equal(dec.decode(enc.encode(new Error('edf test late sentinel'))), Late);
  // User-registered errors (not ErgoErrors).
  const Mine = new Error('insufficient funds');
  r.registerError(Mine);
  r.registerError(Mine);
  assert.equal(dec.decode(enc.encode(new Error('insufficient funds'))), Mine);
  assert.throws(() => r.registerError(new Error('insufficient funds')), { code: 'ERR_EDF_REGISTER' });
  assert.deepStrictEqual(r.errors(), [Mine]);
  const other = dec.decode(enc.encode(new ErgoError('ERR_SOMETHING', 'something else')));
  assert.ok(other instanceof Error && other.message === 'something else');
});

test('decoding a registered name the registry does not know fails with ERR_EDF_UNREGISTERED', () => {
  const a = createRegistry({ framework: false });
  a.register({ name: '#example.com/x/Only', fields: { v: Go.int8 } });
  const bytes = new EdfEncoder({ registry: a }).encode(a.type('#example.com/x/Only')!.of({ v: 1 }));
  const e = catchErr(() => new EdfDecoder({ registry: createRegistry({ framework: false }) }).decode(bytes));
  assert.equal(e.code, 'ERR_EDF_UNREGISTERED');
  assert.equal(e.offset, 1);
  assert.match(e.message, /#example\.com\/x\/Only/);
  assert.equal(catchErr(() => new EdfDecoder().decode(unhex('c0'))).code, 'ERR_EDF_DECODE');
});

function catchErr(f: () => unknown): EdfError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof EdfError, `expected an EdfError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected an error');
}
