// Packet compression as Ergo does it, and the decompression limit (Ergo 3.2.0 zip-bomb
// protection): every algorithm and level round-trips through the decoder; packets that announce
// or inflate to more than maxDecompressedSize, or to other than they announce, or carry a
// corrupt stream or unknown algorithm, are refused with their own codes.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { gzipSync } from 'node:zlib';
import { LzwCompressor, LzwOrder, lzwDecompress } from '../src/lib/lzw.js';
import { EnpDecoder } from '../src/net/proto/decoder.js';
import { EnpEncoder, type EnpMessageOptions } from '../src/net/proto/encoder.js';
import { CompressionAlgorithm, PacketType } from '../src/net/proto/packet.js';

const opts = (compression: EnpMessageOptions['compression']): EnpMessageOptions => ({
  priority: 0,
  important: false,
  messageID: 0,
  keepNetworkOrder: true,
  compression,
});

test('gzip, zlib and lzw at every level round-trip, compressed only above the threshold', () => {
  const enc = new EnpEncoder();
  const dec = new EnpDecoder();
  const msg = 'compress me '.repeat(500);
  for (const type of ['gzip', 'zlib', 'lzw', 'bogus'] as const) {
    for (const level of [0, 1, 2] as const) {
      enc.sendPID(1001, 2002, opts({ enable: true, type: type as 'gzip', level, threshold: 1024 }), msg);
      const out = enc.flush()!;
      assert.equal(out[7], PacketType.Compressed);
      assert.equal(
        out[8],
        type === 'zlib'
          ? CompressionAlgorithm.ZLIB
          : type === 'lzw'
            ? CompressionAlgorithm.LZW
            : CompressionAlgorithm.GZIP,
        'unknown types fall back to gzip',
      );
      assert.ok(out.length < msg.length / 4);
      const p = dec.decode(out);
      assert.equal(p.payload, msg);
      assert.equal(p.toID, 2002);
      assert.equal(p.order, 2002 % 255);
    }
  }
  enc.sendPID(1001, 2002, opts({ enable: true, type: 'gzip', threshold: 100_000 }), msg);
  assert.equal(enc.flush()![7], PacketType.SendPID);
  enc.sendPID(1001, 2002, opts({ enable: false, type: 'gzip', threshold: 0 }), msg);
  assert.equal(enc.flush()![7], PacketType.SendPID);
  // Exit, terminate and control packets are never compressed.
  enc.sendExit(1001, 2002, new Error('x'.repeat(5000)));
  assert.equal(enc.flush()![7], PacketType.Exit);
});

function wrapped(algo: number, innerLength: number, stream: Uint8Array): Uint8Array {
  const out = new Uint8Array(13 + stream.length);
  const dv = new DataView(out.buffer);
  out.set([0x4e, 1], 0);
  dv.setUint32(2, out.length);
  out[7] = PacketType.Compressed;
  out[8] = algo;
  dv.setUint32(9, innerLength);
  out.set(stream, 13);
  return out;
}

test('zip bombs are refused: announced size over the limit, or inflating past the announced size', () => {
  const dec = new EnpDecoder({ maxDecompressedSize: 1 << 20 });
  const bomb = gzipSync(new Uint8Array(64 << 20));
  assert.ok(bomb.length < 100_000);
  assert.throws(() => dec.decode(wrapped(CompressionAlgorithm.GZIP, 64 << 20, bomb)), {
    code: 'ERR_ENP_DECOMPRESSED_TOO_LARGE',
  });
  // Lies about its size: announces 100 bytes, inflates to 64 MB — stopped after 101 bytes.
  const before = process.memoryUsage().arrayBuffers;
  assert.throws(() => dec.decode(wrapped(CompressionAlgorithm.GZIP, 100, bomb)), { code: 'ERR_ENP_COMPRESSION' });
  assert.ok(process.memoryUsage().arrayBuffers - before < 32 << 20);
  const lzwBomb = new LzwCompressor().compress(new Uint8Array(8 << 20));
  assert.throws(() => dec.decode(wrapped(CompressionAlgorithm.LZW, 100, lzwBomb)), { code: 'ERR_ENP_COMPRESSION' });
  assert.throws(() => dec.decode(wrapped(CompressionAlgorithm.LZW, 8 << 20, lzwBomb)), {
    code: 'ERR_ENP_DECOMPRESSED_TOO_LARGE',
  });
  assert.throws(() => new EnpDecoder({ maxDecompressedSize: -1 }), { code: 'ERR_ENP_DECOMPRESSED_TOO_LARGE' });
});

test('corrupt streams, short output, unknown algorithms and nested compression are refused', () => {
  const dec = new EnpDecoder();
  const enc = new EnpEncoder();
  enc.sendPID(1, 2, opts(null), 'hello');
  const inner = enc.flush()!;
  const cases: [string, Uint8Array, string][] = [
    [
      'corrupt gzip',
      wrapped(CompressionAlgorithm.GZIP, inner.length, Uint8Array.of(1, 2, 3, 4)),
      'ERR_ENP_COMPRESSION',
    ],
    [
      'corrupt lzw',
      wrapped(CompressionAlgorithm.LZW, inner.length, Uint8Array.of(0xff, 0xff, 0xff)),
      'ERR_ENP_COMPRESSION',
    ],
    [
      'truncated lzw',
      wrapped(CompressionAlgorithm.LZW, inner.length, new LzwCompressor().compress(inner).subarray(0, 5)),
      'ERR_ENP_COMPRESSION',
    ],
    [
      'shorter than announced',
      wrapped(CompressionAlgorithm.GZIP, inner.length + 1, gzipSync(inner)),
      'ERR_ENP_COMPRESSION',
    ],
    ['unknown algorithm', wrapped(99, inner.length, inner), 'ERR_ENP_COMPRESSION'],
    [
      'nested',
      wrapped(CompressionAlgorithm.GZIP, 13 + 20, gzipSync(wrapped(CompressionAlgorithm.GZIP, 5, gzipSync(inner)))),
      'ERR_ENP_COMPRESSION',
    ],
  ];
  for (const [what, bytes, code] of cases) assert.throws(() => dec.decode(bytes), { code }, what);
  assert.equal(dec.decode(wrapped(CompressionAlgorithm.GZIP, inner.length, gzipSync(inner))).payload, 'hello');
});

test('LZW: MSB order and narrow literal widths round-trip; bytes above the literal width are refused', () => {
  const data = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 7) % 4);
  for (const order of [LzwOrder.LSB, LzwOrder.MSB]) {
    for (const lit of [2, 3, 8]) {
      const z = new LzwCompressor(order, lit).compress(data);
      assert.deepEqual(lzwDecompress(z, data.length, order, lit), data);
    }
  }
  assert.deepEqual(lzwDecompress(new LzwCompressor().compress(new Uint8Array(0)), 0), new Uint8Array(0));
  assert.throws(() => new LzwCompressor(LzwOrder.LSB, 2).compress(Uint8Array.of(4)), RangeError);
  assert.throws(() => new LzwCompressor(LzwOrder.LSB, 9), RangeError);
});
