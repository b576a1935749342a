// Bounded waits for tests: `eventually` polls a probe until it gives a truthy value (for states
// that no event announces), `within` guards a promise that should settle. Both bounds are hang
// guards, never timing checks: they are generous, and expiry fails with a message naming what was
// awaited instead of letting the test hang or the event loop drain.

/** The values `eventually` keeps polling on. */
export type Falsy = false | 0 | 0n | '' | null | undefined;

/** Options of {@link eventually}. */
export interface EventuallyOptions {
  /** The hang guard in ms (default {@link EVENTUALLY_TIMEOUT_MS}); the probe gets at least one try. */
  timeoutMs?: number;
  /** Pause between probes in ms (default {@link EVENTUALLY_INTERVAL_MS}). */
  intervalMs?: number;
}

/** Default bound of {@link eventually}: generous, it only stops a hang. */
export const EVENTUALLY_TIMEOUT_MS = 10_000;

/** Default pause between two probes of {@link eventually}. */
export const EVENTUALLY_INTERVAL_MS = 5;

/** Default bound of {@link within}. */
export const WITHIN_TIMEOUT_MS = 10_000;

/** The error `eventually` and `within` reject with when their bound expires. */
export class WaitTimeoutError extends Error {
  /** Stable code: `ERR_TEST_WAIT_TIMEOUT`. */
  readonly code = 'ERR_TEST_WAIT_TIMEOUT';
  override name = 'WaitTimeoutError';
}

function checkMs(name: string, ms: number, min: number): void {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < min) {
    throw Object.assign(new RangeError(`${name} must be a finite number >= ${min}, got ${String(ms)}`), {
      code: 'ERR_TEST_WAIT_OPTION',
    });
  }
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/**
 * Polls `probe` (sync or async) until it returns a truthy value, and resolves with that value.
 * A probe that throws or rejects counts as "not yet"; its last error is named in the failure.
 * When `timeoutMs` passes first (a probe that hangs included), rejects with a
 * {@link WaitTimeoutError} naming `what`, the bound and the probe's last error (also its `cause`).
 * Bad options throw a RangeError (code `ERR_TEST_WAIT_OPTION`) at once.
 *
 * No timer of its own is active while the probe's synchronous part runs, so a probe may count
 * the process's active handles (`process.getActiveResourcesInfo()`).
 *
 * @example
 * const pid = await eventually(() => node.whereis('worker'), 'worker registered');
 * await eventually(async () => (await cluster.status(b)).isLeader, 'b leads', { timeoutMs: 30_000 });
 */
export function eventually<T>(
  probe: () => T | PromiseLike<T>,
  what: string,
  options: EventuallyOptions = {},
): Promise<Exclude<Awaited<T>, Falsy>> {
  const { timeoutMs = EVENTUALLY_TIMEOUT_MS, intervalMs = EVENTUALLY_INTERVAL_MS } = options;
  checkMs('timeoutMs', timeoutMs, 0);
  checkMs('intervalMs', intervalMs, 0);
  return poll(probe, what, timeoutMs, intervalMs);
}

/** Marks a probe that had not settled when the bound passed. */
const HUNG = Symbol('hung');

async function poll<T>(
  probe: () => T | PromiseLike<T>,
  what: string,
  timeoutMs: number,
  intervalMs: number,
): Promise<Exclude<Awaited<T>, Falsy>> {
  const deadline = performance.now() + timeoutMs;
  let lastError: { error: unknown } | undefined;
  let tries = 0;
  let hung = false;
  for (;;) {
    tries++;
    try {
      const out = probe();
      // The guard is armed only once the probe's synchronous part has run (see above).
      const value = isThenable(out) ? await settledBy(out, deadline) : out;
      if (value === HUNG) hung = true;
      else if (value) return value as Exclude<Awaited<T>, Falsy>;
    } catch (e) {
      lastError = { error: e };
    }
    const left = deadline - performance.now();
    if (hung || left <= 0) {
      const last =
        (lastError === undefined ? '' : `; last probe error: ${describe(lastError.error)}`) +
        (hung ? '; the last probe did not settle' : '');
      const msg = `timed out after ${timeoutMs} ms (${tries} probes) waiting for ${what}${last}`;
      throw new WaitTimeoutError(msg, lastError === undefined ? undefined : { cause: lastError.error });
    }
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, left)));
  }
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    (typeof v === 'object' || typeof v === 'function') &&
    v !== null &&
    typeof (v as PromiseLike<unknown>).then === 'function'
  );
}

/** `p`'s value, or HUNG when it has not settled by `deadline` (its later rejection is handled). */
function settledBy<T>(p: PromiseLike<T>, deadline: number): Promise<T | typeof HUNG> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Ref'd on purpose: a probe waiting on nothing that keeps the loop alive fails with the message.
  const guard = new Promise<typeof HUNG>((resolve) => {
    timer = setTimeout(() => resolve(HUNG), Math.max(0, deadline - performance.now()));
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

/**
 * Resolves or rejects as `p` does, or rejects with a {@link WaitTimeoutError} naming `what` when
 * `p` has not settled within `ms` (default {@link WITHIN_TIMEOUT_MS}). A guard, never a timing
 * check. The timer is ref'd on purpose, so a missing event fails with this message instead of
 * letting the event loop drain.
 */
export function within<T>(p: PromiseLike<T>, what: string, ms: number = WITHIN_TIMEOUT_MS): Promise<T> {
  checkMs('ms', ms, 0);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WaitTimeoutError(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}
