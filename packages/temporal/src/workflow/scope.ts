// Temporal's `CancellationScope` on the engine's cancellation scopes (`ctx.cancellationScope()`,
// `ctx.nonCancellable`, `ctx.withTimeout`). The engine finds the scope an operation belongs to by
// its own AsyncLocalStorage; Temporal's `CancellationScope.current()` must also give the wrapper
// the body's code runs in, so `run` enters a storage of this file's as well. The root scope (no
// `run` around the code) is the run itself: it reads the run's cancel, and cancelling it is
// refused (a client cancels the workflow).

import { AsyncLocalStorage } from 'node:async_hooks';

import type { CancellationScope as EngineScope } from '@ergo-ts/entities';

import { msToNumber, type Duration } from '../common/duration.js';
import { ErrTemporalIncorrect, ErrTemporalUnsupported } from '../common/errors.js';
import { afterIdle, frameOf, temporalError, type Activation } from './activation.js';

/** Options of `new CancellationScope(options)` (Temporal's `CancellationScopeOptions`). */
export interface CancellationScopeOptions {
  /** Whether a cancel from outside reaches it. Default true. */
  readonly cancellable?: boolean;
  /** Refused (ERR_TEMPORAL_UNSUPPORTED): use `CancellationScope.withTimeout`. */
  readonly timeout?: Duration;
}

const currentScope = new AsyncLocalStorage<CancellationScope>();

/** A part of a workflow body that can be cancelled on its own, or shielded (Temporal's `CancellationScope`). */
export class CancellationScope {
  readonly #act: Activation;
  /** The engine's scope (undefined: the root, or a non-cancellable scope). */
  readonly #engine: EngineScope | undefined;
  readonly #root: boolean;
  /** Whether a cancel from outside reaches this scope. */
  readonly cancellable: boolean;

  /** A new scope inside the current one; its code runs in `run(fn)`. */
  constructor(options: CancellationScopeOptions = {}) {
    this.#act = frameOf('new CancellationScope()').act;
    if (options === null || typeof options !== 'object')
      throw ErrTemporalIncorrect.with('CancellationScope: options must be an object');
    if (options.timeout !== undefined)
      throw ErrTemporalUnsupported.with('new CancellationScope({ timeout }): use CancellationScope.withTimeout');
    this.cancellable = options.cancellable !== false;
    this.#root = ROOT.has(options);
    this.#engine = this.cancellable && !this.#root ? this.#act.ctx.cancellationScope() : undefined;
  }

  /** Whether this scope was cancelled (by `cancel`, or a cancel that reached it). */
  get consideredCancelled(): boolean {
    return this.#engine === undefined ? this.#act.ctx.cancelled && this.#root : this.#engine.cancelled;
  }

  /** Runs `fn` in this scope: the operations it asks belong to it. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    if (typeof fn !== 'function') return Promise.reject(ErrTemporalIncorrect.with('CancellationScope.run: fn'));
    if (this.#root)
      return Promise.reject(ErrTemporalIncorrect.with('CancellationScope.run: the root scope runs the body'));
    const inside = (): Promise<T> => currentScope.run(this, fn);
    const out = this.#engine === undefined ? this.#act.ctx.nonCancellable(inside) : this.#engine.run(inside);
    return out.catch((err: unknown) => {
      throw temporalError(err);
    });
  }

  /**
   * Cancels this scope: its waits and activities end with a CancelledFailure (an activity's wrapped
   * in an ActivityFailure). The root scope and a non-cancellable one: ERR_TEMPORAL_UNSUPPORTED.
   */
  cancel(): void {
    if (this.#engine === undefined)
      throw ErrTemporalUnsupported.with(
        this.#root
          ? 'CancellationScope.cancel on the root scope: cancel the workflow from a client (handle.cancel())'
          : 'CancellationScope.cancel on a non-cancellable scope',
      );
    this.#engine.cancel('CancellationScope.cancel()');
  }

  /** The scope the calling code runs in (the root scope outside any `run`). */
  static current(): CancellationScope {
    frameOf('CancellationScope.current()');
    return currentScope.getStore() ?? new CancellationScope(rootOptions());
  }

  /** Runs `fn` in a new cancellable scope. */
  static cancellable<T>(fn: () => Promise<T>): Promise<T> {
    return new CancellationScope().run(fn);
  }

  /** Runs `fn` where no cancel from outside reaches (cleanup after a cancel). */
  static nonCancellable<T>(fn: () => Promise<T>): Promise<T> {
    return new CancellationScope({ cancellable: false }).run(fn);
  }

  /** Runs `fn` in a scope cancelled once `timeout` passed: a durable, journaled timer. */
  static withTimeout<T>(timeout: Duration, fn: () => Promise<T>): Promise<T> {
    const frame = frameOf('CancellationScope.withTimeout');
    const act = frame.act;
    const ms = msToNumber(timeout, 'CancellationScope.withTimeout');
    if (typeof fn !== 'function') return Promise.reject(ErrTemporalIncorrect.with('CancellationScope.withTimeout: fn'));
    // Its timer is an operation: asked after the driver's idle wait, as every operation of the body
    // is (activation.ts's `op`), so its number is the same live and on a replay — and its timer
    // does not run out while the scope's code still waits for that wait to end.
    // Counted in flight until `fn` runs: the timer's journal write yields to the event loop, where
    // the driver would take a body with nothing in flight for one waiting on a handler and start
    // its idle wait — in the outermost scope, ahead of `fn`'s first operation, which then waited
    // for it for ever (a `withTimeout` right after a handler settled the body's promise hung).
    let entered = false;
    const enter = (): Promise<T> => {
      if (!entered) {
        entered = true;
        act.inFlight--;
      }
      return fn();
    };
    return afterIdle(frame, () => {
      act.inFlight++;
      return act.ctx.withTimeout(ms, enter).finally(() => {
        if (!entered) {
          entered = true;
          act.inFlight--;
        }
        if (act.inFlight === 0) act.wake();
      });
    }).catch((err: unknown) => {
      throw temporalError(err);
    });
  }
}

/** The options objects that make the root scope (never given by user code). */
const ROOT = new WeakSet<object>();

function rootOptions(): CancellationScopeOptions {
  const o = {};
  ROOT.add(o);
  return o;
}
