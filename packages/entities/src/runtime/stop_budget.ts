// The time a runtime's stop may take (`stopTimeoutMs`), and how its end is enforced. A stop
// (`Entities.stop()`, or `node.stop()` through the stopper application) must end whatever the
// load: steps that ignore their abort signal, a store that does not answer (PostgreSQL cut off,
// a SQLite file locked), activations under way. So every wait of the stop is bounded by one
// budget, split in phases:
// - hand-off, the first part (at most `handOffTimeoutMs`): activations hand off (handle what they
//   were sent, save, release their leases) and effects in flight may finish;
// - stopping, until {@link ABANDON_SHARE} of the budget: the activations still running get their
//   shutdown exits, and lease releases go on;
// - abandon: every store call of the runtime still waiting is refused at once
//   (ERR_ENTITY_STORE_UNAVAILABLE), so the handlers awaiting one return and their activations end;
//   what is still running is killed; the stop resolves at the budget's end at the latest.
// What did not hand off keeps its lease until the lease ends, as after a kill -9: the next owner
// takes it over then (the store's fencing token refuses any late write of this member).

import { ErrStoreUnavailable } from '../contract/errors.js';
import type { EntityStore } from '../contract/store.js';

/** The share of `stopTimeoutMs` after which the store calls still waiting are abandoned. */
export const ABANDON_SHARE = 0.8;
/** The share of `stopTimeoutMs` hand-offs may take at most (less when `handOffTimeoutMs` is shorter). */
export const HAND_OFF_SHARE = 0.6;

/** The phases of one stop, as deadlines on `performance.now()`. */
export class StopBudget {
  /** When the stop began. */
  readonly startedAt: number;
  /** Hand-offs end here: the activations still running get their shutdown exits. */
  readonly handOffEnd: number;
  /** Store calls still waiting are abandoned here, and what still runs is killed. */
  readonly abandonAt: number;
  /** The stop resolves here at the latest. */
  readonly end: number;

  private constructor(handOffMs: number, abandonMs: number, endMs: number) {
    this.startedAt = performance.now();
    this.handOffEnd = this.startedAt + handOffMs;
    this.abandonAt = this.startedAt + abandonMs;
    this.end = this.startedAt + endMs;
  }

  /**
   * A stop's budget: `stopMs` in all (`stopTimeoutMs`); hand-offs take `handOffMs`
   * (`handOffTimeoutMs`) at most, and never more than {@link HAND_OFF_SHARE} of it.
   */
  static forStop(stopMs: number, handOffMs: number): StopBudget {
    return new StopBudget(
      Math.min(handOffMs, Math.floor(stopMs * HAND_OFF_SHARE)),
      Math.floor(stopMs * ABANDON_SHARE),
      stopMs,
    );
  }

  /**
   * A drain's alone (`Entities.drain()`, the runtime goes on): hand-offs take `handOffMs`, then
   * the phases after it take what they take in a stop of `stopMs`.
   */
  static forDrain(stopMs: number, handOffMs: number): StopBudget {
    return new StopBudget(
      handOffMs,
      handOffMs + Math.floor(stopMs * (ABANDON_SHARE - HAND_OFF_SHARE)),
      handOffMs + Math.floor(stopMs * (1 - HAND_OFF_SHARE)),
    );
  }

  /** How long the stop has run, in ms. */
  elapsed(): number {
    return Math.round(performance.now() - this.startedAt);
  }

  /**
   * Resolves with `p`'s outcome as 'done', or 'late' at `deadline` (a performance.now() time),
   * whichever comes first; `p`'s own rejection is the caller's to have handled (it is not
   * observed here beyond settling).
   */
  static async until(p: Promise<unknown>, deadline: number): Promise<'done' | 'late'> {
    // Settled already counts as done, however late (a zero timer runs after its then).
    const left = Math.max(0, deadline - performance.now());
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), left);
    });
    try {
      return await Promise.race([p.then(done, done), late]);
    } finally {
      clearTimeout(timer);
    }
  }
}

const done = (): 'done' => 'done';

/**
 * A store whose waiting calls can be abandoned at once ({@link abandon}): each refuses with
 * ERR_ENTITY_STORE_UNAVAILABLE, and later calls are refused without reaching the store. Whatever
 * the store does with an abandoned call later is ignored (a write that lands still carries its
 * fencing token: a later owner's token refuses nothing of its own, and the key's next activation
 * reads what landed).
 */
export class AbandonableStore {
  readonly #waiting = new Set<(e: Error) => void>();
  #abandoned: string | undefined;

  /** Whether {@link abandon} ran. */
  get abandoned(): boolean {
    return this.#abandoned !== undefined;
  }

  /**
   * `store`, each operation abandonable: `store` is the runtime's measured store (stats.ts), whose
   * own members are its operations, `name` and `close`.
   */
  wrap(store: EntityStore): EntityStore {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(store)) {
      if (typeof v !== 'function' || key === 'close') {
        out[key] = v;
        continue;
      }
      const fn = v as (...a: unknown[]) => unknown;
      out[key] = (...args: unknown[]): unknown => {
        if (this.#abandoned !== undefined) return Promise.reject(this.#refusal());
        const r = fn(...args);
        return r instanceof Promise ? this.#bound(r) : r;
      };
    }
    return out as unknown as EntityStore;
  }

  /**
   * Refuses every call waiting now (`why` says what stops); with `forGood` (the runtime stops)
   * every later one too, without reaching the store.
   */
  abandon(why: string, forGood: boolean): void {
    const err = ErrStoreUnavailable.with(`store call abandoned: ${why}`);
    if (forGood) this.#abandoned ??= why;
    for (const reject of [...this.#waiting]) reject(err);
    this.#waiting.clear();
  }

  /** How many calls wait now. */
  get waiting(): number {
    return this.#waiting.size;
  }

  #refusal(): Error {
    return ErrStoreUnavailable.with(`store call abandoned: ${this.#abandoned ?? ''}`);
  }

  #bound<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#waiting.add(reject);
      p.then(
        (v) => {
          this.#waiting.delete(reject);
          resolve(v);
        },
        (e: unknown) => {
          this.#waiting.delete(reject);
          reject(e as Error);
        },
      );
    });
  }
}
