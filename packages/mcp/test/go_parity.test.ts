// Issue 63 item 3: tools that answered otherwise than Go Ergo's `mcp` application
// (ergo-services/application mcp/tools_*.go), each checked here on ergo-ts nodes (the Go node's
// cases are in go.test.ts):
// - pprof_cpu: the figures cover the duration asked, by the profile's own clock (V8 starts
//   profiling before Profiler.start returns, up to seconds before in a large process);
// - pprof_goroutines: Go's debug (1 summary, 2 a line per process, default 2), limit (default
//   50, below 1 the default) and header (total counts every process);
// - app_list right after app_start says what app_info says (it read a snapshot up to 5 s old);
// - Go's defaults: app_processes.limit 100, call_process.timeout 5 s;
// - network_ping to a node without an MCP application reports the round trip of the exchange
//   that answered, and its probe of the MCP application came back at once (it waited 5 s).

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  Actor,
  ApplicationState,
  TerminateReasonShutdown,
  createApplication,
  memberSpec,
  type Node,
  type PID,
  type Ref,
} from 'ergo-ts';

import { startMcpServer } from '../src/index.js';
import { call, connect, exactly, netNode, ok, portOf, routeTo } from './helpers.js';

/** A process that does nothing. */
class Idle extends Actor {}

/** Never answers a call. */
class Mute extends Actor {
  override handleCall(_from: PID, _ref: Ref, _request: unknown): undefined {
    return undefined;
  }
}

/** An application member that starts `n` more processes of its application. */
class Crowd extends Actor {
  override async init(n: number): Promise<void> {
    for (let i = 0; i < n; i++) await this.spawn(Idle);
  }
}

const IDLE = 80;
const CROWD = 149;

let a: Node;
let b: Node;
let client: Client;

before(async () => {
  b = await netNode('mcpparb');
  a = await netNode('mcppara', [{ match: exactly(b.name), route: routeTo(portOf(b)) }]);
  for (let i = 0; i < IDLE; i++) await a.spawn(Idle);
  await a.spawnRegister('mcp_parity_mute', Mute);
  await a.applicationLoad(
    createApplication({
      name: 'parity_app',
      group: [memberSpec({ name: 'parity_member', factory: Crowd, args: [CROWD] })],
    }),
  );
  const server = await startMcpServer(a, { port: 0, actions: true });
  client = await connect(server.url);
});

after(async () => {
  await client?.close();
  await a?.stop();
  await b?.stop();
});

interface Cpu {
  duration_sec: number;
  sampled_ms: number;
  profiler_start_ms: number;
  samples: number;
  functions: { function: string; self_ms: number }[];
}

test('pprof_cpu: the profile covers the duration asked', async () => {
  const began = performance.now();
  const cpu = await ok<Cpu>(client, 'pprof_cpu', { duration: 2, limit: 1000 });
  const wall = performance.now() - began;
  assert.equal(cpu.duration_sec, 2);
  // By the profile's clock: exactly the two seconds asked (it covered 2.8-3.8 s before).
  assert.equal(cpu.sampled_ms, 2000);
  const selfMs = cpu.functions.reduce((s, f) => s + f.self_ms, 0);
  assert.ok(selfMs <= 2000 + 1, `the functions' self time (${selfMs} ms) fits the window`);
  assert.ok(cpu.samples > 0);
  // The call lasts the duration, plus V8's start of the profiler (reported), plus a bounded slack.
  assert.ok(wall >= 2000, `the call lasted ${wall} ms`);
  assert.ok(wall <= 2000 + cpu.profiler_start_ms + 10_000, `the call lasted ${wall} ms`);
});

interface Goroutines {
  header: string;
  processes: string[];
  not_shown?: number;
}

test("pprof_goroutines: Go's debug, limit and header", async () => {
  const total = a.processList().length;
  assert.ok(total > 50 + 10);
  // debug 2 by default: a line per process, every process counted, 50 shown.
  const full = await ok<Goroutines>(client, 'pprof_goroutines');
  assert.equal(full.header, `total ${total}, showing 50`);
  assert.equal(full.processes.length, 50);
  assert.equal(full.not_shown, total - 50);
  assert.match(full.processes[0]!, /^<[0-9A-F]+\.0\.\d+> \S+ \S+: /);
  // limit 0 and debug 0 are Go's defaults, not refusals.
  const zero = await ok<Goroutines>(client, 'pprof_goroutines', { limit: 0, debug: 0 });
  assert.deepEqual(zero.header, full.header);
  // debug 1: a summary, processes counted per behavior and state.
  const summary = await ok<Goroutines>(client, 'pprof_goroutines', { debug: 1, limit: 1000 });
  assert.equal(summary.header, `total ${total}, showing ${summary.processes.length}`);
  let counted = 0;
  for (const line of summary.processes) counted += Number(/^(\d+) @ \S+: /.exec(line)?.[1] ?? NaN);
  assert.equal(counted, total);
  assert.ok(summary.processes.includes(`${IDLE} @ Idle: asleep, waiting for mail`), summary.processes.join('\n'));
  // With a filter the header says how many matched.
  const idle = await ok<Goroutines>(client, 'pprof_goroutines', { filter: 'Idle', limit: 10 });
  assert.match(idle.header, new RegExp(`^total ${total}, matched \\d+, showing 10$`));
});

test('app_list right after app_start agrees with app_info', async () => {
  const state = async (): Promise<{ list: string; info: string }> => {
    const list = await ok<{ applications: { name: string; state: string }[] }>(client, 'app_list');
    const info = await ok<{ state: string }>(client, 'app_info', { name: 'parity_app' });
    return { list: list.applications.find((x) => x.name === 'parity_app')!.state, info: info.state };
  };
  assert.deepEqual(await state(), { list: 'loaded', info: 'loaded' });
  await ok(client, 'app_start', { application: 'parity_app' });
  assert.deepEqual(await state(), { list: 'running', info: 'running' });
});

test("Go's defaults: app_processes.limit 100 (below 1 too), call_process.timeout 5 s", async () => {
  if (a.applicationInfo('parity_app').state !== ApplicationState.Running)
    await ok(client, 'app_start', { application: 'parity_app' });
  const rows = async (args: Record<string, unknown>): Promise<number> =>
    (await ok<{ processes: unknown[] }>(client, 'app_processes', { name: 'parity_app', ...args })).processes.length;
  assert.equal(await rows({}), 100);
  assert.equal(await rows({ limit: 0 }), 100);
  assert.equal(await rows({ limit: 120 }), 120);
  assert.equal(await rows({ limit: 1000 }), CROWD + 1);
  const late = await call(client, 'call_process', { to: 'mcp_parity_mute', request: 'hello?' });
  assert.equal(late.isError, true);
  assert.match(late.text, /ERR_MCP_TIMEOUT: .* did not answer within 5 s/);
});

test('network_ping to a node without an MCP application: the real round trip, no waited-out probe', async () => {
  const r = await ok<{ rtt_ms: number; elapsed_ms: number; via: string; probe: string }>(client, 'network_ping', {
    name: b.name,
  });
  assert.equal(r.via, 'system_inspect');
  assert.match(r.probe, /^mcp_server: not running there \(ERR_PROCESS_UNKNOWN/);
  assert.ok(r.rtt_ms > 0 && r.rtt_ms <= r.elapsed_ms, JSON.stringify(r));
  // With an MCP application there: that is what answers.
  const other = await startMcpServer(b, { agent: true });
  const viaMcp = await ok<{ via: string; rtt_ms: number; elapsed_ms: number }>(client, 'network_ping', {
    name: b.name,
  });
  assert.equal(viaMcp.via, 'mcp_server');
  assert.ok(viaMcp.rtt_ms <= viaMcp.elapsed_ms);
  b.sendExit(other.pid, TerminateReasonShutdown);
});
