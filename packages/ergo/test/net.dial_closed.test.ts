// A dial whose peer closes the socket mid-handshake — what a Go Ergo peer does when one of its own
// 1 s handshake steps ran out because this side answered late on a starved host — is dialled
// again a bounded number of times instead of failing the calls waiting on it with
// ERR_NO_CONNECTION; a peer that closes every time (a wrong cookie does that too) still fails the
// dial. A TCP relay in front of the peer (dist_fixture.ts, a child OS process) closes the first
// connections after their first bytes, as such a peer would.

import { strict as assert } from 'node:assert';
import net from 'node:net';
import { test } from 'node:test';
import { LogLevel, ProcessID, type Atom } from '../src/index.js';
import { LogCapture, nodeName, quietNode, within } from './helpers.js';
import { routeTo } from './net_helpers.js';
import { DIST_COOKIE, startChild } from './dist_helpers.js';

/** A relay to `port` that closes its first `closing` connections once their first bytes came. */
async function closingRelay(
  port: number,
  closing: number,
): Promise<{ port: number; seen: () => number; close: () => void }> {
  let seen = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    sockets.add(inbound);
    inbound.on('error', () => {});
    inbound.on('close', () => sockets.delete(inbound));
    if (++seen <= closing) {
      inbound.once('data', () => inbound.destroy());
      return;
    }
    const out = net.connect(port, '127.0.0.1');
    sockets.add(out);
    out.on('error', () => inbound.destroy());
    out.on('close', () => sockets.delete(out));
    inbound.pipe(out).pipe(inbound);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen: () => seen,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

async function dialler(peer: string, port: number) {
  return quietNode(
    {
      log: { level: LogLevel.Debug },
      network: {
        cookie: DIST_COOKIE,
        acceptors: [{ port: 0 }],
        registrar: null,
        dialTimeout: 30_000,
        routes: [{ match: peer.replace(/[.$]/g, '\\$&'), route: routeTo(port) }],
      },
    },
    new LogCapture(),
    nodeName('dialer'),
  );
}

test('a dial whose peer closed the handshake is dialled again and the waiting call is answered', async (t) => {
  const child = await startChild(nodeName('closing'));
  t.after(() => child.kill());
  const relay = await closingRelay(child.port, 2);
  t.after(() => relay.close());
  const a = await dialler(child.name, relay.port);
  t.after(() => a.stop().catch(() => undefined));

  const answer = await within(
    a.call(new ProcessID('echo' as Atom, child.name as Atom), 'ping', { timeout: 60_000 }),
    'the call answered',
    60_000,
  );
  assert.equal(answer, 'pong');
  assert.equal(relay.seen(), 3, 'two closed handshakes, then the one that connected');
});

test('a peer that closes every handshake fails the dial after a bounded number of tries', async (t) => {
  const child = await startChild(nodeName('closer'));
  t.after(() => child.kill());
  const relay = await closingRelay(child.port, Number.MAX_SAFE_INTEGER);
  t.after(() => relay.close());
  const a = await dialler(child.name, relay.port);
  t.after(() => a.stop().catch(() => undefined));

  await assert.rejects(
    within(a.call(new ProcessID('echo' as Atom, child.name as Atom), 'ping', { timeout: 60_000 }), 'the call', 60_000),
    { code: 'ERR_NO_CONNECTION' },
  );
  assert.equal(relay.seen(), 3);
});
