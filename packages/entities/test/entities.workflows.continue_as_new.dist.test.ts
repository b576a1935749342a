// Continue-as-new across faults, on OS processes sharing one SQLite file (two members): the member
// running an instance is killed (kill -9), or paused (SIGSTOP) past detection and resumed, at the
// moment of a continue-as-new — the old run's end written, the new run's first step running and
// nothing of it journaled (the store shows run 2 with an empty journal when the fault lands: the
// step is held on that member until its run ends). The instance (workflow_kinds.ts' WfCan) takes
// one `tick` signal a run, four in all, sent with ids before the fault. After it the survivor
// completes the instance: exactly one next run each time (run 4 last, three linked runs, their ids
// distinct), every tick taken once and in order (the output), a tick sent again with its id is a
// duplicate, and each step ran once under its run's key but the one the fault hit, which ran again
// on the survivor under the same key (at least once). Times are printed, not asserted.

import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';

import type { BufferedSignal, EntityStore, WorkflowJournalEntry } from '../src/index.js';
import {
  isStopped,
  ownerAmong,
  seeMembers,
  twoMembers,
  type ClusterSettings,
  type EntityNode,
} from './dist_helpers.js';
import type { CanInput } from './workflow_kinds.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-can-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** What the test reads of the stored record. */
interface Rec {
  readonly status?: string;
  readonly output?: unknown;
  readonly run?: number;
  readonly journal: readonly WorkflowJournalEntry[];
  readonly signals: readonly BufferedSignal[];
}

function cluster(t: { after(fn: () => Promise<void>): void }, tag: string, extra: Partial<ClusterSettings> = {}) {
  const effects = join(dir, `${tag}.effects`);
  writeFileSync(effects, '');
  return twoMembers(t, `can${tag}`, { db: join(dir, `${tag}.db`), effects, ...extra });
}

async function record(store: EntityStore, key: string): Promise<Rec | undefined> {
  return (await store.load({ kind: 'wfcan', key })).state as Rec | undefined;
}

/** The nodes each step key ran on, from the effects file (`<key> <node>` lines). */
function runsOf(effects: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of readFileSync(effects, 'utf8').split('\n')) {
    if (line === '') continue;
    const [key, node] = line.split(' ') as [string, string];
    m.set(key, [...(m.get(key) ?? []), node]);
  }
  return m;
}

/** Starts the instance on b (from a) held as `holdAt` says in run `holdRun`, sends its four ticks; returns its key. */
async function startHeld(
  nodes: EntityNode[],
  settings: ClusterSettings,
  prefix: string,
  hold: Pick<CanInput, 'holdRun' | 'holdAt'>,
): Promise<string> {
  const [a, b] = nodes as [EntityNode, EntityNode];
  const key = Array.from({ length: 400 }, (_, i) => `${prefix}${i}`).find(
    (k) => ownerAmong(k, settings.members) === b.name,
  )!;
  const input: CanInput = { runs: 4, got: [], holdOn: b.name, ...hold };
  assert.equal(await a.cmd('wfstart', { wf: 'wfcan', key, req: input }), true);
  for (const n of [1, 2, 3, 4]) assert.equal(await a.cmd('wfsignal', { key, req: n, msgId: `t${n}` }), 'accepted');
  return key;
}

/**
 * Waits until run 2's first step runs on b with nothing of run 2 journaled: the moment between
 * the old run's end and the new run's first step. Returns the instance's key.
 */
async function atTheContinuation(
  nodes: EntityNode[],
  settings: ClusterSettings,
  store: EntityStore,
  prefix: string,
): Promise<string> {
  const b = nodes[1]!;
  const key = await startHeld(nodes, settings, prefix, { holdRun: 2, holdAt: 'step' });
  await eventually(
    () => runsOf(settings.effects!).get(`wfcan/${key}/0~c1/step:s`)?.[0] === b.name,
    'run 2’s first step runs on b',
    { timeoutMs: 30_000, intervalMs: 5 },
  );
  const rec = await record(store, key);
  assert.equal(rec?.run, 2, 'the continuation is written');
  assert.deepEqual(rec?.journal, [], 'nothing of run 2 is journaled');
  assert.deepEqual(
    rec?.signals.map((s) => s.payload),
    [2, 3, 4],
    'the ticks run 1 did not take are kept for run 2, in order',
  );
  return key;
}

/**
 * The instance completed once, every tick once and in order; every effect (a step, an outbox
 * delivery) ran once under its run's key — run 1's on b, the later ones on a — but `hit`, the one
 * the fault struck, which ran on b and again on a under the same key.
 */
async function checkAfter(
  [a, b]: EntityNode[],
  settings: ClusterSettings,
  store: EntityStore,
  key: string,
  hit: string,
  effects: number,
): Promise<void> {
  const done = (await record(store, key))!;
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.output, [1, 2, 3, 4], 'every tick taken once, in the order sent');
  assert.equal(done.run, 4, 'exactly one next run each time');
  const d = (await a!.cmd('wfdescribe', { wf: 'wfcan', key })) as {
    run: number;
    runId: string;
    previousRuns: { run: number; runId: string; status: string }[];
  };
  assert.deepEqual(
    d.previousRuns.map((r) => [r.run, r.status]),
    [
      [1, 'continued'],
      [2, 'continued'],
      [3, 'continued'],
    ],
  );
  assert.equal(new Set([d.runId, ...d.previousRuns.map((r) => r.runId)]).size, 4, 'four runs, four ids');
  assert.equal(await a!.cmd('wfsignal', { key, req: 2, msgId: 't2' }), 'duplicate', 'a tick sent again is a duplicate');
  const runs = runsOf(settings.effects!);
  assert.equal(runs.size, effects, `one key per effect: ${[...runs.keys()].join(' ')}`);
  for (const [k, on] of runs) {
    if (k === hit) {
      assert.equal(on[0], b!.name);
      assert.ok(on.length >= 2 && on.slice(1).every((n) => n === a!.name), `${k} ran again on a (${on.join(',')})`);
    } else if (k.startsWith(`wfcan/${key}/0/`) || k.startsWith(`wfcan/${key}/2/`)) {
      assert.deepEqual(on, [b!.name], `${k}: run 1's ran once, on b`);
    } else assert.deepEqual(on, [a!.name], `${k} ran once, on a`);
  }
}

test('kill -9 of the owner between the old run’s end and the new run’s first step: one next run, no tick lost or doubled, no step run twice', async (t) => {
  const { nodes, settings, store } = await cluster(t, 'k');
  const key = await atTheContinuation(nodes, settings, store, 'ck');
  const killedAt = Date.now();
  await nodes[1]!.kill();
  await eventually(async () => (await record(store, key))?.status === 'completed', 'the survivor completes it', {
    timeoutMs: 60_000,
    intervalMs: 20,
  });
  console.log(
    `# SQLite: kill -9 at a continue-as-new → the chain completed on the survivor ${Date.now() - killedAt} ms later`,
  );
  await checkAfter(nodes, settings, store, key, `wfcan/${key}/0~c1/step:s`, 4);
});

test('kill -9 of the owner while the old run waits in continueAsNew for its outbox: replayed, it continues once', async (t) => {
  const { nodes, settings, store } = await cluster(t, 'o');
  const b = nodes[1]!;
  const key = await startHeld(nodes, settings, 'co', { holdRun: 1, holdAt: 'outbox' });
  const note = `wfcan/${key}/2/outbox:note`;
  await eventually(() => runsOf(settings.effects!).get(note)?.[0] === b.name, 'run 1’s note is being delivered on b', {
    timeoutMs: 30_000,
    intervalMs: 5,
  });
  const rec = await record(store, key);
  assert.equal(rec?.run, undefined, 'still the first run: the continuation waits for the delivery');
  assert.deepEqual(
    rec?.journal.map((e) => `${e.t} ${e.done === true}`),
    ['step true', 'signal true', 'outbox false'],
  );
  const killedAt = Date.now();
  await b.kill();
  await eventually(async () => (await record(store, key))?.status === 'completed', 'the survivor completes it', {
    timeoutMs: 60_000,
    intervalMs: 20,
  });
  console.log(
    `# SQLite: kill -9 in continueAsNew (its outbox in flight) → the chain completed on the survivor ${Date.now() - killedAt} ms later`,
  );
  await checkAfter(nodes, settings, store, key, note, 8);
});

test('SIGSTOP of the owner between the old run’s end and the new run’s first step, past detection, then SIGCONT: the survivor runs the chain once', async (t) => {
  const { nodes, settings, store } = await cluster(t, 'p', { leaseScope: 'shard', stallMs: 2000 });
  const [a, b] = nodes as [EntityNode, EntityNode];
  const key = await atTheContinuation(nodes, settings, store, 'cp');
  t.after(() => void b.proc.kill('SIGCONT'));
  assert.equal(await b.cmd('pause'), 'pausing');
  await eventually(() => isStopped(b.proc.pid!), 'the owner stopped itself');
  const pausedAt = Date.now();
  await eventually(async () => (await record(store, key))?.status === 'completed', 'the survivor completes it', {
    timeoutMs: 60_000,
    intervalMs: 20,
  });
  const doneMs = Date.now() - pausedAt;
  b.proc.kill('SIGCONT');
  await seeMembers([a, b]);
  // Resumed, the paused owner's run 2 (its step held) ends with its activation: nothing it does is written.
  await eventually(
    async () => ((await b.cmd('stats')) as { kinds: Record<string, { active: number }> }).kinds.wfcan?.active === 0,
    'the resumed owner dropped the instance',
  );
  console.log(
    `# SQLite: SIGSTOP at a continue-as-new (peerStallTimeout 2000, leaseTtlMs 1500) → completed on the survivor ${doneMs} ms later`,
  );
  await checkAfter(nodes, settings, store, key, `wfcan/${key}/0~c1/step:s`, 4);
});
