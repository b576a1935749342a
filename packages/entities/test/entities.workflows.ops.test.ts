// An operator's view of workflows, on each store (memory, SQLite, and PostgreSQL on a real server):
// `entities.workflows.list` pages a kind's instances read from the store's state index (one
// completed, one sleeping, one waiting for a signal, one failed, and more completed ones for
// paging), newest first, filtered by status; the entities manager answers the same operations for tools that do not import this
// package (kinds, list, describe, cancel, resume, signal: JSON text, refusals with their code);
// and a store without `stateIndex` gets ERR_WORKFLOW_UNSUPPORTED.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually, postgresMissing, startPostgres, UnhandledWatch } from '@ergo-ts/test-support';
import { ProcessID, startNode, type Atom, type Node } from 'ergo-ts';

import {
  MemoryStore,
  PostgresStore,
  SqliteStore,
  WorkflowClient,
  startEntities,
  type Entities,
  type EntityStore,
  type WorkflowOperationReply,
  type WorkflowSummary,
} from '../src/index.js';
import { OpsFlow, setChargeFails } from './ops_workflows.js';

const watch = new UnhandledWatch('workflow operations');
watch.start();
const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-wfops-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
  watch.stop();
});

let n = 0;

async function runtime(
  t: { after(fn: () => Promise<void>): void },
  store: EntityStore,
): Promise<{ node: Node; entities: Entities }> {
  const node = await startNode(`wfops${++n}_${process.pid}@localhost`, { log: { level: 'warning' } });
  const entities = await startEntities(node, { store, kinds: [OpsFlow] });
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  return { node, entities };
}

/** Asks the node's entities manager, as the Observer and the MCP server do. */
async function operate(node: Node, request: Record<string, unknown>): Promise<WorkflowOperationReply> {
  const text = await node.call(new ProcessID('entities' as Atom, node.name), { '~entity': 'workflows', ...request });
  assert.equal(typeof text, 'string');
  return JSON.parse(text as string) as WorkflowOperationReply;
}

const ids = (items: readonly WorkflowSummary[]): string[] => items.map((i) => i.id);
const sorted = (items: readonly WorkflowSummary[]): string[] => ids(items).sort();

/** Newest first: start time descending, then id descending (the index's order within one kind). */
function assertNewestFirst(items: readonly WorkflowSummary[]): void {
  for (let i = 1; i < items.length; i++) {
    const a = items[i - 1]!;
    const b = items[i]!;
    assert.ok(a.startedAt! > b.startedAt! || (a.startedAt === b.startedAt && a.id > b.id), `${a.id} before ${b.id}`);
  }
}

async function scenario(t: { after(fn: () => Promise<void>): void }, store: EntityStore): Promise<void> {
  setChargeFails(true);
  const { node, entities } = await runtime(t, store);
  const wf = entities.workflows;
  const done = await wf.start(OpsFlow, 'c1', { mode: 'complete' });
  const sleeping = await wf.start(OpsFlow, 's1', { mode: 'sleep' });
  const waiting = await wf.start(OpsFlow, 'g1', { mode: 'signal' });
  const failing = await wf.start(OpsFlow, 'f1', { mode: 'fail' });
  for (const id of ['c2', 'c3', 'c4']) await (await wf.start(OpsFlow, id, { mode: 'complete' })).result();
  assert.deepEqual(await done.result(), { first: 1, second: 2 });
  await assert.rejects(failing.result(), { code: 'ERR_WORKFLOW_FAILED' });
  await eventually(async () => (await sleeping.describe()).timers.length === 1, 's1 sleeps');
  await eventually(async () => (await waiting.describe()).history.some((e) => e.n === 'reserve'), 'g1 waits');

  const all = await wf.list(OpsFlow);
  assert.deepEqual(sorted(all.items), ['c1', 'c2', 'c3', 'c4', 'f1', 'g1', 's1']);
  assertNewestFirst(all.items);
  assert.equal(all.next, undefined);
  assert.deepEqual(all.counts, { running: 2, completed: 4, failed: 1, cancelled: 0, timedOut: 0, total: 7 });
  assert.deepEqual(sorted((await wf.list('opsflow', { status: 'running' })).items), ['g1', 's1']);
  assert.deepEqual(ids((await wf.list(OpsFlow, { status: 'failed' })).items), ['f1']);
  assert.deepEqual(ids((await wf.list(OpsFlow, { status: 'cancelled' })).items), []);
  const f1 = all.items.find((i) => i.id === 'f1')!;
  assert.equal(f1.workflow, 'opsflow');
  assert.equal(f1.runs, 1);
  assert.match(f1.error?.message ?? '', /step charge failed after 1 attempt\(s\): card declined/);
  assert.ok(typeof f1.startedAt === 'number' && typeof f1.endedAt === 'number' && f1.endedAt >= f1.startedAt);
  const s1 = all.items.find((i) => i.id === 's1')!;
  assert.equal(s1.endedAt, undefined);
  assert.equal(s1.steps, 2); // reserve, the sleep
  // Pages of 3, each from the previous page's next: the same instances in the same order.
  const paged: string[] = [];
  let after: string | undefined;
  for (let i = 0; i < 5; i++) {
    const page = await wf.list(OpsFlow, { limit: 3, ...(after === undefined ? {} : { after }) });
    paged.push(...ids(page.items));
    after = page.next;
    if (after === undefined) break;
  }
  assert.deepEqual(paged, ids(all.items));
  // A filtered page: running ones, one at a time.
  const r1 = await wf.list(OpsFlow, { status: 'running', limit: 1 });
  assert.equal(r1.items.length, 1);
  const r2 = await wf.list(OpsFlow, { status: 'running', limit: 1, cursor: r1.next! });
  assert.deepEqual([...ids(r1.items), ...ids(r2.items)].sort(), ['g1', 's1']);
  for (const bad of [{ limit: 0 }, { limit: 1001 }, { status: 'asleep' }, { after: '' }])
    await assert.rejects(wf.list(OpsFlow, bad as never), { code: 'ERR_WORKFLOW_INCORRECT' }, JSON.stringify(bad));
  await assert.rejects(wf.list(''), { code: 'ERR_WORKFLOW_INCORRECT' });
  // A client made without its runtime cannot list.
  await assert.rejects(new WorkflowClient(entities).list(OpsFlow), { code: 'ERR_WORKFLOW_UNSUPPORTED' });

  // The same through the entities manager, as the Observer and the MCP server ask.
  assert.deepEqual(await operate(node, { op: 'kinds' }), { ok: true, value: ['opsflow'] });
  const listed = await operate(node, { op: 'list', workflow: 'opsflow', status: 'failed' });
  assert.ok(listed.ok);
  assert.deepEqual(ids((listed.value as { items: WorkflowSummary[] }).items), ['f1']);
  const described = await operate(node, { op: 'describe', workflow: 'opsflow', id: 's1' });
  assert.ok(described.ok);
  assert.equal((described.value as { timers: unknown[] }).timers.length, 1);
  assert.deepEqual(await operate(node, { op: 'cancel', workflow: 'opsflow', id: 's1', reason: 'ops' }), {
    ok: true,
    value: 'cancelled',
  });
  await assert.rejects(sleeping.result(), { code: 'ERR_WORKFLOW_CANCELLED' });
  assert.deepEqual(
    await operate(node, { op: 'signal', workflow: 'opsflow', id: 'g1', name: 'approve', payload: { by: 'ops' } }),
    { ok: true, value: 'accepted' },
  );
  assert.deepEqual(await waiting.result(), { first: 1, approved: 'ops' });
  setChargeFails(false);
  assert.deepEqual(await operate(node, { op: 'resume', workflow: 'opsflow', id: 'f1' }), {
    ok: true,
    value: 'resumed',
  });
  assert.deepEqual(await failing.result(), { first: 1, second: 2 });
  assert.deepEqual(ids((await wf.list(OpsFlow, { status: 'failed' })).items), []);
  assert.deepEqual(ids((await wf.list(OpsFlow, { status: 'cancelled' })).items), ['s1']);
  const f1After = (await wf.list(OpsFlow)).items.find((i) => i.id === 'f1')!;
  assert.equal(f1After.status, 'completed');
  assert.equal(f1After.runs, 1);

  // Refusals come back with their code; nothing a caller sends stops the manager.
  const refused = async (request: Record<string, unknown>, code: string): Promise<void> => {
    const r = await operate(node, request);
    assert.ok(!r.ok && r.code === code, `${JSON.stringify(request)} → ${JSON.stringify(r)}`);
  };
  await refused({ op: 'describe', workflow: 'opsflow', id: 'nope' }, 'ERR_WORKFLOW_NOT_FOUND');
  await refused({ op: 'cancel', workflow: 'opsflow', id: 'c1' }, 'ERR_WORKFLOW_CLOSED');
  await refused({ op: 'signal', workflow: 'opsflow', id: 'g1', name: 'approve', payload: {} }, 'ERR_WORKFLOW_CLOSED');
  await refused({ op: 'explode' }, 'ERR_WORKFLOW_INCORRECT');
  await refused({ op: 'list', status: 'asleep' }, 'ERR_WORKFLOW_INCORRECT');
  await refused({ op: 'list', workflow: 'opsflow', limit: 'x' }, 'ERR_WORKFLOW_INCORRECT');
  await refused({ op: 'describe', workflow: 'opsflow', id: 7 }, 'ERR_WORKFLOW_INCORRECT');
  assert.deepEqual(await operate(node, { op: 'kinds' }), { ok: true, value: ['opsflow'] });
}

test('memory store: list, filter and page workflows; the manager answers operations', async (t) => {
  await scenario(t, new MemoryStore());
});

test('SQLite store: list, filter and page workflows; the manager answers operations', async (t) => {
  await scenario(t, SqliteStore.open(join(dir, 'wf.db')));
});

test('PostgreSQL store: list, filter and page workflows; the manager answers operations', async (t) => {
  const missing = postgresMissing();
  if (missing !== undefined) return t.skip(missing);
  const server = await startPostgres();
  t.after(() => server.stop());
  await scenario(t, await PostgresStore.open(server.url, { tablePrefix: 'wfops_' }));
});

test('a store without stateIndex: list is ERR_WORKFLOW_UNSUPPORTED, the rest works', async (t) => {
  const memory = new MemoryStore();
  // The memory store with stateIndex hidden (every other method its own).
  const custom = new Proxy(memory, {
    get: (target, p) => {
      if (p === 'stateIndex') return undefined;
      const v = Reflect.get(target, p, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
    has: (target, p) => p !== 'stateIndex' && p in target,
  });
  const { node, entities } = await runtime(t, custom);
  const h = await entities.workflows.start(OpsFlow, 'x', { mode: 'complete' });
  assert.deepEqual(await h.result(), { first: 1, second: 2 });
  await assert.rejects(entities.workflows.list(OpsFlow), {
    code: 'ERR_WORKFLOW_UNSUPPORTED',
    message: /has no stateIndex/,
  });
  const r = await operate(node, { op: 'list', workflow: 'opsflow' });
  assert.ok(!r.ok && r.code === 'ERR_WORKFLOW_UNSUPPORTED');
});
