// The run queue. Processes with work are queued once; a drain runs each for one bounded batch,
// re-queues those with messages left, and hands the thread back to the event loop (setImmediate)
// once its time budget is spent, so sockets and timers are never starved by a message storm.
// The drain reads the clock once per batch: that one reading both checks the budget and charges
// the batch (scheduler step included) to the runnable's `runningTime`.

import { Ring } from '../lib/ring.js';

/** Something the scheduler can run: a process with pending work. */
export interface Runnable {
  /** True while the runnable sits in the run queue. */
  queued: boolean;
  /** Runs one batch. */
  run(): void;
  /** Milliseconds spent in this runnable's batches (charged by the scheduler). */
  runningTime: number;
}

/**
 * An already resolved promise: a drain queued with `then` on it is a plain microtask job, about
 * a third of the cost of `queueMicrotask` (which wraps its callback for async hooks and errors).
 */
const RESOLVED: Promise<void> = Promise.resolve();

/** Milliseconds a drain may run before yielding to the event loop. */
export const DRAIN_BUDGET_MS = 8;
/** How many microtask drains are scheduled between checks of the event-loop slice's budget. */
const CLOCK_EVERY = 32;

/** One run queue per node. */
export class Scheduler {
  private readonly runq = new Ring<Runnable>(1, 64);
  private scheduled = false;
  /**
   * When the current event-loop slice began (reset by every macrotask drain), and how many
   * microtask drains were scheduled since. Handlers that return promises settle in microtasks,
   * so a message storm through async handlers is a chain of short microtask drains that never
   * reaches the event loop: the budget must hold across the chain, not only inside one drain.
   */
  private sliceStart = 0;
  private microDrains = 0;
  private readonly drainMicro = (): void => this.drain();
  private readonly drainMacro = (): void => {
    this.sliceStart = performance.now();
    this.microDrains = 0;
    this.drain();
  };

  /** Queues `r` (once) and makes sure a drain is coming. */
  enqueue(r: Runnable): void {
    if (r.queued) return;
    r.queued = true;
    this.runq.push(r);
    if (!this.scheduled) {
      this.scheduled = true;
      if (++this.microDrains % CLOCK_EVERY === 0 && performance.now() - this.sliceStart > DRAIN_BUDGET_MS) {
        setImmediate(this.drainMacro);
      } else {
        void RESOLVED.then(this.drainMicro);
      }
    }
  }

  /** Number of runnables waiting. */
  get length(): number {
    return this.runq.length;
  }

  private drain(): void {
    const runq = this.runq;
    const start = performance.now();
    let prev = start;
    while (runq.length > 0) {
      const r = runq.shift()!;
      r.queued = false;
      try {
        r.run();
      } catch (e) {
        // run() guards behaviour code itself; anything reaching here is a framework bug, and it
        // must not stop every other process from running.
        process.emitWarning(`ergo-ts: scheduler caught ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
      const now = performance.now();
      r.runningTime += now - prev;
      prev = now;
      if (now - start > DRAIN_BUDGET_MS) {
        setImmediate(this.drainMacro);
        return;
      }
    }
    this.scheduled = false;
  }
}
