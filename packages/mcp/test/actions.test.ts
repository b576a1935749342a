// The action tools on a server started with `actions: true` (the plain-function form,
// `startMcpServer`, without a token): each one changes the node as it says (a kill ends the
// process, a message arrives with its JSON value, an exit signal ends a process, a log level is
// set, an application stops and starts again), reaches another node through `node` where the
// inspector protocol has the request, refuses where it has not, and is logged on the node.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { Actor, ApplicationState, LogLevel, createApplication, type MessageLog, type Node, type PID } from 'ergo-ts';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

import { startMcpServer, type McpServerHandle } from '../src/index.js';
import { call, connect, exactly, netNode, ok, portOf, routeTo } from './helpers.js';

const got: unknown[] = [];

/** Records what it receives. */
class Recorder extends Actor {
  override handleMessage(_from: PID, m: unknown): void {
    got.push(m);
  }
}

const testApp = createApplication({
  name: 'mcp_test_app',
  group: [{ name: 'mcp_test_member', factory: Recorder }],
});

let a: Node;
let b: Node;
let server: McpServerHandle;
let client: Client;
const logged: string[] = [];

function gone(node: Node, pid: PID): boolean {
  return !node.processList().some((p) => p.equals(pid));
}

before(async () => {
  b = await netNode('mcpactb');
  a = await netNode('mcpacta', [{ match: exactly(b.name), route: routeTo(portOf(b)) }], {
    applications: [testApp],
    log: { level: 'info', defaultLogger: { disable: true } },
  });
  a.loggerAdd('mcp_capture', {
    log(m: MessageLog): void {
      logged.push([m.format, ...m.args.map(String)].join(' '));
    },
  });
  server = await startMcpServer(a, { port: 0, actions: true });
  client = await connect(server.url);
});

after(async () => {
  await client?.close();
  await a?.stop();
  await b?.stop();
});

test('tools/list includes the action tools, marked destructive', async () => {
  const { tools } = await client.listTools();
  for (const name of ['process_kill', 'send_exit', 'send_message', 'log_level_set', 'app_start', 'app_stop']) {
    const t = tools.find((x) => x.name === name);
    assert.ok(t, name);
    assert.equal(t.annotations?.destructiveHint, true, name);
  }
});

test('send_message delivers the JSON value; process_kill and send_exit end processes; each is logged', async () => {
  const rec = await a.spawnRegister('mcp_recorder', Recorder);
  const value = { hello: ['mcp', 1, true] };
  await ok(client, 'send_message', { to: 'mcp_recorder', message: value });
  await eventually(() => got.some((m) => JSON.stringify(m) === JSON.stringify(value)), 'the message arrived');

  await ok(client, 'process_kill', { pid: rec.toString() });
  await eventually(() => gone(a, rec), 'the killed recorder gone');

  const other = await a.spawn(Recorder);
  await ok(client, 'send_exit', { pid: other.toString(), reason: 'shutdown' });
  await eventually(() => gone(a, other), 'the exited recorder gone');

  await eventually(
    () => logged.some((l) => l.includes('process_kill')) && logged.some((l) => l.includes('send_exit')),
    'the actions logged on the node',
  );
});

test('log_level_set sets a process level and the node level', async () => {
  const p = await a.spawn(Recorder);
  await ok(client, 'log_level_set', { target: p.toString(), level: 'debug' });
  assert.equal(a.logLevelProcess(p), LogLevel.Debug);
  const before = a.log.level();
  await ok(client, 'log_level_set', { level: 'error' });
  assert.equal(a.log.level(), LogLevel.Error);
  a.log.setLevel(before);
});

test('app_stop and app_start on this node; refused for another node', async () => {
  await ok(client, 'app_stop', { application: 'mcp_test_app' });
  assert.equal(a.applicationInfo('mcp_test_app').state, ApplicationState.Loaded);
  await ok(client, 'app_start', { application: 'mcp_test_app' });
  assert.equal(a.applicationInfo('mcp_test_app').state, ApplicationState.Running);
  const r = await call(client, 'app_stop', { node: b.name, application: 'system_app' });
  assert.equal(r.isError, true);
  assert.match(r.text, /ERR_MCP_UNSUPPORTED: .*runs no MCP application/);
  const unknown = await call(client, 'app_start', { application: 'no_such_app' });
  assert.equal(unknown.isError, true);
  assert.match(unknown.text, /ERR_MCP_REFUSED: .*did not start no_such_app/);
});

test('process_kill reaches another node through this one', async () => {
  const victim = await b.spawnRegister('mcp_victim', Recorder);
  await ok(client, 'process_kill', { node: b.name, pid: 'mcp_victim' });
  await eventually(() => gone(b, victim), 'the victim on b gone');
  // A second kill: the process is not there, and b's system_inspect says so.
  const again = await call(client, 'process_kill', { node: b.name, pid: victim.toString() });
  assert.equal(again.isError, true);
  assert.match(again.text, /ERR_MCP_REFUSED: .*refused the process_kill/);
});
