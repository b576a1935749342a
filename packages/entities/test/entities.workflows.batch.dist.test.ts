// A batch survives the loss of the member running it: two members in OS processes share one store
// (SQLite file; PostgreSQL on a real server); a signal batch over 150 instances, a page of 5 at a
// time, is owned by member b, which is killed (kill -9) once the batch has acted on some pages and
// not all (mostly while it acts on a page: its pages follow each other without a pause). Member a resumes the batch from its journal (its cursor and the page it
// was acting on) and finishes it. Then every matching instance took exactly one `poke` (the
// signal's id is the batch's: a page acted on again is answered `duplicate`), the instances the
// query does not match took none, and the batch's counts are exact.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually, postgresMissing, startPostgres } from '@ergo-ts/test-support';

import type { BatchDescription, EntityStore } from '../src/index.js';
import type { WorkflowRecord } from '../src/workflow/model/record.js';
import { ownerAmong, twoMembers, type EntityNode } from './dist_helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-batch-dist-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const KIND = 'wfbtarget';
const MATCHING = 150;

/** How many `poke` signals `key`'s record took or keeps. */
async function pokes(store: EntityStore, key: string): Promise<number> {
  const rec = (await store.load({ kind: KIND, key })).state as WorkflowRecord;
  assert.equal(rec.status, 'running', `${key} runs`);
  return (
    rec.journal.filter((e) => e.t === 'signal' && e.n === 'poke').length +
    rec.signals.filter((s) => s.name === 'poke').length
  );
}

async function killTheBatchRunner(
  t: { after(fn: () => Promise<void>): void },
  tag: string,
  db: string,
  prefix?: string,
) {
  const { nodes, names, store } = await twoMembers(t, `bat${tag}`, { db, ...(prefix === undefined ? {} : { prefix }) });
  const [a, b] = nodes as [EntityNode, EntityNode];
  for (let i = 0; i < MATCHING; i++)
    assert.equal(await a.cmd('batchtarget', { key: `m${i}`, req: { group: 'go' } }), true);
  for (let i = 0; i < 6; i++) assert.equal(await a.cmd('batchtarget', { key: `x${i}`, req: { group: 'stay' } }), true);
  const query = { kind: KIND, status: 'running', attributes: { group: 'go' } };
  await eventually(
    async () =>
      ((await a.cmd('batchstart', { req: { query, action: { type: 'cancel' }, dryRun: true } })) as { matched: number })
        .matched === MATCHING,
    'every target set its group',
    { timeoutMs: 30_000, intervalMs: 20 },
  );
  // A batch id member b owns.
  const batchId = Array.from({ length: 200 }, (_, i) => `batch-${tag}-${i}`).find(
    (k) => ownerAmong(k, names) === b.name,
  )!;
  const started = (await a.cmd('batchstart', {
    req: { query, action: { type: 'signal', name: 'poke', payload: 'hi' }, pageSize: 5, id: batchId },
  })) as { matched: number; created: boolean };
  assert.deepEqual([started.matched, started.created], [MATCHING, true]);
  // Some pages acted on, not all: then b dies.
  const before = await eventually(
    async () => {
      const d = (await a.cmd('batchdescribe', { key: batchId })) as BatchDescription;
      return d.done >= 20 ? d : undefined;
    },
    'the batch acted on four pages',
    { timeoutMs: 60_000, intervalMs: 10 },
  );
  assert.ok(before.matched < MATCHING, `killed mid-way (${before.matched} of ${MATCHING} matched)`);
  await b.kill();
  const d = await eventually(
    async () => {
      const x = (await a.cmd('batchdescribe', { key: batchId }, 30_000)) as BatchDescription;
      return x.status === 'completed' ? x : undefined;
    },
    'the batch ended on the survivor',
    { timeoutMs: 120_000, intervalMs: 50 },
  );
  assert.deepEqual([d.matched, d.done, d.failed, d.skipped, d.expected], [MATCHING, MATCHING, 0, 0, MATCHING]);
  for (let i = 0; i < MATCHING; i++) assert.equal(await pokes(store, `m${i}`), 1, `m${i}: one poke`);
  for (let i = 0; i < 6; i++) assert.equal(await pokes(store, `x${i}`), 0, `x${i}: untouched`);
}

test('a batch run by a member killed mid-way ends on the survivor: each match signalled once (SQLite)', async (t) => {
  await killTheBatchRunner(t, 's', join(dir, 'batch.db'));
});

test('the same on PostgreSQL', async (t) => {
  const missing = postgresMissing();
  if (missing !== undefined) return t.skip(missing);
  const pg = await startPostgres();
  t.after(() => pg.stop());
  await killTheBatchRunner(t, 'p', pg.url, 'bat_');
});
