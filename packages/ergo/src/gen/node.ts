// The node contract: what user code (and the network stack later) can do with a node.

import type { Atom } from './atom.js';
import type { Network, NetworkOptions } from './network.js';
import type { Cron, CronOptions } from './cron.js';
import type { ApplicationBehavior, ApplicationInfo, ApplicationOptions } from './application.js';
import type { EventInfo, EventOptions } from './event.js';
import type { InspectCrashRecord } from './inspect_v2.js';
import type { Log, LogLevel, LogLevelInput, LoggerBehavior } from './log.js';
import type { TimeFormat } from '../lib/time_format.js';
import type { CallOptions, ProcessOptions, SendOptions } from './options.js';
import type { PID } from './pid.js';
import type { MessageFor, PayloadOf, CheckHandlers, ProtocolOf, ReplyFor, RequestFor } from './protocol.js';
import type {
  InitArgs,
  MailboxPeek,
  ProcessBehavior,
  ProcessFactory,
  ProcessInfo,
  ProcessShortInfo,
  ProcessTracer,
  SendTarget,
} from './process.js';
import type { MessagePriority, ProcessState } from './priority.js';
import type { ProcessID } from './processid.js';
import type { Alias, Ref } from './ref.js';
import type { MetaInfo } from './meta.js';

/** Version stamp of a node, the framework or a protocol. */
export interface Version {
  name: string;
  release: string;
  commit?: string;
  license?: string;
}

/** One extra logger registered at start. */
export interface LoggerSpec {
  name: string;
  logger: LoggerBehavior | PinoLike;
  /** Levels this logger receives (default: trace..panic). */
  filter?: LogLevelInput[];
}

/** Any pino-compatible logger: an object with level methods taking (obj, msg). */
export interface PinoLike {
  trace(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  fatal(obj: object, msg?: string): void;
}

/** Options of the default console logger. */
export interface DefaultLoggerOptions {
  /** Do not register the default logger. */
  disable?: boolean;
  /**
   * Time format: 'unix-ns' (Ergo's default), 'iso' (UTC), 'human' (local `2006-01-02
   * 15:04:05.000`), a Go layout string as Ergo's TimeFormat (`'15:04:05.000'`), or a function.
   */
  timeFormat?: TimeFormat;
  includeBehavior?: boolean;
  includeName?: boolean;
  includeFields?: boolean;
  /** One JSON object per line instead of text. */
  enableJSON?: boolean;
  /** Levels written (default trace..panic). */
  filter?: LogLevelInput[];
  /** Where lines go (default process.stdout). */
  output?: { write(chunk: string): unknown };
}

/** Logging options of a node. */
export interface LogOptions {
  /** Node level (default Info). */
  level?: LogLevelInput;
  defaultLogger?: DefaultLoggerOptions;
  loggers?: LoggerSpec[];
}

/** Security switches of a node. */
export interface SecurityOptions {
  exposeEnvInfo?: boolean;
  exposeEnvRemoteSpawn?: boolean;
  exposeEnvRemoteApplicationStart?: boolean;
  /**
   * Whether `system_inspect` shows message contents to the nodes that ask: the mailbox peek and
   * the message trace (ergo-ts extensions of the inspector protocol). Default true; false for a
   * node whose messages hold secrets (both are then refused).
   */
  inspectMessages?: boolean;
}

/** Default of NodeOptions.mailboxHighWater: 100,000 queued messages. */
export const DEFAULT_MAILBOX_HIGH_WATER = 100_000;

/** Options of startNode. */
export interface NodeOptions {
  /** Node env: the lowest layer of every process' env (case-insensitive names). */
  env?: Record<string, unknown> | Map<string, unknown>;
  log?: LogOptions;
  security?: SecurityOptions;
  version?: Version;
  /**
   * Graceful stop waits this many milliseconds for processes before terminating them by force
   * and rejecting with ErrTimeout (default 180000, three minutes). Port extension.
   */
  shutdownTimeout?: number;
  /**
   * How long a killed process whose handler is still running (a zombee) may keep running, in
   * milliseconds (default 5000; 0 = none). When the grace passes before its handler settles, the
   * process is terminated (reason kill, its terminate callback runs) and detached: the value its
   * handler returns later is ignored and every operation its late code attempts fails with
   * ErrProcessTerminated. An integer from 0 to 2^31-1; anything else fails startNode with
   * ErrIncorrect. Port extension: Ergo waits for the handler however long it takes.
   */
  killGraceMs?: number;
  /**
   * The default of every call's {@link CallOptions.monitor} on this node (default false):
   * calls monitor their callee while they wait, Erlang's way, so a callee that ends fails them
   * at once even on a Go Ergo node. Port extension.
   */
  monitorCalls?: boolean;
  /**
   * The mailbox limit of every process spawned without its own `mailboxSize` (each of the four
   * queues; default 0 = unbounded, as in Ergo). The one switch that bounds mailboxes node-wide:
   * a send to a full queue then fails with ErrProcessMailboxFull (or goes to the process'
   * fallback) instead of growing the heap. Port extension.
   */
  mailboxSize?: number;
  /**
   * Messages queued in one process' mailbox at which the node logs a warning naming the process
   * (once per process; default {@link DEFAULT_MAILBOX_HIGH_WATER}; 0 = never). A spawn's own
   * `mailboxHighWater` overrides it. An unbounded mailbox that keeps growing ends in a V8
   * out-of-memory abort; this warning comes first. Port extension.
   */
  mailboxHighWater?: number;
  /** Stop gracefully on SIGTERM/SIGINT (default false; opt-in; no effect in `ergo-ts/browser`). */
  handleSignals?: boolean;
  /**
   * Round-trip every local message through the EDF codec, so code that will run distributed is
   * tested on one node (default false). `ergo-ts/browser` refuses it (ErrUnsupported): the codec
   * is not in its bundle.
   */
  simulateRemote?: boolean;
  /**
   * Typed protocols: validate local sends and calls to a process with a protocol too, as remote
   * ones always are (default false: local traffic is trusted, no cost on the hot path). A
   * debugging aid: a message that does not match is refused with ErrProtocolViolation.
   */
  validateLocal?: boolean;
  /**
   * The network stack (Ergo's `gen.NetworkOptions`): mode, cookie, flags, acceptors, registrar,
   * static routes. Absent: the node starts without a network (remote targets fail with
   * ErrNetworkStopped until `networkStart`). `ergo-ts/browser` refuses it (ErrUnsupported): a
   * browser node has no network stack.
   */
  network?: NetworkOptions;
  /**
   * Start the system application (`system_app`: `system_sup` and `system_inspect`, which answers
   * the inspector protocol of Ergo's Observer) before `applications`, as Ergo's `ergo.StartNode`
   * does (default true). False is Ergo's bare `node.Start`: no system processes (the first
   * process the user spawns is then `<…0.1001>`, as in Ergo's own test-suite), and the node
   * cannot be inspected remotely. `ergo-ts/browser` never starts it.
   */
  systemApp?: boolean;
  /** Applications loaded and started (in order) with the node; a failure fails startNode. */
  applications?: ApplicationBehavior[];
  /** Cron jobs started with the node. */
  cron?: CronOptions;
  /**
   * Take up an earlier incarnation of this node: its creation, so its PIDs name this node's
   * processes, and a first id past every PID and Ref id that incarnation handed out. Ids from
   * 1001 below `firstID` are then reserved: spawns never take them, only `spawnReserved`
   * puts a process there (a tab's kept process after a page reload, docs/browser-gateway.md).
   * Absent: the creation is the clock's second and ids start at 1001, as in Ergo. A bad value
   * fails startNode with ErrIncorrect. Port extension.
   */
  incarnation?: NodeIncarnation;
}

/** See {@link NodeOptions.incarnation}. */
export interface NodeIncarnation {
  /** The creation the node takes (an integer 1 .. 2^32-1: the earlier incarnation's). */
  readonly creation: number;
  /** The first PID and Ref id the node hands out (a safe integer above 1001). */
  readonly firstID: number;
}

/** Snapshot of a node. */
export interface NodeInfo {
  name: Atom;
  /** Seconds since start. */
  uptime: number;
  version: Version;
  framework: Version;
  env: Record<string, unknown>;
  logLevel: LogLevel;
  loggers: { name: string; behavior: string; levels: LogLevel[] }[];
  processesTotal: number;
  processesRunning: number;
  processesZombee: number;
  registeredAliases: number;
  registeredNames: number;
  registeredEvents: number;
  applicationsTotal: number;
  applicationsRunning: number;
  /** Remote nodes connected now (port extension; 0 without a network). */
  connections: number;
  /** Bytes (process.memoryUsage().rss). */
  memoryUsed: number;
  /** Bytes (heapUsed). */
  memoryAlloc: number;
  /** Microseconds of CPU (process.cpuUsage()). */
  userTime: number;
  systemTime: number;
}

/**
 * A handle on a running node. `startNode` returns the root handle, which acts for the node
 * itself; inside a process, `process.node` (`this.node` in an actor) is that process's own handle,
 * made on first use and cached. All handles of a node act on the same node and differ only in
 * who is asking: stop()/stopForce() through a process's handle never wait for processes, and a
 * process's handle refuses everything (ErrProcessTerminated) once its process was detached (a
 * zombee that outlived `killGraceMs`). Handles need no closing.
 *
 * After `stop()` every operation throws ErrNodeTerminated (queries included), except `isAlive`,
 * `uptime`, `stop`, `stopForce`, `wait`. Every method taking a PID throws ErrIncorrect for a value
 * that is not a PID instance (a plain object shaped like one included).
 *
 * Every Promise a method returns is safe to ignore: it is marked handled before it rejects (the
 * failure logged at debug on the caller's logger), so an ignored failure never ends the OS
 * process; awaiting it still yields the rejection (gen/ignorable.ts).
 */
export interface Node {
  readonly name: Atom;
  /** Start time in Unix seconds; distinguishes incarnations. */
  readonly creation: number;
  /** The node's core PID (id 1): the sender of everything the node itself sends. */
  readonly pid: PID;
  readonly version: Version;
  readonly frameworkVersion: Version;
  isAlive(): boolean;
  /** Seconds since start, 0 once stopped. */
  uptime(): number;
  info(): NodeInfo;

  env(name: string): unknown;
  envDefault<T>(name: string, defaultValue: T): T;
  /** Sets (undefined/null deletes) a node env value. Ignored once stopped. ErrIncorrect for a name that is not a non-empty string. */
  setEnv(name: string, value: unknown): void;
  envList(): Record<string, unknown>;

  /**
   * Spawns a process. From a Node its parent and leader are the core PID; from a Process (in
   * Init or Running, I/R) it is that process' child and inherits its env, log level, leader and
   * application. Rejects with ErrIncorrect (a bad option, a class that is not a behaviour) or
   * init's error (a non-Error is wrapped: ERR_THROWN_VALUE).
   */
  spawn<B extends ProcessBehavior>(
    factory: ProcessFactory<B> & NoInfer<CheckHandlers<B>>,
    options?: ProcessOptions,
    ...args: InitArgs<B>
  ): Promise<PID<ProtocolOf<B>>>;
  /**
   * spawn() with the process registered under `name` (the name is reserved before init; from a
   * Process: I/R). ErrTaken if the name is in use.
   */
  spawnRegister<B extends ProcessBehavior>(
    name: Atom | string,
    factory: ProcessFactory<B> & NoInfer<CheckHandlers<B>>,
    options?: ProcessOptions,
    ...args: InitArgs<B>
  ): Promise<PID<ProtocolOf<B>>>;
  /** ErrTaken (name used or process already named), ErrProcessUnknown. */
  registerName(name: Atom | string, pid: PID): void;
  /** Returns the PID that held the name. ErrNameUnknown. */
  unregisterName(name: Atom | string): PID;
  processName(pid: PID): Atom;
  processPID(name: Atom | string): PID;
  processList(): PID[];
  /** Up to `limit` (default 100) processes with id ≥ `start` (≥ 1000). */
  processListShortInfo(start?: number, limit?: number): ProcessShortInfo[];
  /**
   * Calls `fn` with the short info of every local process until it returns false (Ergo's
   * ProcessRangeShortInfo). No list is built, so a full scan of a large node (metrics, observers)
   * stays cheap. Each info is a fresh object; a process spawned or ended by `fn` may or may not be
   * visited. An error `fn` throws propagates to the caller.
   */
  processRangeShortInfo(fn: (info: ProcessShortInfo) => boolean | void): void;
  processInfo(pid: PID): ProcessInfo;
  processState(pid: PID): ProcessState;
  /**
   * The node's recent crashes, newest first (ergo-ts extension; the Observer's and MCP's crash
   * views): processes that panicked (a callback threw or rejected; `error` is its message, `where`
   * the callback) or ended with an abnormal exit reason, kept after they ended — of `pid` only
   * when given, at most `limit` (default: all kept). The node keeps its last 100
   * (`CRASH_HISTORY_SIZE`). Readable in any state, after stop too; a test node keeps none.
   */
  recentCrashes(options?: { readonly pid?: PID; readonly limit?: number }): InspectCrashRecord[];
  /**
   * The first `limit` (1..10 000) records waiting in each queue of a local process' mailbox,
   * in the order they would be served, and every queue's length (ergo-ts extension: the
   * Observer's mailbox peek). Nothing is taken or reordered, and the records are the queued
   * objects themselves: read them, never change them. ErrIncorrect (not a PID, a bad limit),
   * ErrProcessUnknown, ErrNodeTerminated.
   */
  processMailbox(pid: PID, limit: number): MailboxPeek;
  /**
   * Traces a local process (ergo-ts extension, as Erlang's `dbg`): `tracer` gets every record
   * queued in its mailbox and every message, request and response it sends, until the returned
   * function is called or the process ends (then `tracer.ended`). A process may have several
   * tracers. Untraced processes pay one check of a counter per message. ErrIncorrect,
   * ErrProcessUnknown, ErrNodeTerminated.
   */
  traceProcess(pid: PID, tracer: ProcessTracer): () => void;
  /**
   * A sleeping process terminates at once; a running one becomes a zombee, which terminates when
   * its handler settles or, at the latest, `killGraceMs` after the kill (then its late
   * continuation is detached). ErrIncorrect (not a PID), ErrProcessUnknown.
   */
  kill(pid: PID): void;

  send<T extends SendTarget>(to: T, message: MessageFor<T>, options?: SendOptions): void;
  sendExit(to: PID, reason: Error): void;
  /**
   * A synchronous request from the node (its core PID is the caller): resolves with the reply;
   * rejects with ErrTimeout (default 5000 ms), ErrProcessUnknown, ErrProcessTerminated (the target
   * ended first), ErrIncorrect (a bad option), the signal's reason. Never throws.
   */
  call<T extends SendTarget, const R extends RequestFor<T>>(
    to: T,
    request: R,
    options?: CallOptions,
  ): Promise<ReplyFor<T, R>>;
  /**
   * call() with a timeout in milliseconds (Ergo 3.2 takes seconds). ErrIncorrect unless
   * 1..2^31-1. This and the other call variants below are a Process' too (allowed in Init and
   * Running there, as its `call`).
   */
  callWithTimeout<T extends SendTarget, const R extends RequestFor<T>>(
    to: T,
    request: R,
    timeoutMs: number,
  ): Promise<ReplyFor<T, R>>;
  /** call() with a priority. ErrIncorrect for an unknown priority. */
  callWithPriority<T extends SendTarget, const R extends RequestFor<T>>(
    to: T,
    request: R,
    priority: MessagePriority,
  ): Promise<ReplyFor<T, R>>;
  /** call() with important delivery: a remote target that is missing fails at once instead of timing out. */
  callImportant<T extends SendTarget, const R extends RequestFor<T>>(to: T, request: R): Promise<ReplyFor<T, R>>;
  /** call() to a PID, with an optional timeout in milliseconds. ErrIncorrect for anything but a PID. */
  callPID<T extends PID, const R extends RequestFor<T>>(to: T, request: R, timeoutMs?: number): Promise<ReplyFor<T, R>>;
  /** call() to a ProcessID, with an optional timeout in milliseconds. ErrIncorrect for anything but a ProcessID. */
  callProcessID<T extends ProcessID, const R extends RequestFor<T>>(
    to: T,
    request: R,
    timeoutMs?: number,
  ): Promise<ReplyFor<T, R>>;
  /** call() to an Alias, with an optional timeout in milliseconds. ErrIncorrect for anything but an Alias. */
  callAlias<T extends Alias, const R extends RequestFor<T>>(
    to: T,
    request: R,
    timeoutMs?: number,
  ): Promise<ReplyFor<T, R>>;
  /**
   * Asks a local process for its `handleInspect` map, by PID or registered name (Ergo 3.2's
   * Node.Inspect); the request jumps to the target's urgent queue, the wait is 5 s. Rejects with
   * ErrIncorrect (neither a PID nor a name), ErrProcessUnknown, ErrNotAllowed (a process of
   * another node), ErrTimeout. Never throws.
   */
  inspect(pid: PID | Atom | string, ...items: string[]): Promise<Record<string, string>>;
  registerEvent<N extends Atom | string>(name: N, options?: EventOptions): Ref<PayloadOf<N>>;
  unregisterEvent(name: Atom | string): void;
  /**
   * Every event registered on this node (by processes or the node), with its producer, options,
   * current subscribers and messages published (port extension, as the event list of Ergo's
   * newer cores). ErrNodeTerminated once stopped.
   */
  eventList(): EventInfo[];
  sendEvent<K extends Ref>(name: Atom | string, token: K, message: PayloadOf<K>, options?: SendOptions): void;

  makeRef(): Ref;
  /**
   * A ref carrying `deadline` (Unix seconds, in id[2]): `ref.deadline()` reads it back and
   * `ref.isAlive()` tells whether it has passed. ErrIncorrect unless the deadline is in the future.
   */
  makeRefWithDeadline(deadline: number): Ref;

  /** Loads (declares) an application; resolves with its name. ErrTaken, ErrApplicationEmpty/Name/LoadPanic. */
  applicationLoad(app: ApplicationBehavior, ...args: unknown[]): Promise<Atom>;
  /** ErrApplicationUnknown. */
  applicationInfo(name: Atom | string): ApplicationInfo;
  /** ErrApplicationRunning while running. */
  applicationUnload(name: Atom | string): void;
  /** Members plus up to `limit` other processes of the application. */
  applicationProcessList(name: Atom | string, limit?: number): PID[];
  applicationProcessListShortInfo(name: Atom | string, limit?: number): ProcessShortInfo[];
  /**
   * Starts an application in its spec's mode, dependencies first (ErrApplicationDepends);
   * members start in order, and a member failing kills the started ones and rejects.
   */
  applicationStart(name: Atom | string, options?: ApplicationOptions): Promise<void>;
  applicationStartTemporary(name: Atom | string, options?: ApplicationOptions): Promise<void>;
  applicationStartTransient(name: Atom | string, options?: ApplicationOptions): Promise<void>;
  applicationStartPermanent(name: Atom | string, options?: ApplicationOptions): Promise<void>;
  /** Graceful stop (exit shutdown to members), waiting 5 s; ErrApplicationStopping on timeout. */
  applicationStop(name: Atom | string): Promise<void>;
  applicationStopWithTimeout(name: Atom | string, timeoutMs: number): Promise<void>;
  /** Kills the members. */
  applicationStopForce(name: Atom | string): Promise<void>;
  applications(): Atom[];
  applicationsRunning(): Atom[];

  readonly log: Log;
  /** The node's cron service (jobs, previews). ErrNodeTerminated once stopped. */
  cron(): Cron;
  logLevelProcess(pid: PID): LogLevel;
  /** The aliases of every live meta process of this node, oldest first (the operator's socket overview). */
  metaList(): Alias[];
  /** Snapshot of a local meta process. ErrMetaUnknown. */
  metaInfo(meta: Alias): MetaInfo;
  /** Asks a local meta for its `handleInspect` map (5 s). ErrMetaUnknown; ErrNotAllowed if remote. */
  inspectMeta(meta: Alias, ...items: string[]): Promise<Record<string, string>>;
  /** Log level of a local meta process. ErrMetaUnknown. */
  logLevelMeta(meta: Alias): LogLevel;
  /** Sets the log level of a local meta process. ErrMetaUnknown, ErrIncorrect for a bad level. */
  setLogLevelMeta(meta: Alias, level: LogLevelInput): void;
  setLogLevelProcess(pid: PID, level: LogLevelInput): void;
  /** Adds a function-style (or pino-compatible) logger. ErrTaken for a duplicate name; ErrIncorrect for a level outside Trace..Panic. */
  loggerAdd(name: string, logger: LoggerBehavior | PinoLike, ...filter: LogLevelInput[]): void;
  /** Makes a process a logger: records arrive in its log queue (handleLog). ErrNotAllowed if it already is one. */
  loggerAddPID(pid: PID, name: string, ...filter: LogLevelInput[]): void;
  loggerDelete(name: string): void;
  loggerDeletePID(pid: PID): void;
  loggers(): string[];
  loggerLevels(name: string): LogLevel[];

  /**
   * Graceful stop: stop hooks, exit(shutdown) to every process, wait for them (logging the
   * pending ones every 5 s), async hooks after processes, then loggers. Idempotent.
   * - Through the root handle: resolves once all of that is done; rejects with ErrTimeout (after
   *   killing the rest and abandoning pending hooks) when `shutdownTimeout` passes. Awaiting it in
   *   a handler of one of the node's processes waits for that very process: use `this.node`.
   * - Through a process's handle: begins the same stop (spawns refused from then on) and resolves
   *   at once, without waiting for any process, wherever the handle was captured and even after
   *   its process ended; so it never deadlocks. The calling process ends with its shutdown exit
   *   once its handler returns. `wait()` tells when the node has stopped.
   */
  stop(): Promise<void>;
  /**
   * Kills every process (busy ones are detached) and stops. Through the root handle resolves once
   * the node has stopped; through a process's handle resolves once the stop has begun.
   */
  stopForce(): Promise<void>;
  /**
   * Resolves when the node has stopped (at once if it has). While it is pending on a running
   * node, the OS process stays alive (as Go's `Wait()` blocks); a node nobody waits on keeps
   * nothing alive. Awaiting it inside a handler of the node's own process waits forever (until
   * something else stops the node).
   */
  wait(): Promise<void>;
  /**
   * Like wait(); rejects with ErrTimeout after `ms`, ErrNodeTerminated if already stopped, and
   * ErrIncorrect unless `ms` is an integer from 0 to 2^31-1.
   */
  waitWithTimeout(ms: number): Promise<void>;
  /** Same as stop(). */
  [Symbol.asyncDispose](): Promise<void>;
  /**
   * The node's network (connections, routes, acceptors, cookie). ErrNetworkStopped when the node
   * runs without one; ErrNodeTerminated after stop.
   */
  network(): Network;
  /** Starts the network at run time (ErrTaken when it runs already). Rejects with the listen error. */
  networkStart(options: NetworkOptions): Promise<void>;
  /** Stops the network: acceptors close, every connection goes down (its watchers are notified). */
  networkStop(): Promise<void>;
}
