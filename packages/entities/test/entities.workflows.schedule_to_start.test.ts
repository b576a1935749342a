// A limit on waiting to start (Temporal's schedule-to-start): an activity of a queue no live member
// serves, with `scheduleToStartTimeoutMs`, fails for good once that long passed — ERR_WORKFLOW_STEP_FAILED
// whose cause is ERR_WORKFLOW_TIMEOUT naming the queue, one attempt journaled, no retry — where
// `timeoutMs` alone (an attempt's own time) never ended the wait. Its restart while waiting (nothing
// journaled yet: the wait starts again in the next activation) and after (the failure replays);
// an activity of a served queue with the same bound runs. The kit, SQLite, PostgreSQL.

import { strict as assert } from 'node:assert';

import { eventually } from '@ergo-ts/test-support';

import { defineWorkflow } from '../src/index.js';
import { onEveryRig, type Rig, type RigCases } from './workflow_rigs.js';

interface Caught {
  readonly out?: string;
  readonly code?: string;
  readonly cause?: string;
  readonly message?: string;
}

/** An activity of queue `input.queue`, bounded by `input.ms` to start and 3 s to run; what it threw, caught. */
const WfStartBy = defineWorkflow(
  'wfstartby',
  { activities: { echo: (input: { tag: string }) => `echo ${input.tag}` } },
  async (ctx, input: { queue: string; ms: number }): Promise<Caught> => {
    try {
      const out = await ctx.activity<string>(
        'echo',
        { tag: ctx.id },
        { queue: input.queue, scheduleToStartTimeoutMs: input.ms, timeoutMs: 3000, retry: { maxAttempts: 5 } },
      );
      return { out };
    } catch (e) {
      const err = e as Error & { code?: string; cause?: Error & { code?: string } };
      return { code: err.code, cause: err.cause?.code, message: err.cause?.message };
    }
  },
);

/** Resolves once instance `id`'s activity waits for a member that serves its queue (describe() says so). */
function waiting(rig: Rig, id: string): Promise<unknown> {
  return eventually(
    async () => (await rig.workflows().handle(WfStartBy, id).describe()).running?.find((x) => x.queued !== undefined),
    `${id} waits for its queue`,
    { timeoutMs: 60_000 },
  );
}

const CASES: RigCases = {
  async 'an activity of a queue no member serves fails for good after scheduleToStartTimeoutMs'(rig) {
    const ms = rig.advanceTime === undefined ? 1500 : 60_000;
    await rig.workflows().start(WfStartBy, 'g1', { queue: 'gpu', ms });
    await waiting(rig, 'g1');
    await rig.restart(); // nothing journaled: the next activation waits anew
    await waiting(rig, 'g1'); // describe() activates the key: the body resumes and waits again
    rig.advanceTime?.(ms + 1);
    const got = await rig.workflows().handle(WfStartBy, 'g1').result();
    assert.equal(got.code, 'ERR_WORKFLOW_STEP_FAILED');
    assert.equal(got.cause, 'ERR_WORKFLOW_TIMEOUT');
    assert.match(
      got.message ?? '',
      /did not start within \d+ ms \(scheduleToStartTimeoutMs\): no live member serves queue gpu/,
    );
    const r = (await rig.record('wfstartby', 'g1'))!;
    const step = r.journal.find((e) => e.n === 'echo')!;
    assert.equal(step.done, true);
    assert.equal(step.a, 1, 'one attempt, not retried');
    assert.equal(step.e?.code, 'ERR_WORKFLOW_TIMEOUT');
    await rig.restart();
    assert.deepEqual(await rig.workflows().handle(WfStartBy, 'g1').result(), got, 'the same after a replay');
  },
  async 'an activity of a served queue with the same bound runs'(rig) {
    await rig.workflows().start(WfStartBy, 'c1', { queue: 'cpu', ms: 1000 });
    assert.deepEqual(await rig.workflows().handle(WfStartBy, 'c1').result(), { out: 'echo c1' });
  },
  async 'a bad scheduleToStartTimeoutMs fails the step with ERR_WORKFLOW_INCORRECT'(rig) {
    await rig.workflows().start(WfStartBy, 'b1', { queue: 'cpu', ms: -5 });
    const got = await rig.workflows().handle(WfStartBy, 'b1').result();
    assert.equal(got.code, 'ERR_WORKFLOW_INCORRECT');
  },
};

onEveryRig('schedule-to-start', CASES, [WfStartBy], () => undefined, {
  workflowQueues: { serve: ['cpu'], pollMs: 20 },
});
