// The error classes of `@temporalio/client`, and how ergo-ts's client errors map onto them.

import { fromStored } from '../common/converter.js';
import type { LoadedDataConverter } from '../common/data_converter.js';
import {
  ApplicationFailure,
  CancelledFailure,
  RetryState,
  TerminatedFailure,
  TimeoutFailure,
  TimeoutType,
} from '../common/failures.js';
import type { TemporalFailure } from '../common/failures.js';

/** `handle.result()` of a workflow that failed, was cancelled, terminated or timed out: its `cause` says which. */
export class WorkflowFailedError extends Error {
  constructor(
    message: string,
    public override readonly cause: TemporalFailure | undefined,
    public readonly retryState: string,
  ) {
    super(message);
    this.name = 'WorkflowFailedError';
  }
}

/** An update the workflow failed or its validator refused: its `cause` is the failure. */
export class WorkflowUpdateFailedError extends Error {
  constructor(
    message: string,
    public override readonly cause: TemporalFailure | undefined,
  ) {
    super(message);
    this.name = 'WorkflowUpdateFailedError';
  }
}

/** A start of a workflow id whose workflow runs (Temporal's default conflict policy, FAIL). */
export class WorkflowExecutionAlreadyStartedError extends Error {
  constructor(
    message: string,
    public readonly workflowId: string,
    public readonly workflowType: string,
  ) {
    super(message);
    this.name = 'WorkflowExecutionAlreadyStartedError';
  }
}

/** No workflow of that id. */
export class WorkflowNotFoundError extends Error {
  constructor(
    message: string,
    public readonly workflowId: string,
    public readonly runId: string | undefined,
  ) {
    super(message);
    this.name = 'WorkflowNotFoundError';
  }
}

/** A query the workflow has no handler for. */
export class QueryNotRegisteredError extends Error {
  constructor(
    message: string,
    public readonly code: string,
  ) {
    super(message);
    this.name = 'QueryNotRegisteredError';
  }
}

/** A query the workflow refused (its handler threw). */
export class QueryRejectedError extends Error {
  constructor(public override readonly cause: TemporalFailure) {
    super('Query rejected');
    this.name = 'QueryRejectedError';
  }
}

/**
 * A call that did not reach an answer (Temporal's `ServiceError`): `cause.code` is a gRPC status
 * code — 4 (DEADLINE_EXCEEDED) when the call's deadline passed, 14 (UNAVAILABLE) when no runtime
 * answered; `cause.error` is ergo-ts's own error.
 */
export class ServiceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServiceError';
  }
}

/** A schedule id already in use. */
export class ScheduleAlreadyRunning extends Error {
  constructor(
    message: string,
    public readonly scheduleId: string,
  ) {
    super(message);
    this.name = 'ScheduleAlreadyRunning';
  }
}

/** No schedule of that id. */
export class ScheduleNotFoundError extends Error {
  constructor(
    message: string,
    public readonly scheduleId: string,
  ) {
    super(message);
    this.name = 'ScheduleNotFoundError';
  }
}

/** gRPC's status codes the ServiceError causes carry. */
export const GrpcStatus = Object.freeze({ CANCELLED: 1, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, UNAVAILABLE: 14 } as const);

function codeOf(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/**
 * `err`, an error of ergo-ts's workflow client about `workflowId`, as the Temporal client throws it
 * (a workflow's or an update's failure rebuilt by the client's data converter `dc`).
 */
export async function clientError(
  err: unknown,
  dc: LoadedDataConverter,
  workflowId: string,
  runId?: string,
): Promise<unknown> {
  const code = codeOf(err);
  const e = err as Error;
  switch (code) {
    case 'ERR_WORKFLOW_FAILED':
      return new WorkflowFailedError(
        'Workflow execution failed',
        await fromStored(e.cause, dc),
        RetryState.NON_RETRYABLE_FAILURE,
      );
    case 'ERR_WORKFLOW_CANCELLED':
      return /terminated/.test(e.message)
        ? new WorkflowFailedError(
            'Workflow execution terminated',
            new TerminatedFailure(e.message),
            RetryState.NON_RETRYABLE_FAILURE,
          )
        : new WorkflowFailedError(
            'Workflow execution cancelled',
            new CancelledFailure(e.message),
            RetryState.NON_RETRYABLE_FAILURE,
          );
    case 'ERR_WORKFLOW_TIMED_OUT':
      // As Temporal's client reports a workflow execution or run timeout: START_TO_CLOSE.
      return new WorkflowFailedError(
        'Workflow execution timed out',
        new TimeoutFailure(e.message, undefined, TimeoutType.START_TO_CLOSE),
        RetryState.TIMEOUT,
      );
    case 'ERR_WORKFLOW_NOT_FOUND':
      return new WorkflowNotFoundError(e.message, workflowId, runId);
    case 'ERR_WORKFLOW_UPDATE_FAILED':
      return new WorkflowUpdateFailedError('Workflow Update failed', await fromStored(e.cause ?? e, dc));
    case 'ERR_WORKFLOW_UPDATE_REJECTED':
      return new WorkflowUpdateFailedError(
        'Workflow Update failed',
        ApplicationFailure.create({ message: e.message, type: 'Error', nonRetryable: true }),
      );
    case 'ERR_WORKFLOW_TIMEOUT':
    case 'ERR_ENTITY_TIMEOUT':
    case 'ERR_TIMEOUT':
      return new ServiceError(e.message, { cause: { code: GrpcStatus.DEADLINE_EXCEEDED, error: e } });
    case 'ERR_ENTITY_STOPPED':
    case 'ERR_ENTITY_UNAVAILABLE':
      return new ServiceError(e.message, { cause: { code: GrpcStatus.UNAVAILABLE, error: e } });
    case undefined:
    default:
      return err;
  }
}
