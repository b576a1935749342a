// The run queue. Processes with work are queued once; a drain runs each for one bounded batch,
// re-queues those with messages left, and hands the thread back to the event loop (setImmediate)
// once its time budget is spent, so sockets and timers are never starved by a message storm.

import { Ring } from '../lib/ring.js';

/** Something the scheduler can run: a process with pending work. */
export interface Runnable {
  /** True while the runnable sits in the run queue. */
  queued: boolean;
  /** Runs one batch. */
  run(): void;
}

/** Milliseconds a drain may run before yielding to the event loop. */
export const DRAIN_BUDGET_MS = 8;
/** How many runnables are served between clock reads. */
const CLOCK_EVERY = 32;

/** One run queue per node. */
export class Scheduler {
  private readonly runq = new Ring<Runnable>(1, 64);
  private scheduled = false;
  /** The runnable whose batch is executing right now (null between batches). */
  current: Runnable | null = null;
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
        queueMicrotask(this.drainMicro);
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
    let served = 0;
    while (runq.length > 0) {
      const r = runq.shift()!;
      r.queued = false;
      this.current = r;
      try {
        r.run();
      } catch (e) {
        // run() guards behaviour code itself; anything reaching here is a framework bug, and it
        // must not stop every other process from running.
        process.emitWarning(`ergo-ts: scheduler caught ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
      this.current = null;
      if (++served % CLOCK_EVERY === 0 && performance.now() - start > DRAIN_BUDGET_MS) {
        setImmediate(this.drainMacro);
        return;
      }
    }
    this.scheduled = false;
  }
}
