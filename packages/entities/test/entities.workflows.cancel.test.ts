// A cancel against steps in flight, attempts across moves, and compensations after a cancel
// (issue 71, items 9, 10 and 12), on the entities test kit (MemoryStore, test clock):
//   - a cancel waits for the running attempt to settle (bounded by its timeoutMs): a returned
//     attempt is journaled done and its compensation runs; the step throws ERR_WORKFLOW_CANCELLED
//     (not ERR_WORKFLOW_STEP_FAILED); `cancellation: 'abandon'` ends it at once instead; a call
//     step and a child's result wait the same way;
//   - failed attempts are journaled, so a run resumed after a move goes on counting (maxAttempts
//     stays the budget) and waits what is left of the backoff;
//   - compensations keep their retry policy after a cancel, and one that fails for good does not
//     stop the older ones: the instance ends failed with ERR_WORKFLOW_COMPENSATION_FAILED naming it.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { defineProtocol, schema } from 'ergo-ts';

import { TestClock } from 'ergo-ts/testing';

import {
  Entity,
  MemoryStore,
  defineEntity,
  defineWorkflow,
  entity,
  terminalError,
  type EntityKind,
  type WriteRequest,
} from '../src/index.js';
import { startTestEntities } from '../src/testing/index.js';
import type { WorkflowRecord } from '../src/workflow/model/record.js';

/** A promise a test settles by hand. */
interface Gate<T> {
  readonly promise: Promise<T>;
  readonly resolve: (v: T) => void;
}
function gate<T>(): Gate<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** What happened, in order, per instance id. */
const log = new Map<string, string[]>();
const note = (id: string, what: string): void => void log.set(id, [...(log.get(id) ?? []), what]);
/** Per instance id: resolved when its charge step started, and the gate its charge waits on. */
const started = new Map<string, Gate<void>>();
const charges = new Map<string, Gate<string>>();
const charge = (id: string): Gate<string> => charges.get(id) ?? (charges.set(id, gate()), charges.get(id)!);
const began = (id: string): Gate<void> => started.get(id) ?? (started.set(id, gate()), started.get(id)!);

type Mode = 'wait' | 'cooperative' | 'abandon' | 'timeout';

/**
 * reserve (compensated by release), charge (compensated by refund: its attempt waits for the
 * test's gate; `cooperative` stops at the cancel, `timeout` never returns but has a timeoutMs),
 * then a wait for `confirm`; on an error the compensations run and the error is rethrown.
 */
const Order = defineWorkflow(
  'wf-cancel-order',
  async (ctx, input: { mode: Mode }) => {
    try {
      await ctx.step('reserve', () => 'r1', { compensate: (r) => note(ctx.id, `release ${r}`) });
      await ctx.step(
        'charge',
        async ({ signal }) => {
          began(ctx.id).resolve();
          if (input.mode === 'cooperative')
            await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)));
          if (input.mode === 'timeout') await new Promise(() => undefined);
          const c = await charge(ctx.id).promise;
          note(ctx.id, `charge returned (signal aborted: ${signal.aborted})`);
          return c;
        },
        {
          compensate: (c) => note(ctx.id, `refund ${c}`),
          retry: { maxAttempts: 3, initialMs: 10 },
          ...(input.mode === 'abandon' ? { cancellation: 'abandon' as const } : {}),
          ...(input.mode === 'timeout' ? { timeoutMs: 5_000 } : {}),
        },
      );
      await ctx.signal('confirm');
      return 'confirmed';
    } catch (err) {
      await ctx.runCompensations();
      throw err;
    }
  },
  { signals: { confirm: schema.unknown() } },
);

const BankProtocol = defineProtocol('wf-cancel-bank', {
  messages: {},
  calls: { charge: { request: schema.object({ id: schema.string() }), reply: schema.string() } },
});
class BankEntity extends Entity<typeof BankProtocol, { n: number }> {
  override async handleCall(req: { id: string }): Promise<string> {
    began(req.id).resolve();
    const c = await charge(req.id).promise;
    note(req.id, 'bank charged');
    return c;
  }
}
const Bank = defineEntity('wf-cancel-bank', {
  protocol: BankProtocol,
  entity: BankEntity,
  initialState: () => ({ n: 0 }),
  passivateAfterMs: 0,
});

/** The charge as a call to the bank entity, compensated by a refund. */
const Caller = defineWorkflow(
  'wf-cancel-caller',
  async (ctx) => {
    try {
      await ctx.call(entity(Bank, 'b1'), { id: ctx.id }, { compensate: (c) => note(ctx.id, `refund ${c}`) });
      await ctx.signal('confirm');
      return 'confirmed';
    } catch (err) {
      await ctx.runCompensations();
      throw err;
    }
  },
  { signals: { confirm: schema.unknown() } },
);

/** A child that waits for `go` and undoes its own work when cancelled. */
const Kid = defineWorkflow(
  'wf-cancel-kid',
  async (ctx) => {
    try {
      await ctx.step('work', () => 'w', { compensate: () => note(ctx.id, 'kid undone') });
      return await ctx.signal('go');
    } catch (err) {
      await ctx.runCompensations();
      throw err;
    }
  },
  { signals: { go: schema.unknown() } },
);
const Parent = defineWorkflow('wf-cancel-parent', async (ctx) => ctx.child(Kid, `${ctx.id}-kid`, undefined));

/** A step that always fails: 6 attempts, 1 s apart. */
const attempts = new Map<string, { attempt: number; at: number }[]>();
const clockRef = { now: (): number => 0 };
const Retried = defineWorkflow('wf-cancel-retried', async (ctx) =>
  ctx.step(
    'flaky',
    ({ attempt }) => {
      attempts.set(ctx.id, [...(attempts.get(ctx.id) ?? []), { attempt, at: clockRef.now() }]);
      throw new Error(`attempt ${attempt} failed`);
    },
    { retry: { maxAttempts: 6, initialMs: 1_000, factor: 1, maxMs: 1_000 } },
  ),
);

/** Refund fails `fails` times (or for good while `broken`); release is older; then a wait to cancel. */
const undo = { fails: 0, broken: false };
const Saga = defineWorkflow(
  'wf-cancel-saga',
  async (ctx) => {
    try {
      await ctx.step('reserve', () => 'r1', { compensate: (r) => note(ctx.id, `release ${r}`) });
      const c = await ctx.step('charge', () => 'c1');
      ctx.compensate('refund', ({ attempt }) => {
        if (undo.broken) throw terminalError(new Error('the bank refuses refunds'));
        if (attempt <= undo.fails) throw new Error(`refund attempt ${attempt} failed`);
        note(ctx.id, `refund ${c} (attempt ${attempt})`);
      });
      await ctx.signal('confirm');
      return 'confirmed';
    } catch (err) {
      await ctx.runCompensations();
      throw err;
    }
  },
  { signals: { confirm: schema.unknown() } },
);

const Bad = defineWorkflow('wf-cancel-bad', async (ctx) => ctx.step('s', () => 1, { cancellation: 'later' as 'wait' }));

const KINDS: EntityKind<any, any>[] = [Order, Bank, Caller, Kid, Parent, Retried, Saga, Bad];

/** A memory store that keeps every state it was asked to write, and can hold a write. */
class RecordingStore extends MemoryStore {
  readonly written: WorkflowRecord[] = [];
  /** Called before each write: a promise returned holds it. */
  hold: ((r: WriteRequest) => Promise<void> | undefined) | undefined;
  override async write(r: WriteRequest): ReturnType<MemoryStore['write']> {
    await this.hold?.(r);
    if (r.state !== undefined) this.written.push(r.state as WorkflowRecord);
    return super.write(r);
  }
}

async function kit(store?: RecordingStore, clock?: TestClock) {
  log.clear();
  started.clear();
  charges.clear();
  attempts.clear();
  const k = await startTestEntities({
    kinds: KINDS,
    leaseTtlMs: 3_600_000,
    ...(store === undefined ? {} : { store, clock: clock! }),
  });
  clockRef.now = () => k.clock.now();
  return k;
}

const entryOf = (rec: WorkflowRecord | undefined, n: string) => rec?.journal.find((e) => e.n === n);

describe('a cancel waits for the running attempt', () => {
  test('a charge that returns after the cancel is journaled done and refunded; the step throws ERR_WORKFLOW_CANCELLED', async () => {
    await using k = await kit();
    const wf = await k.workflows.start(Order, 'o1', { mode: 'wait' });
    await began('o1').promise;
    assert.equal(await wf.cancel('changed their mind'), 'cancelled');
    charge('o1').resolve('c1'); // the charge commits after the cancel
    await assert.rejects(wf.result(), { code: 'ERR_WORKFLOW_CANCELLED' });
    assert.deepEqual(log.get('o1'), ['charge returned (signal aborted: true)', 'refund c1', 'release r1']);
    const rec = await wf.record();
    assert.equal(rec?.error?.code, 'ERR_WORKFLOW_CANCELLED', 'the body caught ERR_WORKFLOW_CANCELLED');
    const step = entryOf(rec, 'charge');
    assert.equal(step?.v, 'c1');
    assert.equal(step?.e, undefined);
    assert.equal(step?.c, true);
    assert.ok(entryOf(rec, 'compensate:charge')?.done);
  });

  test('a step that stops at its signal is journaled failed, with no retry, and throws ERR_WORKFLOW_CANCELLED', async () => {
    await using k = await kit();
    const wf = await k.workflows.start(Order, 'o2', { mode: 'cooperative' });
    await began('o2').promise;
    await wf.cancel();
    await assert.rejects(wf.result(), { code: 'ERR_WORKFLOW_CANCELLED' });
    assert.deepEqual(log.get('o2'), ['release r1'], 'nothing charged: nothing refunded');
    const rec = await wf.record();
    assert.equal(rec?.error?.code, 'ERR_WORKFLOW_CANCELLED');
    assert.equal(entryOf(rec, 'charge')?.e?.code, 'ERR_WORKFLOW_CANCELLED');
    assert.equal(entryOf(rec, 'charge')?.a, 1);
  });

  test('a cancel waits for an attempt at most its timeoutMs', async () => {
    await using k = await kit();
    const wf = await k.workflows.start(Order, 'o3', { mode: 'timeout' });
    await began('o3').promise;
    await wf.cancel();
    k.advanceTime(5_000);
    await assert.rejects(wf.result(), { code: 'ERR_WORKFLOW_CANCELLED' });
    const rec = await wf.record();
    assert.equal(rec?.error?.code, 'ERR_WORKFLOW_CANCELLED');
    assert.equal(
      entryOf(rec, 'charge')?.e?.code,
      'ERR_WORKFLOW_TIMEOUT',
      'the attempt was waited for until its timeout',
    );
  });

  test("cancellation: 'abandon' ends the step at once; what it returns later is ignored", async () => {
    await using k = await kit();
    const wf = await k.workflows.start(Order, 'o4', { mode: 'abandon' });
    await began('o4').promise;
    await wf.cancel();
    await assert.rejects(wf.result(), { code: 'ERR_WORKFLOW_CANCELLED' }); // the charge has not returned
    const before = await wf.record();
    assert.equal(before?.error?.code, 'ERR_WORKFLOW_CANCELLED');
    assert.equal(entryOf(before, 'charge')?.e?.code, 'ERR_WORKFLOW_CANCELLED');
    charge('o4').resolve('c1');
    await charge('o4').promise;
    await k.workflows.runUntilIdle();
    assert.deepEqual(log.get('o4'), ['release r1', 'charge returned (signal aborted: true)'], 'no refund: abandoned');
    assert.deepEqual((await wf.record())?.journal, before?.journal, 'its late outcome wrote nothing');
  });

  test('a call step waits for its reply after a cancel, and its compensation runs', async () => {
    await using k = await kit();
    const wf = await k.workflows.start(Caller, 'o5', undefined);
    await began('o5').promise;
    await wf.cancel();
    charge('o5').resolve('c5');
    await assert.rejects(wf.result(), { code: 'ERR_WORKFLOW_CANCELLED' });
    assert.deepEqual(log.get('o5'), ['bank charged', 'refund c5']);
    assert.equal((await wf.record())?.error?.code, 'ERR_WORKFLOW_CANCELLED');
  });

  test("a parent's wait for its child ends once the cancelled child ended (its compensations ran)", async () => {
    await using k = await kit();
    const wf = await k.workflows.start(Parent, 'p1', undefined);
    const kid = k.workflows.handle(Kid, 'p1-kid');
    await k.workflows.runUntilIdle();
    await wf.cancel();
    await assert.rejects(wf.result(), { code: 'ERR_WORKFLOW_CANCELLED' });
    assert.equal((await kid.record())?.status, 'cancelled', 'the child ended before the parent');
    assert.deepEqual(log.get('p1-kid'), ['kid undone']);
    const rec = await wf.record();
    assert.equal(rec?.error?.code, 'ERR_WORKFLOW_CANCELLED');
    assert.equal(entryOf(rec, 'result wf-cancel-kid/p1-kid')?.c, true);
  });

  test('a child whose start returns after the cancel is cancelled too', async () => {
    const clock = new TestClock();
    const store = new RecordingStore({ clock });
    const reached = gate<void>();
    const release = gate<void>();
    store.hold = (r) => {
      if (r.kind !== Kid.name) return undefined;
      store.hold = undefined;
      reached.resolve();
      return release.promise;
    };
    await using k = await kit(store, clock);
    const wf = await k.workflows.start(Parent, 'p2', undefined);
    await reached.promise; // the child's start is being written
    await wf.cancel();
    release.resolve();
    await assert.rejects(wf.result(), { code: 'ERR_WORKFLOW_CANCELLED' });
    await assert.rejects(k.workflows.handle(Kid, 'p2-kid').advanceUntilDone(), { code: 'ERR_WORKFLOW_CANCELLED' });
    assert.deepEqual(log.get('p2-kid'), ['kid undone']);
  });

  test('an unknown cancellation option is refused: ERR_WORKFLOW_INCORRECT', async () => {
    await using k = await kit();
    const wf = await k.workflows.start(Bad, 'b1', undefined);
    await assert.rejects(wf.advanceUntilDone(), (err: Error & { cause?: { code?: string } }) => {
      assert.equal(err.cause?.code, 'ERR_WORKFLOW_INCORRECT');
      return true;
    });
  });
});

describe('attempts across moves', () => {
  test('a run resumed during a backoff goes on counting and waits what is left of it', async () => {
    await using k = await kit();
    const wf = await k.workflows.start(Retried, 'r1', undefined);
    await k.workflows.runUntilIdle(); // attempt 1 failed: in its backoff
    for (let i = 0; i < 2; i++) {
      k.advanceTime(1_000);
      await k.workflows.runUntilIdle();
    }
    assert.deepEqual(
      attempts.get('r1')?.map((a) => a.attempt),
      [1, 2, 3],
    );
    const open = entryOf(await wf.record(), 'flaky');
    k.advanceTime(400);
    await k.restart(); // the activation ends (as on a move); the next one replays the journal
    await assert.rejects(wf.advanceUntilDone(), (err: Error & { cause?: Error }) => {
      assert.equal((err as { code?: string }).code, 'ERR_WORKFLOW_FAILED');
      assert.match(err.cause!.message, /after 6 attempt\(s\)/);
      return true;
    });
    const seen = attempts.get('r1')!;
    assert.deepEqual(
      seen.map((a) => a.attempt),
      [1, 2, 3, 4, 5, 6],
      'maxAttempts is the budget across the move',
    );
    assert.ok(seen[3]!.at >= seen[2]!.at + 1_000, 'attempt 4 not before its journaled retry time');
    // Its own op: code from before it would halt as diverged on it, not take it for a result.
    assert.deepEqual([open?.t, open?.of, open?.done], ['retry', 'step', undefined], 'attempt 3 failed: a retry entry');
    assert.equal(open?.a, 3);
    assert.equal(open?.r, seen[2]!.at + 1_000);
  });

  test('a step that succeeds at once is written once, done (no open entry)', async () => {
    const clock = new TestClock();
    const store = new RecordingStore({ clock });
    await using k = await kit(store, clock);
    const wf = await k.workflows.start(Order, 'o6', { mode: 'wait' });
    charge('o6').resolve('c6');
    await k.workflows.runUntilIdle();
    const rec = await wf.record();
    assert.deepEqual(
      rec?.journal.map((e) => [e.n, e.a, e.done]),
      [
        ['reserve', 1, true],
        ['charge', 1, true],
      ],
    );
    const open = store.written.flatMap((w) => (w.journal ?? []).filter((e) => e.done !== true));
    assert.deepEqual(open, [], 'no write carried an open entry');
  });
});

describe('compensations after a cancel', () => {
  test('a compensation is retried by its policy after a cancel', async () => {
    await using k = await kit();
    undo.fails = 2;
    undo.broken = false;
    const wf = await k.workflows.start(Saga, 's1', undefined);
    await k.workflows.runUntilIdle();
    await wf.cancel();
    await assert.rejects(wf.advanceUntilDone(), { code: 'ERR_WORKFLOW_CANCELLED' });
    assert.deepEqual(log.get('s1'), ['refund c1 (attempt 3)', 'release r1']);
  });

  test('one that fails for good does not stop the older ones; the instance fails naming it, and resume() runs it again', async () => {
    await using k = await kit();
    undo.fails = 0;
    undo.broken = true;
    const wf = await k.workflows.start(Saga, 's2', undefined);
    await k.workflows.runUntilIdle();
    await wf.cancel();
    await assert.rejects(wf.advanceUntilDone(), (err: Error & { cause?: Error }) => {
      assert.equal((err as { code?: string }).code, 'ERR_WORKFLOW_FAILED');
      assert.equal((err.cause as { code?: string }).code, 'ERR_WORKFLOW_COMPENSATION_FAILED');
      assert.match(err.cause!.message, /compensate:refund failed for good/);
      return true;
    });
    assert.deepEqual(log.get('s2'), ['release r1'], 'the older compensation ran');
    undo.broken = false; // the cause is fixed: the operator resumes it
    assert.equal(await wf.resume(), 'resumed');
    await assert.rejects(wf.advanceUntilDone(), { code: 'ERR_WORKFLOW_CANCELLED' });
    assert.deepEqual(log.get('s2'), ['release r1', 'refund c1 (attempt 1)'], 'only the failed one ran again');
  });
});
