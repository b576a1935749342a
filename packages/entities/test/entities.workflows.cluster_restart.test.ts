// Faults found at a whole-cluster restart (issue 78, items 4 and 5), reproduced at their exact
// boundary on the test kit's store: the instance inactive (its runtime restarted, as every member
// killed would leave it) and then woken as a restarted cluster wakes it.
//
// Item 4: an instance woken by its `wake` reminder is activated with the fire in its inbox, and the
// fire is handled during the activation's init, before its process is in the node's table: a body
// started there had its first journal write refused (ERR_PROCESS_UNKNOWN, the COMMIT sent to a
// process the node did not know yet), and that engine error was thrown into the body as its own.
//
// Item 5: a cancel that struck a sleep was not journaled (a sleep's end never is): after the
// restart the sleep's `until` had passed, so the replayed sleep returned and the body went on past
// it, where the journal held the compensations its catch had run: every replay diverged. The
// strike is journaled now (the sleep's entry closed with ERR_WORKFLOW_CANCELLED, before anything
// the catch writes), and a record written before that (an open sleep, a compensation right after
// it) replays the strike too.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { schema } from 'ergo-ts';

import { defineWorkflow, type WorkflowJournalEntry } from '../src/index.js';
import { startTestEntities, type TestEntities, type WorkflowRecord } from '../src/testing/index.js';

/** What each run of the body saw thrown by its wait. */
const seen: string[] = [];

/** A paid order waiting for its confirmation; a wait that ends otherwise refunds it. */
const Confirm = defineWorkflow(
  'wf-cr-confirm',
  async (ctx) => {
    await ctx.step('charge', () => 'paid');
    try {
      await ctx.signal('confirm', { timeoutMs: 60_000 });
      return 'confirmed';
    } catch (err) {
      const code = (err as { code?: string }).code ?? String(err);
      seen.push(code);
      await ctx.step('refund', () => 'refunded');
      return `refunded after ${code}`;
    }
  },
  { signals: { confirm: schema.object({}) } },
);

test('item 4: a body woken by a wake fire kept in its inbox (handled in the activation’s init) never sees an engine error', async () => {
  await using k = await startTestEntities({ kinds: [Confirm], leaseTtlMs: 3_600_000 });
  const wf = await k.workflows.start(Confirm, 'c1', {});
  await k.workflows.runUntilIdle();
  await k.restart(); // inactive, its wait open in the journal
  k.advanceTime(61_000);
  // The wake fired into its inbox just before every member was killed: the next activation handles it in its init.
  const at = k.clock.now();
  const fire = { '~entity': 'reminder', name: 'wake', payload: { at }, fireId: 'f1', scheduledAt: at };
  assert.equal(await k.store.enqueue({ kind: Confirm.name, key: 'c1' }, 'wake-f1', fire), 'accepted');
  assert.equal(await wf.advanceUntilDone(), 'refunded after ERR_WORKFLOW_TIMEOUT');
  // A run whose activation ended (the restart) sees ERR_WORKFLOW_RUN_ENDED: its outcome is ignored.
  const failures = seen.filter((c) => c !== 'ERR_WORKFLOW_RUN_ENDED');
  assert.deepEqual(failures, ['ERR_WORKFLOW_TIMEOUT'], 'the wait threw its timeout, never ERR_PROCESS_UNKNOWN');
});

/** The outside effects of the orders (each step's function once per attempt). */
const effects: string[] = [];

/**
 * A saga: charge and reserve (each with its compensation), a sleep, then ship; a cancel runs the
 * compensations. Undoing the charge fails its first attempt: the compensations wait in its retry
 * backoff (ten minutes), where the cluster is "killed".
 */
const Order = defineWorkflow(
  'wf-cr-order',
  async (ctx, id: string) => {
    try {
      await ctx.step('charge', () => effects.push(`${id} charge`), {
        compensate: (_r, info) => {
          effects.push(`${id} undo charge ${info.attempt}`);
          if (info.attempt === 1) throw new Error('the bank is down');
        },
      });
      await ctx.step('reserve', () => effects.push(`${id} reserve`), {
        compensate: () => effects.push(`${id} undo reserve`),
      });
      if (id.startsWith('wait')) await ctx.signal('confirm', { timeoutMs: 3_600_000 });
      else await ctx.sleep(60_000);
      ctx.now();
      await ctx.step('ship', (info) => {
        effects.push(`${id} ship ${info.attempt}`);
        if (id.startsWith('late') && info.attempt === 1) throw new Error('the carrier is down');
      });
      return 'shipped';
    } catch (err) {
      await ctx.runCompensations();
      throw err;
    }
  },
  { retry: { initialMs: 600_000, maxMs: 600_000 }, signals: { confirm: schema.object({}) } },
);

/** Replaces what the store holds for `key` of `kind` by `f` of it, under a lease of its own (as an older writer left it). */
async function rewrite(k: TestEntities, kind: string, key: string, f: (r: WorkflowRecord) => WorkflowRecord) {
  const lease = await k.store.acquire({ kind, key, owner: 'rewrite', ttlMs: 60_000 });
  assert.ok(lease.acquired);
  const cur = await k.store.load({ kind, key });
  await k.store.write({
    kind,
    key,
    token: lease.token,
    expectedVersion: cur.version,
    state: f(cur.state as WorkflowRecord),
  });
  await k.store.release({ kind, key }, lease.token);
}

const opsOf = (r: WorkflowRecord): string[] =>
  r.journal.map((e: WorkflowJournalEntry) => `${e.s} ${e.t} ${e.n}${e.e?.code === undefined ? '' : ` ${e.e.code}`}`);

for (const legacy of [false, true])
  test(`item 5: a cancel that struck a sleep, its compensations journaled, the cluster killed: the replay strikes at the sleep again and ends cancelled${legacy ? ' (a record written before strikes were journaled)' : ''}`, async () => {
    await using k = await startTestEntities({ kinds: [Order], leaseTtlMs: 3_600_000 });
    const id = legacy ? 'o-legacy' : 'o1';
    const wf = await k.workflows.start(Order, id, id);
    await k.workflows.runUntilIdle(); // sleeping
    assert.equal(await wf.cancel('changed my mind'), 'cancelled');
    await k.workflows.runUntilIdle(); // struck: undo reserve done, undo charge waits for its retry
    const before = (await wf.record())!;
    if (!legacy)
      assert.deepEqual(
        opsOf(before).slice(2),
        ['2 sleep  ERR_WORKFLOW_CANCELLED', '3 step compensate:reserve', '4 retry compensate:charge'],
        'the strike is journaled before the compensations',
      );
    await k.restart(); // every member killed
    if (legacy)
      await rewrite(k, Order.name, id, (r) => ({
        ...r,
        journal: r.journal.map((e) => {
          if (e.t !== 'sleep') return e;
          const { e: _struck, done: _done, ...open } = e; // open, as a sleep struck before this fix was left
          return open;
        }),
      }));
    k.advanceTime(600_001); // past the sleep's until and the retry's backoff
    await k.fireDueReminders();
    await assert.rejects(wf.advanceUntilDone(), { code: 'ERR_WORKFLOW_CANCELLED' });
    const rec = (await wf.record())!;
    assert.equal(rec.status, 'cancelled');
    assert.equal(rec.blocked, undefined, 'no replay diverged');
    assert.deepEqual(
      effects.filter((e) => e.startsWith(`${id} `)),
      [`${id} charge`, `${id} reserve`, `${id} undo reserve`, `${id} undo charge 1`, `${id} undo charge 2`],
      'each compensation done once (the charge’s after its failed attempt), nothing shipped',
    );
  });

test('item 5: a sleep that had ended before the cancel (the step after it met the cancel): the replay goes on past it and ends cancelled', async () => {
  await using k = await startTestEntities({ kinds: [Order], leaseTtlMs: 3_600_000 });
  const wf = await k.workflows.start(Order, 'late1', 'late1');
  await k.workflows.runUntilIdle(); // sleeping
  k.advanceTime(60_000);
  await k.fireDueReminders();
  await k.workflows.runUntilIdle(); // ship's first attempt failed: it waits for its retry
  assert.equal(await wf.cancel('changed my mind'), 'cancelled');
  await k.workflows.runUntilIdle();
  assert.deepEqual(opsOf((await wf.record())!).slice(2), [
    '2 sleep ',
    '3 now ',
    '4 retry ship',
    '5 step compensate:reserve',
    '6 retry compensate:charge',
  ]);
  await k.restart();
  k.advanceTime(600_001);
  await k.fireDueReminders();
  await assert.rejects(wf.advanceUntilDone(), { code: 'ERR_WORKFLOW_CANCELLED' });
  const rec = (await wf.record())!;
  assert.equal(rec.status, 'cancelled');
  assert.equal(rec.blocked, undefined, 'no replay diverged');
  assert.deepEqual(
    effects.filter((e) => e.startsWith('late1 ')),
    [
      'late1 charge',
      'late1 reserve',
      'late1 ship 1',
      'late1 undo reserve',
      'late1 undo charge 1',
      'late1 undo charge 2',
    ],
  );
});

test('item 5: a cancel that struck a signal wait is journaled there; a confirmation sent after it is not taken by a replay', async () => {
  await using k = await startTestEntities({ kinds: [Order], leaseTtlMs: 3_600_000 });
  const wf = await k.workflows.start(Order, 'wait1', 'wait1');
  await k.workflows.runUntilIdle(); // waiting for its confirmation
  assert.equal(await wf.cancel('changed my mind'), 'cancelled');
  await k.workflows.runUntilIdle();
  assert.deepEqual(opsOf((await wf.record())!).slice(2), [
    '2 signal confirm ERR_WORKFLOW_CANCELLED',
    '3 step compensate:reserve',
    '4 retry compensate:charge',
  ]);
  await k.restart();
  assert.equal(await wf.signal('confirm', {}), 'accepted'); // kept: the wait it would have gone to was struck
  k.advanceTime(600_001);
  await k.fireDueReminders();
  await assert.rejects(wf.advanceUntilDone(), { code: 'ERR_WORKFLOW_CANCELLED' });
  assert.equal((await wf.record())!.status, 'cancelled');
  assert.deepEqual(
    effects.filter((e) => e.startsWith('wait1 ')),
    ['wait1 charge', 'wait1 reserve', 'wait1 undo reserve', 'wait1 undo charge 1', 'wait1 undo charge 2'],
  );
});
