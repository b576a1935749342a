// The workflow_update tool against a node running an entities runtime with a real workflow whose
// body takes updates and answers them, through the official MCP SDK client: the body's answer
// comes back with its update_id; a repeat of the id is answered again and runs nothing; a refused
// input, an undeclared name, a failure the body answered and an ended instance keep the engine's
// codes; an update the body has not answered by the tool's timeout answers ERR_WORKFLOW_TIMEOUT
// naming its id, and asked again by that id once the body runs, the answer comes; another node's
// read-only server refuses the action.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { defineUpdate, defineWorkflow, MemoryStore, startEntities, type Entities } from '@ergo-ts/entities';
import { schema, type Node } from 'ergo-ts';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

import { startMcpServer } from '../src/index.js';
import { call, connect, exactly, netNode, ok, portOf, routeTo } from './helpers.js';

/** Step runs by idempotency key. */
const runs = new Map<string, number>();

/** Counts what `add` updates add (refusing a quantity of 0; failing past 10), until `close`. */
const Tally = defineWorkflow(
  'mcptally',
  {
    signals: { open: schema.unknown() },
    updates: {
      add: defineUpdate({
        input: schema.object({ qty: schema.number() }),
        output: schema.number(),
        validate: (i) => {
          if (i.qty === 0) throw new Error('qty 0 adds nothing');
        },
      }),
      close: { input: schema.unknown(), output: schema.string() },
    },
  },
  async (ctx, input: { gated: boolean }) => {
    if (input.gated) await ctx.signal('open');
    let total = 0;
    for (;;) {
      const u = await ctx.update(['add', 'close']);
      if (u.name === 'close') {
        await u.reply(`closed at ${total}`);
        return total;
      }
      const next = await ctx.step('add', ({ idempotencyKey }) => {
        runs.set(idempotencyKey, (runs.get(idempotencyKey) ?? 0) + 1);
        return total + u.input.qty;
      });
      if (next > 10) await u.fail(Object.assign(new Error('over 10'), { code: 'ERR_OVER' }));
      else await u.reply((total = next));
    }
  },
);

let a: Node;
let b: Node;
let entities: Entities;
let client: Client;
let readOnly: Client;

before(async () => {
  b = await netNode('mcpupdb');
  a = await netNode('mcpupda', [{ match: exactly(b.name), route: routeTo(portOf(b)) }]);
  entities = await startEntities(a, { store: new MemoryStore(), kinds: [Tally] });
  const server = await startMcpServer(a, { port: 0, actions: true });
  client = await connect(server.url);
  await a.network().getNode(b.name);
  const onB = await startMcpServer(b, { port: 0, actions: false });
  readOnly = await connect(onB.url);
});

after(async () => {
  await client?.close();
  await readOnly?.close();
  await entities?.stop();
  await a?.stop();
  await b?.stop();
});

interface Answer {
  node: string;
  workflow: string;
  id: string;
  update_id: string;
  output: unknown;
}

test("workflow_update: the body's answer with its update_id; a repeat runs nothing; refusals keep their codes", async () => {
  const h = await entities.workflows.start(Tally, 't1', { gated: false });
  const { tools } = await client.listTools();
  const tool = tools.find((t) => t.name === 'workflow_update');
  assert.equal(tool?.annotations?.destructiveHint, true);

  const first = await ok<Answer>(client, 'workflow_update', {
    workflow: 'mcptally',
    id: 't1',
    name: 'add',
    input: { qty: 2 },
  });
  assert.equal(first.node, a.name);
  assert.equal(first.output, 2);
  assert.match(first.update_id, /^[0-9a-f-]{36}$/, 'an id drawn for it, answered');
  const mine = { workflow: 'mcptally', id: 't1', name: 'add', input: { qty: 3 }, update_id: 'op-1' };
  assert.deepEqual(await ok<Answer>(client, 'workflow_update', mine), {
    node: a.name,
    workflow: 'mcptally',
    id: 't1',
    update_id: 'op-1',
    output: 5,
  });
  assert.equal((await ok<Answer>(client, 'workflow_update', mine)).output, 5, 'a repeat is answered');
  const steps = (await h.describe()).history.filter((e) => e.t === 'step');
  assert.equal(steps.length, 2, 'two updates ran a step each');
  for (const n of runs.values()) assert.equal(n, 1);

  const cases: [Record<string, unknown>, RegExp][] = [
    [{ name: 'add', input: { qty: 'x' } }, /^ERR_WORKFLOW_UPDATE_REJECTED: .*input refused/],
    [{ name: 'add', input: { qty: 0 } }, /^ERR_WORKFLOW_UPDATE_REJECTED: .*qty 0 adds nothing/],
    [{ name: 'remove', input: {} }, /^ERR_WORKFLOW_INCORRECT: .*declares no update "remove"/],
    [{ name: 'add', input: { qty: 9 } }, /^ERR_WORKFLOW_UPDATE_FAILED: .*ERR_OVER: over 10/],
    [{ name: 'add', input: { qty: 1 }, update_id: 'x'.repeat(257) }, /update_id|256/],
  ];
  for (const [args, expected] of cases) {
    const r = await call(client, 'workflow_update', { workflow: 'mcptally', id: 't1', ...args });
    assert.equal(r.isError, true, `${JSON.stringify(args)}: ${r.text}`);
    assert.match(r.text, expected, JSON.stringify(args));
  }
  const refused = await call(readOnly, 'workflow_update', {
    node: a.name,
    workflow: 'mcptally',
    id: 't1',
    name: 'add',
    input: { qty: 1 },
  });
  assert.ok(refused.isError && /disabled/.test(refused.text), refused.text);

  assert.equal(
    (await ok<Answer>(client, 'workflow_update', { workflow: 'mcptally', id: 't1', name: 'close', input: null }))
      .output,
    'closed at 5',
  );
  assert.equal(await h.result(), 5);
  assert.equal((await ok<Answer>(client, 'workflow_update', mine)).output, 5, 'answered after the end too');
  const closed = await call(client, 'workflow_update', {
    workflow: 'mcptally',
    id: 't1',
    name: 'add',
    input: { qty: 1 },
  });
  assert.match(closed.text, /^ERR_WORKFLOW_CLOSED: .*is completed/);
});

test('workflow_update: not answered within the timeout, ERR_WORKFLOW_TIMEOUT names the id; asked again by it, the answer', async () => {
  const h = await entities.workflows.start(Tally, 't2', { gated: true });
  const args = { workflow: 'mcptally', id: 't2', name: 'add', input: { qty: 4 }, update_id: 'slow-1', timeout: 1 };
  const r = await call(client, 'workflow_update', args);
  assert.equal(r.isError, true, r.text);
  assert.match(r.text, /^ERR_WORKFLOW_TIMEOUT: .*update add \(slow-1\) not answered/);
  await h.signal('open', null);
  assert.equal((await ok<Answer>(client, 'workflow_update', { ...args, timeout: 30 })).output, 4);
  const taken = (await h.describe()).history.filter(
    (e) => e.t === 'update' && (e.v as { id?: string })?.id === 'slow-1',
  );
  assert.equal(taken.length, 1, 'accepted once, taken once');
});
