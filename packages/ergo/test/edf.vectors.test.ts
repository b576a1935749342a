// Golden vectors: every value Go Ergo encoded (test/vectors/edf.json) decodes to the expected
// JS value, re-encodes (exact mode) to the very same bytes, and — where there is a natural way
// to write the value in TypeScript — encoding that value gives Go's bytes.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { ErrProcessUnknown, ErrTimeout } from '../src/gen/errors.js';
import { Event } from '../src/gen/event.js';
import { MessageEvent } from '../src/gen/messages.js';
import { PID } from '../src/gen/pid.js';
import { ProcessID } from '../src/gen/processid.js';
import { Alias, Ref } from '../src/gen/ref.js';
import {
  EdfDecoder,
  EdfEncoder,
  Go,
  GoTime,
  NetworkFlags,
  Typed,
  WireVersion,
  WireCompression,
  WireProcessOptions,
  asAtom,
  float32,
  int,
  int16,
  int32,
  int8,
  uint,
  uint16,
  uint32,
  uint64,
  uint8,
} from '../src/net/index.js';
import { BinM, Custom, Order, hex, loadVectors, unhex, vectorCaches, wiregen } from './edf.fixtures.js';

const vectors = loadVectors('edf.json');
const W = wiregen();
const reg = W.registry;
const point = (x: number, y: number): unknown => W.Point.make({ x, y });
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

function decoderFor(v: { caches?: string }, exact = false): EdfDecoder {
  return new EdfDecoder({ registry: reg, exact, ...(v.caches ? vectorCaches.decode : {}) });
}
function encoderFor(v: { caches?: string }): EdfEncoder {
  return new EdfEncoder({ registry: reg, ...(v.caches ? vectorCaches.encode : {}) });
}

const order = (): Order =>
  Object.assign(new Order(), {
    id: 42,
    name: 'ord',
    tags: ['t1'],
    attrs: new Map([['qty', 3]]),
    payload: 'pl',
    where: point(5, 6),
    flag: true,
    ratio: 0.5,
    owner: 'bob',
    from: new PID('n@h', 1002, 9),
    blob: bytes(0xca, 0xfe),
    pair: [1, 2],
    err: null,
    when: new Date(Date.UTC(2024, 4, 6, 7, 8, 9)),
  });

/** What plain decoding must return, per vector. Functions check what deepEqual cannot. */
const expected: Record<string, unknown> = {
  bool_true: true,
  bool_false: false,
  int_zero: 0,
  int_neg5: -5,
  int_2pow40: 2 ** 40,
  int8_neg1: -1,
  int8_max: 127,
  int8_min: -128,
  int16_neg2: -2,
  int16_0x1234: 0x1234,
  int32_neg100000: -100000,
  int32_max: 2147483647,
  int64_neg5: -5,
  int64_min: -(2n ** 63n),
  int64_max: 2n ** 63n - 1n,
  uint_7: 7,
  uint8_255: 255,
  uint16_max: 65535,
  uint32_deadbeef: 0xdeadbeef,
  uint64_max: 2n ** 64n - 1n,
  uint64_2pow53p1: 2n ** 53n + 1n,
  'float32_1.5': 1.5,
  'float32_neg0.1': Math.fround(-0.1),
  float64_pi: Math.PI,
  float64_negzero: -0,
  float64_inf: Infinity,
  float64_nan: NaN,
  string_empty: '',
  string_hello: 'hello',
  string_unicode: 'héllo, 世界 🌍',
  binary_empty: new Uint8Array(0),
  binary_nil: new Uint8Array(0),
  binary_3: bytes(1, 2, 3),
  atom_empty: '',
  atom_node: 'node@localhost',
  atom_unicode: 'узел@хост',
  atom_cached: 'node@localhost',
  atom_not_in_cache: 'other',
  pid: new PID('node@localhost', 1001, 1700000000),
  pid_cached_node: new PID('node@localhost', 1001, 1700000000),
  pid_zero: new PID('', 0, 0),
  processid: new ProcessID('worker', 'node@localhost'),
  processid_cached: new ProcessID('worker', 'node@localhost'),
  ref: new Ref('node@localhost', 1700000000, [0x1f2e3d, 0x40, 1700000300]),
  alias: new Alias('node@localhost', 1700000000, [7, 8, 9]),
  event: new Event('prices', 'node@localhost'),
  time_utc: new Date('2024-01-02T03:04:05.000Z'),
  time_plus3h: new Date('2024-01-02T00:04:05Z'),
  time_offset_seconds: new Date('1899-12-31T21:59:30Z'),
  time_zero: new Date('0001-01-01T00:00:00Z'),
  time_unix_epoch: new Date(0),
  error_custom: (v: unknown) => assert.ok(v instanceof Error && v.message === 'boom'),
  error_framework_nocache: (v: unknown) => assert.equal(v, ErrProcessUnknown),
  error_framework_cached: (v: unknown) => assert.equal(v, ErrProcessUnknown),
  error_wrapped: (v: unknown) => assert.ok(v instanceof Error && v !== ErrTimeout && v.message === 'ctx: timed out'),
  slice_int_empty: [],
  slice_int_nil: null,
  slice_int: [1, -1],
  slice_string: ['a', 'bc'],
  slice_bool: [true, false, true],
  slice_bytes_of_bytes: [bytes(1), new Uint8Array(0)],
  slice_slice_int: [[1], [], null],
  slice_any: [1, 'a', null, true, 'x'],
  slice_any_empty: [],
  slice_any_nested_containers: [['q'], new Map([['k', 2]])],
  slice_pid: [new PID('n@h', 1001, 123)],
  slice_error: (v: unknown) => {
    assert.ok(Array.isArray(v) && v.length === 2);
    const [e1, e2] = v as unknown[];
    assert.ok(e1 instanceof Error && e1.message === 'e1');
    assert.equal(e2, null);
  },
  slice_time: [new Date(1000)],
  slice_atom: ['a', 'b'],
  slice_atom_cached: ['worker', 'zz'],
  array_int3: [1, 2, 3],
  array_empty: [],
  array_of_slices: [bytes(1), new Uint8Array(0)],
  map_string_int: new Map([['a', 1]]),
  map_empty: new Map(),
  map_nil: null,
  map_atom_any: new Map([['k', 3.5]]),
  map_nested: new Map([['o', new Map([['i', 7]])]]),
  map_int_slice: new Map([[5, ['x']]]),
  map_two_entries: new Map([
    [1, true],
    [2, false],
  ]),
  map_env_any: new Map([['LEVEL', 1]]),
  reg_struct_point: point(1, -2),
  reg_struct_point_cached: point(1, -2),
  reg_struct_order: order(),
  reg_struct_order_nils: (v: unknown) => {
    assert.ok(v instanceof Order);
    const { err, ...rest } = v as Order;
    const { err: _unused, ...want } = Object.assign(order(), {
      tags: null,
      attrs: null,
      payload: null,
      blob: new Uint8Array(0),
    });
    assert.deepStrictEqual(rest, want);
    assert.ok(err instanceof Error && err.message === 'bad');
  },
  reg_struct_order_cached: order(),
  reg_string: new Typed(W.MyString, 'hi'),
  reg_int16: new Typed(W.MyInt16, -3),
  reg_bool: new Typed(W.MyBool, true),
  reg_float: new Typed(W.MyFloat, 2.25),
  reg_slice: new Typed(W.PointList, [point(1, 2), point(3, 4)]),
  reg_slice_nil: new Typed(W.PointList, null),
  reg_map: new Typed(W.Counters, new Map([['c', 9]])),
  reg_array: new Typed(W.Triple, [1, 2, 3]),
  reg_marshaler: new Custom(0x0102, 'xyz'),
  reg_binarymarshaler: new BinM(0xa1b2c3d4),
  slice_of_reg: [point(7, 8)],
  slice_of_reg_cached: [point(7, 8)],
  map_string_reg: new Map([['p', point(1, 1)]]),
  any_in_slice_reg: [point(1, 2)],
  gen_messageevent: new MessageEvent(new Event('prices', 'n@h'), 1700000000123456789n, 'tick'),
  gen_networkflags_default: NetworkFlags.defaults(),
  gen_networkflags_disabled: new NetworkFlags(),
  gen_version: new WireVersion({ name: 'EHS', release: 'R1', license: 'MIT' }),
  gen_compression: new WireCompression({ enable: true, type: 'gzip', level: 2, threshold: 1024 }),
  gen_processoptions_zero: new WireProcessOptions(),
  any_nil_in_map: new Map([['n', null]]),
};

/** How a TypeScript user writes the value; encoding it must give Go's bytes. */
const natural: Record<string, () => unknown> = {
  bool_true: () => true,
  bool_false: () => false,
  int_zero: () => int(0),
  int_neg5: () => int(-5),
  int_2pow40: () => int(2 ** 40),
  int8_neg1: () => int8(-1),
  int8_min: () => int8(-128n),
  int16_neg2: () => int16(-2),
  int32_neg100000: () => int32(-100000),
  int64_neg5: () => -5,
  int64_min: () => -(2n ** 63n),
  int64_max: () => 2n ** 63n - 1n,
  uint_7: () => uint(7),
  uint8_255: () => uint8(255),
  uint16_max: () => uint16(65535),
  uint32_deadbeef: () => uint32(0xdeadbeef),
  uint64_max: () => 2n ** 64n - 1n,
  uint64_2pow53p1: () => uint64(2n ** 53n + 1n),
  'float32_1.5': () => float32(1.5),
  'float32_neg0.1': () => float32(-0.1),
  float64_pi: () => Math.PI,
  float64_negzero: () => -0,
  float64_inf: () => Infinity,
  float64_nan: () => NaN,
  string_unicode: () => 'héllo, 世界 🌍',
  binary_3: () => bytes(1, 2, 3),
  binary_nil: () => Buffer.alloc(0),
  atom_node: () => asAtom('node@localhost'),
  atom_cached: () => asAtom('node@localhost'),
  pid: () => new PID('node@localhost', 1001, 1700000000),
  pid_cached_node: () => new PID('node@localhost', 1001, 1700000000),
  processid_cached: () => new ProcessID('worker', 'node@localhost'),
  ref: () => new Ref('node@localhost', 1700000000, [0x1f2e3d, 0x40, 1700000300]),
  alias: () => new Alias('node@localhost', 1700000000, [7, 8, 9]),
  event: () => new Event('prices', 'node@localhost'),
  time_utc: () => new GoTime(1704164645n, 6000),
  time_plus3h: () => new GoTime(1704153845n, 0, 3 * 3600),
  time_offset_seconds: () => GoTime.fromDate(new Date('1899-12-31T21:59:30Z'), 2 * 3600 + 30),
  time_zero: () => GoTime.zero,
  time_unix_epoch: () => new Date(0),
  error_custom: () => new Error('boom'),
  error_framework_nocache: () => ErrProcessUnknown,
  error_framework_cached: () => ErrProcessUnknown.with('detail is dropped: the sentinel text travels'),
  slice_int_nil: () => Go.slice(Go.int).of(null),
  slice_int: () => Go.slice(Go.int).of([1, -1]),
  slice_bytes_of_bytes: () => Go.slice(Go.binary).of([bytes(1), null]),
  slice_slice_int: () => Go.slice(Go.slice(Go.int)).of([[1], [], null]),
  slice_any: () => [int(1), 'a', null, true, asAtom('x')],
  slice_any_nested_containers: () => [Go.slice(Go.string).of(['q']), Go.map(Go.string, Go.int).of({ k: 2 })],
  slice_pid: () => Go.slice(Go.pid).of([new PID('n@h', 1001, 123)]),
  slice_error: () => Go.slice(Go.error).of([new Error('e1'), null]),
  slice_time: () => Go.slice(Go.time).of([new Date(1000)]),
  slice_atom_cached: () => Go.slice(Go.atom).of(['worker', 'zz']),
  array_int3: () => Go.array(3, Go.int).of([1, 2, 3]),
  array_empty: () => Go.array(0, Go.int).of([]),
  array_of_slices: () => Go.array(2, Go.binary).of([bytes(1), null]),
  map_string_int: () => Go.map(Go.string, Go.int).of({ a: 1 }),
  map_nil: () => Go.map(Go.string, Go.int).of(null),
  map_atom_any: () => Go.map(Go.atom, Go.any).of(new Map([['k', 3.5]])),
  map_nested: () => Go.map(Go.string, Go.map(Go.string, Go.int)).of({ o: { i: 7 } }),
  map_int_slice: () => Go.map(Go.int, Go.slice(Go.string)).of({ 5: ['x'] }),
  map_env_any: () => Go.map(reg.type('#ergo.services/ergo/gen/Env')!, Go.any).of({ LEVEL: int(1) }),
  reg_struct_point: () => point(1, -2),
  reg_struct_point_cached: () => W.Point.of({ x: 1, y: -2 }),
  reg_struct_order: () => Object.assign(order(), { payload: asAtom('pl') }),
  reg_struct_order_cached: () => Object.assign(order(), { payload: asAtom('pl') }),
  reg_struct_order_nils: () =>
    Object.assign(order(), {
      tags: null,
      attrs: undefined,
      payload: undefined,
      blob: null,
      err: new Error('bad'),
      payload2: 1,
    }),
  reg_string: () => W.MyString.of('hi'),
  reg_int16: () => W.MyInt16.of(-3),
  reg_slice: () => W.PointList.of([{ x: 1, y: 2 }, point(3, 4)]),
  reg_slice_nil: () => W.PointList.of(null),
  reg_map: () => W.Counters.of({ c: 9 }),
  reg_array: () => W.Triple.of([1, 2, 3]),
  reg_marshaler: () => new Custom(0x0102, 'xyz'),
  reg_binarymarshaler: () => new BinM(0xa1b2c3d4),
  slice_of_reg: () => Go.slice(W.Point).of([{ x: 7, y: 8 }]),
  slice_of_reg_cached: () => Go.slice(W.Point).of([point(7, 8)]),
  map_string_reg: () => Go.map(Go.string, W.Point).of({ p: { x: 1, y: 1 } }),
  any_in_slice_reg: () => [point(1, 2)],
  gen_messageevent: () => new MessageEvent(new Event('prices', 'n@h'), 1700000000123456789n, 'tick'),
  gen_networkflags_default: () => NetworkFlags.defaults(),
  gen_networkflags_disabled: () => new NetworkFlags({ enableRemoteSpawn: true }),
  gen_version: () => new WireVersion({ name: 'EHS', release: 'R1', license: 'MIT' }),
  gen_compression: () => new WireCompression({ enable: true, type: 'gzip', level: 2, threshold: 1024 }),
  gen_processoptions_zero: () => new WireProcessOptions(),
  any_nil_in_map: () => ({ n: null }),
};

test('the vector file holds the 107 values Go Ergo encoded', () => {
  assert.equal(vectors.length, 107);
  const names = new Set(vectors.map((v) => v.name));
  for (const k of Object.keys(expected)) assert.ok(names.has(k), `expectation for unknown vector ${k}`);
  for (const n of names) assert.ok(n in expected, `no expectation for vector ${n}`);
});

for (const v of vectors) {
  test(`vector ${v.name}: decodes to the expected value`, () => {
    const got = decoderFor(v).decode(unhex(v.hex));
    const want = expected[v.name];
    if (typeof want === 'function') (want as (x: unknown) => void)(got);
    else assert.deepStrictEqual(got, want);
  });

  test(`vector ${v.name}: exact decode re-encodes to Go's bytes`, () => {
    const input = unhex(v.hex);
    const d = decoderFor(v, true);
    const value = d.decode(input);
    assert.equal(d.pos, input.length, 'the whole input is one value');
    const out = encoderFor(v).encode(value);
    if (v.name === 'map_two_entries') {
      // Go's map order is random: only the decoded value is stable. (Ours keeps the decoded order.)
      assert.deepStrictEqual(decoderFor(v).decode(out), expected[v.name]);
    } else assert.equal(hex(out), v.hex);
  });

  const make = natural[v.name];
  if (make !== undefined) {
    test(`vector ${v.name}: the natural TypeScript value encodes to Go's bytes`, () => {
      // (reg_struct_order_nils: undefined fields are Go zero values; extra properties are ignored.)
      assert.equal(hex(encoderFor(v).encode(make())), v.hex);
    });
  }
}

test('float64 NaN is written with Go’s bit pattern, any NaN payload decodes as NaN', () => {
  const d = new EdfDecoder({ registry: reg });
  assert.ok(Number.isNaN(d.decode(unhex('907ff8000000000000'))));
  assert.ok(Number.isNaN(d.decode(unhex('907fffffffffffffff'))));
  assert.equal(hex(new EdfEncoder().encode(0 / 0)), '907ff8000000000001');
});
