// The record of everything an actor under test did: one class per kind of side effect, all
// carrying a `kind` tag so tests (and the assertions) can filter the history without casts.

import { inspect } from 'node:util';
import type { Atom } from '../gen/atom.js';
import type { ApplicationOptions } from '../gen/application.js';
import type { CronJob } from '../gen/cron.js';
import type { EventOptions } from '../gen/event.js';
import type { LogField, LogLevel } from '../gen/log.js';
import { logLevelString } from '../gen/log.js';
import type { CallOptions, ProcessOptions } from '../gen/options.js';
import type { PID } from '../gen/pid.js';
import type { MessagePriority } from '../gen/priority.js';
import type { LinkTarget, MailboxKind, SendTarget } from '../gen/process.js';
import type { Alias, Ref } from '../gen/ref.js';

/** Prints a value the way failure messages show it (one line, depth-limited). */
export function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value instanceof Error) return `${value.constructor.name}(${JSON.stringify(value.message)})`;
  if (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    typeof (value as { toString?: unknown }).toString === 'function'
  ) {
    const s = String(value);
    if (!s.startsWith('[object')) return s;
  }
  return inspect(value, { depth: 4, breakLength: Infinity, compact: true });
}

/** A message sent by the actor (`send`, `sendWithPriority`, `sendImportant`, a fired `sendAfter`, a cron action). */
export class SendEvent {
  readonly kind = 'send' as const;
  constructor(
    readonly from: PID,
    readonly to: SendTarget,
    readonly message: unknown,
    readonly priority: MessagePriority,
    readonly important: boolean,
    /** True when a `sendAfter` timer fired (the delay passed on the test clock). */
    readonly delayed: boolean,
  ) {}
  toString(): string {
    return `send to ${show(this.to)}: ${show(this.message)}${this.delayed ? ' (delayed)' : ''}`;
  }
}

/** A delayed send was scheduled (`sendAfter`). The send itself is recorded when the test clock passes `delay`. */
export class SendAfterEvent {
  readonly kind = 'sendAfter' as const;
  constructor(
    readonly from: PID,
    readonly to: SendTarget,
    readonly message: unknown,
    /** Milliseconds. */
    readonly delay: number,
  ) {}
  toString(): string {
    return `sendAfter ${this.delay} ms to ${show(this.to)}: ${show(this.message)}`;
  }
}

/** A synchronous request made by the actor (`call`). */
export class CallEvent {
  readonly kind = 'call' as const;
  constructor(
    readonly from: PID,
    readonly to: SendTarget,
    readonly request: unknown,
    readonly options: CallOptions | undefined,
  ) {}
  toString(): string {
    return `call to ${show(this.to)}: ${show(this.request)}`;
  }
}

/** A reply the actor sent (`sendResponse`, or a value returned from `handleCall`). */
export class SendResponseEvent {
  readonly kind = 'sendResponse' as const;
  constructor(
    readonly from: PID,
    readonly to: PID,
    readonly ref: Ref,
    readonly response: unknown,
  ) {}
  toString(): string {
    return `sendResponse to ${show(this.to)} ref ${show(this.ref)}: ${show(this.response)}`;
  }
}

/** An error reply the actor sent (`sendResponseError`). */
export class SendResponseErrorEvent {
  readonly kind = 'sendResponseError' as const;
  constructor(
    readonly from: PID,
    readonly to: PID,
    readonly ref: Ref,
    readonly error: Error,
  ) {}
  toString(): string {
    return `sendResponseError to ${show(this.to)} ref ${show(this.ref)}: ${show(this.error)}`;
  }
}

/** An exit signal the actor sent (`sendExit`; `delay` > 0 for `sendExitAfter`). */
export class SendExitEvent {
  readonly kind = 'sendExit' as const;
  constructor(
    readonly from: PID,
    readonly to: PID,
    readonly reason: Error,
    readonly delay: number,
  ) {}
  toString(): string {
    return `sendExit to ${show(this.to)}: ${show(this.reason)}${this.delay > 0 ? ` after ${this.delay} ms` : ''}`;
  }
}

/** A child the actor spawned (`spawn`, `spawnRegister`). The child does not run; `pid` is the one handed back. */
export class SpawnEvent {
  readonly kind = 'spawn' as const;
  constructor(
    readonly parent: PID,
    readonly pid: PID,
    readonly factory: unknown,
    readonly options: ProcessOptions | undefined,
    readonly args: readonly unknown[],
    /** '' when not registered. */
    readonly register: Atom,
  ) {}
  toString(): string {
    const f = this.factory as { name?: string } | undefined;
    return `spawn ${f?.name || 'factory'}${this.register ? ` as '${this.register}'` : ''} → ${show(this.pid)} args ${show(this.args)}`;
  }
}

/** A meta process the actor spawned (`spawnMeta`). Its `init` does not run; `id` is the alias handed back. */
export class SpawnMetaEvent {
  readonly kind = 'spawnMeta' as const;
  constructor(
    readonly parent: PID,
    readonly id: Alias,
    readonly behavior: unknown,
    readonly options: unknown,
  ) {}
  toString(): string {
    const b = this.behavior as { constructor?: { name?: string } } | undefined;
    return `spawnMeta ${b?.constructor?.name || 'behavior'} → ${show(this.id)}`;
  }
}

/** An exit signal the actor sent to a meta process (`sendExitMeta`; `delay` > 0 for `sendExitMetaAfter`). */
export class SendExitMetaEvent {
  readonly kind = 'sendExitMeta' as const;
  constructor(
    readonly from: PID,
    readonly to: Alias,
    readonly reason: Error,
    readonly delay: number,
  ) {}
  toString(): string {
    return `sendExitMeta to ${show(this.to)}: ${show(this.reason)}${this.delay > 0 ? ` after ${this.delay} ms` : ''}`;
  }
}

/** A process spawned on a simulated remote node (`remoteNode.spawn` / `spawnRegister`). */
export class RemoteSpawnEvent {
  readonly kind = 'remoteSpawn' as const;
  constructor(
    readonly node: Atom,
    /** The name the remote node enabled the factory under. */
    readonly name: Atom,
    readonly register: Atom,
    readonly options: ProcessOptions | undefined,
    readonly args: readonly unknown[],
    readonly pid: PID,
  ) {}
  toString(): string {
    return `remoteSpawn '${this.name}' on '${this.node}'${this.register ? ` as '${this.register}'` : ''} → ${show(this.pid)}`;
  }
}

/** An application started on a simulated remote node. `mode` is '' for the spec's own mode. */
export class RemoteApplicationStartEvent {
  readonly kind = 'remoteApplicationStart' as const;
  constructor(
    readonly node: Atom,
    readonly name: Atom,
    readonly mode: '' | 'temporary' | 'transient' | 'permanent',
    readonly options: ApplicationOptions | undefined,
  ) {}
  toString(): string {
    return `remoteApplicationStart '${this.name}' on '${this.node}'${this.mode ? ` (${this.mode})` : ''}`;
  }
}

/**
 * A link or monitor made or dropped (`link*`, `unlink*`, `monitor*`, `demonitor*`); for the node
 * variants (`linkNode`...) `target` is the node's name.
 */
export class WatchEvent {
  readonly kind = 'watch' as const;
  constructor(
    readonly from: PID,
    readonly op:
      'link' | 'unlink' | 'monitor' | 'demonitor' | 'linkNode' | 'unlinkNode' | 'monitorNode' | 'demonitorNode',
    readonly target: LinkTarget,
  ) {}
  toString(): string {
    return `${this.op} ${show(this.target)}`;
  }
}

/** A log record the actor wrote. `message` is the formatted text. */
export class LogEvent {
  readonly kind = 'log' as const;
  constructor(
    readonly level: LogLevel,
    readonly format: string,
    readonly args: readonly unknown[],
    readonly message: string,
    readonly fields: readonly LogField[],
  ) {}
  toString(): string {
    return `log ${logLevelString(this.level)}: ${JSON.stringify(this.message)}`;
  }
}

/** An event registered, unregistered or published by the actor. */
export class EventEvent {
  readonly kind = 'event' as const;
  constructor(
    readonly op: 'register' | 'unregister' | 'send',
    readonly name: Atom,
    readonly token: Ref | undefined,
    readonly message: unknown,
    readonly options: EventOptions | undefined,
  ) {}
  toString(): string {
    return this.op === 'send' ? `sendEvent '${this.name}': ${show(this.message)}` : `${this.op}Event '${this.name}'`;
  }
}

/** A name or alias change (`registerName`, `unregisterName`, `createAlias`, `deleteAlias`). */
export class NameEvent {
  readonly kind = 'name' as const;
  constructor(
    readonly op: 'registerName' | 'unregisterName' | 'createAlias' | 'deleteAlias',
    readonly value: Atom | Alias,
  ) {}
  toString(): string {
    return `${this.op} ${show(this.value)}`;
  }
}

/** A mailbox record the actor forwarded to another process (`forward`, as Pool does). */
export class ForwardEvent {
  readonly kind = 'forward' as const;
  constructor(
    readonly to: PID,
    readonly mailboxKind: MailboxKind,
    readonly from: PID,
    readonly message: unknown,
    readonly extra: unknown,
  ) {}
  toString(): string {
    return `forward to ${show(this.to)}: ${show(this.message)}`;
  }
}

/** A change of the node's cron (made by the actor through `node.cron()`), or a job run. */
export class CronEvent {
  readonly kind = 'cron' as const;
  constructor(
    readonly op: 'add' | 'remove' | 'enable' | 'disable' | 'execute',
    readonly name: Atom,
    /** The job, for `add`. */
    readonly job: CronJob | undefined,
    /** The minute of the run, for `execute`. */
    readonly time: Date | undefined,
  ) {}
  toString(): string {
    return `cron ${this.op} '${this.name}'${this.job ? ` spec '${this.job.spec}'` : ''}${this.time ? ` at ${this.time.toISOString()}` : ''}`;
  }
}

/** A simulated remote node was connected or disconnected. */
export class ConnectionEvent {
  readonly kind = 'connection' as const;
  constructor(
    readonly op: 'connect' | 'disconnect',
    readonly node: Atom,
  ) {}
  toString(): string {
    return `${this.op} '${this.node}'`;
  }
}

/** A node-level operation the actor made through `this.node` (kill, env, loggers, applications...). */
export class NodeCallEvent {
  readonly kind = 'node' as const;
  constructor(
    readonly method: string,
    readonly args: readonly unknown[],
  ) {}
  toString(): string {
    return `node.${this.method}(${this.args.map(show).join(', ')})`;
  }
}

/** An injected failure fired (see {@link Failures}). */
export class FailureEvent {
  readonly kind = 'failure' as const;
  constructor(
    /** 'process', 'node', 'network', 'remoteNode' or 'registrar'. */
    readonly component: string,
    readonly method: string,
    readonly args: readonly unknown[],
    readonly error: Error,
  ) {}
  toString(): string {
    return `failure ${this.component}.${this.method}: ${show(this.error)}`;
  }
}

/** The actor terminated: a handler returned a reason, threw (panic), or an exit signal killed it. */
export class TerminateEvent {
  readonly kind = 'terminate' as const;
  constructor(
    readonly pid: PID,
    readonly reason: Error,
  ) {}
  toString(): string {
    return `terminate: ${show(this.reason)}`;
  }
}

/** Every kind of recorded event. Narrow on `kind`. */
export type TestEvent =
  | SendEvent
  | SendAfterEvent
  | CallEvent
  | SendResponseEvent
  | SendResponseErrorEvent
  | SendExitEvent
  | SpawnEvent
  | SpawnMetaEvent
  | SendExitMetaEvent
  | RemoteSpawnEvent
  | RemoteApplicationStartEvent
  | WatchEvent
  | LogEvent
  | EventEvent
  | NameEvent
  | ForwardEvent
  | CronEvent
  | ConnectionEvent
  | NodeCallEvent
  | FailureEvent
  | TerminateEvent;

/** The `kind` tags of {@link TestEvent}. */
export type TestEventKind = TestEvent['kind'];

/** The event class of one `kind`. */
export type TestEventOf<K extends TestEventKind> = Extract<TestEvent, { kind: K }>;

/** The shared, ordered history of one harness (process, node, network and cron write to it). */
export class EventLog {
  #events: TestEvent[] = [];
  /** Replies by call Ref key; kept across clear() so a call result can still find its reply. */
  readonly #replies = new Map<string, SendResponseEvent | SendResponseErrorEvent>();
  /** Appends an event. */
  push(e: TestEvent): void {
    this.#events.push(e);
    if ((e.kind === 'sendResponse' || e.kind === 'sendResponseError') && !this.#replies.has(e.ref.key))
      this.#replies.set(e.ref.key, e);
  }
  /** The first reply recorded for a call Ref (survives clear()). */
  replyFor(ref: Ref): SendResponseEvent | SendResponseErrorEvent | undefined {
    return this.#replies.get(ref.key);
  }
  /** A copy of the history, oldest first. */
  all(): TestEvent[] {
    return this.#events.slice();
  }
  /** Events of one kind, oldest first. */
  ofKind<K extends TestEventKind>(kind: K): TestEventOf<K>[] {
    return this.#events.filter((e): e is TestEventOf<K> => e.kind === kind);
  }
  /** The newest event, or undefined. */
  last(): TestEvent | undefined {
    return this.#events[this.#events.length - 1];
  }
  /** Forgets the history. */
  clear(): void {
    this.#events = [];
  }
  get length(): number {
    return this.#events.length;
  }
}
