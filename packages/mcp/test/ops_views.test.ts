// The operator's views (issue 63 item 4) through the MCP SDK's own client, each against a node
// doing something known: a process spinning in its handler tops `process_top` by running time and
// one holding 30 messages by mailbox; a child that crashes 3 times shows 3 restarts in
// `supervisor_history`, each with the error it threw; `process_crashes` keeps an unsupervised
// process's crash after it ended, on this node and another; `log_search` finds records by text, level, process and time; the trace
// tools follow several processes (or an application) under their caps; `meta_overview` lists the
// server's own web server and the connection to another node with its bytes. Bad arguments get
// stable codes, and the node answers after all of it.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import {
  Actor,
  createApplication,
  Supervisor,
  SupervisorStrategy,
  SupervisorType,
  type Node,
  type PID,
  type SupervisorSpec,
} from 'ergo-ts';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

import { createMcpApplication, type McpApplication } from '../src/index.js';
import { call, connect, exactly, netNode, ok, portOf, routeTo } from './helpers.js';

/** Told `n`, spins 5 ms in its handler every 10 ms, n times: time in handlers while top measures. */
class Spinner extends Actor {
  override handleMessage(_from: PID, m: unknown): void {
    if (typeof m !== 'number' || m <= 0) return;
    const end = performance.now() + 5;
    while (performance.now() < end);
    this.sendAfter(this.pid, m - 1, 10);
  }
}

let release: () => void = () => undefined;

/** Holds its mailbox: its first message's handler waits until the test lets go. */
class Holder extends Actor {
  #held = false;
  override async handleMessage(): Promise<void> {
    if (this.#held) return;
    this.#held = true;
    await new Promise<void>((resolve) => (release = resolve));
  }
}

/** Throws on any message: its supervisor restarts it. */
class Crashy extends Actor {
  override handleMessage(): void {
    throw new Error('crashy crashed (on purpose)');
  }
}

class CrashySup extends Supervisor {
  override init(): SupervisorSpec {
    return {
      type: SupervisorType.OneForOne,
      children: [{ name: 'ops_crashy', factory: Crashy }],
      restart: { strategy: SupervisorStrategy.Transient, intensity: 10, period: 3600 },
    };
  }
}

/** Logs what it is told (for log_search), answers nothing. */
class Talker extends Actor {
  override handleMessage(_from: PID, m: unknown): void {
    if (typeof m === 'string' && m.startsWith('warn ')) this.log.warning('%s', m.slice(5));
    else if (typeof m === 'string' && m.startsWith('info ')) this.log.info('%s', m.slice(5));
  }
}

class Quiet extends Actor {}

let a: Node;
let b: Node;
let app: McpApplication;
let client: Client;

before(async () => {
  b = await netNode('opsb');
  app = createMcpApplication({ port: 0 });
  a = await netNode('opsa', [{ match: exactly(b.name), route: routeTo(portOf(b)) }], {
    applications: [app],
    log: { level: 'info', defaultLogger: { disable: true } },
  });
  client = await connect(app.url!);
});

after(async () => {
  release();
  await client?.close();
  await a?.stop();
  await b?.stop();
});

test('process_top: the process spinning in its handler first by running time, the one holding 30 messages first by mailbox', async () => {
  const spinner = await a.spawnRegister('ops_spinner', Spinner);
  const holder = await a.spawnRegister('ops_holder', Holder);
  for (let i = 0; i < 31; i++) a.send(holder, i);
  const top = ok<{ processes: { pid: string; name: string; runningMsPerSec: number }[]; interval_ms: number }>(
    client,
    'process_top',
    { interval_ms: 1000, limit: 5 },
  );
  a.send(spinner, 400);
  const byRunning = await top;
  assert.equal(byRunning.interval_ms, 1000);
  assert.equal(byRunning.processes[0]!.name, 'ops_spinner', JSON.stringify(byRunning.processes));
  assert.ok(byRunning.processes[0]!.runningMsPerSec > 0);
  assert.equal(byRunning.processes.length, 5, 'limit');
  const byMailbox = await ok<{ processes: { name: string; mailbox: number }[] }>(client, 'process_top', {
    sort_by: 'mailbox',
    interval_ms: 0,
  });
  assert.equal(byMailbox.processes[0]!.name, 'ops_holder');
  assert.equal(byMailbox.processes[0]!.mailbox, 30, 'the 30 messages behind the one being handled');
  assert.equal(byMailbox.processes.length, Math.min(10, a.processList().length), 'default limit 10');
  release();
});

test('supervisor_history: a child that crashed 3 times shows 3 restarts, with reason, time and the count in the window', async () => {
  const t0 = Date.now();
  const sup = await a.spawnRegister('ops_sup', CrashySup);
  for (let n = 1; n <= 3; n++) {
    const child = a.processPID('ops_crashy');
    a.send(child, 'crash');
    await eventually(() => !a.processPID('ops_crashy').equals(child), `ops_crashy restarted (${n})`);
  }
  const h = await ok<{
    strategy: string;
    intensity: number;
    period_sec: number;
    restarts_in_window: number;
    exits_recorded: number;
    history: {
      child: string;
      reason: string;
      error?: string;
      action: string;
      restarts: number;
      at: number;
      time: string;
    }[];
  }>(client, 'supervisor_history', { pid: 'ops_sup' });
  assert.equal(h.strategy, 'Transient');
  assert.equal(h.intensity, 10);
  assert.equal(h.period_sec, 3600);
  assert.equal(h.restarts_in_window, 3);
  assert.equal(h.exits_recorded, 3);
  assert.deepEqual(
    h.history.map((r) => [r.child, r.action, r.restarts]),
    [
      ['ops_crashy', 'restart', 1],
      ['ops_crashy', 'restart', 2],
      ['ops_crashy', 'restart', 3],
    ],
  );
  for (const r of h.history) {
    assert.equal(r.reason, 'panic', 'a handler that throws ends its process with panic, as in Go');
    assert.equal(r.error, 'crashy crashed (on purpose)', 'and what it threw beside it');
    assert.ok(r.at >= t0 && r.at <= Date.now());
    assert.equal(r.time, new Date(r.at).toISOString());
  }
  const one = await ok<{ history: unknown[] }>(client, 'supervisor_history', { pid: String(sup), limit: 1 });
  assert.equal(one.history.length, 1);
  // Not a supervisor: a stable refusal.
  const quiet = await a.spawnRegister('ops_not_sup', Quiet);
  const r = await call(client, 'supervisor_history', { pid: String(quiet) });
  assert.match(r.text, /^ERR_MCP_REFUSED: .*no restart_history/);
});

test('process_crashes: an unsupervised crash is kept after its process ended, here and on another node', async () => {
  const lone = await a.spawn(Crashy);
  a.send(lone, 'crash');
  await eventually(() => !a.processList().some((p) => p.equals(lone)), 'the lone process ended');
  type Crashes = {
    node: string;
    kept: number;
    crashes: { pid: string; behavior: string; reason: string; error?: string; where?: string; time: string }[];
  };
  const mine = await ok<Crashes>(client, 'process_crashes', { pid: String(lone) });
  assert.equal(mine.node, a.name);
  assert.equal(mine.crashes.length, 1);
  const [c] = mine.crashes;
  assert.equal(c!.pid, String(lone));
  assert.equal(c!.behavior, 'Crashy');
  assert.equal(c!.reason, 'panic');
  assert.equal(c!.error, 'crashy crashed (on purpose)');
  assert.match(c!.where ?? '', /handler/);
  assert.ok(mine.kept >= 1);
  const newest = await ok<Crashes>(client, 'process_crashes', { limit: 1 });
  assert.equal(newest.crashes.length, 1);
  // On the other node, through the inspector protocol.
  const there = await b.spawn(Crashy);
  b.send(there, 'crash');
  await eventually(() => !b.processList().some((p) => p.equals(there)), 'the remote process ended');
  const remote = await ok<Crashes>(client, 'process_crashes', { node: b.name, pid: String(there) });
  assert.equal(remote.node, b.name);
  assert.equal(remote.crashes[0]?.error, 'crashy crashed (on purpose)');
  const bad = await call(client, 'process_crashes', { pid: 'nope' });
  assert.match(bad.text, /^ERR_MCP_BAD_ARGUMENT: pid/);
});

test('log_search: by text, level, process and time range', async () => {
  const talker = await a.spawnRegister('ops_talker', Talker);
  // A millisecond before the first record (`to` is inclusive).
  const before = new Date(Date.now() - 1).toISOString();
  a.send(talker, 'warn needle one');
  a.send(talker, 'info needle two');
  a.log.warning('needle three (from the node)');
  const all = await eventually(async () => {
    const found = await ok<{ matched: number; records: { message: string; level: string; name?: string }[] }>(
      client,
      'log_search',
      { text: 'NEEDLE' },
    );
    assert.equal(found.matched, 3);
    return found;
  }, 'the three needles in the ring');
  assert.deepEqual(all.records.map((r) => r.message).sort(), [
    'needle one',
    'needle three (from the node)',
    'needle two',
  ]);
  const warnings = await ok<{ records: { message: string }[] }>(client, 'log_search', {
    text: 'needle',
    levels: ['warning'],
  });
  assert.deepEqual(warnings.records.map((r) => r.message).sort(), ['needle one', 'needle three (from the node)']);
  const byName = await ok<{ records: { message: string }[] }>(client, 'log_search', { process: 'ops_talker' });
  assert.deepEqual(
    byName.records.map((r) => r.message),
    ['needle one', 'needle two'],
  );
  const byPid = await ok<{ matched: number }>(client, 'log_search', { process: String(talker), text: 'two' });
  assert.equal(byPid.matched, 1);
  const early = await ok<{ matched: number }>(client, 'log_search', { text: 'needle', to: before });
  assert.equal(early.matched, 0, 'nothing before the first needle');
  const late = await ok<{ matched: number }>(client, 'log_search', {
    text: 'needle',
    from: before,
    last_sec: undefined,
  });
  assert.equal(late.matched, 3);
  const recent = await ok<{ matched: number }>(client, 'log_search', { text: 'needle', last_sec: 3600, limit: 1 });
  assert.equal(recent.matched, 3);
});

test('process_trace and app_trace: several processes at once, under max_processes, rate and count', async () => {
  const e1 = await a.spawnRegister('ops_e1', Quiet);
  const e2 = await a.spawnRegister('ops_e2', Quiet);
  // Messages keep coming while the trace runs; it ends at its count.
  const feed = setInterval(() => {
    a.send(e1, { to: 'e1' });
    a.send(e2, { to: 'e2' });
  }, 20);
  try {
    const tr = await ok<{
      end: string;
      kept: number;
      per_process_rate: number;
      processes_traced: number;
      records: { pid: string; name: string; dir: string; text: string }[];
    }>(client, 'process_trace', { pids: ['ops_e1', String(e2)], count: 6, rate: 100, duration: 30 });
    assert.equal(tr.end, 'count');
    assert.equal(tr.kept, 6);
    assert.equal(tr.processes_traced, 2);
    assert.equal(tr.per_process_rate, 50);
    const names = new Set(tr.records.map((r) => r.name));
    assert.deepEqual([...names].sort(), ['ops_e1', 'ops_e2'], 'both processes traced');
    assert.ok(tr.records.every((r) => r.dir === 'in' && /e[12]/.test(r.text)));
    // The rate is shared: 2 a second over 2 processes is 1 a second each, the rest dropped.
    const slow = await ok<{ per_process_rate: number; dropped: number; kept: number; end: string }>(
      client,
      'process_trace',
      { pids: ['ops_e1', 'ops_e2'], rate: 2, duration: 2 },
    );
    assert.equal(slow.per_process_rate, 1);
    assert.equal(slow.end, 'time');
    assert.ok(slow.dropped > 0, 'over the rate: dropped');
    assert.ok(slow.kept <= 6, `at most 1 a second each over 2 s (a window may straddle): ${slow.kept}`);
  } finally {
    clearInterval(feed);
  }
  const over = await call(client, 'process_trace', { pids: ['ops_e1', 'ops_e2', 'ops_talker'], max_processes: 2 });
  assert.match(over.text, /^ERR_MCP_BAD_ARGUMENT: pids: 3 processes named, over max_processes 2/);
  const gone = await call(client, 'process_trace', { pids: ['nobody_here'] });
  assert.match(gone.text, /^ERR_MCP_REFUSED: /);

  await a.applicationLoad(
    createApplication({
      name: 'ops_app',
      group: [
        { name: 'ops_app_1', factory: Quiet },
        { name: 'ops_app_2', factory: Quiet },
        { name: 'ops_app_3', factory: Quiet },
      ],
    }),
  );
  await a.applicationStart('ops_app');
  const at = await ok<{ processes_traced: number; skipped: { reason: string }[]; end: string; application: string }>(
    client,
    'app_trace',
    { application: 'ops_app', max_processes: 2, duration: 1 },
  );
  assert.equal(at.application, 'ops_app');
  assert.equal(at.processes_traced, 2);
  assert.equal(at.skipped.length, 1);
  assert.match(at.skipped[0]!.reason, /over max_processes \(2\)/);
  assert.equal(at.end, 'time');
  const noApp = await call(client, 'app_trace', { application: 'no_such_app' });
  assert.match(noApp.text, /^ERR_MCP_REFUSED: .*no running application no_such_app/);
});

test("meta_overview: the server's web server, and the connection to another node with its bytes", async () => {
  await ok(client, 'node_info', { node: b.name }); // connects a to b
  const o = await ok<{
    metasTotal: number;
    metas: { alias: string; behavior: string; parentName: string; address: string; uptime: number }[];
    connections: { node: string; bytesIn: number; bytesOut: number; messagesIn: number; connectionUptime: number }[];
  }>(client, 'meta_overview', {});
  assert.ok(o.metasTotal >= 1);
  const web = o.metas.find((m) => m.parentName === 'mcp_server');
  assert.ok(web !== undefined, JSON.stringify(o.metas));
  assert.ok(web.address.includes(new URL(app.url!).port), `its address: ${web.address}`);
  const c = o.connections.find((x) => x.node === b.name);
  assert.ok(c !== undefined, JSON.stringify(o.connections));
  assert.ok(c.bytesIn > 0 && c.bytesOut > 0 && c.messagesIn > 0, JSON.stringify(c));
  const limited = await ok<{ metas: unknown[] }>(client, 'meta_overview', { limit: 1 });
  assert.equal(limited.metas.length, 1);
});

test('bad arguments: stable codes, and the node goes on answering', async () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['process_top', { sort_by: 'memory' }, /sort_by/],
    ['process_top', { limit: 0 }, /limit/],
    ['process_top', { interval_ms: 60_000 }, /interval_ms/],
    ['supervisor_history', {}, /pid/],
    ['log_search', { from: 'yesterday-ish' }, /^ERR_MCP_BAD_ARGUMENT: from: not a time/],
    [
      'log_search',
      { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' },
      /^ERR_MCP_BAD_ARGUMENT: to: before from/,
    ],
    ['log_search', { from: '2026-01-02T00:00:00Z', last_sec: 5 }, /^ERR_MCP_BAD_ARGUMENT: from and last_sec/],
    ['process_trace', { pids: [] }, /pids/],
    ['process_trace', { pids: ['ops_e1'], rate: 0 }, /rate/],
    ['process_trace', { pids: ['ops_e1'], duration: 31 }, /duration/],
    ['app_trace', {}, /application/],
    ['meta_overview', { limit: 1001 }, /limit/],
  ];
  for (const [name, args, expected] of cases) {
    const r = await call(client, name, args);
    assert.equal(r.isError, true, `${name} ${JSON.stringify(args)}: ${r.text}`);
    assert.match(r.text, expected, `${name} ${JSON.stringify(args)}: ${r.text}`);
  }
  assert.equal((await ok(client, 'node_info')).name, a.name);
});
