// The first proof of wire compatibility: the EHS:R1 handshake (and a first ENP exchange) against
// a real Go Ergo 3.2 node (ergo-peer) over loopback TCP, both directions. ergo-ts dials Go with
// the right cookie and is accepted (then calls Go's `calc` by name and gets its answer), and with
// a wrong cookie is refused; Go dials an ergo-ts listener through a static route, completes the
// handshake (then sends us a message), and with a wrong cookie is refused by us.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { NetworkFlags } from '../src/net/index.js';
import { tlsFingerprint } from '../src/net/handshake/digest.js';
import {
  acceptHandshake,
  startHandshake,
  type HandshakeOptions,
  type HandshakeResult,
} from '../src/net/handshake/handshake.js';
import { EnpDecoder } from '../src/net/proto/decoder.js';
import { EnpEncoder } from '../src/net/proto/encoder.js';
import { PacketType, type EnpPacket } from '../src/net/proto/packet.js';
import { EnpFrameReader } from '../src/net/proto/stream.js';
import { Peer, requirePeer } from '@ergo-ts/test-support';
import { selfSigned } from '../src/net/tls/selfsigned.js';

const COOKIE = 'wire-secret';
const creation = Math.floor(Date.now() / 1000);
const ts: HandshakeOptions = {
  node: 'ts1@localhost',
  cookie: COOKIE,
  creation,
  flags: NetworkFlags.defaults(),
  poolSize: 1,
};

/** Reads ENP packets from a socket after the handshake, decoding with the peer's caches. */
function enpReader(socket: net.Socket, hs: HandshakeResult): AsyncGenerator<EnpPacket> {
  const reader = new EnpFrameReader();
  const dec = new EnpDecoder({ atomCache: hs.peerAtomCache, typeCache: hs.peerRegCache, errorCache: hs.peerErrCache });
  const queue: EnpPacket[] = [];
  let wake: (() => void) | undefined;
  const onChunk = (chunk: Uint8Array): void => {
    reader.push(chunk);
    while (reader.next()) {
      try {
        queue.push(dec.decode(reader.bytes, reader.start, reader.end));
      } catch {
        // a packet we cannot decode is dropped, as Ergo does
      }
    }
    wake?.();
  };
  if (hs.tail.length > 0) onChunk(hs.tail);
  socket.on('data', onChunk);
  socket.resume();
  return (async function* () {
    for (;;) {
      while (queue.length > 0) yield queue.splice(0, 1)[0]!;
      await new Promise<void>((r) => (wake = r));
    }
  })();
}

async function next(it: AsyncGenerator<EnpPacket>, what: (p: EnpPacket) => boolean): Promise<EnpPacket> {
  for (;;) {
    const r = await it.next();
    assert.ok(!r.done);
    if (what(r.value)) return r.value;
  }
}

test('ergo-ts dials Go Ergo: accepted with the right cookie, then calls calc by name', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const go = await Peer.start(bin, ['-name', 'go1@localhost', '-registrar', 'none', '-cookie', COOKIE]);
  try {
    const port = go.ready.port as number;
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const hs = await startHandshake(socket, ts, 'go1@localhost');
    assert.equal(hs.peer, 'go1@localhost');
    assert.equal(hs.peerCreation, go.ready.creation);
    assert.equal(hs.poolSize, 3, "Go's default pool");
    assert.equal(hs.poolDSN.length, 1);
    assert.equal(hs.peerFlags.enableImportantDelivery, true);
    assert.equal(hs.peerErrCache.size, 15);
    assert.ok(hs.peerRegCache.size > 100);

    // A first ENP exchange on this single link: call calc by name, Go answers with a response.
    const packets = enpReader(socket, hs);
    const enc = new EnpEncoder({ peerMaxMessageSize: hs.peerMaxMessageSize });
    const deadline = Math.floor(Date.now() / 1000) + 5;
    enc.callProcessID(
      1001,
      'calc',
      [7, 8, deadline],
      { priority: 0, important: false, messageID: 0, keepNetworkOrder: true },
      'ping',
    );
    socket.write(enc.flush()!);
    const resp = await next(packets, (p) => p.type === PacketType.Response || p.type === PacketType.ResponseError);
    assert.equal(resp.type, PacketType.Response);
    assert.equal(resp.toID, 1001);
    assert.deepEqual(resp.id, [7, 8, deadline]);
    assert.equal(resp.payload, 'pong');
    const info = await go.cmd('info');
    const nodes = (info.value as { nodes: { node: string }[] }).nodes;
    assert.ok(
      nodes.some((n) => n.node === 'ts1@localhost'),
      'Go lists the connection',
    );
    socket.destroy();
  } finally {
    await go.stop();
  }
});

test('ENP on a live link to Go: important delivery acks, compressed calls both ways in gzip, zlib and lzw', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const go = await Peer.start(bin, ['-name', 'go1@localhost', '-registrar', 'none', '-cookie', COOKIE]);
  try {
    const socket = net.connect(go.ready.port as number, '127.0.0.1');
    await once(socket, 'connect');
    const hs = await startHandshake(socket, ts, 'go1@localhost');
    const packets = enpReader(socket, hs);
    const enc = new EnpEncoder({ peerMaxMessageSize: hs.peerMaxMessageSize });
    const echo = (go.ready.processes as { echo: { v: { id: number } } }).echo.v.id;
    const base = { priority: 0, important: false, messageID: 0, keepNetworkOrder: true };

    // Important send to echo: Go acks with code 0 and ref [messageID, 0, 0]; to an unknown PID: code 1.
    enc.sendPID(1001, echo, { ...base, important: true, messageID: 4242 }, 'important hello');
    enc.sendPID(1001, 999999, { ...base, important: true, messageID: 4343 }, 'lost');
    socket.write(enc.flush()!);
    const acks = [
      await next(packets, (p) => p.type === PacketType.ResponseError),
      await next(packets, (p) => p.type === PacketType.ResponseError),
    ].sort((x, y) => Number(x.id[0]) - Number(y.id[0]));
    assert.deepEqual(
      acks.map((a) => [a.id[0], a.code]),
      [
        [4242, 0],
        [4343, 1],
      ],
    );
    assert.equal(acks[0]!.fromID, echo);

    // Compressed requests in every algorithm: Go inflates them and calc upper-cases the string.
    const text = 'compress me '.repeat(200);
    const deadline = Math.floor(Date.now() / 1000) + 5;
    for (const [i, type] of (['gzip', 'zlib', 'lzw'] as const).entries()) {
      enc.callProcessID(
        1001,
        'calc',
        [100 + i, 0, deadline],
        { ...base, compression: { enable: true, type, level: 2, threshold: 1024 } },
        text,
      );
      const out = enc.flush()!;
      assert.equal(out[7], PacketType.Compressed);
      socket.write(out);
      const resp = await next(packets, (p) => p.type === PacketType.Response && p.id[0] === 100 + i);
      assert.equal(resp.payload, text.toUpperCase(), type);
    }

    // Go compresses what it sends us: echo replies to our sends with ctl's settings... set them on
    // ctl and let ctl send to our PID; each algorithm arrives compressed and inflates to the message.
    for (const type of ['gzip', 'zlib', 'lzw']) {
      const c = await go.cmd('compression', { enable: true, type, threshold: 1024 });
      assert.equal(c.kind, 'result', JSON.stringify(c));
      const sent = await go.cmd('send', {
        to: { node: 'ts1@localhost', id: 1001, creation },
        msg: `${type} `.repeat(600),
      });
      assert.equal(sent.kind, 'result', JSON.stringify(sent));
      const p = await next(packets, (x) => x.type === PacketType.SendPID && x.toID === 1001);
      assert.equal(p.compressed, type === 'gzip' ? 102 : type === 'zlib' ? 101 : 100, type);
      assert.equal(p.payload, `${type} `.repeat(600));
    }
    socket.destroy();
  } finally {
    await go.stop();
  }
});

test('ergo-ts dials a Go Ergo TLS acceptor: the cookie digest is bound to Go’s certificate', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const go = await Peer.start(bin, ['-name', 'go1@localhost', '-registrar', 'none', '-cookie', COOKIE, '-tls']);
  try {
    assert.equal(go.ready.tls, true);
    const connect = (): Promise<tls.TLSSocket> =>
      new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: go.ready.port as number, rejectUnauthorized: false }, () =>
          resolve(s),
        );
        s.once('error', reject);
      });
    const socket = await connect();
    const fp = Buffer.from(tlsFingerprint(socket.getPeerX509Certificate()!.raw)).toString('hex');
    assert.equal(fp, go.ready.cert_sha1, 'the fingerprint the handshake binds');
    const hs = await startHandshake(socket, ts, 'go1@localhost');
    assert.equal(hs.peer, 'go1@localhost');
    socket.destroy();
  } finally {
    await go.stop();
  }
});

test('Go Ergo dials an ergo-ts TLS acceptor: Go checks our certificate binding and connects', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const cert = selfSigned();
  let resolve!: (s: tls.TLSSocket) => void;
  const accepted = new Promise<tls.TLSSocket>((r) => (resolve = r));
  // The handshake hands the socket back without its error listener: the test owns it then, and
  // a reset when the Go peer stops is expected (without a listener it would be an uncaught error).
  const server = tls.createServer({ cert: cert.cert, key: cert.key }, (s) => resolve(s.on('error', () => {})));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const go = await Peer.start(bin, [
    '-name',
    'go4@localhost',
    '-registrar',
    'none',
    '-cookie',
    COOKIE,
    '-route',
    `ts1@localhost=127.0.0.1:${port},tls`,
  ]);
  try {
    const connecting = go.cmd('connect', { node: 'ts1@localhost' });
    const socket = await accepted;
    const hs = await acceptHandshake(socket, ts);
    assert.equal(hs.peer, 'go4@localhost');
    const r = await connecting;
    assert.equal(r.kind, 'result', JSON.stringify(r));
    assert.equal((r.value as { node: string }).node, 'ts1@localhost');
    socket.destroy();
  } finally {
    await go.stop();
    server.close();
  }
});

test('ergo-ts dials Go Ergo with a wrong cookie: Go closes without a reply', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const go = await Peer.start(bin, ['-name', 'go1@localhost', '-registrar', 'none', '-cookie', COOKIE]);
  try {
    const socket = net.connect(go.ready.port as number, '127.0.0.1');
    await once(socket, 'connect');
    await assert.rejects(startHandshake(socket, { ...ts, cookie: 'wrong', timeout: 5000 }, 'go1@localhost'), {
      code: 'ERR_HANDSHAKE_CLOSED',
    });
  } finally {
    await go.stop();
  }
});

async function listener(): Promise<{ server: net.Server; port: number; socket: Promise<net.Socket> }> {
  let resolve!: (s: net.Socket) => void;
  const socket = new Promise<net.Socket>((r) => (resolve = r));
  // The handshake hands the socket back without its error listener: the test owns it then, and
  // a reset when the Go peer stops is expected (without a listener it would be an uncaught error).
  const server = net.createServer((s) => resolve(s.on('error', () => {})));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as net.AddressInfo).port, socket };
}

test('Go Ergo dials an ergo-ts acceptor through a static route: handshake completes, then a message arrives', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const l = await listener();
  const go = await Peer.start(bin, [
    '-name',
    'go2@localhost',
    '-registrar',
    'none',
    '-cookie',
    COOKIE,
    '-route',
    `ts1@localhost=127.0.0.1:${l.port}`,
  ]);
  try {
    const connecting = go.cmd('connect', { node: 'ts1@localhost' });
    const hs = await acceptHandshake(await l.socket, ts);
    assert.equal(hs.join, false);
    assert.equal(hs.peer, 'go2@localhost');
    assert.equal(hs.peerCreation, go.ready.creation);
    const connected = await connecting;
    assert.equal(connected.kind, 'result', JSON.stringify(connected));
    const info = connected.value as { node: string; creation: number; pool_size: number };
    assert.equal(info.node, 'ts1@localhost');
    assert.equal(info.creation, creation);
    assert.equal(info.pool_size, 1);

    const packets = enpReader(await l.socket, hs);
    const sent = await go.cmd('send', { to: { name: 'inbox', node: 'ts1@localhost' }, msg: { $: 'int32', v: -5 } });
    assert.equal(sent.kind, 'result', JSON.stringify(sent));
    const p = await next(packets, (x) => x.type === PacketType.SendName || x.type === PacketType.SendNameCached);
    assert.equal(p.name, 'inbox');
    assert.equal(p.payload, -5);
    assert.equal(p.fromID, (go.ready.processes as { ctl: { v: { id: number } } }).ctl.v.id);
  } finally {
    await go.stop();
    l.server.close();
  }
});

test('Go Ergo joins the pool an ergo-ts acceptor offers: two Join links with the connection id', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const sockets: net.Socket[] = [];
  const results: Promise<HandshakeResult>[] = [];
  let third!: () => void;
  const three = new Promise<void>((r) => (third = r));
  const server = net.createServer((s) => {
    s.on('error', () => {}); // ours after the handshake; a reset when Go stops is expected
    sockets.push(s);
    results.push(acceptHandshake(s, { ...ts, poolSize: 3 }));
    if (results.length === 3) third();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const go = await Peer.start(bin, [
    '-name',
    'go6@localhost',
    '-registrar',
    'none',
    '-cookie',
    COOKIE,
    '-route',
    `ts1@localhost=127.0.0.1:${port}`,
  ]);
  try {
    const r = await go.cmd('connect', { node: 'ts1@localhost' });
    assert.equal(r.kind, 'result', JSON.stringify(r));
    await three;
    const [full, j1, j2] = await Promise.all(results);
    assert.equal(full!.join, false);
    for (const j of [j1!, j2!]) {
      assert.equal(j.join, true);
      assert.equal(j.peer, 'go6@localhost');
      assert.equal(j.connectionID, full!.connectionID);
    }
  } finally {
    await go.stop();
    for (const s of sockets) s.destroy();
    server.close();
  }
});

test('Go Ergo dials an ergo-ts acceptor with a wrong cookie: refused by us, Go reports the failure', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const l = await listener();
  const go = await Peer.start(bin, [
    '-name',
    'go3@localhost',
    '-registrar',
    'none',
    '-cookie',
    'not-ours',
    '-route',
    `ts1@localhost=127.0.0.1:${l.port}`,
  ]);
  try {
    const connecting = go.cmd('connect', { node: 'ts1@localhost' });
    await assert.rejects(acceptHandshake(await l.socket, ts), { code: 'ERR_HANDSHAKE_DIGEST' });
    const r = await connecting;
    assert.equal(r.kind, 'error', JSON.stringify(r));
  } finally {
    await go.stop();
    l.server.close();
  }
});
