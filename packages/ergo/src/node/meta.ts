// The engine's meta process: a Runnable with a two-queue mailbox (system: exits and inspects,
// main: messages and calls) whose handlers run in the node's scheduler like a process' do. Its
// `start` runs once, first; its I/O side sends from outside the scheduler. It ends on an exit
// signal, a handler's result, a panic, `start` settling, or its parent ending.

import { envName } from '../gen/env.js';
import {
  ErrIncorrect,
  ErrMetaMailboxFull,
  ErrNotAllowed,
  ErrProcessTerminated,
  TerminateReasonNormal,
  TerminateReasonPanic,
  toError,
} from '../gen/errors.js';
import { LogLevel, MessageLogMeta, toLogLevel } from '../gen/log.js';
import { metaStateString, type MetaBehavior, type MetaOptions, type MetaProcess } from '../gen/meta.js';
import type { Atom } from '../gen/atom.js';
import { PID } from '../gen/pid.js';
import { ProcessID } from '../gen/processid.js';
import { MessagePriority, MetaState } from '../gen/priority.js';
import { validatePriority } from '../gen/validate.js';
import { MailboxKind, Stop, type SendTarget } from '../gen/process.js';
import { Alias, type Ref } from '../gen/ref.js';
import type { CallHolder, PendingCall } from './calls.js';
import { LogHandle } from './log.js';
import { Mailbox, Q_MAIN, Q_SYSTEM, refOfExtra } from './mailbox.js';
import type { NodeImpl } from './node.js';
import type { ProcessImpl } from './process.js';
import { S_INIT } from './process_state.js';
import { isThenable } from '../lib/thenable.js';
import type { Runnable } from './scheduler.js';

/** Records a meta handles per scheduling turn before others get theirs. */
export const META_BATCH = 64;

const M_SLEEP = MetaState.Sleep;
const M_RUNNING = MetaState.Running;
const M_TERMINATED = MetaState.Terminated;

/** A meta process of this node. Created by spawnMeta (meta_table.ts). */
export class MetaImpl implements MetaProcess, Runnable, CallHolder {
  queued = false;
  st: number = M_SLEEP;
  /** CallHolder: the calls queued for (or being handled by) this meta (kept by the call registry). */
  heldCalls: PendingCall | null = null;
  messagesIn = 0;
  messagesOut = 0;
  /**
   * Milliseconds spent in this meta's batches (charged by the scheduler). A double from birth
   * (-0), as ProcessImpl's: a small integer turning into a double on the first batch would change
   * the meta's hidden class and deoptimize the scheduler's drain.
   */
  runningTime = -0;
  priority: MessagePriority;
  compressionOn: boolean;
  readonly mb: Mailbox;
  readonly log: LogHandle;
  readonly startedAt = Date.now();
  readonly behaviorName: string;
  private startPending = true;
  private onSettled: ((v: unknown) => void) | null = null;
  private onFailed: ((e: unknown) => void) | null = null;

  constructor(
    readonly node: NodeImpl,
    readonly owner: ProcessImpl,
    readonly id: Alias,
    readonly behavior: MetaBehavior,
    options: MetaOptions,
  ) {
    this.mb = new Mailbox(options.mailboxSize ?? 0);
    this.priority = options.sendPriority ?? MessagePriority.Normal;
    this.compressionOn = options.compression === true;
    this.behaviorName = (behavior as object).constructor?.name ?? 'unknown';
    const own = toLogLevel(options.logLevel);
    const level = own === undefined || own === LogLevel.Default ? owner.log.level() : own;
    this.log = new LogHandle(level, new MessageLogMeta(node.name, owner.pid, id, this.behaviorName), node.logSink);
  }

  /** Runnable: adds `ms` milliseconds to runningTime. */
  charge(ms: number): void {
    this.runningTime += ms;
  }

  get parent(): PID {
    return this.owner.pid;
  }

  state(): MetaState {
    return this.st as MetaState;
  }

  uptime(): number {
    return Math.floor((Date.now() - this.startedAt) / 1000);
  }

  // --- MetaProcess ----------------------------------------------------------------------------

  send(to: SendTarget, message: unknown): void {
    this.sendWithPriority(to, message, this.priority);
  }

  sendWithPriority(to: SendTarget, message: unknown, priority: MessagePriority): void {
    validatePriority(priority);
    const owner = this.owner;
    if (owner.st === S_INIT && to instanceof PID && to.equals(owner.pid)) {
      // A meta spawned from its parent's (async) init starts before the parent is in the process
      // table: its first messages (MessageTCPConnect...) wait in the parent's mailbox, handled
      // once init returns, as the parent's own self-sends from init are.
      this.node.router.routeSelf(owner, 2 - priority, message);
    } else {
      // Remote sends carry the parent's delivery settings (compression, network order).
      void this.node.router.routeSend(owner.pid, to, message, priority, false, owner);
    }
    this.messagesOut++;
  }

  private allowRunning(op: string): void {
    if (this.st !== M_RUNNING)
      throw ErrNotAllowed.with(`${op} is not allowed in meta state ${metaStateString(this.st as MetaState)}`);
  }

  sendResponse(to: PID, ref: Ref, value: unknown): void {
    this.allowRunning('sendResponse');
    this.node.router.routeResponse(this.owner.pid, to, ref, true, value, this.owner);
    this.messagesOut++;
  }

  sendResponseError(to: PID, ref: Ref, error: Error): void {
    this.allowRunning('sendResponseError');
    if (!(error instanceof Error)) throw ErrIncorrect.with('sendResponseError needs an Error');
    this.node.router.routeResponse(this.owner.pid, to, ref, false, error, this.owner);
    this.messagesOut++;
  }

  spawn(behavior: MetaBehavior, options?: MetaOptions): Alias {
    if (this.st === M_TERMINATED) throw ErrNotAllowed.with('spawn from a terminated meta process');
    return this.node.metas.spawn(this.owner, behavior, options ?? {});
  }

  sendPriority(): MessagePriority {
    return this.priority;
  }

  setSendPriority(priority: MessagePriority): void {
    this.allowRunning('setSendPriority');
    validatePriority(priority);
    this.priority = priority;
  }

  compression(): boolean {
    return this.compressionOn;
  }

  setCompression(enable: boolean): void {
    this.allowRunning('setCompression');
    this.compressionOn = enable === true;
  }

  backlog(to: SendTarget): number {
    const n = this.node;
    let target: { mb: Mailbox } | undefined;
    if (to instanceof PID)
      target =
        to.node === n.name && to.creation === n.creation
          ? (n.processes.get(to.id) ?? (to.equals(this.owner.pid) ? this.owner : undefined))
          : undefined;
    else if (typeof to === 'string') target = n.names.get(to as Atom);
    else if (to instanceof ProcessID) target = to.node === '' || to.node === n.name ? n.names.get(to.name) : undefined;
    else if (to instanceof Alias) target = n.aliasTable.get(to.key) ?? n.metas.get(to);
    return target === undefined ? -1 : target.mb.size;
  }

  env(name: string): unknown {
    return this.owner.env(envName(name));
  }

  envDefault<T>(name: string, defaultValue: T): T {
    return this.owner.envDefault(name, defaultValue);
  }

  envList(): Record<string, unknown> {
    return this.owner.envList();
  }

  // --- delivery -------------------------------------------------------------------------------

  /**
   * Queues a record (the router and exit/inspect senders use it). Exits and inspects go to the
   * system queue, messages and calls to the main queue: priority does not apply (Ergo). Throws
   * ErrProcessTerminated once ended, ErrMetaMailboxFull when the queue is at its limit.
   */
  deliver(_q: number, kind: MailboxKind, from: PID, message: unknown, extra: unknown): void {
    if (this.st === M_TERMINATED) throw ErrProcessTerminated.with(`meta ${this.id} terminated`);
    const q = kind === MailboxKind.Exit || kind === MailboxKind.Inspect ? Q_SYSTEM : Q_MAIN;
    if (!this.mb.push(q, kind, from, message, extra)) throw ErrMetaMailboxFull.with(this.id.toString());
    this.messagesIn++;
    if (this.st === M_SLEEP && !this.queued) this.node.scheduler.enqueue(this);
  }

  /** Queues an exit signal that no limit refuses (parent ending while a handler runs). */
  forceExit(from: PID, reason: Error): void {
    if (this.st === M_TERMINATED) return;
    this.mb.push(Q_SYSTEM, MailboxKind.Exit, from, reason, undefined, true);
    this.messagesIn++;
    if (this.st === M_SLEEP && !this.queued) this.node.scheduler.enqueue(this);
  }

  /** Schedules the first run (start). */
  begin(): void {
    this.node.scheduler.enqueue(this);
  }

  // --- running --------------------------------------------------------------------------------

  /** Runs `start` (first time) and one batch of handlers. Called by the scheduler. */
  run(): void {
    if (this.st !== M_SLEEP) return;
    if (this.startPending) {
      this.startPending = false;
      let r: unknown;
      try {
        r = this.behavior.start();
      } catch (e) {
        this.panic(e, 'start');
        return;
      }
      if (isThenable(r)) this.watchStart(r);
      else if (r instanceof Error) {
        this.terminate(r);
        return;
      }
      if (this.st !== M_SLEEP) return;
    }
    this.st = M_RUNNING;
    this.batch();
  }

  private watchStart(t: PromiseLike<unknown>): void {
    const done = (v: unknown): void => {
      if (this.st === M_TERMINATED) return;
      this.terminate(v instanceof Error ? v : TerminateReasonNormal);
    };
    const failed = (e: unknown): void => {
      if (this.st === M_TERMINATED) return;
      this.panic(e, 'start');
    };
    try {
      t.then(done, failed);
    } catch (e) {
      failed(e);
    }
  }

  private batch(): void {
    const mb = this.mb;
    const b = this.behavior;
    for (let i = 0; i < META_BATCH; i++) {
      if (!mb.take()) break;
      const kind = mb.kind;
      const from = mb.from as PID;
      const message = mb.message;
      const extra = mb.extra;
      mb.release();
      let r: unknown;
      try {
        switch (kind) {
          case MailboxKind.Regular:
            r = b.handleMessage(from, message);
            break;
          case MailboxKind.Request: {
            const ref = refOfExtra(extra);
            r = b.handleCall(from, ref, message);
            r = isThenable(r)
              ? Promise.resolve(r).then((v) => this.finishCall(from, ref, v))
              : this.finishCall(from, ref, r);
            break;
          }
          case MailboxKind.Exit:
            r = message instanceof Error ? message : ErrIncorrect.with('exit signal without a reason');
            break;
          case MailboxKind.Inspect: {
            const ref = refOfExtra(extra);
            r = b.handleInspect(from, ...(message as string[]));
            r = isThenable(r)
              ? Promise.resolve(r).then((v) => this.answerInspect(from, ref, v))
              : this.answerInspect(from, ref, r);
            break;
          }
          case MailboxKind.Event:
            // A meta subscribes to no event (monitorEvent/linkEvent are process APIs): none arrives.
            break;
        }
      } catch (e) {
        this.panic(e, 'a handler');
        return;
      }
      if (r === undefined || r === null) continue;
      if (isThenable(r)) {
        this.suspend(r);
        return;
      }
      if (r instanceof Error || r instanceof Stop) {
        this.terminate(r instanceof Stop ? r.reason : r);
        return;
      }
    }
    this.sleep();
  }

  private sleep(): void {
    if (this.st !== M_RUNNING) return;
    this.st = M_SLEEP;
    if (this.mb.size > 0) this.node.scheduler.enqueue(this);
  }

  /** A handler's result for a call: the reply, undefined (later), Stop, or an Error (stop). */
  private finishCall(from: PID, ref: Ref, r: unknown): Error | undefined {
    if (r === undefined || r === null) return undefined;
    if (r instanceof Stop) {
      if (r.hasReply) this.sendResponse(from, ref, r.reply);
      return r.reason;
    }
    if (r instanceof Error) return r;
    this.sendResponse(from, ref, r);
    return undefined;
  }

  private answerInspect(from: PID, ref: Ref, r: unknown): undefined {
    this.node.router.routeResponse(this.owner.pid, from, ref, true, r ?? {}, this.owner);
    this.messagesOut++;
    return undefined;
  }

  private suspend(t: PromiseLike<unknown>): void {
    this.onSettled ??= (v: unknown) => {
      if (this.st === M_TERMINATED) return;
      if (v instanceof Error || v instanceof Stop) this.terminate(v instanceof Stop ? v.reason : v);
      else this.batch();
    };
    this.onFailed ??= (e: unknown) => {
      if (this.st === M_TERMINATED) return;
      this.panic(e, 'an async handler');
    };
    try {
      t.then(this.onSettled, this.onFailed);
    } catch (e) {
      this.onFailed(e);
    }
  }

  /** A callback threw or rejected: log it with its stack, terminate with the panic reason. */
  panic(e: unknown, where: string): void {
    if (this.st === M_TERMINATED) return;
    const err = toError(e);
    this.log.panic('meta process %s terminated: panic in %s: %s', this.id.toString(), where, err.stack ?? err.message);
    this.terminate(TerminateReasonPanic);
  }

  /**
   * Ends the meta: leaves the tables, fails the calls it held, notifies links and monitors on
   * its alias (MessageExitAlias / MessageDownAlias with the reason), then runs `terminate`.
   */
  terminate(reason: Error): void {
    if (this.st === M_TERMINATED) return;
    this.st = M_TERMINATED;
    const node = this.node;
    node.metas.remove(this);
    if (this.heldCalls !== null) {
      const err = ErrProcessTerminated.with(`meta ${this.id} terminated: ${reason.message}`, reason);
      node.calls.failHeldBy(this, () => err);
    }
    this.mb.clear();
    node.relations.targetEnded(this.id, reason, node.pid);
    try {
      const r = this.behavior.terminate(reason);
      if (isThenable(r)) r.then(undefined, (e: unknown) => this.logTerminatePanic(e));
    } catch (e) {
      this.logTerminatePanic(e);
    }
  }

  private logTerminatePanic(e: unknown): void {
    const err = toError(e);
    this.log.panic('panic in terminate of meta %s: %s', this.id.toString(), err.stack ?? err.message);
  }
}
