// `@ergo-ts/temporal/workflow`: the shapes of `@temporalio/workflow` on ergo-ts's engine.

export { proxyActivities, type ActivityInterfaceFor } from './activities.js';
export {
  defineQuery,
  defineSignal,
  defineUpdate,
  setHandler,
  type QueryDefinition,
  type SignalDefinition,
  type UpdateDefinition,
  type UpdateHandlerOptions,
} from './definitions.js';
export {
  allHandlersFinished,
  condition,
  continueAsNew,
  deprecatePatch,
  executeChild,
  getExternalWorkflowHandle,
  log,
  makeContinueAsNewFunc,
  patched,
  sleep,
  startChild,
  uuid4,
  workflowInfo,
  type ChildWorkflowHandle,
  type ChildWorkflowOptions,
  type ContinueAsNewOptions,
  type ExternalWorkflowHandle,
  type WorkflowInfo,
} from './api.js';
export { CancellationScope } from './scope.js';
export { inWorkflow } from './activation.js';
export { workflowKinds, type TemporalWorkflowKind, type WorkflowKindsOptions } from './driver.js';
export {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  TemporalFailure,
  TerminatedFailure,
  TimeoutFailure,
  TimeoutType,
  RetryState,
  isCancellation,
  rootCause,
} from '../common/failures.js';
export { ActivityCancellationType, type ActivityOptions, type RetryPolicy } from '../common/options.js';
export type { Duration } from '../common/duration.js';

/** What becomes of children when their parent closes (Temporal's `ParentClosePolicy`): here always REQUEST_CANCEL. */
export const ParentClosePolicy = Object.freeze({
  TERMINATE: 'TERMINATE',
  ABANDON: 'ABANDON',
  REQUEST_CANCEL: 'REQUEST_CANCEL',
} as const);
