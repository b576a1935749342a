// Fuzzing the wire decoders with random and mutated frames built from Go's vectors (handshake,
// ENP, registrar): every input either decodes or fails with a WireError carrying a stable code —
// never another exception, a hang or an allocation out of proportion to the input. Seeded, so a
// failure reproduces; a few thousand cases per decoder keep it around a second.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { WireError } from '../src/net/error.js';
import { HandshakeCodec } from '../src/net/handshake/frame.js';
import { EnpDecoder } from '../src/net/proto/decoder.js';
import { EnpFrameReader } from '../src/net/proto/stream.js';
import { RegistrarCodec } from '../src/net/registrar/packet.js';
import { unhex } from './edf.fixtures.js';
import { enpCaches, enpVectors, handshakeVectors, registrarVectors, wireRegistry } from './wire_fixtures.js';

const registry = wireRegistry();

/** xorshift32: deterministic randomness. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

/** A mutation of `src`: flipped bytes, a changed length field, truncation, insertion, splicing. */
function mutate(src: Uint8Array, other: Uint8Array, r: (n: number) => number): Uint8Array {
  const b = Uint8Array.from(src);
  switch (r(6)) {
    case 0:
      for (let k = 1 + r(4); k > 0; k--) b[r(b.length)] = r(256);
      return b;
    case 1: {
      // A length-ish field anywhere: big values.
      const at = r(Math.max(1, b.length - 4));
      new DataView(b.buffer).setUint32(at, [0xffffffff, 0x7fffffff, b.length * 1000, 0][r(4)]!);
      return b;
    }
    case 2:
      return b.subarray(0, r(b.length + 1));
    case 3: {
      const at = r(b.length + 1);
      const extra = Uint8Array.from({ length: 1 + r(16) }, () => r(256));
      return Uint8Array.from([...b.subarray(0, at), ...extra, ...b.subarray(at)]);
    }
    case 4: {
      const cut = r(b.length + 1);
      return Uint8Array.from([...b.subarray(0, cut), ...other.subarray(r(other.length + 1))]);
    }
    default:
      return Uint8Array.from({ length: r(300) }, () => r(256));
  }
}

function expectWireError(err: unknown, what: string): void {
  if (!(err instanceof WireError)) assert.fail(`${what}: not a WireError: ${String((err as Error)?.stack ?? err)}`);
  assert.match(err.code, /^ERR_(HANDSHAKE|ENP|REGISTRAR)_[A-Z_]+$/);
}

test('handshake frames: random and mutated input decodes or fails with a WireError', () => {
  const seeds = handshakeVectors.filter((v) => v.hex !== '').map((v) => unhex(v.hex));
  const r = rng(0x5eed1);
  const before = process.memoryUsage().arrayBuffers;
  let failures = 0;
  for (let i = 0; i < 3000; i++) {
    const input = mutate(seeds[r(seeds.length)]!, seeds[r(seeds.length)]!, r);
    const c = new HandshakeCodec({ registry });
    try {
      for (let k = 0; k < input.length; k += 1 + r(64)) c.push(input.subarray(k, k + 1 + r(64)));
      while (c.next() !== undefined);
    } catch (err) {
      failures++;
      expectWireError(err, `case ${i}`);
    }
  }
  assert.ok(failures > 500, 'the mutations do reach the error paths');
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 << 20);
});

test('ENP streams: random and mutated packets decode or fail with a WireError; framing errors are fatal', () => {
  const seeds = enpVectors.filter((v) => v.hex !== '').map((v) => unhex(v.hex));
  const r = rng(0x5eed2);
  const decoders = [
    new EnpDecoder({ registry, maxDecompressedSize: 1 << 20 }),
    new EnpDecoder({ registry, maxDecompressedSize: 1 << 20, atomCache: enpCaches.atoms, typeCache: enpCaches.types }),
  ];
  const before = process.memoryUsage().arrayBuffers;
  let decoded = 0;
  let dropped = 0;
  let fatal = 0;
  for (let i = 0; i < 6000; i++) {
    const input = mutate(seeds[r(seeds.length)]!, seeds[r(seeds.length)]!, r);
    const reader = new EnpFrameReader(r(2) === 0 ? 0 : 1 << 16);
    const d = decoders[r(2)]!;
    try {
      for (let k = 0; k < input.length;) {
        const n = 1 + r(80);
        reader.push(input.subarray(k, k + n));
        k += n;
        while (reader.next()) {
          try {
            d.decode(reader.bytes, reader.start, reader.end);
            decoded++;
          } catch (err) {
            expectWireError(err, `case ${i} packet`);
            assert.equal((err as WireError).fatal, false, 'a bad packet is dropped, not fatal');
            dropped++;
          }
        }
      }
    } catch (err) {
      expectWireError(err, `case ${i} stream`);
      assert.equal((err as WireError).fatal, true);
      fatal++;
    }
  }
  assert.ok(decoded > 500 && dropped > 500 && fatal > 500, `${decoded} decoded, ${dropped} dropped, ${fatal} fatal`);
  assert.ok(process.memoryUsage().arrayBuffers - before < 128 << 20);
});

test('registrar packets: random and mutated input decodes or fails with ERR_REGISTRAR_PACKET', () => {
  const seeds = registrarVectors.map((v) => unhex(v.hex));
  const r = rng(0x5eed3);
  const c = new RegistrarCodec(registry);
  for (let i = 0; i < 2000; i++) {
    const input = mutate(seeds[r(seeds.length)]!, seeds[r(seeds.length)]!, r);
    try {
      c.decode(input);
    } catch (err) {
      expectWireError(err, `case ${i}`);
      assert.equal((err as WireError).code, 'ERR_REGISTRAR_PACKET');
    }
  }
});
