// The state index across OS processes: two members share one store (SQLite file, and PostgreSQL
// on a real server); instances of a kind that changes its search attributes before every step
// run on one member, which is killed (kill -9) mid-step — or paused (SIGSTOP, between event-loop
// turns) past its lease and resumed (SIGCONT) after a survivor finished its instances. After each,
// the invariant the index keeps: every instance's index row is the one its committed record
// derives (status, start and end time, attributes), none is missing, the counts agree with the
// records, and a search finds each instance by its final attributes. A paused owner's resumed
// writes are refused with their index rows (one transaction), so it leaves no stale row behind.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually, postgresMissing, startPostgres } from '@ergo-ts/test-support';

import type { EntitiesStats, EntityStore, IndexedState } from '../src/index.js';
import type { WorkflowRecord } from '../src/workflow/model/record.js';
import { isStopped, ownerAmong, seeMembers, twoMembers, type EntityNode } from './dist_helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-wfsearch-dist-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const KIND = 'wftagged';

function cluster(
  t: { after(fn: () => Promise<void>): void },
  tag: string,
  db: string,
  prefix?: string,
  stallMs = 30_000,
) {
  return twoMembers(t, `wfs${tag}`, { db, ...(prefix === undefined ? {} : { prefix }), stallMs });
}

const keysOwnedBy = (owner: string, names: string[], tag: string, count: number): string[] =>
  Array.from({ length: 400 }, (_, i) => `${tag}${i}`)
    .filter((k) => ownerAmong(k, names) === owner)
    .slice(0, count);

const recordOf = async (store: EntityStore, key: string): Promise<WorkflowRecord | undefined> =>
  (await store.load({ kind: KIND, key })).state as WorkflowRecord | undefined;

async function allCompleted(store: EntityStore, keys: string[], what: string): Promise<void> {
  await eventually(
    async () => {
      for (const key of keys) if ((await recordOf(store, key))?.status !== 'completed') return false;
      return true;
    },
    what,
    { timeoutMs: 60_000, intervalMs: 20 },
  );
}

/**
 * The invariant (what the fault checker should assert too): each key's index row is the one its
 * committed record derives; every started instance has one; the counts are the records' tally.
 */
async function assertIndexMatchesRecords(store: EntityStore, keys: string[]): Promise<void> {
  const idx = store.stateIndex!;
  const rows = new Map<string, IndexedState>();
  for (const r of await idx.search({ kind: KIND, limit: 1000 })) rows.set(r.key, r);
  const tally: Record<string, number> = {};
  for (const key of keys) {
    const rec = await recordOf(store, key);
    assert.ok(rec?.status !== undefined, `${key} was started`);
    tally[rec.status] = (tally[rec.status] ?? 0) + 1;
    const row = rows.get(key);
    assert.ok(row !== undefined, `${key} has an index row`);
    assert.equal(row.status, rec.status, `${key}: status`);
    assert.equal(row.started, rec.startedAt, `${key}: started`);
    assert.equal(row.ended, rec.endedAt, `${key}: ended`);
    assert.deepEqual(row.attributes, rec.attributes ?? {}, `${key}: attributes`);
  }
  assert.deepEqual(await idx.count({ kind: KIND }), tally);
  // Found by their final attributes.
  const done = await idx.search({ kind: KIND, attributes: { done: true, phase: 4 }, limit: 1000 });
  assert.deepEqual(done.map((r) => r.key).sort(), [...keys].sort());
}

/** Waits until each instance's record holds its first attributes (its body runs on its owner). */
async function started(store: EntityStore, keys: string[]): Promise<void> {
  await eventually(
    async () => {
      for (const key of keys) if ((await recordOf(store, key))?.attributes?.phase === undefined) return false;
      return true;
    },
    'every instance set its first attributes',
    { timeoutMs: 30_000, intervalMs: 10 },
  );
}

async function killMidStep(t: { after(fn: () => Promise<void>): void }, tag: string, db: string, prefix?: string) {
  const { nodes, settings, store } = await cluster(t, tag, db, prefix);
  const [a, b] = nodes as [EntityNode, EntityNode];
  const keys = keysOwnedBy(b.name, settings.members, `${tag}k`, 5);
  for (const [i, key] of keys.entries())
    assert.equal(await a.cmd('wftagstart', { key, req: { customer: `c-${i % 2}`, steps: 4, stepMs: 150 } }), true);
  await started(store, keys);
  await b.kill();
  // The instances still running when the owner died (on a loaded machine the first ones started
  // may have ended already): those must resume on the survivor. Read once the owner is dead: read
  // before the kill, one could still end on the owner in between (seen at load average 50).
  const running: string[] = [];
  for (const key of keys) if ((await recordOf(store, key))?.status === 'running') running.push(key);
  assert.ok(running.length > 0, 'an instance was running at the kill');
  await allCompleted(store, keys, 'the survivor completed every instance');
  for (const key of running) assert.ok((await recordOf(store, key))!.runs >= 2, `${key} resumed after the kill`);
  await assertIndexMatchesRecords(store, keys);
  const c0 = await store.stateIndex!.search({ kind: KIND, attributes: { customer: 'c-0' }, limit: 100 });
  assert.deepEqual(c0.map((r) => r.key).sort(), keys.filter((_, i) => i % 2 === 0).sort());
}

test('SQLite: kill -9 of the owner mid-step — every index row is its committed record’s', async (t) => {
  await killMidStep(t, 'k', join(dir, 'kill.db'));
});

test('PostgreSQL: kill -9 of the owner mid-step — every index row is its committed record’s', async (t) => {
  const missing = postgresMissing();
  if (missing !== undefined) return t.skip(missing);
  const server = await startPostgres();
  // Registered first, so run last: the nodes and the store end before the server.
  t.after(() => server.stop());
  await killMidStep(t, 'p', server.url, 'wfsdist_');
});

test('SQLite: the owner paused past its lease, resumed after a survivor finished — its stale writes leave no stale row', async (t) => {
  // A heartbeat of 3 s: the paused owner is declared down and its shards' wake-ups move.
  const { nodes, settings, store } = await cluster(t, 's', join(dir, 'pause.db'), undefined, 3000);
  const [a, b] = nodes as [EntityNode, EntityNode];
  const keys = keysOwnedBy(b.name, settings.members, 'sk', 4);
  for (const [i, key] of keys.entries())
    assert.equal(await a.cmd('wftagstart', { key, req: { customer: `c-${i % 2}`, steps: 4, stepMs: 300 } }), true);
  await started(store, keys);
  assert.equal(await b.cmd('pause'), 'pausing');
  await eventually(() => isStopped(b.proc.pid!), 'the owner stopped itself');
  await allCompleted(store, keys, 'the survivor completed every instance while the owner is paused');
  await assertIndexMatchesRecords(store, keys);
  b.proc.kill('SIGCONT');
  // Resumed, it drops the instances (its leases were taken): each write it still tries is refused.
  await eventually(
    async () => ((await b.cmd('stats')) as EntitiesStats).kinds[KIND]?.active === 0,
    'the resumed owner dropped its instances',
    { timeoutMs: 30_000 },
  );
  await seeMembers([a, b]);
  await assertIndexMatchesRecords(store, keys);
  const refused = b.events.filter((e) => e.event === 'refused' && e.kind === KIND).length;
  console.log(`# SIGSTOP of the owner of ${keys.length} tagged workflows: ${refused} stale writes refused on resume`);
});
