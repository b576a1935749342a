// A static route to something that is not an Ergo node (runtime/unreached.ts): the call fails with
// ERR_ENTITY_UNAVAILABLE whose message and cause (ERR_ENTITY_NODE_UNREACHABLE, with a `reason`)
// say what happened at the route's address — not "no answer from the owner node … paused,
// overloaded", which sent an operator to a healthy cluster. Real sockets on 127.0.0.1: an HTTP
// server, a listener that takes the connection and never answers, and a closed port. A client-only
// node routes to its one member through that static route.

import { strict as assert } from 'node:assert';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';

import { startNode, type Node } from 'ergo-ts';

import { MemoryStore, defineWorkflow, startEntities, type Entities } from '../src/index.js';

const Noop = defineWorkflow('unreached', async () => 1);
const MEMBER = `unreached-member-${process.pid}@localhost`;

/** A listener on a free port of 127.0.0.1 whose connections `accept` handles; closed after the test. */
async function listener(t: { after(fn: () => Promise<void>): void }, server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return (server.address() as net.AddressInfo).port;
}

/** A client-only node whose one member is routed to `port`; stopped after the test. */
async function clientTo(t: { after(fn: () => Promise<void>): void }, port: number): Promise<Entities> {
  const node: Node = await startNode(`unreached-client-${process.pid}-${port}@localhost`, {
    network: {
      cookie: 'ours',
      registrar: null,
      acceptors: [],
      routes: [{ match: MEMBER.replace(/\./g, '\\.'), route: { route: { host: '127.0.0.1', port, tls: false } } }],
    },
    log: { level: 'error' },
  });
  const entities = await startEntities(node, {
    store: new MemoryStore(),
    kinds: [Noop],
    role: 'client',
    members: [MEMBER],
  });
  t.after(async () => {
    await entities.stop();
    await node.stop();
  });
  return entities;
}

/** Starts a workflow through `entities` and checks how it fails: never "paused, overloaded". */
async function failsSaying(entities: Entities, reason: string, says: RegExp, port: number): Promise<void> {
  const err = await entities.workflows.start(Noop, 'one', undefined, { timeout: 1500 }).then(
    () => assert.fail('the start succeeded'),
    (e: unknown) => e as Error & { cause?: Error & { reason?: string; node?: string; address?: string } },
  );
  assert.equal((err as { code?: string }).code, 'ERR_ENTITY_UNAVAILABLE', err.message);
  assert.doesNotMatch(err.message, /paused, overloaded/);
  assert.match(err.message, says);
  const cause = err.cause;
  assert.equal((cause as { code?: string } | undefined)?.code, 'ERR_ENTITY_NODE_UNREACHABLE', err.message);
  assert.equal(cause?.reason, reason);
  assert.equal(cause?.node, MEMBER);
  assert.equal(cause?.address, `127.0.0.1:${port}`);
}

test('a static route to an HTTP server: not an Ergo node, said with its address', async (t) => {
  const port = await listener(
    t,
    http.createServer((_req, res) => res.end('hello')),
  );
  await failsSaying(
    await clientTo(t, port),
    'not-ergo',
    /is not an Ergo node \(its handshake: bad handshake magic/,
    port,
  );
});

test('a static route to a listener that never answers: no handshake, not "no answer from the owner"', async (t) => {
  const port = await listener(t, net.createServer());
  await failsSaying(
    await clientTo(t, port),
    'no-handshake',
    /took the connection and did not complete it \(not an Ergo node/,
    port,
  );
});

test('a static route to a closed port: connection refused, nothing listens there', async (t) => {
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((r) => probe.close(r));
  await failsSaying(
    await clientTo(t, port),
    'connection-refused',
    /connection refused at 127\.0\.0\.1:\d+: nothing listens there/,
    port,
  );
});
