// `idReuse: 'terminateIfRunning'` (Temporal's TERMINATE_IF_RUNNING): a start of a running id ends
// that instance as terminated — cancelled, its compensations not run, its waiters told — and
// starts the new run in the same write; of an ended id it starts anew as `'always'` does. On the
// test kit, SQLite and PostgreSQL, the runtime restarted between steps.

import { strict as assert } from 'node:assert';

import { schema } from 'ergo-ts';

import { defineWorkflow } from '../src/index.js';
import { TERMINATED_BY_START } from '../src/workflow/client/start_policy.js';
import { onEveryRig, type RigCases } from './workflow_rigs.js';

/** Runs of its step and of its compensation, by instance id. */
const runs = new Map<string, number>();
const undone = new Map<string, number>();
const bump = (m: Map<string, number>, k: string): void => void m.set(k, (m.get(k) ?? 0) + 1);

const WfTerm = defineWorkflow(
  'wfterm',
  { signals: { go: schema.string() }, determinismGuard: 'throw' },
  async (ctx, input: { readonly tag: string }): Promise<string> => {
    await ctx.step('note', () => {
      bump(runs, ctx.id);
      return true;
    });
    ctx.compensate('undo', () => bump(undone, ctx.id));
    try {
      return `${input.tag}: ${await ctx.signal('go')}`;
    } catch (err) {
      await ctx.runCompensations();
      throw err;
    }
  },
);

const code = (c: string) => (err: Error & { code?: string }) => {
  assert.equal(err.code, c, err.message);
  return true;
};

const CASES: RigCases = {
  async 'a running instance is terminated and replaced in one start; its waiter hears the end'(rig) {
    const first = await rig.workflows().start(WfTerm, 't1', { tag: 'first' });
    assert.equal(first.created, true);
    // The body has run its step and waits for `go`.
    await first.describe().then(async function wait(d): Promise<void> {
      if (!d.history.some((e) => e.t === 'step' && e.done === true)) return wait(await first.describe());
    });
    const waiting = first.result();
    const again = await rig.workflows().start(WfTerm, 't1', { tag: 'second' }, { idReuse: 'terminateIfRunning' });
    assert.deepEqual([again.created, again.reused], [true, 'cancelled']);
    await assert.rejects(waiting, code('ERR_WORKFLOW_CANCELLED'));
    await rig.restart();
    const h = rig.workflows().handle(WfTerm, 't1');
    await h.signal('go', 'y');
    assert.equal(await h.result(), 'second: y');
    const d = await h.describe();
    assert.equal(d.run, 2);
    assert.deepEqual(
      d.previousRuns?.map((p) => p.status),
      ['cancelled'],
    );
    assert.equal(runs.get('t1'), 2, 'each run ran its step once');
    assert.equal(undone.get('t1'), undefined, 'a terminate runs no compensation');
  },

  async "an ended id is used again as under 'always'; the kind's 'never' is overridden per start"(rig) {
    const w = rig.workflows();
    await w.start(WfTerm, 't2', { tag: 'one' });
    await w.handle(WfTerm, 't2').signal('go', 'x');
    assert.equal(await w.handle(WfTerm, 't2').result(), 'one: x');
    const again = await w.start(WfTerm, 't2', { tag: 'two' }, { idReuse: 'terminateIfRunning' });
    assert.deepEqual([again.created, again.reused], [true, 'completed']);
    // Without the policy the running one stays.
    const kept = await w.start(WfTerm, 't2', { tag: 'three' });
    assert.equal(kept.created, false);
    await w.handle(WfTerm, 't2').signal('go', 'z');
    assert.equal(await w.handle(WfTerm, 't2').result(), 'two: z');
  },

  async 'the terminated run is kept in previousRuns with why it ended'(rig) {
    const w = rig.workflows();
    await w.start(WfTerm, 't3', { tag: 'one' });
    await w.start(WfTerm, 't3', { tag: 'two' }, { idReuse: 'terminateIfRunning' });
    const rec = await rig.record('wfterm', 't3');
    assert.equal(rec?.status, 'running');
    assert.equal(rec?.previousRuns?.at(-1)?.status, 'cancelled');
    assert.equal(TERMINATED_BY_START.startsWith('terminated'), true);
  },
};

onEveryRig('idReuse terminateIfRunning', CASES, [WfTerm], () => {
  runs.clear();
  undone.clear();
});
