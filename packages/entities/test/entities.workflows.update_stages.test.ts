// Async updates (Temporal's startUpdate, WorkflowUpdateStage, getUpdateHandle): `startUpdate`
// returns at the ACCEPTED stage — checked (the handler's validator too) and kept in the record —
// while the handler's step still waits at its gate; the runtime restarts (the body replays, the
// cut step runs again) and a handle got again by the update's id gets the answer. 'COMPLETED'
// returns once answered; a refused update throws from startUpdate with nothing kept; a failed one
// throws from result(); an id never accepted is ERR_WORKFLOW_UPDATE_NOT_FOUND; a query after the
// ACCEPTED stage sees what the handler did. On the test kit, SQLite and PostgreSQL.

import { strict as assert } from 'node:assert';

import { onEveryRig, type RigCases } from './workflow_rigs.js';
import { WfTally, gateOf, resetHandlerKinds } from './workflow_handler_kinds.js';
import { WfQHandler } from './workflow_query_kinds.js';

const code = (c: string) => (err: Error & { code?: string }) => {
  assert.equal(err.code, c, err.message);
  return true;
};

const CASES: RigCases = {
  async 'ACCEPTED: kept while its step runs; after a restart its handle, got by id, gets the answer'(rig) {
    // A handle of the runtime running now (a restart starts another).
    const h = () => rig.workflows().handle(WfTally, 'a1');
    await rig.workflows().start(WfTally, 'a1', {});
    assert.equal(await h().signal('add', 3), 'accepted');
    const u = await h().startUpdate('slow', { n: 10 }, { updateId: 'slow-1' });
    assert.equal(u.updateId, 'slow-1');
    assert.equal(u.workflowId, 'a1');
    // Returned at the ACCEPTED stage: the handler's step waits at its gate, not answered.
    await gateOf('a1').entered;
    const rec = (await rig.record('wftally', 'a1'))!;
    assert.deepEqual(
      (rec.updates ?? []).map((x) => [x.id, x.out === undefined]),
      [['slow-1', true]],
      'kept, not answered',
    );
    // Asked again with its id (a caller that lost the answer): accepted once, the same handle.
    const again = await h().startUpdate('slow', { n: 10 }, { updateId: 'slow-1' });
    assert.equal(again.updateId, 'slow-1');
    await rig.restart();
    gateOf('a1').open();
    const got = h().getUpdateHandle('slow-1', 'slow');
    assert.equal(await got.result(), 13, 'the answer, after the replay ran the cut step again');
    const done = (await rig.record('wftally', 'a1'))!;
    assert.equal(done.journal.filter((e) => e.t === 'handle' && e.n === 'update:slow').length, 1, 'taken once');
    await h().signal('stop', null);
    assert.deepEqual(await h().result(), { total: 13, stopped: true, order: ['add 3', 'slow 10', 'stop'] });
    // After the end: answered from the record.
    assert.equal(await h().getUpdateHandle('slow-1').result(), 13);
  },
  async 'COMPLETED returns once answered; a refusal throws from startUpdate, a failure from result()'(rig) {
    const h = rig.workflows().handle(WfTally, 'c1');
    await rig.workflows().start(WfTally, 'c1', {});
    await h.signal('add', 5);
    const c = await h.startUpdate('take', { n: 2 }, { waitForStage: 'COMPLETED', updateId: 't-2' });
    assert.equal(await c.result(), 3, 'known when the handle was made');
    // The handler's validator refuses more than the total: nothing kept.
    await assert.rejects(h.startUpdate('take', { n: 50 }, { updateId: 't-50' }), code('ERR_WORKFLOW_UPDATE_REJECTED'));
    const rec = (await rig.record('wftally', 'c1'))!;
    assert.equal(
      (rec.updates ?? []).some((x) => x.id === 't-50'),
      false,
      'a refused update is not kept',
    );
    await assert.rejects(h.getUpdateHandle('t-50').result(), code('ERR_WORKFLOW_UPDATE_NOT_FOUND'));
    // A take of 0 is accepted, then failed by its handler.
    const f = await h.startUpdate('take', { n: 0 }, { updateId: 't-0' });
    await assert.rejects(f.result(), (err: Error & { code?: string; cause?: Error }) => {
      assert.equal(err.code, 'ERR_WORKFLOW_UPDATE_FAILED');
      assert.match(String(err.cause?.message), /nothing to take/);
      return true;
    });
    await assert.rejects(
      h.startUpdate('take', { n: 1 }, { waitForStage: 'SOON' as never }),
      code('ERR_WORKFLOW_INCORRECT'),
    );
    assert.throws(() => h.getUpdateHandle(''), code('ERR_WORKFLOW_INCORRECT'));
    await rig.restart();
    const h2 = rig.workflows().handle(WfTally, 'c1');
    await assert.rejects(h2.getUpdateHandle('nope').result(), code('ERR_WORKFLOW_UPDATE_NOT_FOUND'));
    await h2.signal('stop', null);
    assert.equal((await h2.result()).total, 3);
  },
  async 'a query after the ACCEPTED stage sees what the handler did'(rig) {
    const h = rig.workflows().handle(WfQHandler, 'q1');
    await rig.workflows().start(WfQHandler, 'q1', undefined);
    for (let i = 1; i <= 20; i++) {
      const u = await h.startUpdate('set', i);
      assert.equal(await h.query('total'), i);
      assert.equal(await u.result(), i);
    }
    await rig.restart();
    const h2 = rig.workflows().handle(WfQHandler, 'q1');
    await h2.startUpdate('set', 99);
    assert.equal(await h2.query('total'), 99, 'after a restart: replayed, then the update handled');
    await h2.signal('stop', null);
    assert.equal(await h2.result(), 99);
  },
};

onEveryRig('async updates', CASES, [WfTally, WfQHandler], resetHandlerKinds);
