// The batch tools (tools_batch.ts) against a node running an entities runtime with a real
// workflow kind and WorkflowBatches, through the official MCP SDK client: a dry-run count, a start
// refused when its confirmation is not that count, a start with it, the batch's progress until it
// completed (each match signalled once, the others untouched), and workflow_terminate.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { defineWorkflow, MemoryStore, startEntities, WorkflowBatches, type Entities } from '@ergo-ts/entities';
import { schema, type Node } from 'ergo-ts';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

import { startMcpServer } from '../src/index.js';
import { call, connect, netNode, ok } from './helpers.js';

/** Sets its group, waits for `poke`, answers it. */
const Poked = defineWorkflow(
  'mcppoked',
  { signals: { poke: schema.string() }, attributes: { group: 'string' } },
  async (ctx, input: { group: string }) => {
    await ctx.setAttributes({ group: input.group });
    return ctx.signal('poke');
  },
);

let a: Node;
let entities: Entities;
let client: Client;

before(async () => {
  a = await netNode('mcpbatcha');
  entities = await startEntities(a, { store: new MemoryStore(), kinds: [Poked, WorkflowBatches] });
  client = await connect((await startMcpServer(a, { port: 0, actions: true })).url);
});

after(async () => {
  await client?.close();
  await entities?.stop();
  await a?.stop();
});

test('workflow_batch_count, then workflow_batch_start with the count as confirm; progress until done', async () => {
  for (let i = 0; i < 5; i++) await entities.workflows.start(Poked, `p${i}`, { group: i < 3 ? 'x' : 'y' });
  const query = {
    workflow: 'mcppoked',
    status: 'running',
    attributes: { group: 'x' },
    action: 'signal',
    signal: 'poke',
    payload: 'go',
  };
  for (;;) {
    const c = await ok<{ matched: number }>(client, 'workflow_batch_count', query);
    if (c.matched === 3) break;
    await new Promise((r) => setImmediate(r));
  }
  const wrong = await call(client, 'workflow_batch_start', { ...query, confirm: 4 });
  assert.ok(wrong.isError && /^ERR_MCP_BAD_ARGUMENT: confirm 4 .*\(3\)/.test(wrong.text), wrong.text);
  assert.equal((await entities.workflows.list({ kind: 'workflow-batch' })).items.length, 0, 'nothing started');
  const s = await ok<{ batchId: string; matched: number }>(client, 'workflow_batch_start', {
    ...query,
    confirm: 3,
    batchId: 'mcp-b1',
  });
  assert.deepEqual([s.batchId, s.matched], ['mcp-b1', 3]);
  let d: { status: string; done: number; matched: number; failed: number };
  for (;;) {
    d = await ok(client, 'workflow_batch_describe', { batchId: 'mcp-b1' });
    if (d.status === 'completed') break;
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual([d.matched, d.done, d.failed], [3, 3, 0]);
  for (let i = 0; i < 3; i++) assert.equal(await entities.workflows.handle(Poked, `p${i}`).result(), 'go');
  assert.equal((await entities.workflows.handle(Poked, 'p3').describe()).status, 'running');
  const t = await ok<{ result: string }>(client, 'workflow_terminate', { workflow: 'mcppoked', id: 'p3', reason: 'r' });
  assert.equal(t.result, 'terminated');
  assert.equal((await entities.workflows.handle(Poked, 'p3').describe()).cancel, 'terminated: r');
});
