// Retention survives the loss of the member running the sweeper: two members in OS processes share
// one store (SQLite file; PostgreSQL on a real server) and host WorkflowRetention with two kinds
// (retention_kinds.ts): `wfretshort`, kept 1 s after it ended, and `wfretlong`, kept an hour. 120
// ended `wfretshort` instances (completed, failed, cancelled) expire; 5 more run; 10 `wfretlong`
// ones end (within their period for the whole test) and 2 run. The members' workflowRetention
// option keeps the sweeper quiet meanwhile; then the member that does not run it starts again with
// an option of 4 keys a transaction, and restarts the sweeper with it, so one sweep spans 30
// transactions; the member that owns it (the instance
// `workflow-retention`/`sweeper`) is killed (kill -9) once it has deleted some and not all. Then on
// the survivor: the sweeper runs there (it writes its record), and eventually exactly the 120
// expired instances are gone — record, index row (count, list), describe (ERR_WORKFLOW_NOT_FOUND)
// — and every running instance and every one ended within its period is still there.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually, postgresMissing, startPostgres } from '@ergo-ts/test-support';

import {
  RETENTION_SWEEPER_ID,
  WorkflowRetention,
  type EntityStore,
  type RetentionSettings,
  type StatusCounts,
} from '../src/index.js';
import type { WorkflowSearchPage } from '../src/workflow/client/search.js';
import { EntityNode, ownerAmong, seeMembers, twoMembers } from './dist_helpers.js';
import type { RetentionRequest, RetHow } from './retention_kinds.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-retention-dist-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const HOUR = 3_600_000;
const ids = (stem: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${stem}${i}`);
/** The expired ones: ended, kept 1 s. */
const EXPIRED: Record<Exclude<RetHow, 'wait'>, string[]> = {
  ok: ids('ok', 90),
  fail: ids('fail', 15),
  cancel: ids('cx', 15),
};
const EXPIRING = Object.values(EXPIRED).flat();
const RUNNING = ids('run', 5);
const KEPT = ids('kept', 10);
const KEPT_RUNNING = ids('keptrun', 2);

const ask = (n: EntityNode, req: RetentionRequest): Promise<unknown> => n.cmd('retention', { req }, 90_000);
const count = async (n: EntityNode, kind: string) => (await ask(n, { op: 'count', kind })) as StatusCounts;

/** Waits until the sweeper runs with `settings` (as the members' option gives them). */
async function sweeperRuns(n: EntityNode, settings: Partial<RetentionSettings>): Promise<void> {
  await eventually(
    async () => {
      const d = (await ask(n, { op: 'describe', kind: WorkflowRetention.name, id: RETENTION_SWEEPER_ID }).catch(
        () => undefined,
      )) as { status?: string; input?: unknown } | undefined;
      return d?.status === 'running' && JSON.stringify(d.input) === JSON.stringify(settings);
    },
    'the sweeper runs with the option',
    { timeoutMs: 30_000, intervalMs: 50 },
  );
}

/** Whether `kind`/`key` has an activation on `n` now (its last activation event says so). */
function inMemory(n: EntityNode, kind: string, key: string): boolean {
  const last = n.events.findLast(
    (e) =>
      e.kind === kind &&
      e.key === key &&
      (e.event === 'activated' || e.event === 'passivated' || e.event === 'stopped'),
  );
  return last?.event === 'activated';
}

/** The code `describe` of `kind`/`id` rejects with on `n` (undefined: it answered). */
async function describeCode(n: EntityNode, kind: string, id: string): Promise<unknown> {
  return ask(n, { op: 'describe', kind, id }).then(
    () => undefined,
    (e: { code?: unknown }) => e.code,
  );
}

async function killTheSweeper(
  t: { after(fn: () => Promise<void> | void): void },
  tag: string,
  db: string,
  prefix?: string,
) {
  // Quiet while the instances are made (the members' workflowRetention option): its first sweep
  // finds nothing, the next is an hour away.
  const { nodes, names, settings, store } = await twoMembers(t, `ret${tag}`, {
    db,
    retention: true,
    retentionSettings: { everyMs: HOUR },
    ...(prefix === undefined ? {} : { prefix }),
  });
  // The member that does not own the sweeper's key now starts again below with another option.
  const ownerName = ownerAmong(RETENTION_SWEEPER_ID, names);
  const owner = nodes.find((n) => n.name === ownerName)!;
  const other = nodes.find((n) => n.name !== ownerName)!;
  await sweeperRuns(other, { everyMs: HOUR });
  let last = 0;
  for (const how of ['ok', 'fail', 'cancel'] as const)
    last = Math.max(last, (await ask(other, { op: 'make', kind: 'wfretshort', ids: EXPIRED[how], how })) as number);
  await ask(other, { op: 'make', kind: 'wfretshort', ids: RUNNING, how: 'wait' });
  await ask(other, { op: 'make', kind: 'wfretlong', ids: KEPT, how: 'ok' });
  await ask(other, { op: 'make', kind: 'wfretlong', ids: KEPT_RUNNING, how: 'wait' });
  const all = EXPIRING.length + RUNNING.length;
  assert.deepEqual([(await count(other, 'wfretshort')).total, (await count(other, 'wfretlong')).total], [all, 12]);
  // Every short one is past its second (the store compares end times with the member's clock).
  await eventually(() => Date.now() > last + 1000, 'the short ones expired', { timeoutMs: 30_000, intervalMs: 20 });
  // Now often and in small batches: 30 transactions for the 120, 30 ms apart. The other member
  // starts again with these as its option: as it starts, it restarts the sweeper with them.
  const fromOwner = owner.events.length;
  const fast = { batchSize: 4, pauseMs: 30, maxBatches: 1000, everyMs: 100 };
  await other.stop();
  const restarted = await EntityNode.start(other.name, { ...settings, retentionSettings: fast });
  t.after(() => restarted.stop());
  await seeMembers([owner, restarted]);
  const before = await eventually(
    async () => {
      const c = await count(owner, 'wfretshort');
      return c.total < all ? c : undefined;
    },
    'the sweeper deleted some',
    { timeoutMs: 60_000, intervalMs: 5 },
  );
  // The member running the sweeper now: the one that wrote its record last since the restart (a
  // leave and a return may move its key's shard between the two).
  const lastWrite = (n: EntityNode, from: number): number => {
    const i = n.events.findLastIndex(
      (e, j) =>
        j >= from && e.event === 'written' && e.kind === WorkflowRetention.name && e.key === RETENTION_SWEEPER_ID,
    );
    return i < 0 ? -1 : n.arrivals[i]!;
  };
  const [wOwner, wRestarted] = [lastWrite(owner, fromOwner), lastWrite(restarted, 0)];
  const [victim, survivor] = wRestarted > wOwner ? [restarted, owner] : [owner, restarted];
  await victim.kill();
  assert.ok(Math.max(wOwner, wRestarted) >= 0, 'the sweeper ran on the member killed');
  const fromSurvivor = survivor.events.length;
  const left = (await count(survivor, 'wfretshort')).total;
  assert.ok(left > RUNNING.length, `killed mid-sweep: ${before.total} then ${left} of ${all} left`);
  // The survivor's sweeper deletes the rest, and nothing else.
  await eventually(
    async () => (await count(survivor, 'wfretshort')).total === RUNNING.length,
    'the expired ones deleted on the survivor',
    { timeoutMs: 120_000, intervalMs: 50 },
  );
  // Its step's result is written once its last transaction deleted the last ones.
  await survivor.event(
    (e) => e.event === 'written' && e.kind === WorkflowRetention.name && e.key === RETENTION_SWEEPER_ID,
    'the sweeper writes on the survivor',
    fromSurvivor,
  );
  const d = (await ask(survivor, { op: 'describe', kind: WorkflowRetention.name, id: RETENTION_SWEEPER_ID })) as {
    status: string;
    active: boolean;
  };
  assert.deepEqual([d.status, d.active], ['running', true]);

  const short = await count(survivor, 'wfretshort');
  assert.deepEqual([short.total, short.running], [RUNNING.length, RUNNING.length]);
  const page = (await ask(survivor, { op: 'list', kind: 'wfretshort' })) as WorkflowSearchPage;
  assert.deepEqual(page.items.map((i) => i.id).sort(), [...RUNNING].sort(), 'the index lists the running ones only');
  const long = await count(survivor, 'wfretlong');
  assert.deepEqual([long.total, long.completed, long.running], [12, 10, 2], 'within their period: kept');
  for (const id of EXPIRING)
    assert.equal(await stateOf(store, 'wfretshort', id), undefined, `${id}: its record is deleted`);
  // An activation still in memory answers from there until it passivates (docs/workflows.md).
  await eventually(
    () => EXPIRING.every((id) => !inMemory(survivor, 'wfretshort', id)),
    'the ended ones passivated on the survivor',
    { timeoutMs: 30_000, intervalMs: 50 },
  );
  for (const id of EXPIRING)
    assert.equal(await describeCode(survivor, 'wfretshort', id), 'ERR_WORKFLOW_NOT_FOUND', `${id}: not found`);
  for (const id of RUNNING) assert.equal(await stateOf(store, 'wfretshort', id), 'running', `${id} runs`);
  for (const id of KEPT) assert.equal(await stateOf(store, 'wfretlong', id), 'completed', `${id} kept`);
  for (const id of KEPT_RUNNING) assert.equal(await stateOf(store, 'wfretlong', id), 'running', `${id} runs`);
}

/** The status of `kind`/`key`'s stored record (undefined: no record). */
async function stateOf(store: EntityStore, kind: string, key: string): Promise<string | undefined> {
  return ((await store.load({ kind, key })).state as { status?: string } | undefined)?.status;
}

test('the sweeper killed mid-sweep resumes on the survivor: exactly the expired instances go (SQLite)', async (t) => {
  await killTheSweeper(t, 's', join(dir, 'retention.db'));
});

test('the same on PostgreSQL', async (t) => {
  const missing = postgresMissing();
  if (missing !== undefined) return t.skip(missing);
  const pg = await startPostgres();
  // The members stop before the server does (a test's `after` hooks run in the order given).
  const cleanups: (() => Promise<void> | void)[] = [];
  t.after(async () => {
    try {
      for (const fn of cleanups) await fn();
    } finally {
      await pg.stop();
    }
  });
  await killTheSweeper({ after: (fn) => cleanups.push(fn) }, 'p', pg.url, 'ret_');
});
