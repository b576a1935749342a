// Cancellation scopes (Temporal's CancellationScope): a part of a body that can be cancelled on
// its own — race a timer against a step and cancel the loser, abandon or try-cancel one operation,
// bound a part with a durable timeout — and a part that nothing cancels (cleanup after a cancel).
// Without moving the work into a child workflow.
//
// A scope is found the way Temporal's is: the scope current where an operation is asked
// (an AsyncLocalStorage, carried across the body's awaits). Each wait and each running attempt
// is tagged with the scope current when it started; a cancel of a scope reaches the operations of
// that scope and of the scopes made inside it, down to a non-cancellable one, which it does not
// cross; the cancel of the whole run is the cancel of the outermost scope, so it reaches every
// scope but those under a non-cancellable one. What a cancel does to an operation is what the
// run's cancel does (context.ts): a wait is struck (its entry closed with ERR_WORKFLOW_CANCELLED,
// journaled before anything the body does next), a running attempt has its signal aborted and is
// waited for (`cancellation: 'wait'`) or ended (`'abandon'`), an operation asked afterwards in the
// scope throws ERR_WORKFLOW_CANCELLED before it runs.
//
// Replay: the body calls `scope.cancel()` at the same point of its code on a replay, and the
// operations it struck replay their journaled outcomes (a struck wait its error, a step its `c`
// mark), so the state is rebuilt as it was. A scope's timeout (`withTimeout`) is a durable timer:
// one journaled operation (`sleep` named `timeout`), written open with its deadline when the scope
// starts and closed with `v: true` when it fired (the scope was cancelled then) or `v: false` when
// the scope's code settled first. A replay that finds it fired cancels the scope as it starts: the
// operations journaled inside it replay as they ended, and one past the journal — started before
// the timeout and cut by a crash, or after it — meets the cancel, as it did.

import { AsyncLocalStorage } from 'node:async_hooks';

import { timerMs } from '../model/bounds.js';
import { ErrWorkflowCancelled, ErrWorkflowIncorrect } from '../model/errors.js';
import type { JournalOp, WorkflowJournalEntry } from '../model/record.js';
import type { RunHost } from '../model/run_host.js';

/**
 * A part of a body that can be cancelled on its own (Temporal's `CancellationScope`), from
 * `ctx.cancellationScope()`. Operations asked while `run(fn)`'s function runs — across its awaits —
 * belong to it.
 */
export interface CancellationScope {
  /** Whether this scope was cancelled (by `cancel`, its timeout, or a cancel that reached it from outside). */
  readonly cancelled: boolean;
  /** Whether a cancel from outside it never reaches it (`ctx.nonCancellable`). */
  readonly cancellable: boolean;
  /**
   * Runs `fn` in this scope: what it asks belongs to the scope. Resolves or rejects as `fn` does
   * (an operation the scope's cancel struck throws ERR_WORKFLOW_CANCELLED into it).
   */
  run<T>(fn: () => Promise<T> | T): Promise<T>;
  /**
   * Cancels the scope: its waits throw ERR_WORKFLOW_CANCELLED, its running steps' attempts have
   * their `signal` aborted (waited for, or ended with `cancellation: 'abandon'`), and what it asks
   * afterwards throws ERR_WORKFLOW_CANCELLED. The scopes made inside it are cancelled with it, but
   * not a non-cancellable one. A second call does nothing. ERR_WORKFLOW_INCORRECT on a
   * non-cancellable scope.
   */
  cancel(reason?: string): void;
}

/** @internal One scope of a run (see the top of this file). */
export class Scope implements CancellationScope {
  readonly #owner: Scopes;
  #error: Error | undefined;

  constructor(
    owner: Scopes,
    /** The scope it was made in (undefined: the run's outermost). */
    readonly parent: Scope | undefined,
    readonly cancellable: boolean,
  ) {
    this.#owner = owner;
  }

  /** The error its own cancel threw into it (undefined: not cancelled by itself). */
  get error(): Error | undefined {
    return this.#error;
  }

  get cancelled(): boolean {
    return this.#owner.cancelOf(this) !== undefined;
  }

  get owner(): Scopes {
    return this.#owner;
  }

  run<T>(fn: () => Promise<T> | T): Promise<T> {
    if (typeof fn !== 'function') return Promise.reject(ErrWorkflowIncorrect.with('scope.run: fn must be a function'));
    return current.run(this, async () => fn());
  }

  cancel(reason?: string): void {
    if (!this.cancellable) throw ErrWorkflowIncorrect.with('a non-cancellable scope cannot be cancelled');
    if (this.#error !== undefined) return;
    const why = typeof reason === 'string' && reason !== '' ? reason : 'cancelled';
    this.#error = ErrWorkflowCancelled.with(`a cancellation scope of workflow ${this.#owner.id} was cancelled: ${why}`);
    this.#owner.cancelled(this, this.#error);
  }
}

/** The scope current where the body's code runs now (undefined: the run's outermost). */
const current = new AsyncLocalStorage<Scope>();

/** @internal What a run's scopes need of it. */
export interface ScopesHost {
  /** The instance's id (messages). */
  id(): string;
  /** The run's own cancel, once asked (undefined: not asked). */
  runCancel(): Error | undefined;
  /** Whether compensations run now: nothing cancels them. */
  compensating(): boolean;
  /** Scope `scope` was cancelled with `err`: its waits and attempts hear it. */
  cancelled(scope: Scope, err: Error): void;
}

/** @internal The scopes of one run (see the top of this file). */
export class Scopes {
  readonly #h: ScopesHost;

  constructor(host: ScopesHost) {
    this.#h = host;
  }

  get id(): string {
    return this.#h.id();
  }

  /** The scope of this run current now (undefined: the outermost, or one of another run). */
  current(): Scope | undefined {
    const s = current.getStore();
    return s?.owner === this ? s : undefined;
  }

  /** Runs `fn` in the run's outermost scope (a handler's: the scope the body waits in does not reach it). */
  outermost<T>(fn: () => T): T {
    return current.run(undefined as unknown as Scope, fn);
  }

  /** A new scope inside the current one. */
  make(cancellable: boolean): Scope {
    return new Scope(this, this.current(), cancellable);
  }

  /**
   * The cancel that reaches an operation of `scope` now, or undefined: its own scope's or an
   * enclosing one's, up to a non-cancellable scope; the run's, when none stands between.
   */
  cancelOf(scope: Scope | undefined): Error | undefined {
    if (this.#h.compensating()) return undefined;
    for (let s = scope; s !== undefined; s = s.parent) {
      if (s.error !== undefined) return s.error;
      if (!s.cancellable) return undefined;
    }
    return this.#h.runCancel();
  }

  /** The cancel that reaches what the body asks now (see {@link cancelOf}). */
  cancelHere(): Error | undefined {
    return this.cancelOf(this.current());
  }

  /** Whether a cancel of `target` (undefined: the run's) reaches an operation of `scope`. */
  reaches(scope: Scope | undefined, target: Scope | undefined): boolean {
    for (let s = scope; s !== undefined; s = s.parent) {
      if (s === target) return true;
      if (!s.cancellable) return false;
    }
    return target === undefined;
  }

  /** Scope `scope` was cancelled (its `cancel`): the run strikes what it reaches. */
  cancelled(scope: Scope, err: Error): void {
    this.#h.cancelled(scope, err);
  }
}

/** @internal A set that calls `tag` with each member it adds (a run tags each running attempt with its scope). */
export class TaggedSet<T> extends Set<T> {
  readonly #tag: (v: T) => void;

  constructor(tag: (v: T) => void) {
    super();
    this.#tag = tag;
  }

  override add(v: T): this {
    this.#tag?.(v); // undefined only while Set's constructor runs (it adds nothing)
    return super.add(v);
  }
}

/** @internal What `withTimeout` needs of its run (context.ts lends it). */
export interface TimeoutOps {
  readonly host: RunHost;
  readonly readOnly: boolean;
  readonly scopes: Scopes;
  next(): number;
  lookup(seq: number, t: JournalOp, n: string): WorkflowJournalEntry | undefined;
  record(entry: WorkflowJournalEntry): Promise<void>;
  endOfJournal(): Error;
}

/** The journal name of a scope's timeout (a `sleep` operation). */
const TIMEOUT = 'timeout';

/**
 * `ctx.withTimeout(timeoutMs, fn)`: `fn` in a new cancellable scope that is cancelled when
 * `timeoutMs` passed first (a durable timer: see the top of this file). Settles as `fn` does.
 */
export async function withTimeout<T>(ops: TimeoutOps, timeoutMs: number, fn: () => Promise<T> | T): Promise<T> {
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || !Number.isFinite(timeoutMs))
    throw ErrWorkflowIncorrect.with(`ctx.withTimeout: timeoutMs must be a finite number ≥ 0, got ${String(timeoutMs)}`);
  if (typeof fn !== 'function') throw ErrWorkflowIncorrect.with('ctx.withTimeout: fn must be a function');
  const { host: h } = ops;
  const scope = ops.scopes.make(true);
  const why = `it timed out after ${timeoutMs} ms`;
  const seq = ops.next();
  const hit = ops.lookup(seq, 'sleep', TIMEOUT);
  if (hit?.done === true) {
    // Fired when it ran: cancelled as it starts (what it did before is journaled and replays as it ended).
    if (hit.v === true) scope.cancel(why);
    return scope.run(fn);
  }
  if (hit !== undefined && ops.readOnly) throw ops.endOfJournal();
  const now = h.clock.now();
  const until = hit?.until ?? now + timeoutMs;
  const open: WorkflowJournalEntry = { s: seq, t: 'sleep', n: TIMEOUT, until, at: now };
  if (hit === undefined) await ops.record(open);
  let ended = false;
  let timer: unknown;
  h.deadline(seq, until);
  // Armed again while the clock is short of `until`: a Node timer may fire a millisecond early.
  const arm = (): void => {
    if (ended) return;
    const left = until - h.clock.now();
    if (left > 0) {
      timer = h.clock.setTimeout(arm, timerMs(left));
      return;
    }
    ended = true;
    h.deadline(seq, undefined);
    // Journaled before the strikes the cancel writes (the commit queue is ordered).
    ops.record({ ...open, v: true, at: h.clock.now(), done: true }).catch(() => undefined);
    scope.cancel(why);
  };
  arm();
  try {
    return await scope.run(fn);
  } finally {
    h.clock.clearTimeout(timer);
    if (!ended) {
      ended = true;
      h.deadline(seq, undefined);
      await ops.record({ ...open, v: false, at: h.clock.now(), done: true });
    }
  }
}
