// Instances saved before the store had a state index show up in searches: on each store, three
// instances run (completed, failed, sleeping) and the runtime stops; their index rows are then
// dropped as a database an earlier version wrote never had them (SQLite and PostgreSQL: the
// index tables dropped, created empty again when the store opens). A runtime that starts on the
// store backfills the rows of the kinds it hosts (seen in the store's index before any search
// asks), and `entities.workflows.list` finds them by status and attribute. A backfill never
// replaces a row a write made since it read the key, nor adds one for a state that moved on.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually, postgresMissing, startPostgres, UnhandledWatch } from '@ergo-ts/test-support';
import { startNode } from 'ergo-ts';
import pg from 'pg';

import { MemoryStore, PostgresStore, SqliteStore, startEntities, type EntityStore } from '../src/index.js';
import { SearchOrder } from './search_workflows.js';

const watch = new UnhandledWatch('workflow search backfill');
watch.start();
const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-wfbackfill-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
  watch.stop();
});

let n = 0;

/** Runs `fn` on a runtime over `store` hosting SearchOrder, then stops it (the store stays open). */
async function withRuntime(
  store: EntityStore,
  fn: (e: Awaited<ReturnType<typeof startEntities>>) => Promise<void>,
): Promise<void> {
  const node = await startNode(`wfbackfill${++n}_${process.pid}@localhost`, { log: { level: 'warning' } });
  const entities = await startEntities(node, { store, kinds: [SearchOrder] });
  try {
    await fn(entities);
  } finally {
    await entities.stop();
    await node.stop();
  }
}

/** Three instances, as a version without the index would have left them. */
async function runThree(store: EntityStore): Promise<void> {
  await withRuntime(store, async (e) => {
    const wf = e.workflows;
    assert.equal(
      await (await wf.start(SearchOrder, 'b1', { customer: 'c-1', total: 1, mode: 'complete' })).result(),
      1,
    );
    await assert.rejects((await wf.start(SearchOrder, 'b2', { customer: 'c-2', total: 2, mode: 'fail' })).result(), {
      code: 'ERR_WORKFLOW_FAILED',
    });
    const h = await wf.start(SearchOrder, 'b3', { customer: 'c-1', total: 3, mode: 'sleep' });
    await eventually(async () => (await h.describe()).timers.length === 1, 'b3 sleeps');
  });
}

/** After the rows were dropped: a new runtime backfills at its start, and searches find every instance. */
async function backfilled(store: EntityStore): Promise<void> {
  const idx = store.stateIndex!;
  assert.deepEqual(await idx.search({ kind: SearchOrder.name, limit: 10 }), [], 'the rows are gone');
  const unindexed = await idx.unindexed(SearchOrder.name, { limit: 10 });
  assert.deepEqual(
    unindexed.map((r) => r.key),
    ['b1', 'b2', 'b3'],
  );
  await withRuntime(store, async (e) => {
    // The runtime's start backfills (no search asked yet).
    await eventually(async () => (await idx.search({ kind: SearchOrder.name, limit: 10 })).length === 3, 'backfilled');
    const all = await e.workflows.list({ kind: SearchOrder });
    assert.deepEqual(all.counts, { running: 1, completed: 1, failed: 1, cancelled: 0, timedOut: 0, total: 3 });
    assert.deepEqual(
      (await e.workflows.list({ kind: SearchOrder, attributes: { customer: 'c-1' } })).items.map((i) => i.id).sort(),
      ['b1', 'b3'],
    );
    assert.deepEqual(
      (await e.workflows.list({ kind: SearchOrder, status: 'failed' })).items.map((i) => i.id),
      ['b2'],
    );
    assert.deepEqual(await idx.unindexed(SearchOrder.name, { limit: 10 }), []);
  });
  // A backfill adds nothing over a row a write made, nor for a state whose version moved on.
  const b1 = (await idx.search({ kind: SearchOrder.name, attributes: { customer: 'c-1' }, limit: 10 })).find(
    (r) => r.key === 'b1',
  )!;
  assert.equal(await idx.backfill(SearchOrder.name, 'b1', b1.version, { status: 'running', started: 1 }), false);
  assert.equal((await idx.count({ kind: SearchOrder.name })).completed, 1);
  await assert.rejects(idx.backfill(SearchOrder.name, 'b1', 1, { status: '', started: 1 }), {
    code: 'ERR_ENTITY_INCORRECT',
  });
}

test('memory store: instances saved before the index are backfilled when a runtime starts', async () => {
  const store = new MemoryStore();
  await runThree(store);
  store.data.stateIndex.rows.clear();
  await backfilled(store.reopen());
  await store.close();
});

test('SQLite store: a file without the index tables gains them, and its instances are backfilled', async () => {
  const path = join(dir, 'old.db');
  const first = SqliteStore.open(path);
  await runThree(first);
  await first.close();
  const { DatabaseSync } = createRequire(import.meta.url)('node:sqlite') as {
    DatabaseSync: new (p: string) => { exec(sql: string): void; close(): void };
  };
  const db = new DatabaseSync(path);
  db.exec('DROP TABLE entity_search; DROP TABLE entity_search_attrs;');
  db.close();
  const store = SqliteStore.open(path);
  try {
    await backfilled(store);
  } finally {
    await store.close();
  }
});

test('PostgreSQL store: a database without the search table gains it, and its instances are backfilled', async (t) => {
  const missing = postgresMissing();
  if (missing !== undefined) return t.skip(missing);
  const server = await startPostgres();
  try {
    const first = await PostgresStore.open(server.url, { tablePrefix: 'wfold_' });
    await runThree(first);
    await first.close();
    const c = new pg.Client({ connectionString: server.url });
    await c.connect();
    // An earlier version's database: no search table, and no schema fingerprint either.
    await c.query('DROP TABLE wfold_search; DROP TABLE IF EXISTS wfold_schema');
    await c.end();
    const store = await PostgresStore.open(server.url, { tablePrefix: 'wfold_' });
    try {
      await backfilled(store);
    } finally {
      await store.close();
    }
  } finally {
    await server.stop();
  }
});
