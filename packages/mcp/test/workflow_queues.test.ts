// The workflow_queues tool (tools_queues.ts) against a node whose entities runtime serves one
// queue with a concurrency limit of 1, through the official MCP SDK client: the queues it serves,
// and a step waiting for the slot with its queue, position and what holds it (filtered by queue);
// a node without an entities runtime answers ERR_MCP_UNSUPPORTED.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { defineWorkflow, MemoryStore, startEntities, type Entities } from '@ergo-ts/entities';
import type { Node } from 'ergo-ts';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

import { startMcpServer } from '../src/index.js';
import { call, connect, netNode, ok } from './helpers.js';

let release!: () => void;
const free = new Promise<void>((r) => (release = r));

/** One step in queue `gpu`, held until the test lets it go. */
const Render = defineWorkflow('mcprender', async (ctx, input: { page: number }) =>
  ctx.step(
    'render',
    async () => {
      await free;
      return input.page;
    },
    { queue: 'gpu' },
  ),
);

let a: Node;
let entities: Entities;
let client: Client;

before(async () => {
  a = await netNode('mcpqa');
  entities = await startEntities(a, {
    store: new MemoryStore(),
    kinds: [Render],
    workflowQueues: { serve: ['gpu'], queues: { gpu: { concurrency: 1 } }, pollMs: 10 },
  });
  client = await connect((await startMcpServer(a, { port: 0 })).url);
});

after(async () => {
  release();
  await client?.close();
  await entities?.stop();
  await a?.stop();
});

interface Queues {
  node: string;
  serves: string[] | string;
  queues: { name: string; limits: { concurrency?: number }; served: boolean; running: number }[];
  waiting: { queue: string; member: string; position: number; id: string; step: string; waiting: string }[];
}

test('workflow_queues: the queues a member serves, and what waits there for a slot', async () => {
  await entities.workflows.start(Render, 'p1', { page: 1 });
  await entities.workflows.start(Render, 'p2', { page: 2 });
  const q = await eventually(async () => {
    const r = await ok<Queues>(client, 'workflow_queues', {});
    return r.waiting.length === 1 && r.waiting[0]!.waiting.includes('concurrency') ? r : undefined;
  }, 'one waits for the slot');
  assert.equal(q.node, a.name);
  assert.deepEqual([...q.serves].sort(), ['default', 'gpu']);
  const gpu = q.queues.find((x) => x.name === 'gpu');
  assert.deepEqual([gpu?.limits.concurrency, gpu?.served, gpu?.running], [1, true, 1]);
  const w = q.waiting[0]!;
  assert.deepEqual(
    [w.queue, w.member, w.position, w.step, w.waiting],
    ['gpu', a.name, 1, 'render', 'waiting for queue gpu: the concurrency limit (1) is reached'],
  );
  const other = await ok<Queues>(client, 'workflow_queues', { queue: 'other' });
  assert.deepEqual([other.waiting, other.queues], [[], []]);
  release();
  for (const id of ['p1', 'p2']) await entities.workflows.handle(Render, id).result();
  assert.deepEqual((await ok<Queues>(client, 'workflow_queues', { queue: 'gpu' })).waiting, []);
  const refused = await call(client, 'workflow_queues', { entities: 'nosuchruntime' });
  assert.equal(refused.isError, true);
  assert.match(refused.text, /ERR_MCP_UNSUPPORTED/);
});
