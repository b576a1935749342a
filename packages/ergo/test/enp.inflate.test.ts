// Decompression never holds the event loop for a whole large packet (issue 19 item 3): a link
// that receives a compressed packet inflating to more than SYNC_INFLATE_LIMIT bytes inflates it
// off the critical path (gzip/zlib on the thread pool, LZW in slices that yield), and the packets
// behind it follow in order. Checked on a real socket by counting event-loop turns (setImmediate)
// between the data event that completes the packet and its delivery — no timing involved.

import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, test } from 'node:test';

import { LZW_SLICE_BYTES, SYNC_INFLATE_LIMIT } from '../src/net/proto/compression.js';
import { EnpEncoder, type EnpMessageOptions } from '../src/net/proto/encoder.js';
import { EnpLink, type LinkOwner } from '../src/net/proto/link.js';
import { CompressionAlgorithm, PacketType, type EnpPacket } from '../src/net/proto/packet.js';
import type { WireError } from '../src/net/error.js';
import { within } from './lifecycle_helpers.js';

const opts = (type: 'gzip' | 'zlib' | 'lzw' | null): EnpMessageOptions => ({
  priority: 0,
  important: false,
  messageID: 0,
  keepNetworkOrder: true,
  compression: type === null ? undefined : { enable: true, type, level: 1, threshold: 1024 },
});

/** Event-loop turns, counted by a setImmediate chain running for the whole file. */
let turns = 0;
let counting = true;
function tick(): void {
  turns++;
  if (counting) setImmediate(tick);
}

interface Seen {
  toID: number;
  length: number;
  compressed: number;
  turnsAtData: number;
  turnsAtDelivery: number;
}

/** A server-side EnpLink on a real socket pair; records deliveries with the turn counts. */
async function linkPair(): Promise<{
  client: net.Socket;
  seen: Seen[];
  bad: WireError[];
  next: (n: number) => Promise<void>;
  close: () => void;
}> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [socket] = (await once(server, 'connection')) as [net.Socket];
  const seen: Seen[] = [];
  const bad: WireError[] = [];
  let waiter: { n: number; resolve: () => void } | null = null;
  let turnsAtData = -1;
  const check = (): void => {
    if (waiter !== null && seen.length + bad.length >= waiter.n) {
      const w = waiter;
      waiter = null;
      w.resolve();
    }
  };
  const owner: LinkOwner = {
    onPacket(p: EnpPacket) {
      seen.push({
        toID: Number(p.toID),
        length: p.payload instanceof Uint8Array ? p.payload.length : String(p.payload).length,
        compressed: p.compressed,
        turnsAtData,
        turnsAtDelivery: turns,
      });
      check();
    },
    onBadPacket(err: WireError) {
      bad.push(err);
      check();
    },
    onLinkDown() {},
    onOrphanBytes() {},
    onLinkFrame() {},
  };
  // Registered before the link's own listener: it runs first in every data event.
  socket.on('data', () => (turnsAtData = turns));
  const link = new EnpLink(socket, owner, {}, {}, 0);
  link.start(null);
  return {
    client,
    seen,
    bad,
    next: (n) =>
      within(
        new Promise<void>((resolve) => {
          waiter = { n, resolve };
          check();
        }),
        `${n} packets`,
        30_000,
      ),
    close: () => {
      link.close();
      client.destroy();
      server.close();
    },
  };
}

function frames(parts: [number, 'gzip' | 'zlib' | 'lzw' | null, unknown][]): Buffer {
  const enc = new EnpEncoder();
  for (const [to, type, payload] of parts) enc.sendPID(1, to, opts(type), payload);
  return Buffer.from(enc.flush()!);
}

before(() => setImmediate(tick));
after(() => {
  counting = false;
});

for (const type of ['lzw', 'gzip', 'zlib'] as const) {
  test(`${type}: a packet inflating to 8 MiB is inflated off the data handler; the packet behind it follows in order`, async () => {
    const big = new Uint8Array(8 << 20).fill(7);
    const bytes = frames([
      [1001, type, big],
      [1002, null, 'after'],
    ]);
    assert.ok(bytes.length < 1 << 20, 'the compressed packet is small on the wire');
    const { client, seen, bad, next, close } = await linkPair();
    try {
      client.write(bytes);
      await next(2);
      assert.deepEqual(bad, []);
      assert.deepEqual(
        seen.map((s) => s.toID),
        [1001, 1002],
      );
      const [first, second] = seen as [Seen, Seen];
      assert.equal(first.length, big.length);
      assert.equal(
        first.compressed,
        type === 'lzw'
          ? CompressionAlgorithm.LZW
          : type === 'zlib'
            ? CompressionAlgorithm.ZLIB
            : CompressionAlgorithm.GZIP,
      );
      assert.ok(
        first.turnsAtDelivery > first.turnsAtData,
        `delivered in the data event that completed it (turn ${first.turnsAtData}): the event loop was held`,
      );
      if (type === 'lzw') {
        const slices = Math.floor(big.length / LZW_SLICE_BYTES);
        assert.ok(
          first.turnsAtDelivery - first.turnsAtData >= slices / 2,
          `LZW yields between slices (${first.turnsAtDelivery - first.turnsAtData} turns for ${slices} slices)`,
        );
      }
      assert.equal(second.length, 'after'.length);
    } finally {
      close();
    }
  });
}

test('small compressed packets (at most SYNC_INFLATE_LIMIT) still inflate in the data handler, with no extra hop', async () => {
  const small = 'x'.repeat(SYNC_INFLATE_LIMIT / 4);
  const bytes = frames([
    [2001, 'gzip', small],
    [2002, 'lzw', small],
  ]);
  assert.equal(bytes[7], PacketType.Compressed);
  const { client, seen, next, close } = await linkPair();
  try {
    client.write(bytes);
    await next(2);
    for (const s of seen) {
      assert.equal(s.length, small.length);
      assert.equal(s.turnsAtDelivery, s.turnsAtData);
    }
  } finally {
    close();
  }
});

test('a corrupt or lying large compressed packet is dropped (ERR_ENP_COMPRESSION); the link goes on', async () => {
  const good = frames([[3001, 'lzw', new Uint8Array(1 << 20)]]);
  // Announce one byte more than the stream inflates to.
  const lying = Buffer.from(good);
  lying.writeUInt32BE(lying.readUInt32BE(9) + 1, 9);
  const corrupt = Buffer.from(good);
  corrupt.fill(0xff, 13, Math.min(corrupt.length, 40));
  const { client, seen, bad, next, close } = await linkPair();
  try {
    client.write(Buffer.concat([lying, corrupt, frames([[3002, null, 'still here']])]));
    await next(3);
    assert.deepEqual(
      bad.map((e) => e.code),
      ['ERR_ENP_COMPRESSION', 'ERR_ENP_COMPRESSION'],
    );
    assert.deepEqual(
      seen.map((s) => s.toID),
      [3002],
    );
  } finally {
    close();
  }
});
