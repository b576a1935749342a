// startNetworkEndpoint (ergo-ts/net): the network stack run for a name whose Core the caller
// supplies. A real node dials the endpoint's name, its handshake meets that name and creation,
// what it sends lands in the supplied Core; the endpoint's connector reaches the node's
// processes; the endpoint's stop fires the node's monitors with noconnection. Plain ergo-ts
// nodes on real sockets (port 0, static routes).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import {
  ErrNoConnection,
  ErrProcessUnknown,
  LogLevel,
  MessageDownPID,
  MessageExitPID,
  PID,
  Ref,
  type Atom,
  type MessageOptions,
} from '../src/index.js';
import { startNetworkEndpoint, type EndpointCore } from '../src/net/index.js';
import { deferred, Inbox, probe, thrown, type Deferred } from './helpers.js';
import { netNode, portOf, routeTo } from './net_helpers.js';

const COOKIE = 'net-secret';

/** What the supplied Core got: route calls by name, each with its arguments. */
class Recorded {
  readonly calls: { name: string; args: unknown[] }[] = [];
  #waiters: { name: string; resolve: (args: unknown[]) => void }[] = [];
  record(name: string, args: unknown[]): void {
    this.calls.push({ name, args });
    this.#waiters = this.#waiters.filter((w) => {
      if (w.name !== name) return true;
      w.resolve(args);
      return false;
    });
  }
  /** The arguments of the first call of `name` (made already or to come). */
  next(name: string): Promise<unknown[]> {
    const seen = this.calls.find((c) => c.name === name);
    if (seen !== undefined) return Promise.resolve(seen.args);
    return new Promise((resolve) => this.#waiters.push({ name, resolve }));
  }
}

/**
 * A Core for `name`: identity and settings answered, every route call recorded (an event
 * subscription gets no buffered events). The network calls nothing else on it.
 */
function recordingCore(
  name: string,
  creation: number,
  rec: Recorded,
  later?: EndpointCore['routeRelationLater'],
): EndpointCore {
  const fixed: Record<string, unknown> = {
    routeRelationLater: later,
    name: () => name,
    creation: () => creation,
    pid: () => new PID(name as Atom, 1, creation),
    makeRef: () => new Ref(name as Atom, creation, [1, 2, 3]),
    logLevel: () => LogLevel.Info,
    security: () => ({}),
    envList: () => ({}),
    enabledSpawns: () => [],
    enabledApplicationStarts: () => [],
  };
  return new Proxy(fixed, {
    get(target, p) {
      if (typeof p !== 'string') return undefined;
      if (p in target) return target[p]; // routeRelationLater: only when given
      if (!p.startsWith('route')) return undefined;
      return (...args: unknown[]) => {
        rec.record(p, args);
        return /^route(Link|Monitor)Event$/.test(p) ? [] : undefined;
      };
    },
  }) as unknown as EndpointCore;
}

const OPTS: MessageOptions = { priority: 0, important: false, compression: null, keepNetworkOrder: true };

test('a node reaches an endpoint by its name; the endpoint reaches the node; its stop is noconnection there', async (t) => {
  const node = await netNode('epnode');
  t.after(() => node.stop());
  const rec = new Recorded();
  const name = `ep${process.pid}@localhost`;
  const creation = 1_700_000_123;
  const ep = await startNetworkEndpoint(recordingCore(name, creation, rec), {
    log: node.log,
    cookie: COOKIE,
    registrar: null,
    acceptors: [{ port: 0 }],
    routes: [{ match: node.name.replace(/[.$]/g, '\\$&'), route: routeTo(portOf(node)) }],
  });
  t.after(() => ep.stop());
  const epPort = Number(/:(\d+)$/.exec(ep.network.acceptors()[0]!.info().interface)![1]);
  node.network().addRoute(name.replace(/[.$]/g, '\\$&'), routeTo(epPort), 1);

  // The node dials the name: the handshake announces the endpoint's name and creation.
  const remote = await node.network().getNode(name);
  assert.deepEqual([remote.name(), remote.creation()], [name, creation]);

  // A send from the node's process lands in the supplied Core.
  const inbox = new Inbox();
  const x = await node.spawn(probe(inbox.push));
  const target = new PID(name as Atom, 1001, creation);
  node.send(target, 'hi');
  const [from, to, , message] = await rec.next('routeSendPID');
  assert.deepEqual([(from as PID).node, (to as PID).equals(target), message], [node.name, true, 'hi']);

  // The endpoint's connector reaches the node's process (over the connection the node made).
  void ep.connection(node.name).sendPID(target, x, OPTS, 'back');
  const [got] = await inbox.count(1);
  assert.deepEqual([got!.from.equals(target), got!.message], [true, 'back']);

  // A monitor of an endpoint PID reaches the Core; the endpoint's stop fires it: noconnection.
  const down = deferred<MessageDownPID>();
  const watcher = await node.spawn(
    probe((m, _f, self) => {
      if (m === 'watch') self.monitorPID(target);
      else if (m instanceof MessageDownPID) down.resolve(m);
    }),
  );
  node.send(watcher, 'watch');
  const [by] = await rec.next('routeMonitorPID');
  assert.ok((by as PID).equals(watcher));
  assert.equal(thrown(() => ep.connection(name), 'ERR_INCORRECT').code, 'ERR_INCORRECT');
  await ep.stop();
  assert.equal((await down.promise).reason, ErrNoConnection);
  assert.equal(thrown(() => ep.connection(node.name), 'ERR_NETWORK_STOPPED').code, 'ERR_NETWORK_STOPPED');
});

test('an endpoint with a malformed name does not start', async (t) => {
  const node = await netNode('eplog');
  t.after(() => node.stop());
  await assert.rejects(startNetworkEndpoint(recordingCore('no-host', 1, new Recorded()), { log: node.log }), {
    code: 'ERR_INCORRECT',
  });
});

test('a Core that answers links later: the link waits for it, and its refusal is the exit reason', async (t) => {
  const node = await netNode('eplater');
  t.after(() => node.stop());
  const name = `eplater${process.pid}@localhost`;
  const creation = 1_700_000_456;
  const asked = deferred<{ kind: string; pid: PID; target: unknown; answer: Deferred<undefined> }>();
  const ep = await startNetworkEndpoint(
    recordingCore(name, creation, new Recorded(), (kind, pid, target) => {
      const answer = deferred<undefined>();
      asked.resolve({ kind, pid, target, answer });
      return answer.promise;
    }),
    { log: node.log, cookie: COOKIE, registrar: null, acceptors: [{ port: 0 }] },
  );
  t.after(() => ep.stop());
  const epPort = Number(/:(\d+)$/.exec(ep.network.acceptors()[0]!.info().interface)![1]);
  node.network().addRoute(name.replace(/[.$]/g, '\\$&'), routeTo(epPort), 1);

  const target = new PID(name as Atom, 1001, creation);
  const exit = deferred<MessageExitPID>();
  const linker = await node.spawn(
    probe((m, _f, self) => {
      if (m === 'trap') self.setTrapExit(true);
      else if (m === 'link') self.link(target);
      else if (m instanceof MessageExitPID) exit.resolve(m);
    }),
  );
  node.send(linker, 'trap');
  node.send(linker, 'link');
  const a = await asked.promise;
  assert.deepEqual([a.kind, a.pid.equals(linker), (a.target as PID).equals(target)], ['link', true, true]);
  a.answer.reject(ErrProcessUnknown);
  const m = await exit.promise;
  assert.ok(m.pid.equals(target));
  assert.equal((m.reason as { code?: string }).code, 'ERR_PROCESS_UNKNOWN');
});
