// Temporal-shaped workflows the tests run through `@ergo-ts/temporal` (written as a Temporal
// project writes them: module-level definitions, exported workflow functions).

import * as wf from '../src/workflow/index.js';
import { ApplicationFailure, Context, log } from '../src/activity/index.js';

/** Activities: attempts are counted per key so a test can read them. */
export const attempts = new Map<string, number>();

export const activities = {
  async flaky(key: string, failures: number): Promise<string> {
    const n = Context.current().info.attempt;
    attempts.set(key, n);
    if (n <= failures) throw new Error(`attempt ${n} failed`);
    return `${key} ok after ${n}`;
  },
  async refuse(): Promise<never> {
    throw ApplicationFailure.nonRetryable('no way', 'Refused');
  },
  async hang(): Promise<void> {
    await Context.current().sleep(60_000); // until the schedule-to-close deadline aborts it
  },
  async double(n: number): Promise<number> {
    return n * 2;
  },
  /** Logs through `@temporalio/activity`'s `log` (Context.current().log). */
  async noted(n: number): Promise<number> {
    log.info('noted', { n });
    return n + 1;
  },
};

const fast = wf.proxyActivities<typeof activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: 1, backoffCoefficient: 1, maximumAttempts: 3 },
});
const bounded = wf.proxyActivities<typeof activities>({
  scheduleToCloseTimeout: '150ms',
  retry: { maximumAttempts: 1 },
});

const tryCancel = wf.proxyActivities<typeof activities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 1 },
  cancellationType: wf.ActivityCancellationType.TRY_CANCEL,
});

export const add = wf.defineSignal<[number]>('add');
export const finish = wf.defineSignal('finish');
export const total = wf.defineQuery<number, [number]>('total');
export const setLimit = wf.defineUpdate<number, [number]>('setLimit');

/** Retries an activity, then fails with what the last attempt threw. */
export async function retrying(key: string, failures: number): Promise<string> {
  return fast.flaky(key, failures);
}

/** A non-retryable ApplicationFailure: one attempt. */
export async function refusing(): Promise<void> {
  await fast.refuse();
}

/** The schedule-to-close deadline: caught in the body and described. */
export async function deadline(): Promise<string> {
  try {
    await bounded.hang();
    return 'no timeout';
  } catch (err) {
    if (err instanceof wf.ActivityFailure && err.cause instanceof wf.TimeoutFailure) return err.cause.timeoutType;
    throw err;
  }
}

/**
 * Handlers beside the body: signals add to a sum, an update sets the limit (its validator refuses
 * a negative one), a query reads the sum with an offset. The body waits on a promise only the
 * `finish` handler settles — not on a condition — as Temporal bodies often do.
 */
export async function counter(): Promise<number> {
  let sum = 0;
  let limit = 100;
  wf.setHandler(add, (n) => {
    sum += n;
  });
  wf.setHandler(total, (offset) => sum + (offset ?? 0));
  wf.setHandler(
    setLimit,
    (l) => {
      limit = l;
      return limit;
    },
    {
      validator: (l) => {
        if (l < 0) throw new Error('a limit is not negative');
      },
    },
  );
  await new Promise<void>((resolve) => wf.setHandler(finish, () => resolve()));
  return Math.min(sum, limit);
}

/** Sleeps while a signal handler runs during the sleep, then returns what it saw. */
export async function sleeper(): Promise<number> {
  let got = 0;
  wf.setHandler(add, (n) => {
    got += n;
  });
  await wf.sleep(50);
  await wf.condition(() => got > 0);
  return got;
}

export const nap = wf.defineUpdate<number, [number, number]>('nap');
export const atLeast = wf.defineUpdate<number, [number]>('atLeast');

/**
 * Handlers that wait, the Temporal way: `nap` sleeps then adds, `atLeast` waits in a condition
 * the other handlers make true; the body waits for `finish`, then for its handlers.
 */
export async function napper(): Promise<string[]> {
  let total = 0;
  let done = false;
  const order: string[] = [];
  wf.setHandler(add, (n) => {
    total += n;
    order.push(`add ${n}`);
  });
  wf.setHandler(finish, () => {
    done = true;
  });
  wf.setHandler(nap, async (ms, n) => {
    order.push(`nap ${n}`);
    await wf.sleep(ms);
    total += n;
    order.push(`woke ${n}`);
    return n;
  });
  wf.setHandler(atLeast, async (min) => {
    await wf.condition(() => total >= min);
    order.push(`atLeast ${min}`);
    return total;
  });
  await wf.condition(() => done);
  await wf.condition(wf.allHandlersFinished);
  return order;
}

/** A child, signalled by its parent, and continue-as-new with the memo carried over. */
export async function parent(n: number): Promise<string> {
  const child = await wf.startChild(waiter, { args: [n] });
  await child.signal(add, 5);
  const doubled = await wf.executeChild<number>('doubler', { args: [n] });
  return `${await child.result()}/${doubled}`;
}

export async function waiter(n: number): Promise<number> {
  let got = 0;
  wf.setHandler(add, (x) => {
    got = x;
  });
  await wf.condition(() => got !== 0);
  return n + got;
}

const unserved = wf.proxyActivities<typeof activities>({ scheduleToCloseTimeout: '300ms' });

/** An activity with only a schedule-to-close timeout: its result, or the timeout type it failed with. */
export async function startBounded(n: number): Promise<string> {
  try {
    return String(await unserved.double(n));
  } catch (err) {
    if (err instanceof wf.ActivityFailure && err.cause instanceof wf.TimeoutFailure) return err.cause.timeoutType;
    throw err;
  }
}

export async function doubler(n: number): Promise<number> {
  return fast.double(n);
}

/** An activity that logs. */
export async function noting(n: number): Promise<number> {
  return fast.noted(n);
}

export async function looping(runs: number): Promise<string> {
  const info = wf.workflowInfo();
  if (runs > 1) return wf.continueAsNew<typeof looping>(runs - 1);
  return `${String(info.memo?.owner)} ${info.continuedFromExecutionRunId === undefined ? 'first' : 'continued'}`;
}

/** What a cancellation scope does today: refused with a code. */
/**
 * Settles once {@link scoped} registered its `finish` handler (read by the test, the body runs in
 * this process): the test signals then, so what it checks is the scopes, not a signal's arrival
 * before the handler (handlers tests cover that).
 */
export const scopedReady: { promise: Promise<void>; resolve: () => void } = (() => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
})();

export async function scoped(): Promise<string> {
  const seen: string[] = [];
  try {
    await wf.CancellationScope.cancellable(async () => {
      const running = tryCancel.hang();
      await wf.sleep(1);
      wf.CancellationScope.current().cancel();
      await running;
    });
    seen.push('not cancelled');
  } catch (err) {
    seen.push(
      err instanceof wf.ActivityFailure && err.cause instanceof wf.CancelledFailure
        ? 'activity cancelled'
        : String(err),
    );
  }
  // The driver's idle wait asked right after the scope's cancel belongs to no scope (not struck by it).
  await new Promise<void>((resolve) => {
    wf.setHandler(finish, () => resolve());
    scopedReady.resolve();
  });
  try {
    await wf.CancellationScope.withTimeout(1, () => wf.condition(() => false));
  } catch (err) {
    seen.push(wf.isCancellation(err) ? 'timed out' : String(err));
  }
  seen.push(String(await wf.CancellationScope.nonCancellable(() => fast.double(21))));
  try {
    wf.CancellationScope.current().cancel();
  } catch (err) {
    seen.push(String((err as { code?: unknown }).code));
  }
  return seen.join(', ');
}

/** Ids whose body caught a CancelledFailure (read by the test: the body runs in this process). */
export const sawCancel = new Set<string>();

/** Waits to be unblocked; a cancel reaches its condition as a CancelledFailure, rethrown. */
export async function blocked(): Promise<void> {
  let isBlocked = true;
  wf.setHandler(finish, () => void (isBlocked = false));
  try {
    await wf.condition(() => !isBlocked);
  } catch (err) {
    if (err instanceof wf.CancelledFailure) sawCancel.add(wf.workflowInfo().workflowId);
    throw err;
  }
}

/** The runs of `cronRun` by workflow id, each with the `cronSchedule` its workflowInfo() showed. */
export const cronRuns = new Map<string, string[]>();

/** A cron workflow's run: records its schedule and ends (its next run starts at the next time). */
export async function cronRun(tag: string): Promise<string> {
  const { workflowId, cronSchedule } = wf.workflowInfo();
  cronRuns.set(workflowId, [...(cronRuns.get(workflowId) ?? []), `${tag} ${cronSchedule ?? 'none'}`]);
  return tag;
}
