// Temporal's failure classes (`@temporalio/common`), written from its public types: the shapes a
// workflow's `catch` and a client's `err.cause` test with `instanceof`. converter.ts carries them
// through the journal and back.

/** Why a timeout struck (Temporal's `TimeoutType`). */
export const TimeoutType = Object.freeze({
  START_TO_CLOSE: 'START_TO_CLOSE',
  SCHEDULE_TO_START: 'SCHEDULE_TO_START',
  SCHEDULE_TO_CLOSE: 'SCHEDULE_TO_CLOSE',
  HEARTBEAT: 'HEARTBEAT',
} as const);
/** One of {@link TimeoutType}'s values. */
export type TimeoutType = (typeof TimeoutType)[keyof typeof TimeoutType];

/** Why retries stopped (Temporal's `RetryState`). */
export const RetryState = Object.freeze({
  UNSPECIFIED: 'UNSPECIFIED',
  IN_PROGRESS: 'IN_PROGRESS',
  NON_RETRYABLE_FAILURE: 'NON_RETRYABLE_FAILURE',
  TIMEOUT: 'TIMEOUT',
  MAXIMUM_ATTEMPTS_REACHED: 'MAXIMUM_ATTEMPTS_REACHED',
  RETRY_POLICY_NOT_SET: 'RETRY_POLICY_NOT_SET',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  CANCEL_REQUESTED: 'CANCEL_REQUESTED',
} as const);
/** One of {@link RetryState}'s values. */
export type RetryState = (typeof RetryState)[keyof typeof RetryState];

/** A workflow execution's id pair (Temporal's `WorkflowExecution`). */
export interface WorkflowExecution {
  readonly workflowId: string;
  readonly runId?: string;
}

/** The base of Temporal's failures: what crosses a workflow's, an activity's or a child's boundary. */
export class TemporalFailure extends Error {
  /** The failure it was rebuilt from (Temporal's `Failure` message, failure_converter.ts); undefined for one made in this process. */
  public failure?: unknown;
  constructor(message?: string, cause?: Error) {
    super(message ?? undefined, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
  }
  declare readonly cause?: Error;
}

/** A failure of Temporal's server (kept for `instanceof` checks; ergo-ts raises it for none of its own errors). */
export class ServerFailure extends TemporalFailure {
  constructor(
    message: string | undefined,
    public readonly nonRetryable: boolean,
    cause?: Error,
  ) {
    super(message, cause);
  }
}

/** What {@link ApplicationFailure.create} takes. */
export interface ApplicationFailureOptions {
  message?: string;
  type?: string;
  nonRetryable?: boolean;
  details?: unknown[];
  cause?: Error;
  nextRetryDelay?: number | string;
  category?: string;
}

/**
 * A failure the application raised (Temporal's `ApplicationFailure`): a `type` (the error's name
 * by default), `nonRetryable` (an activity that throws it is not retried), `details`.
 */
export class ApplicationFailure extends TemporalFailure {
  constructor(
    message?: string | undefined | null,
    public readonly type?: string | undefined | null,
    public readonly nonRetryable?: boolean | undefined | null,
    public readonly details?: unknown[] | undefined | null,
    cause?: Error,
    public readonly nextRetryDelay?: number | string | undefined | null,
    public readonly category?: string | undefined | null,
  ) {
    super(message ?? undefined, cause);
  }

  /** A failure from options. */
  static create(options: ApplicationFailureOptions): ApplicationFailure {
    const { message, type, nonRetryable = false, details, cause, nextRetryDelay, category } = options;
    return new this(message, type, nonRetryable, details, cause, nextRetryDelay, category);
  }

  /** `error` as an ApplicationFailure: itself when it is one, else its message and its name as `type`. */
  static fromError(error: Error | unknown, overrides?: ApplicationFailureOptions): ApplicationFailure {
    if (error instanceof ApplicationFailure) return error;
    const e = error instanceof Error ? error : new Error(String(error));
    const f = this.create({ message: e.message, type: e.name, cause: e.cause as Error | undefined, ...overrides });
    f.stack = e.stack ?? f.stack;
    return f;
  }

  /** A failure an activity's retry policy retries. */
  static retryable(message?: string | null, type?: string | null, ...details: unknown[]): ApplicationFailure {
    return new this(message, type ?? 'Error', false, details);
  }

  /** A failure that is not retried. */
  static nonRetryable(message?: string | null, type?: string | null, ...details: unknown[]): ApplicationFailure {
    return new this(message, type ?? 'Error', true, details);
  }
}

/** An activity failed for good (Temporal's `ActivityFailure`): its `cause` says why. */
export class ActivityFailure extends TemporalFailure {
  constructor(
    message: string | undefined,
    public readonly activityType: string,
    public readonly activityId: string | undefined,
    public readonly retryState: RetryState,
    public readonly identity: string | undefined,
    cause?: Error,
  ) {
    super(message, cause);
  }
}

/** A child workflow failed (Temporal's `ChildWorkflowFailure`): its `cause` is the child's failure. */
export class ChildWorkflowFailure extends TemporalFailure {
  constructor(
    public readonly namespace: string | undefined,
    public readonly execution: WorkflowExecution,
    public readonly workflowType: string,
    public readonly retryState: RetryState,
    cause?: Error,
  ) {
    super('Child Workflow execution failed', cause);
  }
}

/** A cancel reached the operation (Temporal's `CancelledFailure`). */
export class CancelledFailure extends TemporalFailure {
  constructor(
    message: string | undefined,
    public readonly details: unknown[] = [],
    cause?: Error,
  ) {
    super(message, cause);
  }
}

/** The workflow was terminated (Temporal's `TerminatedFailure`). */
export class TerminatedFailure extends TemporalFailure {}

/** A timeout struck (Temporal's `TimeoutFailure`): `timeoutType` says which. */
export class TimeoutFailure extends TemporalFailure {
  constructor(
    message: string | undefined,
    public readonly lastHeartbeatDetails: unknown,
    public readonly timeoutType: TimeoutType,
  ) {
    super(message);
  }
}

/** A value could not be converted (Temporal's `ValueError`). */
export class ValueError extends Error {
  constructor(message?: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'ValueError';
  }
}

/** An operation in the wrong state (Temporal's `IllegalStateError`). */
export class IllegalStateError extends Error {
  constructor(message?: string) {
    super(message);
    this.name = 'IllegalStateError';
  }
}

/** Whether `err` is a cancellation: a CancelledFailure, or an activity's or child's failure caused by one. */
export function isCancellation(err: unknown): boolean {
  return (
    err instanceof CancelledFailure ||
    ((err instanceof ActivityFailure || err instanceof ChildWorkflowFailure) && err.cause instanceof CancelledFailure)
  );
}

/** The deepest cause's message (Temporal's `rootCause`). */
export function rootCause(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 32 && e instanceof Error && e.cause instanceof Error; i++) e = e.cause;
  return e instanceof Error ? e.message : typeof e === 'string' ? e : undefined;
}
