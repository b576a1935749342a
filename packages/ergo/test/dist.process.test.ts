// Network transparency part 2 between ergo-ts nodes in separate OS processes (the child is
// dist_fixture.ts): Ergo's 002_distributed scenarios (connect, send, call, remote spawn, remote
// application start, link, monitor, event) in both directions, one publish sent once per
// subscribing node, and the fault cases: kill -9 of a node holding 10k relations, links, event
// subscriptions and a pending call (everything fires with ErrNoConnection, the tables are
// empty), and a restart with a new creation (old PIDs get ErrProcessIncarnation).

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { eventually } from '@ergo-ts/test-support';
import {
  ApplicationMode,
  ApplicationState,
  ErrNoConnection,
  ErrProcessIncarnation,
  ErrProcessUnknown,
  Event,
  MessageDownEvent,
  MessageDownNode,
  MessageDownPID,
  MessageDownProcessID,
  MessageEvent,
  MessageExitNode,
  MessageExitPID,
  PID,
  ProcessID,
  createApplication,
  createCronActionRemoteSpawn,
  type Atom,
  type Node,
  type Ref,
} from '../src/index.js';
import { engineOf, keyedHostsOf } from '../src/node/internals.js';
import { nodeName, probe, quietNode, within } from './helpers.js';
import { portOf, routeTo } from './net_helpers.js';
import { DIST_COOKIE, parentFor, seen, startChild, watcher, type ChildNode } from './dist_helpers.js';

const is =
  <T>(cls: new (...a: never[]) => T, pred: (m: T) => boolean = () => true) =>
  (m: unknown): m is T =>
    m instanceof cls && pred(m);

type PlainPID = { pid: { node: string; id: number; creation: number } };
const toPID = (p: unknown): PID => {
  const v = (p as PlainPID).pid;
  return new PID(v.node as Atom, v.id, v.creation);
};
const plainPID = (p: PID): PlainPID => ({ pid: { node: p.node, id: p.id, creation: p.creation } });

async function setup(
  t: { after(fn: () => Promise<void> | void): void },
  prefix: string,
  network: Record<string, unknown> = {},
  options: { env?: Record<string, unknown> } = {},
): Promise<{ child: ChildNode; parent: Node }> {
  const child = await startChild(`${prefix}${process.pid}@localhost`);
  t.after(() => child.kill());
  const parent = await parentFor(t, `p${prefix}`, child, network);
  for (const [k, v] of Object.entries(options.env ?? {})) parent.setEnv(k, v);
  await child.cmd('route', { match: parent.name.replace(/[.$]/g, '\\$&'), port: portOf(parent) });
  return { child, parent };
}

test('connect, send and call both ways across OS processes', async (t) => {
  const { child, parent } = await setup(t, 'dconn');
  const remote = await parent.network().getNode(child.name);
  assert.equal(remote.creation(), child.creation);
  assert.equal(await parent.call(new ProcessID('echo' as Atom, child.name as Atom), 'ping'), 'pong');
  const got: unknown[] = [];
  await parent.spawnRegister(
    'answer',
    probe(
      (m) => void got.push(m),
      (req) => `answered ${String(req)}`,
    ),
  );
  const reply = await child.cmd('watcher', {
    req: { op: 'call', target: { name: 'answer', node: parent.name }, req: 'hi' },
  });
  assert.equal(reply, 'answered hi');
  assert.deepEqual(parent.network().nodes(), [child.name]);
});

test('remote spawn both ways: parent, leader, env with exposeEnvRemoteSpawn, args; refusals', async (t) => {
  const { child, parent } = await setup(t, 'dspawn', {}, { env: { parent_env: 'p' } });
  const remote = await parent.network().getNode(child.name);
  await assert.rejects(remote.spawn('child_worker'), (e) => (e as { code?: string }).code === 'ERR_NAME_UNKNOWN');
  await child.cmd('enable_spawn', { nodes: ['someone@else'] });
  await assert.rejects(remote.spawn('child_worker'), (e) => (e as { code?: string }).code === 'ERR_NOT_ALLOWED');
  await child.cmd('enable_spawn', { nodes: [parent.name] });
  const pid = await remote.spawnRegister('rw', 'child_worker', {}, 1, 'two');
  const rep = await child.report((r) => r.what === 'spawned' && (r.name as string) === 'rw', 'spawned rw');
  assert.deepEqual(rep.args, [1, 'two']);
  assert.ok(toPID(rep.parent).equals(engineOf(parent).pid));
  assert.ok(toPID(rep.leader).equals(engineOf(parent).pid));
  assert.equal(toPID(rep.pid).id, pid.id);
  assert.equal((rep.env as Record<string, unknown>).PARENT_ENV, undefined, 'the parent node does not expose its env');
  await assert.rejects(
    remote.spawnRegister('rw', 'child_worker'),
    (e) => (e as { code?: string }).code === 'ERR_TAKEN',
  );

  // Child spawns on the parent.
  const inits: unknown[] = [];
  parent.network().enableSpawn('parent_worker', probe(undefined, undefined, undefined), child.name);
  parent.network().enableSpawn('parent_args', () => {
    const p = probe()();
    p.init = (...args: unknown[]) => void inits.push(...args);
    return p;
  });
  const cp = toPID(await child.cmd('spawn_remote', { node: parent.name, name: 'parent_worker', register: 'pw' }));
  assert.equal(parent.processInfo(cp).name, 'pw');
  await child.cmd('spawn_remote', { node: parent.name, name: 'parent_args', args: ['a', 3] });
  assert.deepEqual(inits, ['a', 3]);
  parent.network().disableSpawn('parent_worker');
  await assert.rejects(child.cmd('spawn_remote', { node: parent.name, name: 'parent_worker' }), /ERR_NAME_UNKNOWN/);
  // Process-level spawn from the child's watcher: parent = the watcher.
  parent.network().enableSpawn('parent_worker', probe());
  const wp = toPID(
    await child.cmd('watcher', { req: { op: 'remote_spawn', node: parent.name, name: 'parent_worker', target: {} } }),
  );
  assert.equal(parent.processInfo(wp).parent.node, child.name);
  assert.notEqual(parent.processInfo(wp).parent.id, 1, 'the parent is the watcher, not the core');
});

test('process-level remote spawn: parent = the caller; its env travels only with exposeEnvRemoteSpawn', async (t) => {
  const { child, parent } = await setup(t, 'dspenv');
  await child.cmd('enable_spawn');
  const exposing = await quietNode(
    {
      network: {
        cookie: DIST_COOKIE,
        acceptors: [{ port: 0 }],
        registrar: null,
        routes: [{ match: child.name.replace(/[.$]/g, '\\$&'), route: routeTo(child.port) }],
      },
      security: { exposeEnvRemoteSpawn: true },
    },
    undefined,
    nodeName('pexpose'),
  );
  t.after(() => exposing.stop());
  for (const [node, expect] of [
    [parent, undefined],
    [exposing, 'yes'],
  ] as const) {
    const w = await watcher(node);
    await w.run((self) => self.setEnv('from_parent', 'yes'));
    const pid = await w.run((self) => self.remoteSpawn(child.name, 'child_worker'));
    const rep = await child.report((r) => r.what === 'spawned' && toPID(r.pid).id === pid.id, 'spawned');
    assert.ok(toPID(rep.parent).equals(w.pid));
    assert.equal((rep.env as Record<string, unknown>).FROM_PARENT, expect);
  }
  // linkParent across nodes: the child links to its remote parent and ends with it.
  const w = await watcher(parent);
  const linked = await w.run((self) => self.remoteSpawn(child.name, 'child_worker', { linkParent: true }));
  // The child's link request travels before anything it sends: wait for a round trip through it.
  assert.equal(await w.run((self) => self.call(linked, 'ping')), 'pong');
  parent.sendExit(w.pid, new Error('parent gone'));
  const ended = await child.report(
    (r) => r.what === 'terminated' && toPID(r.pid).id === linked.id,
    'linked child ended',
  );
  assert.match(String(ended.reason), /parent gone/);
});

test('cron remote spawn action: spawns on the other node with the CRON_* env; refusals fail the run', async (t) => {
  const { child, parent } = await setup(t, 'dcron');
  await child.cmd('enable_spawn');
  assert.throws(
    () => createCronActionRemoteSpawn('', 'child_worker'),
    (e) => (e as { code?: string }).code === 'ERR_INCORRECT',
  );
  const action = createCronActionRemoteSpawn(child.name, 'child_worker', { register: 'cronned', args: ['tick'] });
  assert.equal(action.info(), `remote spawn child_worker with registered name cronned at ${child.name}`);
  const time = new Date('2026-01-02T03:04:00Z');
  await action.do('nightly' as Atom, parent, time);
  const rep = await child.report((r) => r.what === 'spawned' && r.name === 'cronned', 'cron spawn');
  assert.deepEqual(rep.args, ['tick']);
  const env = rep.env as Record<string, unknown>;
  assert.equal(env.CRON_JOB_NAME, 'nightly');
  assert.equal(env.CRON_NODE_NAME, parent.name);
  // The name is taken while the first one lives: the run fails with ErrTaken.
  await assert.rejects(
    Promise.resolve(action.do('nightly' as Atom, parent, time)),
    (e) => (e as { code?: string }).code === 'ERR_TAKEN',
  );
  await assert.rejects(
    Promise.resolve(createCronActionRemoteSpawn(child.name, 'nothing').do('j' as Atom, parent, time)),
    (e) => (e as { code?: string }).code === 'ERR_NAME_UNKNOWN',
  );
});

test('remote application start both ways with modes and ACLs', async (t) => {
  const { child, parent } = await setup(t, 'dapp');
  const remote = await parent.network().getNode(child.name);
  await assert.rejects(
    remote.applicationStart('child_app'),
    (e) => (e as { code?: string }).code === 'ERR_NAME_UNKNOWN',
  );
  await child.cmd('enable_app_start', { nodes: [parent.name] });
  await remote.applicationStartPermanent('child_app');
  const info = (await child.cmd('app_info')) as { state: number; mode: number; group: number };
  assert.deepEqual([info.state, info.mode, info.group], [ApplicationState.Running, ApplicationMode.Permanent, 1]);

  await parent.applicationLoad(
    createApplication({ name: 'parent_app', group: [{ name: 'parent_app_worker', factory: probe() }] }),
  );
  parent.network().enableApplicationStart('parent_app', 'someone@else');
  await assert.rejects(child.cmd('app_start_remote', { node: parent.name, app: 'parent_app' }), /ERR_NOT_ALLOWED/);
  parent.network().enableApplicationStart('parent_app', child.name);
  await child.cmd('app_start_remote', { node: parent.name, app: 'parent_app', mode: 'transient' });
  const pi = parent.applicationInfo('parent_app');
  assert.deepEqual([pi.state, pi.mode, pi.parent], [ApplicationState.Running, ApplicationMode.Transient, child.name]);
});

test('links and monitors both ways with real reasons; an unknown remote name gives ErrProcessUnknown', async (t) => {
  const { child, parent } = await setup(t, 'dlink');
  await child.cmd('enable_spawn');
  const remote = await parent.network().getNode(child.name);
  const a = await remote.spawnRegister('ra', 'child_worker');
  const b = await remote.spawn('child_worker');
  const w = await watcher(parent);
  await w.run(async (self) => {
    self.monitor(new ProcessID('ra' as Atom, child.name as Atom));
    self.link(b);
    self.monitor(new ProcessID('nobody' as Atom, child.name as Atom));
    // One sender, one ordered link: the call arrives after the requests.
    return self.call(b, 'ping');
  });
  const unknown = await seen(
    w.inbox,
    is(MessageDownProcessID, (m) => m.processID.name === 'nobody'),
    'unknown name',
  );
  assert.ok(ErrProcessUnknown.is(unknown.reason));
  parent.send(a, 'stop');
  parent.send(b, 'crash');
  assert.equal(
    (
      await seen(
        w.inbox,
        is(MessageDownProcessID, (m) => m.processID.name === 'ra'),
        'down ra',
      )
    ).reason.message,
    'normal',
  );
  assert.equal((await seen(w.inbox, is(MessageExitPID), 'exit b')).reason.message, 'crash');

  // The child links to a parent process that then ends with a real reason.
  const victim = await parent.spawnRegister(
    'victim',
    probe((m) => (m === 'crash' ? new Error('boom') : undefined)),
  );
  assert.equal(await child.cmd('watcher', { req: { op: 'link', target: plainPID(victim) } }), 'ok');
  assert.equal(
    await child.cmd('watcher', { req: { op: 'monitor', target: { name: 'victim', node: parent.name } } }),
    'ok',
  );
  assert.equal(await child.cmd('watcher', { req: { op: 'call', target: plainPID(victim), req: 'sync' } }), 'sync');
  parent.send(victim, 'crash');
  const exit = await child.report((r) => r.what === 'message' && r.type === 'MessageExitPID', 'exit on the child');
  assert.equal(exit.reason, 'boom');
  const down = await child.report(
    (r) => r.what === 'message' && r.type === 'MessageDownProcessID',
    'down on the child',
  );
  assert.equal(down.reason, 'boom');
  assert.equal(
    keyedHostsOf(engineOf(parent)).reduce((n, h) => n + h.tCount, 0),
    0,
    'remote watchers forgotten once fired',
  );
});

test('exit signals across nodes follow the trap-exit rules', async (t) => {
  const { child, parent } = await setup(t, 'dexit');
  await child.cmd('enable_spawn');
  const remote = await parent.network().getNode(child.name);
  const worker = await remote.spawn('child_worker');
  parent.sendExit(worker, new Error('bye'));
  const ended = await child.report(
    (r) => r.what === 'terminated' && toPID(r.pid).id === worker.id,
    'worker ended by the exit signal',
  );
  // As act.Actor in Ergo: an exit signal ends it with "<sender>: <reason>".
  assert.equal(ended.reason, `${engineOf(parent).pid.toString()}: bye`);
  // A trapping process gets it as a message.
  const w = toPID(await child.cmd('whereis', { name: 'watcher' }));
  parent.sendExit(w, new Error('trapped'));
  const trapped = await child.report(
    (r) => r.what === 'message' && r.type === 'MessageExitPID' && r.reason === 'trapped',
    'trapped exit',
  );
  assert.equal((trapped.target as PlainPID).pid.node, parent.name);
});

test('events both ways: buffer, notify, one network message per subscribing node, unregister', async (t) => {
  const { child, parent } = await setup(t, 'devent');
  await child.cmd('events', { req: { op: 'publish', msg: 'e0' } });
  const ev = new Event('child_events' as Atom, child.name as Atom);
  const subs = await Promise.all([watcher(parent), watcher(parent), watcher(parent)]);
  const buffers = await Promise.all(
    subs.map((w, i) => w.run((self) => (i === 2 ? self.linkEvent(ev) : self.monitorEvent(ev)))),
  );
  for (const b of buffers)
    assert.deepEqual(
      b.map((m) => m.message),
      ['e0'],
    );
  await child.report((r) => r.what === 'event_start', 'event start on the producer');
  const remote = parent.network().node(child.name);
  const before = remote.info().messagesIn;
  await child.cmd('events', { req: { op: 'publish', msg: 'e1' } });
  for (const w of subs)
    await seen(
      w.inbox,
      is(MessageEvent, (m) => m.message === 'e1'),
      'e1',
    );
  assert.equal(remote.info().messagesIn - before, 1, 'one message for three subscribers on this node');
  await subs[0]!.run((self) => self.demonitorEvent(ev));
  await child.cmd('events', { req: { op: 'unregister' } });
  const d = await seen(subs[1]!.inbox, is(MessageDownEvent), 'down of the event');
  assert.equal(d.reason.message, 'unregistered');
  assert.equal(
    subs[0]!.inbox.items.some((s) => s.message instanceof MessageDownEvent),
    false,
    'demonitored',
  );

  // The child subscribes to a parent event.
  const producer = await watcher(parent);
  let token: Ref | undefined;
  await producer.run((self) => {
    token = self.registerEvent('parent_events', { buffer: 1 });
    self.sendEvent('parent_events', token, 'p0');
  });
  const buf = await child.cmd('watcher', {
    req: { op: 'monitor', target: { event: 'parent_events', node: parent.name } },
  });
  assert.deepEqual(buf, ['p0']);
  await producer.run((self) => self.sendEvent('parent_events', token!, 'p1'));
  const got = await child.report((r) => r.what === 'event' && r.msg === 'p1', 'event on the child');
  assert.deepEqual(got.event, { event: 'parent_events', node: parent.name });

  // A producer that ends takes its event with it: remote subscribers get its reason.
  const dying = await parent.spawn(
    probe((m, _from, self) => {
      if (m === 'register') self.registerEvent('dying_events');
      return m === 'die' ? new Error('producer died') : undefined;
    }),
  );
  parent.send(dying, 'register');
  await parent.call(dying, 'sync');
  assert.deepEqual(
    await child.cmd('watcher', { req: { op: 'monitor', target: { event: 'dying_events', node: parent.name } } }),
    [],
  );
  parent.send(dying, 'die');
  const ended = await child.report(
    (r) =>
      r.what === 'message' &&
      r.type === 'MessageDownEvent' &&
      (r.target as { event?: string })?.event === 'dying_events',
    'down of the dying event',
  );
  assert.equal(ended.reason, 'producer died');
});

test('kill -9 of a node with 10k relations, links, subscriptions and a pending call; restart with a new creation', async (t) => {
  const N = 10_000;
  const { child, parent } = await setup(t, 'dkill');
  const hub = await parent.spawnRegister('hub', probe());
  // 10k child processes monitor the parent's hub (remote watchers here) ...
  const pids = (
    (await within(
      // 10k spawns and remote monitors take seconds on a loaded machine: the bound only keeps a
      // child that never answers from hanging the file.
      child.cmd('spawn_many', { n: N, monitor: { name: 'hub', node: parent.name }, list: true }, 120_000),
      'spawn 10k',
      120_000,
    )) as PlainPID[]
  ).map(toPID);
  const engine = engineOf(parent);
  assert.equal(engine.targets.keyedHost(new ProcessID('hub' as Atom, parent.name), false)?.tCount, N);
  // ... and a parent watcher monitors all 10k of them, links to one, the node, and the event.
  const w = await watcher(parent);
  await w.run(async (self) => {
    for (const p of pids) self.monitorPID(p);
    self.linkNode(child.name);
    self.monitorNode(child.name);
    self.link(new ProcessID('echo' as Atom, child.name as Atom));
    await self.monitorEvent(new Event('child_events' as Atom, child.name as Atom));
  });
  const pending = parent.call(new ProcessID('echo' as Atom, child.name as Atom), 'hang', { timeout: 30_000 }).then(
    () => 'answered',
    (e: unknown) => e,
  );
  const oldEcho = pids[0]!;
  child.kill();
  const err = await within(pending, 'pending call rejected');
  assert.ok(ErrNoConnection.is(err), String(err));
  await within(w.inbox.count(N + 4), '10k downs and the rest', 120_000);
  const downs = w.inbox.items.filter((s) => s.message instanceof MessageDownPID);
  assert.equal(downs.length, N);
  assert.ok(downs.every((s) => ErrNoConnection.is((s.message as MessageDownPID).reason)));
  for (const k of [MessageExitNode, MessageDownNode, MessageDownEvent] as const)
    assert.ok(
      w.inbox.items.some((s) => s.message instanceof k),
      k.name,
    );
  assert.ok(
    w.inbox.items.some(
      (s) => s.message instanceof MessageExitPID || (s.message as object).constructor.name === 'MessageExitProcessID',
    ),
  );
  assert.equal(engine.targets.nodeIndex(child.name as Atom), undefined);
  assert.equal(
    keyedHostsOf(engine).reduce((n, h) => n + h.tCount, 0),
    0,
    'the hub forgot its 10k remote watchers',
  );
  assert.equal(engine.calls.size, 0);
  const wi = parent.processInfo(w.pid);
  assert.equal(
    wi.monitorsPID.length +
      wi.linksNode.length +
      wi.monitorsNode.length +
      wi.linksProcessID.length +
      wi.monitorsEvent.length,
    0,
  );
  void hub;

  // The same name restarts with a new creation: old PIDs are refused.
  await eventually(() => Math.floor(Date.now() / 1000) > child.creation, 'the next second of the creation clock', {
    intervalMs: 20,
  });
  const again = await startChild(child.name);
  t.after(() => again.kill());
  assert.notEqual(again.creation, child.creation);
  parent.network().removeRoute(child.name.replace(/[.$]/g, '\\$&'));
  parent.network().addRoute(
    child.name.replace(/[.$]/g, '\\$&'),
    {
      route: {
        host: '127.0.0.1',
        port: again.port,
        tls: false,
        handshakeVersion: { name: '', release: '' },
        protoVersion: { name: '', release: '' },
      },
    },
    0,
  );
  assert.equal(await parent.call(new ProcessID('echo' as Atom, child.name as Atom), 'ping'), 'pong');
  assert.throws(
    () => parent.send(oldEcho, 'hello'),
    (e) => ErrProcessIncarnation.is(e),
  );
  await assert.rejects(parent.call(oldEcho, 'ping'), (e) => ErrProcessIncarnation.is(e));
});
