// StateMachine: a behaviour modelled on Erlang's gen_statem and Ergo's act StateMachine. The
// machine is in one state (a string) and holds data; each message or call goes to the handler
// registered for (current state, its type), the type being the name of the protocol entry the
// value matches. Handlers return transitions; timeouts ride on the process's own sendAfter,
// wrapped so that a cancelled or replaced timer that already fired is recognised and dropped.

import { ErrIncorrect, toError } from '../gen/errors.js';
import { Event } from '../gen/event.js';
import type { EventName } from '../gen/protocol.js';
import { MessageExitPID, type MessageEvent } from '../gen/messages.js';
import type { PID } from '../gen/pid.js';
import { ProcessState } from '../gen/priority.js';
import { ExitIgnoredUnlessTrapped, MailboxKind, Stop, type Process, type ProcessMailbox } from '../gen/process.js';
import {
  ReplyLater,
  protocolKey,
  type AnyProtocol,
  type AnyReplyOf,
  type MessageOf,
  type RequestOf,
} from '../gen/protocol.js';
import type { Ref } from '../gen/ref.js';
import { firstIssue } from '../gen/schema.js';
import type { StandardSchemaV1 } from '../gen/standard_schema.js';
import type { HandlerResult } from './actor.js';
import { BehaviorBase } from './base.js';
import { answerInspect, exitReason, requestRef } from './handling.js';
import { isThenable } from '../lib/thenable.js';
import {
  ErrStateMachineResult,
  ErrStateMachineSpec,
  ErrStateMachineUnhandled,
  GenericTimeout,
  MessageTimeout,
  StateMachineSpec,
  StateTimeout,
  type AnyEnter,
  type AnyEventHandler,
  type AnyHandler,
  type CallResult,
  type MessageResult,
} from './statemachine_spec.js';

/** Mail a state machine handles per scheduling turn (postponed mail replayed counts too). */
export const STATEMACHINE_BATCH = 64;

/** The protocol as declared (the prototype's protocolKey holds a copy that also admits timers). */
const DECLARED = Symbol('ergo-ts.stateMachineProtocol');
/** The typed base class made for each protocol by `StateMachine.of`. */
const typedBases = new WeakMap<AnyProtocol, unknown>();

const T_STATE = 0;
const T_MESSAGE = 1;
const T_GENERIC = 2;
/** Wakes the machine for postponed mail left over at the end of a batch. */
const T_KICK = 3;
/** Starts monitoring the events of the spec's event handlers (after init, as Ergo does). */
const T_EVENTS = 4;

/** A timer's message to the machine itself: only this module makes them. */
class Fired {
  constructor(
    readonly kind: number,
    readonly gen: number,
    readonly name: string,
    readonly message: unknown,
  ) {}
}

interface Timer {
  readonly gen: number;
  readonly cancel: () => unknown;
}

/** A message or call being handled, kept whole when postponed. */
interface Mail {
  readonly call: boolean;
  readonly from: PID;
  readonly message: unknown;
  readonly ref: Ref | undefined;
  /** The protocol entry it matches: undefined until looked up, null for none. */
  type?: string | null;
}

function typeOf(entries: readonly (readonly [string, StandardSchemaV1])[], value: unknown): string | null {
  for (const [name, schema] of entries) if (firstIssue(schema, value) === undefined) return name;
  return null;
}

/**
 * A state machine (Ergo's act.StateMachine, Erlang's gen_statem). Declare it from a typed
 * protocol, with its state and data types, and return its spec from `init`:
 *
 * ```ts
 * class Door extends StateMachine.of(DoorProtocol)<'closed' | 'open', { opened: number }> {
 *   override init() {
 *     return this.spec('closed', { opened: 0 })
 *       .stateMessageHandler('closed', 'open', (_from, _state, data) => ({ state: 'open', data: { opened: data.opened + 1 } }))
 *       .stateMessageHandler('open', 'close', () => ({ state: 'closed' }))
 *       .stateCallHandler(['closed', 'open'], 'state', (_from, state) => ({ reply: state }));
 *   }
 * }
 * ```
 *
 * Mail whose type has no handler in the current state goes to `handleMessage` / `handleCall`,
 * which stop the machine with ERR_STATEMACHINE_UNHANDLED unless overridden (Ergo and Erlang
 * both crash there). A handler that throws or rejects panics the process, as in any actor;
 * one that returns an Error or a `Stop` stops it with that reason.
 */
export abstract class StateMachine<P = unknown, S extends string = string, D = unknown> extends BehaviorBase {
  /** Phantom: the protocol of this machine; `spawn` types the PID with it. */
  declare readonly '~protocol'?: P;

  /**
   * The base class of a state machine speaking `protocol`, to extend with its state and data
   * types: `class Lock extends StateMachine.of(LockProtocol)<'locked' | 'open', LockData>`.
   * Mail from other nodes (and local mail with the node option `validateLocal`) is checked
   * against the protocol before delivery, as for a typed Actor.
   */
  static of<P extends AnyProtocol>(
    protocol: P,
  ): abstract new <S extends string, D = undefined>() => StateMachine<P, S, D> {
    let base = typedBases.get(protocol);
    if (base === undefined) {
      // the boundary check sees the protocol plus this module's own timer messages
      const guarded: AnyProtocol = Object.freeze({
        ...protocol,
        checkMessage: (v: unknown) => (v instanceof Fired ? undefined : protocol.checkMessage(v)),
        parseMessage: (v: unknown) => (v instanceof Fired ? { value: v } : protocol.parseMessage(v)),
      });
      const cls = class extends StateMachine<AnyProtocol, string, unknown> {
        override init(): StateMachineSpec<AnyProtocol, string, unknown> {
          throw ErrStateMachineSpec.with(`${protocol.name}: a StateMachine must override init`);
        }
      };
      Object.defineProperty(cls.prototype, protocolKey, { value: guarded });
      Object.defineProperty(cls.prototype, DECLARED, { value: protocol });
      Object.defineProperty(cls, 'name', { value: `StateMachine<${protocol.name}>` });
      typedBases.set(protocol, cls);
      base = cls;
    }
    return base as abstract new <S extends string, D = undefined>() => StateMachine<P, S, D>;
  }

  #mb!: ProcessMailbox;
  #protocol!: AnyProtocol;
  #messageTypes: (readonly [string, StandardSchemaV1])[] = [];
  #callTypes: (readonly [string, StandardSchemaV1])[] = [];
  #messages = new Map<string, Map<string, AnyHandler>>();
  #calls = new Map<string, Map<string, AnyHandler>>();
  #enters = new Map<string, AnyEnter>();
  #enterAll: AnyEnter | undefined;
  /** Event (name@@node) → its handler, once monitoring started. */
  #events = new Map<string, AnyEventHandler>();
  #eventList: { readonly event: Event; readonly handler: AnyEventHandler }[] = [];
  #state!: S;
  #data!: D;
  #trap = false;
  /** Mail postponed in the current state, in arrival order. */
  #postponed: Mail[] = [];
  /** Postponed mail to handle again (a state changed), before the mailbox. */
  #replay: Mail[] = [];
  #kicked = false;
  #gen = 0;
  #stateTimer: (Timer & { readonly state: string }) | undefined;
  #messageTimer: Timer | undefined;
  readonly #generic = new Map<string, Timer>();

  /**
   * Returns the spec (see {@link StateMachineSpec}): the initial state, the data and the
   * handlers. May be async; returning an Error (or throwing) fails the spawn.
   */
  abstract init(...args: unknown[]): StateMachineSpec<P, S, D> | Error | Promise<StateMachineSpec<P, S, D> | Error>;

  /** A new spec for `init` to return: the machine starts in `initialState` with `data`. */
  spec(initialState: S, ...data: undefined extends D ? [data?: D] : [data: D]): StateMachineSpec<P, S, D> {
    return new StateMachineSpec<P, S, D>(this.#declared(), initialState, data[0] as D);
  }

  /** The current state (Ergo's CurrentState). */
  currentState(): S {
    return this.#state;
  }
  /** The current data (Ergo's Data). */
  data(): D {
    return this.#data;
  }
  /** Mail postponed in the current state, waiting for a state change. */
  postponed(): number {
    return this.#postponed.length;
  }

  /** When on, exit signals (except the parent's) arrive as MessageExit* messages, typed by the protocol. */
  setTrapExit(trap: boolean): void {
    this.#trap = trap;
  }
  /** True when exit signals arrive as messages (see {@link setTrapExit}). */
  trapExit(): boolean {
    return this.#trap;
  }

  /**
   * A message the current state has no handler for (or that matches none of the protocol's
   * messages). Default: logs it and stops the machine with ERR_STATEMACHINE_UNHANDLED.
   * Override to ignore such mail (return nothing) or to handle it in every state.
   */
  handleMessage(from: PID, message: MessageOf<P>): MessageResult<S, D, MessageOf<P>> {
    void message;
    this.log.error('StateMachine: no message handler in state %s (mail from %s)', this.#state, from.toString());
    return ErrStateMachineUnhandled.with(`message in state '${this.#state}'`);
  }

  /**
   * A request the current state has no handler for. Default: answers it with
   * ERR_STATEMACHINE_UNHANDLED and stops the machine with it.
   */
  handleCall(from: PID, ref: Ref, request: RequestOf<P>): CallResult<S, D, MessageOf<P>, AnyReplyOf<P>> {
    void request;
    const err = ErrStateMachineUnhandled.with(`call in state '${this.#state}'`);
    this.log.error('StateMachine: no call handler in state %s (call from %s)', this.#state, from.toString());
    this.sendResponseError(from, ref, err);
    return err;
  }

  /** An event this machine subscribed to (linkEvent / monitorEvent). Return an Error to stop. */
  handleEvent(message: MessageEvent): HandlerResult {
    this.log.warning('StateMachine.handleEvent: unhandled event message %s', message.event.toString());
  }

  /** Answer to `inspect`: by default the state and the number of postponed messages. */
  handleInspect(_from: PID, ..._items: string[]): Record<string, string> | Promise<Record<string, string>> {
    return { state: String(this.#state), postponed: String(this.#postponed.length) };
  }

  /** Runs once after the machine left the node (its timers are cancelled by then). */
  terminate(_reason: Error): unknown {
    return undefined;
  }

  // --- ProcessBehavior ------------------------------------------------------------------------

  processInit(process: Process, args: unknown[]): unknown {
    this.bind(process);
    this.#mb = process.mailbox();
    this.#protocol = this.#declared();
    this.#messageTypes = Object.entries(this.#protocol.spec.messages ?? {});
    this.#callTypes = Object.entries(this.#protocol.spec.calls ?? {}).map(([k, c]) => [k, c.request] as const);
    const r = this.init(...args);
    return isThenable(r) ? Promise.resolve(r).then((s) => this.#start(s)) : this.#start(r);
  }

  processTerminate(reason: Error): unknown {
    this.#stateTimer?.cancel();
    this.#messageTimer?.cancel();
    for (const t of this.#generic.values()) t.cancel();
    this.#stateTimer = this.#messageTimer = undefined;
    this.#generic.clear();
    return this.terminate(reason);
  }

  processRun(): unknown {
    const mb = this.#mb;
    for (let i = 0; i < STATEMACHINE_BATCH; i++) {
      let r: unknown;
      const again = this.#replay.shift();
      if (again !== undefined) r = this.#dispatch(again);
      else {
        if (!mb.take()) return undefined;
        const kind = mb.kind;
        const from = mb.from as PID;
        const message = mb.message;
        const extra = mb.extra;
        const fromLog = mb.queue === 'log';
        mb.release();
        r = this.#record(kind, from, message, extra, fromLog);
      }
      if (r !== undefined && r !== null) {
        if (isThenable(r)) return Promise.resolve(r).then((v) => this.#resume(v));
        if (r instanceof Error || r instanceof Stop) return r;
      }
      if (this.state() === ProcessState.Zombee) return undefined;
    }
    // postponed mail to replay and an empty mailbox: nothing would run this process again
    if (this.#replay.length > 0 && mb.size === 0) this.#kick();
    return undefined;
  }

  // --- internals ------------------------------------------------------------------------------

  #declared(): AnyProtocol {
    const p = (this as unknown as Record<symbol, AnyProtocol | undefined>)[DECLARED];
    if (p === undefined) throw ErrStateMachineSpec.with('declare the class with StateMachine.of(protocol)');
    return p;
  }

  #start(spec: unknown): unknown {
    if (spec instanceof Error) return spec;
    if (!(spec instanceof StateMachineSpec))
      return ErrStateMachineSpec.with('init must return the spec made by this.spec(initialState, data)');
    this.#messages = spec.messageHandlers;
    this.#calls = spec.callHandlers;
    this.#enters = spec.enterCallbacks;
    this.#enterAll = spec.enterAll;
    this.#eventList = spec.eventHandlers.map(({ event, handler }) => ({
      event: typeof event === 'string' ? new Event(event as EventName, this.node.name) : event,
      handler,
    }));
    if (this.#eventList.length > 0) this.send(this.pid, new Fired(T_EVENTS, 0, '', undefined) as never);
    this.#state = spec.initialState as S;
    this.#data = spec.data as D;
    // Erlang enters the initial state too (old state = state)
    return this.#enter(this.#state, this.#state);
  }

  /** After an async handler settled: carry on with postponed mail now due, if any. */
  #resume(v: unknown): unknown {
    if (v !== undefined && v !== null) return v;
    if (this.#replay.length === 0 || this.state() === ProcessState.Zombee) return undefined;
    return this.processRun();
  }

  #kick(): void {
    if (this.#kicked) return;
    this.#kicked = true;
    this.send(this.pid, new Fired(T_KICK, 0, '', undefined) as never);
  }

  #record(kind: MailboxKind, from: PID, message: unknown, extra: unknown, fromLog: boolean): unknown {
    switch (kind) {
      case MailboxKind.Regular:
        if (fromLog) return ErrIncorrect.with('a state machine can not be a logger');
        if (message instanceof Fired) return this.#fired(message);
        return this.#dispatch({ call: false, from, message, ref: undefined });
      case MailboxKind.Request:
        return this.#dispatch({ call: true, from, message, ref: requestRef(extra) });
      case MailboxKind.Event: {
        this.#cancelMessageTimeout();
        const m = message as MessageEvent;
        const handler = this.#events.get(eventKey(m.event));
        return handler === undefined ? this.handleEvent(m) : this.#onEvent(handler, m);
      }
      case MailboxKind.Exit: {
        // as Actor: trapped exits are messages, except the parent's, which always terminates
        const fromParent = message instanceof MessageExitPID && from.equals(this.parent);
        if (this.#trap && !fromParent) return this.#dispatch({ call: false, from, message, ref: undefined });
        if (extra === ExitIgnoredUnlessTrapped) return undefined;
        return exitReason(message);
      }
      case MailboxKind.Inspect:
        return answerInspect(this, from, extra as Ref, this.handleInspect(from, ...(message as string[])));
    }
    return undefined;
  }

  /** A timer's message: handled if its timer is still the running one, else dropped. */
  #fired(f: Fired): unknown {
    switch (f.kind) {
      case T_KICK:
        this.#kicked = false;
        return undefined;
      case T_EVENTS:
        return this.#monitorEvents();
      case T_STATE:
        if (this.#stateTimer?.gen !== f.gen) return undefined;
        this.#stateTimer = undefined;
        break;
      case T_MESSAGE:
        if (this.#messageTimer?.gen !== f.gen) return undefined;
        this.#messageTimer = undefined;
        break;
      default:
        if (this.#generic.get(f.name)?.gen !== f.gen) return undefined;
        this.#generic.delete(f.name);
    }
    return this.#dispatch({ call: false, from: this.pid, message: f.message, ref: undefined });
  }

  #dispatch(mail: Mail): unknown {
    // any mail the machine handles ends the inactivity timer (Ergo's MessageTimeout)
    this.#cancelMessageTimeout();
    if (mail.type === undefined) mail.type = typeOf(mail.call ? this.#callTypes : this.#messageTypes, mail.message);
    const state = this.#state;
    const handler =
      mail.type === null ? undefined : (mail.call ? this.#calls : this.#messages).get(state)?.get(mail.type);
    let r: unknown;
    if (handler !== undefined) r = handler(mail.from, state, this.#data, mail.message, mail.ref);
    else if (mail.call) r = this.handleCall(mail.from, mail.ref!, mail.message as RequestOf<P>);
    else r = this.handleMessage(mail.from, mail.message as MessageOf<P>);
    if (isThenable(r)) return Promise.resolve(r).then((v) => this.#apply(v, mail));
    return this.#apply(r, mail);
  }

  /**
   * Applies a handler's (settled) result: data, postpone, actions, the reply, then the state
   * change (which may enter the new state). `mail` is undefined for a state-enter callback.
   * Returns a termination reason, a promise (an async enter callback), or undefined.
   */
  #apply(r: unknown, mail: Mail | undefined): unknown {
    if (r === undefined || r === null) return undefined;
    if (r instanceof Stop) {
      if (mail?.call === true && r.hasReply) this.sendResponse(mail.from, mail.ref!, r.reply);
      return r;
    }
    if (r instanceof Error) return r;
    if (typeof r !== 'object')
      return ErrStateMachineResult.with(`a handler in state '${this.#state}' returned ${typeof r}, not a transition`);
    const t = r as { state?: unknown; data?: unknown; actions?: unknown; postpone?: unknown; reply?: unknown };
    if ('data' in t) this.#data = t.data as D;
    const postpone = t.postpone === true;
    if (postpone) {
      if (mail === undefined) return ErrStateMachineResult.with('a state enter callback can not postpone');
      this.#postponed.push(mail);
    }
    const next = t.state === undefined ? this.#state : t.state;
    if (typeof next !== 'string') return ErrStateMachineResult.with(`the next state must be a string`);
    if (t.actions !== undefined) {
      const e = this.#actions(t.actions, next);
      if (e !== undefined) return e;
    }
    if (mail?.call === true && !postpone && 'reply' in t && t.reply !== ReplyLater)
      this.sendResponse(mail.from, mail.ref!, t.reply);
    if (next === this.#state) return undefined;
    // a state change: the old state's timeout ends, its postponed mail is due again, first
    const old = this.#state;
    this.#state = next as S;
    if (this.#stateTimer !== undefined && this.#stateTimer.state !== next) {
      this.#stateTimer.cancel();
      this.#stateTimer = undefined;
    }
    if (this.#postponed.length > 0) {
      this.#replay = this.#postponed.concat(this.#replay);
      this.#postponed = [];
    }
    return this.#enter(old, next);
  }

  /**
   * Monitors each event of the spec's event handlers and handles what it buffered, in order; a
   * failure ends the machine (Ergo panics). An event's messages count as handled from then on.
   */
  async #monitorEvents(): Promise<unknown> {
    for (const { event, handler } of this.#eventList) {
      let buffered: MessageEvent[];
      try {
        buffered = await this.monitorEvent(event);
      } catch (e) {
        return ErrStateMachineSpec.with(`monitoring event ${event.name} of ${event.node}: ${toError(e).message}`);
      }
      this.#events.set(eventKey(event), handler);
      for (const m of buffered) {
        const r = await this.#onEvent(handler, m);
        if (r !== undefined && r !== null) return r;
      }
    }
    return undefined;
  }

  /** An event handler's result, applied as an enter callback's is (no postponing). */
  #onEvent(handler: AnyEventHandler, m: MessageEvent): unknown {
    const r = handler(m, this.#state, this.#data);
    const apply = (v: unknown): unknown =>
      v !== null && typeof v === 'object' && (v as { postpone?: unknown }).postpone === true
        ? ErrStateMachineResult.with(`the handler of event ${m.event.name} can not postpone`)
        : this.#apply(v, undefined);
    return isThenable(r) ? Promise.resolve(r).then(apply) : apply(r);
  }

  /** Runs the enter callback of `state` (if any) and applies its result. */
  #enter(old: string, state: string): unknown {
    const cb = this.#enters.get(state) ?? this.#enterAll;
    if (cb === undefined) return undefined;
    const r = cb(old, state, this.#data);
    if (isThenable(r)) return Promise.resolve(r).then((v) => this.#apply(v, undefined));
    return this.#apply(r, undefined);
  }

  #actions(actions: unknown, target: string): Error | undefined {
    if (!Array.isArray(actions)) return ErrStateMachineResult.with('actions must be an array');
    for (const a of actions as unknown[]) {
      if (a instanceof StateTimeout) {
        this.#stateTimer?.cancel();
        this.#stateTimer = undefined;
        if (a.durationMs !== Infinity)
          this.#stateTimer = { ...this.#arm(T_STATE, '', a.message, a.durationMs), state: target };
      } else if (a instanceof MessageTimeout) {
        this.#cancelMessageTimeout();
        if (a.durationMs !== Infinity) this.#messageTimer = this.#arm(T_MESSAGE, '', a.message, a.durationMs);
      } else if (a instanceof GenericTimeout) {
        this.#generic.get(a.name)?.cancel();
        this.#generic.delete(a.name);
        if (a.durationMs !== Infinity) this.#generic.set(a.name, this.#arm(T_GENERIC, a.name, a.message, a.durationMs));
      } else {
        return ErrStateMachineResult.with(`unknown action ${String(a)}`);
      }
    }
    return undefined;
  }

  #arm(kind: number, name: string, message: unknown, ms: number): Timer {
    const gen = ++this.#gen;
    const cancel = this.sendAfter(this.pid, new Fired(kind, gen, name, message) as never, ms);
    return { gen, cancel };
  }

  #cancelMessageTimeout(): void {
    if (this.#messageTimer === undefined) return;
    this.#messageTimer.cancel();
    this.#messageTimer = undefined;
  }
}

function eventKey(e: Event): string {
  return `${e.name}@@${e.node}`;
}
