// Updates across a continue-as-new (updates.ts with continue_as_new.ts): an update the run took and
// did not answer refuses `continueAsNew` (ERR_WORKFLOW_CONTINUE_PENDING: the next run, on a fresh
// journal, could never answer it), and one accepted and not taken yet carries over to the next
// run, which takes and answers it. On the entities test kit (MemoryStore, test clock).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { schema } from 'ergo-ts';

import { defineWorkflow } from '../src/index.js';
import { startTestEntities } from '../src/testing/index.js';

const HOUR = 3_600_000;

/**
 * Run 1 waits for the signal `go`, takes one `bump`, tries to continue before answering it (the
 * code it is refused with goes into the answer), answers, then continues; run 2 takes the next
 * `bump`, answers it and ends with its run.
 */
const Chain = defineWorkflow(
  'updchain',
  {
    signals: { go: schema.unknown() },
    updates: { bump: { input: schema.object({ by: schema.number() }), output: schema.string() } },
  },
  async (ctx, input: { run: number }) => {
    if (input.run === 1) await ctx.signal('go');
    const u = await ctx.update('bump');
    let early = 'none';
    if (input.run === 1)
      try {
        await ctx.continueAsNew({ run: 2 });
      } catch (err) {
        early = (err as { code?: string }).code ?? String(err);
      }
    await u.reply(`run ${input.run}: ${early}`);
    if (input.run === 1) return ctx.continueAsNew({ run: 2 });
    return input.run;
  },
);

test('an update taken and not answered refuses continueAsNew; one not taken yet carries over to the next run', async () => {
  await using kit = await startTestEntities({ kinds: [Chain], leaseTtlMs: 24 * HOUR });
  const wf = await kit.workflows.start(Chain, 'u1', { run: 1 });
  const first = wf.update('bump', { by: 1 }, { updateId: 'first' });
  const second = wf.update('bump', { by: 2 }, { updateId: 'second' });
  await kit.workflows.runUntilIdle();
  assert.deepEqual(
    (await wf.describe()).updates?.map((u) => u.id),
    ['first', 'second'],
    'both accepted before the run takes any',
  );
  await wf.signal('go', null);
  await kit.workflows.runUntilIdle();
  const d = await wf.describe();
  assert.equal(d.run, 2, 'the instance continued once');
  assert.deepEqual(d.updates ?? [], [], 'no update left unanswered');
  assert.equal(await first, 'run 1: ERR_WORKFLOW_CONTINUE_PENDING');
  assert.equal(await second, 'run 2: none');
  assert.equal(await wf.result(), 2);
});
