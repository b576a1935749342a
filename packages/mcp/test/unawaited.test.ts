// No Promise of @ergo-ts/mcp reaches unhandledRejection: `startMcpServer` rejects with a stable
// code for bad options, a second server on a node and a taken port, ignored or awaited; a tool
// call whose node never answers ends by its own time limit, also when its HTTP client went away
// first; one whose node stops while it waits ends at once with a tool error; a server stopped
// while a call waits, and that call answered afterwards, leave nothing behind either.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { UnhandledWatch, eventually, ignoredThenAwaited } from '@ergo-ts/test-support';
import { Actor, TerminateReasonShutdown, startNode, type Node, type PID, type Ref } from 'ergo-ts';

import { startMcpServer } from '../src/index.js';
import { COOKIE, call, connect, exactly, netNode, portOf, routeTo } from './helpers.js';

const watch = new UnhandledWatch('@ergo-ts/mcp');
before(() => watch.start());
after(() => watch.stop());

const held: { from: PID; ref: Ref }[] = [];

/** Stands in for `system_inspect` on a node without its system application: never answers by itself. */
class Sink extends Actor {
  override handleCall(from: PID, ref: Ref): undefined {
    held.push({ from, ref });
    return undefined;
  }
  override handleMessage(): void {
    // 'release': answer every held call with something that is not an inspector response.
    for (const h of held.splice(0)) this.sendResponse(h.from, h.ref, 'not a response');
  }
}

/** A node whose `system_inspect` is a {@link Sink}. */
async function sinkNode(prefix: string): Promise<Node> {
  const n = await startNode(`${prefix}${process.pid}@localhost`, {
    systemApp: false,
    log: { level: 'error' },
    network: { cookie: COOKIE, acceptors: [{ host: '127.0.0.1', port: 0 }], registrar: null },
  });
  await n.spawnRegister('system_inspect', Sink);
  return n;
}

function rpc(name: string, args: Record<string, unknown>): string {
  return JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: args } });
}

test('startMcpServer: bad options, a second server, a taken port; ignored or awaited, each with its code', async (t) => {
  const a = await netNode('mcpua');
  const c = await netNode('mcpuc');
  const d = await netNode('mcpud');
  t.after(() => Promise.all([a.stop(), c.stop(), d.stop()]).then(() => undefined));
  await ignoredThenAwaited(() => startMcpServer(a, { port: -1 }), 'ERR_INCORRECT');
  await ignoredThenAwaited(() => startMcpServer(a, { timeout: 0 }), 'ERR_INCORRECT');
  await ignoredThenAwaited(() => startMcpServer(a, { token: 42 as never }), 'ERR_INCORRECT');
  const first = await startMcpServer(a, { port: 0 });
  await ignoredThenAwaited(() => startMcpServer(a, { port: 0 }), 'ERR_TAKEN');
  const port = Number(new URL(first.url).port);
  // eslint-disable-next-line @typescript-eslint/no-floating-promises -- left un-awaited on purpose: what is tested
  void startMcpServer(c, { port });
  await assert.rejects(startMcpServer(d, { port }), { code: 'EADDRINUSE' });
});

test('a call whose node never answers ends by its time limit, also after its client went away', async (t) => {
  const b = await sinkNode('mcpusink');
  const a = await netNode('mcpuw', [{ match: exactly(b.name), route: routeTo(portOf(b)) }]);
  t.after(() => Promise.all([a.stop(), b.stop()]).then(() => undefined));
  const server = await startMcpServer(a, { port: 0 });
  const client = await connect(server.url);
  t.after(() => client.close());
  const running = async (): Promise<string> => (await a.inspect(server.pid)).tools!;

  // Awaited: the time limit's tool error.
  const late = await call(client, 'node_info', { node: b.name, timeout: 1 });
  assert.equal(late.isError, true);
  // What was left of the call's 1 s once its node was reached (the dial takes a moment under load).
  assert.match(late.text, /ERR_MCP_TIMEOUT: .* did not answer the node_info request within (?:1|0\.\d) s/);

  // The client goes away while the call waits.
  held.length = 0;
  const abort = new AbortController();
  const gone = fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: rpc('node_info', { node: b.name, timeout: 2 }),
    signal: abort.signal,
  }).catch((err: unknown) => err);
  await eventually(() => held.length === 1, 'the call reached the node');
  abort.abort();
  assert.equal(((await gone) as Error).name, 'AbortError');
  await eventually(async () => (await running()) === '0', 'the abandoned call ended by its limit', {
    timeoutMs: 15_000,
  });

  // The node stops while a call waits: the call ends at once with a tool error.
  held.length = 0;
  const waiting = call(client, 'node_info', { node: b.name, timeout: 30 });
  await eventually(() => held.length === 1, 'the second call reached the node');
  await b.stop();
  const r = await waiting;
  assert.equal(r.isError, true);
  assert.match(r.text, /ERR_MCP_(UNREACHABLE|REFUSED)/);
  assert.equal(await running(), '0');
});

test('a server stopped while a call waits, the call answered afterwards: nothing escapes', async (t) => {
  const b = await sinkNode('mcpusink2');
  const a = await netNode('mcpus', [{ match: exactly(b.name), route: routeTo(portOf(b)) }]);
  t.after(() => Promise.all([a.stop(), b.stop()]).then(() => undefined));
  const server = await startMcpServer(a, { port: 0 });
  const client = await connect(server.url);
  held.length = 0;
  const waiting = call(client, 'process_list', { node: b.name, timeout: 30 }).catch((err: unknown) => err);
  await eventually(() => held.length === 1, 'the call reached the node');
  a.sendExit(server.pid, TerminateReasonShutdown);
  await eventually(() => !a.processList().some((p) => p.equals(server.pid)), 'the server process ended');
  // Its answer comes back to a server that is gone; the call's client sees its connection end.
  b.send('system_inspect', 'release');
  await eventually(() => held.length === 0, 'the held call answered');
  const outcome = await waiting;
  assert.ok(outcome instanceof Error || (outcome as { isError: boolean }).isError, 'the client sees a failure');
  await client.close();
});
