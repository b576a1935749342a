// Pool: one address in front of N identical workers. Normal-priority messages, calls and events
// are forwarded round-robin (from and ref preserved, so workers answer callers directly);
// high/max-priority mail is handled by the pool's own callbacks. A worker on another node (see
// spawnWorker) cannot be handed mail from a third node with its sender (ENP names a sender by
// its id on the connection's peer): the pool relays such mail, and the replies of such calls,
// keeping an important call important. ENP cannot address an event to one process at all: an
// event goes to such a worker through forwardEvent (ClusterPool's relay).

import {
  defineError,
  ErgoError,
  ErrIncorrect,
  ErrProcessMailboxFull,
  ErrProtocolViolation,
  ErrUnsupported,
  isNormalReason,
  TerminateReasonNormal,
  toError,
} from '../gen/errors.js';
import { ignorable } from '../gen/ignorable.js';
import { MessageExitPID, type MessageEvent } from '../gen/messages.js';
import { DEFAULT_REQUEST_TIMEOUT, type ProcessOptions } from '../gen/options.js';
import type { PID } from '../gen/pid.js';
import { MessagePriority, ProcessState } from '../gen/priority.js';
import {
  ExitIgnoredUnlessTrapped,
  isImportantRequest,
  MailboxKind,
  Stop,
  type ArgsWhenRequired,
  type InitArgs,
  type NoArgsBehavior,
  type Process,
  type ProcessBehavior,
  type ProcessFactory,
  type ProcessMailbox,
} from '../gen/process.js';
import { checkOnly, protocolKey, protocolOfFactory, type ProtocolOf } from '../gen/protocol.js';
import type { Ref } from '../gen/ref.js';
import { describeValue, validateArgs, validateMailboxSize } from '../gen/validate.js';
import { Ring } from '../lib/ring.js';
import type { HandlerResult } from './actor.js';
import { BehaviorBase } from './base.js';
import { answerInspect, exitReason, finishCall, requestRef } from './handling.js';
import { isThenable } from '../lib/thenable.js';

/** No worker left to remove. */
export const ErrPoolEmpty = defineError('ERR_POOL_EMPTY', 'no worker process in the pool');

/** Default number of workers (Ergo's). */
export const DEFAULT_POOL_SIZE = 3;

/**
 * Checks `poolSize`: undefined or an integer ≥ 0 (0 and undefined mean {@link DEFAULT_POOL_SIZE}).
 * Returns it (0 for undefined). @throws ErrIncorrect (negative, fractional, NaN, Infinity).
 */
export function validatePoolSize(size: unknown): number {
  if (size === undefined) return 0;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    throw ErrIncorrect.with(`poolSize ${describeValue(size)} (expected an integer ≥ 0; 0 = ${DEFAULT_POOL_SIZE})`);
  return size;
}
const POOL_BATCH = 128;

/** Put into the pool's own system queue when relayed calls have replies to pass on. */
const RELAY_WAKE = Object.freeze({ relayWake: true });

/**
 * Put into a pool's own system queue (with {@link wakeToRebalance}) to have it run
 * {@link Pool.rebalance} in its own turn (internal: ClusterPool, when a node comes up).
 */
const REBALANCE_WAKE = Object.freeze({ rebalanceWake: true });

/** Asks the pool `process` runs to rebalance in its next turn (internal). Throws as forward does. */
export function wakeToRebalance(process: Process): void {
  process.forward(process.pid, MailboxKind.Regular, process.pid, REBALANCE_WAKE, undefined, MessagePriority.High);
}

/** Longest wait of a relayed call (a setTimeout's limit). */
const MAX_RELAY_MS = 2 ** 31 - 1;

/**
 * How long the pool waits for a worker's reply to a call it relays: until the caller's own
 * deadline (carried in its ref, whole seconds, so a second more), else Ergo's default.
 */
function relayTimeout(ref: Ref): number {
  const deadline = ref.deadline();
  if (deadline === 0) return DEFAULT_REQUEST_TIMEOUT;
  return Math.min(MAX_RELAY_MS, Math.max(1, deadline * 1000 + 1000 - Date.now()));
}

/** A reply to a relayed call, waiting for the pool to pass it on. */
interface RelayedReply {
  to: PID;
  ref: Ref;
  ok: boolean;
  value: unknown;
}

/**
 * What a pool's `init` returns. The plain `PoolOptions` (no type argument) names workers whose
 * init needs no arguments, and takes no `workerArgs`: options with `workerArgs` are made with
 * {@link poolOptions}, which checks them against the workers' `init`.
 */
export interface PoolOptions<B extends ProcessBehavior = NoArgsBehavior> {
  /** Workers to start: an integer ≥ 0; 0 or absent = 3 (Ergo's default). Anything else: ErrIncorrect. */
  poolSize?: number;
  workerFactory: ProcessFactory<B>;
  /** Arguments of every worker's init (an array, else ErrIncorrect). */
  workerArgs?: InitArgs<B>;
  /** Mailbox limit of each worker (an integer ≥ 0; 0 = unbounded). A full worker is skipped. */
  workerMailboxSize?: number;
}

declare const checkedByPoolOptions: unique symbol;

/**
 * Pool options made by {@link poolOptions}: their `workerArgs` were checked against the workers'
 * `init`. The only form of options with `workerArgs` a Pool's `init` may return (TypeScript
 * cannot check a plain object literal's `workerArgs` against the `workerFactory` beside them).
 */
export interface CheckedPoolOptions<B extends ProcessBehavior = ProcessBehavior> extends PoolOptions<B> {
  readonly [checkedByPoolOptions]: true;
}

/**
 * Pool options as a Pool's `init` may return them: from {@link poolOptions} (workerArgs checked
 * against the worker's `init`), or a plain object literal ({@link PoolOptions}) without
 * `workerArgs`, when the worker's init needs none. A literal with `workerArgs`, or naming a worker
 * whose init needs arguments, is a compile error (as in node.spawn).
 */
export type AnyPoolOptions = PoolOptions | CheckedPoolOptions;

/**
 * Pool options whose `workerArgs` are checked against the worker's `init`: required when init
 * needs arguments, of init's types (what a Pool's `init` returns). Returns `options` as is, marked
 * as checked ({@link CheckedPoolOptions}).
 *
 * @example
 * override init() { return poolOptions({ poolSize: 4, workerFactory: Worker, workerArgs: ['db'] }); }
 */
export function poolOptions<B extends ProcessBehavior>(
  options: PoolOptions<B> & ArgsWhenRequired<B, 'workerArgs'>,
): CheckedPoolOptions<B> {
  return options as CheckedPoolOptions<B>;
}

/**
 * The protocol of the workers a pool class names in its `init` (the `workerFactory` of what it
 * returns): a Pool's address speaks its workers' protocol. `unknown` when untyped, or when
 * `init` is annotated with the plain `PoolOptions` (leave it to inference, or write
 * `PoolOptions<Worker>`).
 */
export type PoolProtocolOf<T> = T extends { init(...args: never[]): infer R } ? WorkerProtocolOf<Awaited<R>> : unknown;
type WorkerProtocolOf<O> = O extends { workerFactory: ProcessFactory<infer B> } ? ProtocolOf<B> : unknown;

/**
 * Ergo's act.Pool. Implement `init(...args)` returning {@link PoolOptions}; the workers start
 * before the spawn resolves. Workers are linked both ways: a worker that dies is replaced (and
 * counted in `worker_restarts`); one removed with `removeWorkers` is not. A full worker is
 * skipped; when no worker can take an item it is counted as unhandled, logged, and a call gets
 * ErrProcessMailboxFull back. An exit from anyone else terminates the pool (its workers follow
 * through their LinkParent). A pool cannot be a logger.
 */
export abstract class Pool extends BehaviorBase {
  /** Phantom: the workers' protocol (see {@link PoolProtocolOf}); `spawn` types the pool's PID with it. */
  declare readonly '~protocol'?: PoolProtocolOf<this>;
  #mb!: ProcessMailbox;
  #workers = new Ring<PID>(1, 8);
  /** Ids of every worker not yet seen exiting (in rotation or not). */
  /** Keys of every worker not yet seen exiting (PID.key: workers may live on other nodes). */
  #all = new Set<string>();
  /** Keys of workers ended on purpose (removeWorkers, retireWorker): not replaced when they exit. */
  #removed = new Set<string>();
  #opts!: Required<PoolOptions<ProcessBehavior>>;
  #workerBehavior = '';
  #forwarded = 0;
  #restarts = 0;
  #unhandled = 0;
  /** Outcomes of relayed calls not passed on yet (the next run passes them on). */
  #replies: RelayedReply[] = [];

  /** Returns the pool options (required). */
  abstract init(...args: unknown[]): AnyPoolOptions | Promise<AnyPoolOptions>;

  handleMessage(from: PID, _message: unknown): HandlerResult {
    this.log.warning('Pool.handleMessage: unhandled message from %s', from.toString());
  }
  handleCall(from: PID, _ref: Ref, _request: unknown): unknown {
    this.log.warning('Pool.handleCall: unhandled request from %s', from.toString());
    return undefined;
  }
  handleEvent(message: MessageEvent): HandlerResult {
    this.log.warning('Pool.handleEvent: unhandled event message %s', message.event.toString());
  }
  /** Default: pool_size, worker_behavior, worker_mailbox_size, worker_restarts, messages_forwarded, messages_unhandled. */
  handleInspect(_from: PID, ..._items: string[]): Record<string, string> | Promise<Record<string, string>> {
    return {
      pool_size: String(this.#workers.length),
      worker_behavior: this.#workerBehavior,
      worker_mailbox_size: String(this.#opts.workerMailboxSize),
      worker_restarts: String(this.#restarts),
      messages_forwarded: String(this.#forwarded),
      messages_unhandled: String(this.#unhandled),
    };
  }
  terminate(_reason: Error): unknown {
    return undefined;
  }

  /**
   * Starts one worker (linked both ways, as `options` asks). Override to place workers elsewhere
   * (ergo-ts/cluster's ClusterPool spreads them over the nodes). A worker on another node gets
   * mail from senders of the pool's node forwarded with its sender and call ref, so it answers
   * callers directly. Mail from a third node is relayed (ENP cannot name that sender): a message
   * reaches the worker with the pool as its sender; a call is made by the pool, which passes the
   * worker's reply (or error, or ErrTimeout at the caller's deadline) on to the caller. A call
   * keeps its caller's important flag either way (the worker's node reports a worker it cannot
   * deliver to, so the caller gets that error, not a timeout). Events reach a worker on another
   * node only through {@link forwardEvent}.
   */
  protected spawnWorker(factory: ProcessFactory, options: ProcessOptions, args: unknown[]): Promise<PID> {
    return this.spawn(factory, options, ...(args as never[]));
  }

  /**
   * Hands event `event` (published by `from`) to worker `pid` of another node, as its turn in the
   * rotation came. ENP cannot address an event to one process, so a plain Pool cannot: it throws
   * ErrUnsupported and the event goes to the next worker (one of the pool's node). ClusterPool
   * overrides it. Throw to have the next worker tried.
   */
  protected forwardEvent(pid: PID, _from: PID, _event: MessageEvent): void {
    throw ErrUnsupported.with(`forwarding an event to ${pid.toString()} (a worker on another node)`);
  }

  /** Starts `n` more workers (R); resolves with the new pool size. */
  addWorkers(n: number): Promise<number> {
    return ignorable(this.#addWorkers(n), this.log, 'addWorkers');
  }

  async #addWorkers(n: number): Promise<number> {
    this.#checkRunning();
    if (!Number.isInteger(n) || n < 0) throw ErrIncorrect.with(`worker count ${n}`);
    for (let i = 0; i < n; i++) await this.#startWorker();
    return this.#workers.length;
  }

  /** Stops the `n` oldest workers with a normal exit (R); returns the new size. ErrPoolEmpty. */
  removeWorkers(n: number): number {
    this.#checkRunning();
    if (!Number.isInteger(n) || n < 0) throw ErrIncorrect.with(`worker count ${n}`);
    for (let i = 0; i < n; i++) {
      const pid = this.#workers.shift();
      if (pid === undefined) throw ErrPoolEmpty.with(`removed ${i} of ${n}`);
      this.#removed.add(pid.key);
      this.sendExit(pid, TerminateReasonNormal);
    }
    return this.#workers.length;
  }

  /**
   * Takes worker `pid` out of the rotation and ends it once it has handled the mail it was given
   * (R): nothing more is forwarded to it, it is not replaced, and the pool size shrinks by one
   * (start its successor first with {@link startWorker}). A worker of the pool's node gets a
   * normal exit from the pool queued in its main queue, behind the mail already forwarded (an
   * exit signal would overtake that mail and drop it); one of another node is handed to
   * {@link retireRemoteWorker}. Returns false when `pid` is not in the rotation.
   */
  protected retireWorker(pid: PID): boolean {
    this.#checkRunning();
    const kept: PID[] = [];
    this.#workers.forEach((p) => {
      if (p.key !== pid.key) kept.push(p);
    });
    if (kept.length === this.#workers.length) return false;
    this.#workers = new Ring<PID>(1, Math.max(8, kept.length));
    for (const p of kept) this.#workers.push(p);
    this.#removed.add(pid.key);
    if (pid.node !== this.node.name) {
      this.retireRemoteWorker(pid);
      return true;
    }
    const exit = new MessageExitPID(this.pid, TerminateReasonNormal);
    try {
      this.process.forward(pid, MailboxKind.Exit, this.pid, exit, undefined, MessagePriority.Normal);
    } catch {
      // Gone already: its exit (or none) changes nothing.
    }
    return true;
  }

  /**
   * Ends worker `pid` of another node, already out of the rotation, after the mail it was given
   * (R). A plain Pool sends it a normal exit signal (which overtakes mail queued there);
   * ClusterPool overrides it to queue the exit on the worker's own node.
   */
  protected retireRemoteWorker(pid: PID): void {
    this.sendExit(pid, TerminateReasonNormal);
  }

  /** Starts one more worker (R, in the rotation; as addWorkers(1)) and resolves with its PID. */
  protected startWorker(): Promise<PID> {
    try {
      this.#checkRunning();
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return this.#startWorker();
  }

  /**
   * Runs in the pool's turn when asked (ClusterPool: when a node comes up): move
   * workers where they should be. Default: nothing.
   */
  protected rebalance(): void | Promise<void> {
    return undefined;
  }

  /** Current workers, next in line first. */
  workers(): PID[] {
    const out: PID[] = [];
    this.#workers.forEach((p) => out.push(p));
    return out;
  }

  #checkRunning(): void {
    const s = this.state();
    if (s !== ProcessState.Running && s !== ProcessState.WaitResponse)
      throw new ErgoError('ERR_NOT_ALLOWED', 'not allowed outside a handler');
  }

  async #startWorker(): Promise<PID> {
    const o = this.#opts;
    const options: ProcessOptions = { mailboxSize: o.workerMailboxSize, linkParent: true, linkChild: true };
    const pid = await this.spawnWorker(o.workerFactory, options, o.workerArgs);
    this.#workers.push(pid);
    this.#all.add(pid.key);
    if (this.#workerBehavior === '') {
      try {
        this.#workerBehavior = this.node.processInfo(pid).behavior;
      } catch {
        // the worker may already be gone
      }
    }
    return pid;
  }

  // --- ProcessBehavior ------------------------------------------------------------------------

  processInit(process: Process, args: unknown[]): unknown {
    this.bind(process);
    this.#mb = process.mailbox();
    const o = this.init(...args);
    if (isThenable(o)) return Promise.resolve(o).then((v) => this.#setup(v));
    return this.#setup(o);
  }

  async #setup(o: PoolOptions<ProcessBehavior>): Promise<undefined> {
    if (o === null || typeof o !== 'object' || typeof o.workerFactory !== 'function')
      throw ErrIncorrect.with('pool init must return options with a workerFactory');
    const size = validatePoolSize(o.poolSize) || DEFAULT_POOL_SIZE;
    const workerArgs = o.workerArgs === undefined ? [] : validateArgs(o.workerArgs, 'workerArgs');
    const workerMailboxSize =
      o.workerMailboxSize === undefined ? 0 : validateMailboxSize(o.workerMailboxSize, 'workerMailboxSize');
    this.#opts = { poolSize: size, workerFactory: o.workerFactory, workerArgs, workerMailboxSize };
    // The pool's door refuses what its workers would (mail of other nodes; local mail too with
    // validateLocal), delivering it unchanged: each worker applies the schemas' transforms as
    // the mail is forwarded to it (Process.forward checks mail of other nodes).
    const protocol = protocolOfFactory(o.workerFactory);
    if (protocol !== undefined) Object.defineProperty(this, protocolKey, { value: checkOnly(protocol) });
    for (let i = 0; i < size; i++) await this.#startWorker();
    return undefined;
  }

  processTerminate(reason: Error): unknown {
    return this.terminate(reason);
  }

  processRun(): unknown {
    const mb = this.#mb;
    if (this.#replies.length > 0) this.#passReplies();
    for (let i = 0; i < POOL_BATCH; i++) {
      if (!mb.take()) return undefined;
      const kind = mb.kind;
      const from = mb.from as PID;
      const message = mb.message;
      const extra = mb.extra;
      const queue = mb.queue;
      mb.release();
      if (queue === 'main' && kind <= MailboxKind.Event) {
        this.#forward(kind, from, message, extra);
        continue;
      }
      if (message === RELAY_WAKE) {
        this.#passReplies();
        continue;
      }
      if (message === REBALANCE_WAKE) {
        const p = this.rebalance();
        if (isThenable(p))
          return Promise.resolve(p).then(
            () => undefined,
            (e: unknown) => void this.log.error('pool: rebalancing failed: %s', toError(e).message),
          );
        continue;
      }
      let r: unknown;
      switch (kind) {
        case MailboxKind.Regular:
          if (queue === 'log') return new ErgoError('ERR_NOT_ALLOWED', 'pool process can not be a logger');
          r = this.handleMessage(from, message);
          break;
        case MailboxKind.Request:
          r = this.#request(from, message, extra);
          break;
        case MailboxKind.Event:
          r = this.handleEvent(message as MessageEvent);
          break;
        case MailboxKind.Exit:
          // Erlang's exit(Pid, normal) does not end a pool (pools do not trap exits)
          r = extra === ExitIgnoredUnlessTrapped ? undefined : this.#exit(from, message);
          break;
        case MailboxKind.Inspect:
          r = answerInspect(this, from, extra as Ref, this.handleInspect(from, ...(message as string[])));
          break;
      }
      if (r !== undefined && r !== null && (r instanceof Error || r instanceof Stop || isThenable(r))) return r;
      if (this.state() === ProcessState.Zombee) return undefined;
    }
    return undefined;
  }

  #forward(kind: MailboxKind, from: PID, message: unknown, extra: unknown): void {
    const n = this.#workers.length;
    const here = this.node.name;
    for (let i = 0; i < n; i++) {
      const pid = this.#workers.shift()!;
      try {
        // Mail of a third node to a worker of another node is relayed; an event to such a worker
        // goes as forwardEvent sends it.
        if (pid.node === here) this.process.forward(pid, kind, from, message, extra, MessagePriority.Normal);
        else if (kind === MailboxKind.Event) this.forwardEvent(pid, from, message as MessageEvent);
        else if (from.node !== here) this.#relay(pid, kind, from, message, extra);
        else this.process.forward(pid, kind, from, message, extra, MessagePriority.Normal);
        this.#workers.push(pid);
        this.#forwarded++;
        return;
      } catch (e) {
        const code = (e as ErgoError).code;
        if (code === ErrProtocolViolation.code) {
          // Refused by the worker's protocol (mail of another node, logged by the guard): every
          // worker would refuse it. The caller learns why; a message is dropped.
          this.#workers.push(pid);
          if (kind === MailboxKind.Request) this.sendResponseError(from, requestRef(extra), e as Error);
          return;
        }
        // A dead worker leaves the rotation (its exit restarts it); a full one stays.
        if (code !== 'ERR_PROCESS_UNKNOWN' && code !== 'ERR_PROCESS_TERMINATED') this.#workers.push(pid);
      }
    }
    this.#unhandled++;
    this.log.error('pool: no worker could take a message from %s (%d workers)', from.toString(), this.#workers.length);
    if (kind === MailboxKind.Request) {
      this.sendResponseError(from, requestRef(extra), ErrProcessMailboxFull.with('every pool worker is busy'));
    }
  }

  /**
   * Hands mail of a third node to worker `pid` of another node: a message with the pool as its
   * sender; a call made by the pool (important if the caller's was), whose outcome (reply,
   * error, ErrTimeout, ErrNoConnection...) is queued for the caller. Throws as forward does (the
   * next worker is tried).
   */
  #relay(pid: PID, kind: MailboxKind, from: PID, message: unknown, extra: unknown): void {
    if (kind !== MailboxKind.Request) {
      this.process.forward(pid, kind, this.pid, message, undefined, MessagePriority.Normal);
      return;
    }
    const ref = requestRef(extra);
    const options = { timeout: relayTimeout(ref), important: isImportantRequest(extra) };
    this.call(pid, message as never, options).then(
      (value) => this.#relayed({ to: from, ref, ok: true, value }),
      (err: unknown) => this.#relayed({ to: from, ref, ok: false, value: err }),
    );
  }

  /**
   * A relayed call settled: the outcome waits for the pool's next run, which a wake in its
   * system queue brings about (one per batch of outcomes).
   */
  #relayed(reply: RelayedReply): void {
    this.#replies.push(reply);
    if (this.#replies.length > 1) return; // a wake is already queued
    try {
      this.process.forward(this.pid, MailboxKind.Regular, this.pid, RELAY_WAKE, undefined, MessagePriority.High);
    } catch {
      // Ended: the callers time out, as for any call to a process that ended. Full: it runs anyway.
    }
  }

  #passReplies(): void {
    const replies = this.#replies;
    this.#replies = [];
    for (const r of replies) {
      if (r.ok) this.sendResponse(r.to, r.ref, r.value);
      else this.sendResponseError(r.to, r.ref, toError(r.value));
    }
  }

  #request(from: PID, request: unknown, extra: unknown): unknown {
    const ref = requestRef(extra);
    const r = this.handleCall(from, ref, request);
    if (isThenable(r)) return Promise.resolve(r).then((v) => finishCall(this, from, ref, v));
    return finishCall(this, from, ref, r);
  }

  #exit(from: PID, message: unknown): unknown {
    if (message instanceof MessageExitPID && !from.equals(this.parent) && this.#isWorker(message.pid)) {
      return this.#workerExited(message.pid, message.reason);
    }
    return exitReason(message);
  }

  #isWorker(pid: PID): boolean {
    return this.#all.has(pid.key);
  }

  #workerExited(pid: PID, reason: Error): unknown {
    this.#all.delete(pid.key);
    if (this.#removed.delete(pid.key)) return undefined;
    const kept: PID[] = [];
    this.#workers.forEach((p) => {
      if (p.key !== pid.key) kept.push(p);
    });
    if (kept.length !== this.#workers.length) {
      this.#workers = new Ring<PID>(1, Math.max(8, kept.length));
      for (const p of kept) this.#workers.push(p);
    }
    if (!isNormalReason(reason))
      this.log.warning('pool: worker %s ended (%s), starting a new one', pid.toString(), reason.message);
    this.#restarts++;
    return this.#startWorker().then(
      () => undefined,
      (e: unknown) => {
        this.log.error('pool: unable to start a worker: %s', toError(e).message);
        return undefined;
      },
    );
  }
}
