// Issue 34 item 5: every Promise the core hands out is safe to leave un-awaited. Each failure
// below is provoked twice: once with the Promise ignored (the strict runner fails the run on an
// unhandled rejection, and the `after` hook names any it saw), once awaited, where it must still
// reject with its code. Covers what the node and process handles do not (they have their own
// tests): the entry points startNode and startCluster, the meta factories that dial or listen,
// the embedded registrar, and applicationInfo on a remote node that is gone.

import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, test } from 'node:test';

import { UnhandledWatch, ignoredThenAwaited } from '@ergo-ts/test-support';

import { Actor, PID, startNode, type Atom, type Node } from 'ergo-ts';
import { startCluster } from 'ergo-ts/cluster';
import { createEmbeddedRegistrar } from 'ergo-ts/net';
import { spawnTest } from 'ergo-ts/testing';
import {
  createSSEConnection,
  createTCPConnection,
  createTCPServer,
  createUDPServer,
  createWebServer,
} from 'ergo-ts/meta';

const watch = new UnhandledWatch('the core');

const COOKIE = 'unawaited-test';
const QUIET = { level: 'warning' as const };

/** A TCP port bound by this test (and released by the caller). */
async function busyTCP(): Promise<net.Server> {
  const s = net.createServer();
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  return s;
}

function portOf(s: net.Server): number {
  return (s.address() as net.AddressInfo).port;
}

before(() => {
  watch.start();
});

after(() => {
  watch.stop();
});

test('startNode with a bad name or options: ignored is safe, awaited rejects ERR_INCORRECT', async () => {
  await ignoredThenAwaited(() => startNode('no host part'), 'ERR_INCORRECT');
  const bad = { shutdownTimeout: -1 };
  await ignoredThenAwaited(() => startNode('a@localhost', bad), 'ERR_INCORRECT');
});

test('startCluster with bad options: ignored is safe, awaited rejects ERR_INCORRECT', async () => {
  const bad = { nodes: 0 };
  await ignoredThenAwaited(() => startCluster(bad), 'ERR_INCORRECT');
});

test('meta factories: bad options and a refused dial, ignored and awaited', async () => {
  const closed = await busyTCP();
  const port = portOf(closed);
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const dial = (): Promise<unknown> => createTCPConnection({ host: '127.0.0.1', port });
  await ignoredThenAwaited(dial, 'ECONNREFUSED');
  const badTCP = (): Promise<unknown> => createTCPConnection({ host: '', port: 1 });
  await ignoredThenAwaited(badTCP, 'ERR_INCORRECT');
  const sse = (): Promise<unknown> => createSSEConnection({ url: 'ftp://127.0.0.1/' });
  await ignoredThenAwaited(sse, 'ERR_INCORRECT');
  const sseRefused = (): Promise<unknown> => createSSEConnection({ url: `http://127.0.0.1:${port}/` });
  await ignoredThenAwaited(sseRefused, 'ECONNREFUSED');
});

test('meta factories on a port in use: EADDRINUSE, ignored and awaited', async () => {
  const busy = await busyTCP();
  try {
    const port = portOf(busy);
    const tcp = (): Promise<unknown> => createTCPServer({ host: '127.0.0.1', port });
    await ignoredThenAwaited(tcp, 'EADDRINUSE');
    const web = (): Promise<unknown> => createWebServer({ host: '127.0.0.1', port, handler: (_req, res) => res.end() });
    await ignoredThenAwaited(web, 'EADDRINUSE');
  } finally {
    await new Promise<void>((resolve) => busy.close(() => resolve()));
  }
  const udp = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => udp.bind({ address: '127.0.0.1', port: 0 }, resolve));
  try {
    const port = udp.address().port;
    const bind = (): Promise<unknown> => createUDPServer({ host: '127.0.0.1', port });
    await ignoredThenAwaited(bind, 'EADDRINUSE');
  } finally {
    await new Promise<void>((resolve) => udp.close(resolve));
  }
});

test('applicationInfo on a remote node that is gone: ignored is safe, awaited rejects ERR_NO_CONNECTION', async () => {
  let a: Node | undefined;
  let b: Node | undefined;
  try {
    a = await startNode(`unawaited_a${process.pid}@localhost`, {
      network: { registrar: null, cookie: COOKIE, acceptors: [{ host: '127.0.0.1', port: 0 }] },
      log: QUIET,
    });
    b = await startNode(`unawaited_b${process.pid}@localhost`, {
      network: { registrar: null, cookie: COOKIE },
      log: QUIET,
    });
    const i = a.network().acceptors()[0]!.info().interface;
    const port = Number(i.slice(i.lastIndexOf(':') + 1));
    b.network().addRoute(a.name.replace(/[.$]/g, '\\$&'), { route: { host: '127.0.0.1', port, tls: false } }, 0);
    const remote = await b.network().getNode(a.name);
    remote.disconnect();
    const info = (): Promise<unknown> => remote.applicationInfo('web');
    await ignoredThenAwaited(info, 'ERR_NO_CONNECTION');
    const spawn = (): Promise<unknown> => remote.spawn('worker');
    await ignoredThenAwaited(spawn, 'ERR_NO_CONNECTION');
  } finally {
    await b?.stop();
    await a?.stop();
  }
});

test('embedded registrar requests it cannot serve: ignored are safe, awaited reject with their codes', async () => {
  const node = await startNode(`unawaited_reg${process.pid}@localhost`, { log: QUIET });
  try {
    const r = createEmbeddedRegistrar();
    const other = 'other@localhost' as Atom;
    await ignoredThenAwaited(() => r.registerProxy(other), 'ERR_UNSUPPORTED');
    await ignoredThenAwaited(() => r.unregisterProxy(other), 'ERR_UNSUPPORTED');
    const route = { name: 'web' as Atom, node: other, weight: 1, mode: 0, state: 0 };
    const reg = (): Promise<unknown> => r.registerApplicationRoute(route);
    await ignoredThenAwaited(reg, 'ERR_UNSUPPORTED');
    const unreg = (): Promise<unknown> => r.unregisterApplicationRoute(route.name);
    await ignoredThenAwaited(unreg, 'ERR_UNSUPPORTED');
    await ignoredThenAwaited(() => r.nodes(), 'ERR_UNSUPPORTED');
    await ignoredThenAwaited(() => r.configItem('x'), 'ERR_UNSUPPORTED');
    await ignoredThenAwaited(() => r.config('x'), 'ERR_UNSUPPORTED');
    const resolver = r.resolver();
    const bad = 'no host part' as Atom;
    await ignoredThenAwaited(() => resolver.resolve(bad), 'ERR_INCORRECT');
    await ignoredThenAwaited(() => resolver.resolveProxy(other), 'ERR_UNSUPPORTED');
    const app = (): Promise<unknown> => resolver.resolveApplication('web' as Atom);
    await ignoredThenAwaited(app, 'ERR_UNSUPPORTED');
    const view = {
      name: () => bad,
      log: () => node.log,
      registerEvent: node.registerEvent.bind(node),
      unregisterEvent: node.unregisterEvent.bind(node),
      sendEvent: node.sendEvent.bind(node),
    };
    const register = (): Promise<unknown> => r.register(view, { routes: [], applicationRoutes: [], proxies: [] });
    await ignoredThenAwaited(register, 'ERR_INCORRECT');
  } finally {
    await node.stop();
  }
});

class Quiet extends Actor {
  override handleMessage(): void {}
}

test('the test kit refusing a bad delivery or an unsupported request: ignored is safe, awaited rejects with its code', async () => {
  const actor = await spawnTest(Quiet);
  const from = new PID('someone@localhost', 1001, 1);
  const notAnError = 'not an Error' as unknown as Error;
  await ignoredThenAwaited(() => actor.sendExit(from, notAnError), 'ERR_INCORRECT');
  await ignoredThenAwaited(() => actor.deliver({ not: 'a notice' }), 'ERR_INCORRECT');
  await ignoredThenAwaited(() => actor.node.networkStart({}), 'ERR_UNSUPPORTED');
  await ignoredThenAwaited(() => actor.node.networkStop(), 'ERR_UNSUPPORTED');
});
