// Start policies (start_policy.ts): an id's reuse after its instance ended (`idReuse`: never, the
// default; afterFailure; always — per start and per kind), signal-with-start and update-with-start
// (in the write that creates the instance, or to the running one). Each case runs on the test kit
// (MemoryStore) and on SQLite and PostgreSQL with the runtime restarted between steps.

import { strict as assert } from 'node:assert';

import { schema } from 'ergo-ts';

import { defineWorkflow } from '../src/index.js';
import { onEveryRig, type RigCases } from './workflow_rigs.js';
import { WfOrder, selectRuns } from './workflow_select_kinds.js';

/** Ends on its `go` signal: completed with the value, failed when it says `fail`; each run's step key recorded. */
const keys: string[] = [];
const WfOnce = defineWorkflow(
  'wfonce',
  { signals: { go: schema.string() }, determinismGuard: 'throw' },
  async (ctx, input: { readonly tag: string }): Promise<string> => {
    await ctx.step('note', ({ idempotencyKey }) => {
      keys.push(idempotencyKey);
      return true;
    });
    const v = await ctx.signal('go');
    if (v === 'fail') throw Object.assign(new Error('told to fail'), { code: 'ERR_TOLD' });
    return `${input.tag}: ${v}`;
  },
);
/** The same, reusable after any end by default (the kind's option). */
const WfAgain = defineWorkflow(
  'wfagain',
  { signals: { go: schema.string() }, idReuse: 'always', determinismGuard: 'throw' },
  async (ctx, input: { readonly tag: string }): Promise<string> => `${input.tag}: ${await ctx.signal('go')}`,
);

const KINDS = [WfOnce, WfAgain, WfOrder];
const HOUR = 3_600_000;

const code = (c: string) => (err: Error & { code?: string }) => {
  assert.equal(err.code, c, err.message);
  return true;
};

const CASES: RigCases = {
  async 'an ended id is not used again by default: created false, the first outcome stays'(rig) {
    const w = rig.workflows();
    await w.start(WfOnce, 'n1', { tag: 'first' });
    await w.handle(WfOnce, 'n1').signal('go', 'x');
    assert.equal(await w.handle(WfOnce, 'n1').result(), 'first: x');
    await rig.restart();
    const again = await rig.workflows().start(WfOnce, 'n1', { tag: 'second' });
    assert.equal(again.created, false);
    assert.equal(again.reused, undefined);
    assert.equal(await again.result(), 'first: x');
    // A running instance is never replaced, whatever the policy.
    const r = await rig.workflows().start(WfOnce, 'n2', { tag: 'a' });
    assert.equal(r.created, true);
    const r2 = await rig.workflows().start(WfOnce, 'n2', { tag: 'b' }, { idReuse: 'always' });
    assert.equal(r2.created, false);
    await rig.workflows().handle(WfOnce, 'n2').signal('go', 'y');
    assert.equal(await rig.workflows().handle(WfOnce, 'n2').result(), 'a: y');
  },

  async "'always' starts a new run under an ended id: new keys, the old one in previousRuns"(rig) {
    await rig.workflows().start(WfOnce, 'a1', { tag: 'first' });
    await rig.workflows().handle(WfOnce, 'a1').signal('go', 'x');
    assert.equal(await rig.workflows().handle(WfOnce, 'a1').result(), 'first: x');
    await rig.restart();
    const again = await rig.workflows().start(WfOnce, 'a1', { tag: 'second' }, { idReuse: 'always' });
    assert.equal(again.created, true);
    assert.equal(again.reused, 'completed');
    await rig.workflows().handle(WfOnce, 'a1').signal('go', 'y');
    assert.equal(await rig.workflows().handle(WfOnce, 'a1').result(), 'second: y');
    const d = await rig.workflows().handle(WfOnce, 'a1').describe();
    assert.equal(d.run, 2);
    assert.deepEqual(
      d.previousRuns?.map((p) => p.status),
      ['completed'],
    );
    const mine = keys.filter((k) => k.startsWith('wfonce/a1/'));
    assert.equal(new Set(mine).size, 2, 'two runs, two idempotency keys');
    assert.ok(
      mine.some((k) => k.includes('~c1')),
      'the second run marked ~c1',
    );
  },

  async "'afterFailure' uses again a failed or cancelled id, not a completed one; the kind's option is the default"(
    rig,
  ) {
    await rig.workflows().start(WfOnce, 'f1', { tag: 'first' });
    await rig.workflows().handle(WfOnce, 'f1').signal('go', 'fail');
    await assert.rejects(rig.workflows().handle(WfOnce, 'f1').result(), code('ERR_WORKFLOW_FAILED'));
    const again = await rig.workflows().start(WfOnce, 'f1', { tag: 'retry' }, { idReuse: 'afterFailure' });
    assert.deepEqual([again.created, again.reused], [true, 'failed']);
    await rig.workflows().handle(WfOnce, 'f1').signal('go', 'ok');
    assert.equal(await rig.workflows().handle(WfOnce, 'f1').result(), 'retry: ok');
    const done = await rig.workflows().start(WfOnce, 'f1', { tag: 'third' }, { idReuse: 'afterFailure' });
    assert.equal(done.created, false, 'completed: not used again');
    // The kind says 'always'; a start may still say 'never'.
    await rig.workflows().start(WfAgain, 'k1', { tag: 'one' });
    await rig.workflows().handle(WfAgain, 'k1').cancel('stop');
    await assert.rejects(rig.workflows().handle(WfAgain, 'k1').result(), code('ERR_WORKFLOW_CANCELLED'));
    assert.equal((await rig.workflows().start(WfAgain, 'k1', { tag: 'x' }, { idReuse: 'never' })).created, false);
    const k = await rig.workflows().start(WfAgain, 'k1', { tag: 'two' });
    assert.deepEqual([k.created, k.reused], [true, 'cancelled']);
    await assert.rejects(
      rig.workflows().start(WfOnce, 'f2', { tag: 'x' }, { idReuse: 'sometimes' as never }),
      code('ERR_WORKFLOW_INCORRECT'),
    );
    assert.equal(await rig.record('wfonce', 'f2'), undefined, 'nothing written');
  },

  async 'signal-with-start: in the write that creates the instance, or to the running one; refused whole when bad'(
    rig,
  ) {
    const w = rig.workflows();
    const s = await w.start(
      WfOrder,
      's1',
      { address: 'A', ttlMs: 24 * HOUR },
      { signal: { name: 'confirm', payload: { by: 'ann' }, id: 'c-1' } },
    );
    assert.deepEqual([s.created, s.signalled], [true, 'accepted']);
    assert.deepEqual(await w.handle(WfOrder, 's1').result(), {
      status: 'confirmed',
      address: 'A',
      by: 'ann',
      path: ['confirm'],
    });
    // To a running one: delivered as a signal; a repeat of its id is a duplicate.
    await w.start(WfOrder, 's2', { address: 'A', ttlMs: 24 * HOUR });
    await rig.restart();
    const again = (id: string) =>
      rig
        .workflows()
        .start(
          WfOrder,
          's2',
          { address: 'Z', ttlMs: HOUR },
          { signal: { name: 'confirm', payload: { by: 'bo' }, id } },
        );
    const first = await again('c-2');
    assert.deepEqual([first.created, first.signalled], [false, 'accepted']);
    assert.equal(typeof first.signal, 'function', 'the handle keeps its signal method');
    assert.equal((await again('c-2')).signalled, 'duplicate');
    assert.deepEqual((await rig.workflows().handle(WfOrder, 's2').result()).address, 'A', 'the first input kept');
    // Ended (not used again): refused as a signal would be (a repeat of a kept id is still a duplicate).
    await assert.rejects(again('c-3'), code('ERR_WORKFLOW_CLOSED'));
    assert.equal((await again('c-2')).signalled, 'duplicate');
    // A signal the kind does not declare, or a payload it refuses: nothing is created.
    await assert.rejects(
      rig
        .workflows()
        .start(WfOrder, 's3', { address: 'A', ttlMs: HOUR }, { signal: { name: 'nope', payload: 1 } as never }),
      code('ERR_WORKFLOW_INCORRECT'),
    );
    await assert.rejects(
      rig
        .workflows()
        .start(
          WfOrder,
          's3',
          { address: 'A', ttlMs: HOUR },
          { signal: { name: 'confirm', payload: { by: 7 } } as never },
        ),
      code('ERR_WORKFLOW_INCORRECT'),
    );
    assert.equal(await rig.record('wforder', 's3'), undefined, 'nothing written');
  },

  async 'update-with-start: accepted with the start, answered; to a running one; refused whole when its validation fails'(
    rig,
  ) {
    const w = rig.workflows();
    const u = await w.updateWithStart(
      WfOrder,
      'u1',
      { address: 'A', ttlMs: 24 * HOUR },
      { name: 'changeAddress', input: { address: 'B' } },
      { updateId: 'move-1' },
    );
    assert.deepEqual([u.created, u.output], [true, 'B']);
    const rec = (await rig.record('wforder', 'u1'))!;
    assert.equal(rec.updates?.find((x) => x.id === 'move-1')?.out?.v, 'B');
    await rig.restart();
    // Running: the update goes to it; asked again with its id, the same answer.
    const again = await rig
      .workflows()
      .updateWithStart(
        WfOrder,
        'u1',
        { address: 'Q', ttlMs: HOUR },
        { name: 'changeAddress', input: { address: 'C' } },
      );
    assert.deepEqual([again.created, again.output], [false, 'C']);
    const repeat = await rig
      .workflows()
      .updateWithStart(
        WfOrder,
        'u1',
        { address: 'Q', ttlMs: HOUR },
        { name: 'changeAddress', input: { address: 'D' } },
        { updateId: 'move-1' },
      );
    assert.equal(repeat.output, 'B', 'answered once, by its id');
    await rig.workflows().handle(WfOrder, 'u1').signal('confirm', { by: 'cy' });
    assert.equal((await rig.workflows().handle(WfOrder, 'u1').result()).address, 'C');
    await assert.rejects(
      rig
        .workflows()
        .updateWithStart(
          WfOrder,
          'u2',
          { address: 'A', ttlMs: HOUR },
          { name: 'changeAddress', input: { address: 5 } as never },
        ),
      code('ERR_WORKFLOW_UPDATE_REJECTED'),
    );
    assert.equal(await rig.record('wforder', 'u2'), undefined, 'nothing written');
  },
};

onEveryRig('start policies', CASES, KINDS, () => {
  keys.length = 0;
  selectRuns.clear();
});
