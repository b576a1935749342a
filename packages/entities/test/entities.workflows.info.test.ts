// `ctx.workflowInfo()` (Temporal's `workflowInfo()`): the kind, id, run id and number, and the run
// it continued from, on the test kit; the same on a replay of the run (after a restart).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { schema } from 'ergo-ts';

import { defineWorkflow, type WorkflowInfo } from '../src/index.js';
import { startTestEntities } from '../src/testing/index.js';

/** Runs `runs` times (continue-as-new in between), each run waiting for `go`; returns every run's info. */
const WfInfo = defineWorkflow(
  'wfinfo',
  { signals: { go: schema.unknown() } },
  async (ctx, input: { runs: number; seen: WorkflowInfo[] }): Promise<WorkflowInfo[]> => {
    const before = ctx.workflowInfo();
    await ctx.signal('go');
    assert.deepEqual(ctx.workflowInfo(), before, 'fixed for the run');
    const seen = [...input.seen, before];
    if (seen.length < input.runs) return ctx.continueAsNew({ runs: input.runs, seen });
    return seen;
  },
);

test('workflowInfo: kind, id, run id and number, the run it continued from; the same after a restart', async () => {
  await using k = await startTestEntities({ kinds: [WfInfo], leaseTtlMs: 3_600_000 });
  const wf = await k.workflows.start(WfInfo, 'i1', { runs: 2, seen: [] });
  await k.workflows.runUntilIdle();
  await k.restart(); // the first run is replayed: its info is read again from the record
  await wf.signal('go', null);
  await k.workflows.runUntilIdle();
  await wf.signal('go', null);
  const [first, second] = await wf.result();
  const d = await wf.describe();
  assert.equal(first!.workflowType, 'wfinfo');
  assert.equal(first!.workflowId, 'i1');
  assert.equal(first!.run, 1);
  assert.equal(first!.continuedFromRunId, undefined);
  assert.equal(typeof first!.runId, 'string');
  assert.equal(typeof first!.runStartedAt, 'number');
  assert.equal(first!.attempt, 1, 'no workflow-level retry: always the first attempt');
  assert.equal(second!.run, 2);
  assert.equal(second!.runId, d.runId, "the second run's id, as describe() shows it");
  assert.notEqual(second!.runId, first!.runId);
  assert.equal(second!.continuedFromRunId, first!.runId);
  assert.equal(d.previousRuns?.[0]?.runId, first!.runId);
});

test("a start's memo: in describe() and workflowInfo(), kept across continue-as-new and a restart, replaced by a start that uses the id again; a bad one refused", async () => {
  await using k = await startTestEntities({ kinds: [WfInfo], leaseTtlMs: 3_600_000 });
  const memo = { owner: 'team-a', tags: ['x', 'y'], at: new Date(0) };
  await k.entities.workflows.start(WfInfo, 'm1', { runs: 2, seen: [] }, { memo });
  const wf = k.workflows.handle(WfInfo, 'm1'); // the kit's handle: it goes on across the restart
  assert.deepEqual((await wf.describe()).memo, memo);
  await k.workflows.runUntilIdle();
  await k.restart();
  await wf.signal('go', null);
  await k.workflows.runUntilIdle();
  await wf.signal('go', null);
  const [first, second] = await wf.result();
  assert.deepEqual(first!.memo, memo, 'the first run sees it (read again after the restart)');
  assert.deepEqual(second!.memo, memo, 'continue-as-new carries it');
  // A start that uses the ended id again: its own memo, or none.
  const again = await k.entities.workflows.start(
    WfInfo,
    'm1',
    { runs: 1, seen: [] },
    { idReuse: 'always', memo: { v: 2 } },
  );
  assert.equal(again.created, true);
  assert.deepEqual((await again.describe()).memo, { v: 2 });
  await k.workflows.runUntilIdle();
  await again.signal('go', null);
  await again.result();
  const bare = await k.entities.workflows.start(WfInfo, 'm1', { runs: 1, seen: [] }, { idReuse: 'always' });
  assert.equal((await bare.describe()).memo, undefined);
  const refused = (memo: unknown, code: string) =>
    assert.rejects(k.entities.workflows.start(WfInfo, 'bad', { runs: 1, seen: [] }, { memo: memo as never }), { code });
  await refused([1, 2], 'ERR_WORKFLOW_INCORRECT');
  await refused(new (class Memo {})(), 'ERR_WORKFLOW_INCORRECT');
  await refused({ f: () => 1 }, 'ERR_ENTITY_UNSTORABLE');
  await assert.rejects(k.entities.workflows.handle(WfInfo, 'bad').describe(), { code: 'ERR_WORKFLOW_NOT_FOUND' });
});
