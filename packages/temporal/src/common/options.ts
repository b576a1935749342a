// Temporal's retry policy and activity options, and how each maps to an ergo-ts step's options
// (`ctx.step(name, fn, { retry, timeoutMs, heartbeatTimeoutMs, cancellation })`).

import type { RetryPolicy as ErgoRetryPolicy } from '@ergo-ts/entities';

import { msOptionalToNumber, type Duration } from './duration.js';
import { ErrTemporalIncorrect } from './errors.js';

/** Temporal's `RetryPolicy`. Its defaults are Temporal's: no attempt limit, 1 s, ×2, at most 100 × the first wait. */
export interface RetryPolicy {
  /** Attempts in all (0 or absent: no limit). */
  maximumAttempts?: number;
  /** The first wait. Default 1 s. */
  initialInterval?: Duration;
  /** How much longer each next wait is. Default 2. */
  backoffCoefficient?: number;
  /** The longest wait. Default 100 × `initialInterval`. */
  maximumInterval?: Duration;
  /** Error types (an ApplicationFailure's `type`, else the error's name) never retried. */
  nonRetryableErrorTypes?: string[];
}

/** How a cancel reaches a running activity (Temporal's `ActivityCancellationType`). */
export const ActivityCancellationType = Object.freeze({
  TRY_CANCEL: 'TRY_CANCEL',
  WAIT_CANCELLATION_COMPLETED: 'WAIT_CANCELLATION_COMPLETED',
  ABANDON: 'ABANDON',
} as const);
/** One of {@link ActivityCancellationType}'s values. */
export type ActivityCancellationType = (typeof ActivityCancellationType)[keyof typeof ActivityCancellationType];

/** Temporal's `ActivityOptions` (what `proxyActivities` takes). */
export interface ActivityOptions {
  startToCloseTimeout?: Duration;
  scheduleToCloseTimeout?: Duration;
  /** Not bounded here yet: ergo-ts's schedule-to-start limit is an engine item in progress. */
  scheduleToStartTimeout?: Duration;
  heartbeatTimeout?: Duration;
  retry?: RetryPolicy;
  cancellationType?: ActivityCancellationType;
  /** The ergo-ts queue the activity's attempts take a slot of (docs/workflows.md, "Queues"). */
  taskQueue?: string;
  activityId?: string;
  summary?: string;
}

/** The first wait when a policy names none (Temporal's). */
const DEFAULT_INITIAL_MS = 1_000;

/** Temporal's retry policy as ergo-ts's (every field filled: Temporal's defaults, not ergo-ts's). */
export function retryOf(r: RetryPolicy | undefined): Required<ErgoRetryPolicy> {
  const attempts = r?.maximumAttempts ?? 0;
  if (!Number.isInteger(attempts) || attempts < 0)
    throw ErrTemporalIncorrect.with(`retry.maximumAttempts must be an integer ≥ 0, got ${attempts}`);
  const initialMs = msOptionalToNumber(r?.initialInterval, 'retry.initialInterval') ?? DEFAULT_INITIAL_MS;
  const factor = r?.backoffCoefficient ?? 2;
  if (!(factor >= 1)) throw ErrTemporalIncorrect.with(`retry.backoffCoefficient must be ≥ 1, got ${factor}`);
  return {
    maxAttempts: attempts === 0 ? Infinity : attempts,
    initialMs,
    factor,
    maxMs: msOptionalToNumber(r?.maximumInterval, 'retry.maximumInterval') ?? Math.max(initialMs * 100, initialMs),
  };
}

/** The timeouts of `o`, in ms, checked: one of startToClose and scheduleToClose is required (as Temporal requires). */
export function timeoutsOf(o: ActivityOptions): {
  startToCloseMs: number | undefined;
  scheduleToCloseMs: number | undefined;
  scheduleToStartMs: number | undefined;
  heartbeatMs: number | undefined;
} {
  const startToCloseMs = msOptionalToNumber(o.startToCloseTimeout, 'startToCloseTimeout');
  const scheduleToCloseMs = msOptionalToNumber(o.scheduleToCloseTimeout, 'scheduleToCloseTimeout');
  if (startToCloseMs === undefined && scheduleToCloseMs === undefined)
    throw ErrTemporalIncorrect.with('an activity needs startToCloseTimeout or scheduleToCloseTimeout');
  return {
    startToCloseMs,
    scheduleToCloseMs,
    scheduleToStartMs: msOptionalToNumber(o.scheduleToStartTimeout, 'scheduleToStartTimeout'),
    heartbeatMs: msOptionalToNumber(o.heartbeatTimeout, 'heartbeatTimeout'),
  };
}
