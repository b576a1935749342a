// Handlers that wait (body/handlers.ts): a signal or update handler sleeps, runs a step, or waits in
// a condition — where the messages that come meanwhile are handed to their handlers, nested —
// while the body waits in its own condition; each hand-over names the wait that made it, and a
// replay (after a restart mid-wait too) runs the handlers and their waits in the same order. A
// cancel strikes a handler's sleep; a handler asking two waits at once is refused. On the test
// kit, SQLite and PostgreSQL.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';

import { startTestEntities } from '../src/testing/index.js';
import type { WorkflowRecord } from '../src/workflow/model/record.js';
import { onEveryRig, type Rig, type RigCases } from './workflow_rigs.js';
import { WfWaits } from './workflow_waiting_handlers.js';

const ops = (rec: WorkflowRecord | undefined): string[] =>
  (rec?.journal ?? []).map((e) => `${e.t} ${e.n}${e.t === 'handle' ? ` <${e.w}` : ''}`);

/** A handler's sleep: a minute on the test kit (the clock is moved), 40 ms on the wall clock. */
const napMs = (rig: Rig): number => (rig.advanceTime === undefined ? 40 : 60_000);

/** Waits until instance `id`'s journal has `n` entries of `op` (a wait a handler asked is live). */
async function journaled(rig: Rig, id: string, op: string, n = 1): Promise<void> {
  await eventually(
    async () => ops(await rig.record('wfwaits', id)).filter((o) => o.startsWith(op)).length >= n,
    `${id}'s journal has ${n} × ${op}`,
  );
}

const CASES: RigCases = {
  async 'an update handler sleeps and runs a step: accepted at once, answered once it ended; its waits follow its hand-over'(
    rig,
  ) {
    const h = () => rig.workflows().handle(WfWaits, 'n1');
    await rig.workflows().start(WfWaits, 'n1', undefined);
    const u = await h().startUpdate('nap', { ms: napMs(rig), n: 5 }, { updateId: 'nap-5' });
    await journaled(rig, 'n1', 'sleep');
    rig.advanceTime?.(napMs(rig));
    assert.equal(await u.result(), 5);
    await h().signal('stop', null);
    assert.deepEqual(await h().result(), { total: 5, order: ['nap 5 sleeps', 'nap 5 woke'] });
    assert.deepEqual(ops(await rig.record('wfwaits', 'n1')), [
      'condition ',
      'handle update:nap <0',
      'sleep ',
      'step after nap 5',
      'reply nap',
      'handle signal:stop <0',
      'condition handlers',
    ]);
  },

  async 'a handler waits in a condition other handlers make true: the messages that come meanwhile are handed there, nested'(
    rig,
  ) {
    const h = () => rig.workflows().handle(WfWaits, 'c1');
    await rig.workflows().start(WfWaits, 'c1', undefined);
    await h().startUpdate('atLeast', { min: 10 }, { updateId: 'at-10' });
    await journaled(rig, 'c1', 'condition', 2); // the body's and the handler's
    await h().signal('add', 4);
    await eventually(async () => (await h().query('total')) === 4, 'the add was handled in the handler’s condition');
    await rig.restart(); // the next activation replays both waits and the nested hand-over
    await h().signal('add', 6);
    assert.equal(await h().getUpdateHandle('at-10', 'atLeast').result(), 10);
    await h().signal('stop', null);
    assert.deepEqual(await h().result(), {
      total: 10,
      order: ['atLeast 10 waits', 'add 4', 'add 6', 'atLeast 10 holds'],
    });
    const rec = await rig.record('wfwaits', 'c1');
    assert.deepEqual(ops(rec), [
      'condition ',
      'handle update:atLeast <0',
      'condition ',
      'handle signal:add <2',
      'handle signal:add <2',
      'reply atLeast',
      'handle signal:stop <0',
      'condition handlers',
    ]);
    assert.equal(rec!.journal[2]!.v, true, "the handler's condition held");
  },

  async 'a runtime restarted while a handler sleeps: the replay hands the message over again, the sleep ends at its journaled deadline, the caller is answered'(
    rig,
  ) {
    const h = () => rig.workflows().handle(WfWaits, 'r1');
    await rig.workflows().start(WfWaits, 'r1', undefined);
    await h().signal('add', 1);
    const ms = napMs(rig) * 5;
    await h().startUpdate('nap', { ms, n: 7 }, { updateId: 'nap-7' });
    await journaled(rig, 'r1', 'sleep');
    const until = (await rig.record('wfwaits', 'r1'))!.journal.find((e) => e.t === 'sleep')!.until;
    await h().signal('later', { ms: 0, n: 100 }); // kept: the nap's sleep hands nothing over
    await rig.restart();
    rig.advanceTime?.(ms);
    // Asked again by its id on the new runtime: answered by the run that finished it.
    assert.equal(await h().getUpdateHandle('nap-7', 'nap').result(), 8);
    await h().signal('stop', null);
    assert.deepEqual(await h().result(), {
      total: 108,
      order: ['add 1', 'nap 7 sleeps', 'nap 7 woke', 'later 100'],
    });
    const rec = (await rig.record('wfwaits', 'r1'))!;
    assert.equal(rec.journal.find((e) => e.t === 'sleep' && e.s === 3)!.until, until, 'the same deadline');
    assert.ok(rec.runs >= 2, 'the body ran again');
    assert.deepEqual(ops(rec), [
      'condition ',
      'handle signal:add <0',
      'handle update:nap <0',
      'sleep ',
      'step after nap 7',
      'reply nap',
      'handle signal:later <0',
      'sleep ',
      'handle signal:stop <0',
      'condition handlers',
    ]);
  },

  async 'a cancel while a handler sleeps strikes its sleep and the body’s condition: the instance ends cancelled'(rig) {
    const h = () => rig.workflows().handle(WfWaits, 'x1');
    await rig.workflows().start(WfWaits, 'x1', undefined);
    await h().startUpdate('nap', { ms: napMs(rig) * 100, n: 1 }, { updateId: 'nap-x' });
    await journaled(rig, 'x1', 'sleep');
    await h().cancel('enough');
    await assert.rejects(h().result(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_WORKFLOW_CANCELLED', err.message);
      return true;
    });
    await assert.rejects(h().getUpdateHandle('nap-x', 'nap').result(), 'the update is not answered with a value');
    const rec = (await rig.record('wfwaits', 'x1'))!;
    assert.equal(rec.status, 'cancelled');
    const sleep = rec.journal.find((e) => e.t === 'sleep')!;
    assert.equal(sleep.e?.code, 'ERR_WORKFLOW_CANCELLED', 'the handler’s sleep was struck, journaled');
  },

  async 'a handler asking a second wait while its first waits is refused (ERR_WORKFLOW_CONCURRENT_WAIT): its update fails, the body goes on'(
    rig,
  ) {
    const h = () => rig.workflows().handle(WfWaits, 't1');
    await rig.workflows().start(WfWaits, 't1', undefined);
    // The refusal is awaited from the start: on a busy host the 40 ms sleep can end, and the update
    // fail, before the poll below sees the sleep journaled (an unhandled rejection meanwhile).
    const refused = assert.rejects(
      h().update('twice', napMs(rig)),
      (err: Error & { code?: string; cause?: Error & { code?: string } }) => {
        assert.equal(err.code, 'ERR_WORKFLOW_UPDATE_FAILED');
        assert.equal(err.cause!.code, 'ERR_WORKFLOW_CONCURRENT_WAIT', err.cause!.message);
        return true;
      },
    );
    await journaled(rig, 't1', 'sleep');
    rig.advanceTime?.(napMs(rig));
    await refused;
    await h().signal('add', 3);
    await h().signal('stop', null);
    assert.deepEqual(await h().result(), { total: 3, order: ['add 3'] });
  },
};

onEveryRig('handlers that wait', CASES, [WfWaits], () => undefined);

test('the kit: a body waits for its handlers — the one asleep ends on the moved clock, then the body returns', async () => {
  await using k = await startTestEntities({ kinds: [WfWaits], leaseTtlMs: 3_600_000 });
  const wf = await k.workflows.start(WfWaits, 'k1', undefined);
  await wf.signal('later', { ms: 60_000, n: 2 });
  await wf.signal('stop', null);
  // Stopped, the body waits in allHandlersFinished... after the handler asleep in its hand-over.
  assert.deepEqual(await wf.advanceUntilDone(), { total: 2, order: ['later 2'] });
});
