// Faults found at a whole-cluster restart (issue 78, items 4 and 5), reproduced at their exact
// boundary on the test kit's store: the instance inactive (its runtime restarted, as every member
// killed would leave it) and then woken as a restarted cluster wakes it.
//
// Item 4: an instance woken by its `wake` reminder is activated with the fire in its inbox, and the
// fire is handled during the activation's init, before its process is in the node's table: a body
// started there had its first journal write refused (ERR_PROCESS_UNKNOWN, the COMMIT sent to a
// process the node did not know yet), and that engine error was thrown into the body as its own.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { schema } from 'ergo-ts';

import { defineWorkflow } from '../src/index.js';
import { startTestEntities } from '../src/testing/index.js';

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
