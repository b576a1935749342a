// `@temporalio/activity`'s Context: what an activity function finds with `Context.current()` while
// a Worker runs it as an ergo-ts step. Found through an AsyncLocalStorage (the step's function runs
// the activity inside it), so it follows the activity's awaits, as Temporal's does.

import { AsyncLocalStorage } from 'node:async_hooks';

import type { StepInfo } from '@ergo-ts/entities';
import type { Log } from 'ergo-ts';

import { ErrTemporalOutsideActivity } from '../common/errors.js';
import { CancelledFailure } from '../common/failures.js';
import { msToNumber, type Duration } from '../common/duration.js';

/** What an activity attempt knows about itself (Temporal's `activity.Info`, the fields ergo-ts has). */
export interface Info {
  /** The activity's id: the step's idempotency key (the same on every attempt). */
  readonly activityId: string;
  /** The activity's name (the function's key in the Worker's `activities`). */
  readonly activityType: string;
  /** This attempt, from 1 (journaled: the count goes on after a crash). */
  readonly attempt: number;
  /** The last heartbeat's details of an earlier attempt (undefined: none). */
  readonly heartbeatDetails: unknown;
  /** The workflow that runs it. */
  readonly workflowExecution: { readonly workflowId: string; readonly runId: string };
  readonly workflowType: string;
  readonly workflowNamespace: string;
  readonly activityNamespace: string;
  readonly taskQueue: string;
  /** Always false: every ergo-ts activity is a step of the member that runs the body. */
  readonly isLocal: boolean;
  readonly startToCloseTimeoutMs: number;
  readonly scheduleToCloseTimeoutMs: number;
  readonly heartbeatTimeoutMs: number | undefined;
  /** When this attempt started, epoch ms. */
  readonly currentAttemptScheduledTimestampMs: number;
}

const storage = new AsyncLocalStorage<Context>();

/** The running activity's context (Temporal's `Context`). */
export class Context {
  readonly #step: StepInfo;
  readonly #signal: AbortSignal;

  /**
   * @internal made by the Worker for each attempt; `signal` is the step's, or one aborted with it
   * and by the package's own deadline (schedule-to-close).
   */
  constructor(
    /** What the attempt knows about itself. */
    readonly info: Info,
    stepInfo: StepInfo,
    signal: AbortSignal = stepInfo.signal,
    logger?: Log,
  ) {
    this.#step = stepInfo;
    this.#signal = signal;
    this.log = loggerOf(logger, info);
    this.cancelled = new Promise<never>((_, reject) => {
      const strike = (): void => reject(new CancelledFailure(reasonOf(signal)));
      if (signal.aborted) strike();
      else signal.addEventListener('abort', strike, { once: true });
    });
    this.cancelled.catch(() => undefined); // awaited by those who want it; never unhandled
  }

  /** The running activity's context; throws ERR_TEMPORAL_OUTSIDE_ACTIVITY outside one. */
  static current(): Context {
    const c = storage.getStore();
    if (c === undefined) throw ErrTemporalOutsideActivity.with('Context.current() outside an activity');
    return c;
  }

  /**
   * The activity's logger (Temporal's `Context.log`): the workflow runtime's logger, each line
   * with the activity's type and its workflow's id; nothing when the Worker gave none.
   */
  readonly log: ActivityLogger;

  /** Rejects with a CancelledFailure once the attempt is cancelled (the workflow's cancel, its timeout). */
  readonly cancelled: Promise<never>;

  /** Aborted once the attempt is cancelled. */
  get cancellationSignal(): AbortSignal {
    return this.#signal;
  }

  /**
   * Reports progress (Temporal's heartbeat): resets the heartbeat timeout; `details` reach the next
   * attempt (`info.heartbeatDetails`). Once cancelled it does nothing: `cancelled` and `sleep` say so.
   */
  heartbeat(details?: unknown): void {
    try {
      this.#step.heartbeat(details);
    } catch {
      // The engine throws once the attempt is aborted; Temporal's heartbeat does not.
    }
  }

  /** Sleeps `ms`; rejects with a CancelledFailure when cancelled first. */
  sleep(ms: Duration): Promise<void> {
    const signal = this.cancellationSignal;
    const wait = msToNumber(ms, 'sleep');
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new CancelledFailure(reasonOf(signal)));
      const strike = (): void => {
        clearTimeout(t);
        reject(new CancelledFailure(reasonOf(signal)));
      };
      const t = setTimeout(() => {
        signal.removeEventListener('abort', strike);
        resolve();
      }, wait);
      signal.addEventListener('abort', strike, { once: true });
    });
  }
}

/** Temporal's activity logger: a message and optional attributes per level. */
export interface ActivityLogger {
  trace(message: string, attrs?: Record<string, unknown>): void;
  debug(message: string, attrs?: Record<string, unknown>): void;
  info(message: string, attrs?: Record<string, unknown>): void;
  warn(message: string, attrs?: Record<string, unknown>): void;
  error(message: string, attrs?: Record<string, unknown>): void;
}

function loggerOf(logger: Log | undefined, info: Info): ActivityLogger {
  const write =
    (level: 'debug' | 'info' | 'warning' | 'error') =>
    (message: string, attrs?: Record<string, unknown>): void => {
      if (logger === undefined) return;
      const where = `activity ${info.activityType} of ${info.workflowExecution.workflowId}`;
      if (attrs === undefined) logger[level]('%s: %s', where, message);
      else logger[level]('%s: %s %O', where, message, attrs);
    };
  return {
    trace: write('debug'),
    debug: write('debug'),
    info: write('info'),
    warn: write('warning'),
    error: write('error'),
  };
}

function reasonOf(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  return r instanceof Error ? r.message : typeof r === 'string' ? r : 'cancelled';
}

/** Runs `fn` as the activity whose context is `c` (`Context.current()` finds it). */
export function runInActivity<T>(c: Context, fn: () => T): T {
  return storage.run(c, fn);
}

/** Whether code runs inside an activity. */
export function inActivity(): boolean {
  return storage.getStore() !== undefined;
}
