// A schedule's own workflow id for its runs (issue 91 item 7, Temporal's action `workflowId`):
// with `workflowId`, the run at nominal time t is `<workflowId>-<t>` instead of
// `<scheduleId>-<t>`; it is kept with the schedule (described, listed from the store's state
// index), changed by `update` from the next run on, and a bad one is refused with
// ERR_WORKFLOW_INCORRECT before anything is created. On the test kit's clock.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { schema } from 'ergo-ts';

import { WorkflowSchedules, defineWorkflow, scheduleRunId } from '../src/index.js';
import { startTestEntities } from '../src/testing/index.js';

const MIN = 60_000;

/** Ends at once with its input's tag. */
const IdTick = defineWorkflow(
  'id-tick',
  { input: schema.object({ tag: schema.string() }) },
  async (_ctx, input: { readonly tag: string }) => input.tag,
);

const KINDS = [IdTick, WorkflowSchedules];
const code = (c: string) => (err: Error & { code?: string }) => {
  assert.equal(err.code, c, err.message);
  return true;
};

describe("a schedule's own workflow id for its runs", () => {
  test('runs are <workflowId>-<time>, kept with the schedule, changed by update from the next run', async () => {
    await using k = await startTestEntities({ kinds: KINDS, leaseTtlMs: 3_600_000 });
    const s = k.entities.workflows.schedules;
    const d = await s.create(IdTick, 'sched-a', {
      spec: { cron: '@every 1m' },
      input: { tag: 'a' },
      workflowId: 'nightly-report',
      policies: { overlap: 'allowAll' },
    });
    assert.equal(d.workflowId, 'nightly-report');
    k.advanceTime(d.next[1]! - k.clock.now());
    while ((await k.fireDueReminders()).length > 0);
    const ids = async () =>
      (await k.entities.workflows.list({ kind: 'id-tick', limit: 100 })).items.map((i) => i.id).sort();
    assert.deepEqual(await ids(), [
      scheduleRunId('nightly-report', d.next[0]!),
      scheduleRunId('nightly-report', d.next[1]!),
    ]);
    assert.equal((await s.describe('sched-a')).recent[0]!.id, scheduleRunId('nightly-report', d.next[1]!));
    // Stored with the schedule: the listing reads the store's state index, not the entity.
    assert.deepEqual(
      (await s.list()).map((x) => [x.id, x.workflowId]),
      [['sched-a', 'nightly-report']],
    );
    // A trigger's run keeps the id it answered, though the schedule's workflowId changes before it starts.
    k.advanceTime(1000);
    const now = k.clock.now();
    assert.deepEqual(await s.trigger('sched-a'), { workflowId: scheduleRunId('nightly-report', now) });
    await s.update('sched-a', { workflowId: 'weekly-report' });
    assert.equal((await s.describe('sched-a')).workflowId, 'weekly-report');
    k.advanceTime(d.next[2]! - k.clock.now());
    while ((await k.fireDueReminders()).length > 0);
    assert.deepEqual(
      await ids(),
      [
        scheduleRunId('nightly-report', d.next[0]!),
        scheduleRunId('nightly-report', d.next[1]!),
        scheduleRunId('nightly-report', now),
        scheduleRunId('weekly-report', d.next[2]!),
      ].sort(),
    );

    // Without one, the runs are <scheduleId>-<time>.
    const b = await s.create(IdTick, 'sched-b', { spec: { everyMs: MIN }, input: { tag: 'b' } });
    assert.equal(b.workflowId, undefined);
    k.advanceTime(b.next[0]! - k.clock.now());
    while ((await k.fireDueReminders()).length > 0);
    assert.ok((await ids()).includes(scheduleRunId('sched-b', b.next[0]!)));
  });

  test('a bad workflow id is refused with ERR_WORKFLOW_INCORRECT, and creates or changes nothing', async () => {
    await using k = await startTestEntities({ kinds: KINDS, leaseTtlMs: 3_600_000 });
    const s = k.entities.workflows.schedules;
    for (const workflowId of ['', 7, null, 'x'.repeat(10_000)])
      await assert.rejects(
        s.create(IdTick, 'bad', { spec: { everyMs: MIN }, input: { tag: 'x' }, workflowId } as never),
        code('ERR_WORKFLOW_INCORRECT'),
        String(workflowId).slice(0, 20),
      );
    await assert.rejects(
      s.create(IdTick, 'bad', { spec: { everyMs: MIN }, input: { tag: 'x' }, workflowId: '' }),
      /workflowId \(the runs' id before "-<time>"\) is a string of 1\.\.\d+ UTF-8 bytes/,
    );
    assert.equal((await s.list()).length, 0);
    await s.create(IdTick, 'ok', { spec: { everyMs: MIN }, input: { tag: 'x' }, workflowId: 'w' });
    await assert.rejects(s.update('ok', { workflowId: '' }), code('ERR_WORKFLOW_INCORRECT'));
    assert.equal((await s.describe('ok')).workflowId, 'w');
  });
});
