// The in-host ring's doorbells (net/inhost/ring.ts): a side with nothing to do parks with
// Atomics.waitAsync, the other side rings only when it announced it. No wake-up may be lost —
// bytes published just as the reader parks, or space freed just as the writer parks, must still
// be seen (the re-check after the announcement) — and a full ring holds the writer back until the
// reader frees space, on both directions of a link between two real threads.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';
import { within } from '@ergo-ts/test-support';
import { PortSocket } from '../src/net/inhost/port_socket.js';
import { ByteRing } from '../src/net/inhost/ring.js';

const PEER = new URL('./inhost_echo_peer.js', import.meta.url);

interface Report {
  t: string;
  bytes?: number;
  held?: number;
  drains?: number;
}

/** A link to an echoing worker thread; `received` grows with what comes back. */
async function echoPeer(ringSize: number): Promise<{
  worker: Worker;
  socket: PortSocket;
  out: ByteRing;
  received: Buffer[];
  until(bytes: number): Promise<void>;
  report(): Promise<Report>;
}> {
  const { port1, port2 } = new MessageChannel();
  const out = ByteRing.create(ringSize);
  const back = ByteRing.create(ringSize);
  const worker = new Worker(PEER, { workerData: { port: port2, rings: [out.sab, back.sab] }, transferList: [port2] });
  const reports: Report[] = [];
  let onReport: (() => void) | null = null;
  worker.on('message', (m: Report) => {
    reports.push(m);
    onReport?.();
  });
  const report = async (): Promise<Report> => {
    while (reports.length === 0) await new Promise<void>((r) => (onReport = r));
    return reports.shift()!;
  };
  assert.equal((await report()).t, 'ready');
  const socket = new PortSocket(port1, out, back);
  const received: Buffer[] = [];
  let got = 0;
  let want = 0;
  let reached: (() => void) | null = null;
  socket.on('data', (b: Buffer) => {
    received.push(b);
    got += b.length;
    if (reached !== null && got >= want) {
      const r = reached;
      reached = null;
      r();
    }
  });
  const until = (bytes: number): Promise<void> =>
    got >= bytes ? Promise.resolve() : new Promise<void>((r) => ((want = bytes), (reached = r)));
  return { worker, socket, out, received, until, report };
}

function pattern(from: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (from + i) % 251;
  return b;
}

test('inhost doorbell: bytes published just before the reader parks are seen by its re-check, not lost', async () => {
  const writer = ByteRing.create(4096);
  const reader = new ByteRing(writer.sab);
  // A first write wakes the new ring's reader (its flag starts set); the reader drains it.
  writer.put(pattern(0, 10), 0, 10);
  writer.wakeReader();
  assert.equal(reader.take(4096)?.length, 10);
  // The reader found the ring empty and is about to park; the writer publishes now, before the
  // reader's announcement is visible: it sees no parked reader and rings nothing.
  writer.put(pattern(10, 5), 0, 5);
  writer.wakeReader();
  assert.equal(reader.parkReader(false), null, 'the re-check finds the bytes: read on, do not wait');
  assert.equal(reader.take(4096)?.length, 5);
  // Parked for real, the next write rings the doorbell and the wait ends.
  const w = reader.parkReader(false);
  assert.ok(w instanceof Promise, 'parked on the doorbell');
  writer.put(pattern(15, 3), 0, 3);
  writer.wakeReader();
  await within(w, 'the doorbell ends the wait', 10_000);
  assert.equal(reader.take(4096)?.length, 3);
});

test('inhost doorbell: space freed just before the writer parks is seen by its re-check, not lost', async () => {
  const writer = ByteRing.create(4096);
  const reader = new ByteRing(writer.sab);
  assert.equal(writer.put(pattern(0, 5000), 0, 5000), 4096, 'the ring takes what fits');
  // The reader frees space before the writer announced it waits: it rings nothing.
  assert.equal(reader.take(4096)?.length, 4096);
  reader.wakeWriter();
  assert.equal(writer.parkWriter(false), null, 'the re-check finds the space: put again');
  assert.equal(writer.put(pattern(0, 5000), 0, 5000), 4096);
  const w = writer.parkWriter(false);
  assert.ok(w instanceof Promise, 'parked on the space doorbell');
  assert.equal(reader.take(1000)?.length, 1000);
  reader.wakeWriter(); // less than half free: the writer is not told yet
  assert.equal(reader.take(2000)?.length, 2000);
  reader.wakeWriter();
  await within(w, 'the space doorbell ends the wait', 10_000);
});

test('inhost doorbell: thousands of bursts with idle gaps between two threads all arrive (each lands as the peer parks)', async () => {
  const p = await echoPeer(64 * 1024);
  try {
    // Each burst goes out the moment the previous echo came back: the peer has just read it,
    // written it back, and is parking on an empty ring — the burst lands right then, and the
    // test's own reader parks between bursts too. A lost wake-up stalls the stream for good.
    const ROUNDS = 3000;
    let total = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const n = 1 + ((i * 7919) % 3000);
      assert.equal(p.socket.write(pattern(total, n)), true);
      total += n;
      await within(p.until(total), `burst ${i} echoed`, 30_000);
    }
    const all = Buffer.concat(p.received);
    assert.equal(all.length, total);
    assert.equal(Buffer.compare(all, pattern(0, total)), 0, 'every byte, in order');
    p.socket.end();
    const r = await within(p.report(), 'the peer sees the end', 30_000);
    assert.deepEqual({ t: r.t, bytes: r.bytes }, { t: 'ended', bytes: total });
  } finally {
    await p.worker.terminate();
  }
});

test('inhost doorbell: a full ring holds each writer back until its reader frees space, in both directions', async () => {
  const RING = 4096;
  const p = await echoPeer(RING);
  try {
    // 1 MiB against 4 KiB rings: this side's writes wait for the peer to read, and the peer's
    // echoes wait for this side to read — each writer parks on its ring's space doorbell.
    const CHUNK = 16 * 1024;
    const COUNT = 64;
    let refused = 0;
    for (let i = 0; i < COUNT; i++) if (!p.socket.write(pattern(i * CHUNK, CHUNK))) refused++;
    assert.ok(p.out.used() <= RING, 'the ring never holds more than its size');
    assert.ok(refused > 0 && p.socket.writableLength > 0, 'write() reports the backlog');
    const drained = once(p.socket, 'drain');
    const total = CHUNK * COUNT;
    await within(p.until(total), 'every byte echoed', 30_000);
    await within(drained, 'drain once the backlog went', 30_000);
    assert.equal(p.socket.writableLength, 0);
    assert.equal(Buffer.compare(Buffer.concat(p.received), pattern(0, total)), 0, 'every byte, in order');
    p.socket.end();
    const r = await within(p.report(), 'the peer sees the end', 30_000);
    assert.equal(r.bytes, total);
    assert.ok(
      r.held! > 0 && r.drains! > 0,
      `the peer's writes waited for space too (held ${r.held}, drains ${r.drains})`,
    );
  } finally {
    await p.worker.terminate();
  }
});
