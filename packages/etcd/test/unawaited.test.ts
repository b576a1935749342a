// Issue 34 item 5: every Promise the etcd registrar returns is safe to leave un-awaited. Each
// failure — a request before register, etcd unreachable (gone) at register, a bad node name, a
// request after terminate — is provoked once with the Promise ignored (the strict runner fails
// the run on an unhandled rejection, and the `after` hook names any it saw) and once awaited,
// where it still rejects with its code. No etcd server is needed: every case is a failure.

import { strict as assert } from 'node:assert';
import net from 'node:net';
import { after, before, test } from 'node:test';

import { UnhandledWatch, ignoredThenAwaited } from '@ergo-ts/test-support';

import {
  startNode,
  type ApplicationRoute,
  type Atom,
  type Node,
  type NodeRegistrar,
  type RegisterRoutes,
} from 'ergo-ts';

import { createEtcdRegistrar, type EtcdRegistrar } from '../src/index.js';

/** A node with no acceptor: nothing to publish. */
const ROUTES: RegisterRoutes = { routes: [], applicationRoutes: [], proxies: [] };

const watch = new UnhandledWatch('the etcd registrar');

let node: Node;

before(async () => {
  watch.start();
  node = await startNode(`etcd_unawaited${process.pid}@localhost`, { log: { level: 'warning' } });
});

after(async () => {
  await node.stop();
  watch.stop();
});

/** The registrar's view of a real node (what the node's network hands a registrar). */
function nodeRegistrar(name: string = node.name): NodeRegistrar {
  return {
    name: () => name as Atom,
    log: () => node.log,
    registerEvent: (n, options) => node.registerEvent(n, options),
    unregisterEvent: (n) => node.unregisterEvent(n),
    sendEvent: (n, token, message) => node.sendEvent(n, token, message),
  };
}

/** Every request of a registrar that is not registered (or no longer), with the code expected. */
async function everyRequest(r: EtcdRegistrar, code: string): Promise<void> {
  await ignoredThenAwaited(() => r.configItem('x'), code);
  await ignoredThenAwaited(() => r.config('x'), code);
  await ignoredThenAwaited(() => r.nodes(), code);
  const route: ApplicationRoute = { name: 'web' as Atom, node: node.name, weight: 1, mode: 0, state: 0 };
  await ignoredThenAwaited(() => r.registerApplicationRoute(route), code);
  await ignoredThenAwaited(() => r.unregisterApplicationRoute('web' as Atom), code);
  await ignoredThenAwaited(() => r.resolver().resolve('other@localhost' as Atom), code);
  await ignoredThenAwaited(() => r.resolver().resolveApplication('web' as Atom), code);
  await ignoredThenAwaited(() => r.resolver().resolveProxy('other@localhost' as Atom), 'ERR_NO_ROUTE');
  await ignoredThenAwaited(() => r.registerProxy('other@localhost' as Atom), 'ERR_UNSUPPORTED');
  await ignoredThenAwaited(() => r.unregisterProxy('other@localhost' as Atom), 'ERR_UNSUPPORTED');
}

test('requests before register: ignored are safe, awaited reject ERR_NOT_ALLOWED', async () => {
  await everyRequest(createEtcdRegistrar(), 'ERR_NOT_ALLOWED');
});

test('requests after terminate: ignored are safe, awaited reject ERR_REGISTRAR_TERMINATED', async () => {
  const r = createEtcdRegistrar();
  r.terminate();
  await everyRequest(r, 'ERR_REGISTRAR_TERMINATED');
  await ignoredThenAwaited(() => r.register(nodeRegistrar(), ROUTES), 'ERR_NOT_ALLOWED');
});

test('register with a bad node name: ignored is safe, awaited rejects ERR_INCORRECT', async () => {
  await ignoredThenAwaited(() => createEtcdRegistrar().register(nodeRegistrar('no-host'), ROUTES), 'ERR_INCORRECT');
});

test('register while etcd is gone: ignored is safe, awaited rejects ERR_NO_CONNECTION', async () => {
  // A port that was just free: nothing answers there.
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  const gone = { endpoints: [`127.0.0.1:${port}`], dialTimeout: 500, requestTimeout: 500 };
  const ignored = createEtcdRegistrar(gone);
  const awaited = createEtcdRegistrar(gone);
  try {
    void ignored.register(nodeRegistrar(), ROUTES);
    await assert.rejects(awaited.register(nodeRegistrar(), ROUTES), { code: 'ERR_NO_CONNECTION' });
  } finally {
    ignored.terminate();
    awaited.terminate();
  }
});
