// The connection phase on its own, between two of our connections or against hand-written
// packets: interleaved fragment sequences, pass-through framing, broken fragments, the packet
// size limit, and hostile packets (each must close the connection with a DistError, never
// throw out of the socket handler).

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { createServer, connect, type Socket } from 'node:net';
import {
  DEFAULT_FLAGS,
  DFLAG,
  DistConnection,
  DistError,
  acceptHandshake,
  atom,
  encodeDistMessage,
  isAtom,
  type ErlTuple,
  initiateHandshake,
  termEqual,
  tuple,
  type DistConnectionOptions,
  type DistMessage,
  type HandshakeResult,
} from '../src/index.js';
import { rng } from './etf_gen.js';

async function connected(flags = DEFAULT_FLAGS): Promise<[HandshakeResult, HandshakeResult]> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  const s = await accepted;
  server.close();
  return Promise.all([
    initiateHandshake(client, { name: 'a@h', cookie: 'c', creation: 1, flags }),
    acceptHandshake(s, { name: 'b@h', cookie: 'c', creation: 2, flags }),
  ]);
}

function frame(p: Buffer): Buffer {
  const l = Buffer.alloc(4);
  l.writeUInt32BE(p.length, 0);
  return Buffer.concat([l, p]);
}

function fragment(seq: number, id: number, first: boolean, body: Buffer): Buffer {
  const h = Buffer.alloc(18);
  h[0] = 131;
  h[1] = first ? 69 : 70;
  h.writeBigUInt64BE(BigInt(seq), 2);
  h.writeBigUInt64BE(BigInt(id), 10);
  return frame(Buffer.concat([h, body]));
}

/** Our connection on one side; the other side is the raw socket. */
async function withRaw(
  options?: DistConnectionOptions,
): Promise<{ conn: DistConnection; raw: Socket; got: DistMessage[]; closed: Promise<Error | undefined> }> {
  const [a, b] = await connected();
  const conn = new DistConnection(a, options);
  b.socket.on('data', () => {});
  b.socket.on('error', () => {});
  const got: DistMessage[] = [];
  conn.on('message', (m) => got.push(m));
  const closed = new Promise<Error | undefined>((r) => conn.once('close', r));
  return { conn, raw: b.socket, got, closed };
}

test('interleaved fragment sequences are reassembled each on its own', async () => {
  const { conn, raw, got } = await withRaw();
  const m1 = encodeDistMessage(tuple(2, atom(''), atom('p1')), Buffer.alloc(300, 1)).subarray(2);
  const m2 = encodeDistMessage(tuple(2, atom(''), atom('p2')), Buffer.alloc(300, 2)).subarray(2);
  const arrived = new Promise<void>((r) => conn.on('message', () => got.length === 2 && r()));
  raw.write(fragment(7, 3, true, m1.subarray(0, 100)));
  raw.write(fragment(9, 2, true, m2.subarray(0, 150)));
  raw.write(Buffer.alloc(4)); // a tick between fragments
  raw.write(fragment(7, 2, false, m1.subarray(100, 200)));
  raw.write(fragment(9, 1, false, m2.subarray(150)));
  raw.write(fragment(7, 1, false, m1.subarray(200)));
  await arrived;
  assert.ok(termEqual(got[0]!.control, tuple(2, atom(''), atom('p2'))));
  assert.deepEqual(got[0]!.payload, Buffer.alloc(300, 2));
  assert.deepEqual(got[1]!.payload, Buffer.alloc(300, 1));
  assert.equal(conn.ticksIn, 1);
  conn.close();
  raw.destroy();
});

test('sends of one turn are batched yet arrive in order, mixed with direct and fragmented ones', async () => {
  const [a, b] = await connected();
  const ca = new DistConnection(a, { fragmentSize: 40_000 });
  const cb = new DistConnection(b);
  const writes: number[] = [];
  const write = a.socket.write.bind(a.socket);
  a.socket.write = ((chunk: Buffer, ...rest: never[]) => {
    writes.push(chunk.length);
    return write(chunk, ...rest);
  }) as typeof a.socket.write;
  const sizes = [10, 20, 30_000, 5, 100_000, 7, 1, 70_000, 3];
  const seen: number[] = [];
  const done = new Promise<void>((r) =>
    cb.on('message', (m) => {
      if (isAtom((m.control as ErlTuple).get(2), 'x')) seen.push((m.payload as Buffer).length);
      if (seen.length === sizes.length * 2) r();
    }),
  );
  for (const n of sizes) ca.send(tuple(2, atom(''), atom('x')), Buffer.alloc(n, n & 0xff));
  for (let i = 0; i < 300; i++) ca.send(tuple(2, atom(''), atom('y')), Buffer.alloc(1 + (i % 3))); // one write
  await new Promise((r) => setImmediate(r));
  const queuedWrites = writes.length;
  // later turn: the same sizes again, then close right away (queued packets still go out)
  for (const n of sizes) ca.send(tuple(2, atom(''), atom('x')), Buffer.alloc(n, n & 0xff));
  ca.close();
  await done;
  assert.deepEqual(seen, [...sizes, ...sizes]);
  assert.ok(queuedWrites < 30, `300 small sends of one turn took ${queuedWrites} socket writes`);
  assert.ok(ca.fragmentsOut > 0, 'the 100 kB and 70 kB messages were fragmented');
  cb.close();
});

test("a turn's packets are written before the next macrotask: a setImmediate queued before them sees the write", async () => {
  const [a, b] = await connected();
  const ca = new DistConnection(a);
  const cb = new DistConnection(b);
  let writes = 0;
  const write = a.socket.write.bind(a.socket);
  a.socket.write = ((chunk: Buffer, ...rest: never[]) => {
    writes++;
    return write(chunk, ...rest);
  }) as typeof a.socket.write;
  try {
    const arrived = new Promise<DistMessage>((r) => cb.once('message', r));
    // Queued first, so it runs before any setImmediate the connection could queue for its flush.
    const before = new Promise<number>((r) => setImmediate(() => r(writes)));
    ca.send(tuple(2, atom(''), atom('x')), 1);
    ca.send(tuple(2, atom(''), atom('x')), 2);
    assert.equal(writes, 0, 'nothing is written synchronously: the packets of a turn are batched');
    assert.equal(await before, 1, 'both packets left in one write at the end of the task');
    assert.equal((await arrived).payload, 1);
  } finally {
    ca.close();
    cb.close();
  }
});

test('back-pressure: a peer that does not read gets every packet intact and in order once it reads', async () => {
  const [a, b] = await connected();
  const ca = new DistConnection(a);
  // The peer does not read: the kernel buffers fill and the socket has to keep what it was given.
  b.socket.pause();
  const payload = (i: number): Buffer => Buffer.alloc(3000, i & 0xff);
  const N = 3000; // ~9 MB: far beyond what loopback socket buffers take
  let i = 0;
  let sawBacklog = false;
  while (i < N) {
    // A batch per turn, each flushed from the connection's output buffer.
    for (let k = 0; k < 15 && i < N; k++, i++) ca.send(tuple(2, atom(''), atom('x')), payload(i));
    await new Promise((r) => setImmediate(r));
    if (a.socket.writableLength > 0) sawBacklog = true;
  }
  assert.ok(sawBacklog, 'the socket had to queue writes (the test needs back-pressure)');
  const cb = new DistConnection(b);
  let n = 0;
  let bad = -1;
  const all = new Promise<void>((r, reject) => {
    cb.on('message', (m) => {
      if (bad < 0 && !(m.payload as Buffer).equals(payload(n))) bad = n;
      if (++n === N) r();
    });
    // Corrupted bytes may break the framing itself: the connection then closes with an error.
    cb.on('close', (e) => reject(e ?? new Error('closed')));
  });
  b.socket.resume();
  try {
    await all;
    assert.equal(bad, -1, `message ${bad} arrived corrupted or out of order`);
  } finally {
    ca.close();
    cb.close();
  }
});

test('pass-through framing when neither the atom cache header nor fragments are negotiated', async () => {
  const plain = DEFAULT_FLAGS & ~(DFLAG.DIST_HDR_ATOM_CACHE | DFLAG.FRAGMENTS);
  const [a, b] = await connected(plain);
  const ca = new DistConnection(a);
  const cb = new DistConnection(b);
  const raw: Buffer[] = [];
  b.socket.on('data', (d) => raw.push(d));
  const got = new Promise<DistMessage>((r) => cb.once('message', r));
  ca.send(tuple(2, atom(''), atom('x')), Buffer.alloc(100_000, 3));
  const m = await got;
  assert.deepEqual(m.payload, Buffer.alloc(100_000, 3));
  assert.equal(Buffer.concat(raw)[4], 112, "framed as 'p'");
  ca.close();
  cb.close();
});

test('broken input closes the connection with a protocol error', async () => {
  const cases: [string, Buffer, DistConnectionOptions?][] = [
    ['unknown packet', frame(Buffer.from([1, 2, 3]))],
    [
      'fragment out of order',
      Buffer.concat([fragment(1, 3, true, Buffer.from([0, 104])), fragment(1, 1, false, Buffer.from([0]))]),
    ],
    ['continuation without a start', fragment(5, 1, false, Buffer.from([0]))],
    [
      'sequence started twice',
      Buffer.concat([fragment(1, 2, true, Buffer.from([0])), fragment(1, 2, true, Buffer.from([0]))]),
    ],
    [
      'too many sequences',
      Buffer.concat([fragment(1, 2, true, Buffer.from([0])), fragment(2, 2, true, Buffer.from([0]))]),
      { maxFragmentSequences: 1 },
    ],
    ['packet over the size limit', Buffer.from([0x7f, 0xff, 0xff, 0xff]), { limits: { maxMessageSize: 1000 } }],
    ['undecodable term', frame(Buffer.from([131, 68, 0, 104, 9]))],
    ['unknown atom cache slot', frame(Buffer.from([131, 68, 1, 0, 5, 82, 0]))],
  ];
  for (const [what, bytes, options] of cases) {
    const { raw, closed } = await withRaw(options);
    raw.write(bytes);
    const reason = await closed;
    assert.ok(reason instanceof DistError && reason.code === 'ERR_DIST_PROTOCOL', `${what}: ${reason}`);
    raw.destroy();
  }
});

test('random packets: messages or a DistError close, nothing thrown', async () => {
  const r = rng(99);
  const int = (n: number): number => Math.floor(r() * n);
  for (let round = 0; round < 30; round++) {
    const { conn, raw, closed } = await withRaw({ limits: { maxMessageSize: 1 << 16 } });
    const parts: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      const body = Buffer.alloc(int(40));
      for (let k = 0; k < body.length; k++) body[k] = int(256);
      if (body.length > 1 && r() < 0.7) body[0] = 131;
      if (body.length > 2 && r() < 0.7) body[1] = [68, 69, 70][int(3)]!;
      parts.push(r() < 0.1 ? Buffer.alloc(4) : frame(body));
    }
    raw.write(Buffer.concat(parts));
    raw.end();
    const reason = await closed;
    assert.ok(reason instanceof DistError, `round ${round}: ${reason}`);
    conn.close();
    raw.destroy();
  }
});
