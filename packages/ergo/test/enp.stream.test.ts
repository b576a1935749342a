// The ENP frame reader on a byte stream as TCP delivers it: packets split at every possible
// byte, many packets in one read, a packet spread over many reads; framing errors are fatal
// with their code; a hostile length field cannot make the reader allocate ahead of the bytes.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { EnpDecoder } from '../src/net/proto/decoder.js';
import { EnpFrameReader } from '../src/net/proto/stream.js';
import { hex, unhex } from './edf.fixtures.js';
import { enpVectors, wireRegistry } from './wire_fixtures.js';

const registry = wireRegistry();
// Every single-packet vector (in_two_packets_one_write holds two: it has its own test).
const plain = enpVectors
  .filter((v) => v.hex !== '' && v.connection === 'plain' && v.name !== 'in_two_packets_one_write')
  .map((v) => unhex(v.hex));
const stream = Buffer.concat(plain);

function collect(chunks: Uint8Array[], max = 0): string[] {
  const r = new EnpFrameReader(max);
  const out: string[] = [];
  for (const c of chunks) {
    r.push(c);
    while (r.next()) out.push(hex(r.bytes.subarray(r.start, r.end)));
  }
  return out;
}

test('all packets in one read come out one by one, as views of that read', () => {
  const r = new EnpFrameReader();
  r.push(stream);
  let n = 0;
  while (r.next()) {
    assert.equal(r.bytes, stream, 'no copy for packets inside the chunk');
    assert.equal(hex(r.bytes.subarray(r.start, r.end)), hex(plain[n]!));
    n++;
  }
  assert.equal(n, plain.length);
  assert.equal(r.buffered, 0);
});

test('the stream split into chunks of every size from 1 to 97 bytes gives the same packets', () => {
  const want = plain.map((p) => hex(p));
  for (let size = 1; size <= 97; size++) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size));
    assert.deepEqual(collect(chunks), want, `chunk size ${size}`);
  }
});

test('random splits decode to the packets Go sent', () => {
  const d = new EnpDecoder({ registry });
  let seed = 7;
  const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n) + 1;
  for (let round = 0; round < 50; round++) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < stream.length;) {
      const k = rnd(300);
      chunks.push(stream.subarray(i, i + k));
      i += k;
    }
    const r = new EnpFrameReader();
    let n = 0;
    for (const c of chunks) {
      r.push(c);
      while (r.next()) {
        d.decode(r.bytes, r.start, r.end);
        n++;
      }
    }
    assert.equal(n, plain.length);
  }
});

test('two packets Go accepted in one write come out as two', () => {
  const both = unhex(enpVectors.find((v) => v.name === 'in_two_packets_one_write')!.hex);
  const got = collect([both]);
  assert.equal(got.length, 2);
  assert.equal(got.join(''), hex(both));
  const d = new EnpDecoder({ registry });
  assert.deepEqual(
    got.map((h) => d.decode(unhex(h)).payload),
    ['first', 'second'],
  );
});

test('a packet larger than the first assembly buffer spread over many reads', () => {
  const big = new Uint8Array(200_000);
  big.set([0x4e, 1], 0);
  new DataView(big.buffer).setUint32(2, big.length);
  big[7] = 101;
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < big.length; i += 1000) chunks.push(big.subarray(i, i + 1000));
  const got = collect([...chunks, plain[0]!]);
  assert.equal(got.length, 2);
  assert.equal(got[0]!.length, big.length * 2);
  assert.equal(got[1], hex(plain[0]!));
});

test('framing errors are fatal with their code, as soon as the header shows them', () => {
  const fails = (bytes: number[], code: string, max = 0): void => {
    const r = new EnpFrameReader(max);
    r.push(Uint8Array.from(bytes));
    assert.throws(
      () => {
        while (r.next());
      },
      { code },
    );
    assert.throws(() => r.next(), { code: 'ERR_ENP_FRAME' }, 'unusable afterwards');
  };
  fails([0x4f], 'ERR_ENP_FRAME');
  fails([0x4e, 2], 'ERR_ENP_FRAME');
  fails([0x4e, 1, 0, 0, 0, 7, 0, 101], 'ERR_ENP_FRAME');
  fails([0x4e, 1, 0, 0, 1, 0, 0, 101], 'ERR_ENP_TOO_LARGE', 255);
  assert.throws(() => new EnpFrameReader(-1), { code: 'ERR_ENP_TOO_LARGE' });
});

test('a header announcing 4 GB allocates only for the bytes that arrived', () => {
  const r = new EnpFrameReader();
  r.push(Uint8Array.of(0x4e, 1, 0xff, 0xff, 0xff, 0xff, 0, 101, 1, 2, 3));
  assert.equal(r.next(), false);
  const before = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < 10; i++) {
    r.push(new Uint8Array(1000));
    assert.equal(r.next(), false);
  }
  assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024);
  assert.ok(r.buffered > 10_000);
});
