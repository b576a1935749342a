// ergo-ts/act: behaviours to extend.
export { BehaviorBase } from './base.js';
export {
  Actor,
  ACTOR_BATCH,
  type HandlerResult,
  type TypedActor,
  type TypedActorClass,
  type TypedCalls,
  type TypedMessages,
} from './actor.js';
export type { CallAnswer, CallHandlers, DefineSpec, DefinedActor, DefinedClass, MessageHandlers } from './actor.js';
export { Supervisor } from './supervisor.js';
export * from './supervisor_types.js';
export {
  Pool,
  ErrPoolEmpty,
  DEFAULT_POOL_SIZE,
  poolOptions,
  type AnyPoolOptions,
  type CheckedPoolOptions,
  type PoolOptions,
  type PoolProtocolOf,
} from './pool.js';
export { WebWorker, WEB_WORKER_BATCH, type WebMethodHandler } from './web_worker.js';
export { Leader } from './leader/leader.js';
export { LEADER_DEFAULTS, type LeaderOptions } from './leader/options.js';
export {
  MessageLeaderVote,
  MessageLeaderVoteReply,
  MessageLeaderHeartbeat,
  MessageLeaderPreVote,
  MessageLeaderPreVoteReply,
  LEADER_EDF_PACKAGE,
  LEADER_TS_EDF_PACKAGE,
  isLeaderTerm,
  leaderWireTypes,
} from './leader/messages.js';
export {
  ErrLeaderStore,
  fileLeaderStore,
  memoryLeaderStore,
  type LeaderStore,
  type LeaderState,
} from './leader/store.js';
export { StateMachine, STATEMACHINE_BATCH } from './statemachine.js';
export {
  StateMachineSpec,
  StateTimeout,
  MessageTimeout,
  GenericTimeout,
  ErrStateMachineSpec,
  ErrStateMachineUnhandled,
  ErrStateMachineResult,
  type Action,
  type Transition,
  type EnterTransition,
  type MessageResult,
  type CallResult as StateCallResult,
  type EnterResult,
  type StateMessageHandler,
  type StateCallHandler,
  type StateEnterCallback,
  type StateEventHandler,
  type MessageName,
  type MessageNamed,
  type CallName,
  type RequestNamed,
  type ReplyNamed,
} from './statemachine_spec.js';
export { SUPERVISOR_HISTORY_SIZE, type RestartAction, type RestartRecord } from './supervisor_history.js';
