// A start's execution and run timeouts (Temporal's workflowExecutionTimeout / workflowRunTimeout):
// past its deadline an instance ends `timedOut` — its body stopped where it was, its running
// step's attempt aborted, its open child cancelled, `result()` rejecting with
// ERR_WORKFLOW_TIMED_OUT — and the deadline, derived from the record's start times and fired by
// its durable wake, holds across a restart of the runtime and fires once. On the test kit (the
// clock moved past the deadline), SQLite and PostgreSQL (wall clock: short deadlines), the runtime
// restarted between steps.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { schema } from 'ergo-ts';

import { defineWorkflow, ErrWorkflowTimedOut } from '../src/index.js';
import { startTestEntities } from '../src/testing/index.js';
import { onEveryRig, type Rig, type RigCases } from './workflow_rigs.js';

/** Attempts of the hanging step that started, and those whose signal was aborted, by instance id. */
const started = new Map<string, number>();
const aborted = new Map<string, number>();
const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);

/** Runs a step that never ends by itself: it settles once its attempt's signal is aborted. */
const WfHang = defineWorkflow(
  'wfhang',
  { signals: { go: schema.string() }, determinismGuard: 'throw' },
  async (ctx, input: { readonly child?: string }): Promise<string> => {
    if (input.child !== undefined) await ctx.startChild(WfChildWait, input.child, undefined);
    return ctx.step('hang', (info) => {
      bump(started, ctx.id);
      return new Promise<string>((_, reject) => {
        info.signal.addEventListener('abort', () => {
          bump(aborted, ctx.id);
          reject(new Error('aborted'));
        });
      });
    });
  },
);

/** A child that waits for a signal that never comes. */
const WfChildWait = defineWorkflow(
  'wfchildwait',
  { signals: { go: schema.string() }, determinismGuard: 'throw' },
  async (ctx): Promise<string> => ctx.signal('go'),
);

/** Continues as new `left` times, each run sleeping `napMs` first; the last run waits for `go`. */
const WfChain = defineWorkflow(
  'wfchain',
  { signals: { go: schema.string() }, determinismGuard: 'throw' },
  async (ctx, input: { readonly left: number; readonly napMs: number }): Promise<string> => {
    if (input.napMs > 0) await ctx.sleep(input.napMs);
    if (input.left > 0) return ctx.continueAsNew({ left: input.left - 1, napMs: input.napMs });
    return ctx.signal('go');
  },
);

/** A deadline: a minute on the test kit (the clock is moved past it), 1.5 s on the wall clock. */
const deadlineMs = (rig: Rig): number => (rig.advanceTime === undefined ? 1500 : 60_000);

/** The test kit: its clock moved by `ms` and the reminders then due fired (the wall clock moves by itself). */
async function pass(rig: Rig, ms: number): Promise<void> {
  rig.advanceTime?.(ms);
  await rig.fireDueReminders?.();
}

const timedOut = (kind: 'run' | 'execution') => (err: Error & { code?: string; details?: unknown }) => {
  assert.equal(err.code, ErrWorkflowTimedOut.code, err.message);
  assert.equal((err.details as { timeout?: string } | undefined)?.timeout, kind, err.message);
  return true;
};

/** Waits until instance `id`'s step `hang` started its attempt. */
async function stepStarted(id: string): Promise<void> {
  await eventually(() => (started.get(id) ?? 0) > 0, `${id}'s step started`);
}

const CASES: RigCases = {
  async 'a run timeout ends a body stuck in a step: timedOut, its attempt aborted, result() rejects ERR_WORKFLOW_TIMED_OUT'(
    rig,
  ) {
    const ms = deadlineMs(rig);
    const h = await rig.workflows().start(WfHang, 'r1', {}, { runTimeoutMs: ms });
    await stepStarted('r1');
    const waiting = h.result();
    await pass(rig, ms);
    await assert.rejects(waiting, timedOut('run'));
    await eventually(() => aborted.get('r1') === 1, 'the running attempt was aborted');
    const d = await h.describe();
    assert.equal(d.status, 'timedOut');
    assert.equal(d.error?.code, 'ERR_WORKFLOW_TIMED_OUT');
    assert.deepEqual(d.timeouts, { runMs: ms });
    assert.ok(d.endedAt! - d.startedAt! >= ms, `not before its deadline (${d.endedAt! - d.startedAt!} ms)`);
    const listed = await rig.workflows().list(WfHang, { status: 'timedOut' });
    assert.deepEqual(
      listed.items.map((i) => i.id),
      ['r1'],
    );
    // Ended: a signal is refused, a cancel or terminate too; a resume is refused.
    await assert.rejects(h.signal('go', 'x'), { code: 'ERR_WORKFLOW_CLOSED' });
    await assert.rejects(h.cancel(), { code: 'ERR_WORKFLOW_CLOSED' });
    await assert.rejects(h.resume(), { code: 'ERR_WORKFLOW_CLOSED' });
  },

  async 'the deadline holds across a restart of the runtime and fires once, on the new one'(rig) {
    const ms = deadlineMs(rig);
    await rig.workflows().start(WfChildWait, 'r2', undefined, { runTimeoutMs: ms });
    await rig.restart(); // the deadline is the record's: no timer of the stopped runtime fires it
    await pass(rig, ms);
    await assert.rejects(rig.workflows().handle(WfChildWait, 'r2').result(), timedOut('run'));
    const first = await rig.record('wfchildwait', 'r2');
    assert.equal(first?.status, 'timedOut');
    await rig.restart(); // an ended instance stays as it ended: its body is not run again
    await pass(rig, ms);
    const again = await rig.workflows().handle(WfChildWait, 'r2').describe();
    assert.deepEqual([again.status, again.endedAt, again.runs], ['timedOut', first?.endedAt, first?.runs]);
  },

  async 'an execution timeout bounds the chain across continue-as-new; a timed-out parent cancels its open child'(rig) {
    const ms = deadlineMs(rig);
    const w = rig.workflows();
    const h = await w.start(WfChain, 'e1', { left: 2, napMs: 0 }, { executionTimeoutMs: ms });
    await eventually(async () => (await h.describe()).run === 3, 'the chain reached its last run');
    const waiting = h.result();
    await pass(rig, ms);
    await assert.rejects(waiting, timedOut('execution'));
    const d = await h.describe();
    assert.deepEqual([d.status, d.run], ['timedOut', 3]);
    assert.ok(d.endedAt! - d.startedAt! >= ms, 'counted from the chain’s first start');
    const p = await w.start(WfHang, 'e2', { child: 'e2-child' }, { executionTimeoutMs: ms });
    await stepStarted('e2');
    await pass(rig, ms);
    await assert.rejects(p.result(), timedOut('execution'));
    await assert.rejects(w.handle(WfChildWait, 'e2-child').result(), { code: 'ERR_WORKFLOW_CANCELLED' });
  },

  async 'bad timeouts are refused with ERR_WORKFLOW_INCORRECT before anything is written'(rig) {
    const w = rig.workflows();
    for (const bad of [0, -5, 1.5, Number.NaN, '100' as unknown as number])
      await assert.rejects(w.start(WfHang, 'b1', {}, { runTimeoutMs: bad }), { code: 'ERR_WORKFLOW_INCORRECT' });
    await assert.rejects(w.start(WfHang, 'b1', {}, { executionTimeoutMs: 0 }), { code: 'ERR_WORKFLOW_INCORRECT' });
    assert.equal(await rig.record('wfhang', 'b1'), undefined);
  },
};

onEveryRig('workflow timeouts', CASES, [WfHang, WfChildWait, WfChain], () => {
  started.clear();
  aborted.clear();
});

// On the test kit only: the clock moved run by run shows the run timeout counted from each run's
// start (on the wall clock the same check would be a timing threshold).
test("a run timeout is each run's: runs each shorter than it, together longer, complete", async () => {
  await using k = await startTestEntities({ kinds: [WfChain] });
  const w = k.entities.workflows;
  const h = await w.start(WfChain, 'k1', { left: 3, napMs: 40_000 }, { runTimeoutMs: 60_000 });
  for (let run = 1; run <= 4; run++) {
    await eventually(async () => (await h.describe()).timers.length === 1, `run ${run} sleeps`);
    k.advanceTime(40_000);
    await k.fireDueReminders();
  }
  await eventually(async () => (await h.describe()).run === 4, 'the last run');
  await h.signal('go', 'done');
  assert.equal(await h.result(), 'done');
  assert.equal((await h.describe()).status, 'completed');
});
