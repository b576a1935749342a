// A workflow schedule across OS processes (entity_node.ts), on SQLite and on PostgreSQL: a
// schedule every second runs while the member owning it is killed (kill -9) and started again,
// then while the whole cluster is killed and started again after a few nominal times passed.
// Nothing but the schedule starts its workflow; afterwards the set of instances in the store must
// be exactly the nominal times from its first to its cursor: none missing (all inside the
// catch-up window), none doubled (an instance per id, and an id per time).

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, describe, test } from 'node:test';

import { postgresMissing, startPostgres } from '@ergo-ts/test-support';

import { scheduleRunId, type EntityStore, type ScheduleDescription } from '../src/index.js';
import { EntityNode, ownerAmong, seeMembers, twoMembers } from './dist_helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-sched-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let pg: { url: string; stop(): Promise<void> } | undefined;
after(async () => {
  await pg?.stop();
});

const EVERY = 1000;

/** The ids of the workflow's instances in the store (every one: started by the schedule). */
async function started(store: EntityStore): Promise<string[]> {
  const rows = await store.stateIndex!.search({ kind: 'wftagged', limit: 1000 });
  return rows.map((r) => r.key).sort();
}

async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read().catch(() => undefined);
    if (v !== undefined && ok(v)) return v;
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms (last: ${JSON.stringify(v)})`);
    await delay(100);
  }
}

async function run(t: { after(fn: () => Promise<void> | void): void }, db: string, prefix?: string): Promise<void> {
  const { nodes, names, settings, store } = await twoMembers(t, 'sch', {
    db,
    ...(prefix === undefined ? {} : { prefix }),
  });
  const sched = (n: EntityNode, op: string, ...args: unknown[]) =>
    n.cmd('schedule', { key: 'tick', req: { op, args } }, 20_000);
  const created = (await sched(nodes[0]!, 'create', {
    spec: { everyMs: EVERY },
    input: { customer: 'sched', steps: 0, stepMs: 0 },
    policies: { overlap: 'allowAll', catchupWindowMs: 600_000 },
  })) as ScheduleDescription;
  const first = created.next[0]!;
  const count = async (): Promise<number> => (await started(store)).length;

  // 1. kill -9 the schedule's owner, a few runs in; the survivor takes it over.
  await until('3 runs', count, (n) => n >= 3);
  const ownerName = ownerAmong('tick', names);
  const ownerIdx = names.indexOf(ownerName);
  const before = await count();
  await nodes[ownerIdx]!.kill();
  const survivor = nodes[1 - ownerIdx]!;
  await until('3 runs after the kill', count, (n) => n >= before + 3);
  nodes[ownerIdx] = await EntityNode.start(ownerName, settings);
  await seeMembers(nodes);
  const back = await count();
  await until('2 runs after the restart', count, (n) => n >= back + 2);

  // 2. kill -9 both members, stay down for a few nominal times, start both again.
  await Promise.all(nodes.map((n) => n.kill()));
  const down = Date.now();
  while (Date.now() < down + 3 * EVERY) await delay(100); // the clock passing is what the case waits for
  for (let i = 0; i < names.length; i++) nodes[i] = await EntityNode.start(names[i]!, settings);
  await seeMembers(nodes);
  const restarted = Date.now();
  await until(
    'runs past the restart',
    async () => started(store),
    (ids) => ids.some((id) => id >= scheduleRunId('tick', restarted + 2 * EVERY)),
  );

  // 3. pause, then check: exactly one instance per nominal time from the first to the cursor.
  await sched(nodes[0]!, 'pause', 'checking');
  const d = (await sched(nodes[1]!, 'describe')) as ScheduleDescription;
  const ids = await started(store);
  // Up to the cursor, or to the latest run if later: a start that landed while its answer was
  // lost is tried again (and finds its instance) before the cursor moves past it, so a run can
  // stand one time beyond the cursor when the pause comes. Ids are one per time: none doubles.
  const latest = Math.max(...ids.map((id) => Date.parse(id.slice('tick-'.length))));
  const want: string[] = [];
  for (let at = first; at <= Math.max(d.cursor, latest); at += EVERY) want.push(scheduleRunId('tick', at));
  want.sort();
  const missing = want.filter((id) => !ids.includes(id));
  const extra = ids.filter((id) => !want.includes(id));
  assert.deepEqual(
    { missing, extra },
    { missing: [], extra: [] },
    `survivor ${survivor.name}, downtime ${restarted - down} ms`,
  );
  assert.equal(d.counts.missed, 0);
  assert.equal(new Set(ids).size, ids.length);
  // Each instance ran once: a start repeated after a crash found it there (created false).
  const summary = await until(
    'every run completed',
    async () => {
      const rows = await store.stateIndex!.search({ kind: 'wftagged', limit: 1000 });
      return rows;
    },
    (rows) => rows.every((r) => r.status === 'completed'),
  );
  assert.equal(summary.length, want.length);
  console.log(
    `schedule: ${want.length} nominal times, ${d.counts.started} starts counted (${d.counts.started - want.length} found their instance there), downtime ${restarted - down} ms`,
  );
}

describe('a workflow schedule under kill -9 and a whole-cluster restart', () => {
  test('SQLite: one instance per nominal time, none missing, none doubled', async (t) => {
    await run(t, join(dir, 'sched.db'));
  });
  test('PostgreSQL: one instance per nominal time, none missing, none doubled', async (t) => {
    const missing = postgresMissing();
    if (missing !== undefined) return t.skip(missing);
    pg ??= await startPostgres();
    await run(t, pg.url, `schd${process.pid}_`);
  });
});
