// The in-host transport's byte stream (net/inhost): a SharedArrayBuffer ring per direction
// between two real threads. A burst larger than the ring is held by the writer (writableLength,
// write() false: the link's "socket busy" path) until the peer reads, arrives whole and in order,
// then `drain`; the peer's thread ending mid-traffic closes the stream at once.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';
import { PortSocket, READ_SLICE } from '../src/net/inhost/port_socket.js';
import { ByteRing } from '../src/net/inhost/ring.js';
import { ErgoError } from '../src/index.js';

const PEER = new URL('./inhost_peer.js', import.meta.url);

interface Report {
  t: string;
  bytes?: number;
  bad?: number;
  largest?: number;
}

interface Peer {
  worker: Worker;
  socket: PortSocket;
  out: ByteRing;
  next(): Promise<Report>;
}

async function peer(ringSize: number): Promise<Peer> {
  const { port1, port2 } = new MessageChannel();
  const out = ByteRing.create(ringSize);
  const back = ByteRing.create(ringSize);
  const worker = new Worker(PEER, { workerData: { port: port2, rings: [out.sab, back.sab] }, transferList: [port2] });
  const queue: Report[] = [];
  const waiters: ((m: Report) => void)[] = [];
  worker.on('message', (m: Report) => {
    const w = waiters.shift();
    if (w !== undefined) w(m);
    else queue.push(m);
  });
  const next = (): Promise<Report> =>
    new Promise((resolve) => {
      const m = queue.shift();
      if (m !== undefined) resolve(m);
      else waiters.push(resolve);
    });
  assert.equal((await next()).t, 'ready');
  return { worker, socket: new PortSocket(port1, out, back), out, next };
}

function pattern(from: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (from + i) % 251;
  return b;
}

test('inhost ring: a burst larger than the ring waits with the writer, then arrives whole and in order', async () => {
  const RING = 64 * 1024;
  const p = await peer(RING);
  try {
    const CHUNK = 96 * 1024;
    const COUNT = 40; // 3.75 MiB, 60 rings' worth, written while the peer does not read
    let accepted = 0;
    for (let i = 0; i < COUNT; i++) if (p.socket.write(pattern(i * CHUNK, CHUNK))) accepted++;
    const total = CHUNK * COUNT;
    assert.equal(p.out.used(), RING, 'the ring is full, never more');
    assert.equal(p.socket.writableLength, total - RING, 'the rest waits with the writer');
    assert.equal(accepted, 0, 'write() reports the backlog (the link owes the peer)');
    const drained = once(p.socket, 'drain');
    p.worker.postMessage('read');
    await drained;
    assert.equal(p.socket.writableLength, 0);
    p.socket.end();
    const r = await p.next();
    assert.deepEqual({ t: r.t, bytes: r.bytes, bad: r.bad }, { t: 'ended', bytes: total, bad: 0 });
    assert.ok(r.largest! <= READ_SLICE, `slices of at most ${READ_SLICE} bytes (${r.largest})`);
    await once(p.socket, 'close');
  } finally {
    await p.worker.terminate();
  }
});

test('inhost ring: bytes written before end() arrive before the end, also when they had to wait', async () => {
  const p = await peer(4096);
  try {
    p.socket.write(pattern(0, 100_000));
    p.socket.end(); // the end marker must follow the held bytes, not overtake them
    assert.equal(p.socket.write(pattern(0, 10)), false, 'no write after end()');
    p.worker.postMessage('read');
    const r = await p.next();
    assert.deepEqual({ t: r.t, bytes: r.bytes, bad: r.bad }, { t: 'ended', bytes: 100_000, bad: 0 });
  } finally {
    await p.worker.terminate();
  }
});

test("inhost ring: the peer's thread ending mid-traffic closes the stream; held bytes are dropped", async () => {
  const p = await peer(64 * 1024);
  for (let i = 0; i < 8; i++) p.socket.write(pattern(0, 64 * 1024));
  assert.ok(p.socket.writableLength > 0);
  const closed = once(p.socket, 'close');
  await p.worker.terminate();
  await closed;
  assert.equal(p.socket.destroyed, true);
  assert.equal(p.socket.writableLength, 0);
  assert.equal(p.socket.write(pattern(0, 10)), false);
});

/** Both ends of one link in this thread (the rings' Atomics work the same within one thread). */
function localPair(ringSize: number): { a: PortSocket; b: PortSocket; ab: ByteRing } {
  const { port1, port2 } = new MessageChannel();
  const ab = ByteRing.create(ringSize);
  const ba = ByteRing.create(ringSize);
  return { a: new PortSocket(port1, ab, ba), b: new PortSocket(port2, ba, ab), ab };
}

test('inhost ring: destroy() ends delivery at once, as on a net.Socket: no data after it', async () => {
  const { a, b, ab } = localPair(1 << 20);
  a.on('close', () => undefined);
  let afterDestroy = 0;
  let destroyed = false;
  b.on('data', (d: Buffer) => {
    if (destroyed) afterDestroy += d.length;
    else {
      // The link's watchdog or a fatal packet destroys it while slices are still to be read:
      // the connection is declared down then, and nothing may arrive from that peer after.
      destroyed = true;
      b.destroy();
    }
  });
  const closed = once(b, 'close');
  assert.equal(a.write(pattern(0, 3 * READ_SLICE)), true);
  await closed;
  assert.equal(afterDestroy, 0, 'no data after destroy()');
  assert.equal(ab.used(), 2 * READ_SLICE, 'the unread slices stay unread');
});

test('inhost ring: bytes the peer wrote before it went are delivered to a paused side when it resumes, then close', async () => {
  const { a, b } = localPair(1 << 20);
  const got: Buffer[] = [];
  b.on('data', (d: Buffer) => got.push(d));
  let closed = false;
  b.on('close', () => (closed = true));
  // The link pauses its socket while it inflates a large packet off the thread; the peer node
  // writes its last packets and its thread ends meanwhile (a TCP peer's FIN would wait behind
  // the unread bytes).
  b.pause();
  const sent = pattern(0, 3 * READ_SLICE + 5);
  a.write(sent);
  a.destroy();
  await once(a, 'close');
  // b's port closes a moment later: from then on b refuses writes (the peer is gone).
  while (b.writable) await new Promise((r) => setImmediate(r));
  assert.equal(closed, false, 'not closed while bytes wait unread');
  assert.equal(b.write(pattern(0, 10)), false, 'the peer is gone: no write');
  const done = once(b, 'close');
  b.resume();
  await done;
  assert.equal(Buffer.compare(Buffer.concat(got), sent), 0, 'every byte, in order, before close');
});

test('inhost ring: bad sizes and foreign buffers are refused with ErrIncorrect', () => {
  for (const size of [0, 1000, 4095, 6000, 2 ** 31, 1.5])
    assert.throws(
      () => ByteRing.create(size),
      (e: unknown) => e instanceof ErgoError && e.code === 'ERR_INCORRECT',
    );
  assert.throws(
    () => new ByteRing(new SharedArrayBuffer(100)),
    (e: unknown) => e instanceof ErgoError && e.code === 'ERR_INCORRECT',
  );
});
