// The clock the entities runtime keeps its own time with (internal): when an idle activation
// passivates and how often leases are renewed. By default the wall clock with ordinary Node timers;
// the entities test kit (`@ergo-ts/entities/testing`) gives the core kit's TestClock instead, so a
// test moves time (passivation, lease renewal and, later, reminders) with `advanceTime` and nothing
// fires on its own. A call's timeout and the routing retries stay on the wall clock: they bound
// real waiting, which a virtual clock must not stretch.

/**
 * @internal What the runtime asks of a clock. The core test kit's `TestClock` fits it as it is.
 * Reminders (a later capability) schedule on this same seam, so a test fires them by moving time.
 */
export interface EntitiesClock {
  /** The time now, epoch milliseconds. */
  now(): number;
  /** Runs `fn` once after `ms` of this clock's time; the handle cancels it. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer of {@link setTimeout} (one that fired or was cancelled: nothing happens). */
  clearTimeout(handle: unknown): unknown;
}

/** @internal The wall clock: `Date.now()` and Node timers that do not keep the process alive. */
export const wallClock: EntitiesClock = Object.freeze({
  now: (): number => Date.now(),
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms).unref(),
  clearTimeout: (handle: unknown): void => clearTimeout(handle as NodeJS.Timeout),
});

/**
 * @internal Runs `fn` every `ms` of `clock`'s time until the returned function is called. Each
 * round is armed when the previous one ran, so on a virtual clock one long advance runs every round
 * that falls within it, in order.
 */
export function every(clock: EntitiesClock, ms: number, fn: () => void): () => void {
  let stopped = false;
  let handle: unknown;
  const round = (): void => {
    if (stopped) return;
    handle = clock.setTimeout(round, ms);
    fn();
  };
  handle = clock.setTimeout(round, ms);
  return () => {
    stopped = true;
    clock.clearTimeout(handle);
  };
}
