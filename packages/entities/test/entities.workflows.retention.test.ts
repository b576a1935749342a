// Retention (workflow/operator/retention.ts): ended instances of a kind with `retention.closedFor` are
// deleted once they ended that long ago — record, index row — and no others: never a running one,
// never one within its period, never one of a kind without retention; in bounded transactions
// (`batchSize` keys each, `maxBatches` a sweep). A sweep is run at a chosen time on the test kit,
// SQLite and PostgreSQL; on the kit, the cluster's own sweeper (WorkflowRetention) deletes them
// when the test clock passes the period.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { schema } from 'ergo-ts';

import { defineWorkflow, SqliteStore, sweepRetention, WorkflowRetention, type WorkflowClient } from '../src/index.js';
import { sqlitePurgeSelect } from '../src/store/sqlite_index.js';
import { startTestEntities } from '../src/testing/index.js';
import { onEveryRig, type Rig, type RigCases } from './workflow_rigs.js';

const HOUR = 3_600_000;

/** Ends as its `end` signal says; kept an hour after it ended. */
const WfKept = defineWorkflow(
  'wfkept',
  { signals: { end: schema.string() }, retention: { closedFor: '1h' } },
  async (ctx): Promise<string> => {
    const how = await ctx.signal('end');
    if (how === 'fail') throw new Error('told to fail');
    return how;
  },
);
/** The same without retention: kept forever. */
const WfForever = defineWorkflow('wfforever', { signals: { end: schema.string() } }, async (ctx): Promise<string> =>
  ctx.signal('end'),
);

/** Ends `id` of `kind` as `how` says (`cancel`: cancelled); its end time. */
async function ended(rig: Rig, kind: typeof WfKept, id: string, how: 'ok' | 'fail' | 'cancel'): Promise<number> {
  const w = rig.workflows();
  await w.start(kind, id, {});
  if (how === 'cancel') await w.handle(kind, id).cancel('stop');
  else await w.handle(kind, id).signal('end', how);
  await w
    .handle(kind, id)
    .result()
    .catch(() => undefined);
  return (await rig.record(kind.name, id))!.endedAt!;
}

const sweeping = (w: WorkflowClient) => ({ workflows: w, clock: { now: () => Date.now() } });
const SETTINGS = { batchSize: 100, maxBatches: 20, pauseMs: 0, everyMs: HOUR };

const CASES: RigCases = {
  async 'exactly the instances ended over an hour ago are deleted; running, recent and kept-forever stay'(rig) {
    const ends = [
      await ended(rig, WfKept, 'k1', 'ok'),
      await ended(rig, WfKept, 'k2', 'fail'),
      await ended(rig, WfKept, 'k3', 'cancel'),
    ];
    await rig.workflows().start(WfKept, 'run', {});
    await ended(rig, WfForever as never, 'f1', 'ok');
    const first = Math.min(...ends);
    const last = Math.max(...ends);
    const w = rig.workflows();
    // An hour after the first end, exactly: nothing is past its period yet.
    assert.deepEqual(await sweepRetention(sweeping(w), SETTINGS, first + HOUR), { deleted: {}, more: false });
    await rig.restart();
    // Past every one's hour: the three ended ones go, in one sweep.
    const r = await sweepRetention(sweeping(rig.workflows()), SETTINGS, last + HOUR + 1);
    assert.deepEqual(r, { deleted: { wfkept: 3 }, more: false });
    for (const id of ['k1', 'k2', 'k3']) assert.equal(await rig.record('wfkept', id), undefined, `${id} deleted`);
    assert.equal((await rig.record('wfkept', 'run'))?.status, 'running', 'a running one stays');
    assert.equal((await rig.record('wfforever', 'f1'))?.status, 'completed', 'no retention: kept');
    const c = await rig.workflows().count({ kind: 'wfkept' });
    assert.deepEqual([c.total, c.running], [1, 1], 'their index rows went with them');
    // Far in the future: the running one is still never deleted.
    await sweepRetention(sweeping(rig.workflows()), SETTINGS, last + 1000 * HOUR);
    assert.equal((await rig.record('wfkept', 'run'))?.status, 'running');
    // A deleted id starts anew, as one never used.
    const again = await rig.workflows().start(WfKept, 'k1', {});
    assert.deepEqual([again.created, again.reused], [true, undefined]);
    assert.equal((await rig.workflows().handle(WfKept, 'k1').describe()).run, 1);
  },

  async 'an instance deleted while its activation is in memory: a start of its id still starts one'(rig) {
    const end = await ended(rig, WfKept, 'm1', 'ok');
    // No restart: the activation that ran it holds its old record.
    const r = await sweepRetention(sweeping(rig.workflows()), SETTINGS, end + HOUR + 1);
    assert.deepEqual(r.deleted, { wfkept: 1 });
    const again = await rig.workflows().start(WfKept, 'm1', {}, { idReuse: 'always' });
    assert.equal(again.created, true);
    await rig.workflows().handle(WfKept, 'm1').signal('end', 'second');
    assert.equal(await rig.workflows().handle(WfKept, 'm1').result(), 'second');
    const rec = await rig.record('wfkept', 'm1');
    assert.equal(rec?.status, 'completed');
    assert.equal((await rig.workflows().count({ kind: 'wfkept' })).completed, 1, 'its index row is back');
  },

  async 'a sweep deletes in bounded transactions and says when more is left'(rig) {
    const ends: number[] = [];
    for (let i = 0; i < 5; i++) ends.push(await ended(rig, WfKept, `b${i}`, 'ok'));
    const at = Math.max(...ends) + HOUR + 1;
    const small = { ...SETTINGS, batchSize: 2, maxBatches: 1 };
    assert.deepEqual(await sweepRetention(sweeping(rig.workflows()), small, at), {
      deleted: { wfkept: 2 },
      more: true,
    });
    // The oldest ended go first.
    const order = ends.map((e, i) => [e, i] as const).sort((a, b) => a[0] - b[0]);
    for (const [, i] of order.slice(0, 2)) assert.equal(await rig.record('wfkept', `b${i}`), undefined);
    assert.deepEqual(await sweepRetention(sweeping(rig.workflows()), { ...small, maxBatches: 5 }, at), {
      deleted: { wfkept: 3 },
      more: false,
    });
    assert.equal((await rig.workflows().count({ kind: 'wfkept' })).total, 0);
  },
};

onEveryRig('retention', CASES, [WfKept, WfForever], () => undefined);

test('on the test kit, the cluster sweeps by itself once the period passed (WorkflowRetention)', async () => {
  await using k = await startTestEntities({ kinds: [WfKept, WfForever, WorkflowRetention], leaseTtlMs: HOUR });
  const w = k.entities.workflows;
  await w.start(WfKept, 'old', {});
  await w.handle(WfKept, 'old').signal('end', 'ok');
  assert.equal(await w.handle(WfKept, 'old').result(), 'ok');
  await w.start(WfKept, 'live', {});
  // The sweeper runs (started by the runtime), its first sweep found nothing past its period.
  for (;;) {
    const d = await w
      .handleOf('workflow-retention', 'sweeper')
      .describe()
      .catch(() => undefined);
    if (d?.attributes?.lastSweep !== undefined) break;
    await new Promise((r) => setImmediate(r));
  }
  assert.equal((await k.store.load({ kind: 'wfkept', key: 'old' })).state !== undefined, true);
  // Two minutes past the hour: the sweeper's next sweeps delete it.
  k.advanceTime(HOUR + 120_000);
  for (;;) {
    const rec = (await k.store.load({ kind: 'wfkept', key: 'old' })).state as { status?: string } | undefined;
    if (rec?.status === undefined) break;
    k.advanceTime(60_000);
    await new Promise((r) => setImmediate(r));
  }
  const live = (await k.store.load({ kind: 'wfkept', key: 'live' })).state as { status?: string };
  assert.equal(live.status, 'running');
  // The sweeper counts it once its step's result is journaled.
  while ((await w.handleOf('workflow-retention', 'sweeper').describe()).attributes?.deleted !== 1)
    await new Promise((r) => setImmediate(r));
});

test('workflowRetention: the sweeper runs with the runtime option; bad values are ERR_WORKFLOW_INCORRECT', async () => {
  const kinds = [WfKept, WfForever, WorkflowRetention];
  for (const bad of [{ batchSize: 0 }, { everyMs: 1.5 }, { pauseMs: -1 }, { maxBatches: '2' }, { every: 1 }, 'often'])
    await assert.rejects(
      startTestEntities({ kinds, workflowRetention: bad as never }),
      { code: 'ERR_WORKFLOW_INCORRECT' },
      JSON.stringify(bad),
    );
  const option = { everyMs: 10 * 60_000, batchSize: 7 };
  await using k = await startTestEntities({ kinds, leaseTtlMs: HOUR, workflowRetention: option });
  for (;;) {
    const d = await k.entities.workflows
      .handleOf('workflow-retention', 'sweeper')
      .describe()
      .catch(() => undefined);
    if (d?.status === 'running') {
      assert.deepEqual(d.input, option);
      break;
    }
    await new Promise((r) => setImmediate(r));
  }
});

test('on SQLite a purge finds its keys through the (kind, ended) index, not a scan', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ergo-retention-plan-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'plan.db');
  await SqliteStore.open(path).close();
  interface Db {
    prepare(sql: string): { all(...p: unknown[]): { detail: string }[] };
    close(): void;
  }
  const { DatabaseSync } = createRequire(import.meta.url)('node:sqlite') as { DatabaseSync: new (p: string) => Db };
  const db = new DatabaseSync(path);
  t.after(() => db.close());
  const plan = db
    .prepare(`EXPLAIN QUERY PLAN ${sqlitePurgeSelect(3)}`)
    .all('k', 1, 'completed', 'failed', 'cancelled', 100)
    .map((r) => r.detail);
  assert.ok(
    plan.some((d) =>
      /SEARCH entity_search USING INDEX entity_search_kind_ended \(kind=\? AND (ended>\? AND )?ended<\?\)/.test(d),
    ),
    plan.join(' | '),
  );
});
