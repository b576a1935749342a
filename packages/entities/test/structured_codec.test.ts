// The stores' default codec (structuredCodec, contract/structured_codec.ts) on its own: every kind
// of value it keeps comes back deepStrictEqual (same classes, same prototypes), alone and nested;
// a value JSON keeps exactly is written as plain JSON, byte for byte jsonCodec's text, and text
// without the `~1` marker decodes as JSON.parse decodes it (rows written before, `~t` keys
// included); a user key named like the tag is escaped; what it cannot keep is refused with
// ERR_ENTITY_UNSTORABLE naming the place; a value deeper than the fast walk goes and a cycle
// deep down are told apart.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { jsonCodec, structuredCodec } from '../src/index.js';

const roundTrip = (v: unknown): unknown => structuredCodec.decode(structuredCodec.encode(v));

test('every kind of value it keeps comes back exactly, alone and nested', () => {
  const sparse: unknown[] = [1, , 3]; // a hole at index 1
  const nullProto = Object.create(null) as Record<string, unknown>;
  nullProto.a = 1;
  const offsetView = new Uint16Array(new Uint8Array([9, 9, 1, 0, 2, 0, 9, 9]).buffer, 2, 2);
  const values: unknown[] = [
    new Map<unknown, unknown>([
      ['a', 1],
      [2, 'b'],
      [{ k: 1 }, [undefined]],
    ]),
    new Set([1, 'x', new Date(3)]),
    new Date(Date.UTC(2026, 10, 26)),
    new Date(Number.NaN),
    12_345_678_901_234_567_890n,
    -5n,
    new Uint8Array([0, 1, 255]),
    Buffer.from('héllo'),
    new Int8Array([-1, 2]),
    new Uint8ClampedArray([300 & 255]),
    new Int16Array([-300]),
    offsetView,
    new Int32Array([-1]),
    new Uint32Array([4_000_000_000]),
    new Float32Array([1.5]),
    new Float64Array([Math.PI, -0]),
    new BigInt64Array([-(2n ** 63n)]),
    new BigUint64Array([2n ** 64n - 1n]),
    new Uint8Array([1, 2]).buffer,
    new DataView(new Uint8Array([7, 8]).buffer),
    /a+b/gi,
    undefined,
    { a: undefined, b: [undefined, null] },
    sparse,
    nullProto,
    -0,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    { deep: [{ m: new Map([['k', { s: new Set([new Map([[1n, new Date(1)]])]) }]]) }] },
  ];
  for (const v of values) assert.deepStrictEqual(roundTrip(v), v, String(structuredCodec.encode(v)));
  assert.deepStrictEqual(roundTrip(values), values);
  assert.equal(1 in (roundTrip(sparse) as unknown[]), false, 'a hole stays a hole');
  assert.ok(Object.is(roundTrip(-0), -0));
  assert.equal(Object.getPrototypeOf(roundTrip(nullProto)), null);
  assert.ok(Buffer.isBuffer(roundTrip(Buffer.from('x'))));
  // An own `__proto__` key is a key, not a prototype.
  const protoKey = JSON.parse('{"__proto__": {"polluted": true}, "m": 1}') as object;
  const withMap = { ...protoKey, map: new Map() };
  Object.defineProperty(withMap, '__proto__', { value: { polluted: true }, enumerable: true });
  const back = roundTrip(withMap) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(back, '__proto__')?.value, { polluted: true });
  assert.deepStrictEqual(roundTrip(protoKey), protoKey);
});

test('a value JSON keeps exactly is written as jsonCodec writes it; text without the marker is JSON', () => {
  const plain = [0, 1.5, 'x', true, null, [], {}, { a: [1, { b: 'c' }], n: -2 }, 'ünïcode \u0000 \ud800'];
  for (const v of plain) assert.equal(structuredCodec.encode(v), jsonCodec.encode(v));
  // Rows written by jsonCodec, tag-like keys and all, decode as JSON.parse decodes them.
  for (const text of ['{"~t":"Map","v":[["a",1]]}', '{"~t":"undefined"}', '[{"~t":"BigInt","v":"1"}]', '"~1"', 'null'])
    assert.deepStrictEqual(structuredCodec.decode(text), JSON.parse(text));
  // A user object with a `~t` key inside a value that needs tags is escaped, and comes back as it was.
  const tagLike = { when: new Date(1), user: { '~t': 'Map', v: [['a', 1]] }, arr: [{ '~t': 'hole' }] };
  assert.ok(structuredCodec.encode(tagLike).startsWith('~1'));
  assert.deepStrictEqual(roundTrip(tagLike), tagLike);
  // Text in a format this codec does not know is an error, never a guess.
  assert.throws(() => structuredCodec.decode('~2{}'), TypeError);
  assert.throws(() => structuredCodec.decode('~1{"~t":"Nope","v":1}'), TypeError);
});

test('what it cannot keep is refused with ERR_ENTITY_UNSTORABLE, naming the place', () => {
  class Account {
    balance = 1;
  }
  const refusals: [unknown, string][] = [
    [{ items: new Map([['a', { when: () => 1 }]]) }, 'state.items.get("a").when: a function'],
    [{ s: Symbol('s') }, 'state.s: a symbol'],
    [[1, new Account()], 'state[1]: an instance of Account'],
    [{ e: new Error('boom') }, 'state.e: an Error (Error; store its name, message and code as plain fields)'],
    [{ p: Promise.resolve(1) }, 'state.p: a Promise'],
    [{ w: new WeakMap() }, 'state.w: an instance of WeakMap'],
    [{ 'odd key': new Set([1, () => 2]) }, 'state["odd key"].values()[1]: a function'],
    [new Map([[() => 1, 'v']]), 'state.keys()[0]: a function'],
    [new Map([[1n, { f: Math.max }]]), 'state.get(1n).f: a function'],
    [new Map([[{ k: 1 }, Symbol('v')]]), 'state.get(<key 0>): a symbol'],
    [new (class extends Uint8Array {})(1), 'state: an instance of an anonymous class'],
    [new String('boxed'), 'state: an instance of String'],
  ];
  for (const [value, where] of refusals)
    assert.throws(
      () => structuredCodec.encode(value, 'state'),
      (e: Error & { code?: string }) => e.code === 'ERR_ENTITY_UNSTORABLE' && e.message.includes(`: ${where}`),
      where,
    );
  // Without a root name the place starts at `value`.
  assert.throws(() => structuredCodec.encode([() => 1]), { message: /: value\[0\]: a function$/ });
});

test('a cycle is refused where it closes; a value deeper than the fast walk goes is kept', () => {
  const cyclic: { a: { b: unknown[] } } = { a: { b: [] } };
  cyclic.a.b.push(cyclic);
  assert.throws(() => structuredCodec.encode(cyclic, 'state'), {
    code: 'ERR_ENTITY_UNSTORABLE',
    message: /state\.a\.b\[0\]: a cycle/,
  });
  const inMap = new Map<string, unknown>();
  inMap.set('self', inMap);
  assert.throws(() => structuredCodec.encode(inMap, 'state'), { message: /state\.get\("self"\): a cycle/ });
  // The same object twice (not a cycle) is kept, as two equal copies.
  const shared = { n: 1 };
  assert.deepStrictEqual(roundTrip({ x: shared, y: shared, d: new Date(0) }), { x: shared, y: shared, d: new Date(0) });
  // 200 levels of plain objects: past the fast walk's depth, the tagged walk keeps it (and finds no cycle).
  const deep: Record<string, unknown> = {};
  let at = deep;
  for (let i = 0; i < 200; i++) at = (at.x = {}) as Record<string, unknown>;
  at.leaf = new Date(2);
  assert.deepStrictEqual(roundTrip(deep), deep);
  let plainDeep: unknown = 'leaf';
  for (let i = 0; i < 200; i++) plainDeep = [plainDeep];
  assert.deepStrictEqual(roundTrip(plainDeep), plainDeep);
  // A cycle below the fast walk's depth is still found.
  at.back = deep;
  assert.throws(() => structuredCodec.encode(deep, 'state'), { code: 'ERR_ENTITY_UNSTORABLE', message: /a cycle/ });
});
