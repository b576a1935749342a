// Issue 34 item 5: every Promise @ergo-ts/erlang returns is safe to leave un-awaited. Each failure
// — EPMD gone, an EPMD port in use, a peer EPMD does not know, a handshake on a socket that
// closes, attachErlang without a cookie, connect to a node that is not there — is provoked once
// with the Promise ignored (the strict runner fails the run on an unhandled rejection, and the
// `after` hook names any it saw) and once awaited, where it still rejects with its code.

import { strict as assert } from 'node:assert';
import net from 'node:net';
import { after, before, test } from 'node:test';

import { UnhandledWatch, ignoredThenAwaited } from '@ergo-ts/test-support';

import { startNode, type Node } from 'ergo-ts';

import {
  EpmdClient,
  EpmdServer,
  acceptHandshake,
  attachErlang,
  connectNode,
  initiateHandshake,
  type ErlangNode,
} from '../src/index.js';

const watch = new UnhandledWatch('@ergo-ts/erlang');

before(() => {
  watch.start();
});

after(() => {
  watch.stop();
});

/** A port nothing listens on any more (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** One end of a loopback TCP pair whose other end is closed at once: a handshake that cannot run. */
async function deadSocket(): Promise<net.Socket> {
  const server = net.createServer((peer) => peer.destroy());
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  server.close();
  return socket;
}

const HS = { name: 'ts@127.0.0.1', cookie: 'c', creation: 1 };

test('EPMD client requests while EPMD is gone: ERR_EPMD_CONNECT', async () => {
  const epmd = new EpmdClient({ host: '127.0.0.1', port: await closedPort() });
  await ignoredThenAwaited(() => epmd.names(), 'ERR_EPMD_CONNECT');
  await ignoredThenAwaited(() => epmd.portPlease('x'), 'ERR_EPMD_CONNECT');
  await ignoredThenAwaited(() => epmd.resolve('x@127.0.0.1'), 'ERR_EPMD_CONNECT');
  await ignoredThenAwaited(() => epmd.register({ name: 'x', port: 1 }), 'ERR_EPMD_CONNECT');
  await ignoredThenAwaited(() => epmd.register({ name: 'x', port: 0 }), 'ERR_EPMD_INCORRECT');
  await ignoredThenAwaited(() => connectNode('x@127.0.0.1', { ...HS, epmd }), 'ERR_EPMD_CONNECT');
});

test('EpmdServer.start on a port in use: ERR_EPMD_CONNECT', async () => {
  const first = await EpmdServer.start({ host: '127.0.0.1', port: 0 });
  try {
    await ignoredThenAwaited(() => EpmdServer.start({ host: '127.0.0.1', port: first.port }), 'ERR_EPMD_CONNECT');
  } finally {
    await first.close();
  }
});

test('handshakes on a socket the peer closed: ERR_HANDSHAKE_CLOSED', async () => {
  const a = await deadSocket();
  const b = await deadSocket();
  void initiateHandshake(a, HS);
  await assert.rejects(initiateHandshake(b, HS), { code: 'ERR_HANDSHAKE_CLOSED' });
  const c = await deadSocket();
  const d = await deadSocket();
  void acceptHandshake(c, HS);
  await assert.rejects(acceptHandshake(d, HS), { code: 'ERR_HANDSHAKE_CLOSED' });
});

test('attachErlang without a cookie, and connect to a node EPMD does not know', async () => {
  const epmd = await EpmdServer.start({ host: '127.0.0.1', port: 0 });
  let node: Node | undefined;
  let erlang: ErlangNode | undefined;
  try {
    node = await startNode(`ts_unawaited${process.pid}@127.0.0.1`, { log: { level: 'warning' } });
    const n = node;
    await ignoredThenAwaited(() => attachErlang(n, { cookie: '' }), 'ERR_INCORRECT');
    erlang = await attachErlang(n, { cookie: 'c', host: '127.0.0.1', epmd: { port: epmd.port }, epmdServer: false });
    const e = erlang;
    await ignoredThenAwaited(() => e.connect('gone@127.0.0.1'), 'ERR_NO_CONNECTION');
  } finally {
    await erlang?.stop();
    await node?.stop();
    await epmd.close();
  }
});
