// Handlers beside the body (body/handlers.ts): signal and update handlers, `ctx.condition` and
// `ctx.allHandlersFinished`. Each case runs on the entities test kit (MemoryStore, test clock), on
// the real runtime over a SQLite file, and over PostgreSQL (a server started for this file when
// one is installed). Then what needs the test clock (a condition's durable timeout) and replays of
// a recorded history.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { eventually, postgresMissing, startPostgres } from '@ergo-ts/test-support';
import { schema, startNode, type Node } from 'ergo-ts';

import {
  defineWorkflow,
  PostgresStore,
  SqliteStore,
  startEntities,
  type Entities,
  type EntityStore,
  type WorkflowClient,
} from '../src/index.js';
import type { WorkflowRecord } from '../src/workflow/model/record.js';
import { replayWorkflow, startTestEntities } from '../src/testing/index.js';
import { WfTally, gateOf, handlerRuns, resetHandlerKinds } from './workflow_handler_kinds.js';

/** What a case needs of its runtime. */
interface Rig {
  workflows(): WorkflowClient;
  /** Ends instance `id`'s activation abruptly, mid-step (its step's result is never journaled), and runs it again. */
  crash(id: string): Promise<void>;
  record(id: string): Promise<WorkflowRecord | undefined>;
}

const code = (c: string) => (err: Error & { code?: string }) => {
  assert.equal(err.code, c, err.message);
  return true;
};

const ops = (rec: WorkflowRecord | undefined): string[] => (rec?.journal ?? []).map((e) => `${e.t} ${e.n}`);

const CASES: Record<string, (rig: Rig) => Promise<void>> = {
  async 'signal handlers run while the body waits in condition, in the order the signals came; the journal has each'(
    rig,
  ) {
    const h = await rig.workflows().start(WfTally, 's1', {});
    for (const n of [1, 2, 3]) assert.equal(await h.signal('add', n), 'accepted');
    // The query sees what the handlers built (they run as each signal is kept).
    await eventually(async () => (await h.query('total')) === 6, 'the query sees 6');
    await h.signal('stop', null);
    assert.deepEqual(await h.result(), { total: 6, stopped: true, order: ['add 1', 'add 2', 'add 3', 'stop'] });
    const rec = await rig.record('s1');
    assert.deepEqual(ops(rec), [
      'condition ',
      'handle signal:add',
      'handle signal:add',
      'handle signal:add',
      'handle signal:stop',
      'condition handlers',
    ]);
    assert.deepEqual(
      rec!.journal.filter((e) => e.t === 'handle').map((e) => e.v),
      [1, 2, 3, null],
    );
    assert.equal(rec!.journal[0]!.v, true, 'the condition held');
    assert.deepEqual(rec!.signals, [], 'every signal was taken');
  },

  async 'messages kept before their handler is registered are handed to it once it is: signals first, in order'(rig) {
    const h = await rig.workflows().start(WfTally, 's2', { gated: true });
    await h.signal('add', 5);
    await h.signal('add', 2);
    const taken = h.update('take', { n: 3 }); // no handler yet: kept, its validator runs when handed over
    const tooMuch = h.update('take', { n: 100 });
    tooMuch.catch(() => undefined); // refused when handed over, maybe before `taken` is answered
    await eventually(async () => ((await rig.record('s2'))?.updates ?? []).length === 2, 'the updates are kept');
    assert.deepEqual(
      (await rig.record('s2'))!.signals.map((s) => s.payload),
      [5, 2],
      'kept until a handler takes them',
    );
    await h.signal('open', null);
    assert.equal(await taken, 4);
    // Refused by the validator when handed over: answered failed, the state unchanged.
    await assert.rejects(tooMuch, (err: Error & { code?: string; cause?: Error & { code?: string } }) => {
      assert.equal(err.code, 'ERR_WORKFLOW_UPDATE_FAILED');
      assert.equal(err.cause!.code, 'ERR_WORKFLOW_UPDATE_REJECTED');
      assert.match(err.cause!.message, /only 4 left, asked 100/);
      return true;
    });
    await h.signal('stop', null);
    assert.deepEqual((await h.result()).order, ['add 5', 'add 2', 'take 3', 'stop']);
  },

  async 'update handlers answer their caller; a failure is the caller’s; the validator refuses before anything is kept'(
    rig,
  ) {
    const h = await rig.workflows().start(WfTally, 's3', {});
    await h.signal('add', 10);
    await eventually(async () => (await h.query('total')) === 10, 'the add was handled');
    assert.equal(await h.update('take', { n: 3 }, { updateId: 't-3' }), 7);
    assert.equal(await h.update('take', { n: 3 }, { updateId: 't-3' }), 7, 'a repeat of its id: the same answer');
    const before = await rig.record('s3');
    await assert.rejects(h.update('take', { n: 50 }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_WORKFLOW_UPDATE_REJECTED');
      assert.match(err.message, /only 7 left, asked 50/);
      return true;
    });
    const after = await rig.record('s3');
    assert.equal(after!.updates!.length, before!.updates!.length, 'the refused update was not kept');
    assert.deepEqual(ops(after), ops(before), 'nothing journaled');
    await assert.rejects(h.update('take', { n: 0 }), (err: Error & { code?: string; cause?: Error }) => {
      assert.equal(err.code, 'ERR_WORKFLOW_UPDATE_FAILED');
      assert.match(err.cause!.message, /nothing to take/);
      return true;
    });
    await h.signal('stop', null);
    assert.deepEqual(await h.result(), { total: 7, stopped: true, order: ['add 10', 'take 3', 'stop'] });
    const s = (await rig.record('s3'))!.journal.find((e) => e.n === 'take 3')!.s;
    assert.equal(handlerRuns.get(`wftally/s3/${s}/step:take 3`), 1, "the handler's step ran once");
  },

  async 'a wait refuses a name a handler takes (ERR_WORKFLOW_INCORRECT)'(rig) {
    const h = await rig.workflows().start(WfTally, 's4', { both: true });
    await assert.rejects(h.result(), (err: Error & { code?: string; cause?: Error & { code?: string } }) => {
      assert.equal(err.code, 'ERR_WORKFLOW_FAILED');
      assert.equal(err.cause!.code, 'ERR_WORKFLOW_INCORRECT');
      assert.match(err.cause!.message, /signal "add" has a handler \(ctx.onSignal\)/);
      return true;
    });
  },

  async 'a signal handler that throws ends the condition with its error: the instance fails with it'(rig) {
    const h = await rig.workflows().start(WfTally, 's5', { failOn: 13 });
    await h.signal('add', 1);
    await h.signal('add', 13);
    await assert.rejects(h.result(), (err: Error & { cause?: Error }) => {
      assert.match(err.cause!.message, /add 13 refused by the handler/);
      return true;
    });
    const rec = await rig.record('s5');
    assert.equal(rec!.journal[0]!.e?.message, 'add 13 refused by the handler', "the condition's journaled outcome");
  },

  async 'an activation that ends mid-handler: the next one replays the handlers in order and runs the cut one again'(
    rig,
  ) {
    const h = await rig.workflows().start(WfTally, 's6', {});
    await h.signal('add', 1);
    await h.signal('add', 2);
    const slow = h.update('slow', { n: 10 }, { updateId: 'slow-1' });
    slow.catch(() => undefined); // the kit's abrupt end leaves this first call to its own bound
    await gateOf('s6').entered; // the handler's step runs: its result is not journaled yet
    await rig.crash('s6');
    gateOf('s6').open();
    const again = rig.workflows().handle(WfTally, 's6'); // on the runtime that runs now
    // Its caller asks again by its id: answered by the run that finished it.
    assert.equal(await again.update('slow', { n: 10 }, { updateId: 'slow-1' }), 13);
    await again.signal('add', 4);
    await again.signal('stop', null);
    assert.deepEqual(await again.result(), {
      total: 17,
      stopped: true,
      order: ['add 1', 'add 2', 'slow 10', 'add 4', 'stop'],
    });
    const rec = (await rig.record('s6'))!;
    assert.deepEqual(ops(rec).slice(0, 6), [
      'condition ',
      'handle signal:add',
      'handle signal:add',
      'handle update:slow',
      'step slow',
      'reply slow',
    ]);
    // The next activation ran the handler again from its hand-over: its step ran again, or (when the
    // first attempt was still in flight in this process) took that attempt's result by its
    // idempotency key (in_flight.ts); journaled once either way.
    const runs = handlerRuns.get(`wftally/s6/4/step:slow`) ?? 0;
    assert.ok(runs === 1 || runs === 2, `the step ran ${runs} time(s)`);
    assert.equal(rec.journal.filter((e) => e.n === 'slow').length, 2, 'one step entry, one reply entry');
    assert.ok(rec.runs >= 2, 'the body ran again');
  },
};

describe('handlers on the test kit (MemoryStore, test clock)', () => {
  for (const [name, run] of Object.entries(CASES))
    test(name, async () => {
      resetHandlerKinds();
      await using k = await startTestEntities({ kinds: [WfTally], leaseTtlMs: 3_600_000 });
      await run({
        workflows: () => k.entities.workflows,
        crash: async (id) => void (await k.workflows.handle(WfTally, id).entity().restart()),
        record: async (id) => {
          const rec = (await k.store.load({ kind: 'wftally', key: id })).state as WorkflowRecord | undefined;
          return rec?.status === undefined ? undefined : rec;
        },
      });
    });
});

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-wfhandlers-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** The cases on the real runtime over `open()`'s store; a crash is a stop that waits 100 ms for the step in flight. */
function onStore(label: string, open: () => Promise<EntityStore>): void {
  describe(`handlers on ${label} (wall clock)`, () => {
    for (const [name, run] of Object.entries(CASES))
      test(name, async (t) => {
        resetHandlerKinds();
        const store = await open();
        const node: Node = await startNode(`wfhnd${++files}_${process.pid}@localhost`, { log: { level: 'error' } });
        const begin = (): Promise<Entities> =>
          startEntities(node, { store, kinds: [WfTally], reminders: { pollMs: 50 }, handOffTimeoutMs: 100 });
        let entities = await begin();
        t.after(async () => {
          await entities.stop();
          await node.stop();
          await store.close();
        });
        await run({
          workflows: () => entities.workflows,
          async crash() {
            await entities.stop();
            entities = await begin();
          },
          record: async (id) => {
            const rec = (await store.load({ kind: 'wftally', key: id })).state as WorkflowRecord | undefined;
            return rec?.status === undefined ? undefined : rec;
          },
        });
      });
  });
}

onStore('SQLite', async () => SqliteStore.open(join(dir, `h${files + 1}.db`), { synchronous: 'normal' }));

const missing = postgresMissing();
if (missing !== undefined) {
  console.log(`# skipped: ${missing}`);
  test('PostgreSQL: the handler cases', (t) => t.skip(missing));
} else {
  const server = await startPostgres();
  after(() => server.stop());
  let tables = 0;
  onStore('PostgreSQL', () => PostgresStore.open(server.url, { tablePrefix: `wfh${++tables}_` }));
}

describe('on the test clock, and replays', () => {
  test("a condition's timeout is durable: it resolves false at its deadline, after a restart too", async () => {
    await using k = await startTestEntities({ kinds: [WfTally], leaseTtlMs: 3_600_000 });
    const wf = await k.workflows.start(WfTally, 't1', { timeoutMs: 60_000 });
    await k.workflows.runUntilIdle();
    const open = (await wf.record())!.journal;
    assert.deepEqual(
      open.map((e) => [e.t, e.n, e.until === undefined ? undefined : e.until - k.clock.now(), e.done]),
      [['condition', '', 60_000, undefined]],
      'the open wait and its deadline are journaled',
    );
    await wf.signal('add', 2);
    await k.restart();
    assert.deepEqual(await wf.advanceUntilDone(), { total: 2, stopped: false, order: ['add 2'] });
    const closed = (await wf.record())!.journal[0]!;
    assert.equal(closed.v, false);
    assert.equal(closed.done, true);
  });

  test('a body waiting in a condition waits for an event: no keep-alive wake-up, the wake at its deadline', async () => {
    await using k = await startTestEntities({ kinds: [WfTally], leaseTtlMs: 3_600_000 });
    const idle = await k.workflows.start(WfTally, 'w1', {});
    const timed = await k.workflows.start(WfTally, 'w2', { timeoutMs: 60_000 });
    await k.workflows.runUntilIdle();
    const wake = async (id: string) =>
      (await k.workflows.handle(WfTally, id).entity().reminders()).find((r) => r.name === 'wake');
    assert.equal(await wake('w1'), undefined, 'no wake-up rewritten every resumeAfterMs while it only waits');
    assert.equal((await wake('w2'))?.dueAt, (await timed.record())!.journal[0]!.until, 'the wake at its deadline');
    await idle.signal('stop', null);
    assert.equal((await idle.result()).stopped, true);
  });

  test('an instance waiting in a condition passivates; the next message activates it, the handlers replayed', async () => {
    await using k = await startTestEntities({ kinds: [WfTally], leaseTtlMs: 3_600_000 });
    const wf = await k.workflows.start(WfTally, 'p1', {});
    await wf.signal('add', 3);
    await k.workflows.runUntilIdle();
    await wf.entity().passivate();
    await wf.signal('add', 4);
    await wf.signal('stop', null);
    assert.deepEqual(await wf.result(), { total: 7, stopped: true, order: ['add 3', 'add 4', 'stop'] });
    assert.equal((await wf.record())!.runs, 2, 'the body ran again on the new activation');
  });

  test('the kit: advanceUntilDone says a body is stuck on a condition no timer ends', async () => {
    await using k = await startTestEntities({ kinds: [WfTally], leaseTtlMs: 3_600_000 });
    const wf = await k.workflows.start(WfTally, 'k1', {});
    await assert.rejects(wf.advanceUntilDone(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_WORKFLOW_TEST_STUCK');
      assert.match(err.message, /waits for a ctx\.condition\(\) to hold/);
      return true;
    });
  });

  test('bad arguments are refused with ERR_WORKFLOW_INCORRECT before an operation is taken', async () => {
    const Bad = defineWorkflow('wf-bad-handlers', { signals: { s: schema.unknown() } }, async (ctx) => {
      const codes: (string | undefined)[] = [];
      const attempt = async (f: () => unknown) => {
        try {
          await f();
          codes.push(undefined);
        } catch (err) {
          codes.push((err as { code?: string }).code);
        }
      };
      await attempt(() => ctx.condition(() => false, -1));
      await attempt(() => ctx.condition('x' as never));
      await attempt(() => ctx.onSignal('nope' as never, () => undefined));
      await attempt(() => ctx.onSignal('s', 'x' as never));
      await attempt(() => ctx.onUpdate('nope' as never, (() => undefined) as never));
      return codes;
    });
    await using k = await startTestEntities({ kinds: [Bad], leaseTtlMs: 3_600_000 });
    const wf = await k.workflows.start(Bad, 'b1', undefined);
    assert.deepEqual(await wf.result(), Array(5).fill('ERR_WORKFLOW_INCORRECT'));
    assert.deepEqual((await wf.record())!.journal, [], 'nothing journaled');
  });

  test('a cancel strikes a body waiting in a condition: ERR_WORKFLOW_CANCELLED, journaled', async () => {
    await using k = await startTestEntities({ kinds: [WfTally], leaseTtlMs: 3_600_000 });
    const wf = await k.workflows.start(WfTally, 'c1', {});
    await wf.signal('add', 1);
    await k.workflows.runUntilIdle();
    await wf.cancel('enough');
    await assert.rejects(wf.result(), code('ERR_WORKFLOW_CANCELLED'));
    const first = (await wf.record())!.journal[0]!;
    assert.deepEqual([first.t, first.e?.code, first.done], ['condition', 'ERR_WORKFLOW_CANCELLED', true]);
  });

  test('a recorded history with handlers replays to the same state (replayWorkflow), and diverges on other code', async () => {
    await using k = await startTestEntities({ kinds: [WfTally], leaseTtlMs: 3_600_000 });
    const wf = await k.workflows.start(WfTally, 'r1', {});
    await wf.signal('add', 4);
    await k.workflows.runUntilIdle();
    assert.equal(await wf.update('take', { n: 1 }), 3);
    await wf.signal('add', 5);
    await wf.signal('stop', null);
    const out = await wf.result();
    const d = await wf.describe();
    const report = await replayWorkflow(WfTally, { id: 'r1', input: d.input, history: d.history } as never);
    assert.equal(report.ended, 'returned');
    assert.deepEqual(report.output, out);
    // A history that hands a message to a handler the code does not register.
    const other = d.history.map((e) => (e.t === 'handle' && e.n === 'signal:add' ? { ...e, n: 'signal:open' } : e));
    await assert.rejects(
      replayWorkflow(WfTally, { id: 'r1', input: d.input, history: other } as never),
      code('ERR_WORKFLOW_DIVERGED'),
    );
  });
});
