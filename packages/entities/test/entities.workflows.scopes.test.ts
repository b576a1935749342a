// Cancellation scopes (Temporal's CancellationScope, scopes.ts): a step in a cancellable scope
// raced against a signal and cancelled there — tried (`cancellation: 'wait'`) or abandoned — while
// the body goes on and completes; a signal wait bounded by a durable `withTimeout`, fired across a
// restart, and a signal after it kept for the next wait; the run's cancel reaching a wait inside a
// scope and a cleanup step in a non-cancellable scope running after it. Each on the test kit,
// SQLite and PostgreSQL, restarted mid-way (the body replays to the same point).

import { strict as assert } from 'node:assert';

import { eventually } from '@ergo-ts/test-support';

import type { WorkflowRecord } from '../src/workflow/model/record.js';
import { onEveryRig, type Rig, type RigCases } from './workflow_rigs.js';
import { WfApproveWithin, WfCleanup, WfRaceStep, slowStarted, slowStarts } from './workflow_scope_kinds.js';

/** Resolves once the record of `kind`/`id` satisfies `ok` (looked at after each save). */
function until(rig: Rig, kind: string, id: string, ok: (r: WorkflowRecord) => boolean): Promise<WorkflowRecord> {
  return eventually(
    async () => {
      const r = await rig.record(kind, id);
      return r !== undefined && ok(r) ? r : undefined;
    },
    `${kind}/${id} as the case expects`,
    { timeoutMs: 60_000 },
  );
}

/** The journal's operations in their order (an entry is written when its operation ends). */
const ops = (r: WorkflowRecord) => [...r.journal].sort((a, b) => a.s - b.s).map((e) => `${e.t} ${e.n}`.trim());

async function race(rig: Rig, id: string, mode: 'wait' | 'abandon'): Promise<void> {
  await rig.workflows().start(WfRaceStep, id, { mode });
  await slowStarted(id, 1);
  await rig.restart(); // the step is cut; the replay runs it again in its scope
  await rig.workflows().handle(WfRaceStep, id).describe(); // activates the key: its body resumes
  await slowStarted(id, 2);
  assert.equal(await rig.workflows().handle(WfRaceStep, id).signal('go', null), 'accepted');
  const out = await rig.workflows().handle(WfRaceStep, id).result();
  assert.deepEqual(out, { slow: 'ERR_WORKFLOW_CANCELLED', after: 'ran, scope cancelled: true' });
  const r = (await rig.record('wfracestep', id))!;
  assert.equal(r.status, 'completed', 'only the scope was cancelled, not the run');
  assert.deepEqual(ops(r), ['step slow', 'signal go', 'step after']);
  const slow = r.journal.find((e) => e.n === 'slow')!;
  assert.equal(slow.c, true, 'the step is journaled as cancelled');
  assert.equal(slow.done, true);
  await rig.restart();
  assert.deepEqual(await rig.workflows().handle(WfRaceStep, id).result(), out);
}

const CASES: RigCases = {
  async 'a step raced against a signal, cancelled in its scope (tried): the body goes on and completes'(rig) {
    await race(rig, 'rw1', 'wait');
  },
  async 'the same, the step abandoned'(rig) {
    await race(rig, 'ra1', 'abandon');
  },
  async 'withTimeout: a signal wait cancelled at its durable deadline, across a restart; a later signal kept'(rig) {
    const ms = rig.advanceTime === undefined ? 1500 : 60_000;
    await rig.workflows().start(WfApproveWithin, 'w1', { ms });
    await until(rig, 'wfapprovewithin', 'w1', (r) => ops(r).includes('signal approve'));
    await rig.restart();
    rig.advanceTime?.(ms + 1);
    const r = await until(rig, 'wfapprovewithin', 'w1', (x) => x.journal.some((e) => e.n === 'timeout' && e.done));
    assert.equal(r.journal.find((e) => e.n === 'timeout')!.v, true, 'the timer fired');
    // Struck live (closed with the cancel), or — fired as the replay started the scope — met the
    // cancel as it was asked again (left open, as a wait the run's cancel meets on a replay).
    const struck = r.journal.find((e) => e.t === 'signal')!;
    if (struck.done === true) assert.equal(struck.e?.code, 'ERR_WORKFLOW_CANCELLED', 'the wait struck, journaled');
    await rig.restart();
    assert.equal(await rig.workflows().handle(WfApproveWithin, 'w1').signal('approve', 'late'), 'accepted');
    assert.deepEqual(await rig.workflows().handle(WfApproveWithin, 'w1').result(), {
      first: 'timed out: ERR_WORKFLOW_CANCELLED',
      second: 'late',
    });
    // In time: the scope's code settles first, the timer is closed unfired.
    await rig.workflows().start(WfApproveWithin, 'w2', { ms: 3_600_000 });
    await until(rig, 'wfapprovewithin', 'w2', (x) => ops(x).includes('signal approve'));
    assert.equal(await rig.workflows().handle(WfApproveWithin, 'w2').signal('approve', 'a'), 'accepted');
    assert.equal(await rig.workflows().handle(WfApproveWithin, 'w2').signal('approve', 'b'), 'accepted');
    assert.deepEqual(await rig.workflows().handle(WfApproveWithin, 'w2').result(), { first: 'a', second: 'b' });
    const r2 = (await rig.record('wfapprovewithin', 'w2'))!;
    assert.equal(r2.journal.find((e) => e.n === 'timeout')!.v, false);
  },
  async "the run's cancel reaches a wait in a scope; the cleanup runs in a non-cancellable scope"(rig) {
    await rig.workflows().start(WfCleanup, 'c1', undefined);
    await until(rig, 'wfcleanup', 'c1', (r) => ops(r).includes('signal never'));
    await rig.restart();
    assert.equal(await rig.workflows().handle(WfCleanup, 'c1').cancel('stop it'), 'cancelled');
    await assert.rejects(rig.workflows().handle(WfCleanup, 'c1').result(), { code: 'ERR_WORKFLOW_CANCELLED' });
    const r = (await rig.record('wfcleanup', 'c1'))!;
    assert.equal(r.status, 'cancelled');
    assert.deepEqual(ops(r), ['signal never', 'step cleanup']);
    const cleanup = r.journal.find((e) => e.n === 'cleanup')!;
    assert.equal(cleanup.v, 'cleaned', 'the cleanup ran to its end');
    assert.equal(cleanup.c, undefined, 'not cancelled');
  },
};

onEveryRig('cancellation scopes', CASES, [WfRaceStep, WfApproveWithin, WfCleanup], () => slowStarts.clear());
