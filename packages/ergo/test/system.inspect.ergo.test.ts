// The inspector protocol against a real Go Ergo 3.2 node (ergo-peer runs Go's own system_inspect):
// a TS node reads the Go node's node info, process list and one process page over ENP, decoding
// Go's ResponseInspect*/MessageInspect* values; and Go decodes every inspect type TS encodes
// (its echo process reports the Go type it decoded and sends the value back, which TS decodes
// again to the same value).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import {
  ApplicationMode,
  ApplicationState,
  Event,
  LogLevel,
  MessageEvent,
  MessageInspectApplicationList,
  MessageInspectLogNode,
  MessageInspectLogProcess,
  MessageInspectNode,
  MessageInspectProcess,
  MessageInspectProcessList,
  MessageInspectProcessState,
  PID,
  ProcessID,
  RequestDoKill,
  RequestDoSend,
  RequestDoSendExit,
  RequestDoSetLogLevelProcess,
  RequestInspectApplicationList,
  RequestInspectApplicationTree,
  RequestInspectConnection,
  RequestInspectLog,
  RequestInspectMeta,
  RequestInspectNode,
  RequestInspectProcess,
  RequestInspectProcessList,
  ResponseDoKill,
  ResponseInspectApplicationList,
  ResponseInspectNode,
  ResponseInspectProcess,
  ResponseInspectProcessList,
  SYSTEM_INSPECT,
  Alias,
  type Atom,
  type Node,
} from '../src/index.js';
import { GoTime } from '../src/net/index.js';
import { goName, pidOf, seen, startGoPeer as peer, tsFor, watcher } from './dist_helpers.js';

const snapshot =
  <T>(cls: new (...a: never[]) => T, pred: (m: T) => boolean = () => true) =>
  (m: unknown): m is MessageEvent =>
    m instanceof MessageEvent && m.message instanceof cls && pred(m.message as T);

test('TS reads a Go node through its system_inspect: node info, process list, a process page', async (t) => {
  const go = await peer(t, 'goins');
  if (go === undefined) return;
  const ts = await tsFor(t, 'tsins', go);
  const inspect = new ProcessID(SYSTEM_INSPECT, goName(go));

  // Node: the response carries Go's facts and names the event.
  const rn = await ts.call(inspect, new RequestInspectNode(), { timeout: 10_000 });
  assert.ok(rn instanceof ResponseInspectNode, `ResponseInspectNode, got ${String(rn)}`);
  assert.ok(rn.event.equals(new Event('inspect_node' as Atom, goName(go))));
  assert.equal(rn.crc32, (go.ready.pid as { v: { str: string } }).v.str.slice(1, 9));
  assert.equal(rn.os, 'linux');
  assert.equal(Number(rn.creation), go.ready.creation);
  const w = await watcher(ts);
  await w.run((self) => self.monitorEvent(rn.event));
  const ni = await seen(w.inbox, snapshot(MessageInspectNode), 'MessageInspectNode from Go');
  const info = (ni.message as MessageInspectNode).info;
  assert.equal(info.name, goName(go));
  assert.ok(Number(info.processesTotal) >= 5, 'ctl, echo, calc, events, watcher and the system processes');
  assert.match(info.framework.name, /Ergo/);
  assert.ok(Array.isArray(info.loggers));

  // Process list: Go's processes, sorted by PID, with names.
  const rl = await ts.call(inspect, new RequestInspectProcessList({ start: 1000, limit: 500 }), { timeout: 10_000 });
  assert.ok(rl instanceof ResponseInspectProcessList);
  assert.equal(rl.event.name, 'inspect_process_list_1000_1499');
  await w.run((self) => self.monitorEvent(rl.event));
  const pl = await seen(w.inbox, snapshot(MessageInspectProcessList), 'MessageInspectProcessList from Go');
  const list = (pl.message as MessageInspectProcessList).processes ?? [];
  const names = list.map((p) => p.name);
  for (const n of ['ctl', 'echo', 'calc', 'events', 'system_inspect']) assert.ok(names.includes(n as Atom), n);
  const ids = list.map((p) => p.pid.id);
  assert.deepEqual(
    ids,
    [...ids].sort((a, b) => a - b),
  );

  // Process page of echo.
  const echo = pidOf((go.ready.processes as Record<string, unknown>).echo);
  const rp = await ts.call(inspect, new RequestInspectProcess({ pid: echo }), { timeout: 10_000 });
  assert.ok(rp instanceof ResponseInspectProcess);
  await w.run((self) => self.monitorEvent(rp.event));
  const pp = await seen(w.inbox, snapshot(MessageInspectProcess), 'MessageInspectProcess from Go');
  const page = (pp.message as MessageInspectProcess).info;
  assert.ok(page.pid.equals(echo));
  assert.equal(page.name, 'echo');
  assert.equal((pp.message as MessageInspectProcess).terminated, false);
  assert.ok(page.behavior.length > 0);

  // A command: Go's system_inspect answers with its ResponseDoKill (an error for a PID that is not there).
  const k = await ts.call(inspect, new RequestDoKill({ pid: new PID(goName(go), 999_999, echo.creation) }), {
    timeout: 10_000,
  });
  assert.ok(k instanceof ResponseDoKill);
  assert.ok(k.error instanceof Error);
});

test("TS reads a Go node's applications through its system_inspect (ApplicationInfo before 3.2.0)", async (t) => {
  // The Observer's Applications page asks exactly this. ergo-peer predates 3.2.0's Tags and Map:
  // its gen.ApplicationInfo comes in the older layout, which must decode as well as 3.2.0's.
  const go = await peer(t, 'goapps');
  if (go === undefined) return;
  const started = await go.cmd('app_start'); // peer_app: loaded at start, now running with its member
  assert.equal(started.kind, 'result', JSON.stringify(started));
  const members = ((await go.cmd('app_info')).value as { group: { v: { id: number } }[] }).group;
  assert.equal(members.length, 1, 'peer_app runs one member');
  const ts = await tsFor(t, 'tsapps', go);
  const inspect = new ProcessID(SYSTEM_INSPECT, goName(go));
  const r = await ts.call(inspect, new RequestInspectApplicationList(), { timeout: 10_000 });
  assert.ok(r instanceof ResponseInspectApplicationList, `ResponseInspectApplicationList, got ${String(r)}`);
  const w = await watcher(ts);
  await w.run((self) => self.monitorEvent(r.event));
  const m = await seen(w.inbox, snapshot(MessageInspectApplicationList), 'MessageInspectApplicationList from Go');
  const list = m.message as MessageInspectApplicationList;
  assert.equal(list.node, goName(go));
  const app = list.applications?.get('peer_app');
  assert.ok(app, `peer_app listed, got ${[...(list.applications?.keys() ?? [])].join(', ')}`);
  assert.equal(app.name, 'peer_app');
  assert.equal(app.state, ApplicationState.Running);
  assert.equal(app.mode, ApplicationMode.Temporary);
  assert.deepEqual(
    (app.group ?? []).map((p) => p.id),
    members.map((p) => p.v.id),
  );
  assert.equal(app.tags, null, 'no Tags before 3.2.0');
  assert.equal(app.map, null, 'no Map before 3.2.0');
  // The system applications Go runs as well.
  assert.ok(list.applications!.size >= 1);
});

test('Go decodes the inspect types TS encodes (echo round trip through a Go node)', async (t) => {
  const go = await peer(t, 'goinsw');
  if (go === undefined) return;
  const ts: Node = await tsFor(t, 'tsinsw', go);
  const echo = new ProcessID('echo' as Atom, goName(go));
  const w = await watcher(ts);
  const pid = new PID(ts.name, 1234, ts.creation);
  const alias = new Alias(ts.name, ts.creation, [1, 2, 3]);
  const values: unknown[] = [
    new RequestInspectNode(),
    new RequestInspectProcessList({ start: 1000, limit: 500 }),
    new RequestInspectProcess({ pid }),
    new RequestInspectConnection({ remoteNode: goName(go) }),
    new RequestInspectMeta({ meta: alias }),
    new RequestInspectLog({ levels: [LogLevel.Info, LogLevel.Error] }),
    new RequestInspectApplicationTree({ application: 'app' as Atom, limit: 10 }),
    new RequestDoSend({ pid, priority: 1, message: 'hello' }),
    new RequestDoSendExit({ pid, reason: new Error('bye') }),
    new RequestDoSetLogLevelProcess({ pid, level: LogLevel.Debug }),
    new MessageInspectLogNode({ node: ts.name, creation: ts.creation, timestamp: 123n, level: 2, message: 'm' }),
    new MessageInspectLogProcess({ node: ts.name, name: 'x' as Atom, pid, timestamp: 5n, level: 3, message: 'p' }),
    new MessageInspectProcessState({ node: ts.name, pid, state: new Map([['k', 'v']]) }),
  ];
  // Snapshots of this node as its own inspectors build them (full NodeInfo, ProcessInfo, lists).
  const sys = await ts.spawnRegister(
    'system_inspect_probe',
    (await import('../src/app/system/inspect.js')).SystemInspect,
  );
  for (const [req, cls] of [
    [new RequestInspectNode(), MessageInspectNode],
    [new RequestInspectProcessList({ start: 1000, limit: 100 }), MessageInspectProcessList],
    [new RequestInspectProcess({ pid: w.pid }), MessageInspectProcess],
  ] as const) {
    const r = (await ts.call(sys, req)) as { event: Event };
    await w.run((self) => self.monitorEvent(r.event));
    const ev = await seen(w.inbox, snapshot(cls as new () => unknown), `own ${cls.name}`);
    values.push(ev.message);
  }

  for (const v of values) {
    const type = (v as object).constructor.name;
    const mark = go.mark();
    await w.run((self) => self.send(echo, v));
    const recv = await go.waitFor((l) => l.kind === 'recv' && l.process === 'echo', { since: mark, timeout: 10_000 });
    assert.equal((recv.msg as { $: string }).$, `inspect.${type}`, `Go decoded ${type}`);
    const back = await seen(
      w.inbox,
      (m: unknown): m is object =>
        m !== null && typeof m === 'object' && m.constructor.name === type && !values.includes(m),
      `${type} back from Go`,
    );
    assert.deepEqual(normalise(back), normalise(v), `${type} survives Go's decode and encode`);
    w.inbox.items.length = 0;
  }
});

/** Plain data for comparison: bigints and numbers compare by value; maps by entries; classes by fields. */
function normalise(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Map) return [...v.entries()].map(([k, x]) => [normalise(k), normalise(x)]);
  if (v instanceof Error) return v.message;
  if (v instanceof PID || v instanceof Alias || v instanceof Event || v instanceof ProcessID) return v.toString();
  if (v instanceof Date) return v.getTime();
  if (v instanceof GoTime) return Number(v.unixSeconds) * 1000 + Math.floor(v.nanoseconds / 1e6);
  if (Array.isArray(v)) return v.map(normalise);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    // handlerStartedAt: an ergo-ts addition to the process infos, not in Go's layout (not sent).
    for (const [k, x] of Object.entries(v)) if (k !== 'handlerStartedAt') o[k] = normalise(x);
    return o;
  }
  return v;
}
