// Workflows across OS processes sharing one SQLite file: the member running instances is killed
// (kill -9) while they sleep, while a step runs, or the whole cluster is killed and started again;
// no caller touches the instances afterwards (the test reads their records from the store), so
// only the engine's wake-up reminder can have resumed them on a survivor. Each step's runs are
// recorded in an effects file (workflow_kinds.ts): a step whose result was journaled never runs
// again; a step killed mid-run runs again (at least once), with the same idempotency key. Delays
// from the kill to completion are printed, not asserted.

import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';

import type { EntityStore, WorkflowJournalEntry } from '../src/index.js';
import { EntityNode, ownerAmong, twoMembers } from './dist_helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-wf-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Rec {
  status?: string;
  output?: unknown;
  journal: WorkflowJournalEntry[];
  runs: number;
}

function cluster(t: { after(fn: () => Promise<void>): void }, tag: string) {
  const effects = join(dir, `${tag}.effects`);
  writeFileSync(effects, '');
  return twoMembers(t, `wf${tag}`, { db: join(dir, `${tag}.db`), effects });
}

function keysOwnedBy(owner: string, names: string[], tag: string, count: number): string[] {
  return Array.from({ length: 400 }, (_, i) => `${tag}${i}`)
    .filter((k) => ownerAmong(k, names) === owner)
    .slice(0, count);
}

async function record(store: EntityStore, key: string): Promise<Rec> {
  return ((await store.load({ kind: 'wfsteps', key })).state ?? { journal: [], runs: 0 }) as Rec;
}

/** Resolves with the time once every instance is completed, read from the store. */
async function completed(store: EntityStore, keys: string[], what: string): Promise<number> {
  await eventually(
    async () => {
      for (const key of keys) if ((await record(store, key)).status !== 'completed') return false;
      return true;
    },
    what,
    { timeoutMs: 60_000, intervalMs: 20 },
  );
  return Date.now();
}

/** Resolves once every instance journaled its sleep (read from the store). */
async function allSleep(store: EntityStore, keys: string[]): Promise<void> {
  await eventually(
    async () => {
      for (const key of keys) if (!(await record(store, key)).journal.some((e) => e.t === 'sleep')) return false;
      return true;
    },
    'every instance sleeps',
    { timeoutMs: 30_000, intervalMs: 20 },
  );
}

/**
 * How many times each step ran, by its operation (`<workflow>/<id>/<seq>`: the idempotency key
 * without the operation's kind and name, which each key of these steps carries after it).
 */
function runsOf(effects: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of readFileSync(effects, 'utf8').split('\n')) {
    if (line === '') continue;
    const [full, node] = line.split(' ') as [string, string];
    const key = full.replace(/\/step:s\d+$/, '');
    m.set(key, [...(m.get(key) ?? []), node]);
  }
  return m;
}

test('kill -9 of the member running sleeping workflows: a survivor resumes each when its sleep ends; no step runs twice', async (t) => {
  const { nodes, settings, store } = await cluster(t, 's');
  const [a, b] = nodes as [EntityNode, EntityNode];
  const keys = keysOwnedBy(b.name, settings.members, 'sl', 6);
  for (const key of keys)
    assert.equal(await a.cmd('wfstart', { key, req: { steps: 3, sleepMs: 1500, stepMs: 0 } }), true);
  await allSleep(store, keys);
  const sleeps = await Promise.all(
    keys.map(async (k) => (await record(store, k)).journal.find((e) => e.t === 'sleep')!.until!),
  );
  const killedAt = Date.now();
  await b.kill();
  const doneAt = await completed(store, keys, 'the survivor completed every instance');
  const lastWake = Math.max(...sleeps);
  console.log(
    `# SQLite: kill -9 of the member of ${keys.length} sleeping workflows → all completed ${doneAt - killedAt} ms later; ${doneAt - lastWake} ms after the last sleep ended`,
  );
  for (const key of keys) assert.equal((await record(store, key)).output, 3, key);
  const runs = runsOf(settings.effects!);
  for (const key of keys)
    for (const s of [0, 1, 2]) {
      const seq = s === 0 ? 0 : s + 1; // the sleep is operation 1
      assert.deepEqual(runs.get(`wfsteps/${key}/${seq}`)?.length, 1, `${key} step ${s} ran once`);
    }
  // The instances resumed on a, the survivor.
  for (const key of keys) assert.ok(runs.get(`wfsteps/${key}/2`)![0] === a.name, `${key} resumed on ${a.name}`);
});

test('kill -9 of the member while a step runs: the step runs again on a survivor with the same idempotency key, the others once', async (t) => {
  const { nodes, settings, store } = await cluster(t, 'm');
  const [a, b] = nodes as [EntityNode, EntityNode];
  const keys = keysOwnedBy(b.name, settings.members, 'mid', 3);
  for (const key of keys)
    assert.equal(await a.cmd('wfstart', { key, req: { steps: 3, sleepMs: 0, stepMs: 400 } }), true);
  // Each instance's first step has started on b (its run is recorded before its work).
  await eventually(
    () => {
      const runs = runsOf(settings.effects!);
      return keys.every((k) => runs.get(`wfsteps/${k}/0`)?.[0] === b.name);
    },
    'every first step runs on b',
    { timeoutMs: 30_000, intervalMs: 5 },
  );
  const killedAt = Date.now();
  await b.kill();
  const doneAt = await completed(store, keys, 'the survivor completed every instance');
  console.log(
    `# SQLite: kill -9 mid-step (3 workflows, steps of 400 ms) → all completed ${doneAt - killedAt} ms later`,
  );
  const runs = runsOf(settings.effects!);
  for (const key of keys) {
    const rec = await record(store, key);
    assert.equal(rec.output, 3, key);
    assert.ok(rec.runs >= 2, `${key}: its body ran again after the kill`);
    // Every step ran at least once; a step whose result was journaled before the kill, exactly once.
    for (const seq of [0, 1, 2]) {
      const r = runs.get(`wfsteps/${key}/${seq}`) ?? [];
      assert.ok(r.length >= 1, `${key} step ${seq} ran`);
      const journaledOnB = r.length === 1 && r[0] === b.name;
      assert.ok(
        r.length === 1 || r.slice(1).every((n) => n === a.name),
        `${key} step ${seq}: reruns only on a (${r.join(',')})`,
      );
      if (journaledOnB) assert.equal(r.length, 1);
    }
  }
});

test('a whole cluster killed (kill -9) and started again: the running workflows complete, no call touching them', async (t) => {
  const { nodes, settings, store } = await cluster(t, 'w');
  const [a] = nodes as [EntityNode, EntityNode];
  const keys = Array.from({ length: 6 }, (_, i) => `whole${i}`);
  for (const key of keys)
    assert.equal(await a.cmd('wfstart', { key, req: { steps: 2, sleepMs: 1000, stepMs: 0 } }), true);
  await allSleep(store, keys);
  for (const n of nodes) await n.kill();
  const again: EntityNode[] = [];
  t.after(async () => {
    for (const n of again) await n.stop();
  });
  const doneP = completed(store, keys, 'the restarted cluster completed every instance');
  for (const name of settings.members) again.push(await EntityNode.start(name, settings));
  const upAt = Date.now();
  const doneAt = await doneP;
  console.log(
    `# SQLite: whole-cluster restart → the sleeping workflows completed ${doneAt - upAt} ms after the last member was up`,
  );
  for (const key of keys) assert.equal((await record(store, key)).output, 1, key);
});
