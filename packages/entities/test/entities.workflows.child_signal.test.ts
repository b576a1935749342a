// A child handle's signal (Temporal's ChildWorkflowHandle.signal): a parent starts a child and
// signals it from its body; the signal is a step of the parent, journaled once the child kept it,
// under a signal id drawn from the step's idempotency key — so a parent whose runtime restarts
// before the step's entry is saved sends it again and the child keeps it once. A signal to a child
// that ended fails the step (its cause ERR_WORKFLOW_CLOSED). On the kit, SQLite and PostgreSQL.

import { strict as assert } from 'node:assert';

import { schema } from 'ergo-ts';

import { defineWorkflow } from '../src/index.js';
import { onEveryRig, type RigCases } from './workflow_rigs.js';

/** Adds each `add` until `done`; returns the adds it took, in order. */
const WfChildSum = defineWorkflow(
  'wfchildsum',
  { signals: { add: schema.number(), done: schema.unknown() } },
  async (ctx): Promise<number[]> => {
    const got: number[] = [];
    for (;;) {
      const s = await ctx.select({ add: { signal: 'add' }, done: { signal: 'done' } });
      if (s.branch === 'done') return got;
      got.push(s.value);
    }
  },
);

/** Starts a child, waits for `go`, signals it 1, 2 and done, and returns its result; then signals it once more. */
const WfParentSignals = defineWorkflow(
  'wfparentsignals',
  { signals: { go: schema.unknown() } },
  async (ctx): Promise<{ child: number[]; late: string }> => {
    const child = await ctx.startChild(WfChildSum, `${ctx.id}-child`, undefined);
    await ctx.signal('go');
    await child.signal('add', 1);
    await child.signal('add', 2);
    await child.signal('done', null);
    const got = await child.result();
    const late = await child.signal('add', 3).then(
      () => 'kept',
      (e: Error & { code?: string; cause?: Error & { code?: string } }) => `${e.code} / ${e.cause?.code}`,
    );
    return { child: got, late };
  },
);

const CASES: RigCases = {
  async "a parent signals its child through the child's handle; once each, across a restart"(rig) {
    await rig.workflows().start(WfParentSignals, 'p1', undefined);
    await rig.restart();
    assert.equal(await rig.workflows().handle(WfParentSignals, 'p1').signal('go', null), 'accepted');
    const out = await rig.workflows().handle(WfParentSignals, 'p1').result();
    assert.deepEqual(out, { child: [1, 2], late: 'ERR_WORKFLOW_STEP_FAILED / ERR_WORKFLOW_CLOSED' });
    const parent = (await rig.record('wfparentsignals', 'p1'))!;
    const names = [...parent.journal].sort((a, b) => a.s - b.s).map((e) => `${e.t} ${e.n}`);
    assert.deepEqual(names, [
      'child start wfchildsum/p1-child',
      'signal go',
      'child signal add wfchildsum/p1-child',
      'child signal add wfchildsum/p1-child',
      'child signal done wfchildsum/p1-child',
      'child result wfchildsum/p1-child',
      'child signal add wfchildsum/p1-child',
    ]);
    const child = (await rig.record('wfchildsum', 'p1-child'))!;
    assert.equal(child.status, 'completed');
    assert.equal((child.signalIds ?? []).length >= 3, true, 'kept under the ids the parent drew');
    await rig.restart();
    assert.deepEqual(await rig.workflows().handle(WfParentSignals, 'p1').result(), out, 'the same after a replay');
  },
};

onEveryRig('child handle signal', CASES, [WfChildSum, WfParentSignals], () => undefined);
