// How many step attempts a member runs at once (issue 95): Temporal's workers bound what they run
// (`maxConcurrentActivityTaskExecutions`) and leave the rest waiting in the task queue, where no
// timeout but schedule-to-start runs. Without a bound, a member offered more than it can do
// admitted every attempt at once: each one's latency grew with all the others, passed its
// heartbeat window or timeout, and was retried into the same crowd (9,528 heartbeat timeouts for
// 1,187 orders on one member during a 150/s spike). Here an attempt first takes one of its
// member's permits, in the order asked; its timeout and heartbeat window start once it has one.
// The wait is the run's: its end (a hand-off) or a cancel takes the attempt out of the line.

import { ErrWorkflowIncorrect } from '../model/errors.js';
import type { RunOps } from '../model/run_host.js';
import { Pace } from './pace.js';

/** The step attempts a member runs at once unless `maxConcurrentSteps` says otherwise (Temporal's default is 100 too). */
export const DEFAULT_MAX_CONCURRENT_STEPS = 100;

interface Waiter {
  granted: boolean;
  grant(): void;
}

/** One member's permits: a count and a line of waiting attempts, first come first served. */
export class StepPermits {
  readonly limit: number;
  #running = 0;
  readonly #line: Waiter[] = [];
  #head = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Attempts running with a permit now. */
  get running(): number {
    return this.#running;
  }

  /** Attempts waiting for a permit now. */
  get waiting(): number {
    return this.#line.length - this.#head;
  }

  /** Takes a permit when one is free and nobody waits before us. */
  tryTake(): boolean {
    if (this.#running >= this.limit || this.waiting > 0) return false;
    this.#running++;
    return true;
  }

  /** Joins the line: `grant` is called with the permit taken; the returned function leaves the line. */
  join(grant: () => void): () => void {
    const w: Waiter = { granted: false, grant };
    this.#line.push(w);
    return () => {
      if (w.granted) return; // its permit is the attempt's now: released after it ran
      const i = this.#line.indexOf(w, this.#head);
      if (i >= 0) this.#line.splice(i, 1);
    };
  }

  /** The pace permits are given back at (per s). */
  readonly #pace = new Pace();

  /**
   * When the line is at least as long as the attempts running (the member is offered more than it
   * runs): about how long the line takes to clear at the rate permits were given back lately, in
   * ms (100..30,000), as a new start's retry-after; else undefined.
   */
  overloaded(now: number = performance.now()): number | undefined {
    if (this.waiting < this.limit) return undefined;
    const rate = this.#pace.perSecond(now);
    return Math.min(30_000, Math.max(100, Math.round((1000 * this.waiting) / Math.max(1, rate))));
  }

  /** Gives a permit back: to the first in line, else to the pool. */
  release(): void {
    this.#pace.tick();
    while (this.#head < this.#line.length) {
      const w = this.#line[this.#head++]!;
      if (this.#head > 1024 && this.#head * 2 > this.#line.length) {
        this.#line.splice(0, this.#head);
        this.#head = 0;
      }
      w.granted = true;
      w.grant();
      return;
    }
    this.#running--;
  }
}

/** Each runtime's permits (registered by the workflow feature: operator/feature.ts). */
const registry = new WeakMap<object, StepPermits>();

/** Checks the `maxConcurrentSteps` option: an integer 1..2^31-1, or undefined (the default). */
export function checkMaxConcurrentSteps(v: unknown): number {
  if (v === undefined) return DEFAULT_MAX_CONCURRENT_STEPS;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1)
    throw ErrWorkflowIncorrect.with(`maxConcurrentSteps must be an integer in 1..2^31-1, got ${String(v)}`);
  return v;
}

/** Gives runtime `rt` its permits (`limit` attempts at once). */
export function registerStepPermits(rt: object, limit: number): void {
  registry.set(rt, new StepPermits(limit));
}

/** The permits of runtime `rt` (undefined: a runtime without the workflow feature; no bound). */
export function stepPermitsOf(rt: object): StepPermits | undefined {
  return registry.get(rt);
}

/**
 * A permit for the next attempt of a step of run `ops`: at once when one is free, else once the
 * attempts before it released theirs. Rejects when the run ends meanwhile (or, `cancellable`, on
 * a cancel), having left the line. Release it once, after the attempt.
 */
export async function stepPermit(ops: RunOps, cancellable: boolean): Promise<{ release(): void } | undefined> {
  const permits = registry.get(ops.host.entities);
  if (permits === undefined) return undefined;
  if (!permits.tryTake()) await ops.waitFor<void>((resolve) => permits.join(resolve), cancellable);
  let released = false;
  return {
    release: () => {
      if (released) return;
      released = true;
      permits.release();
    },
  };
}
