// The gateway's log lines of refused frames, summarised per tab and code so that a flooding tab
// cannot drive the log. The counts live on each session (TabSession.refusalCounts); this file
// owns the interval and the lines.

import type { Log } from 'ergo-ts';

import type { TabSession } from './session.js';

/**
 * The gateway's log lines of refused frames, summarised so that a flooding tab cannot drive the
 * log: per tab and code, the first refusal logs its own line (what and why), the others within the
 * interval are counted and logged as one line at its end; an interval with none of a code lets
 * its next refusal log its own line again. One timer for the gateway, running while counts wait.
 */
export class RefusalLog {
  /** Sessions with a code seen in the current interval. */
  readonly #open = new Set<TabSession>();
  #timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly log: Log,
    private readonly intervalMs: number,
  ) {}

  /**
   * A refusal with `code` for tab `s`: true when it is the first of its code in the interval (the
   * caller logs its own line for it), false when it is counted for the interval's summary line.
   */
  note(s: TabSession, code: string): boolean {
    const counts = (s.refusalCounts ??= new Map());
    const n = counts.get(code);
    if (n !== undefined) {
      counts.set(code, n + 1);
      return false;
    }
    counts.set(code, 0);
    this.#open.add(s);
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.#tick(), this.intervalMs);
      this.#timer.unref?.();
    }
    return true;
  }

  /** Logs what is counted for `s` now and forgets it (its session ended). */
  flush(s: TabSession): void {
    this.#summarise(s);
    s.refusalCounts = null;
    this.#open.delete(s);
  }

  /** Stops the timer (the gateway stopped); what is counted is logged first. */
  stop(): void {
    for (const s of [...this.#open]) this.flush(s);
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #tick(): void {
    for (const s of [...this.#open]) {
      this.#summarise(s);
      if (s.refusalCounts === null || s.refusalCounts.size === 0) {
        s.refusalCounts = null;
        this.#open.delete(s);
      }
    }
    if (this.#open.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  /** One line per code counted since its last line; a code with none is closed. */
  #summarise(s: TabSession): void {
    const counts = s.refusalCounts;
    if (counts === null) return;
    for (const [code, n] of counts) {
      if (n === 0) {
        counts.delete(code);
        continue;
      }
      counts.set(code, 0);
      this.log.warning(
        'tab %s: %d more refusals (%s) in the last %d ms',
        s.name,
        n,
        code || 'no code',
        this.intervalMs,
      );
    }
  }
}
