// @ergo-ts/entities: durable entities for ergo-ts — actors addressed by key, at most one live
// activation per key guarded by a lease with a fencing token, state and accepted messages kept in
// a store (SQLite on node:sqlite, PostgreSQL on pg, or in memory for tests). See docs/entities.md for what is built and what is not yet.

export * from './contract/errors.js';
export * from './contract/store.js';
export type { StoreWakes } from './contract/wakes.js';
export {
  STATE_INDEX_LIMITS,
  type IndexCursor,
  type IndexedState,
  type IndexFilter,
  type IndexQuery,
  type IndexValue,
  type PurgeQuery,
  type StateIndex,
  type StateIndexEntry,
} from './contract/state_index.js';
export { structuredCodec } from './contract/structured_codec.js';
export type { CheckStorable, Storable, StorableBuiltin, StorablePrimitive } from './contract/storable.js';
export { SqliteStore, SQLITE_STORE_DEFAULTS, type SqliteStoreOptions } from './store/sqlite.js';
export {
  MemoryStore,
  MemoryStoreData,
  type MemoryStoreOptions,
  type MemoryKeyRows,
  type MemoryLeaseRow,
  type StoreClock,
} from './store/memory_store.js';
export { PostgresStore, POSTGRES_STORE_DEFAULTS, type PostgresStoreOptions } from './store/postgres.js';
export * from './contract/placement.js';
export {
  Entity,
  defineEntity,
  entity,
  ENTITY_KIND_DEFAULTS,
  MAX_KIND_LENGTH,
  type EntityAddress,
  type EntityKind,
  type EntityKindOptions,
} from './kinds/entity.js';
export type { EntityEvent } from './runtime/host_runtime.js';
export {
  STORE_LATENCY_BUCKETS,
  type EntitiesStats,
  type KindStats,
  type StoreOperationStats,
} from './inspect/stats.js';
export { Entities, startEntities, type EntitiesOptions } from './entities.js';
export { ENTITIES_CHANNEL } from './runtime/host_runtime.js';
export { ENTITIES_DEFAULTS, type EntitiesStopOptions, type EntityCallOptions } from './runtime/options.js';
export {
  MEMBER_STOP_DEFAULTS,
  MEMBER_STOP_SHARES,
  stopMember,
  stopMemberOnSignals,
  type MemberStopOptions,
  type MemberStopParts,
  type MemberStopPhase,
  type MemberStopReport,
  type MemberStopSignalOptions,
} from './runtime/member_stop.js';
export { SHARD_LEASE_KIND } from './runtime/leases.js';
export { ReminderEntity } from './kinds/reminders.js';
export {
  type ReminderFire,
  type ReminderName,
  type ReminderSchemas,
  type ReminderWhen,
} from './kinds/reminder_types.js';
export {
  MAX_REMINDER_BATCH,
  MAX_REMINDER_NAME_BYTES,
  isReminderStore,
  type NewReminder,
  type ReminderChanges,
  type ReminderFence,
  type ReminderStore,
  type StoredReminder,
} from './contract/reminder_store.js';
export { REMINDER_DEFAULTS, type ReminderOptions } from './runtime/reminder_scheduler.js';
export { REMINDER_LATENESS_BUCKETS, type ReminderStats } from './inspect/stats.js';
export { INBOX_DEFAULTS, type InboxOptions } from './runtime/inbox_sweeper.js';
export {
  DEAD_LETTER_OPERATIONS,
  DeadLetters,
  type DeadLetterListOptions,
  type DeadLetterOperation,
} from './runtime/dead_letters.js';
export {
  DEFAULT_MAX_ATTEMPTS,
  MAX_DEAD_LETTER_ERROR,
  MAX_DEAD_LETTER_PAGE,
  isDeadLetterStore,
  type DeadLetter,
  type DeadLetterQuery,
  type DeadLetterStore,
  type InboxFailure,
  type InboxFailureResult,
} from './contract/dead_letters.js';
export type { InboxStats } from './inspect/stats.js';
export {
  renderState,
  INSPECT_DEFAULTS,
  type ActiveEntityInfo,
  type EntitiesInspection,
  type EntityInspection,
  type ShardTable,
} from './inspect/inspector.js';
export { inspectEntities, inspectEntity, shardTable } from './runtime/inspection.js';
export {
  EventSourcedEntity,
  defineEventSourcedEntity,
  EVENT_SOURCED_DEFAULTS,
  type EventOf,
  type EventSchemas,
  type EventSourcedKind,
  type EventSourcedKindOptions,
  type Upcasters,
} from './kinds/event_sourced.js';
export { RECENT_EVENTS } from './runtime/event_sourced_host.js';
export {
  MAX_JOURNAL_BATCH,
  type EventMeta,
  type JournalEntry,
  type JournalQuery,
  type JournalStore,
} from './contract/journal.js';
export {
  Projection,
  readEvents,
  startExactlyOnceProjection,
  startProjection,
  PROJECTION_DEFAULTS,
  PROJECTION_LEASE_KIND,
  type ExactlyOnceProjectionOptions,
  type JournalEvent,
  type KindEvent,
  type ProjectionBase,
  type ProjectionOptions,
  type ProjectionPlacement,
} from './projection/start.js';
export { projectionsOf, type ProjectionMode, type ProjectionStats } from './inspect/projections.js';
export {
  defineDurableStateMachine,
  durableSpec,
  type DurableMachineRecord,
  type DurableStateMachineOptions,
  type DurableTimer,
} from './kinds/durable_state_machine.js';
export type { EntitiesClient } from './kinds/entity.js';
export { defineWorkflow, isWorkflowKind } from './workflow/instance/define_workflow.js';
export {
  RETRY_DEFAULTS,
  WORKFLOW_DEFAULTS,
  type AnyWorkflowKind,
  type ActivityHandlers,
  type ActivityInfo,
  type OutboxHandlers,
  type OutboxHandlersOf,
  type OutboxInfo,
  type OutboxMessages,
  type QuerySchemas,
  type RetryPolicy,
  type SignalSchemas,
  type UpdateInput,
  type UpdateOutput,
  type UpdateSchema,
  type UpdateSchemas,
  type WorkflowAttributes,
  type WorkflowInput,
  type WorkflowKind,
  type WorkflowOptions,
  type WorkflowOutput,
  type WorkflowQueries,
  type WorkflowSignals,
  type WorkflowUpdates,
} from './workflow/model/define.js';
export { MAX_PENDING_UPDATES } from './workflow/instance/updates.js';
export {
  MAX_ANSWERED_UPDATES,
  MAX_UPDATE_ID_LENGTH,
  type PendingUpdate,
  type UpdateState,
} from './workflow/model/update_state.js';
export { MAX_SIGNAL_ID_LENGTH } from './workflow/model/bounds.js';
export { defineUpdate, type WorkflowUpdate } from './workflow/model/define.js';
export {
  WorkflowUpdateHandle,
  type StartUpdateOptions,
  type UpdateOptions,
  type UpdateResultOptions,
  type WorkflowUpdateStage,
} from './workflow/client/update_request.js';
export type {
  ChildHandle,
  CompensationOptions,
  SelectBranch,
  SelectBranches,
  SelectResult,
  SelectValue,
  StepCompensation,
  StepInfo,
  StepOptions,
  UpdateHandlerOptions,
  WorkflowBody,
  WorkflowContext,
  WorkflowInfo,
} from './workflow/body/context_types.js';
export type { CancellationScope } from './workflow/body/scopes.js';
export {
  WorkflowClient,
  WorkflowHandle,
  type QueryArgsOptions,
  type ResultOptions,
  type SignalWithStart,
  type StartOptions,
  type Started,
} from './workflow/client/client.js';
export { isIdReusePolicy, type IdReusePolicy } from './workflow/client/start_policy.js';
export {
  DEFAULT_QUEUE,
  type QueueLimits,
  type QueueInCluster,
  type QueuedWork,
  type WorkflowQueuesOptions,
  type WorkflowQueueView,
} from './workflow/scheduling/queues.js';
export {
  ScheduleClient,
  type ScheduleListOptions,
  type ScheduleOptions,
  type ScheduleUpdate,
} from './workflow/client/schedules_client.js';
export { MAX_BACKFILL, SCHEDULE_KIND, WorkflowSchedules } from './workflow/scheduling/schedules_entity.js';
export {
  DEFAULT_CATCHUP_WINDOW_MS,
  OVERLAP_POLICIES,
  runIdOf as scheduleRunId,
  type OverlapPolicy,
  type SchedulePolicies,
  type ScheduleSpec,
} from './workflow/scheduling/schedules_spec.js';
export {
  ErrScheduleExists,
  ErrScheduleNotFound,
  type ScheduleCounts,
  type ScheduleDescription,
  type ScheduleRun,
  type ScheduleRunSource,
  type ScheduleSummary,
} from './workflow/scheduling/schedules_types.js';
export { MAX_SELECT_BRANCHES } from './workflow/body/select.js';
export { WorkflowBatches } from './workflow/operator/batch.js';
export {
  RETENTION_DEFAULTS,
  RETENTION_SWEEPER_ID,
  sweepRetention,
  WorkflowRetention,
  type RetentionSettings,
  type SweepResult,
} from './workflow/operator/retention.js';
export {
  BATCH_KIND,
  type BatchAction,
  type BatchCounts,
  type BatchFailure,
  type BatchQuery,
} from './workflow/model/batch_types.js';
export {
  WorkflowBatchClient,
  type BatchDescription,
  type BatchStartOptions,
  type BatchStarted,
} from './workflow/client/batch_client.js';
export { ErrWorkflowContinuePending, MAX_PREVIOUS_RUNS } from './workflow/model/continue_as_new.js';
export {
  WORKFLOW_LIST_DEFAULTS,
  WORKFLOW_STATUSES,
  type ListOptions,
  type WorkflowRuntimeView,
  type WorkflowSummary,
} from './workflow/client/listing.js';
export {
  backfillIndexes,
  type AttributeFilter,
  type StatusCounts,
  type TimeBound,
  type WorkflowFilter,
  type WorkflowQuery,
  type WorkflowSearchPage,
  type WorkflowSearchPage as WorkflowPage,
} from './workflow/client/search.js';
export type {
  AttributeSchemas,
  AttributeType,
  AttributeValue,
  AttributeValues,
  SetAttributesArg,
} from './workflow/model/attributes.js';
export {
  MAX_STEP_LABELS,
  RESUME_LATENCY_BUCKETS,
  STEP_DURATION_BUCKETS,
  WORKFLOW_DURATION_BUCKETS,
  type WorkflowHistogram,
  type WorkflowKindStats,
  type WorkflowStepStats,
} from './workflow/model/metrics.js';
export type { WorkflowLoadStats } from './inspect/stats.js';
export {
  WORKFLOW_OPERATIONS,
  type ClusterStats,
  type ClusterStatsSample,
  type WorkflowOperation,
  type WorkflowOperationReply,
  type WorkflowStatsSample,
} from './workflow/operator/operator.js';
export {
  DETERMINISM_GUARD_ENV,
  ErrWorkflowNondeterministic,
  type DeterminismGuardMode,
} from './workflow/body/determinism.js';
export {
  ErrWorkflowActivityNotDelivered,
  ErrWorkflowCallNotDelivered,
  ErrWorkflowCancelled,
  ErrWorkflowClosed,
  ErrWorkflowCompensationFailed,
  ErrWorkflowConcurrentWait,
  ErrWorkflowDiverged,
  ErrWorkflowFailed,
  ErrWorkflowIncorrect,
  ErrWorkflowNotFound,
  ErrWorkflowStepFailed,
  ErrWorkflowTimeout,
  ErrWorkflowUnsupported,
  ErrWorkflowOutcomeUnknown,
  ErrWorkflowBatchCountChanged,
  ErrWorkflowUpdateFailed,
  ErrWorkflowUpdateNotFound,
  ErrWorkflowUpdateRejected,
  ErrWorkflowValueTooLarge,
  isTerminal,
  terminalError,
  type StoredError,
  type WorkflowFailureConverter,
} from './workflow/model/errors.js';
export type {
  BufferedSignal,
  JournalOp,
  WorkflowDescription,
  WorkflowFailedAttempt,
  WorkflowJournalEntry,
  WorkflowRunLink,
  WorkflowRunningOperation,
  WorkflowEndStatus,
  WorkflowStatus,
} from './workflow/model/record.js';
export { ErrWorkflowTimedOut, type WorkflowTimeoutKind, type WorkflowTimeouts } from './workflow/model/timeouts.js';
export {
  isWorkflowDown,
  isWorkflowJournalUpdate,
  type WatchMode,
  type WorkflowDown,
  type WorkflowJournalUpdate,
} from './workflow/instance/watchers.js';
export {
  GATEWAY_MAX_CHARLIST,
  GATEWAY_RESTARTS_PER_SECOND,
  GATEWAY_UPDATE_WAIT_MS,
  WORKFLOW_GATEWAY_NAME,
  WorkflowGateway,
  WorkflowGatewaySupervisor,
  readGatewayRequest,
  startWorkflowGateway,
  type GatewayRequest,
} from './workflow/client/gateway.js';
