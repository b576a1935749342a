// Batch operations (workflow/batch*.ts): a dry-run count, then signal, cancel, terminate, resume
// (failed instances run again once fixed) and reset on every instance a query matches (kind, status, attributes), a page at a time, with
// progress; each instance acted on once (a signal's id and a reset's id are the batch's), those the
// query does not match untouched. On the test kit, SQLite and PostgreSQL, restarted mid-way.

import { strict as assert } from 'node:assert';

import { schema } from 'ergo-ts';

import { defineWorkflow, terminalError, WorkflowBatches, type WorkflowClient } from '../src/index.js';
import { onEveryRig, type RigCases } from './workflow_rigs.js';

/** Waits for `poke`, then for `end`: its journal says how many pokes it took. */
const WfTarget = defineWorkflow(
  'wftarget',
  { signals: { poke: schema.string(), end: schema.string() }, attributes: { group: 'string' } },
  async (ctx, input: { readonly group: string }): Promise<string> => {
    await ctx.setAttributes({ group: input.group });
    const p = await ctx.signal('poke');
    return `${p} ${await ctx.signal('end')}`;
  },
);
/** Its step fails for good while `broken` holds: a failed instance an operator resumes once it is fixed. */
let broken = true;
const WfFlaky = defineWorkflow(
  'wfflaky',
  { attributes: { group: 'string' } },
  async (ctx, input: { readonly group: string }): Promise<string> => {
    await ctx.setAttributes({ group: input.group });
    return ctx.step('call', () => {
      if (broken) throw terminalError(new Error('the partner is down'));
      return 'called';
    });
  },
);
/** Another kind, never matched by a query on `wftarget`. */
const WfOther = defineWorkflow('wfother', { signals: { poke: schema.string() } }, async (ctx): Promise<string> =>
  ctx.signal('poke'),
);

const code = (c: string) => (err: Error & { code?: string }) => {
  assert.equal(err.code, c, err.message);
  return true;
};

/** Starts `n` targets in `group` (ids `<prefix><i>`) and waits until their attributes are indexed. */
async function targets(w: WorkflowClient, prefix: string, n: number, group: string): Promise<void> {
  for (let i = 0; i < n; i++) await w.start(WfTarget, `${prefix}${i}`, { group });
  for (;;) {
    const c = await w.count({ kind: WfTarget, attributes: { group } });
    if (c.total >= n) return;
    await new Promise((r) => setImmediate(r));
  }
}

/** How many `poke` signals the instance took or keeps. */
async function pokes(w: WorkflowClient, id: string): Promise<number> {
  const d = await w.handle(WfTarget, id).describe();
  return (
    d.history.filter((e) => e.t === 'signal' && e.n === 'poke').length +
    d.signals.filter((s) => s.name === 'poke').length
  );
}

const CASES: RigCases = {
  async 'resume runs the failed instances the query matches again, once fixed'(rig) {
    const w = rig.workflows();
    broken = true;
    for (const id of ['f0', 'f1']) await w.start(WfFlaky, id, { group: 'g' });
    for (const id of ['f0', 'f1']) await assert.rejects(w.handle(WfFlaky, id).result(), code('ERR_WORKFLOW_FAILED'));
    broken = false;
    const query = { kind: 'wfflaky', status: 'failed' as const };
    assert.equal((await w.batch.start({ query, action: { type: 'resume' }, dryRun: true })).matched, 2);
    const b = await w.batch.start({ query, action: { type: 'resume' } });
    await rig.restart();
    const d = await rig.workflows().batch.wait(b.batchId!);
    assert.deepEqual([d.matched, d.done, d.failed], [2, 2, 0]);
    for (const id of ['f0', 'f1']) assert.equal(await rig.workflows().handle(WfFlaky, id).result(), 'called');
  },

  async 'a dry run counts; a signal batch pokes each match once, in pages; others untouched'(rig) {
    const w = rig.workflows();
    await targets(w, 'a', 7, 'a');
    await targets(w, 'b', 3, 'b');
    await w.start(WfOther, 'o1', {});
    const query = { kind: 'wftarget', status: 'running' as const, attributes: { group: 'a' } };
    const dry = await w.batch.start({ query, action: { type: 'signal', name: 'poke', payload: 'hi' }, dryRun: true });
    assert.deepEqual(dry, { dryRun: true, matched: 7 });
    assert.equal((await w.list({ kind: 'workflow-batch' })).items.length, 0, 'a dry run starts nothing');
    const b = await w.batch.start({
      query,
      action: { type: 'signal', name: 'poke', payload: 'hi' },
      pageSize: 3,
      id: 'b1',
    });
    assert.deepEqual([b.batchId, b.matched, b.created], ['b1', 7, true]);
    await rig.restart();
    const d = await rig.workflows().batch.wait('b1');
    assert.equal(d.status, 'completed');
    assert.deepEqual([d.matched, d.done, d.failed, d.skipped, d.expected], [7, 7, 0, 0, 7]);
    for (let i = 0; i < 7; i++) assert.equal(await pokes(rig.workflows(), `a${i}`), 1, `a${i}`);
    for (let i = 0; i < 3; i++) assert.equal(await pokes(rig.workflows(), `b${i}`), 0, `b${i}`);
    assert.equal((await rig.workflows().handle(WfOther, 'o1').describe()).signals.length, 0);
    // Started again with its id: nothing new.
    const again = await rig.workflows().batch.start({ query, action: { type: 'signal', name: 'poke' }, id: 'b1' });
    assert.equal(again.created, false);
  },

  async 'cancel and terminate act on running ones, skip ended ones; progress counts them'(rig) {
    const w = rig.workflows();
    await targets(w, 'c', 4, 'c');
    await w.handle(WfTarget, 'c0').signal('poke', 'x');
    await w.handle(WfTarget, 'c0').signal('end', 'y');
    assert.equal(await w.handle(WfTarget, 'c0').result(), 'x y');
    const b = await w.batch.start({
      query: { kind: WfTarget, attributes: { group: 'c' } },
      action: { type: 'cancel' },
    });
    const d = await w.batch.wait(b.batchId!);
    assert.deepEqual([d.matched, d.done, d.skipped, d.failed], [4, 3, 1, 0]);
    for (const id of ['c1', 'c2', 'c3'])
      await assert.rejects(w.handle(WfTarget, id).result(), code('ERR_WORKFLOW_CANCELLED'));
    await targets(w, 't', 2, 't');
    const t = await w.batch.start({
      query: { kind: WfTarget, status: 'running', attributes: { group: 't' } },
      action: { type: 'terminate', reason: 'cleanup' },
    });
    assert.deepEqual(await w.batch.wait(t.batchId!).then((x) => [x.done, x.failed]), [2, 0]);
    const e = await w.handle(WfTarget, 't0').describe();
    assert.deepEqual([e.status, e.cancel], ['cancelled', 'terminated: cleanup']);
  },

  async 'a long batch continues as new with its cursor and counts: each match acted on once'(rig) {
    const w = rig.workflows();
    await targets(w, 'l', 5, 'l');
    const input = {
      query: { kind: 'wftarget', status: 'running' as const, attributes: { group: 'l' } },
      action: { type: 'signal' as const, name: 'poke', payload: 'p' },
      pageSize: 1,
      pauseMs: 0,
      expected: 5,
      pagesPerRun: 2,
    };
    await w.start(WorkflowBatches, 'long', input);
    const d = await w.batch.wait('long');
    assert.deepEqual([d.matched, d.done, d.failed, d.skipped], [5, 5, 0, 0]);
    assert.ok((await w.handle(WorkflowBatches, 'long').describe()).run >= 3, 'it continued as new');
    for (let i = 0; i < 5; i++) assert.equal(await pokes(w, `l${i}`), 1, `l${i}`);
  },

  async 'reset is once per batch (its id), resume skips a running one; bad input is refused'(rig) {
    const w = rig.workflows();
    await targets(w, 'r', 2, 'r');
    await w.handle(WfTarget, 'r0').signal('poke', 'p');
    // The batch's reset id, asked again by hand as a retry of the batch would: done once.
    const query = { kind: 'wftarget', attributes: { group: 'r' } };
    const b = await w.batch.start({ query, action: { type: 'reset', toSeq: 0 }, id: 'rb' });
    assert.deepEqual(await w.batch.wait('rb').then((x) => [x.matched, x.done]), [2, 2]);
    await w.handle(WfTarget, 'r0').reset({ toSeq: 0, id: `batch:${b.batchId}` });
    assert.equal((await w.handle(WfTarget, 'r0').describe()).resets?.length, 1, 'one reset, not two');
    const rs = await w.batch.start({ query, action: { type: 'resume' } });
    assert.deepEqual(await w.batch.wait(rs.batchId!).then((x) => [x.done, x.skipped]), [0, 2]);
    await assert.rejects(
      w.batch.start({ query, action: { type: 'explode' } as never }),
      code('ERR_WORKFLOW_INCORRECT'),
    );
    await assert.rejects(
      w.batch.start({ query: { status: 'sleeping' as never }, action: { type: 'cancel' } }),
      code('ERR_WORKFLOW_INCORRECT'),
    );
    await assert.rejects(w.batch.start({ query, action: { type: 'signal' } as never }), code('ERR_WORKFLOW_INCORRECT'));
    await assert.rejects(w.batch.describe('nope'), code('ERR_WORKFLOW_NOT_FOUND'));
  },

  async 'a start checks every option by type and acts only on the count confirmed (issue 92)'(rig) {
    const w = rig.workflows();
    await targets(w, 'k', 2, 'k');
    const query = { kind: 'wftarget', status: 'running' as const, attributes: { group: 'k' } };
    const poke = { type: 'signal' as const, name: 'poke', payload: 'k' };
    const batches = async (): Promise<number> => (await w.count({ kind: WorkflowBatches })).total;
    // A truthy non-boolean dryRun, a misspelt option, a confirm that is not a count: refused, nothing started.
    for (const [what, bad] of [
      ["dryRun: 'true'", { dryRun: 'true' }],
      ['dryRun: 1', { dryRun: 1 }],
      ['dryrun: true (misspelt)', { dryrun: true }],
      ["confirm: '2'", { confirm: '2' }],
      ['confirm: -1', { confirm: -1 }],
      ["pageSize: '10'", { pageSize: '10' }],
      ['id: 7', { id: 7 }],
    ] as const)
      await assert.rejects(
        w.batch.start({ query, action: poke, ...(bad as object) }),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'ERR_WORKFLOW_INCORRECT', `${what}: ${err.message}`);
          return true;
        },
      );
    await assert.rejects(w.batch.describe(7 as never), code('ERR_WORKFLOW_INCORRECT'));
    await assert.rejects(w.batch.cancel('b', 7 as never), code('ERR_WORKFLOW_INCORRECT'));
    assert.equal(await batches(), 0);
    // Counted 2; a third starts matching before the start: the confirmed 2 is refused, nothing acted on.
    assert.equal((await w.batch.start({ query, action: poke, dryRun: true })).matched, 2);
    await targets(w, 'k', 3, 'k');
    await assert.rejects(w.batch.start({ query, action: poke, confirm: 2 }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_WORKFLOW_BATCH_COUNT_CHANGED', err.message);
      assert.match(err.message, /confirm 2 is not the count the query matches now \(3\)/);
      return true;
    });
    assert.equal(await batches(), 0);
    for (let i = 0; i < 3; i++) assert.equal(await pokes(w, `k${i}`), 0, `k${i} untouched`);
    // Confirmed with the count it matches: started, its expected that count.
    const b = await w.batch.start({ query, action: poke, confirm: 3, id: 'kb' });
    assert.deepEqual([b.matched, b.created], [3, true]);
    const d = await w.batch.wait('kb');
    assert.deepEqual([d.expected, d.matched, d.done], [3, 3, 3]);
  },
};

onEveryRig('batch operations', CASES, [WfTarget, WfOther, WfFlaky, WorkflowBatches], () => undefined);
