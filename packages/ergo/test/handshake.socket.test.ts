// EHS:R1 between two ergo-ts ends over real loopback TCP: the full handshake establishes both
// sides' view of the connection, a Join attaches a pool link, bytes sent right after the
// handshake reach ENP as the tail, and every failure (wrong cookie, same name, wrong peer, a
// silent peer) is refused with its code and a closed socket.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import net from 'node:net';
import { ErrTimeout } from '../src/gen/errors.js';
import { NetworkFlags } from '../src/net/index.js';
import {
  acceptHandshake,
  joinHandshake,
  startHandshake,
  type HandshakeOptions,
} from '../src/net/handshake/handshake.js';

interface Pair {
  client: net.Socket;
  server: Promise<net.Socket>;
  close(): void;
}

async function pair(): Promise<Pair> {
  let resolve!: (s: net.Socket) => void;
  const server = new Promise<net.Socket>((r) => (resolve = r));
  const srv = net.createServer((s) => resolve(s));
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as net.AddressInfo;
  const client = net.connect(port, '127.0.0.1');
  await once(client, 'connect');
  return {
    client,
    server,
    close: () => {
      client.destroy();
      void server.then((s) => s.destroy());
      srv.close();
    },
  };
}

// Both ends run in this thread: each read waits for the other end's turn of the event loop, which
// a loaded machine can hold back for longer than Ergo's 1 s. Timeouts are the subject of their
// own tests only; the others give each read 10 s.
const a: HandshakeOptions = {
  node: 'a@localhost',
  cookie: 'secret',
  creation: 1700000000,
  flags: NetworkFlags.defaults(),
  timeout: 10_000,
};
const b: HandshakeOptions = {
  node: 'b@localhost',
  cookie: 'secret',
  creation: 1700000001,
  maxMessageSize: 1 << 20,
  poolSize: 2,
  timeout: 10_000,
};

test('full handshake: both sides learn the other; the acceptor offers its pool and its address', async () => {
  const p = await pair();
  try {
    const [ini, acc] = await Promise.all([
      startHandshake(p.client, a, 'b@localhost'),
      p.server.then((s) => acceptHandshake(s, b)),
    ]);
    assert.equal(ini.join, false);
    assert.equal(ini.peer, 'b@localhost');
    assert.equal(ini.peerCreation, 1700000001);
    assert.equal(ini.peerMaxMessageSize, 1 << 20);
    assert.equal(ini.poolSize, 2);
    assert.deepEqual(ini.poolDSN, [`127.0.0.1:${p.client.remotePort}`]);
    assert.equal(acc.peer, 'a@localhost');
    assert.equal(acc.peerFlags.mask(), 0x67);
    assert.equal(acc.connectionID, ini.connectionID);
    assert.match(ini.connectionID, /^[0-9a-f]{32}$/);
    assert.equal(ini.peerAtomCache.size + ini.peerRegCache.size + ini.peerErrCache.size, 0);
  } finally {
    p.close();
  }
});

test('a Join attaches a link with the connection id; bytes right after the handshake are the tail', async () => {
  const p = await pair();
  try {
    const server = await p.server;
    const accepted = acceptHandshake(server, b);
    const joined = joinHandshake(p.client, a, '0123456789abcdef0123456789abcdef', 'b@localhost');
    const acc = await accepted;
    assert.equal(acc.join, true);
    assert.equal(acc.peer, 'a@localhost');
    assert.equal(acc.connectionID, '0123456789abcdef0123456789abcdef');
    const ini = await joined;
    assert.equal(ini.join, true);
    // ENP starts now: what the acceptor writes arrives at the initiator (paused socket, nothing lost).
    server.write(Uint8Array.of(0x4e, 1, 0, 0, 0, 9));
    p.client.resume();
    const [chunk] = (await once(p.client, 'data')) as [Buffer];
    assert.deepEqual([...ini.tail, ...chunk], [0x4e, 1, 0, 0, 0, 9]);
  } finally {
    p.close();
  }
});

async function refused(ini: HandshakeOptions, acc: HandshakeOptions, expected?: string): Promise<[unknown, unknown]> {
  const p = await pair();
  try {
    const results = await Promise.allSettled([
      startHandshake(p.client, ini, expected),
      p.server.then((s) => acceptHandshake(s, acc)),
    ]);
    return results.map((r) => (r.status === 'rejected' ? r.reason : r.value)) as [unknown, unknown];
  } finally {
    p.close();
  }
}

test('wrong cookie: the acceptor refuses the Hello and closes without a reply; the initiator sees the close', async () => {
  const [ini, acc] = await refused(a, { ...b, cookie: 'other' });
  assert.equal((acc as { code: string }).code, 'ERR_HANDSHAKE_DIGEST');
  assert.equal((ini as { code: string }).code, 'ERR_HANDSHAKE_CLOSED');
});

test('a peer with our own name, or not the node we dialed, is refused', async () => {
  const [, acc] = await refused({ ...a, node: 'b@localhost' }, b);
  assert.equal((acc as { code: string }).code, 'ERR_HANDSHAKE_NAME');
  const [ini2] = await refused(a, b, 'c@localhost');
  assert.equal((ini2 as { code: string }).code, 'ERR_HANDSHAKE_NAME');
});

test('a silent peer times out with ERR_HANDSHAKE_TIMEOUT and the socket is destroyed', async () => {
  const p = await pair();
  try {
    const err = await startHandshake(p.client, { ...a, timeout: 50 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal((err as { code: string }).code, 'ERR_HANDSHAKE_TIMEOUT');
    assert.ok(!ErrTimeout.is(err));
    assert.equal(p.client.destroyed, true);
  } finally {
    p.close();
  }
});

test('a stalled event loop is no timeout: a message that arrived during the stall is read first', async () => {
  // On a loaded machine the loop can stall past a read's deadline while the peer's message
  // already waits in the socket; timers run before sockets are read, so the timeout must give
  // the poll phase its turn. Here the stall is made on purpose, longer than the acceptor's timeout.
  // That timeout applies to the acceptor's later reads too, which wait for the initiator's turn
  // in this same thread: 1 s (Ergo's), not less, so that load alone does not expire them.
  const p = await pair();
  try {
    const server = await p.server;
    const accepted = acceptHandshake(server, { ...b, timeout: 1000 });
    const started = startHandshake(p.client, a, 'b@localhost'); // writes its Hello now
    // The stall: the thread blocks (without spinning a core) for twice the acceptor's timeout.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
    const [acc, ini] = await Promise.all([accepted, started]);
    assert.equal(acc.peer, 'a@localhost');
    assert.equal(ini.peer, 'b@localhost');
  } finally {
    p.close();
  }
});

test('bad options are refused before anything is sent', async () => {
  const p = await pair();
  try {
    await assert.rejects(startHandshake(p.client, { ...a, node: 'nohost' }), { code: 'ERR_HANDSHAKE_NAME' });
    await assert.rejects(acceptHandshake(p.client, { ...a, timeout: -1 }), { code: 'ERR_HANDSHAKE_TIMEOUT' });
  } finally {
    p.close();
  }
});
