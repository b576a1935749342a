// The scan loop that the inbox sweeper (inbox_sweeper.ts) and the reminder scheduler
// (reminder_scheduler.ts) both run: scans of a store, one at a time, started at once by `kick`
// (the runtime started, the members changed, work ended) and by one timer on the runtime's clock
// (contract/clock.ts). A kick during a scan is not lost: one more scan runs when that one ends.
// What a scan reads, when the timer is armed and what a failure logs belong to the user of the
// loop; the loop only keeps the "one scan at a time, again if asked" rule and the timer.

import type { EntitiesClock } from '../contract/clock.js';

/** @internal What a {@link ScanLoop} runs: one scan, and what follows a run of scans. */
export interface ScanSteps {
  /** One scan. It may ask for another at once ({@link ScanLoop.again}) and arm the timer ({@link ScanLoop.arm}). */
  scan(): Promise<void>;
  /** A scan threw: the run of scans ends here (called while the loop still counts as scanning). */
  failed(error: unknown): void;
  /** A run of scans ended, failed or not (the loop no longer counts as scanning). */
  ended(): void;
}

/**
 * @internal One scan at a time on a store, started by {@link kick} or by the timer of {@link arm}.
 * Stopped until {@link start}; {@link stop} cancels the timer, and a scan under way finishes.
 */
export class ScanLoop {
  readonly #clock: EntitiesClock;
  readonly #steps: ScanSteps;
  #timer: unknown;
  #armedFor = Infinity;
  #scanning = false;
  #again = false;
  #stopped = true;

  constructor(clock: EntitiesClock, steps: ScanSteps) {
    this.#clock = clock;
    this.#steps = steps;
  }

  /** Whether the loop is stopped (before {@link start}, or after {@link stop}). */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Whether a run of scans is under way. */
  get scanning(): boolean {
    return this.#scanning;
  }

  /** When the armed timer fires, on the clock's time (Infinity: none armed since the last one fired). */
  get armedFor(): number {
    return this.#armedFor;
  }

  /** Starts scanning: a scan runs now. */
  start(): void {
    this.#stopped = false;
    this.kick();
  }

  /** Stops scanning: the timer is cancelled; a scan under way finishes, and no other starts. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Scans now, or once more after the scan under way. Nothing when stopped. */
  kick(): void {
    if (this.#stopped) return;
    if (this.#scanning) {
      this.#again = true;
      return;
    }
    void this.#run();
  }

  /** Asks, from within a scan, for another scan as soon as it ends. */
  again(): void {
    this.#again = true;
  }

  /** Arms the timer to kick a scan in `ms` of the clock's time, replacing one armed. Nothing when stopped. */
  arm(ms: number): void {
    if (this.#stopped) return;
    const clock = this.#clock;
    if (this.#timer !== undefined) clock.clearTimeout(this.#timer);
    this.#armedFor = clock.now() + ms;
    // The runtime's clock seam: its wall clock unrefs the timer (it never keeps the process alive).
    this.#timer = clock.setTimeout(() => {
      this.#timer = undefined;
      this.#armedFor = Infinity;
      this.kick();
    }, ms);
  }

  async #run(): Promise<void> {
    this.#scanning = true;
    try {
      do {
        this.#again = false;
        await this.#steps.scan();
      } while (this.#again && !this.#stopped);
    } catch (e) {
      this.#steps.failed(e);
    } finally {
      this.#scanning = false;
      this.#steps.ended();
    }
  }
}
