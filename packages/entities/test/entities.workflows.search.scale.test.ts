// Workflow search is served by indexes, not a scan: 20,000 instances on SQLite (5,000 on a real
// PostgreSQL server), written as the engine writes them (a record and its index row in one
// write), then `entities.workflows.list` finds the failed ones and one customer's ones — the
// right rows, newest first, paged by cursor to the last one, with exact counts (the listing
// before the index read at most 10,000 records, in id order) — and the database's own planner
// says each query reads an index: SQLite's EXPLAIN QUERY PLAN and PostgreSQL's EXPLAIN name the
// search indexes and no full scan of the table. A plan check, not a timing.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { postgresMissing, startPostgres, UnhandledWatch } from '@ergo-ts/test-support';
import { startNode } from 'ergo-ts';
import pg from 'pg';

import {
  PostgresStore,
  SqliteStore,
  startEntities,
  type EntityStore,
  type IndexQuery,
  type WorkflowSearchPage,
} from '../src/index.js';
import { postgresCountQuery, postgresSearchQuery } from '../src/store/postgres_index.js';
import { sqliteCountQuery, sqliteSearchQuery } from '../src/store/sqlite_index.js';
import type { WorkflowRecord } from '../src/workflow/model/record.js';
import { SearchOrder } from './search_workflows.js';

const watch = new UnhandledWatch('workflow search at scale');
watch.start();
const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-wfscale-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
  watch.stop();
});

const BASE = Date.UTC(2026, 0, 1);
const id = (i: number): string => `o${String(i).padStart(6, '0')}`;
const statusOf = (i: number): 'failed' | 'running' | 'completed' =>
  i % 97 === 0 ? 'failed' : i % 41 === 0 ? 'running' : 'completed';
const customerOf = (i: number): string => `c-${i % 1000}`;

/** Instance i's record as the engine would have saved it (started one second after i - 1). */
function recordOf(i: number): WorkflowRecord {
  const status = statusOf(i);
  return {
    status,
    input: { i },
    journal: [],
    signals: [],
    signalIds: [],
    runs: 1,
    startedAt: BASE + i * 1000,
    ...(status === 'running' ? {} : { endedAt: BASE + i * 1000 + 500 }),
    attributes: { customer: customerOf(i), total: i },
  };
}

/** Writes `count` instances of SearchOrder, each a record and its index row in one write (as the host saves). */
async function seed(store: EntityStore, count: number): Promise<void> {
  const CHUNK = 500;
  for (let from = 0; from < count; from += CHUNK)
    await Promise.all(
      Array.from({ length: Math.min(CHUNK, count - from) }, async (_, j) => {
        const i = from + j;
        const key = id(i);
        const lease = await store.acquire({ kind: SearchOrder.name, key, owner: 'seed', ttlMs: 600_000 });
        assert.ok(lease.acquired);
        const state = recordOf(i);
        await store.write({
          kind: SearchOrder.name,
          key,
          token: lease.token,
          expectedVersion: 0,
          state,
          index: SearchOrder.index!(state)!,
        });
      }),
    );
}

/** The ids of `pred`'s instances among `count`, newest first. */
function expected(count: number, pred: (i: number) => boolean): string[] {
  const out: string[] = [];
  for (let i = count - 1; i >= 0; i--) if (pred(i)) out.push(id(i));
  return out;
}

/** Every page of a query, following `next`. */
async function allPages(list: (cursor?: string) => Promise<WorkflowSearchPage>): Promise<string[]> {
  const seen: string[] = [];
  let page = await list();
  seen.push(...page.items.map((i) => i.id));
  while (page.next !== undefined) {
    page = await list(page.next);
    seen.push(...page.items.map((i) => i.id));
  }
  return seen;
}

/** Seeds `count` instances and searches them; resolves with what stops the runtime and closes the store. */
async function searches(store: EntityStore, count: number): Promise<() => Promise<void>> {
  await seed(store, count);
  const node = await startNode(`wfscale_${process.pid}_${count}@localhost`, { log: { level: 'warning' } });
  const entities = await startEntities(node, { store, kinds: [SearchOrder] });
  const stop = async (): Promise<void> => {
    await entities.stop();
    await node.stop();
    await store.close();
  };
  const wf = entities.workflows;
  const failed = expected(count, (i) => statusOf(i) === 'failed');
  const first = await wf.list({ kind: SearchOrder, status: 'failed', limit: 50 });
  assert.deepEqual(
    first.items.map((i) => i.id),
    failed.slice(0, 50),
  );
  const total = { running: 0, completed: 0, failed: 0, cancelled: 0, timedOut: 0, total: count };
  for (let i = 0; i < count; i++) total[statusOf(i)]++;
  assert.deepEqual(first.counts, total);
  assert.deepEqual(
    await allPages((cursor) =>
      wf.list({ kind: SearchOrder, status: 'failed', limit: 64, ...(cursor ? { cursor } : {}) }),
    ),
    failed,
  );
  const c7 = expected(count, (i) => customerOf(i) === 'c-7');
  const page = await wf.list({ kind: SearchOrder, attributes: { customer: 'c-7' }, limit: 8 });
  assert.deepEqual(
    page.items.map((i) => i.id),
    c7.slice(0, 8),
  );
  assert.equal(page.counts.total, c7.length);
  assert.deepEqual(
    await allPages((cursor) =>
      wf.list({ kind: SearchOrder, attributes: { customer: 'c-7' }, limit: 8, ...(cursor ? { cursor } : {}) }),
    ),
    c7,
  );
  // A time range and a status across every kind: the running ones of the last 2,000 seconds.
  const since = BASE + (count - 2000) * 1000;
  assert.deepEqual(
    await allPages((cursor) =>
      wf.list({ status: 'running', startedAfter: since, limit: 100, ...(cursor ? { cursor } : {}) }),
    ),
    expected(count, (i) => statusOf(i) === 'running' && BASE + i * 1000 > since),
  );
  return stop;
}

/** The search shapes whose plans are checked. */
const STATUS_PAGE: IndexQuery = { kind: SearchOrder.name, status: 'failed', limit: 50 };
const ATTRIBUTE_PAGE: IndexQuery = { kind: SearchOrder.name, attributes: { customer: 'c-7' }, limit: 50 };
/** Ended in the last 100 seconds of the seeded ones: one kind, and every kind. */
const ENDED_PAGE: IndexQuery = { kind: SearchOrder.name, endedAfter: BASE + 4_900_000, limit: 50 };
const ENDED_ANY_PAGE: IndexQuery = { endedAfter: BASE + 4_900_000, limit: 50 };

test('SQLite: 20,000 instances searched by status and attribute through the indexes (EXPLAIN QUERY PLAN)', async (t) => {
  const path = join(dir, 'scale.db');
  t.after(await searches(SqliteStore.open(path), 20_000));
  interface Db {
    prepare(sql: string): { all(...p: unknown[]): { detail: string }[] };
    close(): void;
  }
  const { DatabaseSync } = createRequire(import.meta.url)('node:sqlite') as { DatabaseSync: new (p: string) => Db };
  const db = new DatabaseSync(path);
  t.after(() => db.close());
  const plan = (q: { sql: string; params: unknown[] }): string[] =>
    db
      .prepare(`EXPLAIN QUERY PLAN ${q.sql}`)
      .all(...q.params)
      .map((r) => r.detail);
  const noScan = (p: string[]): void =>
    assert.ok(!p.some((d) => /^SCAN (s|a|entity_search)\b/.test(d)), `a full scan: ${p.join(' | ')}`);
  const status = plan(sqliteSearchQuery(STATUS_PAGE));
  assert.ok(
    status.some((d) => /SEARCH s USING (COVERING )?INDEX entity_search_kind_status \(kind=\? AND status=\?\)/.test(d)),
    status.join(' | '),
  );
  noScan(status);
  // The page is read in the index's order: the one sort is of the page's rows (the outer ORDER BY).
  assert.ok(status.filter((d) => /TEMP B-TREE/.test(d)).length <= 1, status.join(' | '));
  const attrs = plan(sqliteSearchQuery(ATTRIBUTE_PAGE));
  assert.ok(
    attrs.some((d) => /SEARCH a USING COVERING INDEX entity_search_attr \(name=\? AND value=\?/.test(d)),
    attrs.join(' | '),
  );
  assert.ok(
    attrs.some((d) => /SEARCH s USING INDEX sqlite_autoindex_entity_search_1 \(kind=\? AND key=\?\)/.test(d)),
    attrs.join(' | '),
  );
  noScan(attrs);
  const count = plan(sqliteCountQuery({ kind: SearchOrder.name }));
  assert.ok(
    count.some((d) => /SEARCH s USING COVERING INDEX entity_search_kind(_status)? \(kind=\?\)/.test(d)),
    count.join(' | '),
  );
  noScan(count);
  // An end-time range reads the ended rows' index (and counts per status from it alone).
  for (const [q, index] of [
    [ENDED_PAGE, /SEARCH s USING (COVERING )?INDEX entity_search_kind_ended \(kind=\? AND ended>\?\)/],
    [ENDED_ANY_PAGE, /SEARCH s USING (COVERING )?INDEX entity_search_ended \(ended>\?\)/],
  ] as const) {
    const page = plan(sqliteSearchQuery(q));
    assert.ok(
      page.some((d) => index.test(d)),
      page.join(' | '),
    );
    noScan(page);
    const counted = plan(sqliteCountQuery(q));
    assert.ok(
      counted.some((d) => index.test(d) && /COVERING/.test(d)),
      counted.join(' | '),
    );
    noScan(counted);
  }
});

test('PostgreSQL: 5,000 instances searched by status and attribute through the indexes (EXPLAIN)', async (t) => {
  const missing = postgresMissing();
  if (missing !== undefined) return t.skip(missing);
  const server = await startPostgres();
  const prefix = 'wfscale_';
  const client = new pg.Client({ connectionString: server.url });
  client.on('error', () => undefined);
  // Stopped in this order: the server last.
  t.after(async () => {
    await client.end().catch(() => undefined);
    await stop?.();
    await server.stop();
  });
  let stop: (() => Promise<void>) | undefined;
  stop = await searches(await PostgresStore.open(server.url, { tablePrefix: prefix }), 5_000);
  await client.connect();
  await client.query(`ANALYZE ${prefix}search`);
  // 5,000 rows are few enough that the planner may rightly read the table whole (it did once in
  // CI for the attribute search). What is checked is that an index serves each search: with
  // sequential scans priced out, a search no index can serve still plans one (and fails below).
  await client.query('SET enable_seqscan = off');
  /** The plan's scans: each node's type and the index it reads. */
  const scans = async (q: { sql: string; params: unknown[] }): Promise<string[]> => {
    const r = await client.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${q.sql}`, q.params);
    const out: string[] = [];
    const walk = (n: Record<string, unknown>): void => {
      if (typeof n['Relation Name'] === 'string' || typeof n['Index Name'] === 'string')
        out.push(`${String(n['Node Type'])} ${String(n['Index Name'] ?? n['Relation Name'])}`);
      for (const c of (n.Plans as Record<string, unknown>[] | undefined) ?? []) walk(c);
    };
    walk((r.rows[0]!['QUERY PLAN'] as { Plan: Record<string, unknown> }[])[0]!.Plan);
    return out;
  };
  const noSeqScan = (s: string[]): void =>
    assert.ok(!s.includes(`Seq Scan ${prefix}search`), `a sequential scan: ${s.join(' | ')}`);
  const status = await scans(postgresSearchQuery(prefix, STATUS_PAGE));
  assert.ok(
    status.some((s) => /Index (Only )?Scan wfscale_search_kind_status/.test(s)),
    status.join(' | '),
  );
  noSeqScan(status);
  const attrs = await scans(postgresSearchQuery(prefix, ATTRIBUTE_PAGE));
  assert.ok(attrs.includes(`Bitmap Index Scan ${prefix}search_attrs`), attrs.join(' | '));
  noSeqScan(attrs);
  const count = await scans(postgresCountQuery(prefix, { kind: SearchOrder.name, attributes: { customer: 'c-7' } }));
  assert.ok(count.includes(`Bitmap Index Scan ${prefix}search_attrs`), count.join(' | '));
  noSeqScan(count);
  // An end-time range reads the ended rows' indexes, a page and its counts per status.
  for (const [q, index] of [
    [ENDED_PAGE, `${prefix}search_kind_ended`],
    [ENDED_ANY_PAGE, `${prefix}search_ended`],
  ] as const) {
    for (const plan of [await scans(postgresSearchQuery(prefix, q)), await scans(postgresCountQuery(prefix, q))]) {
      assert.ok(
        plan.some((x) => x.endsWith(` ${index}`)),
        plan.join(' | '),
      );
      noSeqScan(plan);
    }
  }
});
