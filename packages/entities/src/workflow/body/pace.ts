// The pace at which a member's units of work end (step permits given back, runs leaving the count),
// per second: what a refusal's retry-after is derived from (step_permits.ts, run_load.ts).

/** Ends counted per whole second: the current second's count and the last whole one's. */
export class Pace {
  #windowStart = 0;
  #windowCount = 0;
  #rate = 0;

  /** One unit ended at `now` (performance.now()). */
  tick(now: number = performance.now()): void {
    if (now - this.#windowStart >= 1000) {
      this.#rate = now - this.#windowStart < 2000 ? this.#windowCount : 0;
      this.#windowStart = now;
      this.#windowCount = 0;
    }
    this.#windowCount++;
  }

  /** Units ended per second lately: 0 when none ended for 2 s. */
  perSecond(now: number = performance.now()): number {
    return now - this.#windowStart > 2000 ? 0 : Math.max(this.#rate, this.#windowCount);
  }
}
