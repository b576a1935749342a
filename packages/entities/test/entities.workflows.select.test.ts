// ctx.select (select.ts, select_waits.ts): the first of several waits as one journaled operation.
// Each case runs on the test kit (MemoryStore, test clock), on SQLite and on PostgreSQL (wall
// clock, the runtime restarted at every step of the case): the team's order (a `confirm` signal
// or a `changeAddress` update, whichever comes first, or its deadline) takes what came first and a
// replay takes the same; what is kept before a select goes to its first ready branch in the order
// written; a child's end or a signal; Promise.race over two waits is refused with
// ERR_WORKFLOW_CONCURRENT_WAIT before anything is journaled; and a halted (diverged) replay writes
// nothing its catch block asks for. Every kind runs under the determinism guard in `throw`.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';

import type { WorkflowRecord } from '../src/workflow/model/record.js';
import { startTestEntities } from '../src/testing/index.js';
import { onEveryRig, type Rig, type RigCases } from './workflow_rigs.js';
import {
  WfHalting,
  WfOrder,
  WfRaced,
  WfSelectCancel,
  WfSelectChild,
  WfSelectParent,
  selectFlags,
  selectRuns,
} from './workflow_select_kinds.js';

const KINDS = [WfOrder, WfSelectChild, WfSelectParent, WfRaced, WfHalting, WfSelectCancel];
const HOUR = 3_600_000;

const code = (c: string) => (err: Error & { code?: string }) => {
  assert.equal(err.code, c, err.message);
  return true;
};

/** Resolves once the record of `kind`/`id` satisfies `ok` (each save is an event; looked at after each). */
async function until(rig: Rig, kind: string, id: string, ok: (r: WorkflowRecord) => boolean): Promise<WorkflowRecord> {
  // Bounded generously (a loaded machine): a case that never gets there fails instead of spinning.
  return eventually(
    async () => {
      const r = await rig.record(kind, id);
      return r !== undefined && ok(r) ? r : undefined;
    },
    `${kind}/${id} as the case expects`,
    { timeoutMs: 60_000 },
  );
}

const selects = (r: WorkflowRecord) => r.journal.filter((e) => e.t === 'select');
const opsOf = (r: WorkflowRecord) => r.journal.map((e) => `${e.t} ${e.t === 'select' ? '' : e.n}`.trim());

const CASES: RigCases = {
  async 'the first of a signal or an update wins; the journal says which; a replay takes the same'(rig) {
    await rig.workflows().start(WfOrder, 'o1', { address: 'A', ttlMs: 24 * HOUR });
    await until(rig, 'wforder', 'o1', (r) => selects(r).length === 1);
    await rig.restart();
    // The update comes first: its branch wins and the body answers it.
    assert.equal(await rig.workflows().handle(WfOrder, 'o1').update('changeAddress', { address: 'B' }), 'B');
    await rig.restart();
    // Then the signal: the next select takes it.
    assert.equal(await rig.workflows().handle(WfOrder, 'o1').signal('confirm', { by: 'ann' }), 'accepted');
    await rig.restart();
    const out = await rig.workflows().handle(WfOrder, 'o1').result();
    assert.deepEqual(out, { status: 'confirmed', address: 'B', by: 'ann', path: ['address', 'confirm'] });
    const rec = (await rig.record('wforder', 'o1'))!;
    assert.deepEqual(
      selects(rec).map((e) => (e.v as { b: string }).b),
      ['address', 'confirm'],
      'each select journals the branch that won',
    );
    assert.deepEqual(opsOf(rec), [
      'now',
      'step reserve',
      'select',
      'step save B',
      'reply changeAddress',
      'select',
      'step charge',
    ]);
    for (const e of rec.journal.filter((x) => x.t === 'step'))
      assert.equal(selectRuns.get(`wforder/o1/${e.s}/step:${e.n}`), 1, `step ${e.n} ran once`);
    // A read-only replay (a query of the ended instance) goes through both selects as they were.
    await rig.restart();
    assert.equal(await rig.workflows().handle(WfOrder, 'o1').query('address', null), 'B');
  },

  async 'what is kept before a select goes to its first ready branch in the order written; the rest stays kept'(rig) {
    await rig.workflows().start(WfOrder, 'o2', { address: 'A', ttlMs: 24 * HOUR, gated: true });
    const h = rig.workflows().handle(WfOrder, 'o2');
    // Accepted and kept (the body waits for `open`); the caller stops waiting for its answer.
    await assert.rejects(
      h.update('changeAddress', { address: 'C' }, { updateId: 'move-1', timeoutMs: 200 }),
      code('ERR_WORKFLOW_TIMEOUT'),
    );
    await until(rig, 'wforder', 'o2', (r) => (r.updates ?? []).length === 1);
    await h.signal('confirm', { by: 'bob' });
    await rig.restart();
    await rig.workflows().handle(WfOrder, 'o2').signal('open', null);
    // Both were kept when the select started: `confirm` is written first, so it wins.
    const out = await rig.workflows().handle(WfOrder, 'o2').result();
    assert.deepEqual(out, { status: 'confirmed', address: 'A', by: 'bob', path: ['confirm'] });
    // The update was never taken: the instance ended without answering it.
    await assert.rejects(
      rig.workflows().handle(WfOrder, 'o2').update('changeAddress', { address: 'C' }, { updateId: 'move-1' }),
      code('ERR_WORKFLOW_CLOSED'),
    );
  },

  async 'a child ends first, or a signal does (the child then cancelled); a failed child throws into the body'(rig) {
    await rig.workflows().start(WfSelectParent, 'p1', { child: 'k1' });
    await until(rig, 'wfselparent', 'p1', (r) => r.journal.length >= 1);
    await rig.restart();
    await rig.workflows().handle(WfSelectChild, 'k1').signal('go', 'x');
    assert.equal(await rig.workflows().handle(WfSelectParent, 'p1').result(), 'done child: x');

    const p2 = await rig.workflows().start(WfSelectParent, 'p2', { child: 'k2' });
    await until(rig, 'wfselparent', 'p2', (r) => r.journal.length >= 1);
    await rig.workflows().handle(WfSelectParent, 'p2').signal('stop', 'enough');
    assert.equal(await p2.result(), 'stopped enough');
    const child = await rig.workflows().handle(WfSelectChild, 'k2').describe();
    assert.equal(child.status, 'cancelled');

    const p3 = await rig.workflows().start(WfSelectParent, 'p3', { child: 'k3' });
    await until(rig, 'wfselparent', 'p3', (r) => r.journal.length >= 1);
    await rig.workflows().handle(WfSelectChild, 'k3').signal('go', 'fail');
    assert.equal(await p3.result(), 'child failed: ERR_WORKFLOW_STEP_FAILED/ERR_WORKFLOW_FAILED');
  },

  async 'a cancel that strikes a select closes its entry before the compensations; a replay strikes there again'(rig) {
    await rig.workflows().start(WfSelectCancel, 'x1', null);
    await until(rig, 'wfselcancel', 'x1', (r) => selects(r).length === 1);
    assert.equal(await rig.workflows().handle(WfSelectCancel, 'x1').cancel('stop'), 'cancelled');
    await assert.rejects(rig.workflows().handle(WfSelectCancel, 'x1').result(), code('ERR_WORKFLOW_CANCELLED'));
    const rec = (await rig.record('wfselcancel', 'x1'))!;
    const sel = selects(rec)[0]!;
    assert.equal(sel.done, true);
    assert.equal(sel.e?.code, 'ERR_WORKFLOW_CANCELLED', 'the strike is journaled');
    assert.deepEqual(opsOf(rec), ['step reserve', 'select', 'step compensate:reserve']);
    // A read-only replay (the query of the ended instance) strikes at the select again: no divergence.
    await rig.restart();
    assert.equal(await rig.workflows().handle(WfSelectCancel, 'x1').query('stage', null), 'compensated');
  },

  async 'Promise.race over two ctx waits is refused at the second, before anything of it is journaled'(rig) {
    const h = await rig.workflows().start(WfRaced, 'r1', null);
    await assert.rejects(h.result(), (err: Error & { code?: string; cause?: Error & { code?: string } }) => {
      assert.equal(err.code, 'ERR_WORKFLOW_FAILED');
      assert.equal(err.cause?.code, 'ERR_WORKFLOW_CONCURRENT_WAIT');
      assert.match(
        err.cause!.message,
        /ctx\.update\("changeAddress"\) was asked while ctx\.signal\("confirm"\) still waits/,
      );
      assert.match(err.cause!.message, /ctx\.select/);
      return true;
    });
    const rec = (await rig.record('wfraced', 'r1'))!;
    assert.deepEqual(
      rec.journal.map((e) => e.t),
      [],
      'the signal wait (no deadline) wrote no entry, the refused update none either',
    );
  },

  async 'a halted replay writes nothing its catch block asks: the instance shows blocked with its last real attributes'(
    rig,
  ) {
    await rig.workflows().start(WfHalting, 'h1', null);
    await until(rig, 'wfhalting', 'h1', (r) => r.attributes?.['stage'] === 'waiting' && r.journal.length === 1);
    selectFlags.diverge = true; // "a deploy" that changed the body without a patch
    try {
      await rig.restart();
      // Anything that activates it replays the body: it diverges at the renamed step.
      await rig.workflows().handle(WfHalting, 'h1').signal('go', null);
      const rec = await until(rig, 'wfhalting', 'h1', (r) => r.blocked !== undefined);
      assert.equal(rec.status, 'running');
      assert.equal(rec.attributes?.['stage'], 'waiting', "the catch block's setAttributes was not written");
      const page = await rig.workflows().list({ kind: 'wfhalting', attributes: { stage: 'waiting' } });
      assert.deepEqual(
        page.items.map((i) => i.id),
        ['h1'],
        'found by its last real attributes',
      );
    } finally {
      selectFlags.diverge = false;
    }
    // Fixed code and a resume: it goes on from its journal.
    await rig.restart();
    assert.equal(await rig.workflows().handle(WfHalting, 'h1').resume(), 'resumed');
    assert.equal(await rig.workflows().handle(WfHalting, 'h1').result(), 'done');
  },
};

onEveryRig('ctx.select', CASES, KINDS, () => selectRuns.clear());

describe('ctx.select on the test kit: the deadline', () => {
  test("the order's deadline wins when nothing comes; on the test clock, after a day", async () => {
    selectRuns.clear();
    await using k = await startTestEntities({ kinds: KINDS, leaseTtlMs: 3_600_000 });
    const o = await k.workflows.start(WfOrder, 'o9', { address: 'A', ttlMs: 24 * HOUR });
    assert.equal(await o.update('changeAddress', { address: 'Z' }), 'Z');
    const out = await o.advanceUntilDone();
    assert.deepEqual(out, { status: 'expired', address: 'Z', path: ['address', 'expired'] });
    const rec = (await o.record())!;
    const last = selects(rec).at(-1)!;
    assert.equal((last.v as { b: string }).b, 'expired');
    assert.equal(last.until, rec.startedAt! + 24 * HOUR, 'the deadline from the start, journaled');
  });
});
