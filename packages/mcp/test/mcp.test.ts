// The MCP server against real ergo-ts nodes, through the MCP SDK's own client over streamable
// HTTP: tools/list, every read tool's tools/call checked against what the node really runs (a
// registered worker, its handleInspect, an event, an application, a log record, a second node
// reached through the first), resources/list and resources/read, the bearer token (401 without
// it or with another), action tools refused while disabled, and bad arguments answered with a
// tool error naming the problem while the server goes on answering.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { Actor, type Node, type PID } from 'ergo-ts';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

import { MCP_APP_NAME, createMcpApplication, type McpApplication } from '../src/index.js';
import { call, connect, exactly, netNode, ok, portOf, routeTo } from './helpers.js';

const TOKEN = 'mcp-test-token';

/** A registered worker with its own inspect state; logs a warning when told to. */
class Worker extends Actor {
  override init(): void {
    this.registerEvent('mcp_test_event');
  }
  override handleMessage(_from: PID, m: unknown): void {
    if (typeof m === 'string' && m.startsWith('log ')) this.log.warning('%s', m.slice(4));
  }
  override handleInspect(): Record<string, string> {
    return { role: 'mcp test worker' };
  }
}

/** A process that does nothing. */
class Idle extends Actor {}

let a: Node;
let b: Node;
let app: McpApplication;
let url: string;
let client: Client;
let worker: PID;

before(async () => {
  b = await netNode('mcpb');
  app = createMcpApplication({ port: 0, token: TOKEN });
  a = await netNode('mcpa', [{ match: exactly(b.name), route: routeTo(portOf(b)) }], { applications: [app] });
  worker = await a.spawnRegister('mcp_worker', Worker);
  url = app.url!;
  client = await connect(url, TOKEN);
});

after(async () => {
  await client?.close();
  await a?.stop();
  await b?.stop();
});

const ACTIONS = [
  'app_start',
  'app_stop',
  'call_process',
  'log_level_set',
  'message_type_info',
  'message_types',
  'network_connect',
  'network_connect_route',
  'network_disconnect',
  'process_kill',
  'send_exit',
  'send_message',
  'workflow_cancel',
  'workflow_resume',
  'workflow_reset',
  'workflow_signal',
  'workflow_update',
  'dead_letter_retry',
  'dead_letter_drop',
  'workflow_batch_start',
  'workflow_batch_cancel',
  'workflow_terminate',
  'schedule_create',
  'schedule_pause',
  'schedule_unpause',
  'schedule_trigger',
  'schedule_backfill',
  'schedule_update',
  'schedule_delete',
];

test('tools/list: the read tools with their schemas; no action tool while actions are disabled', async () => {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const n of [
    'node_info',
    'process_list',
    'process_state',
    'process_inspect',
    'log_tail',
    'pprof_cpu',
    'sample_start',
  ])
    assert.ok(names.includes(n), n);
  for (const n of ACTIONS) assert.ok(!names.includes(n), `${n} not listed while actions are off`);
  // Go's 48, our 10 (log_tail, app_start, app_stop and the operator's 7 views), the 8 workflow
  // tools, the 3 dead-letter tools, the 5 batch tools (tools_batch.ts), the queue tool
  // (tools_queues.ts) and the 9 schedule tools (tools_schedules.ts).
  assert.equal(names.length, 48 + 10 + 8 + 3 + 5 + 1 + 9 - ACTIONS.length);
  const pl = tools.find((t) => t.name === 'process_list')!;
  const props = (pl.inputSchema as { properties: Record<string, unknown> }).properties;
  for (const p of ['node', 'timeout', 'sort_by', 'limit', 'name', 'min_mailbox'])
    assert.ok(p in props, `process_list takes ${p}`);
  assert.equal(pl.annotations?.readOnlyHint, true);
});

test('node_info and process_list describe the node as it runs', async () => {
  const info = await ok(client, 'node_info');
  assert.equal(info.name, a.name);
  assert.equal(info.local, true);
  assert.match(String((info.framework as { name: string }).name), /ergo-ts/);
  // The count moves while processes come and go (an inspector ends when idle): the tool's figure
  // is the node's own once two readings meet.
  await eventually(
    async () => (await ok(client, 'node_info')).processesTotal === a.info().processesTotal,
    'node_info processesTotal equal to the node info',
    { timeoutMs: 20_000, intervalMs: 50 },
  );

  const list = await ok<{ total: number; processes: { pid: string; name?: string; behavior: string }[] }>(
    client,
    'process_list',
    { name: 'mcp_worker' },
  );
  assert.equal(list.total, 1);
  assert.equal(list.processes[0]!.pid, worker.toString());
  assert.equal(list.processes[0]!.behavior, 'Worker');

  const page = await ok<{ total: number; processes: unknown[] }>(client, 'process_list', {
    limit: 2,
    sort_by: 'uptime',
  });
  assert.equal(page.processes.length, 2);
  assert.ok(page.total >= 4, 'system, mcp and the worker');
});

test('process_info, process_state and process_inspect by registered name and by PID', async () => {
  const byName = await ok(client, 'process_info', { pid: 'mcp_worker' });
  assert.equal(byName.pid, worker.toString());
  assert.equal(byName.name, 'mcp_worker');
  const byPID = await ok(client, 'process_info', { pid: worker.toString() });
  assert.equal(byPID.name, 'mcp_worker');
  const state = await ok<{ state: string }>(client, 'process_state', { pid: worker.toString() });
  assert.equal(state.state, 'Sleep');
  const inspected = await ok<{ state: Record<string, string> }>(client, 'process_inspect', { pid: worker.toString() });
  assert.deepEqual(inspected.state, { role: 'mcp test worker' });
});

test('app_list, app_processes, event_list, network_info, network_nodes, network_node_info', async () => {
  const apps = await ok<{ applications: { name: string; state: string }[] }>(client, 'app_list');
  const mcp = apps.applications.find((x) => x.name === MCP_APP_NAME);
  assert.ok(mcp, 'mcp_app listed');
  assert.match(mcp.state, /running/i);
  assert.ok(apps.applications.some((x) => x.name === 'system_app'));

  const tree = await ok<{ processes: { name?: string }[] }>(client, 'app_processes', { name: MCP_APP_NAME });
  assert.ok(tree.processes.some((p) => p.name === 'mcp_server'));

  const events = await ok<{ events: { name?: string; event?: string }[] }>(client, 'event_list', { name: 'mcp_test' });
  assert.equal(events.events.length, 1, JSON.stringify(events));

  // Connect a to b first, then the network tools see it.
  await a.network().getNode(b.name);
  const net = await ok<{ acceptors: unknown[]; nodes: string[]; routes: unknown[] }>(client, 'network_info');
  assert.equal(net.acceptors.length, 1);
  assert.ok(net.nodes.includes(b.name));
  assert.equal(net.routes.length, 1);
  const nodes = await ok<{ connections: { node: string }[] }>(client, 'network_nodes');
  assert.ok(
    nodes.connections.some((c) => c.node === b.name),
    JSON.stringify(nodes),
  );
  const conn = await ok<{ connection: { node: string } }>(client, 'network_node_info', { name: b.name });
  assert.equal(conn.connection.node, b.name);
});

test('log_tail shows a record logged on the node, and `since` only what came after', async () => {
  const mark = `mcp-log-${Date.now()}`;
  a.send(worker, `log ${mark}`);
  const tail = await eventually(async () => {
    const r = await ok<{ last: number; records: { message: string; level: string; pid?: string }[] }>(
      client,
      'log_tail',
      { levels: ['warning'], wait: 5 },
    );
    return r.records.some((x) => x.message === mark) ? r : null;
  }, 'the warning in the log tail');
  const rec = tail.records.find((x) => x.message === mark)!;
  assert.equal(rec.level, 'warning');
  assert.equal(rec.pid, worker.toString());
  const after = await ok<{ records: unknown[] }>(client, 'log_tail', { levels: ['warning'], since: tail.last });
  assert.deepEqual(after.records, []);
});

test('another node through this one: node_info, process_list and log_tail with `node`', async () => {
  const info = await ok(client, 'node_info', { node: b.name });
  assert.equal(info.name, b.name);
  assert.equal(info.local, false);
  const list = await ok<{ processes: { name?: string }[] }>(client, 'process_list', { node: b.name, name: 'system' });
  assert.ok(list.processes.some((p) => p.name === 'system_inspect'));
  const inspect = await ok(client, 'process_info', { node: b.name, pid: 'system_inspect' });
  assert.equal(inspect.name, 'system_inspect');
  const log = await ok<{ node: string }>(client, 'log_tail', { node: b.name });
  assert.equal(log.node, b.name);
});

test('resources/list names every view of this node and of the connected one; resources/read answers JSON', async () => {
  await a.network().getNode(b.name);
  const { resources } = await client.listResources();
  const uris = resources.map((r) => r.uri);
  for (const view of ['info', 'processes', 'applications', 'events', 'network', 'log']) {
    assert.ok(uris.includes(`ergo://${encodeURIComponent(a.name)}/${view}`), `${view} of ${a.name}`);
    assert.ok(uris.includes(`ergo://${encodeURIComponent(b.name)}/${view}`), `${view} of ${b.name}`);
  }
  const read = await client.readResource({ uri: `ergo://${encodeURIComponent(a.name)}/info` });
  const c = read.contents[0] as { mimeType?: string; text: string };
  assert.equal(c.mimeType, 'application/json');
  assert.equal((JSON.parse(c.text) as { name: string }).name, a.name);
  const remote = await client.readResource({ uri: `ergo://${encodeURIComponent(b.name)}/processes` });
  const rows = JSON.parse((remote.contents[0] as { text: string }).text) as { node: string; processes: unknown[] };
  assert.equal(rows.node, b.name);
  assert.ok(rows.processes.length > 0);
});

test('without the token, or with another one, the server answers 401 (the SDK client fails to connect)', async () => {
  const init = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
  };
  for (const auth of [undefined, 'Bearer wrong', `Basic ${TOKEN}`]) {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(auth === undefined ? {} : { authorization: auth }),
      },
      body: JSON.stringify(init),
    });
    assert.equal(res.status, 401, String(auth));
    assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    await res.body?.cancel();
  }
  await assert.rejects(connect(url), /401|bearer|Unauthorized/i);
  await assert.rejects(connect(url, 'wrong'), /401|bearer|Unauthorized/i);
  // With the token, the same raw request is answered.
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${TOKEN}`,
    },
    body: JSON.stringify(init),
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  // Stateless: one POST is a whole tool call, no session (docs/mcp.md shows it).
  const one = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${TOKEN}`,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'node_info', arguments: {} } }),
  });
  assert.equal(one.status, 200);
  const { result } = (await one.json()) as { result: { content: { text: string }[]; isError?: boolean } };
  assert.notEqual(result.isError, true);
  assert.equal((JSON.parse(result.content[0]!.text) as { name: string }).name, a.name);
  // GET (the optional server-to-client stream) is not served by a stateless server.
  const get = await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(get.status, 405);
  await get.body?.cancel();
});

test('actions are refused while disabled: the process stays', async () => {
  for (const [name, args] of [
    ['process_kill', { pid: 'mcp_worker' }],
    ['send_exit', { pid: 'mcp_worker', reason: 'kill' }],
    ['send_message', { to: 'mcp_worker', message: 'hi' }],
    ['app_stop', { application: MCP_APP_NAME }],
  ] as const) {
    const r = await call(client, name, args);
    assert.equal(r.isError, true, name);
    assert.match(r.text, /disabled/, name);
  }
  assert.ok(a.processInfo(worker), 'the worker still runs');
});

test('bad arguments get a tool error naming the problem; the server goes on', async () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['process_info', { pid: 'no_such_name' }, /ERR_MCP_REFUSED: .*no process registered as no_such_name/],
    ['process_info', { pid: '<00000000.0.1001>' }, /ERR_MCP_BAD_ARGUMENT: pid: .* is not a PID of/],
    ['process_info', {}, /pid/],
    ['process_list', { limit: -5 }, /limit/],
    ['process_list', { sort_by: 'sideways' }, /sort_by/],
    ['node_info', { node: 'not a node' }, /ERR_MCP_BAD_ARGUMENT: node:/],
    ['node_info', { node: 'nobody@nowhere.invalid' }, /ERR_MCP_UNREACHABLE/],
    ['app_processes', { name: 42 }, /name/],
    ['log_tail', { levels: ['loud'] }, /levels/],
    // The node's own refusals (regressions: an empty list; ERR_MCP_UNREACHABLE).
    ['app_processes', { name: 'nope' }, /ERR_MCP_REFUSED: .* has no application nope/],
    // b's system_inspect refuses to inspect its own state: a refusal, not "unreachable".
    [
      'process_inspect',
      { node: b.name, pid: 'system_inspect' },
      /ERR_MCP_REFUSED: .*refused the process_inspect request/,
    ],
    ['no_such_tool', {}, /not found/],
  ];
  for (const [name, args, expected] of cases) {
    const r = await call(client, name, args);
    assert.equal(r.isError, true, `${name} ${JSON.stringify(args)}`);
    assert.match(r.text, expected, `${name} ${JSON.stringify(args)}: ${r.text}`);
  }
  // A process that ended: its PID is refused by the node, not a crash.
  const gone = await a.spawn(Idle);
  a.kill(gone);
  await eventually(() => {
    try {
      a.processInfo(gone);
      return false;
    } catch {
      return true;
    }
  }, 'the killed worker gone');
  const r = await call(client, 'process_info', { pid: gone.toString() });
  assert.equal(r.isError, true);
  assert.match(r.text, /ERR_MCP_REFUSED: .* has no process/);
  // The same through another node's inspector: that node's answer (the inspector ends).
  const onB = await b.spawn(Idle);
  b.kill(onB);
  await eventually(() => !b.processList().some((p) => p.equals(onB)), 'the killed process on b gone');
  const rb = await call(client, 'process_info', { node: b.name, pid: onB.toString() });
  assert.equal(rb.isError, true);
  assert.match(rb.text, /ERR_MCP_REFUSED: .*(ended without a snapshot|has ended)/);
  const still = await ok(client, 'node_info');
  assert.equal(still.name, a.name);
});
