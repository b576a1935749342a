// The test clock: virtual time for `sendAfter` timers and the cron scheduler. Nothing fires on
// its own; the test moves time forward and due timers fire in order, in the test's own flow.

import { ErrIncorrect } from '../gen/errors.js';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * A manual clock. `now()` is epoch milliseconds (starts at `start`, default 2025-01-01T00:00Z);
 * `setTimeout` schedules on virtual time; `advance(ms)` and `set(date)` fire the due timers in
 * time order (timers scheduled meanwhile fire too when they fall within the new time).
 */
export class TestClock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];

  constructor(start: Date | number = Date.UTC(2025, 0, 1)) {
    this.#now = typeof start === 'number' ? start : start.getTime();
    if (!Number.isFinite(this.#now)) throw ErrIncorrect.with('TestClock: invalid start time');
  }

  /** Current virtual time, epoch milliseconds. */
  now(): number {
    return this.#now;
  }

  /** Current virtual time as a Date. */
  date(): Date {
    return new Date(this.#now);
  }

  /** Schedules `fn` after `ms` of virtual time; returns a handle for clearTimeout. */
  setTimeout(fn: () => void, ms: number): unknown {
    const t: Timer = { id: ++this.#seq, at: this.#now + Math.max(0, ms), fn };
    this.#timers.push(t);
    return t.id;
  }

  /** Cancels a timer; true if it had not fired. */
  clearTimeout(handle: unknown): boolean {
    const i = this.#timers.findIndex((t) => t.id === handle);
    if (i < 0) return false;
    this.#timers.splice(i, 1);
    return true;
  }

  /** Timers waiting to fire. */
  pending(): number {
    return this.#timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in order. @throws ErrIncorrect for a negative or non-finite ms. */
  advance(ms: number): void {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0)
      throw ErrIncorrect.with(`TestClock.advance: invalid duration ${String(ms)}`);
    this.#runUntil(this.#now + ms);
  }

  /**
   * Sets the time. Moving forward fires the due timers; moving back only changes `now()` (timers
   * keep their instants).
   */
  set(time: Date | number): void {
    const to = typeof time === 'number' ? time : time.getTime();
    if (!Number.isFinite(to)) throw ErrIncorrect.with('TestClock.set: invalid time');
    if (to <= this.#now) {
      this.#now = to;
      return;
    }
    this.#runUntil(to);
  }

  #runUntil(to: number): void {
    for (;;) {
      let next: Timer | undefined;
      for (const t of this.#timers)
        if (t.at <= to && (next === undefined || t.at < next.at || (t.at === next.at && t.id < next.id))) next = t;
      if (next === undefined) break;
      this.#timers.splice(this.#timers.indexOf(next), 1);
      if (next.at > this.#now) this.#now = next.at;
      next.fn();
    }
    this.#now = to;
  }
}
