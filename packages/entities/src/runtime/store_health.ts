// Whether this member's store answers, as its own operations see it (the store meter tells it the
// outcome of each: inspect/stats.ts), and a wait for it to answer again. An activation that failed
// because the store could not be reached (a failover: some seconds without a primary) used to go
// back to its caller, who asked again on a timer (a workflow client every 200 ms): through the
// outage every waiting start failed and was asked again, each a new connection attempt through
// the proxy (about 680 failed activations a second on three members in the failover row), and
// once the store answered again each waited out what was left of its caller's pause (issue 89).
// Now the activation waits here, within its caller's time, and is tried again as soon as any
// operation of this member succeeds after the failure — all the waiting ones in the same turn:
// they were admitted already (a start took its room), the store's group commit and pool bound
// what runs at once. While nothing else of the member reaches the store, the first of the waiters
// is let through every {@link PROBE_MS} to try it (one attempt per period, not one per waiter).

import { wallClock, type EntitiesClock } from '../contract/clock.js';

/** How often, while the store does not answer and nothing else tried it, one waiting activation tries it (ms). */
export const PROBE_MS = 200;

/** How a wait for the store ended. */
export type StoreWait = 'answered' | 'probe' | 'timeout';

interface Waiter {
  readonly resolve: (how: StoreWait) => void;
  timer: unknown;
}

/** The store's health as one member's operations see it (see the top of this file). */
export class StoreHealth {
  /** The clock of the waits and the probe (the runtime's: the wall clock, or a test's). */
  readonly #clock: EntitiesClock;
  /** The last operation that finished failed because the store could not be reached. */
  #down = false;
  readonly #waiters: Waiter[] = [];
  #probe: unknown;
  #back = 0;

  constructor(clock: EntitiesClock = wallClock) {
    this.#clock = clock;
  }

  /** Whether the last store operation that finished failed because the store could not be reached. */
  get down(): boolean {
    return this.#down;
  }

  /** How many activations wait for the store to answer now. */
  get waiting(): number {
    return this.#waiters.length;
  }

  /** How many times the store answered again after failing so (since the start). */
  get answeredAgain(): number {
    return this.#back;
  }

  /** An operation finished: `ok`, or failed (`unreachable`: because the store could not be reached). */
  outcome(ok: boolean, unreachable: boolean): void {
    if (ok) {
      if (!this.#down) return;
      this.#down = false;
      this.#back++;
      this.#release('answered');
    } else if (unreachable) this.#down = true;
  }

  /**
   * Resolves once the store answers again ('answered': an operation succeeded after the failure; at
   * once when the last one did), when this waiter is the one let through to try it ('probe'), or
   * after `ms` ('timeout'). Never rejects.
   */
  answered(ms: number): Promise<StoreWait> {
    if (!this.#down) return Promise.resolve('answered');
    if (!(ms > 0)) return Promise.resolve('timeout');
    return new Promise<StoreWait>((resolve) => {
      const w: Waiter = { resolve, timer: undefined };
      w.timer = this.#clock.setTimeout(() => {
        w.timer = undefined;
        const i = this.#waiters.indexOf(w);
        if (i >= 0) this.#waiters.splice(i, 1);
        resolve('timeout');
      }, ms);
      this.#waiters.push(w);
      this.#armProbe();
    });
  }

  /** Lets the first waiter through every PROBE_MS while others wait (see the top of this file). */
  #armProbe(): void {
    if (this.#probe !== undefined) return;
    this.#probe = this.#clock.setTimeout(() => {
      this.#probe = undefined;
      const w = this.#waiters.shift();
      if (w !== undefined) {
        this.#clock.clearTimeout(w.timer);
        w.resolve('probe');
      }
      if (this.#waiters.length > 0) this.#armProbe();
    }, PROBE_MS);
  }

  #release(how: StoreWait): void {
    if (this.#probe !== undefined) this.#clock.clearTimeout(this.#probe);
    this.#probe = undefined;
    for (const w of this.#waiters.splice(0)) {
      this.#clock.clearTimeout(w.timer);
      w.resolve(how);
    }
  }
}
