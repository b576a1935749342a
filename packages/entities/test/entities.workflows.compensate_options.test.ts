// Compensations take a step's options (issue 78, item 6), on the entities test kit (MemoryStore,
// test clock): a hung refund with `timeoutMs` has its attempt's signal aborted at the timeout,
// fails ERR_WORKFLOW_TIMEOUT and is retried per its `retry`, so it cannot hold the instance past
// timeout × attempts (the instance ends failed with ERR_WORKFLOW_COMPENSATION_FAILED); a step's
// `compensate: { run, timeoutMs, retry }` does the same; `describe()` (and the test kit's probe)
// shows a running step and a running compensation with name, attempt and start; options a step
// would refuse are refused where they are written, with ERR_WORKFLOW_INCORRECT.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { schema } from 'ergo-ts';

import { defineWorkflow, terminalError, type StepInfo } from '../src/index.js';
import { replayWorkflow, startTestEntities } from '../src/testing/index.js';

/** A promise a test settles by hand. */
function gate<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Each refund attempt: its number, when it started and when (if) its signal was aborted, with what code. */
const refunds: { attempt: number; startedAt: number; abortedAt?: number; reason?: string }[] = [];
const clockRef = { now: (): number => 0 };
/** Resolved at each refund attempt's start (the test replaces it to wait for the next). */
let refundStarted = gate();

/** A refund that hangs (a pool deadlock downstream) until its signal is aborted, and even then. */
function hungRefund({ attempt, signal }: StepInfo): Promise<never> {
  const r: (typeof refunds)[number] = { attempt, startedAt: clockRef.now() };
  refunds.push(r);
  signal.addEventListener('abort', () => {
    r.abortedAt = clockRef.now();
    r.reason = (signal.reason as { code?: string }).code;
  });
  refundStarted.resolve();
  return new Promise<never>(() => undefined); // never settles: only its timeout ends it
}

const RETRY = { maxAttempts: 3, initialMs: 1_000, factor: 1, maxMs: 1_000 };

/** Charges, pushes a hung refund (ctx.compensate or the step's option), waits for `confirm`; on a cancel, compensates. */
const Order = defineWorkflow(
  'wf-comp-opts',
  async (ctx, input: { via: 'compensate' | 'step' }) => {
    try {
      if (input.via === 'compensate') {
        await ctx.step('charge', () => 'c1');
        ctx.compensate('refund', hungRefund, { timeoutMs: 5_000, retry: RETRY });
      } else
        await ctx.step('charge', () => 'c1', {
          compensate: { run: (_c, info) => hungRefund(info), timeoutMs: 5_000, retry: RETRY },
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

/** A step and then its compensation wait for the test's gates: describe() shows each running. */
const stepGate = gate<string>();
const stepStarted = gate();
const undoGate = gate();
const undoStarted = gate();
const Visible = defineWorkflow(
  'wf-comp-visible',
  async (ctx) => {
    try {
      await ctx.step(
        'ship',
        () => {
          stepStarted.resolve();
          return stepGate.promise;
        },
        {
          timeoutMs: 60_000,
          compensate: () => {
            undoStarted.resolve();
            return undoGate.promise;
          },
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

/** Options a step refuses, in ctx.compensate and in a step's `compensate`. */
const Bad = defineWorkflow('wf-comp-bad', async (ctx, input: { how: string }) => {
  const refusals: string[] = [];
  const tryIt = async (f: () => unknown): Promise<void> => {
    try {
      await f();
      refusals.push('accepted');
    } catch (err) {
      refusals.push((err as { code?: string }).code ?? String(err));
    }
  };
  await tryIt(() => ctx.compensate('a', () => 1, { timeoutMs: -1 }));
  await tryIt(() => ctx.compensate('b', () => 1, { retry: { maxAttempts: 0 } }));
  await tryIt(() => ctx.compensate('c', () => 1, 'fast' as never));
  await tryIt(() => ctx.step('d', () => 1, { compensate: { timeoutMs: 10 } as never }));
  await tryIt(() => ctx.step('e', () => 1, { compensate: { run: () => 1, timeoutMs: 0 } }));
  await tryIt(() => ctx.step('f', () => 1, { compensate: { run: () => 1, retry: false, timeoutMs: 10 } }));
  return [input.how, ...refusals];
});

async function kit() {
  const k = await startTestEntities({ kinds: [Order, Visible, Bad], leaseTtlMs: 3_600_000 });
  clockRef.now = () => k.clock.now();
  return k;
}

for (const via of ['compensate', 'step'] as const) {
  test(`a hung compensation (${via === 'compensate' ? 'ctx.compensate' : "a step's compensate"} with timeoutMs and retry) times out per attempt and fails the instance after its attempts`, async () => {
    refunds.length = 0;
    refundStarted = gate();
    await using k = await kit();
    const wf = await k.workflows.start(Order, `o-${via}`, { via });
    const comp = via === 'compensate' ? 'compensate:refund' : 'compensate:charge';
    await k.workflows.runUntilIdle();
    assert.equal(await wf.cancel('the customer cancelled'), 'cancelled');
    for (let attempt = 1; attempt <= 3; attempt++) {
      await refundStarted.promise;
      refundStarted = gate();
      const running = (await wf.describe()).running ?? [];
      assert.deepEqual(
        running.map((r) => [r.t, r.n, r.attempt, r.startedAt, r.timeoutAt]),
        [['step', comp, attempt, k.clock.now(), k.clock.now() + 5_000]],
        `attempt ${attempt} is seen running`,
      );
      k.advanceTime(5_000); // its timeout
      if (attempt < 3) {
        await k.workflows.runUntilIdle(); // in its backoff
        k.advanceTime(1_000);
      }
    }
    await assert.rejects(wf.result(), (err: Error & { cause?: Error & { cause?: Error } }) => {
      assert.equal((err as { code?: string }).code, 'ERR_WORKFLOW_FAILED');
      assert.equal((err.cause as { code?: string }).code, 'ERR_WORKFLOW_COMPENSATION_FAILED');
      assert.match(err.cause!.message, /compensate:(refund|charge) failed for good/);
      return true;
    });
    assert.deepEqual(
      refunds.map((r) => [r.attempt, r.reason, r.abortedAt! - r.startedAt]),
      [
        [1, 'ERR_WORKFLOW_TIMEOUT', 5_000],
        [2, 'ERR_WORKFLOW_TIMEOUT', 5_000],
        [3, 'ERR_WORKFLOW_TIMEOUT', 5_000],
      ],
      'each attempt’s signal was aborted at its timeout; three attempts, then no more',
    );
    const d = await wf.describe();
    assert.equal(d.status, 'failed');
    assert.equal(d.running, undefined, 'nothing runs once it ended');
    const entry = d.history.find((e) => e.n.startsWith('compensate:'));
    assert.deepEqual(
      [entry?.a, entry?.e?.code],
      [3, 'ERR_WORKFLOW_TIMEOUT'],
      'journaled as a step: old journals read alike',
    );
  });
}

test('describe() shows a running step, then a running compensation, with name, attempt and start', async () => {
  await using k = await kit();
  const wf = await k.workflows.start(Visible, 'v1', undefined);
  await stepStarted.promise;
  const t0 = k.clock.now();
  const d1 = await wf.describe();
  assert.deepEqual(d1.running, [{ s: 0, t: 'step', n: 'ship', attempt: 1, startedAt: t0, timeoutAt: t0 + 60_000 }]);
  stepGate.resolve('shipped');
  await k.workflows.runUntilIdle(); // waits for confirm
  assert.equal((await wf.describe()).running, undefined, 'a finished step is no longer running');
  k.advanceTime(1_000);
  await wf.cancel();
  await undoStarted.promise;
  const d2 = await wf.describe();
  assert.deepEqual(d2.running, [{ s: 2, t: 'step', n: 'compensate:ship', attempt: 1, startedAt: t0 + 1_000 }]);
  undoGate.resolve();
  await assert.rejects(wf.result(), { code: 'ERR_WORKFLOW_CANCELLED' });
  assert.equal((await wf.describe()).running, undefined);
});

test('compensation options a step would refuse are refused where they are written (ERR_WORKFLOW_INCORRECT)', async () => {
  await using k = await kit();
  const wf = await k.workflows.start(Bad, 'b1', { how: 'refusals' });
  assert.deepEqual(await wf.advanceUntilDone(), [
    'refusals',
    'ERR_WORKFLOW_INCORRECT',
    'ERR_WORKFLOW_INCORRECT',
    'ERR_WORKFLOW_INCORRECT',
    'ERR_WORKFLOW_INCORRECT',
    'ERR_WORKFLOW_INCORRECT',
    'accepted',
  ]);
});

/** A saga whose compensation now has options: its journal is the one written before it had them. */
const Legacy = defineWorkflow('wf-comp-legacy', async (ctx) => {
  try {
    await ctx.step('charge', () => 'c1', { compensate: { run: () => 'refunded', timeoutMs: 30_000, retry: false } });
    ctx.compensate('notify', () => 'told', { timeoutMs: 5_000 });
    await ctx.step('ship', () => {
      throw terminalError(new Error('no truck'));
    });
    return 'shipped';
  } catch (err) {
    await ctx.runCompensations();
    throw err;
  }
});

test('a journal written before compensations took options replays against the code that gives them options', async () => {
  // As the code before wrote it for `compensate: (c) => ...` and `ctx.compensate('notify', fn)`.
  const journal = [
    { s: 0, t: 'step', n: 'charge', v: 'c1', a: 1, at: 1, done: true },
    { s: 1, t: 'step', n: 'ship', e: { name: 'Error', message: 'no truck' }, a: 1, at: 2, done: true },
    { s: 2, t: 'step', n: 'compensate:notify', v: 'told', a: 1, at: 3, done: true },
    { s: 3, t: 'step', n: 'compensate:charge', v: 'refunded', a: 1, at: 4, done: true },
  ];
  const report = await replayWorkflow(Legacy, JSON.stringify({ input: null, journal })); // as saved
  assert.deepEqual([report.replayed, report.ended], [4, 'threw']);
});
