// `@ergo-ts/temporal/client`: the shapes of `@temporalio/client` on ergo-ts's workflow client.

export { Client, type ClientOptions } from './client.js';
export { Connection, NativeConnection, type ConnectionOptions } from './connection.js';
export {
  WorkflowClient,
  WorkflowHandle,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowUpdateStage,
  type WorkflowUpdateHandle,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
  type WorkflowExecutionStatus,
  type WorkflowSignalWithStartOptions,
  type WorkflowStartOptions,
} from './workflow_client.js';
export {
  ScheduleClient,
  ScheduleHandle,
  ScheduleOverlapPolicy,
  type ScheduleAction,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleSpecDescription,
  type ScheduleSummary,
  type Backfill,
} from './schedule_client.js';
export {
  GrpcStatus,
  QueryNotRegisteredError,
  QueryRejectedError,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from './errors.js';
export type { HistoryEvent, Payload } from './history.js';
export {
  WorkflowService,
  type ListWorkflowExecutionsRequest,
  type RawWorkflowExecutionInfo,
} from './workflow_service.js';
export {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  TemporalFailure,
  TerminatedFailure,
  TimeoutFailure,
} from '../common/failures.js';
/** A handle from `start` (Temporal's `WorkflowHandleWithFirstExecutionRunId`): the same class here. */
export type { WorkflowHandle as WorkflowHandleWithFirstExecutionRunId } from './workflow_client.js';
