// Meta processes: the bridge between I/O (sockets, servers, child programs, HTTP) and the actor
// world. A meta process is an object owned by a process (its parent), addressed by an Alias. It
// turns I/O events into messages (sent with its parent's PID as `from`) and handles the messages
// and calls sent to its alias, one at a time, in the node's scheduler. In Go a meta's `Start`
// blocks a goroutine; here `start()` returns at once or returns a promise: when that promise
// settles the meta ends (resolved → normal, resolved with an Error → that reason, rejected →
// panic). `terminate` must release the I/O so that the promise settles.

import type { LogLevel, LogLevelInput, Log } from './log.js';
import type { MessagePriority, MetaState } from './priority.js';
import type { PID } from './pid.js';
import type { Alias, Ref } from './ref.js';
import type { SendTarget } from './process.js';
import type { MessageFor } from './protocol.js';

/** Ergo's printed name of a meta state. */
export function metaStateString(s: MetaState): string {
  switch (s) {
    case 1:
      return 'sleep';
    case 2:
      return 'running';
    case 4:
      return 'terminated';
  }
  return `state#${String(s)}`;
}

/** Options of `spawnMeta`. Every field is optional. */
export interface MetaOptions {
  /**
   * Limit of the meta's main queue (messages and calls) and of its system queue (exit signals,
   * inspect requests), each. 0 (default) = unbounded. A full queue refuses with
   * ErrMetaMailboxFull.
   */
  mailboxSize?: number;
  /** Priority of everything the meta sends (default Normal). */
  sendPriority?: MessagePriority;
  /** Compress what the meta sends to remote nodes (default false). */
  compression?: boolean;
  /** Log level of the meta (Default, the default, inherits the parent's). */
  logLevel?: LogLevelInput;
}

/** Snapshot of a meta process (`metaInfo`). */
export interface MetaInfo {
  id: Alias;
  parent: PID;
  application: string;
  behavior: string;
  /** The mailbox limit (0 = unbounded). */
  mailboxSize: number;
  mailboxQueues: { urgent: number; system: number; main: number; log: number };
  messagePriority: MessagePriority;
  messagesIn: number;
  messagesOut: number;
  logLevel: LogLevel;
  /** Seconds since spawn. */
  uptime: number;
  state: MetaState;
}

/**
 * What a meta process can do, as its behaviour sees it (given to `init`). States follow Ergo:
 * Sleep = no handler running (the I/O side, `start`), Running = inside a handler, Terminated.
 * A meta cannot call, link, monitor or register names; it sends and answers.
 */
export interface MetaProcess {
  /** The meta's alias: its address. Any state. */
  readonly id: Alias;
  /** The process that spawned it; messages the meta sends carry this PID as `from`. Any state. */
  readonly parent: PID;
  /** The meta's logging handle (source MessageLogMeta). Any state. */
  readonly log: Log;
  /** Current state. */
  state(): MetaState;
  /** Seconds since spawn. */
  uptime(): number;
  /**
   * Sends a message from the meta (Sleep, Running, Terminated: the I/O side may send). The
   * sender is the parent's PID. Throws like a process send: ErrProcessUnknown,
   * ErrProcessMailboxFull, ErrMetaMailboxFull, ErrIncorrect (priority).
   */
  send<T extends SendTarget>(to: T, message: MessageFor<T>): void;
  /** send() with an explicit priority (the default stays unchanged). */
  sendWithPriority<T extends SendTarget>(to: T, message: MessageFor<T>, priority: MessagePriority): void;
  /** Answers a call made to the meta's alias (Running only, else ErrNotAllowed). */
  sendResponse(to: PID, ref: Ref, value: unknown): void;
  /** Answers a call with an error (Running only, else ErrNotAllowed). */
  sendResponseError(to: PID, ref: Ref, error: Error): void;
  /**
   * Spawns a sibling meta owned by the same parent (Sleep or Running; ErrNotAllowed once
   * terminated). TCP servers use it for each accepted connection. Returns its alias.
   */
  spawn(behavior: MetaBehavior, options?: MetaOptions): Alias;
  /** Default priority of what the meta sends. Any state. */
  sendPriority(): MessagePriority;
  /** Sets the default send priority (Running only, else ErrNotAllowed; ErrIncorrect for a bad priority). */
  setSendPriority(priority: MessagePriority): void;
  /** Whether remote sends of this meta are compressed. Any state. */
  compression(): boolean;
  /** Enables/disables compression (Running only, else ErrNotAllowed). */
  setCompression(enable: boolean): void;
  /**
   * Records waiting in the mailbox of a local target (PID, name, ProcessID, alias), or -1 when it
   * is not a local process or meta. Any state. Port extension for back-pressure: the I/O side
   * pauses its source while the consumer is behind instead of queueing without bound.
   */
  backlog(to: SendTarget): number;
  /** The parent's env value (case-insensitive name), or undefined. Any state. */
  env(name: string): unknown;
  /** The parent's env value or `defaultValue`. Any state. */
  envDefault<T>(name: string, defaultValue: T): T;
  /** A copy of the parent's env. Any state. */
  envList(): Record<string, unknown>;
}

/**
 * What you implement to make a meta process (Ergo's gen.MetaBehavior). Every callback is
 * guarded: throwing (or a rejected promise) terminates the meta with TerminateReasonPanic, logged
 * with its stack.
 *
 * - `init(meta)` runs synchronously inside `spawnMeta`; keep the MetaProcess. Returning an Error
 *   or throwing makes `spawnMeta` throw it and the meta never exists.
 * - `start()` runs once, right after spawn, in the scheduler: attach the I/O listeners here.
 *   Return nothing to stay alive on events, an Error to stop with it, or a promise: when it
 *   settles the meta ends (resolved → normal or the resolved Error, rejected → panic).
 * - `handleMessage(from, message)` gets what processes send to the alias. `handleCall(from,
 *   ref, request)` answers calls: return the reply, `undefined` to answer later with
 *   `sendResponse` (while still Running, e.g. in an async handler), `new Stop(reason, reply)` to
 *   reply and stop, an Error to stop. Either may return a promise (the meta stays Running and
 *   its mail waits, in order, until it settles).
 * - `handleInspect(from, ...items)` answers `inspectMeta` with a map of strings.
 * - `terminate(reason)` runs once when the meta ends (exit signal, handler result, panic, start
 *   settling, or its parent ending — with the parent's reason). Close the I/O here.
 */
export interface MetaBehavior {
  init(meta: MetaProcess): unknown;
  start(): unknown;
  handleMessage(from: PID, message: unknown): unknown;
  handleCall(from: PID, ref: Ref, request: unknown): unknown;
  handleInspect(from: PID, ...items: string[]): Record<string, string> | Promise<Record<string, string>>;
  terminate(reason: Error): unknown;
}
