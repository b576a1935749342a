// The run queue. Processes with work are queued once; a drain runs each for one bounded batch,
// re-queues those with messages left, and hands the thread back to the event loop (setImmediate)
// once its time budget is spent, so sockets and timers are never starved by a message storm.
//
// A clock reading costs about as much as a short batch (80–130 ns on a VM), and a call between
// two processes is one batch per microtask drain, so the drain reads the clock rarely:
// - A drain that empties the queue lingers for one more microtask before going quiet. The reply
//   of a call wakes its caller in a promise job queued before that linger, and the caller's next
//   call queues the callee again before the linger runs: a call ping-pong is one long chain of
//   drains (one slice), not one opening per call.
// - Batches are timed by sampling (see `runningTime` in gen/process.ts): the first batch of a
//   drain that opens a slice, every batch while batches are long, and otherwise each batch with
//   probability 1/SAMPLE_EVERY, charged SAMPLE_EVERY times its duration. The expectation of the
//   charge is the time the process' batches took (Horvitz–Thompson); the choice is random, so a
//   round robin of many processes cannot alias with it.
// - Each reading also checks the budget, and the drain reads the clock after at most
//   MAX_UNTIMED untimed batches, so a chain of drains overruns its budget by at most that many
//   short batches (or one long batch: long batches are all timed).
// - Each reading is also a flush point: once FLUSH_EVERY_MS of the slice has passed since the
//   last one, what the node's processes sent to other nodes is written now, not at the end of
//   the task (net/proto/link.ts). Without it a busy node kept its outbound batch until its drain
//   yielded — up to a whole budget — while the peer node that was to work on it sat idle, so
//   nodes of one host took turns instead of running at once. A short drain (a call ping-pong)
//   never reaches a flush point: its batch still leaves once, at the end of the task.

import { Ring } from '../lib/ring.js';
import { emitWarning, macrotask } from '../lib/host.js';

/**
 * What runs at a flush point: the network stack's link writes (Node's startNode installs
 * net/proto/link.ts' flushLinksNow; nothing without a network stack, as in the browser).
 */
let flushPoint: () => void = () => undefined;

/** Installs what runs at the scheduler's flush points (once per process, by the Node entry). */
export function setFlushPoint(fn: () => void): void {
  flushPoint = fn;
}

/** Something the scheduler can run: a process with pending work. */
export interface Runnable {
  /** True while the runnable sits in the run queue. */
  queued: boolean;
  /** Runs one batch. */
  run(): void;
  /** Milliseconds spent in this runnable's batches (estimated by the scheduler, see above). */
  readonly runningTime: number;
  /** Adds `ms` milliseconds to runningTime. */
  charge(ms: number): void;
}

/**
 * An already resolved promise: a drain queued with `then` on it is a plain microtask job, about
 * a third of the cost of `queueMicrotask` (which wraps its callback for async hooks and errors)
 * and 96 B (the job and the derived promise) against 248 B for queueMicrotask and ~100 B for
 * process.nextTick (measured on Node 20).
 */
const RESOLVED: Promise<void> = Promise.resolve();

/** Milliseconds a drain (or a chain of microtask drains) may run before yielding to the event loop. */
export const DRAIN_BUDGET_MS = 8;
/**
 * Milliseconds of a slice after which a clock reading writes the node's pending outbound link
 * batches (and again every as many ms): the most a message to another node waits behind local
 * work, give or take one batch.
 */
export const FLUSH_EVERY_MS = 1;
/** Short batches are timed with probability 1/SAMPLE_EVERY (a power of two). */
export const SAMPLE_EVERY = 16;
/** The drain reads the clock (budget check) after at most this many untimed batches in a row. */
const MAX_UNTIMED = 64;
/**
 * A batch is long when the running mean of timed batches is at least this (ms): then every
 * batch is timed. A clock reading is then under 1 % of the time it measures.
 */
const LONG_BATCH_MS = 0.02;
/**
 * A sampled short batch is charged `SAMPLE_EVERY` times its duration up to this (ms), and the
 * rest once: a GC pause or a preemption that lands in a sample is not multiplied.
 */
const OUTLIER_MS = 0.1;
/** Weight of the newest timed batch in the running mean (1/8). */
const MEAN_SHIFT = 0.125;

/** One run queue per node. */
export class Scheduler {
  private readonly runq = new Ring<Runnable>(1, 64);
  /** A drain is queued, running, lingering or waiting in setImmediate. */
  private scheduled = false;
  /** When the current slice began: the budget counts from here (across a chain of drains). */
  private sliceStart = 0;
  /** The next flush point of the slice (a clock reading at or after it flushes the links). */
  private nextFlush = 0;
  /** The latest clock reading, and whether nothing ran since (then it starts a timed batch). */
  private lastRead = -Infinity;
  private fresh = false;
  /** Untimed batches since the latest reading. */
  private untimed = 0;
  /** Running mean of timed batches (ms), and whether batches count as long. */
  private meanBatch = 0;
  private timeAll = true;
  /** xorshift32 state for the sampling decisions. */
  private rng = 0x9e3779b9;
  private readonly drainOpen = (): void => this.open(false);
  private readonly drainMacro = (): void => this.open(true);
  private readonly drainLinger = (): void => this.linger();

  /** Queues `r` (once) and makes sure a drain is coming. */
  enqueue(r: Runnable): void {
    if (r.queued) return;
    r.queued = true;
    this.runq.push(r);
    if (!this.scheduled) {
      this.scheduled = true;
      void RESOLVED.then(this.drainOpen);
    }
  }

  /**
   * The latest clock reading (performance.now() ms): inside a batch, a reading taken at most one
   * slice ({@link DRAIN_BUDGET_MS}) and a few short batches before now, with no clock read of its own.
   */
  get clock(): number {
    return this.lastRead;
  }

  /** Number of runnables waiting. */
  get length(): number {
    return this.runq.length;
  }

  /**
   * A drain that opens a slice (after the scheduler was quiet, or from the event loop): reads
   * the clock. Quiet for longer than a budget, or back from the event loop, starts a new slice;
   * a shorter quiet gap inside a chain of microtasks keeps counting against the current one.
   */
  private open(macro: boolean): void {
    const now = performance.now();
    if (macro || now - this.lastRead > DRAIN_BUDGET_MS) {
      this.sliceStart = now;
      this.nextFlush = now + FLUSH_EVERY_MS;
    } else if (now - this.sliceStart > DRAIN_BUDGET_MS) {
      this.lastRead = now;
      macrotask(this.drainMacro);
      return;
    }
    this.lastRead = now;
    this.fresh = true;
    this.untimed = 0;
    this.drain(true);
  }

  /** The microtask after a drain emptied the queue: go on if something came, else go quiet. */
  private linger(): void {
    if (this.runq.length > 0) {
      this.fresh = false; // other microtasks ran since the latest reading
      this.drain(false);
    } else this.scheduled = false;
  }

  private drain(first: boolean): void {
    const runq = this.runq;
    while (runq.length > 0) {
      const r = runq.shift()!;
      r.queued = false;
      let weight = 1;
      if (!first && !this.timeAll) {
        // xorshift32; its low bits decide, 1 in SAMPLE_EVERY.
        let x = this.rng;
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        this.rng = x;
        weight = (x & (SAMPLE_EVERY - 1)) === 0 ? SAMPLE_EVERY : 0;
      }
      first = false;
      if (weight === 0) {
        this.fresh = false;
        this.runOne(r);
        if (++this.untimed < MAX_UNTIMED) continue;
        // Budget check only: nothing is charged for the untimed batches (their samples are).
        if (this.overBudget(performance.now())) return;
        continue;
      }
      const start = this.fresh ? this.lastRead : performance.now();
      this.runOne(r);
      const now = performance.now();
      const took = now - start;
      if (weight === 1) r.charge(took);
      else {
        // An outlier (a GC pause, the thread preempted) is charged once, not `weight` times.
        r.charge(took <= OUTLIER_MS ? took * weight : OUTLIER_MS * weight + (took - OUTLIER_MS));
      }
      const mean = this.meanBatch + (took - this.meanBatch) * MEAN_SHIFT;
      this.meanBatch = mean;
      this.timeAll = mean >= LONG_BATCH_MS;
      if (this.overBudget(now)) return;
    }
    void RESOLVED.then(this.drainLinger);
  }

  /**
   * Records a clock reading `now` (the next batch may start from it), flushes the links at a
   * flush point, and checks the slice's budget: past it, schedules the next drain on the event
   * loop and returns true (the drain must return).
   */
  private overBudget(now: number): boolean {
    this.lastRead = now;
    this.fresh = true;
    this.untimed = 0;
    if (now >= this.nextFlush) {
      this.nextFlush = now + FLUSH_EVERY_MS;
      flushPoint();
    }
    if (now - this.sliceStart <= DRAIN_BUDGET_MS) return false;
    macrotask(this.drainMacro);
    return true;
  }

  private runOne(r: Runnable): void {
    try {
      r.run();
    } catch (e) {
      // run() guards behaviour code itself; anything reaching here is a framework bug, and it
      // must not stop every other process from running.
      emitWarning(`ergo-ts: scheduler caught ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
  }
}
