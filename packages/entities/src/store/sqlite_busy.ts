// Waiting for SQLite's write lock without blocking the event loop. node:sqlite is synchronous, so
// SQLite's own busy handler (`PRAGMA busy_timeout`) would sleep on the event loop while another OS
// process holds the write lock: every actor of the node would stall for up to the busy timeout
// per store call (a member paused inside a transaction made the others miss their lease renewals).
// The store runs with a busy timeout of 0 instead: an operation that meets SQLITE_BUSY changed
// nothing (its transaction began with BEGIN IMMEDIATE, so the lock is taken first or not at all,
// and a busy statement rolls the transaction back), and it is tried again here from timers with
// a growing pause, until the store's `busyTimeoutMs` from its first try, then it rejects with
// ERR_ENTITY_STORE_BUSY. Writes keep their order: while one waits, later writes queue behind it.

import { ErrStoreBusy, ErrStoreClosed } from '../contract/errors.js';

/** Whether `e` is SQLite's "database is locked" (SQLITE_BUSY and its extended codes). */
export function isBusy(e: unknown): boolean {
  const code = (e as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' && (code & 0xff) === 5;
}

/** The first pause before trying a busy operation again, and the longest, in ms. */
const FIRST_PAUSE_MS = 1;
const LONGEST_PAUSE_MS = 20;

interface Waiting {
  readonly run: () => unknown;
  readonly started: number;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

/** The operations of one store waiting for the write lock, in the order they were asked. */
export class BusyRetry {
  readonly #boundMs: number;
  readonly #name: string;
  readonly #queue: Waiting[] = [];
  #timer: NodeJS.Timeout | undefined;
  #pause = FIRST_PAUSE_MS;

  /** `boundMs`: how long one operation may wait for the lock in all; `name`: the store's, for errors. */
  constructor(boundMs: number, name: string) {
    this.#boundMs = boundMs;
    this.#name = name;
  }

  /** Whether writes are waiting (a new write must queue behind them to keep its order). */
  get waiting(): boolean {
    return this.#queue.length > 0;
  }

  /**
   * Runs `run` now unless writes wait (`ordered`) or it meets SQLITE_BUSY; then it waits its turn
   * and is tried again from timers. `ordered`: a write (kept in order); reads (which WAL mode
   * lets run beside a writer) are tried on their own.
   */
  run<T>(run: () => T, ordered: boolean): Promise<T> {
    if (!ordered || this.#queue.length === 0) {
      try {
        return Promise.resolve(run());
      } catch (e) {
        if (!isBusy(e) || this.#boundMs === 0) return Promise.reject(this.#busy(e));
      }
    }
    return new Promise<T>((resolve, reject) => {
      const w: Waiting = { run, started: Date.now(), resolve: resolve as (v: unknown) => void, reject };
      if (ordered) this.#queue.push(w);
      else this.#alone(w, FIRST_PAUSE_MS);
      this.#schedule();
    });
  }

  /** Rejects every waiting operation with ERR_ENTITY_STORE_CLOSED (the store closes). */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of this.#queue.splice(0)) w.reject(ErrStoreClosed.with(this.#name));
  }

  /** A busy failure as the caller sees it: ERR_ENTITY_STORE_BUSY (others unchanged). */
  #busy(e: unknown): unknown {
    return isBusy(e)
      ? ErrStoreBusy.with(`${this.#name}: still locked by another process after ${this.#boundMs} ms`, e)
      : e;
  }

  /** A read that met SQLITE_BUSY: tried again on its own timer. */
  #alone(w: Waiting, pause: number): void {
    setTimeout(() => {
      try {
        w.resolve(w.run());
      } catch (e) {
        if (isBusy(e) && Date.now() - w.started < this.#boundMs) this.#alone(w, Math.min(pause * 2, LONGEST_PAUSE_MS));
        else w.reject(this.#busy(e));
      }
    }, pause);
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#queue.length === 0) return;
    // Not unref'd: a write waiting for the lock is work the process still has to do.
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#drain();
    }, this.#pause);
  }

  /** Runs the waiting writes in order until one is still busy (then waits a longer pause). */
  #drain(): void {
    while (this.#queue.length > 0) {
      const w = this.#queue[0]!;
      try {
        const v = w.run();
        this.#queue.shift();
        this.#pause = FIRST_PAUSE_MS;
        w.resolve(v);
      } catch (e) {
        if (isBusy(e) && Date.now() - w.started < this.#boundMs) {
          this.#pause = Math.min(this.#pause * 2, LONGEST_PAUSE_MS);
          break;
        }
        this.#queue.shift();
        w.reject(this.#busy(e));
      }
    }
    this.#schedule();
  }
}
