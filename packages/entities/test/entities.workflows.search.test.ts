// Workflow search on each store (memory, SQLite, and PostgreSQL on a real server): instances of two
// kinds set typed search attributes (`ctx.setAttributes`) and end completed, failed or running;
// `entities.workflows.list(query)` finds them by kind, status, attributes and start/end time
// ranges, newest first, with counts per status, across kinds or in one; `count` agrees; a cursor
// survives instances started between pages (none skipped or repeated); bad filters and
// undeclared attributes are refused with ERR_WORKFLOW_INCORRECT; the entities manager answers the
// same query for the Observer and the MCP server.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually, postgresMissing, startPostgres, UnhandledWatch } from '@ergo-ts/test-support';
import { ProcessID, startNode, type Atom, type Node } from 'ergo-ts';

import {
  defineWorkflow,
  MemoryStore,
  PostgresStore,
  SqliteStore,
  startEntities,
  type Entities,
  type EntityStore,
  type WorkflowOperationReply,
  type WorkflowSearchPage,
  type WorkflowSummary,
} from '../src/index.js';
import { SearchBad, SearchOrder, SearchRefund, SearchRepeat, type SearchMode } from './search_workflows.js';

const watch = new UnhandledWatch('workflow search');
watch.start();
const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-wfsearch-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
  watch.stop();
});

let n = 0;

async function runtime(
  t: { after(fn: () => Promise<void>): void },
  store: EntityStore,
): Promise<{ node: Node; entities: Entities }> {
  const node = await startNode(`wfsearch${++n}_${process.pid}@localhost`, { log: { level: 'warning' } });
  const entities = await startEntities(node, { store, kinds: [SearchOrder, SearchRefund, SearchBad, SearchRepeat] });
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  return { node, entities };
}

interface Spec {
  readonly id: string;
  readonly customer: string;
  readonly total: number;
  readonly vip?: boolean;
  readonly mode: SearchMode;
}

const ORDERS: readonly Spec[] = [
  { id: 'o01', customer: 'c-1', total: 10, mode: 'complete' },
  { id: 'o02', customer: 'c-2', total: 20, mode: 'fail' },
  { id: 'o03', customer: 'c-1', total: 30, mode: 'sleep' },
  { id: 'o04', customer: 'c-3', total: 40, vip: true, mode: 'complete' },
  { id: 'o05', customer: 'c-1', total: 30, vip: false, mode: 'fail' },
  { id: 'o06', customer: 'c-2', total: 60, mode: 'sleep' },
  { id: 'o07', customer: 'c-1', total: 70, vip: true, mode: 'complete' },
  { id: 'o08', customer: 'c-3', total: 80, mode: 'complete' },
];

/** Starts an order and waits until it settled as its mode says. */
async function place(entities: Entities, s: Spec): Promise<void> {
  const { id, mode, ...rest } = s;
  const h = await entities.workflows.start(SearchOrder, id, { ...rest, mode });
  if (mode === 'complete') assert.equal(await h.result(), s.total);
  else if (mode === 'fail') await assert.rejects(h.result(), { code: 'ERR_WORKFLOW_FAILED' });
  else await eventually(async () => (await h.describe()).timers.length === 1, `${id} sleeps`);
}

const ids = (items: readonly WorkflowSummary[]): string[] => items.map((i) => i.id).sort();
const of = (pred: (s: Spec) => boolean): string[] =>
  ORDERS.filter(pred)
    .map((s) => s.id)
    .sort();

/** Newest first: start time, then kind, then id, each descending (UTF-8 order of the plain ASCII names here). */
function assertNewestFirst(items: readonly WorkflowSummary[]): void {
  for (let i = 1; i < items.length; i++) {
    const a = items[i - 1]!;
    const b = items[i]!;
    const later =
      a.startedAt! > b.startedAt! ||
      (a.startedAt === b.startedAt && (a.workflow > b.workflow || (a.workflow === b.workflow && a.id > b.id)));
    assert.ok(later, `${a.workflow}/${a.id} before ${b.workflow}/${b.id}`);
  }
}

async function operate(node: Node, request: Record<string, unknown>): Promise<WorkflowOperationReply> {
  const text = await node.call(new ProcessID('entities' as Atom, node.name), { '~entity': 'workflows', ...request });
  return JSON.parse(text as string) as WorkflowOperationReply;
}

async function scenario(t: { after(fn: () => Promise<void>): void }, store: EntityStore): Promise<void> {
  const { node, entities } = await runtime(t, store);
  const wf = entities.workflows;
  for (const s of ORDERS) await place(entities, s);
  assert.equal(await (await wf.start(SearchRefund, 'r1', { customer: 'c-1' })).result(), 'refunded');
  assert.equal(await (await wf.start(SearchRefund, 'r2', { customer: 'c-2' })).result(), 'refunded');

  // Every kind, newest first, with the totals per status.
  const all = await wf.list();
  assert.equal(all.items.length, 10);
  assertNewestFirst(all.items);
  assert.deepEqual(all.counts, { running: 2, completed: 6, failed: 2, cancelled: 0, timedOut: 0, total: 10 });
  assert.equal(all.next, undefined);
  const o04 = all.items.find((i) => i.id === 'o04')!;
  assert.deepEqual(o04.attributes, { customer: 'c-3', total: 40, vip: true });
  assert.deepEqual((await wf.handle(SearchOrder, 'o04').describe()).attributes, {
    customer: 'c-3',
    total: 40,
    vip: true,
  });

  // One kind, by status: the failed ones, and the totals of the kind.
  const failed = await wf.list({ kind: SearchOrder, status: 'failed' });
  assert.deepEqual(
    ids(failed.items),
    of((s) => s.mode === 'fail'),
  );
  assert.deepEqual(failed.counts, { running: 2, completed: 4, failed: 2, cancelled: 0, timedOut: 0, total: 8 });
  // By attribute: one kind, every kind, two attributes, a boolean, with a status.
  const c1 = await wf.list({ kind: SearchOrder, attributes: { customer: 'c-1' } });
  assert.deepEqual(
    ids(c1.items),
    of((s) => s.customer === 'c-1'),
  );
  assert.deepEqual(c1.counts, { running: 1, completed: 2, failed: 1, cancelled: 0, timedOut: 0, total: 4 });
  assert.deepEqual(ids((await wf.list({ attributes: { customer: 'c-1' } })).items), [
    ...of((s) => s.customer === 'c-1'),
    'r1',
  ]);
  assert.deepEqual(ids((await wf.list({ kind: SearchOrder, attributes: { customer: 'c-1', total: 30 } })).items), [
    'o03',
    'o05',
  ]);
  assert.deepEqual(ids((await wf.list({ kind: SearchOrder, attributes: { vip: true } })).items), ['o04', 'o07']);
  assert.deepEqual(ids((await wf.list({ kind: SearchOrder, attributes: { vip: false } })).items), ['o05']);
  assert.deepEqual(
    ids((await wf.list({ kind: SearchOrder, status: 'running', attributes: { customer: 'c-2' } })).items),
    ['o06'],
  );
  // By name: a kind this runtime hosts is checked by its declaration all the same.
  assert.deepEqual(ids((await wf.list({ kind: 'search-order', attributes: { total: 30 } })).items), ['o03', 'o05']);
  await assert.rejects(wf.list({ kind: 'search-order', attributes: { total: '30' } }), {
    code: 'ERR_WORKFLOW_INCORRECT',
  });
  assert.deepEqual(await wf.count({ kind: SearchOrder, attributes: { customer: 'c-1' } }), c1.counts);

  // Time ranges, against the start and end times the listing shows.
  const orders = (await wf.list({ kind: SearchOrder })).items;
  const mid = orders.find((i) => i.id === 'o05')!;
  const startedAfter = orders.filter((i) => i.startedAt! > mid.startedAt!);
  assert.deepEqual(ids((await wf.list({ kind: SearchOrder, startedAfter: mid.startedAt! })).items), ids(startedAfter));
  assert.deepEqual(
    ids((await wf.list({ kind: SearchOrder, startedBefore: new Date(mid.startedAt!) })).items),
    ids(orders.filter((i) => i.startedAt! < mid.startedAt!)),
  );
  const ended = orders.filter((i) => i.endedAt !== undefined);
  assert.equal(ended.length, 6);
  assert.deepEqual(ids((await wf.list({ kind: SearchOrder, endedAfter: 0 })).items), ids(ended));
  assert.deepEqual(
    ids((await wf.list({ kind: SearchOrder, endedBefore: mid.endedAt! })).items),
    ids(ended.filter((i) => i.endedAt! < mid.endedAt!)),
  );

  // A cursor: pages of 3; two orders started between the first page and the rest are not in them
  // (newer than the cursor), and no order is skipped or repeated.
  const seen: string[] = [];
  let page: WorkflowSearchPage = await wf.list({ kind: SearchOrder, limit: 3 });
  seen.push(...page.items.map((i) => i.id));
  await place(entities, { id: 'o09', customer: 'c-4', total: 90, mode: 'complete' });
  await place(entities, { id: 'o10', customer: 'c-4', total: 100, mode: 'sleep' });
  while (page.next !== undefined) {
    page = await wf.list({ kind: SearchOrder, limit: 3, cursor: page.next });
    seen.push(...page.items.map((i) => i.id));
  }
  assert.deepEqual(
    [...seen].sort(),
    of(() => true),
  );
  assert.equal(new Set(seen).size, seen.length);
  assert.deepEqual(ids((await wf.list({ kind: SearchOrder, limit: 2 })).items), ['o09', 'o10']);

  // Bad filters: coded errors naming the field.
  const bad: [unknown, RegExp][] = [
    [{ kind: SearchOrder, attributes: { region: 'eu' } }, /declares no attribute "region"/],
    [{ kind: SearchOrder, attributes: { total: '30' } }, /total of workflow search-order is a number/],
    [{ cursor: 'garbage' }, /is not a page's next/],
    [{ status: 'asleep' }, /status must be one of/],
    [{ startedAfter: -1 }, /startedAfter/],
    [{ endedBefore: 'yesterday' }, /endedBefore/],
    [{ limit: 0 }, /limit/],
    [{ kind: '' }, /kind/],
    [{ attributes: { 'no spaces': 1 } }, /must match/],
    [{ attributes: { x: {} } }, /must be a string/],
  ];
  for (const [q, message] of bad)
    await assert.rejects(wf.list(q as never), { code: 'ERR_WORKFLOW_INCORRECT', message }, JSON.stringify(q));
  await assert.rejects(wf.count({ kind: SearchOrder, attributes: { vip: 'yes' } } as never), {
    code: 'ERR_WORKFLOW_INCORRECT',
  });

  // A body that sets what its definition does not declare is refused (past the types).
  for (const set of [{ nope: 1 }, { n: 'one' }, { n: Number.NaN }])
    assert.equal(
      await (await wf.start(SearchBad, JSON.stringify(set) ?? 'nan', { set })).result(),
      'ERR_WORKFLOW_INCORRECT',
      JSON.stringify(set),
    );
  assert.equal(await (await wf.start(SearchBad, 'ok', { set: { n: 1 } })).result(), 'set');
  assert.deepEqual(ids((await wf.list({ kind: SearchBad, attributes: { n: 1 } })).items), ['ok']);

  // Setting a value an instance already has writes nothing: 100 repeats and a change, a few writes.
  assert.equal(await (await wf.start(SearchRepeat, 'r', undefined)).result(), 'done');
  const repeated = await store.load({ kind: 'search-repeat', key: 'r' });
  assert.deepEqual((repeated.state as { attributes?: unknown }).attributes, { n: 2 });
  assert.ok(repeated.version < 10, `${repeated.version} writes`);

  // The same query through the entities manager, as the Observer and the MCP server ask.
  const r = await operate(node, { op: 'list', workflow: 'search-order', attributes: { customer: 'c-2' }, limit: 1 });
  assert.ok(r.ok, JSON.stringify(r));
  const v = r.value as WorkflowSearchPage;
  assert.equal(v.items.length, 1);
  assert.equal(v.counts.total, 2);
  const r2 = await operate(node, {
    op: 'list',
    workflow: 'search-order',
    attributes: { customer: 'c-2' },
    cursor: v.next,
  });
  assert.ok(r2.ok);
  assert.deepEqual([...v.items, ...(r2.value as WorkflowSearchPage).items].map((i) => i.id).sort(), ['o02', 'o06']);
  const r3 = await operate(node, { op: 'list', status: 'failed', startedAfter: 0 });
  assert.ok(r3.ok);
  assert.deepEqual(ids((r3.value as WorkflowSearchPage).items), ['o02', 'o05']);
  const refused = await operate(node, { op: 'list', workflow: 'search-order', attributes: { total: 'x' } });
  assert.ok(!refused.ok && refused.code === 'ERR_WORKFLOW_INCORRECT', JSON.stringify(refused));
}

test('memory store: search workflows by kind, status, attributes and time, newest first, paged by cursor', async (t) => {
  await scenario(t, new MemoryStore());
});

test('SQLite store: search workflows by kind, status, attributes and time, newest first, paged by cursor', async (t) => {
  await scenario(t, SqliteStore.open(join(dir, 'search.db')));
});

test('PostgreSQL store: search workflows by kind, status, attributes and time, newest first, paged by cursor', async (t) => {
  const missing = postgresMissing();
  if (missing !== undefined) return t.skip(missing);
  const server = await startPostgres();
  t.after(() => server.stop());
  await scenario(t, await PostgresStore.open(server.url, { tablePrefix: 'wfsearch_' }));
});

/** Three steps and no search attribute: the search row changes at the start and the end only. */
const ThreeSteps = defineWorkflow('wf-search-steps', async (ctx) => {
  let n = 0;
  for (const s of ['a', 'b', 'c']) n += await ctx.step(s, () => 1);
  return n;
});

test('a write whose search row did not change sends none: a 3-step workflow writes its row at the start and the end only, and a search still finds it', async (t) => {
  const store = new MemoryStore();
  const sent: boolean[] = [];
  const write = store.write.bind(store);
  store.write = (request) => {
    if (request.kind === 'wf-search-steps') sent.push(request.index !== undefined);
    return write(request);
  };
  const node = await startNode(`wfsearch_skip_${process.pid}@localhost`, { log: { level: 'panic' } });
  const entities = await startEntities(node, { store, kinds: [ThreeSteps] });
  t.after(async () => {
    await entities.stop();
    await node.stop();
  });
  const h = await entities.workflows.start(ThreeSteps, 'k1', {});
  assert.equal(await h.result(), 3);
  assert.ok(sent.length >= 5, `writes: ${sent.length}`);
  assert.equal(sent[0], true, 'the start writes the row');
  assert.equal(sent.at(-1), true, 'the end writes the row');
  assert.equal(sent.filter(Boolean).length, 2, `only the start and the end carry a row: ${JSON.stringify(sent)}`);
  const page = await entities.workflows.list({ kind: 'wf-search-steps', status: 'completed' });
  assert.deepEqual(
    page.items.map((w) => w.id),
    ['k1'],
  );
});
