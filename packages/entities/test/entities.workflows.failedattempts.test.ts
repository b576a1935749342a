// A resume of a failed instance drops its failed step's entry from the journal, so the step runs
// again; the attempt that failed stays in what an operator reads: `describe().failedAttempts`
// keeps the dropped entry (its error, when it was recorded, when the resume came), oldest first,
// and a second failure and resume adds the next one. It used to vanish from the step history.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { defineWorkflow, terminalError } from '../src/index.js';
import { startTestEntities } from '../src/testing/index.js';

const card = { declines: 2 };

const Order = defineWorkflow('fa_order', async (ctx) => {
  const reserved = await ctx.step('reserve', () => 'r1');
  const charged = await ctx.step('charge', () => {
    if (card.declines > 0) {
      card.declines--;
      throw terminalError(new Error(`card declined (${card.declines} more)`));
    }
    return 'c1';
  });
  return { reserved, charged };
});

test('a resume keeps the failed attempt it runs again: describe().failedAttempts, oldest first', async () => {
  await using k = await startTestEntities({ kinds: [Order] });
  card.declines = 2;
  const wf = await k.workflows.start(Order, 'o1', undefined);
  await assert.rejects(wf.advanceUntilDone(), { code: 'ERR_WORKFLOW_FAILED' });
  const failed = await wf.describe();
  assert.equal(failed.failedAttempts, undefined, 'none before a resume');
  const first = failed.history.find((e) => e.n === 'charge')!;
  assert.match(first.e!.message, /card declined \(1 more\)/);

  const resumedAt = k.clock.now();
  assert.equal(await wf.resume(), 'resumed');
  await assert.rejects(wf.advanceUntilDone(), { code: 'ERR_WORKFLOW_FAILED' });
  assert.equal(await wf.resume(), 'resumed');
  assert.deepEqual(await wf.advanceUntilDone(), { reserved: 'r1', charged: 'c1' });

  const d = await wf.describe();
  assert.equal(d.status, 'completed');
  assert.deepEqual(
    d.history.map((e) => [e.s, e.n, e.v]),
    [
      [0, 'reserve', 'r1'],
      [1, 'charge', 'c1'],
    ],
    'the journal: what ran for good',
  );
  assert.deepEqual(
    (d.failedAttempts ?? []).map((e) => [e.s, e.n, e.e?.message]),
    [
      [1, 'charge', 'card declined (1 more)'],
      [1, 'charge', 'card declined (0 more)'],
    ],
    'both failed attempts, oldest first',
  );
  assert.equal(d.failedAttempts![0]!.at, first.at, 'when it was recorded');
  assert.ok(d.failedAttempts![0]!.resumedAt >= resumedAt, 'when the resume came');
});
