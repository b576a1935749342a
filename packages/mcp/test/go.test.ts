// The MCP server on an ergo-ts node, asked about a real Go Ergo 3.2 node (ergo-peer, its own
// system_inspect) through the `node` argument: node info, the process list (Go's PID-ordered
// list, filtered and sorted by the server), one process, the applications and one application's
// processes, the network, the log tail, a
// resource read; ergo-ts's own queries are not sent to it (event_list says so), and an action
// (send_message) reaches a Go process. Then (issue 63) an application that is loaded but not
// running: app_info shows it and app_processes answers it has no processes (it refused it); and
// network_ping, whose probe of the MCP application the Go node answers at once.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { Peer, requirePeer } from '@ergo-ts/test-support';
import type { Node } from 'ergo-ts';

import { startMcpServer } from '../src/index.js';
import { COOKIE, call, connect, exactly, netNode, ok, routeTo } from './helpers.js';

test('tools/call on a Go Ergo node through the ergo-ts node', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const goName = `mcpgo${process.pid}@localhost`;
  const go = await Peer.start(bin, ['-name', goName, '-registrar', 'none', '-cookie', COOKIE, '-port', '0']);
  t.after(() => go.stop());
  const port = go.ready.port as number;
  const node: Node = await netNode('mcpts', [{ match: exactly(goName), route: routeTo(port) }]);
  t.after(() => node.stop());
  const server = await startMcpServer(node, { port: 0, token: 'go-token', actions: true });
  const client = await connect(server.url, 'go-token');
  t.after(() => client.close());

  const info = await ok(client, 'node_info', { node: goName });
  assert.equal(info.name, goName);
  assert.equal(info.local, false);
  assert.match(String((info.framework as { name: string }).name), /Ergo/);
  assert.doesNotMatch(String((info.framework as { name: string }).name), /ergo-ts/);
  assert.ok(Number(info.processesTotal) >= 5);

  const list = await ok<{ total: number; processes: { pid: string; name?: string }[] }>(client, 'process_list', {
    node: goName,
  });
  const names = list.processes.map((p) => p.name);
  for (const n of ['ctl', 'echo', 'calc', 'events', 'system_inspect']) assert.ok(names.includes(n), n);
  const filtered = await ok<{ total: number; processes: { name?: string }[] }>(client, 'process_list', {
    node: goName,
    name: 'ech',
    sort_by: 'mailbox',
  });
  assert.deepEqual(
    filtered.processes.map((p) => p.name),
    ['echo'],
  );

  const echo = await ok(client, 'process_info', { node: goName, pid: 'echo' });
  assert.equal(echo.name, 'echo');
  assert.equal(echo.pid, list.processes.find((p) => p.name === 'echo')!.pid);
  assert.ok(String(echo.behavior).length > 0);

  // peer_app: loaded at the peer's start; running with its one member after app_start.
  const started = await go.cmd('app_start');
  assert.equal(started.kind, 'result', JSON.stringify(started));
  const apps = await ok<{ applications: { name: string; state: string }[] }>(client, 'app_list', { node: goName });
  assert.match(apps.applications.find((x) => x.name === 'peer_app')?.state ?? 'absent', /running/i);
  const tree = await ok<{ processes: unknown[] }>(client, 'app_processes', { node: goName, name: 'peer_app' });
  assert.equal(tree.processes.length, 1, JSON.stringify(tree));

  // Go's other tools that a node's inspector answers (the Go node runs no MCP application here).
  assert.equal((await ok<{ state: string }>(client, 'process_state', { node: goName, pid: 'echo' })).state, 'Sleep');
  const inspected = await ok<{ state: Record<string, string> }>(client, 'process_inspect', {
    node: goName,
    pid: 'echo',
  });
  assert.equal(typeof inspected.state, 'object');
  const looked = await ok<{ pid: string }>(client, 'process_lookup', { node: goName, name: 'echo' });
  assert.equal(looked.pid, echo.pid);
  const children = await ok<{ children: unknown[] }>(client, 'process_children', { node: goName, parent: 'echo' });
  assert.ok(Array.isArray(children.children));
  assert.equal((await ok<{ name: string }>(client, 'app_info', { node: goName, name: 'peer_app' })).name, 'peer_app');
  assert.ok((await ok<{ acceptors: unknown[] }>(client, 'network_acceptors', { node: goName })).acceptors.length >= 1);
  const goroutines = await ok<{ header: string; processes: string[] }>(client, 'pprof_goroutines', {
    node: goName,
    debug: 1,
  });
  assert.match(goroutines.header, /^total \d+, showing \d+$/);
  assert.ok(goroutines.processes.every((l) => /^\d+ @ /.test(l)));
  const noMcp = await call(client, 'runtime_stats', { node: goName });
  assert.equal(noMcp.isError, true);
  assert.match(noMcp.text, /ERR_MCP_UNSUPPORTED: .*runs no MCP application/);

  const log = await ok<{ node: string; records: unknown[] }>(client, 'log_tail', { node: goName });
  assert.equal(log.node, goName);

  const net = await ok<{ nodes: string[] }>(client, 'network_info', { node: goName });
  assert.ok(net.nodes.includes(node.name), `${goName} is connected to ${node.name}`);
  const nodes = await ok<{ nodes: string[] }>(client, 'network_nodes', { node: goName });
  assert.ok(nodes.nodes.includes(node.name));

  const events = await call(client, 'event_list', { node: goName });
  assert.equal(events.isError, true);
  assert.match(events.text, /ERR_MCP_UNSUPPORTED: .*Go Ergo node/);

  const read = await client.readResource({ uri: `ergo://${encodeURIComponent(goName)}/info` });
  assert.equal((JSON.parse((read.contents[0] as { text: string }).text) as { name: string }).name, goName);

  // An action on the Go node: its echo process receives the message (ergo-peer reports it).
  const mark = go.mark();
  await ok(client, 'send_message', { node: goName, to: 'echo', message: 'hello from mcp' });
  const recv = await go.waitFor((l) => l.kind === 'recv' && l.process === 'echo', { since: mark, timeout: 10_000 });
  assert.match(JSON.stringify(recv.msg), /hello from mcp/);
});

test('a Go node: app_processes of a loaded application, network_ping without waiting out a probe', async (t) => {
  const bin = requirePeer(t);
  if (bin === undefined) return;
  const goName = `mcpgoloaded${process.pid}@localhost`;
  const go = await Peer.start(bin, ['-name', goName, '-registrar', 'none', '-cookie', COOKIE, '-port', '0']);
  t.after(() => go.stop());
  const node: Node = await netNode('mcptsloaded', [
    { match: exactly(goName), route: routeTo(go.ready.port as number) },
  ]);
  t.after(() => node.stop());
  const server = await startMcpServer(node, { port: 0 });
  const client = await connect(server.url);
  t.after(() => client.close());

  // peer_app is loaded at the peer's start, not running.
  const info = await ok<{ name: string; state: string }>(client, 'app_info', { node: goName, name: 'peer_app' });
  assert.equal(info.state, 'loaded');
  const tree = await ok<{ application: string; processes: unknown[] }>(client, 'app_processes', {
    node: goName,
    name: 'peer_app',
  });
  assert.deepEqual(tree, { node: goName, application: 'peer_app', processes: [] });
  const unknown = await call(client, 'app_processes', { node: goName, name: 'no_such_app' });
  assert.match(unknown.text, /ERR_MCP_REFUSED: .*has no application no_such_app/);

  const ping = await ok<{ via: string; probe: string; rtt_ms: number; elapsed_ms: number }>(client, 'network_ping', {
    name: goName,
  });
  assert.equal(ping.via, 'system_inspect');
  assert.match(ping.probe, /^mcp_server: not running there \(ERR_PROCESS_UNKNOWN/);
  assert.ok(ping.rtt_ms > 0 && ping.rtt_ms <= ping.elapsed_ms, JSON.stringify(ping));
});
