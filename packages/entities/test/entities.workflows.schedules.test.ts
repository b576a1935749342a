// Workflow schedules (workflow/schedules_*.ts) on SQLite and PostgreSQL, wall clock, intervals of
// a second: each run starts under `<id>-<nominal time>`, once, also across restarts of the runtime;
// pause and unpause with a note, trigger, backfill (over times already started: nothing doubled),
// the overlap policies, the catch-up window after downtime, list, describe, and bad input with
// stable codes; and on the test kit (test clock), the catch-up window and the skip policy exactly.
// The kill -9 case is entities.workflows.schedules.dist.test.ts.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, describe, test } from 'node:test';

import { postgresMissing, startPostgres } from '@ergo-ts/test-support';
import { schema, startNode } from 'ergo-ts';

import { startTestEntities } from '../src/testing/index.js';
import {
  PostgresStore,
  SCHEDULE_KIND,
  SqliteStore,
  WorkflowSchedules,
  defineWorkflow,
  scheduleRunId,
  startEntities,
  type Entities,
  type EntityStore,
} from '../src/index.js';

/** Ends at once with its input's tag. */
const SchedTick = defineWorkflow(
  'sched-tick',
  { input: schema.object({ tag: schema.string() }) },
  async (_ctx, input: { readonly tag: string }) => input.tag,
);
/** Runs until its `go` signal. */
const SchedLong = defineWorkflow(
  'sched-long',
  { signals: { go: schema.string() } },
  async (ctx, _input: { readonly tag: string }) => ctx.signal('go'),
);
const KINDS = [SchedTick, SchedLong, WorkflowSchedules];

interface Rig {
  entities(): Entities;
  restart(): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

const code = (c: string) => (err: Error & { code?: string }) => {
  assert.equal(err.code, c, err.message);
  return true;
};

/** Waits (polling the store, no fixed sleep) until `check` holds. */
async function until<T>(what: string, read: () => Promise<T>, check: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (check(v)) return v;
    if (Date.now() > end) assert.fail(`${what}: not within ${ms} ms: ${JSON.stringify(v)}`);
    await delay(50);
  }
}

/** The ids of `kind`'s instances, sorted. */
async function ids(e: Entities, kind: string): Promise<string[]> {
  const page = await e.workflows.list({ kind, limit: 1000 });
  return page.items.map((i) => i.id).sort();
}

/** The ids `scheduleId` must have started for the nominal times from `first` to `last`, every `every` ms. */
function expected(scheduleId: string, first: number, last: number, every: number): string[] {
  const out: string[] = [];
  for (let t = first; t <= last; t += every) out.push(scheduleRunId(scheduleId, t));
  return out.sort();
}

const CASES: Record<string, (rig: Rig) => Promise<void>> = {
  async 'an interval starts one run per nominal time, under <id>-<time>, none doubled across restarts'(rig) {
    const w = rig.entities().workflows;
    const d = await w.schedules.create(SchedTick, 'every-second', {
      spec: { everyMs: 1000 },
      input: { tag: 't' },
      policies: { overlap: 'allowAll' },
      note: 'a test',
    });
    assert.equal(d.note, 'a test');
    assert.equal(d.next.length, 5);
    assert.ok(d.next.every((t, i) => t % 1000 === 0 && (i === 0 || t - d.next[i - 1]! === 1000)));
    const first = d.next[0]!;
    await until(
      'two runs',
      () => ids(rig.entities(), 'sched-tick'),
      (v) => v.length >= 2,
    );
    await rig.restart();
    const got = await until(
      'four runs',
      () => ids(rig.entities(), 'sched-tick'),
      (v) => v.length >= 4,
    );
    await rig.entities().workflows.schedules.pause('every-second', 'stop for the check');
    const described = await rig.entities().workflows.schedules.describe('every-second');
    assert.equal(described.paused, true);
    assert.equal(described.note, 'stop for the check');
    assert.deepEqual(described.next, []);
    const all = await ids(rig.entities(), 'sched-tick');
    assert.ok(all.length >= got.length);
    // Exactly the nominal times from the first to the cursor: none missing, none doubled.
    assert.deepEqual(all, expected('every-second', first, described.cursor, 1000));
    assert.equal(described.counts.started, all.length);
    assert.equal(described.recent[0]!.id, scheduleRunId('every-second', described.cursor));
    assert.equal(await rig.entities().workflows.handleOf('sched-tick', all[0]!).result(), 't');
  },

  async 'paused: no run; trigger starts one now; backfill starts each time once, nothing over existing runs'(rig) {
    const s = rig.entities().workflows.schedules;
    await s.create(SchedTick, 'bf', { spec: { everyMs: 60_000 }, input: { tag: 'b' }, paused: true, note: 'held' });
    const { workflowId } = await s.trigger('bf');
    assert.match(workflowId, /^bf-\d{4}-/);
    await until(
      'the trigger',
      () => ids(rig.entities(), 'sched-tick'),
      (v) => v.includes(workflowId),
    );
    const start = Date.parse('2026-01-01T00:00:00Z');
    assert.deepEqual(await s.backfill('bf', { start, end: start + 3 * 60_000 }), { times: 4 });
    const want = expected('bf', start, start + 3 * 60_000, 60_000);
    await until(
      'the backfill',
      () => ids(rig.entities(), 'sched-tick'),
      (v) => want.every((id) => v.includes(id)),
    );
    await rig.restart();
    // Again over the same range and one more minute: only the new minute starts a new instance.
    assert.deepEqual(await rig.entities().workflows.schedules.backfill('bf', { start, end: start + 4 * 60_000 }), {
      times: 5,
    });
    const d = await until(
      'the second backfill',
      () => rig.entities().workflows.schedules.describe('bf'),
      (v) => v.pending === 0 && v.counts.started === 10,
    );
    assert.equal(d.recent.filter((r) => r.outcome === 'existed').length, 4);
    assert.deepEqual(
      await ids(rig.entities(), 'sched-tick'),
      [...want, scheduleRunId('bf', start + 4 * 60_000), workflowId].sort(),
    );
    assert.equal(d.paused, true);
    assert.equal(d.note, 'held');
    const s2 = rig.entities().workflows.schedules;
    assert.equal(await s2.unpause('bf', 'go'), 'active');
    assert.equal((await s2.describe('bf')).next.length, 5);
  },

  async 'overlap: skip while one runs, cancelOther cancels it, bufferOne starts one when it ends'(rig) {
    const s = rig.entities().workflows.schedules;
    await s.create(SchedLong, 'ov', { spec: { everyMs: 1000 }, input: { tag: 'o' } });
    const skipped = await until(
      'a skip',
      () => s.describe('ov'),
      (d) => d.counts.skipped >= 2,
    );
    assert.equal(skipped.counts.started, 1);
    assert.equal(skipped.running.length, 1);
    const firstId = skipped.running[0]!;
    await s.update('ov', { policies: { overlap: 'cancelOther' } });
    const d = await until(
      'a cancel',
      () => s.describe('ov'),
      (v) => v.counts.cancelled >= 1,
    );
    await assert.rejects(
      rig.entities().workflows.handleOf('sched-long', firstId).result(),
      code('ERR_WORKFLOW_CANCELLED'),
    );
    await s.update('ov', { policies: { overlap: 'bufferOne' } });
    const buffered = await until(
      'a buffered run',
      () => s.describe('ov'),
      (v) => v.buffered.length === 1 && v.counts.skipped > skipped.counts.skipped,
    );
    assert.equal(buffered.running.length, 1);
    const running = buffered.running[0]!;
    const bufferedId = scheduleRunId('ov', buffered.buffered[0]!);
    await rig.entities().workflows.handleOf('sched-long', running).signal('go', 'done');
    await until(
      'the buffered run started',
      () => ids(rig.entities(), 'sched-long'),
      (v) => v.includes(bufferedId),
    );
    await s.delete('ov');
    await assert.rejects(s.describe('ov'), code('ERR_SCHEDULE_NOT_FOUND'));
    assert.ok(d.counts.started >= 2);
  },

  async 'after downtime, runs older than the catch-up window are missed and counted, the rest started'(rig) {
    const s = rig.entities().workflows.schedules;
    const d = await s.create(SchedTick, 'cu', {
      spec: { everyMs: 1000 },
      input: { tag: 'c' },
      policies: { overlap: 'allowAll', catchupWindowMs: 2000 },
    });
    await until(
      'a run',
      () => ids(rig.entities(), 'sched-tick'),
      (v) => v.length >= 1,
    );
    await rig.stop();
    const down = Date.now();
    // The cluster is down for five nominal times: the clock passing is what is waited for.
    while (Date.now() < down + 5000) await delay(100);
    await rig.start();
    const after = await until(
      'missed counted',
      () => rig.entities().workflows.schedules.describe('cu'),
      (v) => v.counts.missed > 0 && v.cursor > down + 5000,
    );
    const all = await ids(rig.entities(), 'sched-tick');
    const first = d.next[0]!;
    const want = expected('cu', first, after.cursor, 1000);
    assert.equal(all.length + after.counts.missed, want.length, 'each nominal time started or missed');
    // Those started are the times before the downtime and those inside the window at the restart.
    assert.ok(all.every((id) => want.includes(id)));
    const missed = want.filter((id) => !all.includes(id));
    assert.equal(missed.length, after.counts.missed);
    assert.ok(after.recent.some((r) => r.outcome === 'missed'));
  },

  async 'list, cron in a time zone, and bad input with stable codes'(rig) {
    const s = rig.entities().workflows.schedules;
    const d = await s.create(SchedTick, 'nightly', {
      spec: { cron: '30 2 * * *', timeZone: 'Europe/Berlin', jitterMs: 60_000 },
      input: { tag: 'n' },
    });
    // 02:30 in Berlin is 01:30 or 00:30 UTC (summer time).
    for (const t of d.next) assert.ok([0, 1].includes(new Date(t).getUTCHours()) && new Date(t).getUTCMinutes() === 30);
    await s.create(SchedLong, 'paused-one', { spec: { everyMs: 3_600_000 }, input: { tag: 'p' }, paused: true });
    const all = await s.list();
    assert.deepEqual(all.map((x) => x.id).sort(), ['nightly', 'paused-one']);
    assert.deepEqual(
      (await s.list({ status: 'paused' })).map((x) => x.id),
      ['paused-one'],
    );
    assert.deepEqual(
      (await s.list({ workflow: SchedTick })).map((x) => x.id),
      ['nightly'],
    );
    await assert.rejects(
      s.create(SchedTick, 'nightly', { spec: { everyMs: 1000 }, input: { tag: 'x' } }),
      code('ERR_SCHEDULE_EXISTS'),
    );
    // The same create sent again (its answer lost, the owner moved) is answered, not refused: it
    // carries the request id the schedule kept; another create of the id is refused.
    const spec = { everyMs: 60_000, offsetMs: 0, timeZone: 'UTC', jitterMs: 0 };
    const def = { workflow: 'sched-tick', input: { tag: 'r' }, spec, overlap: 'skip', catchupWindowMs: 60_000 };
    const again = { op: 'create', def };
    const to = { kind: SCHEDULE_KIND, key: 'once' } as never;
    const first = (await rig.entities().call(to, { ...again, requestId: 'r-1' } as never)) as { id: string };
    const second = (await rig.entities().call(to, { ...again, requestId: 'r-1' } as never)) as { id: string };
    assert.equal(first.id, 'once');
    // Each answer is the schedule described when it was sent: its next times move on when a minute
    // boundary passes between the two (once in a loaded run), the rest is the same.
    const { next: next1, ...rest1 } = first as { id: string; next: number[] };
    const { next: next2, ...rest2 } = second as { id: string; next: number[] };
    assert.deepEqual(rest2, rest1);
    assert.ok(next2[0]! >= next1[0]! && next2.every((t) => t % 60_000 === 0), "the same schedule's next times");
    await assert.rejects(rig.entities().call(to, { ...again, requestId: 'r-2' } as never), code('ERR_SCHEDULE_EXISTS'));
    await s.delete('once');
    await assert.rejects(s.describe('nope'), code('ERR_SCHEDULE_NOT_FOUND'));
    await assert.rejects(s.pause('nope'), code('ERR_SCHEDULE_NOT_FOUND'));
    const bad = [
      { spec: { everyMs: 10 }, input: { tag: 'x' } },
      { spec: { cron: '61 * * * *' }, input: { tag: 'x' } },
      { spec: { cron: '* * * * *', timeZone: 'Mars/Olympus' }, input: { tag: 'x' } },
      { spec: { cron: '* * * * *', everyMs: 1000 }, input: { tag: 'x' } },
      { spec: { everyMs: 1000 }, input: { tag: 7 } },
      { spec: { everyMs: 1000 }, input: { tag: 'x' }, policies: { overlap: 'sometimes' } },
      { spec: { everyMs: 1000 }, input: { tag: 'x' }, policies: { catchupWindowMs: -1 } },
    ];
    for (const o of bad) await assert.rejects(s.create(SchedTick, 'bad', o as never), code('ERR_WORKFLOW_INCORRECT'));
    await assert.rejects(
      s.create(SchedTick, '', { spec: { everyMs: 1000 }, input: { tag: 'x' } }),
      code('ERR_WORKFLOW_INCORRECT'),
    );
    await assert.rejects(s.backfill('nightly', { start: 10, end: 5 }), code('ERR_WORKFLOW_INCORRECT'));
    await assert.rejects(s.backfill('nightly', { start: 0, end: Date.now() }), code('ERR_WORKFLOW_INCORRECT'));
    await assert.rejects(s.trigger('nightly', { overlap: 'never' as never }), code('ERR_WORKFLOW_INCORRECT'));
    await assert.rejects(s.list({ limit: 0 }), code('ERR_WORKFLOW_INCORRECT'));
    assert.equal((await s.list()).length, 2, 'nothing created by a refused call');
  },
};

const dir = mkdtempSync(join(tmpdir(), 'ergo-schedules-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
let pg: { url: string; stop(): Promise<void> } | undefined;
after(async () => {
  await pg?.stop();
});

const STORES: Record<string, () => Promise<EntityStore>> = {
  SQLite: async () => SqliteStore.open(join(dir, `s${++n}.db`), { synchronous: 'normal' }),
  PostgreSQL: async () => {
    pg ??= await startPostgres();
    return PostgresStore.open(pg.url, { tablePrefix: `sch${++n}_` });
  },
};

for (const [storeName, open] of Object.entries(STORES))
  describe(`workflow schedules on ${storeName} (wall clock)`, () => {
    for (const [name, run] of Object.entries(CASES))
      test(name, async (t) => {
        if (storeName === 'PostgreSQL') {
          const missing = postgresMissing();
          if (missing !== undefined) return t.skip(missing);
        }
        const store = await open();
        const node = await startNode(`sched${++n}-${process.pid}@localhost`, { log: { level: 'warning' } });
        const begin = (): Promise<Entities> => startEntities(node, { store, kinds: KINDS, reminders: { pollMs: 50 } });
        let entities: Entities | undefined = await begin();
        t.after(async () => {
          await entities?.stop();
          await node.stop();
          await store.close();
        });
        await run({
          entities: () => entities!,
          async restart() {
            await entities!.stop();
            entities = await begin();
          },
          async stop() {
            await entities!.stop();
            entities = undefined;
          },
          async start() {
            entities = await begin();
          },
        });
      });
  });

describe('workflow schedules on the test kit (test clock)', () => {
  test('after a long gap the times inside the catch-up window start, the older are missed, exactly', async () => {
    await using k = await startTestEntities({ kinds: KINDS, leaseTtlMs: 3_600_000 });
    const s = k.entities.workflows.schedules;
    const MIN = 60_000;
    const d = await s.create(SchedTick, 'kit', {
      spec: { everyMs: MIN },
      input: { tag: 'k' },
      policies: { overlap: 'allowAll', catchupWindowMs: 5 * MIN },
    });
    const created = d.cursor;
    k.advanceTime(30 * MIN);
    const now = k.clock.now();
    // Fires until nothing is due (a fire starts at most 32 runs; the next is due at once).
    while ((await k.fireDueReminders()).length > 0);
    const after = await s.describe('kit');
    const all: string[] = [];
    const started: string[] = [];
    for (let t = d.next[0]!; t <= now; t += MIN) {
      all.push(scheduleRunId('kit', t));
      if (now - t <= 5 * MIN) started.push(scheduleRunId('kit', t));
    }
    assert.ok(created < d.next[0]!);
    assert.deepEqual(await ids(k.entities, 'sched-tick'), started.sort());
    assert.equal(after.counts.missed, all.length - started.length);
    assert.equal(after.counts.started, started.length);
    assert.ok(after.next[0]! > now);
  });

  test('skip: a run due while one runs is skipped (counted), the next after it ended starts', async () => {
    await using k = await startTestEntities({ kinds: KINDS, leaseTtlMs: 3_600_000 });
    const s = k.entities.workflows.schedules;
    const MIN = 60_000;
    const d = await s.create(SchedLong, 'kit-skip', { spec: { everyMs: MIN }, input: { tag: 'k' } });
    const tick = async (): Promise<void> => {
      k.advanceTime(MIN);
      while ((await k.fireDueReminders()).length > 0);
    };
    k.advanceTime(d.next[0]! - k.clock.now());
    while ((await k.fireDueReminders()).length > 0);
    await tick();
    await tick();
    let now = await s.describe('kit-skip');
    assert.deepEqual([now.counts.started, now.counts.skipped], [1, 2]);
    await k.entities.workflows.handleOf('sched-long', now.running[0]!).signal('go', 'done');
    await k.entities.workflows.handleOf('sched-long', now.running[0]!).result();
    await tick();
    now = await s.describe('kit-skip');
    assert.deepEqual([now.counts.started, now.counts.skipped], [2, 2]);
    assert.deepEqual(
      now.recent.map((r) => r.outcome),
      ['started', 'skipped', 'skipped', 'started'],
    );
  });
});
