// Workflow updates (updates.ts): each case runs on the entities test kit (MemoryStore, test clock)
// and on the real runtime over a SQLite file. An update is checked at the client and at the
// instance before anything is written, taken by the body in order, answered once by its id (a
// repeat, a retry after a timeout, a restart, after the instance ended), and refused by an
// instance that ended. Then what needs the test clock (an update wait's deadline) and a replay of
// a recorded history with updates.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { startNode, type Node } from 'ergo-ts';

import {
  MemoryStore,
  SqliteStore,
  startEntities,
  startWorkflowGateway,
  type Entities,
  type WorkflowClient,
} from '../src/index.js';
import type { WorkflowRecord } from '../src/workflow/model/record.js';
import { replayWorkflow, startTestEntities } from '../src/testing/index.js';
import { resetRecord } from '../src/workflow/instance/recovery.js';
import { WfCart, updateRuns } from './workflow_update_kinds.js';

/** What a case needs of its runtime. */
interface Rig {
  workflows(): WorkflowClient;
  /** Stops the runtime and starts a new one on the same store. */
  restart(): Promise<void>;
  record(id: string): Promise<WorkflowRecord | undefined>;
}

const code = (c: string) => (err: Error & { code?: string }) => {
  assert.equal(err.code, c, err.message);
  return true;
};

const CASES: Record<string, (rig: Rig) => Promise<void>> = {
  async 'updates are taken in order and answered; the body runs each once; the journal has each'(rig) {
    const h = await rig.workflows().start(WfCart, 'c1', { limit: 10 });
    assert.equal(await h.update('add', { sku: 'pen', qty: 2 }), 2);
    assert.equal(await h.update('add', { sku: 'ink', qty: 3 }, { updateId: 'ink-1' }), 5);
    // A failure the body answered: the caller gets it, the instance goes on.
    await assert.rejects(h.update('add', { sku: 'box', qty: 9 }), (err: Error & { code?: string; cause?: Error }) => {
      assert.equal(err.code, 'ERR_WORKFLOW_UPDATE_FAILED');
      assert.equal((err.cause as { code?: string }).code, 'ERR_FULL');
      return true;
    });
    assert.equal(await h.update('checkout', { note: 'done' }), 'done: 5 items');
    assert.equal(await h.result(), 5);
    const d = await h.describe();
    const ops = d.history.map((e) => `${e.t} ${e.n}`);
    assert.deepEqual(ops, [
      ...['update add | checkout', 'step reserve pen', 'reply add'],
      ...['update add | checkout', 'step reserve ink', 'reply add'],
      ...['update add | checkout', 'step reserve box', 'reply add'],
      ...['update add | checkout', 'reply checkout'],
    ]);
    assert.deepEqual(d.history[3]!.v, { id: 'ink-1', name: 'add', input: { sku: 'ink', qty: 3 } });
    assert.deepEqual(d.history[5]!.v, { id: 'ink-1', v: 5 });
    for (const sku of ['pen', 'ink', 'box']) {
      const s = d.history.find((e) => e.n === `reserve ${sku}`)!.s;
      assert.equal(updateRuns.get(`wfcart/c1/${s}/step:reserve ${sku}`), 1, `${sku}'s step ran once`);
    }
  },

  async 'a refused update journals nothing: schema at the client and at the instance, the validator, an undeclared name'(
    rig,
  ) {
    const h = await rig.workflows().start(WfCart, 'c2', { limit: 10 });
    const byName = rig.workflows().handleOf('wfcart', 'c2'); // no kind: only the instance checks
    const before = await rig.record('c2');
    // @ts-expect-error qty is a number
    await assert.rejects(h.update('add', { sku: 'pen', qty: 'two' }), code('ERR_WORKFLOW_UPDATE_REJECTED'));
    await assert.rejects(
      byName.update('add' as never, { sku: 'pen', qty: 'two' } as never),
      code('ERR_WORKFLOW_UPDATE_REJECTED'),
    );
    await assert.rejects(h.update('add', { sku: 'pen', qty: 0 }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_WORKFLOW_UPDATE_REJECTED');
      assert.match(err.message, /qty must be above 0, got 0/);
      return true;
    });
    await assert.rejects(byName.update('remove' as never, {} as never), code('ERR_WORKFLOW_INCORRECT'));
    // @ts-expect-error an update the workflow does not declare
    await assert.rejects(h.update('remove', {}), code('ERR_WORKFLOW_INCORRECT'));
    const rec = await rig.record('c2');
    assert.equal(rec?.updates, undefined, 'no update kept');
    assert.deepEqual(rec?.journal, before?.journal, 'nothing journaled');
    assert.equal(await h.update('add', { sku: 'pen', qty: 1 }), 1, 'the instance goes on');
  },

  async 'an update id is answered once: a repeat, a retry after a timeout and a restart get the same answer'(rig) {
    const h = await rig.workflows().start(WfCart, 'c3', { limit: 10, gated: true });
    // The body waits for `open` first: the update is accepted and kept, the caller times out.
    await assert.rejects(
      h.update('add', { sku: 'pen', qty: 4 }, { updateId: 'u-1', timeoutMs: 300 }),
      code('ERR_WORKFLOW_TIMEOUT'),
    );
    assert.deepEqual(
      (await rig.record('c3'))?.updates?.map((u) => [u.id, u.name, u.s, u.out]),
      [['u-1', 'add', undefined, undefined]],
      'accepted and kept before the body took it',
    );
    await rig.restart();
    const again = rig.workflows().handle(WfCart, 'c3');
    assert.equal(await again.signal('open', null), 'accepted');
    // Asked again with its id (and another input, ignored): the kept update is answered.
    assert.equal(await again.update('add', { sku: 'pen', qty: 9 }, { updateId: 'u-1' }), 4);
    assert.equal(await again.update('add', { sku: 'pen', qty: 4 }, { updateId: 'u-1' }), 4, 'a repeat');
    const rec = (await rig.record('c3'))!;
    assert.equal(rec.journal.filter((e) => e.t === 'update').length, 1, 'taken once');
    assert.equal(rec.journal.filter((e) => e.t === 'reply').length, 1, 'answered once');
    const s = rec.journal.find((e) => e.n === 'reserve pen')!.s;
    assert.equal(updateRuns.get(`wfcart/c3/${s}/step:reserve pen`), 1);
    // Once the instance ended: an answered id still gets its answer; a new update is refused.
    assert.equal(await again.update('checkout', { note: 'n' }), 'n: 4 items');
    assert.equal(await again.result(), 4);
    assert.equal(await again.update('add', { sku: 'pen', qty: 4 }, { updateId: 'u-1' }), 4, 'after the end');
    await assert.rejects(again.update('add', { sku: 'ink', qty: 1 }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_WORKFLOW_CLOSED');
      assert.match(err.message, /is completed: update "add" refused/);
      return true;
    });
    assert.equal((await rig.record('c3'))!.updates!.length, 2, 'the refused one was not kept');
  },

  async 'updates sent before the body waits are kept and taken in the order they came'(rig) {
    const h = await rig.workflows().start(WfCart, 'c4', { limit: 100, gated: true });
    const answers = [1, 2, 3].map((qty) =>
      h.update('add', { sku: `s${qty}`, qty }, { updateId: `k${qty}`, timeoutMs: 60_000 }),
    );
    // Each is kept before the body is opened (an update's acceptance is saved before it waits).
    for (;;) {
      const kept = (await rig.record('c4'))?.updates ?? [];
      if (kept.length === 3) break;
      await new Promise((r) => setImmediate(r));
    }
    // describe() shows them, accepted and not taken yet.
    assert.deepEqual(
      (await h.describe()).updates?.map((u) => [u.name, u.taken, u.input]),
      [1, 2, 3].map((qty) => ['add', undefined, { sku: `s${qty}`, qty }]),
    );
    await h.signal('open', null);
    const got = await Promise.all(answers);
    assert.equal((await h.describe()).updates, undefined, 'none left unanswered');
    const journal = (await rig.record('c4'))!.journal.filter((e) => e.t === 'update');
    const order = journal.map((e) => (e.v as { id: string }).id);
    // Running totals in the order the body took them.
    const totals = new Map<string, number>();
    let sum = 0;
    for (const id of order) totals.set(id, (sum += Number(id.slice(1))));
    assert.deepEqual(got, [totals.get('k1'), totals.get('k2'), totals.get('k3')]);
    const accepted = (await rig.record('c4'))!.updates!.map((u) => u.id);
    assert.deepEqual(order, accepted, 'taken in the order they were accepted');
  },

  async 'an update left unanswered when the instance ends: its caller gets ERR_WORKFLOW_CLOSED'(rig) {
    const h = await rig.workflows().start(WfCart, 'c5', { limit: 100, gated: true });
    // Accepted while the body waits for `open`; the checkout ends it before the add is taken.
    const checkout = h.update('checkout', { note: 'x' }, { updateId: 'co' });
    for (;;) {
      if ((await rig.record('c5'))?.updates?.length === 1) break;
      await new Promise((r) => setImmediate(r));
    }
    const add = h.update('add', { sku: 'late', qty: 1 }, { updateId: 'late' });
    add.catch(() => undefined); // refused when the checkout ends the instance, maybe before it is answered
    for (;;) {
      if ((await rig.record('c5'))?.updates?.length === 2) break;
      await new Promise((r) => setImmediate(r));
    }
    await h.signal('open', null);
    assert.equal(await checkout, 'x: 0 items');
    await assert.rejects(add, (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_WORKFLOW_CLOSED');
      assert.match(err.message, /ended completed before it answered update add \(late\)/);
      return true;
    });
  },
};

describe('updates on the test kit (MemoryStore, test clock)', () => {
  for (const [name, run] of Object.entries(CASES))
    test(name, async () => {
      updateRuns.clear();
      await using k = await startTestEntities({ kinds: [WfCart], leaseTtlMs: 3_600_000 });
      await run({
        workflows: () => k.entities.workflows,
        restart: () => k.restart(),
        record: async (id) => {
          const rec = (await k.store.load({ kind: 'wfcart', key: id })).state as WorkflowRecord | undefined;
          return rec?.status === undefined ? undefined : rec;
        },
      });
    });
});

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-wfupd-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

describe('updates on SQLite (wall clock)', () => {
  for (const [name, run] of Object.entries(CASES))
    test(name, async (t) => {
      updateRuns.clear();
      const store = SqliteStore.open(join(dir, `u${++files}.db`), { synchronous: 'normal' });
      const node: Node = await startNode(`wfupd${files}_${process.pid}@localhost`, { log: { level: 'warning' } });
      const begin = (): Promise<Entities> => startEntities(node, { store, kinds: [WfCart], reminders: { pollMs: 50 } });
      let entities = await begin();
      t.after(async () => {
        await entities.stop();
        await node.stop();
        await store.close();
      });
      await run({
        workflows: () => entities.workflows,
        async restart() {
          await entities.stop();
          entities = await begin();
        },
        record: async (id) => {
          const rec = (await store.load({ kind: 'wfcart', key: id })).state as WorkflowRecord | undefined;
          return rec?.status === undefined ? undefined : rec;
        },
      });
    });
});

describe('on the test clock, and replays', () => {
  test("an update wait's deadline: ERR_WORKFLOW_TIMEOUT in the body at the deadline, journaled", async () => {
    await using k = await startTestEntities({ kinds: [WfCart], leaseTtlMs: 3_600_000 });
    const wf = await k.workflows.start(WfCart, 't1', { limit: 10, waitMs: 60_000 });
    await k.workflows.runUntilIdle();
    const open = (await wf.record())!.journal;
    assert.deepEqual(
      open.map((e) => [e.t, e.n, e.until === undefined ? undefined : e.until - k.clock.now(), e.done]),
      [['update', 'add | checkout', 60_000, undefined]],
      'the open wait and its deadline are journaled',
    );
    await assert.rejects(wf.advanceUntilDone(), (err: Error & { code?: string; cause?: Error }) => {
      assert.equal(err.code, 'ERR_WORKFLOW_FAILED');
      assert.match(err.cause!.message, /update add \| checkout did not come in time/);
      return true;
    });
    const e = (await wf.record())!.journal[0]!;
    assert.equal(e.e?.code, 'ERR_WORKFLOW_TIMEOUT');
    assert.equal(e.done, true);
  });

  test('the kit: runUntilIdle names the updates a body waits for; advanceUntilDone says it is stuck on them', async () => {
    await using k = await startTestEntities({ kinds: [WfCart], leaseTtlMs: 3_600_000 });
    const wf = await k.workflows.start(WfCart, 'k1', { limit: 10 });
    const idle = await k.workflows.runUntilIdle();
    assert.deepEqual(
      idle.filter((i) => i.id === 'k1').map((i) => [i.signals, i.updates]),
      [[[], ['add | checkout']]],
    );
    await assert.rejects(wf.advanceUntilDone(), (err: Error & { code?: string }) => {
      assert.match(err.message, /waits for update add \| checkout: no timer is left/);
      return true;
    });
    assert.equal(await wf.update('checkout', { note: 'k' }), 'k: 0 items');
    assert.equal(await wf.advanceUntilDone(), 0);
  });

  test('a cancel strikes a body waiting for an update; a later update is refused', async () => {
    await using k = await startTestEntities({ kinds: [WfCart], leaseTtlMs: 3_600_000 });
    const wf = await k.workflows.start(WfCart, 'x1', { limit: 10 });
    assert.equal(await wf.update('add', { sku: 'a', qty: 1 }), 1);
    await wf.cancel('stop');
    await assert.rejects(wf.result(), code('ERR_WORKFLOW_CANCELLED'));
    await assert.rejects(wf.update('add', { sku: 'b', qty: 1 }), code('ERR_WORKFLOW_CLOSED'));
  });

  test('a recorded history with updates replays on the same code (replayWorkflow), and diverges on other code', async () => {
    await using k = await startTestEntities({ kinds: [WfCart], leaseTtlMs: 3_600_000 });
    const wf = await k.workflows.start(WfCart, 'r1', { limit: 10 });
    await wf.update('add', { sku: 'a', qty: 2 });
    await wf.update('add', { sku: 'b', qty: 3 });
    await wf.update('checkout', { note: 'r' });
    const d = await wf.describe();
    const report = await replayWorkflow(WfCart, { id: 'r1', input: d.input, history: d.history } as never);
    assert.equal(report.ended, 'returned');
    assert.equal(report.output, 5);
    // The same history where the body answered differently: the replay names the operation.
    const swapped = d.history.map((e) => (e.t === 'reply' && e.n === 'checkout' ? { ...e, n: 'add' } : e));
    await assert.rejects(
      replayWorkflow(WfCart, { id: 'r1', input: d.input, history: swapped } as never),
      code('ERR_WORKFLOW_DIVERGED'),
    );
  });
});

test("the gateway (a peer's plain call, an Erlang tuple's shape): an update answered the body's answer, by its id once", async (t) => {
  updateRuns.clear();
  const node = await startNode(`wfupdgw_${process.pid}@localhost`, { log: { level: 'warning' } });
  const entities = await startEntities(node, { store: new MemoryStore(), kinds: [WfCart] });
  t.after(async () => {
    await entities.stop();
    await node.stop();
  });
  const h = await entities.workflows.start(WfCart, 'g1', { limit: 10 });
  await startWorkflowGateway(node, entities);
  const asMap = { update: 'add', workflow: 'wfcart', id: 'g1', input: { sku: 'pen', qty: 2 }, updateId: 'gw-1' };
  assert.equal(await node.call('workflows', asMap), 2);
  assert.equal(await node.call('workflows', asMap), 2, 'asked again by its id');
  // {update, Workflow, Id, Update, Input, UpdateId} as an Erlang tuple arrives (read by its shape).
  const tuple = { elements: ['update', 'wfcart', 'g1', 'add', { sku: 'ink', qty: 3 }, 'gw-2'] };
  assert.equal(await node.call('workflows', tuple), 5);
  await assert.rejects(
    node.call('workflows', { ...asMap, input: { sku: 'pen', qty: 0 }, updateId: 'gw-3' }),
    code('ERR_WORKFLOW_UPDATE_REJECTED'),
  );
  const taken = (await h.describe()).history.filter((e) => e.t === 'update');
  assert.deepEqual(
    taken.map((e) => (e.v as { id: string }).id),
    ['gw-1', 'gw-2'],
  );
});

test('a reset to before an update was taken and not answered keeps it again for the body; an answered one stays answered', () => {
  const at = 1;
  const rec: WorkflowRecord = {
    status: 'running',
    journal: [
      { s: 0, t: 'update', n: 'add', v: { id: 'a1', name: 'add', input: 1 }, at, done: true },
      { s: 1, t: 'reply', n: 'add', v: { id: 'a1', v: 1 }, at, done: true },
      { s: 2, t: 'update', n: 'add', v: { id: 'a2', name: 'add', input: 2 }, at, done: true },
      { s: 3, t: 'step', n: 'reserve', v: 3, at, done: true },
    ],
    signals: [],
    signalIds: [],
    runs: 1,
    updates: [
      { id: 'a1', name: 'add', input: 1, at, s: 0, out: { v: 1, at } },
      { id: 'a2', name: 'add', input: 2, at, s: 2 },
      { id: 'a3', name: 'add', input: 3, at },
    ],
  };
  const after = resetRecord('wfcart', 'r', rec, 0, 'again', 2);
  assert.deepEqual(
    after.updates!.map((u) => [u.id, u.s, u.out?.v]),
    [
      ['a1', 0, 1],
      ['a2', undefined, undefined],
      ['a3', undefined, undefined],
    ],
  );
  assert.deepEqual(after.journal, []);
});
