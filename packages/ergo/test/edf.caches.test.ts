// The three per-connection caches (atom, registered type, error) and the atom mapping: the
// encoder writes ids from its own announced maps, the decoder reads ids with the peer's maps,
// the two directions are independent, and unknown ids fail with ERR_EDF_CACHE.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { ErrProcessUnknown, TerminateReasonNormal } from '../src/gen/errors.js';
import { PID } from '../src/gen/pid.js';
import { ProcessID } from '../src/gen/processid.js';
import { EdfDecoder, EdfEncoder, EdfError, Go, asAtom } from '../src/net/index.js';
import { hex, unhex, vectorCaches, wiregen } from './edf.fixtures.js';

const W = wiregen();

test('encode: atoms, types and errors in the cache are written as ids, others inline', () => {
  const enc = new EdfEncoder({ registry: W.registry, ...vectorCaches.encode });
  assert.equal(hex(enc.encode(new ProcessID('worker', 'node@localhost'))), 'ab012c012d');
  assert.equal(hex(enc.encode(new ProcessID('other', 'node@localhost'))), 'ab012c00056f74686572');
  assert.equal(hex(enc.encode(W.Point.make({ x: 1, y: 2 }))), '8310770000000100000002');
  assert.equal(hex(enc.encode(Go.slice(W.Point).of([]))), '8200049d8310779d00000000');
  assert.equal(hex(enc.encode(Go.map(Go.string, Go.slice(W.Point)).of(null))), '8200069f8d9d831077ff');
  assert.equal(hex(enc.encode(ErrProcessUnknown)), '9c8006');
  assert.equal(hex(enc.encode(ErrProcessUnknown.with('x'))), '9c8006');
  assert.equal(hex(enc.encode(new Error('normal'))), '9c800b', 'error caches are keyed by text');
  assert.equal(hex(enc.encode(new Error('other'))), '9c00056f74686572');
  // Types not in the cache keep their names.
  assert.match(hex(enc.encode(W.MyString.of('x'))), /^830016/);
});

test('decode: ids are resolved with the peer’s maps; errors keep their identity', () => {
  const dec = new EdfDecoder({ registry: W.registry, ...vectorCaches.decode });
  assert.deepStrictEqual(
    dec.decode(unhex('aa012c00000000000003e9000000006553f100')),
    new PID('node@localhost', 1001, 1700000000),
  );
  assert.equal(dec.decode(unhex('9c800b')), TerminateReasonNormal);
  assert.deepStrictEqual(dec.decode(unhex('8310770000000100000002')), W.Point.make({ x: 1, y: 2 }));
});

test('unknown ids and missing caches fail with ERR_EDF_CACHE at the id', () => {
  const withCaches = new EdfDecoder({ registry: W.registry, ...vectorCaches.decode });
  const none = new EdfDecoder({ registry: W.registry });
  const check = (d: EdfDecoder, h: string, offset: number, re: RegExp) =>
    assert.throws(
      () => d.decode(unhex(h)),
      (e: unknown) => e instanceof EdfError && e.code === 'ERR_EDF_CACHE' && e.offset === offset && re.test(e.message),
    );
  check(withCaches, '8c0200', 1, /unknown atom cache id 512/);
  check(none, '8c012c', 1, /without an atom cache/);
  check(withCaches, '831001', 1, /unknown type cache id 4097/);
  check(none, '831077', 1, /without a type cache/);
  check(withCaches, '9c9000', 1, /unknown error cache id 36864/);
  check(none, '9c8006', 1, /without an error cache/);
  check(withCaches, '8200049d8310009d00000000', 5, /unknown type cache id 4096/);
  // A cached id naming a type this registry does not know.
  const d = new EdfDecoder({ registry: W.registry, typeCache: new Map([[4300, '#wiregen/msgs/Unknown']]) });
  assert.throws(() => d.decode(unhex('8310cc')), { code: 'ERR_EDF_UNREGISTERED' });
});

test('cache maps with ids outside their range are refused at construction', () => {
  assert.throws(() => new EdfEncoder({ atomCache: new Map([['a', 255]]) }), { code: 'ERR_EDF_CACHE' });
  assert.throws(() => new EdfEncoder({ typeCache: new Map([['#a/B', 4095]]) }), { code: 'ERR_EDF_CACHE' });
  assert.throws(() => new EdfEncoder({ errorCache: new Map([['x', 65535]]) }), { code: 'ERR_EDF_CACHE' });
  assert.throws(() => new EdfEncoder({ errorCache: new Map([['x', 1.5]]) }), { code: 'ERR_EDF_CACHE' });
  assert.throws(() => new EdfDecoder({ atomCache: {} as never }), { code: 'ERR_EDF_CACHE' });
});

test('the two directions of a connection use unrelated id spaces', () => {
  // A announces worker=300, B announces worker=700: each encodes with its own, decodes with the other's.
  const aEnc = new EdfEncoder({ atomCache: new Map([['worker', 300]]) });
  const bDec = new EdfDecoder({ atomCache: new Map([[300, 'worker']]) });
  const bEnc = new EdfEncoder({ atomCache: new Map([['worker', 700]]) });
  const aDec = new EdfDecoder({ atomCache: new Map([[700, 'worker']]) });
  assert.equal(bDec.decode(aEnc.encode(asAtom('worker'))), 'worker');
  assert.equal(aDec.decode(bEnc.encode(asAtom('worker'))), 'worker');
  assert.throws(() => aDec.decode(aEnc.encode(asAtom('worker'))), { code: 'ERR_EDF_CACHE' });
});

test('atom mapping renames atoms on the way out, before the cache, and back on the way in', () => {
  const enc = new EdfEncoder({
    atomMapping: new Map([['local@host', 'public@host']]),
    atomCache: new Map([['public@host', 400]]),
  });
  assert.equal(hex(enc.encode(new PID('local@host', 1, 2))), 'aa019000000000000000010000000000000002');
  assert.equal(hex(new EdfEncoder({ atomMapping: new Map([['a', 'b']]) }).encode(asAtom('a'))), '8c000162');
  const dec = new EdfDecoder({
    atomCache: new Map([[400, 'public@host']]),
    atomMapping: new Map([['public@host', 'local@host']]),
  });
  assert.deepStrictEqual(dec.decode(unhex('aa019000000000000000010000000000000002')), new PID('local@host', 1, 2));
  // Strings are not atoms: never mapped.
  assert.equal(new EdfDecoder({ atomMapping: new Map([['a', 'b']]) }).decode(unhex('8d000161')), 'a');
});
