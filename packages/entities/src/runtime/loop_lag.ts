// How late this process's event loop runs its turns lately: the longest gap between the ticks of
// an unref'd 100 ms timer over the last 5–10 s, the gap under way included. A loop starved of CPU
// (a busy host, a hog pinned beside it) or held by work (CPU-bound handlers) fires every timer
// that much late, so a stop with a deadline must end its phases that much earlier
// (member_stop.ts). One sampler per process, shared: every entities runtime holds it from its
// start to its stop (liveness.ts) and `stopMemberOnSignals` from its call until removed, so a
// direct `stopMember` call reads the same measure the signal path does.

/** How often the loop's turns are sampled, in ms. */
const LAG_TICK_MS = 100;
/** How long a turn seen counts as the loop's lag, in ms (the window before it counts too). */
const LAG_WINDOW_MS = 5000;

/** The sampler itself: the longest gap between its ticks, by window. */
class LoopLag {
  #last = performance.now();
  #max = 0;
  #prevMax = 0;
  #windowStart = this.#last;
  readonly #timer = setInterval(() => this.#tick(), LAG_TICK_MS);

  constructor() {
    // A sampler never keeps the process alive.
    this.#timer.unref();
  }

  #tick(): void {
    const now = performance.now();
    const gap = now - this.#last - LAG_TICK_MS;
    this.#last = now;
    if (now - this.#windowStart > LAG_WINDOW_MS) {
      this.#prevMax = this.#max;
      this.#max = 0;
      this.#windowStart = now;
    }
    if (gap > this.#max) this.#max = gap;
  }

  /** The longest gap lately, the one under way included (the turn that delayed the caller), in ms. */
  lag(): number {
    const current = performance.now() - this.#last - LAG_TICK_MS;
    return Math.max(0, Math.round(Math.max(this.#max, this.#prevMax, current)));
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** The process's sampler while anyone holds it, and how many hold it. */
let shared: LoopLag | undefined;
let holders = 0;

/** A hold on the process's loop-lag sampler (see {@link holdLoopLag}). */
export interface LoopLagHold {
  /** The loop's lag now (see {@link loopLagMs}). */
  lag(): number;
  /** Gives the hold up (idempotent): the sampler stops with its last holder. */
  release(): void;
}

/**
 * Holds the process's loop-lag sampler (starting it with the first holder): from now on
 * {@link loopLagMs} measures. @internal the runtime and member_stop.ts.
 */
export function holdLoopLag(): LoopLagHold {
  shared ??= new LoopLag();
  holders++;
  const sampler = shared;
  let held = true;
  return {
    lag: () => sampler.lag(),
    release: () => {
      if (!held) return;
      held = false;
      if (--holders > 0) return;
      shared?.stop();
      shared = undefined;
    },
  };
}

/**
 * The longest turn of this process's event loop over the last 5–10 s, the turn under way
 * included, in ms; undefined when nothing holds the sampler (no entities runtime runs here and no
 * `stopMemberOnSignals` is set up), so nothing was measured. @internal member_stop.ts.
 */
export function loopLagMs(): number | undefined {
  return shared?.lag();
}
