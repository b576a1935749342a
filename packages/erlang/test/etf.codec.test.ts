// The ETF codec on its own: round-trip properties over random terms, the JS value mapping,
// legacy tags OTP 25 no longer writes, limits and their codes, compressed terms, and the
// distribution header's atom cache (OTP's verified header bytes from ERLANG.md §3.4).

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { deflateSync } from 'node:zlib';
import {
  AtomCacheIn,
  AtomCacheOut,
  type ErlAtom,
  ErlBitString,
  ErlFloat,
  ErlImproperList,
  ErlMap,
  ErlPid,
  ErlPort,
  ErlRef,
  ErlTuple,
  EtfError,
  atom,
  binaryToTerm,
  decodeDistMessage,
  decodeTerm,
  encodeDistMessage,
  encodeTerm,
  termEqual,
  termToBinary,
  tuple,
  type Term,
} from '../src/index.js';
import { randomTerm, rng } from './etf_gen.js';

const b = (...xs: number[]): Buffer => Buffer.from(xs);
const ascii = (s: string): number[] => [...Buffer.from(s, 'utf8')];
const code = (c: string) => (e: unknown) => e instanceof EtfError && e.code === c;

test('random terms round-trip exactly: decode(encode(t)) equals t and re-encodes to the same bytes', () => {
  const r = rng(12);
  for (let i = 0; i < 500; i++) {
    const t = randomTerm(r);
    const bin = termToBinary(t);
    const back = binaryToTerm(bin);
    assert.ok(termEqual(back, t), `case ${i}`);
    assert.deepEqual(termToBinary(back), bin, `case ${i}: bytes`);
    assert.deepEqual(binaryToTerm(termToBinary(t, { compressed: 9 })), back);
  }
});

test('JS values map to Erlang terms as documented', () => {
  // integers: tag by value, as OTP chooses it
  assert.deepEqual(encodeTerm(5), b(97, 5));
  assert.deepEqual(encodeTerm(-1), b(98, 0xff, 0xff, 0xff, 0xff));
  assert.deepEqual(encodeTerm(2 ** 31), b(110, 4, 0, 0, 0, 0, 0x80));
  assert.deepEqual(encodeTerm(2n ** 31n), b(110, 4, 0, 0, 0, 0, 0x80));
  assert.deepEqual(encodeTerm(7n), b(97, 7));
  // floats: a fraction makes a float; integral floats need ErlFloat
  assert.deepEqual(encodeTerm(1.5), b(70, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0));
  assert.deepEqual(encodeTerm(new ErlFloat(1)), b(70, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0));
  assert.ok(decodeTerm(encodeTerm(new ErlFloat(-0))).term instanceof ErlFloat);
  // strings are UTF-8 binaries; binaries decode to Uint8Array
  assert.deepEqual(encodeTerm('hé'), b(109, 0, 0, 0, 3, 0x68, 0xc3, 0xa9));
  assert.deepEqual(decodeTerm(b(109, 0, 0, 0, 1, 0x78)).term, Buffer.from('x'));
  // booleans are the atoms true/false; other atoms stay atoms
  assert.deepEqual(encodeTerm(true), b(119, 4, ...ascii('true')));
  assert.equal(decodeTerm(b(100, 0, 5, ...ascii('false'))).term, false);
  assert.deepEqual(decodeTerm(b(115, 3, ...ascii('nil'))).term, atom('nil'));
  // lists: [] is NIL, byte lists are STRING_EXT and come back as arrays of numbers
  assert.deepEqual(encodeTerm([]), b(106));
  assert.deepEqual(encodeTerm([1, 2]), b(107, 0, 2, 1, 2));
  assert.deepEqual(decodeTerm(b(107, 0, 2, 1, 2)).term, [1, 2]);
  assert.deepEqual(decodeTerm(b(108, 0, 0, 0, 2, 97, 1, 97, 2, 106)).term, [1, 2]);
  // a plain object is a map with atom keys; a JS Map keeps any keys
  assert.deepEqual(encodeTerm({ a: 1 }), b(116, 0, 0, 0, 1, 119, 1, 97, 97, 1));
  assert.deepEqual(encodeTerm(new Map([[tuple(atom('x')), 1]])), b(116, 0, 0, 0, 1, 104, 1, 119, 1, 120, 97, 1));
  // improper lists keep their tails; tails that are lists are merged like Erlang does
  assert.deepEqual(
    decodeTerm(b(108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 97, 3)).term,
    new ErlImproperList([1, 2], 3),
  );
  assert.deepEqual(decodeTerm(b(108, 0, 0, 0, 1, 97, 1, 107, 0, 1, 2)).term, [1, 2]);
  assert.equal(decodeTerm(b(108, 0, 0, 0, 0, 97, 9)).term, 9);
  // tuple keys survive in maps and are found by value
  const m = decodeTerm(encodeTerm(new ErlMap([[tuple(atom('x'), atom('y')), 1]]))).term as ErlMap;
  assert.equal(m.get(tuple(atom('x'), atom('y'))), 1);
  assert.equal(m.get(tuple(atom('x'))), undefined);
  // 1 and 1.0 are different keys; true and atom true are the same
  const k = new ErlMap([
    [1, atom('int')],
    [new ErlFloat(1), atom('float')],
  ]);
  assert.equal(k.size, 2);
  assert.ok(termEqual(true, atom('true')));
  assert.ok(!termEqual(1, new ErlFloat(1)));
  assert.ok(termEqual(5, 5n));
  assert.throws(() => new ErlMap().set(undefined as never, 1), code('ERR_ETF_ENCODE'));
  // values with no Erlang term
  for (const v of [undefined, null, NaN, Infinity, () => 1, Symbol('s'), new Date()]) {
    assert.throws(() => encodeTerm(v as unknown as Term), code('ERR_ETF_ENCODE'), String(v));
  }
  assert.throws(() => encodeTerm(new ErlImproperList([], 1)), code('ERR_ETF_ENCODE'));
  assert.throws(() => encodeTerm(new ErlRef('a@b', 1, [1, 2, 3, 4, 5, 6])), code('ERR_ETF_ENCODE'));
  assert.throws(() => encodeTerm(new ErlPid('a@b', -1, 0, 1)), code('ERR_ETF_ENCODE'));
  const cyclic: Term[] = [];
  cyclic.push(cyclic);
  assert.throws(() => encodeTerm(cyclic), code('ERR_ETF_TOO_DEEP'));
});

test('legacy tags OTP 25 no longer writes decode to the same terms', () => {
  const node = [100, 0, 3, ...ascii('a@b')];
  // FLOAT_EXT: 31 bytes of %.20e text
  const text = Buffer.alloc(31);
  text.write('1.50000000000000000000e+00');
  assert.equal(decodeTerm(Buffer.concat([b(99), text])).term, 1.5);
  // PID_EXT, NEW_REFERENCE_EXT, REFERENCE_EXT, PORT_EXT with 1-byte creations
  assert.deepEqual(decodeTerm(b(103, ...node, 0, 0, 0, 9, 0, 0, 0, 1, 2)).term, new ErlPid('a@b', 9, 1, 2));
  assert.deepEqual(decodeTerm(b(114, 0, 2, ...node, 3, 0, 0, 0, 1, 0, 0, 0, 2)).term, new ErlRef('a@b', 3, [1, 2]));
  assert.deepEqual(decodeTerm(b(101, ...node, 0, 0, 0, 7, 1)).term, new ErlRef('a@b', 1, [7]));
  assert.deepEqual(decodeTerm(b(102, ...node, 0, 0, 0, 7, 1)).term, new ErlPort('a@b', 7n, 1));
  // V4_PORT_EXT with a 64-bit id, re-encoded the same way
  const v4 = b(120, 119, 3, ...ascii('a@b'), 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 5);
  assert.deepEqual(decodeTerm(v4).term, new ErlPort('a@b', 2n ** 32n + 2n, 5));
  assert.deepEqual(encodeTerm(decodeTerm(v4).term), v4);
  // LARGE_BIG_EXT for a small value, a SMALL_BIG zero with a minus sign, a BIT_BINARY of 8 bits
  assert.equal(decodeTerm(b(111, 0, 0, 0, 2, 0, 1, 1)).term, 257);
  assert.equal(decodeTerm(b(110, 0, 1)).term, 0);
  assert.deepEqual(decodeTerm(b(77, 0, 0, 0, 1, 8, 0xff)).term, b(0xff));
  // unused low bits of a bit string are cleared
  assert.deepEqual(decodeTerm(b(77, 0, 0, 0, 1, 3, 0xff)).term, new ErlBitString(b(0xe0), 3));
  // unsupported and invalid
  assert.throws(() => decodeTerm(b(117, 0, 0, 0, 0)), code('ERR_ETF_DECODE'));
  assert.throws(() => decodeTerm(b(121, 0)), code('ERR_ETF_DECODE'));
  assert.throws(() => decodeTerm(b(90, 0, 6, ...node, 0, 0, 0, 0)), code('ERR_ETF_DECODE'));
  assert.throws(() => decodeTerm(b(88, 97, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), code('ERR_ETF_DECODE'));
  assert.throws(
    () => decodeTerm(b(116, 0, 0, 0, 2, 97, 1, 97, 1, 97, 1, 97, 2)),
    code('ERR_ETF_DECODE'),
    'duplicate key',
  );
  assert.throws(() => decodeTerm(b(70, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0)), code('ERR_ETF_DECODE'), 'infinity');
  assert.throws(() => decodeTerm(b(119, 2, 0xc3, 0x28)), code('ERR_ETF_DECODE'), 'bad UTF-8');
  assert.throws(() => decodeTerm(b(82, 0)), code('ERR_ETF_ATOM_CACHE'));
  assert.throws(() => binaryToTerm(b(130, 97, 1)), code('ERR_ETF_DECODE'), 'version');
  assert.throws(() => binaryToTerm(b(131, 97, 1, 0)), code('ERR_ETF_DECODE'), 'trailing');
  assert.equal(binaryToTerm(b(131, 97, 1, 0), { allowTrailing: true }), 1);
});

test('limits: every option stops its own kind of input with its own code', () => {
  const err = (fn: () => unknown, c: string, limit?: string): void => {
    assert.throws(
      fn,
      (e: unknown) => e instanceof EtfError && e.code === c && (limit === undefined || e.limit === limit),
    );
  };
  // lying lengths never allocate: counts are checked against the bytes left
  err(() => decodeTerm(b(108, 0xff, 0xff, 0xff, 0xff, 106)), 'ERR_ETF_DECODE');
  err(() => decodeTerm(b(105, 0x7f, 0xff, 0xff, 0xff)), 'ERR_ETF_DECODE');
  err(() => decodeTerm(b(116, 0x7f, 0xff, 0xff, 0xff)), 'ERR_ETF_DECODE');
  err(() => decodeTerm(b(109, 0x00, 0xff, 0xff, 0xff)), 'ERR_ETF_DECODE');
  err(() => decodeTerm(b(109, 0x7f, 0xff, 0xff, 0xff)), 'ERR_ETF_BINARY_TOO_LONG', 'maxBinaryBytes');
  err(
    () => decodeTerm(b(109, 0, 0, 0, 4, 1, 2, 3, 4), 0, { limits: { maxBinaryBytes: 3 } }),
    'ERR_ETF_BINARY_TOO_LONG',
    'maxBinaryBytes',
  );
  err(
    () => encodeTerm(new Uint8Array(4), { limits: { maxBinaryBytes: 3 } }),
    'ERR_ETF_BINARY_TOO_LONG',
    'maxBinaryBytes',
  );
  err(() => decodeTerm(b(111, 0x7f, 0xff, 0xff, 0xff, 0)), 'ERR_ETF_BIG_TOO_LARGE', 'maxBigBytes');
  err(() => encodeTerm(1n << 33554432n), 'ERR_ETF_BIG_TOO_LARGE', 'maxBigBytes');
  err(() => encodeTerm(atom('x'.repeat(256))), 'ERR_ETF_ATOM_TOO_LONG', 'maxAtomChars');
  err(() => decodeTerm(b(118, 1, 0, ...new Array(256).fill(0x61))), 'ERR_ETF_ATOM_TOO_LONG', 'maxAtomChars');
  assert.equal(
    (decodeTerm(b(118, 1, 0, ...Buffer.from('λ'.repeat(128)))).term as ErlAtom).name.length,
    128,
    '256 bytes but 128 characters is fine',
  );
  const deep = Buffer.concat([Buffer.alloc(1200, 0), b(106)]);
  for (let i = 0; i < 1200; i += 2) deep.set([104, 1], i);
  err(() => decodeTerm(deep, 0, { limits: { maxDepth: 500 } }), 'ERR_ETF_TOO_DEEP', 'maxDepth');
  assert.ok(decodeTerm(deep).term instanceof ErlTuple, '600 levels pass by default (issue 18)');
  // deeper than the JavaScript stack: the same code, never a RangeError, both ways
  const abyss = Buffer.concat([Buffer.alloc(400000, 0), b(106)]);
  for (let i = 0; i < 400000; i += 2) abyss.set([104, 1], i);
  err(() => decodeTerm(abyss), 'ERR_ETF_TOO_DEEP', 'maxDepth');
  let nested: Term = [];
  for (let i = 0; i < 200000; i++) nested = tuple(nested);
  err(() => encodeTerm(nested), 'ERR_ETF_TOO_DEEP', 'maxDepth');
  err(
    () => decodeTerm(new Uint8Array(11), 0, { limits: { maxMessageSize: 10 } }),
    'ERR_ETF_MESSAGE_TOO_LARGE',
    'maxMessageSize',
  );
  err(
    () => encodeTerm(new Uint8Array(300), { limits: { maxMessageSize: 100 } }),
    'ERR_ETF_MESSAGE_TOO_LARGE',
    'maxMessageSize',
  );
  err(() => decodeTerm(b(97, 1), 0, { limits: { maxDepth: -1 } }), 'ERR_ETF_ENCODE');
  err(() => decodeTerm(b(97, 1), 0, { limits: { bogus: 1 } as never }), 'ERR_ETF_ENCODE');
});

test('compressed terms: inflated within the announced size and maxDecompressedBytes', () => {
  const t = new Array<number>(100).fill(97);
  const c = termToBinary(t, { compressed: true });
  assert.equal(c[1], 80);
  assert.equal(c.readUInt32BE(2), 103);
  assert.deepEqual(binaryToTerm(c), t);
  // a compressed form that is not smaller is not used, as in OTP
  assert.deepEqual(termToBinary(1, { compressed: true }), b(131, 97, 1));
  // a bomb: 8 MiB of zeros announced honestly, refused before inflating
  const zeros = deflateSync(Buffer.alloc(8 * 1024 * 1024));
  const bomb = Buffer.concat([b(131, 80, 0x00, 0x80, 0, 0), zeros]);
  assert.throws(
    () => binaryToTerm(bomb, { limits: { maxDecompressedBytes: 1 << 20 } }),
    code('ERR_ETF_DECOMPRESSED_TOO_LARGE'),
  );
  // the same stream announced as small: inflation stops at the announced size
  const lying = Buffer.concat([b(131, 80, 0, 0, 0, 10), zeros]);
  assert.throws(() => binaryToTerm(lying), code('ERR_ETF_COMPRESSED'));
  assert.throws(() => binaryToTerm(b(131, 80, 0, 0, 0, 3, 1, 2, 3)), code('ERR_ETF_COMPRESSED'));
  assert.throws(() => binaryToTerm(b(131, 80, 0, 0)), code('ERR_ETF_DECODE'));
});

test('atom cache: OTP header bytes decode, the table carries entries to later messages', () => {
  // OTP 25's first message to a probe (ERLANG.md §3.4): 4 new refs in segments 7, 0, 4, 5
  const node = 'e1@localhost';
  const first = Buffer.from([
    131,
    68,
    4,
    0x8f,
    0xdc,
    0x00,
    0x97,
    node.length,
    ...ascii(node),
    0x05,
    0,
    0x75,
    3,
    ...ascii('rex'),
    0x5d,
    16,
    ...ascii('features_request'),
    // {6, <e1@localhost.86.0>, '', rex} + {<pid>, features_request}
    104,
    4,
    97,
    6,
    88,
    82,
    0,
    0,
    0,
    0,
    86,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    7,
    82,
    1,
    82,
    2,
    104,
    2,
    88,
    82,
    0,
    0,
    0,
    0,
    86,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    7,
    82,
    3,
  ]);
  const cache = new AtomCacheIn();
  const pid = new ErlPid(node, 86, 0, 7);
  const m1 = decodeDistMessage(first, cache);
  assert.ok(termEqual(m1.control, tuple(6, pid, atom(''), atom('rex'))));
  assert.ok(termEqual(m1.payload!, tuple(pid, atom('features_request'))));
  assert.equal(cache.slots[7 * 256 + 0x97], node);
  assert.equal(cache.slots[4 * 256 + 0x75], 'rex');
  // a later message refers to old entries only: nibbles 0 (segment 0) and 4 (segment 4)
  const later = b(131, 68, 2, 0x40, 0x00, 0x05, 0x75, 104, 3, 97, 2, 82, 0, 82, 1);
  assert.ok(termEqual(decodeDistMessage(later, cache).control, tuple(2, atom(''), atom('rex'))));
  // an old entry the table does not hold is a cache error
  assert.throws(() => decodeDistMessage(b(131, 68, 1, 0x01, 0x33, 97, 1), cache), code('ERR_ETF_ATOM_CACHE'));
  // long atoms flag: the extra nibble after N entries
  const long = 'λ'.repeat(200);
  const lb = Buffer.from(long);
  const withLong = Buffer.concat([b(131, 68, 1, 0x18, 0x02, lb.length >> 8, lb.length & 0xff), lb, b(82, 0)]);
  assert.deepEqual(decodeDistMessage(withLong, cache).control, atom(long));
  assert.throws(
    () => decodeDistMessage(b(131, 68, 1, 0x08, 0x02, 5, 1), cache),
    code('ERR_ETF_ATOM_CACHE'),
    'truncated header',
  );
});

test('atom cache: our encoder sends new entries once, then refers to them by slot', () => {
  const out = new AtomCacheOut();
  const inn = new AtomCacheIn();
  const r = rng(5);
  const sizes: number[] = [];
  for (let i = 0; i < 300; i++) {
    const control = tuple(6, new ErlPid('ts@127.0.0.1', i, 0, 1), atom(''), atom(`name${i % 7}`));
    const payload = i % 10 === 0 ? atom('λ'.repeat(100 + (i % 3))) : randomTerm(r);
    const bin = encodeDistMessage(control, payload, { cache: out });
    sizes.push(bin.length);
    const m = decodeDistMessage(bin, inn);
    assert.ok(termEqual(m.control, control), `message ${i}`);
    assert.ok(termEqual(m.payload!, payload), `message ${i} payload`);
  }
  // the same message again costs fewer bytes once the atoms are cached
  const c = tuple(6, new ErlPid('ts@127.0.0.1', 1, 0, 1), atom(''), atom('registered_name'));
  const a = encodeDistMessage(c, atom('features_request'), { cache: out });
  const again = encodeDistMessage(c, atom('features_request'), { cache: out });
  assert.ok(again.length < a.length - 30, `${again.length} < ${a.length}`);
  decodeDistMessage(a, inn);
  assert.ok(termEqual(decodeDistMessage(again, inn).payload!, atom('features_request')));
  // a failed encode leaves the table alone
  const before = [...out.slots];
  assert.throws(
    () => encodeDistMessage(tuple(atom('fresh_atom_x')), null as never, { cache: out }),
    code('ERR_ETF_ENCODE'),
  );
  assert.deepEqual(out.slots, before);
  // without a cache: N = 0 and plain atoms
  assert.deepEqual(encodeDistMessage(tuple(2, atom(''), 1), undefined), b(131, 68, 0, 104, 3, 97, 2, 119, 0, 97, 1));
  // pass-through framing ('p', each term with its own 131)
  const p = decodeDistMessage(b(112, 131, 104, 1, 97, 2, 131, 97, 7), inn);
  assert.ok(termEqual(p.control, tuple(2)) && p.payload === 7);
});
