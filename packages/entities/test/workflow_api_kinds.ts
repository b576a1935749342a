// The workflow kinds entities.workflows.test.ts drives: each exercises one part of the engine's API
// (steps and their retries, timeouts, sleeps, signals, queries, cancel and compensations,
// children, durable sends, deterministic values, patches). Every step function counts its runs
// by idempotency key in `effects`, so a test sees a step that ran twice.

import { schema } from 'ergo-ts';

import { defineWorkflow, terminalError } from '../src/index.js';
import { counterKind } from './counter.js';

/** Runs of each step function, by idempotency key (`<workflow>/<id>/<operation>`). */
export const effects = new Map<string, number>();
/** When each attempt of a step ran, by idempotency key (`now` is set by the test: the kit's clock). */
export const attemptsAt = new Map<string, number[]>();
/** The clock the step functions read (the kit's test clock, or the wall clock). */
export const clockRef = { now: (): number => Date.now() };

function ran(key: string): void {
  effects.set(key, (effects.get(key) ?? 0) + 1);
  attemptsAt.set(key, [...(attemptsAt.get(key) ?? []), clockRef.now()]);
}

/** Runs of the step of operation `seq` of instance `id` of workflow `wf`. */
export function runsOf(wf: string, id: string, seq: number): number {
  // Keys name the operation after its position (`<wf>/<id>/<seq>/<kind>:<name>`).
  let n = 0;
  for (const [key, count] of effects)
    if (key.startsWith(`${wf}/${id}/${seq}/`) && !key.endsWith(' aborted')) n += count;
  return n;
}

export const Counter = counterKind(0);

/** Step a, a wait for signal `go` (its payload added), step b. */
export const Steps = defineWorkflow(
  'wf-steps',
  async (ctx, input: { n: number }) => {
    const a = await ctx.step('a', ({ idempotencyKey }) => {
      ran(idempotencyKey);
      return input.n + 1;
    });
    const go = await ctx.signal('go');
    const b = await ctx.step('b', ({ idempotencyKey }) => {
      ran(idempotencyKey);
      return a * 10 + go;
    });
    return b;
  },
  { signals: { go: schema.integer() }, input: schema.object({ n: schema.integer() }), retry: { initialMs: 1 } },
);

/** A step failing `failures` times (terminally when `terminal`), retried up to 4 attempts 100, 200, 300, 300 ms apart. */
export const Flaky = defineWorkflow('wf-flaky', async (ctx, input: { failures: number; terminal?: boolean }) => {
  return ctx.step(
    'flaky',
    ({ idempotencyKey, attempt }) => {
      ran(idempotencyKey);
      if (attempt <= input.failures) {
        const err = new Error(`attempt ${attempt} failed`);
        throw input.terminal === true ? terminalError(err) : err;
      }
      return attempt;
    },
    { retry: { maxAttempts: 4, initialMs: 100, factor: 2, maxMs: 300 } },
  );
});

/** A step whose attempt waits until aborted, with a 1 s timeout and no retry. */
export const Timed = defineWorkflow('wf-timed', async (ctx) => {
  return ctx.step(
    'slow',
    ({ idempotencyKey, signal }) => {
      ran(idempotencyKey);
      return new Promise<string>((_, reject) =>
        signal.addEventListener('abort', () => {
          effects.set(`${idempotencyKey} aborted`, 1);
          reject(signal.reason as Error);
        }),
      );
    },
    { timeoutMs: 1000, retry: false },
  );
});

const DAY = 86_400_000;

/** Sleeps `days`, then a step. */
export const Sleeper = defineWorkflow('wf-sleeper', async (ctx, input: { days: number }) => {
  const from = ctx.now();
  await ctx.sleep(input.days * DAY);
  const woke = await ctx.step('after', ({ idempotencyKey }) => {
    ran(idempotencyKey);
    return clockRef.now();
  });
  return woke - from;
});

/** Sleeps `sleepMs`, then waits twice for `approve`, up to `timeoutMs` each (then 'timed out'), answering the query `state`. */
export const Approval = defineWorkflow(
  'wf-approval',
  async (ctx, input: { timeoutMs: number; sleepMs?: number }) => {
    let state = 'waiting';
    ctx.onQuery('state', () => state);
    if (input.sleepMs !== undefined) await ctx.sleep(input.sleepMs);
    try {
      const a = await ctx.signal('approve', { timeoutMs: input.timeoutMs });
      state = `approved by ${a.by}`;
      const b = await ctx.signal('approve', { timeoutMs: input.timeoutMs });
      state = `approved by ${a.by} and ${b.by}`;
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_WORKFLOW_TIMEOUT') throw err;
      state = 'timed out';
    }
    return state;
  },
  {
    signals: { approve: schema.object({ by: schema.string() }) },
    queries: { state: schema.string() },
  },
);

/** Doubles its input after a sleep of an hour; fails when the input is negative. */
export const Child = defineWorkflow('wf-child', async (ctx, input: number) => {
  await ctx.sleep(3_600_000);
  return ctx.step('double', ({ idempotencyKey }) => {
    ran(idempotencyKey);
    if (input < 0) throw terminalError(new Error('negative'));
    return input * 2;
  });
});

/** Waits for a signal that never comes (a child to cancel). */
export const Forever = defineWorkflow('wf-forever', async (ctx) => ctx.signal('never'), {
  signals: { never: schema.unknown() },
});

/** Runs a child to its end and adds 1 to its output. */
export const Parent = defineWorkflow('wf-parent', async (ctx, input: number) => {
  const out = await ctx.child(Child, `${ctx.id}-child`, input);
  return out + 1;
});

/**
 * A saga: reserve (compensated by release), charge (compensated by refund), a child that waits
 * forever, then a wait for `confirm`. Any failure (a cancel) runs the compensations and rethrows.
 */
export const Saga = defineWorkflow(
  'wf-saga',
  async (ctx, input: { order: string }) => {
    const undone: string[] = [];
    const keys: string[] = [];
    ctx.onQuery('undone', () => undone);
    ctx.onQuery('keys', () => keys);
    try {
      await ctx.step('reserve', () => `r-${input.order}`, {
        compensate: (r, { idempotencyKey }) => {
          undone.push(`release ${r}`);
          keys.push(idempotencyKey);
        },
      });
      const charge = await ctx.step('charge', () => `c-${input.order}`);
      ctx.compensate('refund', ({ idempotencyKey }) => {
        undone.push(`refund ${charge}`);
        keys.push(idempotencyKey);
      });
      await ctx.startChild(Forever, `${ctx.id}-watch`, undefined);
      await ctx.signal('confirm');
      return 'confirmed';
    } catch (err) {
      await ctx.runCompensations();
      throw err;
    }
  },
  {
    signals: { confirm: schema.unknown() },
    queries: { undone: schema.array(schema.string()), keys: schema.array(schema.string()) },
  },
);

/** Sends `add: 1` durably to counter `to`, then waits for `go`. */
export const Sender = defineWorkflow(
  'wf-sender',
  async (ctx, input: { to: string }) => {
    await ctx.send({ kind: Counter.name, key: input.to }, { add: 1 });
    await ctx.signal('go');
    return 'sent';
  },
  { signals: { go: schema.unknown() } },
);

/** Draws now, random and uuid, waits for `go`, returns them. */
export const Dice = defineWorkflow(
  'wf-dice',
  async (ctx) => {
    const drawn = { now: ctx.now(), random: ctx.random(), uuid: ctx.uuid() };
    ctx.onQuery('drawn', () => drawn);
    await ctx.signal('go');
    return drawn;
  },
  {
    signals: { go: schema.unknown() },
    queries: { drawn: schema.object({ now: schema.number(), random: schema.number(), uuid: schema.string() }) },
  },
);

/** A step whose result is `bytes` long, under a 1 KiB `maxValueBytes`. */
export const Big = defineWorkflow(
  'wf-big',
  async (ctx, input: { bytes: number }) => {
    const s = await ctx.step('big', () => 'x'.repeat(input.bytes));
    return s.length;
  },
  { maxValueBytes: 1024 },
);

/** A step whose result the stores cannot keep: a class instance. */
class Receipt {
  constructor(readonly amount: number) {}
  total(): number {
    return this.amount;
  }
}
export const Unstorable = defineWorkflow('wf-unstorable', async (ctx, input: { amount: number }) => {
  const when = await ctx.step('when', () => new Map([['at', new Date(0)]]));
  const r = await ctx.step('receipt', () => new Receipt(input.amount));
  return { when, r: r.total() };
});

const versionSignals = { go: schema.unknown() };

/** Version 1 of `wf-versioned`: steps `pay` and `ship`, then a wait for `go`. */
export const VersionedV1 = defineWorkflow(
  'wf-versioned',
  async (ctx) => {
    await ctx.step('pay', () => 'paid');
    await ctx.step('ship', () => 'shipped');
    await ctx.signal('go');
    return 'v1 path';
  },
  { signals: versionSignals },
);

/** Version 2, with a patch: a new step `notify` before `ship`, for instances that reach it on this code. */
export const VersionedV2 = defineWorkflow(
  'wf-versioned',
  async (ctx) => {
    await ctx.step('pay', () => 'paid');
    const notified = ctx.patched('notify-before-ship');
    if (notified) await ctx.step('notify', () => 'notified');
    await ctx.step('ship', () => 'shipped');
    await ctx.signal('go');
    return notified ? 'v2 path' : 'v1 path';
  },
  { signals: versionSignals },
);

/** Version 2 without a patch: `notify` where an old journal has `ship` (a replay diverges at operation 1). */
export const VersionedBroken = defineWorkflow(
  'wf-versioned',
  async (ctx) => {
    await ctx.step('pay', () => 'paid');
    await ctx.step('notify', () => 'notified');
    await ctx.step('ship', () => 'shipped');
    await ctx.signal('go');
    return 'v2 path';
  },
  { signals: versionSignals },
);

/** A card refused: a class of the application's, with a field of its own, that a journal does not keep as a class. */
export class CardError extends Error {
  constructor(
    message: string,
    readonly last4: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CardError';
  }
}

/**
 * The failure converter of {@link Declined}: a CardError is kept as an error whose `details` say
 * its class and field; rebuilt as a CardError again (its cause chain under it), in the body after
 * a replay and at every caller. Counts its calls so a test sees it ran.
 */
export const cardConverter = {
  calls: { toStored: 0, fromStored: 0 },
  toStored(err: unknown): unknown {
    this.calls.toStored++;
    if (!(err instanceof CardError)) return err;
    const out = new Error(err.message, { cause: err.cause });
    out.name = 'CardError';
    out.stack = err.stack ?? '';
    (out as { details?: unknown }).details = { class: 'CardError', last4: err.last4 };
    return out;
  },
  fromStored(err: Error): Error {
    this.calls.fromStored++;
    const d = (err as { details?: { class?: unknown; last4?: unknown } }).details;
    if (d?.class !== 'CardError') return err;
    const out = new CardError(err.message, String(d.last4), { cause: err.cause });
    out.stack = err.stack ?? '';
    return out;
  },
};

/**
 * A step fails with a CardError three deep (card ← gateway ← socket); the body catches it, waits
 * for `go` (a restart may come in between: then the replay rebuilds it from the journal), checks
 * it is still a CardError, and fails with it.
 */
export const Declined = defineWorkflow(
  'wf-declined',
  async (ctx) => {
    let failure: unknown;
    try {
      await ctx.step('charge', ({ idempotencyKey }) => {
        ran(idempotencyKey);
        const socket = new Error('socket closed by peer');
        const gateway = Object.assign(new Error('gateway refused', { cause: socket }), { code: 'ERR_GATEWAY' });
        throw terminalError(new CardError('card declined', '4242', { cause: gateway }));
      });
    } catch (err) {
      failure = (err as Error).cause;
    }
    await ctx.signal('go');
    if (!(failure instanceof CardError)) throw new Error(`the body got ${String(failure)}, not a CardError`);
    throw failure;
  },
  { signals: { go: schema.integer() }, failureConverter: cardConverter },
);
