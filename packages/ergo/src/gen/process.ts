// The process contract: what a behaviour (Actor, Supervisor, Pool, your own) can do through its
// process, and what the engine expects from a behaviour. Engine classes are private; users only
// ever see these interfaces.

import type { Atom } from './atom.js';
import type { Event, EventOptions } from './event.js';
import type { Log, LogLevel } from './log.js';
import type { MetaBehavior, MetaInfo, MetaOptions } from './meta.js';
import type { MessageEvent } from './messages.js';
import type { Node } from './node.js';
import type { CallOptions, CancelFunc, Compression, ProcessFallback, ProcessOptions, SendOptions } from './options.js';
import type { PID } from './pid.js';
import type { MessageFor, PayloadOf, ReplyFor, RequestFor } from './protocol.js';
import type { MessagePriority, ProcessState } from './priority.js';
import type { ProcessID } from './processid.js';
import type { Alias, Ref } from './ref.js';

/** Kinds of mailbox records (Ergo's MailboxMessageType). */
export const MailboxKind = { Regular: 0, Request: 1, Event: 2, Exit: 3, Inspect: 4 } as const;
/** @see MailboxKind */
export type MailboxKind = (typeof MailboxKind)[keyof typeof MailboxKind];

/**
 * The `extra` of an Exit mail carrying Erlang's rule for `exit(Pid, normal)` (issue 18): a
 * process that does not trap exits ignores it; one that traps gets it as a message. Only exit
 * signals from Erlang nodes carry it (`Core.routeSendExit(..., true)`, and the links of an Erlang
 * process that exited normally: `Core.routeTerminatePID(..., true)`); ergo-ts and Go Ergo
 * processes keep Ergo's rule, where a `normal` exit signal ends a process that does not trap.
 */
export const ExitIgnoredUnlessTrapped: unique symbol = Symbol('ExitIgnoredUnlessTrapped');

/**
 * True when a request record's `extra` (see {@link ProcessMailbox}) says the caller asked for
 * important delivery: a behaviour that passes the request on to another node (Pool) keeps the
 * flag, so that node reports a target it cannot deliver to instead of letting the caller time out.
 */
export function isImportantRequest(extra: unknown): boolean {
  return Array.isArray(extra) && extra[2] === true;
}

/** Names of the four queues, in the order they are served. */
export type MailboxQueue = 'urgent' | 'system' | 'main' | 'log';

/**
 * Low-level view of a process' mailbox, for custom behaviours. `take()` moves the next record
 * (urgent → system → main → log) into `kind/from/message/extra`; for requests `extra` is the
 * call's Ref (or `[ref, target]` when addressed by name/alias, or `[ref, target, true]` — target
 * possibly undefined — when the caller asked for important delivery: see
 * {@link isImportantRequest}); for regular messages it is the name (Atom) or Alias the sender
 * used, or undefined when sent to the PID.
 */
export interface ProcessMailbox {
  take(): boolean;
  /**
   * A fast path for the common record, used by Actor: the sender of the next record when it is a
   * plain message sent to the PID (kind Regular, no name or alias, main queue) and nothing waits
   * in the urgent or system queues, so it is what `take()` would serve next; undefined otherwise
   * (an implementation may always answer undefined: `take()` then serves every record). After a
   * PID, call `takeMessage()` before anything else touches the mailbox.
   */
  peekSender(): PID | undefined;
  /**
   * Removes the record `peekSender()` just found and returns its message. Unlike `take()` it
   * writes no record field (`kind/from/message/extra/queue` keep describing the record `take()`
   * served last): a long-lived mailbox then never stores a young sender per message, which costs
   * a remembered-set write barrier in V8 until that sender's PID is promoted.
   */
  takeMessage(): unknown;
  /**
   * Optional. Whether the owner reads how a regular message was addressed (`extra`: the name or
   * alias it was sent to). An owner that does not (an Actor without split handling) lets the
   * mailbox queue such mail as mail sent to the PID: its `extra` is then undefined and
   * `peekSender` serves it. Until told otherwise a mailbox keeps the address. Mail already
   * queued keeps the form it was queued in.
   */
  readsAddress?(reads: boolean): void;
  /** Like take(), but only from the urgent queue (supervisors in a restart sequence). */
  takeUrgent(): boolean;
  /** Drops the references of the last taken record. */
  release(): void;
  readonly kind: MailboxKind;
  readonly from: PID | undefined;
  readonly message: unknown;
  readonly extra: unknown;
  readonly queue: MailboxQueue;
  /** Records waiting in all queues. */
  readonly size: number;
  lengths(): { urgent: number; system: number; main: number; log: number };
}

/** One record waiting in a process' mailbox, as {@link Node.processMailbox} shows it. */
export interface MailboxRecord {
  readonly queue: MailboxQueue;
  readonly kind: MailboxKind;
  /** The sender (the node's own PID for framework notifications). */
  readonly from: PID;
  /** The message, request, exit or event as it waits (the same object: do not change it). */
  readonly message: unknown;
}

/** The first records of each of a process' four queues and every queue's length (nothing taken). */
export interface MailboxPeek {
  urgent: MailboxRecord[];
  system: MailboxRecord[];
  main: MailboxRecord[];
  log: MailboxRecord[];
  lengths: { urgent: number; system: number; main: number; log: number };
}

/** What a traced process sent: a message, a request (call) or a response to a call. */
export type TracedSend = 'send' | 'call' | 'response';

/**
 * Gets what one local process receives and sends, while it is traced ({@link Node.traceProcess}).
 * The methods run synchronously on the traced process' own path (inside the sender's send for
 * `received`): keep them short, do not send or call from them, and do not keep the message
 * beyond the call unless it is copied. An error they throw is dropped.
 */
export interface ProcessTracer {
  /** A record was queued in the traced process' mailbox. */
  received(queue: MailboxQueue, kind: MailboxKind, from: PID, message: unknown): void;
  /** The traced process sent `message` to `to`. */
  sent(kind: TracedSend, to: SendTarget, message: unknown): void;
  /** The traced process ended: the tracer is removed, nothing more comes. */
  ended(reason: Error): void;
}

/** Any address a message can be sent to. A plain string (or Atom) is a local registered name. */
export type SendTarget = PID | ProcessID | Alias | Atom | string;
/** Targets of links and monitors. An Atom is a local registered name. */
export type LinkTarget = PID | ProcessID | Alias | Event | Atom;

/**
 * What the engine requires from a behaviour. Actor, Supervisor and Pool implement it; write your
 * own only for a custom mailbox loop.
 *
 * - `processInit` runs in state Init with the spawn arguments. Returning an Error (or a promise
 *   resolving to one) or throwing fails the spawn.
 * - `processRun` is called when the process has mail. Handle a bounded batch and return
 *   `undefined` (the engine re-queues the process if mail is left), a termination reason (an
 *   Error, or a {@link Stop}), or a thenable that resolves to either (the process stays
 *   suspended, its mail waiting, until it settles). Throwing or rejecting is a panic.
 * - `processTerminate` runs once, after the process left the node; only async sends work there.
 */
export interface ProcessBehavior {
  processInit(process: Process, args: unknown[]): unknown;
  processRun(): unknown;
  processTerminate(reason: Error): unknown;
}

/** A behaviour class (constructed with no arguments) or a function returning a fresh behaviour. */
export type ProcessFactory<B extends ProcessBehavior = ProcessBehavior> = (new () => B) | (() => B);

declare const inheritedInit: unique symbol;

/**
 * The `this` of the `init` Actor and WebWorker define, which takes no arguments: it marks that
 * init as the inherited one, so {@link InitArgs} of a behaviour that declares no `init` of its own
 * is `[]` and spawning it with arguments is a compile error (they would be dropped). Any actor is
 * one; a subclass's own `init` (even `init(...args: unknown[])`) has no such `this` and keeps its
 * parameters.
 */
export type InheritedInit = ProcessBehavior & { readonly [inheritedInit]?: true };

/**
 * The argument list of a behaviour's `init`, used to type spawn's `...args`: `[]` when that init is
 * the one inherited from Actor or WebWorker ({@link InheritedInit}), the parameters of an optional
 * `init` (`[]` for {@link NoArgsBehavior}), `unknown[]` for a behaviour with no `init` at all (a
 * custom {@link ProcessBehavior} reads its args in processInit).
 */
export type InitArgs<B> = B extends { init(...args: infer A): unknown }
  ? IsInheritedInit<ThisParameterType<B['init']>> extends true
    ? []
    : A
  : 'init' extends keyof B
    ? OptionalInitArgs<B>
    : unknown[];

/** The parameters of an optional `init` (a spec's "no args needed" behaviour). */
type OptionalInitArgs<B> = B extends { init?(...args: infer A): unknown } ? A : unknown[];

/** Whether an init's `this` is exactly {@link InheritedInit} (a user's init has none: `unknown`). */
type IsInheritedInit<T> = [T] extends [InheritedInit] ? ([InheritedInit] extends [T] ? true : false) : false;

/**
 * A behaviour whose `init` runs with no arguments (or has none). A spec that leaves its `args`
 * out (a child spec, pool options, an application member) must name such a factory: one whose
 * init needs arguments is a compile error there, as `node.spawn(Factory)` without them is.
 */
export interface NoArgsBehavior extends ProcessBehavior {
  init?(): unknown;
}

/**
 * `{ [K]: InitArgs<B> }` when B's `init` needs arguments, else `unknown` (nothing more): added to
 * a spec type, it makes its args field required exactly when `node.spawn` requires the args.
 */
export type ArgsWhenRequired<B, K extends PropertyKey = 'args'> =
  [] extends InitArgs<B> ? unknown : { [P in K]: InitArgs<B> };

/** Snapshot of a process, as `info()`/`node.processInfo()` return it. */
export interface ProcessInfo {
  pid: PID;
  name: Atom;
  application: Atom;
  behavior: string;
  mailboxSize: number;
  mailboxQueues: { urgent: number; system: number; main: number; log: number };
  messagesIn: number;
  messagesOut: number;
  /**
   * Nanoseconds spent in this process' batches (its callbacks run by the scheduler), estimated:
   * the first batch of a scheduler slice and every batch while batches are long (≥ 20 µs on
   * average) are timed exactly; short batches are timed with probability 1/16 and charged 16
   * times (up to 0.1 ms each, the rest once). Unbiased for batches up to 0.1 ms: within a few
   * percent on a steady load; 0 for a process that handled nothing; a process with a handful of
   * short batches may show 0 or a multiple of one batch. Time after an async handler's first
   * `await` is not counted. docs/actors.md, "The scheduler".
   */
  runningTime: number;
  /**
   * When the handler the process is still in began (ms since the epoch), while it awaits in an
   * async handler (state Running or WaitResponse); 0 when it is in none. `runningTime` counts
   * none of that handler's time after its first `await`: the time since this is what it has
   * been busy for. Taken from the clock reading the handler's batch began with (at most a
   * scheduler slice early). An ergo-ts addition: Go's ProcessInfo has no such field, so it is not
   * sent to other nodes (the inspector's message has Go's layout).
   */
  handlerStartedAt?: number;
  compression: Compression;
  messagePriority: MessagePriority;
  /** Seconds since spawn. */
  uptime: number;
  state: ProcessState;
  parent: PID;
  leader: PID;
  fallback: ProcessFallback;
  env: Record<string, unknown>;
  aliases: Alias[];
  events: Atom[];
  metas: Alias[];
  monitorsPID: PID[];
  monitorsProcessID: ProcessID[];
  monitorsAlias: Alias[];
  monitorsEvent: Event[];
  monitorsNode: Atom[];
  linksPID: PID[];
  linksProcessID: ProcessID[];
  linksAlias: Alias[];
  linksEvent: Event[];
  linksNode: Atom[];
  logLevel: LogLevel;
  keepNetworkOrder: boolean;
  importantDelivery: boolean;
}

/** Short snapshot used by process listings. */
export interface ProcessShortInfo {
  pid: PID;
  name: Atom;
  application: Atom;
  behavior: string;
  messagesIn: number;
  messagesOut: number;
  messagesMailbox: number;
  /** As `ProcessInfo.runningTime` (nanoseconds, sampled). */
  runningTime: number;
  /** As `ProcessInfo.handlerStartedAt`. */
  handlerStartedAt?: number;
  uptime: number;
  state: ProcessState;
  parent: PID;
  leader: PID;
  logLevel: LogLevel;
}

/**
 * A process, as its behaviour sees it. States where each operation is allowed follow Ergo 3.2
 * (I = Init, R = Running, including waiting for a reply, T = inside terminate); elsewhere the
 * operation throws ErrNotAllowed. Synchronous operations throw ErgoError; async ones reject.
 *
 * In Init the process is not in the node's table yet: sends to its PID and lookups of it by name
 * (processPID, inspect) fail until init has succeeded, while what it sets up in init is live at
 * once: names and aliases take mail (queued until init ends), events take subscribers, links and
 * monitors (its own, and those others make on its PID) are recorded, calls go out (an async
 * `init` awaits them). If init fails, all of it is undone as at termination: names, aliases and
 * events are released and their watchers notified with init's error, and so are the watchers of
 * its PID; its own links and monitors are dropped, its pending calls fail.
 *
 * Every Promise a method returns is safe to ignore (marked handled before it rejects, the failure
 * logged at debug on this process's logger); awaited in a handler, a rejection is thrown into it.
 * An important delivery without a Promise (`send` with important delivery, `sendAfter`, a reply)
 * that fails is logged once at warning on this process's logger.
 *
 * A sleeping process (its handler has returned: typically a `.then`, `.catch` or timer callback
 * the handler left behind) may do nothing. Its `send`, `sendWithPriority`, `sendExit`,
 * `sendEvent`, `sendResponse` and `sendResponseError` log that at error on its logger and drop
 * the message (a throw there would reject the caller's own promise chain and end the OS
 * process); its other operations throw or reject ErrNotAllowed saying the handler has returned.
 * Await the work inside the handler, or send the result to the process itself with
 * `this.node.send(this.pid, result)`.
 */
export interface Process extends Pick<
  Node,
  | 'spawn'
  | 'spawnRegister'
  | 'callWithTimeout'
  | 'callWithPriority'
  | 'callImportant'
  | 'callPID'
  | 'callProcessID'
  | 'callAlias'
> {
  /** The node this process lives on. */
  readonly node: Node;
  /** This process' PID. */
  readonly pid: PID;
  /** Registered name, or '' when none. */
  readonly name: Atom;
  /** The process that spawned it (the node's core PID for node spawns). */
  readonly parent: PID;
  /** Group leader (inherited from the parent unless set in options). */
  readonly leader: PID;
  /** Application this process belongs to, or ''. */
  readonly application: Atom;
  /** Seconds since spawn (0 right after). */
  uptime(): number;
  /** Current state. */
  state(): ProcessState;
  /** Name of the behaviour class. */
  behaviorName(): string;

  /**
   * Spawns the factory `node` enabled under `name` (`Network.enableSpawn`) on that node (I/R).
   * The child's parent is this process, its leader this process' leader; it inherits this
   * process' log level and, only with `security.exposeEnvRemoteSpawn`, its env. With
   * `options.linkChild` this process links to the child once it runs; with `linkParent` the child
   * links to this process. Errors: ErrNotAllowed
   * for this node's own name or when the peer disallows remote spawn, ErrNameUnknown for a
   * name the peer never enabled, ErrTaken, ErrNoConnection / ErrNoRoute.
   */
  remoteSpawn(node: Atom | string, name: Atom | string, options?: ProcessOptions, ...args: unknown[]): Promise<PID>;
  /**
   * {@link remoteSpawn}, registering the child under `register` on the remote node (ErrTaken if
   * used). The name to register comes before the factory name, as in every `spawnRegister` of
   * this API (Go's `RemoteSpawnRegister(node, name, register)` is the one in the other order).
   */
  remoteSpawnRegister(
    node: Atom | string,
    register: Atom | string,
    name: Atom | string,
    options?: ProcessOptions,
    ...args: unknown[]
  ): Promise<PID>;

  /**
   * Registers a name for this process (I/R). ErrTaken when it already has one or the name is
   * used. Registered in init, the name takes mail at once (handled after init); processPID finds
   * it once init has succeeded.
   */
  registerName(name: Atom | string): void;
  /** Drops this process' name (I/R); watchers of the name get ErrUnregistered. ErrNameUnknown if none. */
  unregisterName(): void;

  /** Env value (case-insensitive name), or undefined. */
  env(name: string): unknown;
  /** Env value or `defaultValue`. */
  envDefault<T>(name: string, defaultValue: T): T;
  /** Sets (or with undefined/null deletes) an env value of this process only (I/R; ignored otherwise). ErrIncorrect for an empty or non-string name, in any state. */
  setEnv(name: string, value: unknown): void;
  /** A copy of this process' env. */
  envList(): Record<string, unknown>;

  /** Default priority of everything this process sends. */
  sendPriority(): MessagePriority;
  /** Sets the default send priority (I/R). ErrIncorrect for an unknown priority. */
  setSendPriority(priority: MessagePriority): void;
  importantDelivery(): boolean;
  setImportantDelivery(important: boolean): void;
  keepNetworkOrder(): boolean;
  setKeepNetworkOrder(keep: boolean): void;
  compression(): Compression;
  setCompression(enable: boolean): void;
  setCompressionType(type: 'gzip' | 'zlib' | 'lzw'): void;
  setCompressionLevel(level: 0 | 1 | 2): void;
  setCompressionThreshold(threshold: number): void;

  /** Creates an extra address of this process (I/R). */
  createAlias(): Alias;
  /** Deletes one of this process' aliases (I/R); watchers get ErrUnregistered. ErrAliasOwner / ErrAliasUnknown. */
  deleteAlias(alias: Alias): void;
  /** This process' aliases, in creation order. */
  aliases(): Alias[];

  /**
   * Sends a message (I/R/T). ErrProcessUnknown when a local target does not exist,
   * ErrProcessMailboxFull when its mailbox is bounded and full. Remote sends are fire-and-forget
   * unless `important`.
   */
  send<T extends SendTarget>(to: T, message: MessageFor<T>, options?: SendOptions): void;
  /** send() with an explicit priority. */
  sendWithPriority<T extends SendTarget>(to: T, message: MessageFor<T>, priority: MessagePriority): void;
  /** send() that reports delivery problems at once (R). */
  sendImportant<T extends SendTarget>(to: T, message: MessageFor<T>): Promise<void>;
  /**
   * Sends after `delayMs` (I/R). The timer belongs to this process and is cancelled when it
   * terminates. Returns a function that cancels it (true if it had not fired yet).
   */
  sendAfter<T extends SendTarget>(
    to: T,
    message: MessageFor<T>,
    delayMs: number,
    priority?: MessagePriority,
  ): CancelFunc;
  /** sendAfter with an explicit priority (I/R; Ergo 3.2). ErrIncorrect for an unknown priority or a bad delay. */
  sendWithPriorityAfter<T extends SendTarget>(
    to: T,
    message: MessageFor<T>,
    priority: MessagePriority,
    delayMs: number,
  ): CancelFunc;
  /** Sends an exit signal (I/R/T). ErrNotAllowed towards self, parent or leader; ErrIncorrect without a reason. */
  sendExit(to: PID, reason: Error): void;
  /** sendExit after `delayMs` (I/R). */
  sendExitAfter(to: PID, reason: Error, delayMs: number): CancelFunc;
  /**
   * Answers a call (I/R): any process holding (pid, ref) may answer. A reply nobody waits for any
   * more is dropped. With the important flag on, a remote reply carries it (no wait for the ack).
   */
  sendResponse(to: PID, ref: Ref, value: unknown): void;
  /** Answers a call with an error (I/R): the caller's promise rejects with it. */
  sendResponseError(to: PID, ref: Ref, error: Error): void;
  /**
   * Answers a call and reports whether the caller got it (I/R; Ergo 3.2). A local caller gets it
   * at once: resolves, or rejects with ErrResponseIgnored when it no longer waits (timed out,
   * ended) or ErrProcessUnknown when there is no such process. A remote reply travels with the
   * important flag and resolves on the caller's node ack (it rejects with what that node
   * reported, or ErrTimeout). ErrIncorrect for a `to` that is not a PID or a `ref` that is not a Ref.
   */
  sendResponseImportant(to: PID, ref: Ref, value: unknown): Promise<void>;
  /** sendResponseImportant with an error for the caller to reject with (I/R; Ergo 3.2). */
  sendResponseErrorImportant(to: PID, ref: Ref, error: Error): Promise<void>;

  /**
   * Makes a synchronous request (I/R) and suspends until the reply, the timeout (default 5000 ms,
   * ErrTimeout) or the signal. Calling your own PID fails at once (ErrNotAllowed); a local
   * target that dies with the request unanswered fails the call at once (ErrProcessTerminated,
   * cause = its reason). Rejects rather than throws. In init, an async `init` awaits it (the
   * spawn waits meanwhile, bounded by `initTimeout`). Its variants (callWithTimeout,
   * callWithPriority, callImportant, callPID, callProcessID, callAlias: the same as the Node's)
   * are allowed in the same states (I/R).
   */
  call<T extends SendTarget, const R extends RequestFor<T>>(
    to: T,
    request: R,
    options?: CallOptions,
  ): Promise<ReplyFor<T, R>>;
  /** Asks a local process for its `handleInspect` map (I/R); jumps to its urgent queue. */
  inspect(pid: PID, ...items: string[]): Promise<Record<string, string>>;
  /** Snapshot of this process (R). */
  info(): ProcessInfo;

  /** Registers an event produced by this process (I/R); returns its token. ErrTaken when the name is used. */
  registerEvent<N extends Atom | string>(name: N, options?: EventOptions): Ref<PayloadOf<N>>;
  /** Unregisters one of this process' events (I/R); subscribers get ErrUnregistered. */
  unregisterEvent(name: Atom | string): void;
  /** Publishes to an event (R); any holder of the token may publish. ErrEventOwner on a wrong token. */
  sendEvent<K extends Ref>(name: Atom | string, token: K, message: PayloadOf<K>, options?: SendOptions): void;
  /** Names of the events this process produces. */
  events(): Atom[];

  /**
   * One-way link (I/R): this process gets an exit signal when the target ends. Synchronous for
   * every target: a target on another node is recorded at once and asked over the wire; if that
   * node refuses (no such process...) or the connection is lost, the exit signal arrives with
   * that reason (Erlang's `noproc` style). Throws ErrNetworkStopped / ErrNoConnection at once
   * when the node cannot be reached, ErrTargetExist when the link exists.
   */
  link(target: LinkTarget): void;
  unlink(target: LinkTarget): void;
  linkPID(target: PID): void;
  unlinkPID(target: PID): void;
  linkProcessID(target: ProcessID): void;
  unlinkProcessID(target: ProcessID): void;
  linkAlias(target: Alias): void;
  unlinkAlias(target: Alias): void;
  /**
   * Links to an event (I/R) and resolves to its buffered messages, oldest first. A local event
   * resolves at once (the subscription is recorded before this returns); a remote one when its
   * node answered. Rejects with ErrEventUnknown, ErrTargetExist, ErrNotAllowed (state).
   */
  linkEvent<V>(target: Event<V>): Promise<MessageEvent<V>[]>;
  unlinkEvent(target: Event): void;
  /**
   * Monitor (I/R): this process gets a MessageDown* when the target ends. A target on another node
   * is recorded at once; a refusal or a lost connection arrives as the down reason (see link).
   */
  monitor(target: LinkTarget): void;
  demonitor(target: LinkTarget): void;
  monitorPID(target: PID): void;
  demonitorPID(target: PID): void;
  monitorProcessID(target: ProcessID): void;
  demonitorProcessID(target: ProcessID): void;
  monitorAlias(target: Alias): void;
  demonitorAlias(target: Alias): void;
  /** Monitors an event (I/R) and resolves to its buffered messages; see {@link linkEvent}. */
  monitorEvent<V>(target: Event<V>): Promise<MessageEvent<V>[]>;
  demonitorEvent(target: Event): void;
  /**
   * Resolves once the nodes of every remote target this process asked to link, monitor or
   * subscribe to so far have answered (Ergo's `Link*`/`Monitor*` block until then; here they stay
   * synchronous). After it resolves the remote side holds each accepted relation, and a refused
   * one (unknown process, name or alias; lost connection) has already delivered its exit/down
   * message to the mailbox. Resolves at once when nothing is pending or every target is local.
   * Never rejects, in any state.
   */
  relationsConfirmed(): Promise<void>;
  /**
   * Links to a remote node (I/R): this process gets MessageExitNode when the connection to it is
   * lost. ErrNotAllowed for its own node; ErrNetworkStopped / ErrNoConnection when unreachable.
   */
  linkNode(node: Atom | string): void;
  /** Drops a node link (I/R). ErrTargetUnknown when there is none. */
  unlinkNode(node: Atom | string): void;
  /** Monitors a remote node (I/R): MessageDownNode when the connection to it is lost. */
  monitorNode(node: Atom | string): void;
  /** Drops a node monitor (I/R). ErrTargetUnknown when there is none. */
  demonitorNode(node: Atom | string): void;
  /**
   * Asks to hear about every remote node (I/R; port extension, Erlang's
   * `net_kernel:monitor_nodes(true)`): MessageNodeUp (system queue) each time a connection to a
   * node is made, MessageNodeDown when it is lost, until {@link demonitorNodes} or the end of this
   * process. Returns the nodes connected now, so nothing falls between the answer and the first
   * notice. Calling it again changes nothing (one notice per event).
   */
  monitorNodes(): Atom[];
  /** Ends the node notices (I/R). ErrTargetUnknown when this process had not asked for them. */
  demonitorNodes(): void;

  /**
   * Spawns a meta process owned by this one (I/R) and returns its alias. Its `init` runs now
   * (synchronously; its error is thrown), `start` right after in the scheduler. The meta ends
   * with this process (same reason). ErrIncorrect for a bad behaviour or options. Refused
   * because this process has ended or the node has stopped (an async `init` that awaited a
   * server past either), the behaviour's `terminate` runs with the refusal, so a server made for
   * it (`createWebServer`, `createTCPServer`, ...) stops listening, and the refusal is thrown.
   */
  spawnMeta(behavior: MetaBehavior, options?: MetaOptions): Alias;
  /**
   * Sends an exit signal to a meta process (I/R/T): it terminates with `reason`. ErrIncorrect
   * without an Error, ErrAliasUnknown / ErrMetaUnknown, ErrMetaMailboxFull.
   */
  sendExitMeta(meta: Alias, reason: Error): void;
  /** sendExitMeta after `delayMs` (I/R); the timer is this process' (cancelled when it ends). */
  sendExitMetaAfter(meta: Alias, reason: Error, delayMs: number): CancelFunc;
  /** Asks a local meta for its `handleInspect` map (I/R). ErrMetaUnknown; ErrNotAllowed if remote. */
  inspectMeta(meta: Alias, ...items: string[]): Promise<Record<string, string>>;
  /** Snapshot of a meta process (R). ErrMetaUnknown. */
  metaInfo(meta: Alias): MetaInfo;

  /** The logging handle of this process (any state). */
  readonly log: Log;

  /** The mailbox, for custom behaviours. */
  mailbox(): ProcessMailbox;
  /** The behaviour object. */
  behavior(): ProcessBehavior;
  /**
   * Re-queues a mailbox record into another local process, keeping `from` and the ref, so the
   * other process answers the caller directly (Pool uses it). A message or request of another
   * node (`from` remote; any with the node option `validateLocal`) is checked against the
   * receiver's protocol, as if it came to it directly: the receiver gets the schema's output.
   * Throws ErrProcessUnknown / ErrProcessMailboxFull / ErrProtocolViolation.
   */
  forward(to: PID, kind: MailboxKind, from: PID, message: unknown, extra: unknown, priority: MessagePriority): void;
}

/**
 * Returned by a handler to stop its process, optionally replying to the call being handled
 * first (Ergo's `return result, TerminateReasonNormal` from HandleCall). `R` is the reply's type
 * (`any` without one): a typed actor's `handleCall` takes a Stop whose reply is checked
 * (`new Stop(reason, this.reply(request, value))`).
 */
// `any` by default: `new Stop(reason)` (no reply) fits every handler, and a bare `Stop` type
// keeps meaning any Stop; a Stop with a reply is typed by it.
export class Stop<R = any> {
  constructor(
    readonly reason: Error,
    readonly reply?: R,
    readonly hasReply = arguments.length > 1,
  ) {}
}
