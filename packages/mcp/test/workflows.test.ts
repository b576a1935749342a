// The workflow tools against a node running an entities runtime with real workflows (one
// completed, one sleeping, one waiting for a signal, one failed), through the official MCP SDK
// client: workflow_list (the kinds, the instances newest first, filtered by status, kind, search
// attributes and time, paged by cursor, with counts per status), workflow_describe
// (history, timers), and the actions workflow_cancel, workflow_signal and workflow_resume, each
// checked on the instance's own handle; refusals keep the engine's code, bad arguments and a
// node without entities get theirs; another node's read-only server reaches them through `node`
// and refuses the actions. workflow_reset runs an instance again from an operation, with its
// reason kept; workflow_stats answers the node's workflow counters; dead_letters lists the durable
// messages set apart after their failed attempts, dead_letter_retry and dead_letter_drop act on
// them. Nothing a client sends ends the node.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import {
  defineEntity,
  defineWorkflow,
  entity,
  Entity,
  MemoryStore,
  startEntities,
  terminalError,
  type Entities,
} from '@ergo-ts/entities';
import { defineProtocol, schema, type Node } from 'ergo-ts';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

import { startMcpServer } from '../src/index.js';
import { call, connect, exactly, netNode, ok, portOf, routeTo } from './helpers.js';

const charge = { fails: true };

/** Completed (two steps), asleep an hour, waiting for `approve`, or failed at `charge` (until resumed). */
/** A kind with search attributes: workflow_list filters by them. */
const Invoice = defineWorkflow(
  'mcpinvoice',
  async (ctx, input: { customer: string; total: number }) => {
    await ctx.setAttributes({ customer: input.customer, total: input.total });
    return ctx.step('bill', () => input.total);
  },
  { attributes: { customer: 'string', total: 'number' } },
);

const Order = defineWorkflow(
  'mcporder',
  async (ctx, input: { mode: 'complete' | 'sleep' | 'signal' | 'fail' }) => {
    const first = await ctx.step('reserve', () => 1);
    if (input.mode === 'sleep') await ctx.sleep(3_600_000);
    if (input.mode === 'signal') return { first, approved: (await ctx.signal('approve')).by };
    if (input.mode === 'fail')
      await ctx.step('charge', () => {
        if (charge.fails) throw terminalError(new Error('card declined'));
        return 'charged';
      });
    return { first, second: await ctx.step('ship', () => 2) };
  },
  { signals: { approve: schema.object({ by: schema.string() }) } },
);

/** Throws on `{ add: 13 }` while `poison.on`: its messages end in the dead letters. */
const poison = { on: true };
const PickyProtocol = defineProtocol('mcppicky', {
  messages: { add: schema.object({ add: schema.integer() }) },
  calls: { get: { request: schema.literal('get'), reply: schema.number() } },
});
class Picky extends Entity<typeof PickyProtocol, { n: number }> {
  override handleMessage(m: { add: number }): void {
    if (m.add === 13 && poison.on) throw new Error('13 is unlucky');
    this.state = { n: this.state.n + m.add };
  }
  override handleCall(): number {
    return this.state.n;
  }
}
const picky = defineEntity('mcppicky', {
  protocol: PickyProtocol,
  entity: Picky,
  initialState: () => ({ n: 0 }),
  passivateAfterMs: 0,
});

let a: Node;
let b: Node;
let entities: Entities;
let client: Client;
let readOnly: Client;

before(async () => {
  b = await netNode('mcpwfb');
  a = await netNode('mcpwfa', [{ match: exactly(b.name), route: routeTo(portOf(b)) }]);
  entities = await startEntities(a, {
    store: new MemoryStore(),
    kinds: [Order, Invoice, picky],
    inbox: { pollMs: 20, retryCapMs: 40, maxAttempts: 2 },
  });
  const server = await startMcpServer(a, { port: 0, actions: true });
  client = await connect(server.url);
  // b's server is read-only; it reaches a's entities through `node` (over a's connection to b).
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

interface Listed {
  items: {
    id: string;
    workflow: string;
    status: string;
    runs: number;
    startedAt?: number;
    endedAt?: number;
    error?: unknown;
    attributes?: Record<string, unknown>;
  }[];
  next?: string;
  counts: Record<string, number>;
}

/** [id, status] of each item, sorted by id (the listing is newest first: start times may tie). */
const byId = (l: Listed): string[][] => l.items.map((i) => [i.id, i.status]).sort((x, y) => x[0]!.localeCompare(y[0]!));

test('the workflow tools: list, describe, cancel, signal, resume; refusals with their codes', async () => {
  const wf = entities.workflows;
  const done = await wf.start(Order, 'o-complete', { mode: 'complete' });
  const sleeping = await wf.start(Order, 'o-sleep', { mode: 'sleep' });
  const waiting = await wf.start(Order, 'o-signal', { mode: 'signal' });
  const failing = await wf.start(Order, 'o-fail', { mode: 'fail' });
  await done.result();
  await assert.rejects(failing.result(), { code: 'ERR_WORKFLOW_FAILED' });
  await eventually(async () => (await sleeping.describe()).timers.length === 1, 'o-sleep sleeps');
  await eventually(async () => (await waiting.describe()).history.length === 1, 'o-signal waits');

  const { tools } = await client.listTools();
  for (const name of ['workflow_list', 'workflow_describe', 'workflow_cancel', 'workflow_resume', 'workflow_signal'])
    assert.ok(
      tools.find((t) => t.name === name),
      name,
    );
  assert.equal(tools.find((t) => t.name === 'workflow_cancel')?.annotations?.destructiveHint, true);
  assert.equal(tools.find((t) => t.name === 'workflow_list')?.annotations?.readOnlyHint, true);

  const every = await ok<Listed & { workflows: string[] }>(client, 'workflow_list', {});
  assert.deepEqual(every.workflows, ['mcpinvoice', 'mcporder']);
  assert.equal(every.items.length, 4);
  assert.deepEqual(every.counts, { running: 2, completed: 1, failed: 1, cancelled: 0, timedOut: 0, total: 4 });
  const all = await ok<Listed>(client, 'workflow_list', { workflow: 'mcporder' });
  assert.deepEqual(byId(all), [
    ['o-complete', 'completed'],
    ['o-fail', 'failed'],
    ['o-signal', 'running'],
    ['o-sleep', 'running'],
  ]);
  assert.ok(all.items.every((i) => i.runs === 1 && typeof i.startedAt === 'number'));
  const running = await ok<Listed>(client, 'workflow_list', { workflow: 'mcporder', status: 'running', limit: 1 });
  assert.equal(running.items.length, 1);
  assert.deepEqual(running.counts, { running: 2, completed: 1, failed: 1, cancelled: 0, timedOut: 0, total: 4 });
  const page2 = await ok<Listed>(client, 'workflow_list', {
    workflow: 'mcporder',
    status: 'running',
    limit: 1,
    cursor: running.next,
  });
  assert.deepEqual([...running.items, ...page2.items].map((i) => i.id).sort(), ['o-signal', 'o-sleep']);

  const d = await ok<{ status: string; history: { n: string; t: string }[]; timers: { t: string; until: number }[] }>(
    client,
    'workflow_describe',
    { workflow: 'mcporder', id: 'o-sleep' },
  );
  assert.equal(d.status, 'running');
  assert.deepEqual(
    d.history.map((e) => e.t),
    ['step', 'sleep'],
  );
  assert.equal(d.history[0]!.n, 'reserve');
  assert.equal(d.timers.length, 1);
  assert.ok(d.timers[0]!.until > Date.now());
  const df = await ok<{ status: string; error: { message: string } }>(client, 'workflow_describe', {
    workflow: 'mcporder',
    id: 'o-fail',
  });
  assert.equal(df.status, 'failed');
  assert.match(df.error.message, /card declined/);

  // b's read-only server lists a's workflows through `node`, and refuses the actions.
  const remote = await ok<Listed & { node: string }>(readOnly, 'workflow_list', { node: a.name, workflow: 'mcporder' });
  assert.equal(remote.node, a.name);
  assert.equal(remote.items.length, 4);
  for (const name of ['workflow_cancel', 'workflow_resume', 'workflow_signal']) {
    const r = await call(readOnly, name, {
      node: a.name,
      workflow: 'mcporder',
      id: 'o-sleep',
      name: 'approve',
      payload: {},
    });
    assert.ok(r.isError && /disabled/.test(r.text), `${name}: ${r.text}`);
  }
  assert.equal((await sleeping.describe()).status, 'running');

  // The actions, each seen on the instance's own handle.
  assert.deepEqual(await ok(client, 'workflow_cancel', { workflow: 'mcporder', id: 'o-sleep', reason: 'mcp' }), {
    node: a.name,
    workflow: 'mcporder',
    id: 'o-sleep',
    result: 'cancelled',
  });
  await assert.rejects(sleeping.result(), { code: 'ERR_WORKFLOW_CANCELLED' });
  assert.equal(
    (
      await ok(client, 'workflow_signal', {
        workflow: 'mcporder',
        id: 'o-signal',
        name: 'approve',
        payload: { by: 'mcp' },
        signal_id: 's1',
      })
    ).result,
    'accepted',
  );
  assert.deepEqual(await waiting.result(), { first: 1, approved: 'mcp' });
  charge.fails = false;
  assert.equal((await ok(client, 'workflow_resume', { workflow: 'mcporder', id: 'o-fail' })).result, 'resumed');
  assert.deepEqual(await failing.result(), { first: 1, second: 2 });
  const after = await ok<Listed>(client, 'workflow_list', { workflow: 'mcporder' });
  assert.deepEqual(byId(after), [
    ['o-complete', 'completed'],
    ['o-fail', 'completed'],
    ['o-signal', 'completed'],
    ['o-sleep', 'cancelled'],
  ]);

  // Refusals and bad arguments: each with its code; the node goes on.
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['workflow_describe', { workflow: 'mcporder', id: 'nope' }, /^ERR_WORKFLOW_NOT_FOUND: /],
    ['workflow_cancel', { workflow: 'mcporder', id: 'o-complete' }, /^ERR_WORKFLOW_CLOSED: /],
    ['workflow_resume', { workflow: 'mcporder', id: 'o-sleep' }, /^ERR_WORKFLOW_CLOSED: /],
    ['workflow_signal', { workflow: 'mcporder', id: 'o-signal', name: 'approve', payload: {} }, /^ERR_WORKFLOW_CLOSED/],
    ['workflow_list', { workflow: 'mcporder', status: 'asleep' }, /status/],
    ['workflow_list', { workflow: 'mcporder', limit: 0 }, /limit/],
    ['workflow_list', { workflow: 'mcporder', limit: 5000 }, /limit/],
    ['workflow_describe', { workflow: 'mcporder' }, /id/],
    ['workflow_describe', { workflow: 42, id: 'x' }, /workflow/],
    [
      'workflow_list',
      { workflow: 'mcporder', entities: 'nobody' },
      /^ERR_MCP_UNSUPPORTED: .*no entities runtime named nobody/,
    ],
    ['workflow_list', { node: b.name, workflow: 'mcporder' }, /ERR_MCP_UNSUPPORTED: .*no entities runtime/],
    ['workflow_list', { workflow: 'no-such-kind' }, /"items":\[\]|^$/],
  ];
  for (const [name, args, expected] of cases) {
    const r = await call(client, name, args);
    if (name === 'workflow_list' && args.workflow === 'no-such-kind') {
      assert.equal(r.isError, false, r.text);
      assert.deepEqual((r.json as Listed).items, []);
      continue;
    }
    assert.equal(r.isError, true, `${name} ${JSON.stringify(args)}: ${r.text}`);
    assert.match(r.text, expected, `${name} ${JSON.stringify(args)}`);
  }
  const signalled = await call(client, 'workflow_signal', {
    workflow: 'mcporder',
    id: 'o-x',
    name: 'approve',
    payload: { by: 1 },
  });
  assert.match(signalled.text, /^ERR_WORKFLOW_NOT_FOUND/);
  assert.deepEqual((await ok<{ workflows: string[] }>(client, 'workflow_list', {})).workflows, [
    'mcpinvoice',
    'mcporder',
  ]);
});

test('workflow_list searches by search attributes and time, newest first, with counts; bad filters refused', async () => {
  const wf = entities.workflows;
  const before = Date.now() - 1;
  for (const [id, customer, total] of [
    ['i1', 'c-7', 10],
    ['i2', 'c-8', 20],
    ['i3', 'c-7', 30],
  ] as const)
    assert.equal(await (await wf.start(Invoice, id, { customer, total })).result(), total);
  const c7 = await ok<Listed>(client, 'workflow_list', { workflow: 'mcpinvoice', attributes: { customer: 'c-7' } });
  assert.deepEqual(c7.items.map((i) => i.id).sort(), ['i1', 'i3']);
  assert.deepEqual(c7.items.find((i) => i.id === 'i3')?.attributes, { customer: 'c-7', total: 30 });
  assert.deepEqual(c7.counts, { running: 0, completed: 2, failed: 0, cancelled: 0, timedOut: 0, total: 2 });
  // Every kind, by attribute and an ISO start time: the invoices (the orders set no attribute).
  const since = await ok<Listed>(client, 'workflow_list', {
    attributes: { total: 20 },
    startedAfter: new Date(before).toISOString(),
  });
  assert.deepEqual(
    since.items.map((i) => [i.workflow, i.id]),
    [['mcpinvoice', 'i2']],
  );
  const ended = await ok<Listed>(client, 'workflow_list', { workflow: 'mcpinvoice', endedAfter: before, limit: 2 });
  assert.equal(ended.items.length, 2);
  const rest = await ok<Listed>(client, 'workflow_list', {
    workflow: 'mcpinvoice',
    endedAfter: before,
    cursor: ended.next,
  });
  assert.deepEqual([...ended.items, ...rest.items].map((i) => i.id).sort(), ['i1', 'i2', 'i3']);
  const bad: [Record<string, unknown>, RegExp][] = [
    [
      { workflow: 'mcpinvoice', attributes: { region: 'eu' } },
      /^ERR_WORKFLOW_INCORRECT: .*declares no attribute "region"/,
    ],
    [{ workflow: 'mcpinvoice', attributes: { total: 'x' } }, /^ERR_WORKFLOW_INCORRECT: .*total/],
    [{ workflow: 'mcpinvoice', startedAfter: 'last tuesday' }, /^ERR_MCP_BAD_ARGUMENT: startedAfter/],
    [{ workflow: 'mcpinvoice', cursor: 'nope' }, /^ERR_WORKFLOW_INCORRECT: .*cursor/],
    [{ workflow: 'mcpinvoice', attributes: { x: { y: 1 } } }, /attributes/],
  ];
  for (const [args, expected] of bad) {
    const r = await call(client, 'workflow_list', args);
    assert.equal(r.isError, true, `${JSON.stringify(args)}: ${r.text}`);
    assert.match(r.text, expected, JSON.stringify(args));
  }
});

test("the entities manager's inspection through process_inspect: the inbox sweeper's gauge, the reminders and the projections", async () => {
  const r = await ok<{ node: string; state: { info: string } }>(client, 'process_inspect', {
    pid: 'entities',
    items: ['info'],
  });
  assert.equal(r.node, a.name);
  const info = JSON.parse(r.state.info) as {
    inbox?: { pendingKeys: number; oldestPendingAgeMs: number };
    reminders?: { fired: number };
    projections: unknown[];
  };
  assert.deepEqual(info.inbox && Object.keys(info.inbox).sort(), [
    'activated',
    'failed',
    'inFlight',
    'oldestPendingAgeMs',
    'pendingKeys',
  ]);
  assert.equal(typeof info.reminders?.fired, 'number');
  assert.deepEqual(info.projections, []);
  // From the read-only server of the other node too (`node`).
  const remote = await ok<{ node: string; state: { info: string } }>(readOnly, 'process_inspect', {
    node: a.name,
    pid: 'entities',
    items: ['info'],
  });
  assert.equal(
    typeof (JSON.parse(remote.state.info) as { inbox?: { oldestPendingAgeMs: number } }).inbox?.oldestPendingAgeMs,
    'number',
  );
});

test('workflow_reset (asks a reason, keeps it), workflow_stats, and the dead-letter tools', async () => {
  const wf = entities.workflows;
  const before = await ok<{ kinds: Record<string, { started: number; completed: number }> }>(client, 'workflow_stats', {
    workflow: 'mcporder',
  });
  assert.deepEqual(Object.keys(before.kinds), ['mcporder']);
  const h = await wf.start(Order, 'o-reset', { mode: 'complete' });
  assert.deepEqual(await h.result(), { first: 1, second: 2 });
  const { tools } = await client.listTools();
  assert.equal(tools.find((t) => t.name === 'workflow_reset')?.annotations?.destructiveHint, true);
  assert.equal(tools.find((t) => t.name === 'dead_letters')?.annotations?.readOnlyHint, true);
  assert.deepEqual(
    await ok(client, 'workflow_reset', { workflow: 'mcporder', id: 'o-reset', to_seq: 1, reason: 'bad deploy' }),
    { node: a.name, workflow: 'mcporder', id: 'o-reset', toSeq: 1, result: 'reset' },
  );
  await eventually(async () => (await h.describe()).status === 'completed', 'o-reset ran again');
  const d = await h.describe();
  assert.deepEqual(
    d.resets?.map((r) => [r.toSeq, r.reason]),
    [[1, 'bad deploy']],
  );
  const r = await call(readOnly, 'workflow_reset', { node: a.name, workflow: 'mcporder', id: 'o-reset', to_seq: 0 });
  assert.ok(r.isError && /disabled/.test(r.text), r.text);
  const past = await call(client, 'workflow_reset', { workflow: 'mcporder', id: 'o-reset', to_seq: 99 });
  assert.match(past.text, /^ERR_WORKFLOW_INCORRECT: /);
  assert.match((await call(client, 'workflow_reset', { workflow: 'mcporder', id: 'o-reset' })).text, /to_seq/);

  const now = await ok<{ at: number; kinds: Record<string, { started: number; completed: number; open: number }> }>(
    client,
    'workflow_stats',
    {},
  );
  assert.ok(now.kinds.mcporder!.started >= before.kinds.mcporder!.started + 1, JSON.stringify(now));
  assert.ok(now.kinds.mcporder!.completed >= before.kinds.mcporder!.completed + 2, 'completed, then again');
  assert.match((await call(client, 'workflow_stats', { workflow: 'nope' })).text, /^ERR_WORKFLOW_INCORRECT: /);
  // The cluster's figures (this one-member cluster: the member's own, and the node summed named).
  const cluster = await ok<{ kinds: Record<string, { started: number; nodes: string[]; missing: string[] }> }>(
    client,
    'workflow_stats',
    { workflow: 'mcporder', scope: 'cluster' },
  );
  assert.equal(cluster.kinds.mcporder!.started, now.kinds.mcporder!.started);
  assert.deepEqual([cluster.kinds.mcporder!.nodes, cluster.kinds.mcporder!.missing], [[a.name], []]);

  // A poison message: two failed attempts, then it is set apart and the tools see it.
  poison.on = true;
  assert.equal(await entities.sendDurable(entity(picky, 'k'), { add: 13 }, 'm1'), 'accepted');
  const listed = async (): Promise<{ id: string; attempts: number; error: string; message: unknown }[]> =>
    (
      await ok<{ deadLetters: { id: string; attempts: number; error: string; message: unknown }[] }>(
        client,
        'dead_letters',
        { kind: 'mcppicky' },
      )
    ).deadLetters;
  await eventually(async () => (await listed()).length === 1, 'm1 set apart');
  const [dead] = await listed();
  assert.equal(dead!.id, 'm1');
  assert.equal(dead!.attempts, 2);
  assert.deepEqual(dead!.message, { add: 13 });
  assert.match(dead!.error, /13 is unlucky/);
  const remote = await ok<{ node: string; deadLetters: unknown[] }>(readOnly, 'dead_letters', { node: a.name });
  assert.equal(remote.deadLetters.length, 1);
  const refused = await call(readOnly, 'dead_letter_retry', { node: a.name, kind: 'mcppicky', key: 'k', id: 'm1' });
  assert.ok(refused.isError && /disabled/.test(refused.text), refused.text);
  poison.on = false;
  assert.deepEqual(await ok(client, 'dead_letter_retry', { kind: 'mcppicky', key: 'k', id: 'm1' }), {
    node: a.name,
    kind: 'mcppicky',
    key: 'k',
    id: 'm1',
    result: true,
  });
  await eventually(async () => (await entities.call(entity(picky, 'k'), 'get')) === 13, 'the retried message handled');
  poison.on = true;
  assert.equal(await entities.sendDurable(entity(picky, 'k'), { add: 13 }, 'm2'), 'accepted');
  await eventually(async () => (await listed()).length === 1, 'm2 set apart');
  assert.equal((await ok(client, 'dead_letter_drop', { kind: 'mcppicky', key: 'k', id: 'm2' })).result, true);
  assert.equal((await ok(client, 'dead_letter_drop', { kind: 'mcppicky', key: 'k', id: 'm2' })).result, false);
  assert.deepEqual(await listed(), []);
  assert.match((await call(client, 'dead_letters', { limit: 0 })).text, /limit/);
  assert.match((await call(client, 'dead_letter_drop', { kind: 'mcppicky', key: 'k' })).text, /id/);
  poison.on = false;
});
