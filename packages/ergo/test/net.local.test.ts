// The network stack between two nodes in one OS process over loopback TCP: connect on demand,
// send/call by PID, name and alias, important delivery, exits, links and monitors across, node
// down, max message size, wrong cookie, static routes and the RemoteNode/Network API.

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { eventually } from '@ergo-ts/test-support';
import {
  Actor,
  ErrNoConnection,
  ErrNoRoute,
  ErrProcessUnknown,
  ErrTooLarge,
  ProcessID,
  type Node,
  type PID,
} from '../src/index.js';
import { NetworkFlags } from '../src/net/index.js';
import { netPair } from './net_helpers.js';

const COOKIE = 'local-secret';

class Echo extends Actor {
  override handleMessage(from: PID, message: unknown): void {
    this.send(from, message);
  }
  override handleCall(_from: PID, _ref: unknown, request: unknown): unknown {
    if (request === 'whoami') return this.pid;
    return request;
  }
}

function pair(t: { after(fn: () => Promise<void>): void }, extraA = {}, extraB = {}): Promise<{ a: Node; b: Node }> {
  return netPair(t, { cookie: COOKIE, ...extraA }, { cookie: COOKIE, ...extraB });
}

test('send and call across two nodes, connecting on demand', async (t) => {
  const { a, b } = await pair(t);
  const echo = await b.spawnRegister('echo', () => new Echo());
  assert.deepEqual(a.network().nodes(), []);
  // A call by name connects; the reply crosses back.
  assert.equal(await a.call(new ProcessID('echo' as never, b.name), 'hello'), 'hello');
  assert.deepEqual(a.network().nodes(), [b.name]);
  assert.deepEqual(b.network().nodes(), [a.name]);
  assert.equal(a.info().connections, 1);
  const pid = (await a.call(new ProcessID('echo' as never, b.name), 'whoami')) as PID;
  assert.ok(pid.equals(echo));
  // Between ergo-ts nodes a plain object crosses as itself (the JS-value extension; a Go peer
  // would get a map[string]any).
  assert.deepEqual(await a.call(echo, { x: [1, 2, 3], y: 'z' }), { x: [1, 2, 3], y: 'z' });
  const info = a.network().node(b.name).info();
  // Two ergo-ts nodes: one link until the traffic pays for more (net.pool_growth.test.ts).
  assert.equal(info.poolSize, 1);
  assert.ok(info.messagesOut >= 3 && info.messagesIn >= 3);
  // Unknown process: the call fails with the remote error at once.
  await assert.rejects(a.call(new ProcessID('nobody' as never, b.name), 1), (e: Error) => ErrProcessUnknown.is(e));
});

test('a node without a route fails the call with ErrNoRoute / ErrNoConnection', async (t) => {
  const { a } = await pair(t);
  await assert.rejects(
    a.call(new ProcessID('x' as never, 'ghost@localhost' as never), 1),
    (e: Error) => ErrNoConnection.is(e) || ErrNoRoute.is(e),
  );
  await assert.rejects(a.network().getNode('ghost@localhost'), (e: Error) => ErrNoRoute.is(e));
});

test('the peer limit refuses a large message with ErrTooLarge', async (t) => {
  const { a, b } = await pair(t, {}, { maxMessageSize: 4096 });
  await b.spawnRegister('echo', () => new Echo());
  await a.network().getNode(b.name);
  assert.equal(await a.call(new ProcessID('echo' as never, b.name), 'small'), 'small');
  await assert.rejects(a.call(new ProcessID('echo' as never, b.name), 'x'.repeat(10000)), (e: Error) =>
    ErrTooLarge.is(e),
  );
});

test('a call queued while dialling that the connection then refuses fails at once with the reason', async (t) => {
  const { a, b } = await pair(t, {}, { maxMessageSize: 4096 });
  await b.spawnRegister('echo', () => new Echo());
  // Nothing is connected yet: the call waits in the dial queue, and its replay on the real
  // connection meets the peer's limit. It must fail with ErrTooLarge, not wait for its timeout.
  assert.deepEqual(a.network().nodes(), []);
  await assert.rejects(
    a.call(new ProcessID('echo' as never, b.name), 'x'.repeat(10000), { timeout: 20_000 }),
    (e: Error) => ErrTooLarge.is(e),
  );
  assert.equal(await a.call(new ProcessID('echo' as never, b.name), 'small'), 'small');
});

test('network info reports each static route, highest weight first', async (t) => {
  const { a } = await pair(t);
  a.network().addRoute(
    '^db@',
    {
      route: {
        host: 'db.local',
        port: 15000,
        tls: true,
        handshakeVersion: { name: '', release: '' },
        protoVersion: { name: '', release: '' },
      },
      cookie: 'x',
    },
    10,
  );
  a.network().addRoute(
    '^web@',
    {
      route: {
        host: 'web.local',
        port: 15001,
        tls: false,
        handshakeVersion: { name: '', release: '' },
        protoVersion: { name: '', release: '' },
      },
      flags: { enable: true } as never,
    },
    20,
  );
  // netPair's own route to b is listed too: keep the two added here.
  assert.deepEqual(
    a
      .network()
      .info()
      .routes.filter((r) => r.match.startsWith('^')),
    [
      {
        match: '^web@',
        weight: 20,
        useResolver: false,
        useCookie: false,
        useCertManager: false,
        flagsEnable: true,
        host: 'web.local',
        port: 15001,
        tls: false,
      },
      {
        match: '^db@',
        weight: 10,
        useResolver: false,
        useCookie: true,
        useCertManager: false,
        flagsEnable: false,
        host: 'db.local',
        port: 15000,
        tls: true,
      },
    ],
  );
});

test('a lost pool link is re-dialled by the side that dialled', async (t) => {
  // Without the link frames: the whole pool at once.
  const { a, b } = await pair(t, { flags: Object.assign(NetworkFlags.defaults(), { ergoFrames: false }) });
  await b.spawnRegister('echo', () => new Echo());
  const remote = await a.network().getNode(b.name);
  assert.equal(remote.info().poolSize, 3);
  // Break one link from the dialling side's sockets: the connection lives on and refills its pool.
  const conn = (
    a.network() as unknown as { connections: Map<string, { links: { socket: { destroy(): void } }[] }> }
  ).connections.get(b.name)!;
  conn.links[1]!.socket.destroy();
  assert.equal(await a.call(new ProcessID('echo' as never, b.name), 'still here'), 'still here');
  // A loaded machine may take seconds to re-dial and handshake.
  await eventually(() => remote.info().poolSize >= 3, 'the pool link re-dialled', { intervalMs: 10 });
  assert.equal(remote.info().poolSize, 3);
  assert.deepEqual(a.network().nodes(), [b.name]);
});

test('network info lists what remote nodes may spawn and start here', async (t) => {
  const { a, b } = await pair(t);
  const net = a.network();
  assert.deepEqual(net.info().enabledSpawn, []);
  net.enableSpawn('echo', Echo);
  net.enableSpawn('echo2', Echo, b.name);
  net.enableApplicationStart('shop', b.name);
  const info = net.info();
  assert.deepEqual(info.enabledSpawn, [
    { name: 'echo', behavior: 'Echo', nodes: [] },
    { name: 'echo2', behavior: 'Echo', nodes: [b.name] },
  ]);
  assert.deepEqual(info.enabledApplicationStart, [{ name: 'shop', nodes: [b.name] }]);
  net.disableApplicationStart('shop', b.name);
  assert.deepEqual(net.info().enabledApplicationStart, [{ name: 'shop', nodes: [] }]);
});
