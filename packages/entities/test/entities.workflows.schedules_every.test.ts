// Schedule intervals written as Temporal writes them (issue 91 item 7): a schedule's `cron` may be
// `@every <interval>[/<offset>]` (`@every 2s`, `@every 1h30m`, `@every 1d/2h`, a `# comment`
// after), kept as `everyMs`/`offsetMs`; a malformed one is refused with ERR_WORKFLOW_INCORRECT and
// creates nothing. And `terminateOther` terminates the running run (no compensation runs) where
// `cancelOther` cancels it (its compensations run). On the test kit's clock.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { schema } from 'ergo-ts';

import { WorkflowSchedules, defineWorkflow, scheduleRunId } from '../src/index.js';
import { startTestEntities } from '../src/testing/index.js';
import { everyOf } from '../src/workflow/scheduling/schedules_spec.js';

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;

/** Ends at once with its input's tag. */
const EveryTick = defineWorkflow(
  'every-tick',
  { input: schema.object({ tag: schema.string() }) },
  async (_ctx, input: { readonly tag: string }) => input.tag,
);

/** Compensations run, by the id of the run that ran them. */
const undone: string[] = [];

/** Holds a reservation (undone by its compensation) until `go`; on a cancel, undoes it. */
const EveryHold = defineWorkflow(
  'every-hold',
  { signals: { go: schema.string() } },
  async (ctx, _input: { readonly tag: string }) => {
    try {
      await ctx.step('reserve', () => 'r', { compensate: () => void undone.push(ctx.id) });
      return await ctx.signal('go');
    } catch (err) {
      await ctx.runCompensations();
      throw err;
    }
  },
);

const KINDS = [EveryTick, EveryHold, WorkflowSchedules];
const code = (c: string) => (err: Error & { code?: string }) => {
  assert.equal(err.code, c, err.message);
  return true;
};

describe('schedule intervals written as Temporal writes them', () => {
  test('the forms: units, compound intervals, an offset, a comment', () => {
    const cases: [string, number, number][] = [
      ['@every 2s', 2 * SEC, 0],
      ['@every 90s', 90 * SEC, 0],
      ['@every 1h30m', 90 * MIN, 0],
      ['@every 1.5h', 90 * MIN, 0],
      ['@every 1500ms', 1500, 0],
      ['@every 1h/15m', HOUR, 15 * MIN],
      ['@every 1d/2h # nightly', 24 * HOUR, 2 * HOUR],
      ['  @every   10m/30s  ', 10 * MIN, 30 * SEC],
      ['@EVERY 5m', 5 * MIN, 0],
    ];
    for (const [cron, everyMs, offsetMs] of cases) assert.deepEqual(everyOf(cron), { everyMs, offsetMs }, cron);
    assert.equal(everyOf('*/5 * * * *'), undefined, 'a cron spec is no interval');
    assert.equal(everyOf('@daily'), undefined);
  });

  test('a schedule of "@every 2s" starts a run at every multiple of 2 s; "@every 1h/15m" is due at a quarter past', async () => {
    await using k = await startTestEntities({ kinds: KINDS, leaseTtlMs: 3_600_000 });
    const s = k.entities.workflows.schedules;
    const d = await s.create(EveryTick, 'two', {
      spec: { cron: '@every 2s' },
      input: { tag: 't' },
      policies: { overlap: 'allowAll' }, // the times caught up at once do not wait for each other
    });
    assert.deepEqual(
      { everyMs: d.spec.everyMs, offsetMs: d.spec.offsetMs, cron: d.spec.cron },
      { everyMs: 2000, offsetMs: 0, cron: undefined },
    );
    for (const t of d.next) assert.equal(t % 2000, 0);
    assert.deepEqual(
      d.next.slice(1).map((t, i) => t - d.next[i]!),
      [2000, 2000, 2000, 2000],
    );
    k.advanceTime(d.next[2]! - k.clock.now());
    while ((await k.fireDueReminders()).length > 0);
    const started = (await k.entities.workflows.list({ kind: 'every-tick', limit: 100 })).items.map((i) => i.id).sort();
    assert.deepEqual(
      started,
      d.next
        .slice(0, 3)
        .map((t) => scheduleRunId('two', t))
        .sort(),
    );

    const q = await s.create(EveryTick, 'quarter', { spec: { cron: '@every 1h/15m' }, input: { tag: 'q' } });
    for (const t of q.next) assert.equal(t % HOUR, 15 * MIN);
  });

  test('malformed intervals are refused with ERR_WORKFLOW_INCORRECT, and create nothing', async () => {
    await using k = await startTestEntities({ kinds: KINDS, leaseTtlMs: 3_600_000 });
    const s = k.entities.workflows.schedules;
    const bad = [
      { cron: '@every' },
      { cron: '@every 2' },
      { cron: '@every 2x' },
      { cron: '@every -2s' },
      { cron: '@every 2 s' },
      { cron: '@every s' },
      { cron: '@every 500ms' },
      { cron: '@every 1.0001s' },
      { cron: '@every 1h/1h' },
      { cron: '@every 1h/2h' },
      { cron: '@every 2s/1s/1s' },
      { cron: '@every 2s/' },
      { cron: '@every 2s', offsetMs: 500 },
      { cron: '@every 2s', everyMs: 2000 },
    ];
    for (const spec of bad)
      await assert.rejects(
        s.create(EveryTick, 'bad', { spec, input: { tag: 'x' } } as never),
        code('ERR_WORKFLOW_INCORRECT'),
        JSON.stringify(spec),
      );
    await assert.rejects(
      s.create(EveryTick, 'bad', { spec: { cron: '@every 2x' }, input: { tag: 'x' } }),
      /"@every 2x": the interval "2x" is not a duration/,
    );
    assert.equal((await s.list()).length, 0, 'nothing created by a refused call');
  });
});

describe('overlap: terminateOther terminates, cancelOther cancels', () => {
  for (const overlap of ['terminateOther', 'cancelOther'] as const)
    test(`${overlap}: the running run ends ${overlap === 'terminateOther' ? 'with no compensation' : 'after its compensations'}, the next starts`, async () => {
      await using k = await startTestEntities({ kinds: KINDS, leaseTtlMs: 3_600_000 });
      const s = k.entities.workflows.schedules;
      const id = `hold-${overlap}`;
      const d = await s.create(EveryHold, id, {
        spec: { cron: '@every 1m' },
        input: { tag: 'h' },
        policies: { overlap },
      });
      k.advanceTime(d.next[0]! - k.clock.now());
      while ((await k.fireDueReminders()).length > 0);
      const first = scheduleRunId(id, d.next[0]!);
      assert.deepEqual((await s.describe(id)).running, [first]);
      await k.workflows.runUntilIdle();
      k.advanceTime(MIN);
      while ((await k.fireDueReminders()).length > 0);
      const now = await s.describe(id);
      assert.deepEqual(now.running, [scheduleRunId(id, d.next[1]!)]);
      assert.equal(now.counts.cancelled, 1);
      const ended = k.entities.workflows.handleOf('every-hold', first);
      await assert.rejects(ended.result(), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'ERR_WORKFLOW_CANCELLED');
        if (overlap === 'terminateOther') assert.match(err.message, /terminated: schedule hold-terminateOther/);
        return true;
      });
      await k.workflows.runUntilIdle();
      assert.deepEqual(
        undone.filter((u) => u === first),
        overlap === 'terminateOther' ? [] : [first],
      );
    });
});
