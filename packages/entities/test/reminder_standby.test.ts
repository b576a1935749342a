// A running workflow's keep-alive wake (due resumeAfterMs after its last journal write) exists to
// resume the instance on another member if its own dies. While the body runs on the member that
// scans the row, a fire did nothing but write the wake again — three store writes (the fire's
// enqueue, the handler's save, the row moved on) every resumeAfterMs for each instance whose step
// outlasted it: under host load, up to 98 fires a second against a store that was the bottleneck
// (issue 89). The scheduler now leaves such a row due ("standing by": kinds/entity.ts'
// ENTITY_REMINDER_STANDBY) while the body runs here; the next activation of the key, here or on
// another member, finds it due and resumes the instance at once. A wake whose deadline is due (a
// sleep, a signal wait's timeout) still fires on its own member. Real runtimes on SQLite; the
// scheduler alone on a test clock for the room such rows take and their fire once the activation ends.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { startNode, type Log } from 'ergo-ts';
import { TestClock } from 'ergo-ts/testing';

import type { ReminderStore, StoredReminder } from '../src/contract/reminder_store.js';
import { defineWorkflow, SqliteStore, startEntities } from '../src/index.js';
import { ReminderScheduler, type SchedulerHost } from '../src/runtime/reminder_scheduler.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-standby-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** How each run of the `slow` step went: started, and a release the test calls. */
const runs: { id: string; release: () => void }[] = [];

/** One step that holds until the test releases it; its keep-alive wake due 50 ms after each write. */
const Slow = defineWorkflow('wfstandby', { resumeAfterMs: 50 }, async (ctx, _input: null) =>
  ctx.step('slow', async () => {
    await new Promise<void>((release) => runs.push({ id: ctx.id, release }));
    return 'done';
  }),
);

/** The stored `wake` of `key`'s instance (undefined: none). */
async function wakeOf(store: SqliteStore, kind: string, key: string): Promise<number | undefined> {
  return (await store.reminders({ kind, key })).find((r) => r.name === 'wake')?.dueAt;
}

test('the keep-alive wake of an instance whose step runs on this member is left due, not fired; the next activation resumes it at once', async (t) => {
  const store = SqliteStore.open(join(dir, 'standby.db'), { synchronous: 'normal' });
  const node = await startNode(`standby-${process.pid}@localhost`, { log: { level: 'warning' } });
  const begin = () =>
    startEntities(node, { store, kinds: [Slow], reminders: { pollMs: 50, warmUpMs: 0 }, handOffTimeoutMs: 1 });
  let entities = await begin();
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  await entities.workflows.start(Slow, 'w1', null);
  await eventually(() => runs.length === 1, 'the step runs');
  // Its wake is due 50 ms after the start's write; the scheduler scans at that time. Whatever the
  // scan does with it, it is seen here: a fire (before) or a row left standing by.
  const r = () => entities.stats().reminders!;
  await eventually(() => r().fired > 0 || r().stoodBy > 0, 'a scan read the due wake');
  assert.equal(r().fired, 0, 'the wake of an instance running here is not fired');
  assert.equal(r().standingBy, 1);
  const due = await wakeOf(store, 'wfstandby', 'w1');
  assert.ok(due !== undefined && due <= Date.now(), 'the row stays due');
  // Later scans leave it too (it is not written again: no fire, no save).
  const stood = r().stoodBy;
  await eventually(() => r().stoodBy > stood + 2, 'three more scans');
  assert.equal(r().fired, 0);
  assert.equal(await wakeOf(store, 'wfstandby', 'w1'), due);

  // The member goes away mid-step (a stop that does not wait for the step: as a crash, its run just
  // ends, nothing of the step journaled). The next runtime finds the wake due and fires it at once:
  // the instance resumes (in this one process its step's call still running is adopted, not
  // called twice: body/in_flight.ts, so releasing it lets the resumed run go on).
  await entities.stop();
  entities = await begin();
  await eventually(() => r().fired >= 1, 'the next runtime fired the wake left due');
  await eventually(() => entities.active().some((a) => a.key === 'w1'), 'the instance is active again');
  runs[0]!.release();
  assert.equal(await entities.workflows.handle(Slow, 'w1').result(), 'done');
});

test('scheduler: a row standing by takes no room from other due rows, and fires once its activation ends here', async () => {
  const clock = new TestClock(10_000);
  const rows: StoredReminder[] = ['running', 'other'].map((key, i) => ({
    kind: 'k',
    key,
    shard: 0,
    name: 'wake',
    gen: 1,
    dueAt: 5_000 + i, // 'running' is the oldest: read first
    payload: null,
  }));
  let reads = 0;
  const fired: string[] = [];
  let running = true;
  const store = {
    dueReminders: (_s: number[], _until: number, limit: number) => {
      reads++;
      return Promise.resolve(rows.slice(0, limit));
    },
    nextReminderDue: () => Promise.resolve(undefined),
    advanceReminder: (r: StoredReminder) => {
      rows.splice(
        rows.findIndex((x) => x.key === r.key),
        1,
      );
      return Promise.resolve();
    },
  } as unknown as ReminderStore;
  const host: SchedulerHost = {
    store,
    log: { warning: () => undefined } as unknown as Log,
    clock,
    shards: 1,
    kind: () => undefined,
    owned: () => new Set([0]),
    deliver: (_kind, key) => {
      fired.push(key);
      return Promise.resolve();
    },
    active: (_kind, key) => key === 'running' && running,
    standsBy: (_kind, key, name) => key === 'running' && running && name === 'wake',
    warm: () => Promise.resolve(),
  };
  // One row a scan: the row standing by would take the whole batch.
  const s = new ReminderScheduler(host, { pollMs: 1000, batch: 1 });
  s.start();
  await eventually(() => fired.length === 1, 'the other row fired');
  assert.deepEqual(fired, ['other']);
  assert.equal(s.stats().standingBy, 1);
  await s.idle();
  // Its activation ends here: a scan at once (no clock move) fires it.
  const before = reads;
  running = false;
  s.ended('k', 'running');
  await eventually(() => fired.length === 2, 'the row that stood by fired');
  assert.deepEqual(fired, ['other', 'running']);
  assert.ok(reads > before);
  assert.equal(clock.now(), 10_000, 'without the clock moving');
  s.stop();
});
