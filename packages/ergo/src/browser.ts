// ergo-ts/browser: the core for a page or a Web Worker. The same engine, contract and behaviours
// as `ergo-ts` (Actor, Supervisor, Pool, StateMachine, typed protocols, calls, links, monitors,
// events, applications, cron), started without Node's parts: no network stack (a tab has no
// acceptor and no registrar), no EDF codec, no system application. Its module graph reaches no
// `node:` module (scripts/bundle-browser.mjs builds it with lib/host_browser.ts in host.ts' place
// and fails on any). A tab reaches other nodes through a protocol plugged into the node's router
// with `attachProtocol` (the gateway's, docs/browser.md). In Node this subpath runs on the same
// core script as `ergo-ts` (one class of each kind in a process).

import type { Atom } from './gen/atom.js';
import { ignorable } from './gen/ignorable.js';
import type { Node, NodeOptions } from './gen/node.js';
import { startEngine, type PlatformParts } from './node/start_engine.js';

export * from './gen/index.js';
export { attachProtocol } from './node/protocols.js';
export { spawnReserved } from './node/reserved.js';
export { Tag as EdfTag, JsTag as EdfJsTag } from './net/edf/tags.js';
export { cronNextRun } from './node/cron/next_run.js';
export { BehaviorBase } from './act/base.js';
export {
  Actor,
  ACTOR_BATCH,
  type CallAnswer,
  type CallHandlers,
  type DefineSpec,
  type DefinedActor,
  type DefinedClass,
  type HandlerResult,
  type MessageHandlers,
  type TypedActor,
  type TypedActorClass,
  type TypedCalls,
  type TypedMessages,
} from './act/actor.js';
export { Supervisor } from './act/supervisor.js';
export * from './act/supervisor_types.js';
export { SUPERVISOR_HISTORY_SIZE, type RestartAction, type RestartRecord } from './act/supervisor_history.js';
export {
  Pool,
  ErrPoolEmpty,
  DEFAULT_POOL_SIZE,
  poolOptions,
  type AnyPoolOptions,
  type CheckedPoolOptions,
  type PoolOptions,
  type PoolProtocolOf,
} from './act/pool.js';
export { StateMachine, STATEMACHINE_BATCH } from './act/statemachine.js';
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
} from './act/statemachine_spec.js';

/** A browser node has none of Node's parts (see the module comment). */
const BROWSER_PARTS: PlatformParts = { network: null, roundTrip: null, systemApp: null };

/**
 * Starts a node named `name` (`name@host`) in this page or Web Worker and resolves with its root
 * handle, as `ergo-ts`' startNode does. The node has no network stack and no system application:
 * the `network` option rejects with ErrUnsupported (as `simulateRemote` does, the EDF codec not
 * being here); `systemApp` and `handleSignals` change nothing. Rejects with ErrIncorrect for a
 * malformed name or options, or with the error of an application in `options.applications` that
 * failed to load or start (the node is stopped by force first). The node runs until
 * `stop()`/`stopForce()`; a page that goes away takes it with it.
 */
export function startNode(name: Atom | string, options: NodeOptions = {}): Promise<Node> {
  // Safe to leave un-awaited (docs/actors.md, Returned Promises are safe to ignore).
  return ignorable(startEngine(name, options, BROWSER_PARTS), undefined, 'startNode');
}
