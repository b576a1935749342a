// The parts of a StateMachine that are data: its spec (initial state, data, the handler of each
// (state, message type) and (state, call type), state-enter callbacks), the result a handler
// returns, and the timeout actions. The behaviour itself is in statemachine.ts.
//
// Types of messages and calls are the names of a typed protocol's entries (`defineProtocol`):
// registering a handler for a name the protocol lacks, or for a state outside the machine's
// state type, is a compile error, and a call handler must reply with that call's reply type.

import { defineError, ErrIncorrect, type ErgoError } from '../gen/errors.js';
import { Event } from '../gen/event.js';
import type { MessageEvent } from '../gen/messages.js';
import type { PID } from '../gen/pid.js';
import type { Stop } from '../gen/process.js';
import type { AnyProtocol, MessageOf, Protocol, ReplyLater } from '../gen/protocol.js';
import type { Ref } from '../gen/ref.js';
import type { Infer } from '../gen/schema.js';

/** A spec that cannot be used: a duplicate handler, a type its protocol lacks, a bad argument. */
export const ErrStateMachineSpec: ErgoError = defineError('ERR_STATEMACHINE_SPEC', 'state machine spec');
/** A message or call for which the current state has no handler (the default fallbacks stop with it). */
export const ErrStateMachineUnhandled: ErgoError = defineError(
  'ERR_STATEMACHINE_UNHANDLED',
  'no handler in the current state',
);
/** A handler returned something that is not a transition (or postponed from a state-enter callback). */
export const ErrStateMachineResult: ErgoError = defineError('ERR_STATEMACHINE_RESULT', 'bad state machine result');

// --- names of a protocol's entries ----------------------------------------------------------------

type SpecOf<P> = P extends Protocol<infer S> ? S : never;
type MessagesOf<P> = SpecOf<P> extends { readonly messages: infer M } ? M : Record<never, never>;
type CallsOf<P> = SpecOf<P> extends { readonly calls: infer C } ? C : Record<never, never>;

/** The names of protocol `P`'s messages (the keys of its `messages`). */
export type MessageName<P> = keyof MessagesOf<P> & string;
/** The type of `P`'s message named `K`. */
export type MessageNamed<P, K extends MessageName<P>> = Infer<MessagesOf<P>[K]>;
/** The names of protocol `P`'s calls (the keys of its `calls`). */
export type CallName<P> = keyof CallsOf<P> & string;
/** The request type of `P`'s call named `K`. */
export type RequestNamed<P, K extends CallName<P>> = CallsOf<P>[K] extends { readonly request: infer Q }
  ? Infer<Q>
  : never;
/** The reply type of `P`'s call named `K`. */
export type ReplyNamed<P, K extends CallName<P>> = CallsOf<P>[K] extends { readonly reply: infer R } ? Infer<R> : never;

// --- actions ---------------------------------------------------------------------------------------

function duration(ms: unknown, what: string): number {
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0)
    throw ErrIncorrect.with(`${what}: the duration must be a number ≥ 0 (Infinity cancels), got ${String(ms)}`);
  return ms;
}

/**
 * Ergo's StateTimeout (Erlang's `state_timeout`): after `durationMs` in the state the transition
 * leads to, `message` arrives (from the machine's own PID) and goes to that state's handler of
 * its type. A state change cancels it; a new one replaces it; `Infinity` cancels it.
 */
export class StateTimeout<M = unknown> {
  /** Milliseconds until it fires (`Infinity`: cancel). */
  readonly durationMs: number;
  constructor(
    durationMs: number,
    /** What arrives when it fires. */
    readonly message: M,
  ) {
    this.durationMs = duration(durationMs, 'StateTimeout');
  }
  /** Cancels the running state timeout. */
  static cancel(): StateTimeout<never> {
    return new StateTimeout(Infinity, undefined as never);
  }
}

/**
 * Ergo's MessageTimeout (Erlang's event `timeout`): `message` arrives after `durationMs` unless
 * another message, call, event or timeout reaches the machine first (an inactivity timer). A
 * new one replaces it; `Infinity` cancels it.
 */
export class MessageTimeout<M = unknown> {
  /** Milliseconds without mail until it fires (`Infinity`: cancel). */
  readonly durationMs: number;
  constructor(
    durationMs: number,
    /** What arrives when it fires. */
    readonly message: M,
  ) {
    this.durationMs = duration(durationMs, 'MessageTimeout');
  }
  /** Cancels the running message timeout. */
  static cancel(): MessageTimeout<never> {
    return new MessageTimeout(Infinity, undefined as never);
  }
}

/**
 * Ergo's GenericTimeout (Erlang's `{timeout, Name}`): a named timer that state changes leave
 * alone. One per name: a new one replaces the running one of its name; `Infinity` cancels it.
 */
export class GenericTimeout<M = unknown> {
  /** Milliseconds until it fires (`Infinity`: cancel). */
  readonly durationMs: number;
  constructor(
    /** The timer's name: one running timer per name. */
    readonly name: string,
    durationMs: number,
    /** What arrives when it fires. */
    readonly message: M,
  ) {
    if (typeof name !== 'string') throw ErrIncorrect.with(`GenericTimeout: the name must be a string`);
    this.durationMs = duration(durationMs, 'GenericTimeout');
  }
  /** Cancels the running generic timeout `name`. */
  static cancel(name: string): GenericTimeout<never> {
    return new GenericTimeout(name, Infinity, undefined as never);
  }
}

/** A transition action: a timeout whose message is one of the machine's messages `M`. */
export type Action<M> = StateTimeout<M> | MessageTimeout<M> | GenericTimeout<M>;

// --- results -----------------------------------------------------------------------------------------

/**
 * What a handler returns to move on. Every field is optional: `{}` (or returning nothing) keeps
 * the state and the data.
 */
export interface Transition<S, D, M> {
  /** The next state. A different state cancels the state timeout, replays postponed mail, enters it. */
  readonly state?: S;
  /** The new data (omitted: unchanged, or mutated in place). */
  readonly data?: D;
  /** Timeouts to start or cancel, in order. */
  readonly actions?: readonly Action<M>[];
  /**
   * Keep this message (or call) until the state changes, then handle it again in the new state,
   * before newer mail, in the order the postponed ones arrived (Erlang's `postpone`).
   */
  readonly postpone?: boolean;
}

/** What a state-enter callback returns: a transition that cannot postpone (there is no message). */
export type EnterTransition<S, D, M> = Omit<Transition<S, D, M>, 'postpone'> & { readonly postpone?: never };

type Settled<T> = T | Promise<T>;

/**
 * What a message handler returns: a transition, nothing (keep state and data), an Error (stop
 * with it as the reason: `TerminateReasonNormal` and `TerminateReasonShutdown` are clean stops)
 * or a `Stop`; or a promise of one (the machine waits for it, its mail queued in order).
 */
export type MessageResult<S, D, M> = Settled<Transition<S, D, M> | void | Error | Stop>;

/**
 * What a call handler returns: a transition with the `reply` (`ReplyLater`: answer later with
 * `sendResponse`), a postponing transition (the caller waits for the new state's answer), an
 * Error or a `Stop` (`new Stop(reason, reply)` replies, then stops); or a promise of one.
 */
export type CallResult<S, D, M, R> = Settled<
  | (Transition<S, D, M> & { readonly reply: R | ReplyLater; readonly postpone?: false })
  | (Transition<S, D, M> & { readonly postpone: true })
  | Error
  | Stop
>;

/** What a state-enter callback returns. */
export type EnterResult<S, D, M> = Settled<EnterTransition<S, D, M> | void | Error | Stop>;

/** Ergo's StateMessageHandler: handles message `message` of one type in `state`. */
export type StateMessageHandler<S, D, M, St extends S = S, Msg = M> = (
  from: PID,
  state: St,
  data: D,
  message: Msg,
) => MessageResult<S, D, M>;

/** Ergo's StateCallHandler: answers a request of one type in `state`. */
export type StateCallHandler<S, D, M, R, St extends S = S, Req = unknown> = (
  from: PID,
  state: St,
  data: D,
  request: Req,
  ref: Ref,
) => CallResult<S, D, M, R>;

/** Ergo's StateEnterCallback: runs after each state change (and once for the initial state, `oldState === state`). */
export type StateEnterCallback<S, D, M, St extends S = S> = (oldState: S, state: St, data: D) => EnterResult<S, D, M>;

/**
 * Ergo's EventHandler: handles the messages of an event the machine monitors, in any state. It
 * may change state and data, start timeouts, or stop the machine; it cannot postpone.
 */
export type StateEventHandler<S, D, M, E = unknown> = (
  event: MessageEvent<E>,
  state: S,
  data: D,
) => EnterResult<S, D, M>;

// --- the spec -----------------------------------------------------------------------------------------

/** A handler as the engine calls it (the typed signatures above, erased). */
export type AnyHandler = (from: PID, state: string, data: unknown, message: unknown, ref?: Ref) => unknown;
/** An enter callback as the engine calls it. */
export type AnyEnter = (oldState: string, state: string, data: unknown) => unknown;
/** An event handler as the engine calls it. */
export type AnyEventHandler = (event: MessageEvent, state: string, data: unknown) => unknown;

function names(what: 'messages' | 'calls', protocol: AnyProtocol): Set<string> {
  return new Set(Object.keys(protocol.spec[what] ?? {}));
}

/**
 * What `init` returns (Ergo's StateMachineSpec): the initial state, the data, and the handlers.
 * Made by `this.spec(initialState, data)` in a StateMachine's `init`; each method registers one
 * handler and returns the spec, so the calls chain.
 */
export class StateMachineSpec<P, S extends string, D> {
  /** @internal state → message type → handler. */
  readonly messageHandlers = new Map<string, Map<string, AnyHandler>>();
  /** @internal state → call type → handler. */
  readonly callHandlers = new Map<string, Map<string, AnyHandler>>();
  /** @internal state → its own enter callback. */
  readonly enterCallbacks = new Map<string, AnyEnter>();
  /** @internal the enter callback of the states without their own. */
  enterAll: AnyEnter | undefined;
  /** @internal the events to monitor (a bare name: an event of this node) and their handlers. */
  readonly eventHandlers: { readonly event: Event | string; readonly handler: AnyEventHandler }[] = [];
  readonly #messages: Set<string>;
  readonly #calls: Set<string>;

  /** @internal made by StateMachine.spec. */
  constructor(
    /** The machine's protocol: message and call types are its entry names. */
    readonly protocol: AnyProtocol,
    /** The state the machine starts in. */
    readonly initialState: S,
    /** The data it starts with. */
    readonly data: D,
  ) {
    if (typeof initialState !== 'string') throw ErrStateMachineSpec.with('the initial state must be a string');
    this.#messages = names('messages', protocol);
    this.#calls = names('calls', protocol);
  }

  /**
   * Ergo's WithStateMessageHandler: `handler` handles messages of type `type` (a name in the
   * protocol's `messages`) in `state` (or each of several states). Throws ERR_STATEMACHINE_SPEC
   * for a type the protocol lacks or a (state, type) that has a handler already.
   */
  stateMessageHandler<const St extends S, K extends MessageName<P>>(
    state: St | readonly St[],
    type: K,
    handler: StateMessageHandler<S, D, MessageOf<P>, St, MessageNamed<P, K>>,
  ): this {
    this.#add(this.messageHandlers, this.#messages, 'message', state, type, handler as unknown as AnyHandler);
    return this;
  }

  /**
   * Ergo's WithStateCallHandler: `handler` answers requests of call `type` (a name in the
   * protocol's `calls`) in `state` (or each of several states); its reply has that call's reply
   * type. Throws as {@link stateMessageHandler} does.
   */
  stateCallHandler<const St extends S, K extends CallName<P>>(
    state: St | readonly St[],
    type: K,
    handler: StateCallHandler<S, D, MessageOf<P>, ReplyNamed<P, K>, St, RequestNamed<P, K>>,
  ): this {
    this.#add(this.callHandlers, this.#calls, 'call', state, type, handler as unknown as AnyHandler);
    return this;
  }

  /**
   * Ergo's WithStateEnterCallback: `callback` runs after every state change, and once for the
   * initial state when the machine starts (`oldState === state`, as Erlang's state enter calls).
   * With `state`, it runs on entering that state (or those states) only, in place of the
   * callback for all states. It may change the data, start timeouts, move on to another state
   * (which is entered in turn) or stop the machine; it cannot postpone.
   */
  stateEnterCallback(callback: StateEnterCallback<S, D, MessageOf<P>>): this;
  stateEnterCallback<const St extends S>(
    state: St | readonly St[],
    callback: StateEnterCallback<S, D, MessageOf<P>, St>,
  ): this;
  stateEnterCallback(a: unknown, b?: unknown): this {
    if (typeof a === 'function' && b === undefined) {
      if (this.enterAll !== undefined) throw ErrStateMachineSpec.with('a state enter callback for all states is set');
      this.enterAll = a as AnyEnter;
      return this;
    }
    if (typeof b !== 'function') throw ErrStateMachineSpec.with('stateEnterCallback: a function is needed');
    for (const s of statesOf(a)) {
      if (this.enterCallbacks.has(s)) throw ErrStateMachineSpec.with(`state '${s}' has a state enter callback`);
      this.enterCallbacks.set(s, b as AnyEnter);
    }
    return this;
  }

  /**
   * Ergo's WithEventHandler: the machine monitors `event` once it has started (an Event, or the
   * name of an event of this node) and `handler` handles its messages in every state. The
   * messages the event buffers are handled first, in order. Monitoring fails — no such event,
   * its node unreachable — end the machine with that error, as Ergo's do. The machine's
   * `handleEvent` gets the messages of events without a handler. Throws ERR_STATEMACHINE_SPEC
   * for an event that has a handler already.
   */
  eventHandler<E = unknown>(event: Event<E> | string, handler: StateEventHandler<S, D, MessageOf<P>, E>): this {
    if (typeof handler !== 'function') throw ErrStateMachineSpec.with('the event handler must be a function');
    if (!(event instanceof Event) && (typeof event !== 'string' || event === ''))
      throw ErrStateMachineSpec.with('an event handler needs an Event or an event name');
    const key = (e: Event | string): string => (typeof e === 'string' ? e : `${e.name}@@${e.node}`);
    if (this.eventHandlers.some((h) => key(h.event) === key(event)))
      throw ErrStateMachineSpec.with(`event '${typeof event === 'string' ? event : event.name}' has a handler`);
    this.eventHandlers.push({ event, handler: handler as unknown as AnyEventHandler });
    return this;
  }

  #add(
    table: Map<string, Map<string, AnyHandler>>,
    known: Set<string>,
    what: string,
    state: unknown,
    type: string,
    handler: AnyHandler,
  ): void {
    if (typeof handler !== 'function') throw ErrStateMachineSpec.with(`the ${what} handler must be a function`);
    if (!known.has(type))
      throw ErrStateMachineSpec.with(`protocol ${this.protocol.name} has no ${what} named '${String(type)}'`);
    for (const s of statesOf(state)) {
      let byType = table.get(s);
      if (byType === undefined) table.set(s, (byType = new Map()));
      if (byType.has(type)) throw ErrStateMachineSpec.with(`state '${s}' has a ${what} handler for '${type}'`);
      byType.set(type, handler);
    }
  }
}

function statesOf(state: unknown): readonly string[] {
  const list = Array.isArray(state) ? (state as unknown[]) : [state];
  if (list.length === 0) throw ErrStateMachineSpec.with('no state given');
  for (const s of list) if (typeof s !== 'string') throw ErrStateMachineSpec.with(`a state must be a string`);
  return list as string[];
}
