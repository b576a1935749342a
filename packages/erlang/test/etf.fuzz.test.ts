// Fuzzing the ETF decoders (binary_to_term, distribution messages with atom cache headers):
// random and mutated inputs — seeds from random terms, splices, lying lengths and counts — must
// decode or fail with the codec's own EtfError; never another exception, never a hang (each
// input is small and work is bounded by its size), never a large allocation (checked by
// sampling ArrayBuffer memory).

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import {
  AtomCacheIn,
  AtomCacheOut,
  EtfError,
  binaryToTerm,
  decodeDistMessage,
  encodeDistMessage,
  termToBinary,
  tuple,
  atom,
} from '../src/index.js';
import { randomTerm, rng } from './etf_gen.js';

const CASES = 25_000;
const TAGS = [
  70, 77, 80, 82, 88, 89, 90, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114,
  115, 116, 117, 118, 119, 120, 121, 131,
];
const WIDE = [0xffffffff, 0x7fffffff, 0x00010000, 0x0000ffff, 0x80000000, 0x01000000, 5];

function seeds(r: () => number): Buffer[] {
  const out: Buffer[] = [];
  const cache = new AtomCacheOut();
  for (let i = 0; i < 200; i++) {
    const t = randomTerm(r);
    out.push(termToBinary(t));
    if (i % 10 === 0) out.push(termToBinary(t, { compressed: true }));
    if (i % 4 === 0) out.push(encodeDistMessage(tuple(6, atom(''), atom(`n${i % 9}`)), t, { cache }));
  }
  return out.filter((b) => b.length < 4000);
}

function mutate(r: () => number, s: Buffer[]): Buffer {
  const int = (n: number): number => Math.floor(r() * n);
  const mode = int(8);
  if (mode === 0) {
    const b = Buffer.alloc(1 + int(64));
    for (let i = 0; i < b.length; i++) b[i] = r() < 0.3 ? TAGS[int(TAGS.length)]! : int(256);
    b[0] = 131;
    return b;
  }
  const b = Buffer.from(s[int(s.length)]!);
  switch (mode) {
    case 1: // flip bytes
      for (let k = 1 + int(4); k > 0; k--) b[int(b.length)] = int(256);
      return b;
    case 2: // a tag byte somewhere
      b[1 + int(b.length - 1)] = TAGS[int(TAGS.length)]!;
      return b;
    case 3: // a lying 32-bit length or count
      if (b.length > 6) b.writeUInt32BE(WIDE[int(WIDE.length)]!, 1 + int(b.length - 5));
      return b;
    case 4: // a lying 16-bit length
      if (b.length > 4) b.writeUInt16BE(int(2) === 0 ? 0xffff : int(600), 1 + int(b.length - 3));
      return b;
    case 5: // truncated
      return b.subarray(0, int(b.length));
    case 6: // spliced with another seed
      return Buffer.concat([b.subarray(0, int(b.length)), s[int(s.length)]!.subarray(int(8))]);
    default: // duplicated middle
      return Buffer.concat([b, b.subarray(1 + int(b.length))]);
  }
}

test(`fuzz: ${CASES} random and mutated inputs give a term or an EtfError, nothing else`, () => {
  const r = rng(2026);
  const s = seeds(r);
  const limits = { maxDecompressedBytes: 1 << 20 };
  const codes = new Map<string, number>();
  let decoded = 0;
  let maxArrayBuffers = 0;
  const base = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < CASES; i++) {
    const input = mutate(r, s);
    const dist = input[1] === 68;
    try {
      if (dist) decodeDistMessage(input, new AtomCacheIn(), { limits });
      else binaryToTerm(input, { limits });
      decoded++;
    } catch (e) {
      if (!(e instanceof EtfError)) {
        assert.fail(`case ${i}: ${input.toString('hex')} threw a non-codec error: ${(e as Error)?.stack ?? String(e)}`);
      }
      codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
    }
    if ((i & 1023) === 0) maxArrayBuffers = Math.max(maxArrayBuffers, process.memoryUsage().arrayBuffers - base);
  }
  assert.ok(decoded > CASES / 50, `some mutated inputs still decode (${decoded})`);
  assert.ok((codes.get('ERR_ETF_DECODE') ?? 0) > CASES / 10, 'most broken inputs are decode errors');
  assert.ok(maxArrayBuffers < 64 * 1024 * 1024, `ArrayBuffer growth stayed small (${maxArrayBuffers} bytes)`);
});
