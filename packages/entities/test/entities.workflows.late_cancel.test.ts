// A cancel that comes after the body's last operation (the fault checker's saga162: every step
// done, the mail sent, then the instance ended `cancelled` with no compensation run — neither what
// the body did nor what a cancel promises). The cancel is recorded, but a body that returns without
// meeting it (no operation or wait threw ERR_WORKFLOW_CANCELLED) completes, as a workflow does
// after Temporal's cancellation request; a body that met it ends cancelled, as before.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';

import { defineWorkflow } from '../src/index.js';
import { startTestEntities } from '../src/testing/index.js';

/** A promise a test settles by hand. */
function gate(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const after = new Map<string, ReturnType<typeof gate>>();
const reached = new Set<string>();

/** One step, then work outside the context (no operation) before it returns. */
const Late = defineWorkflow('wf-late-cancel', async (ctx, input: { more: boolean }) => {
  await ctx.step('charge', () => 'c1');
  reached.add(ctx.id);
  await after.get(ctx.id)!.promise;
  if (input.more) await ctx.step('mail', () => 'm1'); // meets the cancel
  return 'done';
});

test('a cancel after the body’s last operation: the body completes; one it meets ends it cancelled', async () => {
  await using k = await startTestEntities({ kinds: [Late], leaseTtlMs: 3_600_000 });
  for (const [id, more] of [
    ['l1', false],
    ['l2', true],
  ] as const) {
    after.set(id, gate());
    const wf = await k.workflows.start(Late, id, { more });
    await eventually(() => reached.has(id), `${id} is past its charge`);
    assert.equal(await wf.cancel('too late'), 'cancelled', 'the cancel is recorded');
    after.get(id)!.resolve();
    if (more) {
      await assert.rejects(wf.advanceUntilDone(), { code: 'ERR_WORKFLOW_CANCELLED' });
      assert.equal((await wf.record())!.status, 'cancelled');
    } else {
      assert.equal(await wf.advanceUntilDone(), 'done');
      const rec = (await wf.record())!;
      assert.equal(rec.status, 'completed', 'a cancel the body never met does not end it cancelled');
      assert.equal(rec.output, 'done');
    }
  }
});
