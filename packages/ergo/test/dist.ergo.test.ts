// Network transparency part 2 against a real Go Ergo 3.2 node (ergo-peer), both directions:
// links and monitors (PID, ProcessID, alias, node) with real reasons and ErrProcessUnknown,
// events (subscribe, buffer, notify, publish once per node, unregister), remote spawn and
// remote application start with their ACLs and network flags, and a kill -9 of the peer with
// relations, subscriptions and calls in flight. Together with dist.process.test.ts these are the
// equivalents of Ergo's testing/tests/002_distributed (connect, remote spawn, remote app start,
// send, call, link, monitor, event).

import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import {
  ApplicationMode,
  ApplicationState,
  Event,
  ErrNameUnknown,
  ErrNoConnection,
  ErrNotAllowed,
  ErrProcessUnknown,
  ErrUnsupported,
  MessageDownAlias,
  MessageDownEvent,
  MessageDownNode,
  MessageDownPID,
  MessageDownProcessID,
  MessageEvent,
  MessageEventStart,
  MessageEventStop,
  MessageExitEvent,
  MessageExitNode,
  MessageExitPID,
  ProcessID,
  createApplication,
  type Atom,
  type Node,
  type Ref,
} from '../src/index.js';
import { engineOf, keyedHostsOf } from '../src/node/internals.js';
import { Probe, deferred, probe, within } from './helpers.js';
import type { Peer } from '@ergo-ts/test-support';
import { aliasOf, goName, pidJSON, pidOf, seen, startGoPeer, tsFor, watcher } from './dist_helpers.js';

/** A behaviour that records its init arguments. */
class ArgsProbe extends Probe {
  constructor(readonly inits: unknown[][]) {
    super();
  }
  override init(...args: unknown[]): void {
    this.inits.push(args);
  }
}

const is =
  <T>(cls: new (...a: never[]) => T, pred: (m: T) => boolean = () => true) =>
  (m: unknown): m is T =>
    m instanceof cls && pred(m);

async function pair(
  t: { after(fn: () => Promise<void>): void; skip(m: string): void },
  prefix: string,
  extra: string[] = [],
  network: Record<string, unknown> = {},
): Promise<{ go: Peer; ts: Node } | undefined> {
  const go = await startGoPeer(t, prefix, extra);
  if (go === undefined) return undefined;
  const ts = await tsFor(t, `ts${prefix}`, go, network);
  return { go, ts };
}

test('Go links and monitors ergo-ts processes: real reasons on crash, unknown names refused, unlink/demonitor forget', async (t) => {
  const p = await pair(t, 'golink');
  if (p === undefined) return;
  const { go, ts } = p;
  // Returning an error ends the process with it as the reason (a throw would be a panic).
  const crash = (m: unknown): unknown => (m === 'crash' ? new Error('boom') : undefined);
  const victim = await ts.spawnRegister('victim', probe(crash));
  const other = await ts.spawn(probe(crash));
  const quiet = await ts.spawnRegister('quiet', probe());

  assert.equal((await go.cmd('link', { target: { name: 'victim', node: ts.name } })).value, 'ok');
  assert.equal((await go.cmd('monitor', { target: pidJSON(other) })).value, 'ok');
  assert.equal((await go.cmd('monitor', { target: { name: 'quiet', node: ts.name } })).value, 'ok');
  assert.equal((await go.cmd('demonitor', { target: { name: 'quiet', node: ts.name } })).value, 'ok');
  // A name that does not exist on the TS node: Ergo's "unknown process".
  const unknown = await go.cmd('monitor', { target: { name: 'nobody', node: ts.name } });
  assert.equal(unknown.kind, 'error');
  assert.equal(unknown.error, 'unknown process');

  // The TS node keeps one remote watcher per relation, indexed by the Go node.
  const engine = engineOf(ts);
  assert.equal(engine.targets.nodeIndex(goName(go)) !== undefined, true);

  const mark = go.mark();
  ts.send(victim, 'crash');
  ts.send(other, 'crash');
  const exit = await go.waitFor((l) => l.kind === 'exit' && l.type === 'process_id', { since: mark });
  assert.equal(exit.reason, 'boom');
  const down = await go.waitFor((l) => l.kind === 'down' && l.type === 'pid', { since: mark });
  assert.equal(down.reason, 'boom');
  assert.equal(pidOf(down.target).id, other.id);
  // quiet was demonitored: its end reaches nobody on Go; the TS side holds no relation for Go.
  await ts.call(quiet, 'sync');
  assert.equal(
    keyedHostsOf(engine).reduce((n, h) => n + h.tCount, 0),
    0,
    'no keyed relations left',
  );
});

test('ergo-ts links and monitors Go targets: ProcessID, PID, alias, node; unknown gives ErrProcessUnknown', async (t) => {
  const p = await pair(t, 'tslink');
  if (p === undefined) return;
  const { go, ts } = p;
  const g = goName(go);
  const remote = await ts.network().getNode(g);
  await remote.spawnRegister('w1', 'peer_worker');
  const w2 = await remote.spawn('peer_worker');
  const w = await watcher(ts);
  await w.run((self) => {
    self.monitor(new ProcessID('w1' as Atom, g));
    self.link(w2);
    self.monitor(new ProcessID('nobody' as Atom, g));
    self.monitorNode(g);
  });
  // Calls from the watcher travel after its requests (one sender, one ordered link).
  assert.equal(await w.run((self) => self.call(w2, 'ping')), 'pong');
  const unknown = await seen(
    w.inbox,
    is(MessageDownProcessID, (m) => m.processID.name === 'nobody'),
    'down of an unknown name',
  );
  assert.ok(ErrProcessUnknown.is(unknown.reason), String(unknown.reason));

  ts.send(new ProcessID('w1' as Atom, g), 'stop');
  const down = await seen(
    w.inbox,
    is(MessageDownProcessID, (m) => m.processID.name === 'w1'),
    'down of w1',
  );
  assert.equal(down.reason.message, 'normal');
  ts.send(w2, 'crash');
  const exit = await seen(w.inbox, is(MessageExitPID), 'exit of w2');
  assert.ok(exit.pid.equals(w2));
  assert.equal(exit.reason.message, 'crash');

  // An alias of Go's ctl: monitored, then deleted on the Go side.
  const alias = aliasOf((await go.cmd('alias_create')).value);
  await w.run(async (self) => {
    self.monitor(alias);
    return self.call(new ProcessID('calc' as Atom, g), 'ping');
  });
  await go.cmd('alias_delete', { alias: (await go.cmd('alias_create')).value }); // a second alias, unrelated
  await go.cmd('alias_delete', {
    alias: { $: 'gen.Alias', v: { node: alias.node, creation: alias.creation, id: alias.id } },
  });
  const aliasDown = await seen(w.inbox, is(MessageDownAlias), 'down of the alias');
  assert.ok(aliasDown.alias.equals(alias));

  // Demonitor/unlink: the relation is gone on both sides (Go's spawn of w3 stopping tells nobody).
  const w3 = await remote.spawn('peer_worker');
  await w.run((self) => {
    self.monitor(w3);
    self.demonitor(w3);
  });
  ts.send(w3, 'stop');
  await go.waitFor((l) => l.kind === 'terminated' && pidOf(l.pid).id === w3.id);
  // The node monitor is still there and fires when the connection goes.
  remote.disconnect();
  await seen(w.inbox, is(MessageDownNode), 'node down');
  assert.equal(w.inbox.items.filter((s) => s.message instanceof MessageDownPID).length, 0, 'w3 was demonitored');
});

test('exit signals both ways with Go: trapped as messages, otherwise "<sender>: <reason>"', async (t) => {
  const p = await pair(t, 'goexit');
  if (p === undefined) return;
  const { go, ts } = p;
  const w = await watcher(ts);
  assert.equal((await go.cmd('send_exit', { to: pidJSON(w.pid), reason: 'go says bye' })).value, 'ok');
  const trapped = await seen(w.inbox, is(MessageExitPID), 'trapped exit from Go');
  assert.equal(trapped.reason.message, 'go says bye');
  assert.ok(trapped.pid.equals(pidOf((go.ready.processes as Record<string, unknown>).ctl)));
  const ended0 = deferred<Error>();
  const plain = await ts.spawn(probe(undefined, undefined, (r) => ended0.resolve(r)));
  await go.cmd('send_exit', { to: pidJSON(plain), reason: 'go says bye' });
  const reason = await within(ended0.promise, 'the plain actor ended');
  assert.equal(reason.message, `${pidOf((go.ready.processes as Record<string, unknown>).ctl).toString()}: go says bye`);
  // ergo-ts → Go: a peer_worker ends with the reason Go's act.Actor gives.
  const remote = await ts.network().getNode(goName(go));
  const wk = await remote.spawn('peer_worker');
  const mark = go.mark();
  ts.sendExit(wk, new Error('ts says bye'));
  const ended = await go.waitFor((l) => l.kind === 'terminated' && pidOf(l.pid).id === wk.id, { since: mark });
  assert.match(String(ended.reason), /ts says bye/);
});

test('events both ways: buffers returned, notify start/stop, publish reaches subscribers, unregister ends subscriptions', async (t) => {
  const p = await pair(t, 'goev');
  if (p === undefined) return;
  const { go, ts } = p;
  const g = goName(go);
  // TS subscribes to Go's peer_events (buffer 2).
  await go.cmd('publish', { msg: 'e0' });
  const w = await watcher(ts);
  const ev = new Event('peer_events' as Atom, g);
  const mark = go.mark();
  const buffer = await w.run((self) => self.monitorEvent(ev));
  assert.deepEqual(
    buffer.map((m) => m.message),
    ['e0'],
  );
  await go.waitFor((l) => l.kind === 'event_notify' && l.state === 'start', { since: mark });
  await go.cmd('publish', { msg: 'e1' });
  const got = await seen(
    w.inbox,
    is(MessageEvent, (m) => m.message === 'e1'),
    'event e1',
  );
  assert.ok(got.event.node === g);
  await w.run((self) => self.demonitorEvent(ev));
  await go.waitFor((l) => l.kind === 'event_notify' && l.state === 'stop', { since: mark });
  await w.run((self) => self.linkEvent(ev));
  await go.cmd('unregister_event');
  const exit = await seen(w.inbox, is(MessageExitEvent), 'exit of the event');
  assert.equal(exit.reason.message, 'unregistered');

  // Go subscribes to a TS event (notify on, buffer 1).
  const producer = await watcher(ts);
  let token: Ref | undefined;
  await producer.run((self) => {
    token = self.registerEvent('ts_events', { notify: true, buffer: 1 });
    self.sendEvent('ts_events', token, 'b0');
  });
  const sub = await go.cmd('subscribe', { node: ts.name, event: 'ts_events' });
  assert.deepEqual(
    (sub.value as { msg: unknown }[]).map((e) => e.msg),
    ['b0'],
  );
  await seen(producer.inbox, is(MessageEventStart), 'event start on the producer');
  const m2 = go.mark();
  await producer.run((self) => self.sendEvent('ts_events', token!, 'b1'));
  const delivered = await go.waitFor((l) => l.kind === 'event' && l.msg === 'b1', { since: m2 });
  assert.equal(delivered.process, 'watcher');
  await go.cmd('unsubscribe', { node: ts.name, event: 'ts_events' });
  await seen(producer.inbox, is(MessageEventStop), 'event stop on the producer');
  await go.cmd('subscribe', { node: ts.name, event: 'ts_events', link: true });
  await producer.run((self) => self.unregisterEvent('ts_events'));
  const goExit = await go.waitFor((l) => l.kind === 'exit' && l.type === 'event', { since: m2 });
  assert.equal(goExit.reason, 'unregistered');
});

test('remote spawn both ways: parent/leader/args, process-level spawn, unknown names and ACL refusals', async (t) => {
  const p = await pair(t, 'gospawn');
  if (p === undefined) return;
  const { go, ts } = p;
  const g = goName(go);
  const remote = await ts.network().getNode(g);
  // Node-level: parent = leader = the TS core.
  let mark = go.mark();
  const a = await remote.spawn('peer_worker', {}, 1, 'two');
  const spawned = await go.waitFor((l) => l.kind === 'spawned' && pidOf(l.pid).id === a.id, { since: mark });
  assert.deepEqual(spawned.args, [1, 'two']);
  assert.ok(pidOf(spawned.parent).equals(engineOf(ts).pid));
  assert.ok(pidOf(spawned.leader).equals(engineOf(ts).pid));
  // Process-level: parent = the caller; linkChild links it.
  const w = await watcher(ts);
  mark = go.mark();
  const b = await w.run((self) => self.remoteSpawnRegister(g, 'pw_b', 'peer_worker', { linkChild: true }));
  const sb = await go.waitFor((l) => l.kind === 'spawned' && pidOf(l.pid).id === b.id, { since: mark });
  assert.ok(pidOf(sb.parent).equals(w.pid));
  assert.equal(sb.name, 'pw_b');
  // A call from the watcher travels after its link request (one sender, one ordered link).
  assert.equal(await w.run((self) => self.call(b, 'ping')), 'pong');
  ts.send(b, 'crash');
  assert.equal(
    (
      await seen(
        w.inbox,
        is(MessageExitPID, (m) => m.pid.equals(b)),
        'linked child exit',
      )
    ).reason.message,
    'crash',
  );
  await assert.rejects(remote.spawn('no_such_factory'), (e) => ErrNameUnknown.is(e));
  await assert.rejects(
    w.run((self) => self.remoteSpawn(ts.name, 'x')),
    (e) => ErrNotAllowed.is(e),
  );
  // Ergo's ACL: disabling for one node denies every node.
  await go.cmd('disable_spawn', { nodes: [ts.name] });
  await assert.rejects(remote.spawn('peer_worker'), (e) => ErrNotAllowed.is(e));
  await go.cmd('enable_spawn', { nodes: [ts.name] });
  assert.equal((await remote.spawn('peer_worker')).node, g);

  // Go spawns a TS factory.
  const inits: unknown[][] = [];
  ts.network().enableSpawn(
    'ts_worker',
    probe((m) => (m === 'stop' ? Promise.reject(new Error('stopped')) : undefined)),
  );
  ts.network().enableSpawn('ts_args', () => new ArgsProbe(inits));
  const r = await go.cmd('spawn_remote', { node: ts.name, factory: 'ts_worker', register: 'tw' });
  assert.equal(r.kind, 'result', String(r.error));
  const tw = pidOf(r.value);
  const info = ts.processInfo(tw);
  assert.equal(info.name, 'tw');
  assert.ok(info.parent.equals(pidOf((go.ready.processes as Record<string, unknown>).ctl)), 'parent is Go ctl');
  await go.cmd('spawn_remote', { node: ts.name, factory: 'ts_args', args: [7, 'eight'] });
  assert.deepEqual(inits, [[7, 'eight']]);
  const taken = await go.cmd('spawn_remote', { node: ts.name, factory: 'ts_worker', register: 'tw' });
  assert.equal(taken.error, 'resource is taken');
  ts.network().disableSpawn('ts_worker');
  assert.equal((await go.cmd('spawn_remote', { node: ts.name, factory: 'ts_worker' })).error, 'unknown name');
  const plain = probe();
  ts.network().enableSpawn('ts_worker', plain, 'someone@else');
  assert.equal((await go.cmd('spawn_remote', { node: ts.name, factory: 'ts_worker' })).error, 'not allowed');
  ts.network().enableSpawn('ts_worker', plain, go.ready.node as string);
  assert.equal((await go.cmd('spawn_remote', { node: ts.name, factory: 'ts_worker' })).kind, 'result');
  // As in Ergo: disabling one node on an everyone-entry marks it denied, which admits nobody.
  ts.network().enableSpawn('ts_any', probe());
  ts.network().disableSpawn('ts_any', 'someone@else');
  assert.equal((await go.cmd('spawn_remote', { node: ts.name, factory: 'ts_any' })).error, 'not allowed');
});

test('remote application start both ways, with modes and ACLs', async (t) => {
  const p = await pair(t, 'goapp');
  if (p === undefined) return;
  const { go, ts } = p;
  const g = goName(go);
  const remote = await ts.network().getNode(g);
  const mark = go.mark();
  await remote.applicationStartTransient('peer_app');
  const started = await go.waitFor((l) => l.kind === 'app_started', { since: mark });
  assert.equal(started.mode, 'transient');
  const info = (await go.cmd('app_info')).value as { state: string; mode: string; group: unknown[] };
  assert.deepEqual([info.state, info.mode, info.group.length], ['running', 'transient', 1]);
  await assert.rejects(remote.applicationStart('no_such_app'), (e) => ErrNameUnknown.is(e));

  // Go starts a TS application.
  await ts.applicationLoad(createApplication({ name: 'ts_app', group: [{ name: 'ts_app_member', factory: probe() }] }));
  assert.equal(
    (await go.cmd('app_start_remote', { node: ts.name, app: 'ts_app' })).error,
    'unknown name',
    'not enabled yet',
  );
  ts.network().enableApplicationStart('ts_app', 'someone@else');
  assert.equal((await go.cmd('app_start_remote', { node: ts.name, app: 'ts_app' })).error, 'not allowed');
  ts.network().enableApplicationStart('ts_app', go.ready.node as string);
  const ok = await go.cmd('app_start_remote', { node: ts.name, app: 'ts_app', mode: 'permanent' });
  assert.equal(ok.kind, 'result', String(ok.error));
  const ai = ts.applicationInfo('ts_app');
  assert.equal(ai.state, ApplicationState.Running);
  assert.equal(ai.mode, ApplicationMode.Permanent);
  assert.equal(ai.group.length, 1);
  assert.equal(ai.parent, go.ready.node, 'the parent of a remotely started application is the node that asked');
});

test('network flags: remote spawn, app start and important delivery refused cleanly both ways when not announced', async (t) => {
  const p = await pair(t, 'goflags', ['-no-remote-spawn', '-no-remote-app-start', '-no-important-delivery'], {
    flags: {
      enable: true,
      enableRemoteSpawn: false,
      enableRemoteApplicationStart: false,
      enableImportantDelivery: false,
      enableFragmentation: false,
      enableProxyTransit: false,
      enableProxyAccept: false,
    },
  });
  if (p === undefined) return;
  const { go, ts } = p;
  const remote = await ts.network().getNode(goName(go));
  await assert.rejects(remote.spawn('peer_worker'), (e) => ErrNotAllowed.is(e));
  await assert.rejects(remote.applicationStart('peer_app'), (e) => ErrNotAllowed.is(e));
  ts.network().enableSpawn('ts_worker', probe());
  assert.equal((await go.cmd('spawn_remote', { node: ts.name, factory: 'ts_worker' })).error, 'not allowed');
  assert.equal((await go.cmd('app_start_remote', { node: ts.name, app: 'x' })).error, 'not allowed');
  // Important delivery needs both sides to announce it.
  const w = await watcher(ts);
  await assert.rejects(
    w.run((self) => self.sendImportant(new ProcessID('echo' as Atom, goName(go)), 'x')),
    (e) => ErrUnsupported.is(e),
  );
  await ts.spawnRegister('sink', probe());
  assert.equal(
    (await go.cmd('send', { to: { name: 'sink', node: ts.name }, msg: 'x', important: true })).error,
    'not supported',
  );
  assert.equal(
    (await go.cmd('send', { to: { name: 'sink', node: ts.name }, msg: 'x' })).value,
    'ok',
    'plain sends still go',
  );
});

test('kill -9 of the Go peer: every link, monitor, subscription and call ends with ErrNoConnection; nothing left', async (t) => {
  const p = await pair(t, 'gokill');
  if (p === undefined) return;
  const { go, ts } = p;
  const g = goName(go);
  const remote = await ts.network().getNode(g);
  const wk = await remote.spawn('peer_worker');
  const w = await watcher(ts);
  await w.run(async (self) => {
    self.link(wk);
    self.monitor(new ProcessID('calc' as Atom, g));
    self.linkNode(g);
    self.monitorNode(g);
    await self.monitorEvent(new Event('peer_events' as Atom, g));
  });
  // Go watches a TS process too (a remote watcher of a local target).
  const local = await ts.spawnRegister('watched', probe());
  await go.cmd('monitor', { target: { name: 'watched', node: ts.name } });
  const pending = ts.call(new ProcessID('calc' as Atom, g), { op: 'sleep', a: 60000 }, { timeout: 30_000 });
  const pendingCatch = pending.then(
    () => 'answered',
    (e: unknown) => e,
  );
  go.kill();
  const err = await within(pendingCatch, 'pending call rejected');
  assert.ok(ErrNoConnection.is(err), String(err));
  const kinds = [MessageExitPID, MessageDownProcessID, MessageExitNode, MessageDownNode, MessageDownEvent] as const;
  for (const k of kinds) await seen(w.inbox, is(k as never), k.name);
  for (const s of w.inbox.items) {
    const r = (s.message as { reason?: Error }).reason;
    if (r !== undefined) assert.ok(ErrNoConnection.is(r), `${s.message?.constructor.name}: ${String(r)}`);
  }
  const engine = engineOf(ts);
  assert.equal(engine.targets.nodeIndex(g), undefined, 'node index dropped');
  assert.equal(
    keyedHostsOf(engine).reduce((n, h) => n + h.tCount, 0),
    0,
    'no keyed relations left',
  );
  assert.equal(engine.calls.size, 0, 'no pending calls');
  const wi = ts.processInfo(w.pid);
  const held = [wi.linksPID, wi.linksNode, wi.monitorsProcessID, wi.monitorsNode, wi.monitorsEvent].map(
    (l) => l.length,
  );
  assert.deepEqual(held, [0, 0, 0, 0, 0]);
  // Go's watcher of `watched` was forgotten with its node.
  assert.equal(keyedHostsOf(engine).length === 0 || keyedHostsOf(engine).every((h) => h.tCount === 0), true);
  assert.equal(engine.processes.has(local.id), true);
});
