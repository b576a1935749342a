// Actor: the general-purpose behaviour. Extend it and override the callbacks you need; every
// callback may be sync or async (an async one suspends this actor, not the node, until it
// settles, while its mail waits in order).

import type { MessageLog } from '../gen/log.js';
import { MessageExitPID, type MessageEvent } from '../gen/messages.js';
import type { Atom } from '../gen/atom.js';
import type { PID } from '../gen/pid.js';
import { ProcessState } from '../gen/priority.js';
import {
  ExitIgnoredUnlessTrapped,
  MailboxKind,
  Stop,
  type InheritedInit,
  type Process,
  type ProcessMailbox,
} from '../gen/process.js';
import { Alias, type Ref } from '../gen/ref.js';
import { ErrProtocolViolation } from '../gen/errors.js';
import { parseValue, type Infer, type Parsed } from '../gen/schema.js';
import type { StandardSchemaV1 } from '../gen/standard_schema.js';
import {
  ReplyLater,
  checkOnly,
  formatPath,
  protocolKey,
  type AnyProtocol,
  type ProtocolSpec,
  type CallResult,
  type Later,
  type Replied,
  type ReplyTo,
  type ErrorTo,
  type MessageOf,
  type RequestOf,
} from '../gen/protocol.js';
import { CallFailure } from '../gen/failure.js';
import { BehaviorBase } from './base.js';
import { answerInspect, exitReason, finishCall } from './handling.js';
import { isThenable } from '../lib/thenable.js';

const TRAP_EXIT = 1;
const SPLIT_HANDLE = 2;

/** The typed base class made for each protocol by `Actor.of`. */
const typedBases = new WeakMap<AnyProtocol, new () => Actor<AnyProtocol>>();

/** Messages an actor handles per scheduling turn before others get theirs. */
export const ACTOR_BATCH = 64;

/** Return value of a handler: nothing (carry on), a termination reason, a {@link Stop}, or a promise of those. */
export type HandlerResult = void | undefined | Error | Stop | Promise<void | undefined | Error | Stop>;

/** Handles a record that is not a plain message to the PID (Actor's private slow path). */
type OtherRecord = (a: Actor, mb: ProcessMailbox) => unknown;
/** The mailbox loop of one batch: see {@link actorLoop}. */
type Loop = (
  self: Actor,
  mb: ProcessMailbox,
  proc: Process,
  other: OtherRecord,
  ends: (r: unknown) => boolean,
  batch: number,
  zombee: number,
) => unknown;

/** Key of an actor class' own copy of the mailbox loop, on its prototype. */
const LOOP = Symbol('ergo-ts.actorLoop');
/** The prototype a LOOP was made for (an inherited LOOP is a parent class' copy). */
const LOOP_OWNER = Symbol('ergo-ts.actorLoopOwner');
interface LoopHolder {
  [LOOP]: Loop;
  [LOOP_OWNER]: unknown;
}

let otherOf: OtherRecord;

/** True for a handler result that ends the batch: a termination reason or a promise. */
function endsBatch(r: unknown): boolean {
  return r instanceof Error || r instanceof Stop || isThenable(r);
}

/**
 * One batch of an actor's mailbox loop: at most `batch` records, plain messages to the PID
 * straight to handleMessage, anything else to `other`; stops at a termination reason, a promise
 * (the process suspends), an empty mailbox or a kill (zombee: no more mail after the current).
 *
 * Every busy actor class runs its own copy of this function (see ownLoop): with one shared loop,
 * `self.handleMessage` would see every actor class of the application, and past four classes
 * the call goes megamorphic (a generic lookup and call per message, nothing inlined). So this
 * function must use nothing but its parameters: no module-level name, no constant it does not
 * receive (its source is compiled again for each class).
 */
function actorLoop(
  self: Actor,
  mb: ProcessMailbox,
  proc: Process,
  other: OtherRecord,
  ends: (r: unknown) => boolean,
  batch: number,
  zombee: number,
): unknown {
  for (let i = 0; i < batch; i++) {
    let r: unknown;
    const sender = mb.peekSender();
    if (sender !== undefined) {
      // The common case: a message sent to the PID, next in line (see ProcessMailbox.takeMessage).
      r = self.handleMessage(sender, mb.takeMessage() as never);
    } else {
      if (!mb.take()) return undefined;
      // MailboxKind.Regular is 0 (a literal: see above).
      if (mb.kind === 0 && mb.extra === undefined && mb.queue !== 'log') {
        // A message sent to the PID from another queue (a higher priority).
        const from = mb.from as PID;
        const message = mb.message;
        mb.release();
        r = self.handleMessage(from, message as never);
      } else {
        r = other(self, mb);
      }
    }
    if (r !== undefined && r !== null && ends(r)) return r;
    if (proc.state() === zombee) return undefined;
  }
  return undefined;
}

/** Copies of actorLoop made so far (each copy's source is made unique with it). */
let loopCopies = 0;

/**
 * Batches a class runs on its inherited loop before it gets its own copy: a class with little
 * traffic (or one made per spawn) is not worth a compilation.
 */
const OWN_LOOP_AFTER = 16;
/** Batches run so far by classes still on their inherited loop. */
const warmBatches = new WeakMap<object, number>();
/** Prototypes that refused an own loop (frozen): they keep the inherited one. */
const noOwnLoop = new WeakSet<object>();

/** The loop for a class without its own yet: the inherited one, and its own after the warm-up. */
function warmLoop(proto: LoopHolder): Loop {
  if (noOwnLoop.has(proto)) return proto[LOOP];
  const n = (warmBatches.get(proto) ?? 0) + 1;
  if (n < OWN_LOOP_AFTER) {
    warmBatches.set(proto, n);
    return proto[LOOP];
  }
  warmBatches.delete(proto);
  return ownLoop(proto);
}

/**
 * Gives an actor class (its prototype) its own compiled copy of actorLoop, so the loop's call
 * sites see that class only. Where code cannot be generated (a CSP, Node's
 * --disallow-code-generation-from-strings) or the source was rewritten (coverage tools add
 * counters: free variables, caught by the dry run with an empty batch), the class gets the
 * shared actorLoop: slower with many classes, same behaviour.
 */
function ownLoop(proto: LoopHolder): Loop {
  let loop: Loop = actorLoop;
  try {
    // The source differs per copy: V8 caches `new Function` by its source text, and a cached
    // copy would share its JIT feedback with every other class.
    const copy = new Function(`return ${actorLoop.toString()}\n// actor loop copy ${++loopCopies}`)() as Loop;
    // A dry run that takes nothing (batch 0) leaves the copy's feedback clean.
    copy(
      undefined as unknown as Actor,
      undefined as unknown as ProcessMailbox,
      undefined as unknown as Process,
      otherOf,
      endsBatch,
      0,
      -1,
    );
    loop = copy;
  } catch {
    // Keep the shared loop.
  }
  try {
    Object.defineProperty(proto, LOOP, { value: loop, configurable: true, writable: true });
    Object.defineProperty(proto, LOOP_OWNER, { value: proto, configurable: true, writable: true });
  } catch {
    noOwnLoop.add(proto);
    return proto[LOOP];
  }
  return loop;
}

/**
 * The base class `Actor.of(protocol)` gives, for the compiler: the handlers the protocol needs
 * are abstract (`handleMessage` when it declares messages, `handleCall` when it declares calls),
 * so a typed actor that forgets one does not compile.
 */
export type TypedActorClass<P> = [Declared<P, 'messages'>] extends [never]
  ? [Declared<P, 'calls'>] extends [never]
    ? abstract new () => Actor<P>
    : abstract new () => TypedCalls<P>
  : [Declared<P, 'calls'>] extends [never]
    ? abstract new () => TypedMessages<P>
    : abstract new () => TypedActor<P>;
/** The names a protocol declares under `part` (never when it has none). */
type Declared<P, Part extends 'messages' | 'calls'> = P extends { readonly spec: infer S }
  ? S extends { readonly [K in Part]?: infer M }
    ? keyof NonNullable<M>
    : never
  : never;

/** A typed actor that must handle messages (type only: `Actor.of` makes the class). */
export declare abstract class TypedMessages<P> extends Actor<P> {
  abstract override handleMessage(from: PID, message: MessageOf<P>): HandlerResult;
}
/** A typed actor that must answer calls (type only: `Actor.of` makes the class). */
export declare abstract class TypedCalls<P> extends Actor<P> {
  abstract override handleCall(from: PID, ref: Ref, request: RequestOf<P>): CallResult<P>;
}
/** A typed actor that must handle messages and answer calls (type only: `Actor.of` makes the class). */
export declare abstract class TypedActor<P> extends Actor<P> {
  abstract override handleMessage(from: PID, message: MessageOf<P>): HandlerResult;
  abstract override handleCall(from: PID, ref: Ref, request: RequestOf<P>): CallResult<P>;
}

/**
 * The general-purpose behaviour (Ergo's act.Actor).
 *
 * Lifecycle: `init(...args)` runs in state Init with the spawn arguments (returning an Error or
 * throwing fails the spawn); then each mail is handled in priority order (urgent → system → main
 * → log) by `handleMessage`, `handleCall`, `handleEvent`, `handleInspect`, `handleLog`;
 * `terminate(reason)` runs once after the process left the node.
 *
 * Returning an Error (or `new Stop(reason, reply?)`) from a handler stops the actor with that
 * reason (normal and shutdown are clean stops). Throwing or rejecting is a panic: logged with its
 * stack, the actor terminates with TerminateReasonPanic, everything else goes on.
 *
 * Exit signals (links, sendExit) terminate the actor with `ExitReason(source, reason)` unless
 * trap-exit is on, in which case they arrive in `handleMessage` as MessageExit* — except an exit
 * from the parent, which always terminates.
 */
export class Actor<P = unknown> extends BehaviorBase {
  /** Phantom: the protocol of this actor (`unknown`: untyped); `spawn` types the PID with it. */
  declare readonly '~protocol'?: P;
  /**
   * The base class of a typed actor: `class Counter extends Actor.of(CounterProtocol) { ... }`.
   * Handlers receive the protocol's unions, `handleCall` must return one of its replies (or
   * `ReplyLater`), `spawn` returns a `PID<typeof CounterProtocol>`, and messages or
   * requests from other nodes (and local ones with the node option `validateLocal`) are checked
   * against the protocol's schemas before delivery. The same protocol always gives the same class.
   */
  static of<P extends AnyProtocol>(protocol: P): TypedActorClass<P> {
    let base = typedBases.get(protocol);
    if (base === undefined) {
      base = class extends Actor<AnyProtocol> {};
      Object.defineProperty(base.prototype, protocolKey, { value: protocol });
      Object.defineProperty(base, 'name', { value: `Actor<${protocol.name}>` });
      typedBases.set(protocol, base);
    }
    return base as unknown as TypedActorClass<P>;
  }

  /**
   * The handler-per-message form of a typed actor: a class with one handler per message and per
   * call of `protocol`, their parameters inferred from it (no repeated types). Every message and
   * call needs its handler (a missing one does not compile); a call's handler returns that
   * call's reply (checked per call), `self.fail(request, error)` for one of its `errors`,
   * `ReplyLater`, a `Stop` or an Error. `init` makes the state (`self.data` in the handlers)
   * from the spawn arguments.
   *
   * @example
   * const CounterActor = Actor.define(Counter, {
   *   init: (_self, start: number) => ({ count: start }),
   *   messages: { inc: (msg, self) => void (self.data.count += msg.by) },
   *   calls: { get: (_req, self) => self.data.count },
   * });
   * const pid = await node.spawn(CounterActor, {}, 5);
   */
  static define<P extends AnyProtocol, S, A extends unknown[]>(
    protocol: P,
    spec: DefineSpec<P, S, A>,
  ): DefinedClass<P, S, A> {
    return defineActor(protocol, spec);
  }

  /**
   * A reply to `request`, checked against that request's own reply type (`request` narrowed to
   * one call: `if (req === 'get') return this.reply(req, this.count)`). At run time it is `value`.
   */
  reply<const R extends RequestOf<P>>(request: R, value: ReplyTo<P, R>): Replied<P> {
    void request;
    return value as Replied<P>;
  }

  /**
   * Keeps call `ref` of `from` to answer later with `respond`, typed with the reply
   * of `request` (return `ReplyLater` from handleCall). Any process may respond to it.
   */
  later<const R extends RequestOf<P>>(request: R, from: PID, ref: Ref): Later<ReplyTo<P, R>, ErrorTo<P, R>> {
    void request;
    return { from, ref };
  }

  /** Answers a call kept with `later`: `value` must be that request's reply. */
  respond<T>(later: Later<T>, value: NoInfer<T>): void {
    this.sendResponse(later.from, later.ref, value);
  }

  /**
   * An expected failure for `request` (one of its call's declared `errors`, checked against
   * that call): return it from `handleCall` and the caller's `call` rejects with a
   * {@link CallFailure} holding `error` (`tryCall` gives `{ ok: false, error }`), while this actor
   * carries on (an Error returned from a handler stops it; a failure does not).
   */
  fail<const R extends RequestOf<P>>(request: R, error: ErrorTo<P, R>): CallFailure<ErrorTo<P, R>> {
    void request;
    return new CallFailure(error);
  }

  /** Answers a call kept with `later` with one of its declared failures (see `fail`). */
  failLater<T, E>(later: Later<T, E>, error: NoInfer<E>): void {
    this.sendResponseError(later.from, later.ref, new CallFailure(error));
  }

  /** TRAP_EXIT | SPLIT_HANDLE (one field: an idle actor stays small). */
  #flags = 0;
  #mb!: ProcessMailbox;

  /** When on, exit signals (except the parent's) arrive as MessageExit* messages. */
  setTrapExit(trap: boolean): void {
    this.#flags = trap ? this.#flags | TRAP_EXIT : this.#flags & ~TRAP_EXIT;
  }
  trapExit(): boolean {
    return (this.#flags & TRAP_EXIT) !== 0;
  }
  /**
   * When on, mail addressed by name/alias goes to the *Name / *Alias callbacks. Turn it on in
   * `init`: while it is off, mail sent by name or alias is queued as mail to the PID (it takes
   * the fast path), so what was queued before it went on still goes to handleMessage.
   */
  setSplitHandle(split: boolean): void {
    this.#flags = split ? this.#flags | SPLIT_HANDLE : this.#flags & ~SPLIT_HANDLE;
    // #mb is unset before processInit (a constructor may call this): processInit tells it then.
    (this.#mb as ProcessMailbox | undefined)?.readsAddress?.(split);
  }
  splitHandle(): boolean {
    return (this.#flags & SPLIT_HANDLE) !== 0;
  }

  /**
   * Called with the spawn arguments. Return an Error (or throw) to fail the spawn. This default
   * takes none: override it with the parameters your spawns pass (a subclass that does not is
   * spawned with no arguments; see {@link InheritedInit}).
   */
  init(this: InheritedInit, ..._args: unknown[]): unknown {
    return undefined;
  }

  /** An asynchronous message (also MessageDown*, trapped MessageExit*, MessageEventStart/Stop...). */
  handleMessage(from: PID, _message: MessageOf<P>): HandlerResult {
    this.log.warning('Actor.handleMessage: unhandled message from %s', from.toString());
  }

  /**
   * A synchronous request. Return the reply; return `undefined` (untyped actors) or
   * `ReplyLater` to answer later with `sendResponse(from, ref, value)` (from any process);
   * return `new Stop(reason, reply)` to reply and stop. Returning an Error stops the actor (reply
   * with `sendResponseError` instead). In a typed actor (`Actor<typeof Proto>`) the request is the
   * protocol's request union and the return type must be one of its replies (or a promise of one).
   */
  handleCall(from: PID, _ref: Ref, _request: RequestOf<P>): CallResult<P> {
    this.log.warning('Actor.handleCall: unhandled request from %s', from.toString());
    return ReplyLater as CallResult<P>;
  }

  /** A message sent to this actor's registered name (split handling on). */
  handleMessageName(_name: Atom, from: PID, _message: MessageOf<P>): HandlerResult {
    this.log.warning('Actor.handleMessageName %s: unhandled message from %s', this.name, from.toString());
  }
  /** A message sent to one of this actor's aliases (split handling on). */
  handleMessageAlias(alias: Alias, from: PID, _message: MessageOf<P>): HandlerResult {
    this.log.warning('Actor.handleMessageAlias %s: unhandled message from %s', alias.toString(), from.toString());
  }
  /** A request sent to this actor's registered name (split handling on). */
  handleCallName(_name: Atom, from: PID, _ref: Ref, _request: RequestOf<P>): CallResult<P> {
    this.log.warning('Actor.handleCallName %s: unhandled request from %s', this.name, from.toString());
    return ReplyLater as CallResult<P>;
  }
  /** A request sent to one of this actor's aliases (split handling on). */
  handleCallAlias(alias: Alias, from: PID, _ref: Ref, _request: RequestOf<P>): CallResult<P> {
    this.log.warning('Actor.handleCallAlias %s: unhandled request from %s', alias.toString(), from.toString());
    return ReplyLater as CallResult<P>;
  }
  /** An event this actor subscribed to (linkEvent / monitorEvent). */
  handleEvent(message: MessageEvent): HandlerResult {
    this.log.warning('Actor.handleEvent: unhandled event message %s', message.event.toString());
  }
  /** Answer to `inspect`: a map of strings (may be async). */
  handleInspect(_from: PID, ..._items: string[]): Record<string, string> | Promise<Record<string, string>> {
    return {};
  }
  /** A log record, when this actor is registered as a logger (`node.loggerAddPID`). */
  handleLog(_message: MessageLog): HandlerResult {
    this.log.warning('Actor.handleLog: unhandled log message');
  }
  /** Runs once after the actor left the node; only asynchronous sends work here. */
  terminate(_reason: Error): unknown {
    return undefined;
  }

  // --- ProcessBehavior ------------------------------------------------------------------------

  processInit(process: Process, args: unknown[]): unknown {
    this.bind(process);
    const mb = process.mailbox();
    this.#mb = mb;
    mb.readsAddress?.((this.#flags & SPLIT_HANDLE) !== 0);
    return this.init(...args);
  }

  processTerminate(reason: Error): unknown {
    return this.terminate(reason);
  }

  processRun(): unknown {
    const proto = Object.getPrototypeOf(this) as LoopHolder;
    const loop = proto[LOOP_OWNER] === proto ? proto[LOOP] : warmLoop(proto);
    return loop(this as Actor, this.#mb, this.process, otherOf, endsBatch, ACTOR_BATCH, ProcessState.Zombee);
  }

  /** Every record but a plain message to the PID: requests, events, exits, inspects, logs, split mail. */
  #other(mb: ProcessMailbox): unknown {
    const kind = mb.kind;
    const from = mb.from as PID;
    const message = mb.message;
    const extra = mb.extra;
    const fromLog = mb.queue === 'log';
    mb.release();
    switch (kind) {
      case MailboxKind.Regular:
        return fromLog ? this.handleLog(message as MessageLog) : this.#regular(from, message as MessageOf<P>, extra);
      case MailboxKind.Request:
        return this.#request(from, message as RequestOf<P>, extra);
      case MailboxKind.Event:
        return this.handleEvent(message as MessageEvent);
      case MailboxKind.Exit:
        return this.#exit(from, message, extra);
      case MailboxKind.Inspect:
        return answerInspect(this, from, extra as Ref, this.handleInspect(from, ...(message as string[])));
    }
    return undefined;
  }

  #regular(from: PID, message: MessageOf<P>, via: unknown): unknown {
    if ((this.#flags & SPLIT_HANDLE) !== 0 && via !== undefined) {
      if (typeof via === 'string') return this.handleMessageName(via as Atom, from, message);
      if (via instanceof Alias) return this.handleMessageAlias(via, from, message);
    }
    return this.handleMessage(from, message);
  }

  #request(from: PID, request: RequestOf<P>, extra: unknown): unknown {
    let ref: Ref;
    let r: unknown;
    if (Array.isArray(extra)) {
      ref = extra[0] as Ref;
      const via = extra[1] as unknown;
      if ((this.#flags & SPLIT_HANDLE) !== 0 && typeof via === 'string')
        r = this.handleCallName(via as Atom, from, ref, request);
      else if ((this.#flags & SPLIT_HANDLE) !== 0 && via instanceof Alias)
        r = this.handleCallAlias(via, from, ref, request);
      else r = this.handleCall(from, ref, request);
    } else {
      ref = extra as Ref;
      r = this.handleCall(from, ref, request);
    }
    if (isThenable(r)) return Promise.resolve(r).then((v) => finishCall(this, from, ref, v));
    return finishCall(this, from, ref, r);
  }

  #exit(from: PID, message: unknown, extra: unknown): unknown {
    // Trapped exits become messages, except an exit from the parent, which always terminates.
    const fromParent = message instanceof MessageExitPID && from.equals(this.parent);
    if ((this.#flags & TRAP_EXIT) !== 0 && !fromParent) return this.#regular(from, message as MessageOf<P>, undefined);
    // Erlang's exit(Pid, normal) does not end a process that does not trap exits
    if (extra === ExitIgnoredUnlessTrapped) return undefined;
    return exitReason(message);
  }

  static {
    otherOf = (a, mb) => a.#other(mb);
  }
}

// Actor itself owns the shared loop; its subclasses inherit it until their warm-up is over.
(Actor.prototype as unknown as LoopHolder)[LOOP] = actorLoop;
(Actor.prototype as unknown as LoopHolder)[LOOP_OWNER] = Actor.prototype;

export { Stop };

// ---- Actor.define ----
// The handler-per-message form of a typed actor: `Actor.define(protocol, { init, messages, calls })`
// gives a class with one handler per name of the protocol, whose parameters are inferred from
// it (no repeated types) and whose set is exhaustive (a missing handler is a compile error). It
// is the tRPC / Effect RPC shape beside the class form (`Actor.of`): the same PIDs, spawn, Pool
// workers and boundary check.
//
// Dispatch: each message (each request) goes to the handler of the first schema it matches, with
// that schema's output. To know which that is, the actor validates what it receives, local mail
// too: the cost of this form. Its boundary check at the door only checks (no transform), so what
// arrives is transformed once, here.

type SpecOf<P> = P extends { readonly spec: infer S extends ProtocolSpec } ? S : never;
type MessagesOf<P> = NonNullable<SpecOf<P>['messages']>;
type CallsOf<P> = NonNullable<SpecOf<P>['calls']>;
type ErrorsOf<C> = C extends { readonly errors?: infer E }
  ? E extends Readonly<Record<string, StandardSchemaV1>>
    ? Infer<E[keyof E]>
    : never
  : never;

/** A defined actor as its handlers see it: the actor (send, call, later...) and its `data` (the state `init` made). */
export type DefinedActor<P, S> = Actor<P> & { data: S };

/** What the handler of call `K` may return: its reply, a failure, ReplyLater, a Stop, an Error (stop). */
export type CallAnswer<C> =
  | Infer<C extends { readonly reply: infer R } ? R : never>
  | CallFailure<ErrorsOf<C>>
  | ReplyLater
  | Stop<Infer<C extends { readonly reply: infer R } ? R : never>>
  | Error;

/** The handlers of the protocol's messages, one per name: each gets its schema's output. */
export type MessageHandlers<P, S> = {
  [K in keyof MessagesOf<P>]: (message: Infer<MessagesOf<P>[K]>, self: DefinedActor<P, S>, from: PID) => HandlerResult;
};

/** The handlers of the protocol's calls, one per name: each answers with its own call's reply. */
export type CallHandlers<P, S> = {
  [K in keyof CallsOf<P>]: (
    request: Infer<CallsOf<P>[K]['request']>,
    self: DefinedActor<P, S>,
    from: PID,
    ref: Ref,
  ) => CallAnswer<CallsOf<P>[K]> | Promise<CallAnswer<CallsOf<P>[K]>>;
};

/**
 * What `Actor.define` takes: `init` (optional) makes the state from the spawn arguments; then a
 * handler for every message and every call the protocol declares (a missing one does not
 * compile; `messages` / `calls` only when the protocol declares them).
 */
export type DefineSpec<P, S, A extends unknown[]> = {
  /** Makes the actor's state from the spawn arguments (throw to fail the spawn). */
  init?: (this: Actor<P>, ...args: A) => S | Promise<S>;
  /** Runs once after the actor left the node. */
  terminate?: (reason: Error, self: DefinedActor<P, S>) => unknown;
} & ([keyof MessagesOf<P>] extends [never]
  ? { messages?: Record<string, never> }
  : { messages: MessageHandlers<P, S> }) &
  ([keyof CallsOf<P>] extends [never] ? { calls?: Record<string, never> } : { calls: CallHandlers<P, S> });

/** The class `Actor.define` gives: a typed actor spawned with `init`'s arguments. */
export type DefinedClass<P, S, A extends unknown[]> = new () => DefinedActor<P, S> & {
  init(...args: A): unknown;
};

type Entry = readonly [string, StandardSchemaV1, (...args: never[]) => unknown];

function parseSafely(schema: StandardSchemaV1, value: unknown): Parsed {
  try {
    return parseValue(schema, value);
  } catch (e) {
    return { issue: { path: [], message: `the schema threw: ${e instanceof Error ? e.message : String(e)}` } };
  }
}

/** The first entry whose schema `value` matches, with that schema's output; or the deepest issue. */
function dispatch(entries: readonly Entry[], value: unknown): { entry: Entry; value: unknown } | { issue: string } {
  let best: Parsed | undefined;
  for (const e of entries) {
    const r = parseSafely(e[1], value);
    if (r.issue === undefined) return { entry: e, value: r.value };
    if (best?.issue === undefined || r.issue.path.length > best.issue.path.length) best = r;
  }
  const i = best?.issue;
  return { issue: i === undefined ? 'no handler' : `${formatPath(i.path)}: ${i.message}` };
}

/** Builds the class for `Actor.define` (see there). */
export function defineActor<P extends AnyProtocol, S, A extends unknown[]>(
  protocol: P,
  spec: DefineSpec<P, S, A>,
): DefinedClass<P, S, A> {
  const s = spec as {
    init?: (this: unknown, ...args: unknown[]) => unknown;
    terminate?: (reason: Error, self: unknown) => unknown;
    messages?: Record<string, (...args: never[]) => unknown>;
    calls?: Record<string, (...args: never[]) => unknown>;
  };
  const declared = protocol.spec;
  const messages: Entry[] = Object.entries(declared.messages ?? {}).map(([k, schema]) => {
    const h = s.messages?.[k];
    if (typeof h !== 'function') throw ErrProtocolViolation.with(`${protocol.name}: no handler for message ${k}`);
    return [k, schema, h] as const;
  });
  const calls: Entry[] = Object.entries(declared.calls ?? {}).map(([k, c]) => {
    const h = s.calls?.[k];
    if (typeof h !== 'function') throw ErrProtocolViolation.with(`${protocol.name}: no handler for call ${k}`);
    return [k, c.request, h] as const;
  });
  class Defined extends Actor<P> {
    data: unknown = undefined;
    override init(...args: unknown[]): unknown {
      if (s.init === undefined) return undefined;
      const r = s.init.call(this, ...args);
      if (isThenable(r))
        return Promise.resolve(r).then((v) => {
          this.data = v;
        });
      this.data = r;
      return undefined;
    }
    override handleMessage(from: PID, message: never): HandlerResult {
      const d = dispatch(messages, message);
      if ('issue' in d) {
        this.log.warning('%s: no handler takes this message from %s: %s', protocol.name, from.toString(), d.issue);
        return undefined;
      }
      return (d.entry[2] as (m: unknown, self: unknown, from: PID) => HandlerResult)(d.value, this, from);
    }
    override handleCall(from: PID, ref: Ref, request: never): never {
      const d = dispatch(calls, request);
      if ('issue' in d) {
        this.sendResponseError(from, ref, ErrProtocolViolation.with(`${protocol.name}: ${d.issue}`));
        return ReplyLater as never;
      }
      return (d.entry[2] as (r: unknown, self: unknown, from: PID, ref: Ref) => never)(d.value, this, from, ref);
    }
    override terminate(reason: Error): unknown {
      return s.terminate?.(reason, this);
    }
  }
  // At the door: checked, not transformed (the dispatch above applies the schemas' outputs once).
  Object.defineProperty(Defined.prototype, protocolKey, { value: checkOnly(protocol) });
  Object.defineProperty(Defined, 'name', { value: `Defined<${protocol.name}>` });
  return Defined as unknown as DefinedClass<P, S, A>;
}
