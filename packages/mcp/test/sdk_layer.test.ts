// What a client meets at the MCP protocol layer: a tools/call whose `arguments` is not an object
// (a string, an array, a number, null) or that names no tool is answered -32602 (Invalid params)
// with a readable message, not -32603 (Internal error) with zod's issue list as raw JSON, and the
// server goes on answering; call_process's `timeout` says its own default (5 s, not the common
// 30); sample_read's `since` reads the samples after it, as Go's (numbered from 1, so 0 reads them
// all and the answer's `sequence` read back gives only newer ones).

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startNode, type Node } from 'ergo-ts';

import { startMcpServer } from '../src/index.js';
import { connect, ok } from './helpers.js';

let node: Node;
let url: string;
let client: Client;

before(async () => {
  node = await startNode(`mcpsdk${process.pid}@localhost`, { log: { level: 'error' } });
  url = (await startMcpServer(node, { port: 0, actions: true })).url;
  client = await connect(url);
});

after(async () => {
  await client?.close();
  await node?.stop();
});

/** One JSON-RPC request posted as is; its parsed answer. */
async function rpc(
  method: string,
  params: unknown,
): Promise<{ result?: unknown; error?: { code: number; message: string } }> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 9, method, params }),
  });
  assert.equal(r.status, 200);
  return (await r.json()) as { result?: unknown; error?: { code: number; message: string } };
}

test('tools/call with arguments that are not an object: -32602 and a readable message', async () => {
  for (const [args, kind] of [
    ['x', 'string'],
    [[1, 2], 'array'],
    [7, 'number'],
    [null, 'null'],
  ] as const) {
    const a = await rpc('tools/call', { name: 'node_info', arguments: args });
    assert.equal(a.error?.code, -32602, JSON.stringify(a));
    assert.equal(
      a.error?.message,
      `invalid params of tools/call: params.arguments: expected a JSON object, received ${kind}`,
    );
  }
  const nameless = await rpc('tools/call', { arguments: {} });
  assert.equal(nameless.error?.code, -32602);
  assert.match(nameless.error!.message, /^invalid params of tools\/call: params\.name: expected string/);
  assert.doesNotMatch(nameless.error!.message, /[[{]/, 'no raw issue list');
  // The server goes on answering, and a tool's own bad argument is still the tool's error.
  const fine = await rpc('tools/call', { name: 'node_info', arguments: {} });
  assert.equal(fine.error, undefined);
  const badArg = (await rpc('tools/call', { name: 'node_info', arguments: { timeout: 'x' } })) as {
    result: { isError: boolean; content: { text: string }[] };
  };
  assert.equal(badArg.result.isError, true);
  assert.match(badArg.result.content[0]!.text, /timeout/);
});

test("call_process's timeout says its own default (5 s), not the common 30", async () => {
  const { tools } = await client.listTools();
  const cp = tools.find((t) => t.name === 'call_process')!;
  const timeout = (cp.inputSchema.properties as Record<string, { description?: string }>).timeout!;
  assert.match(timeout.description ?? '', /default 5\b/);
  assert.doesNotMatch(timeout.description ?? '', /default 30/);
  const ni = tools.find((t) => t.name === 'node_info')!;
  assert.match(
    (ni.inputSchema.properties as Record<string, { description?: string }>).timeout!.description!,
    /default 30/,
  );
});

test("sample_read's since: the samples after it (Go's), numbered from 1", async () => {
  const s = await ok<{ sampler_id: string }>(client, 'sample_start', {
    tool: 'node_info',
    interval_ms: 100,
    count: 3,
    linger_sec: 30,
  });
  type Read = { sequence: number; completed: boolean; samples: { sequence: number }[] };
  let all!: Read;
  await eventually(async () => {
    all = await ok<Read>(client, 'sample_read', { sampler_id: s.sampler_id });
    return all.completed;
  }, 'the sampler took its 3 samples');
  assert.deepEqual(
    all.samples.map((x) => x.sequence),
    [1, 2, 3],
    'since absent (0): every sample',
  );
  assert.equal(all.sequence, 3, 'the last number given');
  const after2 = await ok<Read>(client, 'sample_read', { sampler_id: s.sampler_id, since: 2 });
  assert.deepEqual(
    after2.samples.map((x) => x.sequence),
    [3],
    'since 2: after 2',
  );
  const none = await ok<Read>(client, 'sample_read', { sampler_id: s.sampler_id, since: all.sequence });
  assert.deepEqual(none.samples, [], 'the sequence read back: nothing newer');
  await ok(client, 'sample_stop', { sampler_id: s.sampler_id });
});
