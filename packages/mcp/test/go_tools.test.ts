// Go Ergo's `mcp` application's tool set on an ergo-ts node, through the MCP SDK's own client:
// tools/list has every one of Go's 48 tools with exactly Go's arguments (kept below, read from
// ergo-services/application mcp/tools_*.go) plus ours (log_tail, app_start, app_stop); every
// tool answers on an ergo-ts node; each refuses bad arguments with a clear error while the session
// goes on; the cluster proxy runs a tool on another node's MCP application (agent mode), and a
// tool that needs one says so where there is none; the CPU profile puts a known hot function on
// top and the heap profile shows a known allocation.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { freeTcpUdpPort } from '@ergo-ts/test-support';
import { Actor, startNode, type Atom, type Node, type NodeOptions, type PID } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

import { createMcpApplication, type McpApplication } from '../src/index.js';
import { COOKIE, call, connect, netNode, ok, portOf, routeTo } from './helpers.js';

/** Go Ergo's `mcp` application (ergo-services/application, mcp/tools_*.go): each tool's own arguments (every tool also takes `node` and `timeout`). */
export const GO_TOOLS: Record<string, string[]> = {
  message_types: ['filter'],
  message_type_info: ['type_name'],
  send_message: ['important', 'message', 'to', 'type_name'],
  call_process: ['important', 'request', 'timeout', 'to', 'type_name'],
  send_exit: ['pid', 'reason'],
  process_kill: ['pid'],
  app_list: ['min_uptime', 'mode', 'name', 'state'],
  app_info: ['name'],
  app_processes: ['limit', 'name'],
  cron_info: [],
  cron_job: ['name'],
  cron_schedule: ['duration_seconds'],
  pprof_goroutines: ['debug', 'exclude', 'filter', 'limit', 'pid'],
  pprof_cpu: ['duration', 'exclude', 'filter', 'limit'],
  pprof_heap: ['exclude', 'filter', 'limit'],
  runtime_stats: [],
  event_list: [
    'has_buffer',
    'limit',
    'max_published',
    'max_subscribers',
    'min_local_sent',
    'min_published',
    'min_remote_sent',
    'min_subscribers',
    'name',
    'notify',
    'producer',
    'sort_by',
    'utilization_state',
  ],
  event_info: ['name'],
  log_level_get: ['target'],
  log_level_set: ['level', 'target'],
  loggers_list: [],
  network_info: [],
  network_nodes: [
    'min_bytes_in',
    'min_bytes_out',
    'min_connection_uptime',
    'min_messages_in',
    'min_messages_out',
    'min_uptime',
    'name',
  ],
  network_node_info: ['name'],
  network_acceptors: [],
  network_connect: ['name'],
  network_connect_route: ['cookie', 'host', 'insecure_skip_verify', 'name', 'port', 'tls'],
  network_disconnect: ['name'],
  network_ping: ['name'],
  node_info: [],
  node_env: [],
  process_list: [
    'application',
    'behavior',
    'limit',
    'max_uptime',
    'min_init_time_ms',
    'min_mailbox',
    'min_mailbox_latency_ms',
    'min_messages_in',
    'min_messages_out',
    'min_running_time_ms',
    'min_uptime',
    'min_wakeups',
    'name',
    'sort_by',
    'state',
  ],
  process_children: ['parent', 'recursive'],
  process_info: ['pid'],
  process_state: ['pid'],
  process_lookup: ['name', 'pid'],
  process_inspect: ['items', 'pid'],
  meta_inspect: ['alias', 'items'],
  registrar_info: [],
  registrar_resolve: ['name'],
  registrar_resolve_proxy: ['name'],
  registrar_resolve_app: ['name'],
  cluster_nodes: [],
  sample_start: [
    'arguments',
    'buffer_size',
    'count',
    'duration_sec',
    'interval_ms',
    'linger_sec',
    'max_errors',
    'tool',
  ],
  sample_listen: ['buffer_size', 'duration_sec', 'event', 'event_node', 'linger_sec', 'log_levels', 'log_source'],
  sample_read: ['sampler_id', 'since'],
  sample_stop: ['sampler_id'],
  sample_list: [],
};

/** Ours, under names Go does not use. */
const OURS: Record<string, string[]> = {
  log_tail: ['levels', 'limit', 'since', 'wait'],
  app_start: ['application', 'mode'],
  app_stop: ['application', 'force'],
  process_top: ['sort_by', 'interval_ms', 'limit'],
  supervisor_history: ['pid', 'limit'],
  process_crashes: ['pid', 'limit'],
  log_search: ['text', 'levels', 'process', 'from', 'to', 'last_sec', 'limit'],
  process_trace: ['pids', 'max_processes', 'rate', 'count', 'duration'],
  app_trace: ['application', 'max_processes', 'rate', 'count', 'duration'],
  meta_overview: ['limit'],
  workflow_list: [
    'entities',
    'workflow',
    'status',
    'attributes',
    'startedAfter',
    'startedBefore',
    'endedAfter',
    'endedBefore',
    'limit',
    'cursor',
    'after',
  ],
  workflow_describe: ['entities', 'workflow', 'id'],
  workflow_cancel: ['entities', 'workflow', 'id', 'reason'],
  workflow_resume: ['entities', 'workflow', 'id'],
  workflow_signal: ['entities', 'workflow', 'id', 'name', 'payload', 'signal_id'],
  workflow_update: ['entities', 'workflow', 'id', 'name', 'input', 'update_id'],
  workflow_reset: ['entities', 'workflow', 'id', 'to_seq', 'reason'],
  workflow_stats: ['entities', 'workflow', 'scope'],
  workflow_queues: ['entities', 'queue'],
  workflow_terminate: ['entities', 'workflow', 'id', 'reason'],
  workflow_batch_count: [
    'entities',
    'workflow',
    'status',
    'attributes',
    'startedAfter',
    'startedBefore',
    'endedAfter',
    'endedBefore',
    'action',
    'reason',
    'signal',
    'payload',
    'toSeq',
  ],
  workflow_batch_start: [
    'entities',
    'workflow',
    'status',
    'attributes',
    'startedAfter',
    'startedBefore',
    'endedAfter',
    'endedBefore',
    'action',
    'reason',
    'signal',
    'payload',
    'toSeq',
    'confirm',
    'batchId',
    'pageSize',
  ],
  workflow_batch_describe: ['entities', 'batchId'],
  workflow_batch_cancel: ['entities', 'batchId'],
  dead_letters: ['entities', 'kind', 'limit'],
  dead_letter_retry: ['entities', 'kind', 'key', 'id'],
  dead_letter_drop: ['entities', 'kind', 'key', 'id'],
  schedule_list: ['entities', 'workflow', 'status', 'limit'],
  schedule_describe: ['entities', 'id', 'next'],
  schedule_create: ['entities', 'id', 'workflow', 'spec', 'input', 'policies', 'paused', 'note'],
  schedule_pause: ['entities', 'id', 'note'],
  schedule_unpause: ['entities', 'id', 'note'],
  schedule_trigger: ['entities', 'id', 'overlap'],
  schedule_backfill: ['entities', 'id', 'start', 'end', 'overlap'],
  schedule_update: ['entities', 'id', 'spec', 'policies', 'input', 'note'],
  schedule_delete: ['entities', 'id'],
};

const TOKEN = 'go-tools-token';

/** Burns CPU in slices (the event loop stays free between them) while `hot` is set. */
let hot = false;
let sink = 0;
function mcpTestHotFunction(): void {
  if (!hot) return;
  let x = 0;
  for (let i = 0; i < 200_000; i++) {
    x += Math.sqrt(i * 7) / ((i % 13) + 1);
  }
  sink += x % 1e9;
}

// Called through one call site with more targets than V8 inlines (it inlines up to four): the
// hot function keeps its own frame, so the profile can name it (an inlined one is counted in its
// caller, as in any V8 profile).
const calls: (() => void)[] = [
  mcpTestHotFunction,
  () => void (sink += 1),
  () => void (sink += 2),
  () => void (sink += 3),
  () => void (sink += 4),
  () => void (sink += 5),
];

/** A process that runs the hot function for each message it sends itself, while `hot` is set. */
class Hot extends Actor {
  override handleMessage(): void {
    if (!hot) return;
    for (const f of calls) f();
    this.send(this.pid, 'again');
  }
}

/** Objects kept alive: what the heap profile must show under this function's name. */
const kept: unknown[] = [];
function mcpTestRetainedAllocation(): void {
  for (let i = 0; i < 4000; i++) kept.push(new Array(256).fill(i));
}

/** Answers calls with what it was asked, doubled; has an inspect state and an event. */
class Echo extends Actor {
  override init(): void {
    this.registerEvent('go_tools_event', { buffer: 2 });
  }
  override handleCall(_from: PID, _ref: unknown, request: unknown): unknown {
    return { echo: request };
  }
  override handleInspect(): Record<string, string> {
    return { role: 'echo' };
  }
}

/** A process to kill. */
class Victim extends Actor {}

let a: Node;
let b: Node;
let appA: McpApplication;
let client: Client;
let echo: PID;

/** A node on a free port whose registrar is the embedded one on `registrar` (the first node serves it). */
function registrarNode(prefix: string, registrar: number, extra: Omit<NodeOptions, 'network'>): Promise<Node> {
  return startNode(`${prefix}${process.pid}@localhost`, {
    ...extra,
    log: { level: 'warning' },
    network: {
      cookie: COOKIE,
      acceptors: [{ host: '127.0.0.1', port: 0 }],
      registrar: createEmbeddedRegistrar({ port: registrar }),
    },
  });
}

before(async () => {
  const registrar = await freeTcpUdpPort();
  appA = createMcpApplication({ port: 0, token: TOKEN, actions: true });
  a = await registrarNode('gta', registrar, { applications: [appA], env: { GO_TOOLS_ENV: 'yes' } });
  b = await registrarNode('gtb', registrar, { applications: [createMcpApplication({ agent: true })] });
  echo = await a.spawnRegister('go_tools_echo', Echo);
  a.cron().addJob({
    name: 'go_tools_job' as Atom,
    spec: '@hourly',
    action: { do: () => undefined, info: () => 'noop' },
  });
  client = await connect(appA.url!, TOKEN);
});

after(async () => {
  hot = false;
  await client?.close();
  await a?.stop();
  await b?.stop();
});

test("tools/list: Go's 48 tools with Go's arguments, and ours", async () => {
  const { tools } = await client.listTools();
  const listed = new Map(tools.map((t) => [t.name, Object.keys(t.inputSchema.properties ?? {}).sort()]));
  assert.equal(Object.keys(GO_TOOLS).length, 48);
  assert.deepEqual([...listed.keys()].sort(), [...Object.keys(GO_TOOLS), ...Object.keys(OURS)].sort());
  for (const [name, args] of Object.entries({ ...GO_TOOLS, ...OURS }))
    assert.deepEqual(listed.get(name), [...new Set([...args, 'node', 'timeout'])].sort(), `${name}'s arguments`);
});

test('every tool answers on an ergo-ts node', async () => {
  await a.network().getNode(b.name);
  const sampler = await ok<{ sampler_id: string }>(client, 'sample_start', {
    tool: 'node_info',
    interval_ms: 100,
    count: 2,
    linger_sec: 30,
  });
  const listener = await ok<{ sampler_id: string }>(client, 'sample_listen', { log_levels: ['warning'] });
  a.log.warning('go tools sampled warning');
  const calls: [string, Record<string, unknown>][] = [
    ['node_info', {}],
    ['node_env', {}],
    ['process_list', { sort_by: 'mailbox', limit: 5, min_uptime: 0 }],
    ['process_children', { parent: 'system_sup', recursive: true }],
    ['process_info', { pid: 'go_tools_echo' }],
    ['process_state', { pid: 'go_tools_echo' }],
    ['process_lookup', { name: 'go_tools_echo' }],
    ['process_inspect', { pid: 'go_tools_echo' }],
    ['meta_inspect', { alias: '__meta__' }],
    ['app_list', { state: 'running' }],
    ['app_info', { name: 'mcp_app' }],
    ['app_processes', { name: 'mcp_app' }],
    ['event_list', { sort_by: 'subscribers' }],
    ['event_info', { name: 'go_tools_event' }],
    ['network_info', {}],
    ['network_nodes', {}],
    ['network_node_info', { name: b.name }],
    ['network_acceptors', {}],
    ['network_connect', { name: b.name }],
    ['network_connect_route', { name: b.name, host: '127.0.0.1', port: portOf(b) }],
    ['network_ping', { name: b.name }],
    ['cron_info', {}],
    ['cron_job', { name: 'go_tools_job' }],
    ['cron_schedule', { duration_seconds: 120 }],
    ['registrar_info', {}],
    ['registrar_resolve', { name: b.name }],
    ['registrar_resolve_proxy', { name: b.name }],
    ['registrar_resolve_app', { name: 'mcp_app' }],
    ['cluster_nodes', {}],
    ['pprof_goroutines', { debug: 1, limit: 5 }],
    ['pprof_cpu', { duration: 1, limit: 5 }],
    ['pprof_heap', { limit: 5 }],
    ['runtime_stats', {}],
    ['sample_read', { sampler_id: sampler.sampler_id }],
    ['sample_list', {}],
    ['log_level_get', { target: 'go_tools_echo' }],
    ['loggers_list', {}],
    ['log_tail', { limit: 5 }],
    ['process_top', { interval_ms: 0, limit: 3 }],
    ['supervisor_history', { pid: 'go_tools_echo' }],
    ['process_crashes', {}],
    ['log_search', { text: 'x', limit: 5 }],
    ['process_trace', { pids: ['go_tools_echo'], duration: 1 }],
    ['app_trace', { application: 'mcp_app', duration: 1 }],
    ['meta_overview', {}],
    ['message_types', { filter: 'gen' }],
    ['message_type_info', { type_name: 'MessageInspectNode' }],
    ['send_message', { to: 'go_tools_echo', message: { hello: 1 } }],
    ['call_process', { to: 'go_tools_echo', request: { n: 2 } }],
    ['log_level_set', { level: 'info', target: 'go_tools_echo' }],
    ['send_exit', { pid: 'go_tools_echo', reason: 'normal' }],
    ['sample_stop', { sampler_id: listener.sampler_id }],
    ['network_disconnect', { name: b.name }],
    ['app_stop', { application: 'mcp_app_none' }],
    ['app_start', { application: 'mcp_app_none' }],
    ['process_kill', { pid: 'go_tools_victim' }],
    // This node runs no entities runtime: each answers ERR_MCP_UNSUPPORTED (workflows.test.ts runs them on one).
    ['workflow_list', { workflow: 'w' }],
    ['workflow_describe', { workflow: 'w', id: 'i' }],
    ['workflow_cancel', { workflow: 'w', id: 'i' }],
    ['workflow_resume', { workflow: 'w', id: 'i' }],
    ['workflow_signal', { workflow: 'w', id: 'i', name: 's', payload: 1 }],
    ['workflow_update', { workflow: 'w', id: 'i', name: 'u', input: 1 }],
    ['workflow_reset', { workflow: 'w', id: 'i', to_seq: 0 }],
    ['workflow_stats', {}],
    ['workflow_queues', {}],
    ['workflow_terminate', { workflow: 'w', id: 'i' }],
    ['workflow_batch_count', { workflow: 'w', action: 'cancel' }],
    ['workflow_batch_start', { workflow: 'w', action: 'cancel', confirm: 0 }],
    ['workflow_batch_describe', { batchId: 'b' }],
    ['workflow_batch_cancel', { batchId: 'b' }],
    ['dead_letters', {}],
    ['dead_letter_retry', { kind: 'k', key: 'k', id: 'm' }],
    ['dead_letter_drop', { kind: 'k', key: 'k', id: 'm' }],
    ['schedule_list', {}],
    ['schedule_describe', { id: 's' }],
    ['schedule_create', { id: 's', workflow: 'w', spec: { everyMs: 60_000 }, input: 1 }],
    ['schedule_pause', { id: 's', note: 'n' }],
    ['schedule_unpause', { id: 's' }],
    ['schedule_trigger', { id: 's' }],
    ['schedule_backfill', { id: 's', start: 0, end: 60_000 }],
    ['schedule_update', { id: 's', note: 'n' }],
    ['schedule_delete', { id: 's' }],
  ];
  // A meta process to inspect: the MCP server's own web server.
  const server = (await ok<{ metas: string[] }>(client, 'process_info', { pid: 'mcp_server' })).metas;
  const victim = await a.spawnRegister('go_tools_victim', Victim);
  // Refusals that are answers: no such application; the embedded registrar resolves neither
  // proxy nor application routes (a registrar such as etcd's or Saturn's does).
  // (supervisor_history of a process that is not a supervisor: refused.)
  const expectedErrors = new Set([
    'app_stop',
    'app_start',
    'registrar_resolve_proxy',
    'registrar_resolve_app',
    'supervisor_history',
    'workflow_list',
    'workflow_describe',
    'workflow_cancel',
    'workflow_resume',
    'workflow_signal',
    'workflow_update',
    'workflow_reset',
    'workflow_stats',
    'workflow_queues',
    'workflow_terminate',
    'workflow_batch_count',
    'workflow_batch_start',
    'workflow_batch_describe',
    'workflow_batch_cancel',
    'dead_letters',
    'dead_letter_retry',
    'dead_letter_drop',
    ...Object.keys(OURS).filter((n) => n.startsWith('schedule_')),
  ]);
  const seen = new Set<string>(['sample_start', 'sample_listen']);
  for (const [name, args0] of calls) {
    const args = name === 'meta_inspect' ? { alias: server[0] } : args0;
    const r = await call(client, name, args);
    seen.add(name);
    if (expectedErrors.has(name)) {
      assert.equal(r.isError, true, `${name}: ${r.text}`);
      assert.match(
        r.text,
        /^(workflow_|dead_letter|schedule_)/.test(name) ? /^ERR_MCP_UNSUPPORTED: / : /^ERR_MCP_REFUSED: /,
        name,
      );
      continue;
    }
    assert.equal(r.isError, false, `${name} ${JSON.stringify(args)}: ${r.text}`);
    if (name === 'process_state') assert.equal((r.json as { state: string }).state, 'Sleep');
    if (name === 'process_inspect') assert.deepEqual((r.json as { state: unknown }).state, { role: 'echo' });
    if (name === 'call_process') assert.deepEqual((r.json as { response: unknown }).response, { echo: { n: 2 } });
    if (name === 'node_env') assert.equal((r.json as { env: Record<string, string> }).env.GO_TOOLS_ENV, 'yes');
    if (name === 'sample_read') {
      const read = r.json as { samples: unknown[]; mode: string };
      assert.equal(read.mode, 'active');
    }
  }
  assert.deepEqual([...seen].sort(), [...Object.keys(GO_TOOLS), ...Object.keys(OURS)].sort());
  assert.ok(!a.processList().some((p) => p.equals(victim)), 'process_kill ended the victim');
  void echo;
});

test('the samplers: active keeps each answer, passive keeps log records, both linger after completing', async () => {
  const s = await ok<{ sampler_id: string }>(client, 'sample_start', {
    tool: 'process_list',
    arguments: { sort_by: 'mailbox', limit: 2 },
    interval_ms: 100,
    count: 3,
    linger_sec: 30,
  });
  const l = await ok<{ sampler_id: string }>(client, 'sample_listen', { log_levels: ['error'], duration_sec: 60 });
  const marker = `go tools sampled error ${process.pid}`;
  let read: { completed: boolean; samples: { sequence: number; data: unknown }[] } = { completed: false, samples: [] };
  for (let i = 0; i < 200 && !read.completed; i++) {
    read = await ok(client, 'sample_read', { sampler_id: s.sampler_id });
    if (!read.completed) await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(read.completed, true);
  assert.deepEqual(
    read.samples.map((x) => x.sequence),
    [1, 2, 3],
  );
  const later = await ok<{ samples: unknown[] }>(client, 'sample_read', { sampler_id: s.sampler_id, since: 2 });
  assert.equal(later.samples.length, 1);
  const list = await ok<{ samplers: { id: string; status: string }[] }>(client, 'sample_list');
  assert.match(list.samplers.find((x) => x.id === s.sampler_id)!.status, /completed .*lingering \d+s/);
  a.log.error('%s', marker);
  let got: { samples: { data: { message: string } }[] } = { samples: [] };
  for (let i = 0; i < 200 && !got.samples.some((x) => x.data.message === marker); i++) {
    got = await ok(client, 'sample_read', { sampler_id: l.sampler_id });
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(
    got.samples.some((x) => x.data.message === marker),
    JSON.stringify(got),
  );
  await ok(client, 'sample_stop', { sampler_id: l.sampler_id });
  await ok(client, 'sample_stop', { sampler_id: s.sampler_id });
  const gone = await call(client, 'sample_read', { sampler_id: s.sampler_id });
  assert.equal(gone.isError, true);
});

test('bad arguments: a clear error for each tool, and the session goes on', async () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['process_list', { sort_by: 'sideways' }, /sort_by/],
    ['process_list', { limit: -1 }, /limit/],
    ['process_children', {}, /parent/],
    ['process_state', { pid: 'nobody_here' }, /ERR_MCP_REFUSED: .*no process registered as nobody_here/],
    ['process_lookup', {}, /ERR_MCP_BAD_ARGUMENT: name or pid/],
    ['meta_inspect', { alias: 'Alias#<nothing>' }, /ERR_MCP_REFUSED: .*no meta process/],
    ['app_info', { name: 'nope' }, /ERR_MCP_REFUSED: .*no application nope/],
    ['app_processes', { name: 'nope' }, /ERR_MCP_REFUSED: .*no application nope/],
    ['event_info', { name: 'nope' }, /ERR_MCP_REFUSED: .*no event nope/],
    ['network_node_info', { name: 'not a node' }, /ERR_MCP_BAD_ARGUMENT/],
    ['network_connect_route', { name: 'x@y', host: 'h', port: 70000 }, /port/],
    ['network_disconnect', { name: 'nobody@nowhere' }, /ERR_MCP_REFUSED: .*not connected/],
    ['cron_job', { name: 'nope' }, /ERR_MCP_REFUSED: .*no cron job nope/],
    ['pprof_cpu', { duration: 99 }, /duration/],
    ['sample_start', { tool: 'no_such_tool' }, /ERR_MCP_BAD_ARGUMENT: tool/],
    ['sample_start', { tool: 'process_kill' }, /ERR_MCP_BAD_ARGUMENT: tool: .* action/],
    ['sample_listen', {}, /ERR_MCP_BAD_ARGUMENT: log_levels or event/],
    ['sample_read', { sampler_id: 'x' }, /ERR_MCP_BAD_ARGUMENT: sampler_id/],
    ['log_level_get', { target: 'nobody_here' }, /ERR_MCP_REFUSED/],
    ['log_level_set', { level: 'loud' }, /level/],
    ['message_type_info', { type_name: 'NoSuchType' }, /ERR_MCP_BAD_ARGUMENT: type_name/],
    ['send_message', { to: 'go_tools_echo' }, /message/],
    ['call_process', { to: 'go_tools_echo', request: 1, timeout: 500 }, /timeout/],
    ['node_info', { timeout: 121 }, /timeout/],
  ];
  for (const [name, args, expected] of cases) {
    const r = await call(client, name, args);
    assert.equal(r.isError, true, `${name} ${JSON.stringify(args)}: ${r.text}`);
    assert.match(r.text, expected, `${name} ${JSON.stringify(args)}: ${r.text}`);
  }
  assert.equal((await ok(client, 'node_info')).name, a.name);
});

test("the cluster proxy: a tool runs on the other node's MCP application; where there is none, a tool that needs one says so", async () => {
  const stats = await ok<{ node: string }>(client, 'runtime_stats', { node: b.name });
  assert.equal(stats.node, b.name);
  const cron = await ok<{ node: string }>(client, 'cron_info', { node: b.name });
  assert.equal(cron.node, b.name);
  const procs = await ok<{ node: string; processes: { name?: string }[] }>(client, 'process_list', {
    node: b.name,
    name: 'mcp_server',
  });
  assert.equal(procs.node, b.name);
  assert.equal(procs.processes.length, 1);
  // Actions stay off where that node's server has them off (agent without actions).
  const refused = await call(client, 'process_kill', { node: b.name, pid: 'mcp_server' });
  assert.equal(refused.isError, true);
  assert.match(refused.text, /disabled on/);
  // A node without the MCP application: inspector tools still answer; the others say why not.
  const c = await netNode('gtc');
  try {
    await a.network().getNodeWithRoute(c.name, routeTo(portOf(c)));
    assert.equal((await ok<{ node: string }>(client, 'node_info', { node: c.name })).node, c.name);
    const r = await call(client, 'runtime_stats', { node: c.name });
    assert.equal(r.isError, true);
    assert.match(r.text, /ERR_MCP_UNSUPPORTED: .*runs no MCP application/);
  } finally {
    await c.stop();
  }
});

test('pprof_cpu puts a known hot function on top; pprof_heap shows a known allocation', async () => {
  hot = true;
  const burner = await a.spawn(Hot);
  a.send(burner, 'go');
  try {
    const cpu = await ok<{ functions: { function: string; self_pct: number }[] }>(client, 'pprof_cpu', {
      duration: 2,
      limit: 3,
      exclude: '(garbage collector)',
    });
    assert.match(cpu.functions[0]!.function, /^mcpTestHotFunction /, JSON.stringify(cpu.functions));
  } finally {
    hot = false;
  }
  await ok(client, 'pprof_heap', { limit: 1 }); // starts the sampler
  mcpTestRetainedAllocation();
  const heap = await ok<{ functions: { function: string; inuse_bytes: number }[] }>(client, 'pprof_heap', {
    filter: 'mcpTest',
  });
  assert.match(heap.functions[0]?.function ?? '', /^mcpTestRetainedAllocation /, JSON.stringify(heap));
  assert.ok(heap.functions[0]!.inuse_bytes > 1_000_000, `${heap.functions[0]!.inuse_bytes} bytes`);
  assert.ok(kept.length > 0 && sink !== 0);
});
