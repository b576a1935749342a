// The engine's process: identity, state machine, mailbox and the operations a behaviour performs
// through it. Routing, registries and termination live on the node; this class checks the state
// rules (Ergo's I/R/T masks, with Ergo 3.2's wider Init: names, aliases, events, links, monitors,
// calls, inspect and responses work in init too) and delegates.

import type { MessageFor, CheckHandlers, PayloadOf, ProtocolOf, ReplyFor, RequestFor } from '../gen/protocol.js';
import { type CallVariantName, installCallVariants } from '../gen/call_variants.js';
import type { Atom } from '../gen/atom.js';
import { envName } from '../gen/env.js';
import {
  ErrIncorrect,
  ErrNameUnknown,
  ErrProcessTerminated,
  ErrNotAllowed,
  ErrTaken,
  ErrAliasOwner,
  ErrAliasUnknown,
  TerminateReasonKill,
  ErrTargetUnknown,
  toError,
} from '../gen/errors.js';
import type { Event, EventOptions } from '../gen/event.js';
import { LogLevel, MessageLogProcess, type Log } from '../gen/log.js';
import type { MessageEvent } from '../gen/messages.js';
import type { CallOptions, CancelFunc, Compression, ProcessFallback, SendOptions } from '../gen/options.js';
import { PID } from '../gen/pid.js';
import { isMessagePriority, MessagePriority, ProcessState, processStateString } from '../gen/priority.js';
import { type ProcessID } from '../gen/processid.js';
import {
  MailboxKind,
  Stop,
  type InitArgs,
  type LinkTarget,
  type Process,
  type ProcessBehavior,
  type ProcessFactory,
  type ProcessInfo,
  type ProcessMailbox,
  type ProcessTracer,
  type SendTarget,
  type TracedSend,
} from '../gen/process.js';
import type { ProcessOptions } from '../gen/options.js';
import {
  validateCompressionLevel,
  validateCompressionThreshold,
  validateCompressionType,
  validateTimeoutMs,
  sleepingRefusal,
} from '../gen/validate.js';
import { Alias, Ref } from '../gen/ref.js';
import type { CallHolder, CallOwner, PendingCall } from './calls.js';
import type { HeldRequest, RemoteHolder } from './remote_requests.js';
import { LogHandle } from './log.js';
import { Mailbox, Q_URGENT, QUEUE_NAMES } from './mailbox.js';
import { NodeHandle } from './handle.js';
import { registerNameOf, resolveLocal } from './names.js';
import type { NodeImpl } from './node.js';
import type { Runnable } from './scheduler.js';
import type { ConsumerHost, Relation, TargetHost } from './targets.js';
import { spawnLocal } from './spawn.js';
import { ignorable, rejected, watchDelivery } from '../gen/ignorable.js';
import {
  processInspectMeta,
  processMetaInfo,
  processSendExitMeta,
  processSendExitMetaAfter,
  processSpawnMeta,
} from './meta_table.js';
import type { MetaBehavior, MetaInfo, MetaOptions } from '../gen/meta.js';

/** State masks (Ergo's isStateIR / isStateIRT / isRunning). WaitResponse counts as running. */
const S_INIT = ProcessState.Init;
const S_SLEEP = ProcessState.Sleep;
const S_RUNNING = ProcessState.Running;
const S_WAIT = ProcessState.WaitResponse;
const S_TERMINATED = ProcessState.Terminated;
const S_ZOMBEE = ProcessState.Zombee;
/**
 * Engine-only state of a process terminated while its handler still ran (a zombee past the kill
 * grace, or a forced stop): outside every mask, so every operation of its late code fails.
 */
const S_DETACHED = 64;
/** Terminated, detached included. */
const MASK_GONE = S_TERMINATED | S_DETACHED;

/** True for a process that has ended (terminated or detached). */
export function isGone(st: number): boolean {
  return (st & MASK_GONE) !== 0;
}
const MASK_R = S_RUNNING | S_WAIT;
const MASK_IR = S_INIT | MASK_R;
const MASK_IRT = MASK_IR | S_TERMINATED;
/** States that refuse new mail and requests. */
const S_GONE = S_TERMINATED | S_ZOMBEE;

/** True when `v` has a callable `then`. */
export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    v !== null &&
    (typeof v === 'object' || typeof v === 'function') &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}

const DEFAULT_COMPRESSION: Compression = { enable: false, type: 'gzip', level: 0, threshold: 1024 };

/**
 * The state of a process that most processes never use (env, aliases, events, timers, its log
 * handle, logger name, fallback, compression, node handle, async continuations): kept out of
 * ProcessImpl so an idle process stays small; made on first use.
 */
class ProcessExtras {
  compressionCfg: Compression | null = null;
  envMap: Map<string, unknown> | null = null;
  aliasList: Alias[] | null = null;
  eventNames: Atom[] | null = null;
  timers: Set<ReturnType<typeof setTimeout>> | null = null;
  logHandle: LogHandle | null = null;
  loggerName = '';
  fallback: ProcessFallback | null = null;
  application: Atom = '' as Atom;
  handle: NodeHandle | null = null;
  onSettled: ((v: unknown) => void) | null = null;
  onFailed: ((e: unknown) => void) | null = null;
  /** Its tracers (Node.traceProcess), null when not traced. */
  tracers: ProcessTracer[] | null = null;
  /** The group leader when it is not the node's core PID (a spawn that named one). */
  leaderPID: PID | null = null;
  /** Registered name ('' = none). */
  name: Atom = '' as Atom;
  keepOrder = true;
}

/**
 * The lists of links and monitors on a process and of a process: six slots most processes never
 * fill (an idle process among millions has none), so they live here, made on first use, and
 * ProcessImpl carries one null slot instead of six (48 B less per process, which the spawn row's
 * scavenges copy twice).
 */
class RelationLists {
  tHead: Relation | null = null;
  tTail: Relation | null = null;
  tCount = 0;
  cHead: Relation | null = null;
  cTail: Relation | null = null;
  cCount = 0;
}

/**
 * Processes traced right now, over every node of this OS process. The send and receive paths
 * check only this (one load and compare, no per-process field): while it is 0 no tracer is
 * looked up at all.
 */
let tracedProcesses = 0;

// The call variants are defined once, on the prototype (gen/call_variants.ts).
export interface ProcessImpl extends Pick<Process, CallVariantName> {}
/**
 * A process of this node. Created by NodeImpl.spawnProcess. It is its own mailbox (extends
 * Mailbox; `mb` is itself): an idle process is three objects (this, its PID and its behaviour),
 * 425 B of heap with a bare Actor, and keeps nothing more once its mail is handled.
 */
export class ProcessImpl
  extends Mailbox
  implements Process, Runnable, CallOwner, CallHolder, RemoteHolder, TargetHost, ConsumerHost
{
  queued = false;
  st: number = S_INIT;
  /**
   * Links and monitors on this process (TargetHost) and of this process (ConsumerHost), made on
   * the first one (see RelationLists); read and written through the accessors below.
   */
  private rl: RelationLists | null = null;
  /**
   * CallOwner / CallHolder: its pending calls and the calls it holds (kept by the registry). The
   * lists are the counts too (waiting for a reply = ownCalls !== null): no counter fields.
   */
  ownCalls: PendingCall | null = null;
  heldCalls: PendingCall | null = null;
  /** RemoteHolder: requests from other nodes' processes it holds (kept by RemoteRequests). */
  remoteHeld: HeldRequest | null = null;
  suspended = false;
  messagesIn = 0;
  messagesOut = 0;
  /**
   * Time spent in this process' batches (charged by the scheduler through `charge`), as whole
   * milliseconds and the nanoseconds past them: two small integers, stored in place. A double
   * field is a 16 B heap number box per process (V8 keeps double fields boxed), one object of
   * every idle process; a field that starts as a small integer and later gets a fraction would
   * change the hidden class and deoptimize the scheduler's drain. These stay small integers
   * (milliseconds up to 2^31: 24 days of running time).
   */
  private rtMs = 0;
  private rtNs = 0;
  priority: MessagePriority = MessagePriority.Normal;
  important = false;
  logLevel: LogLevel;
  behaviorObj!: ProcessBehavior;
  /**
   * Spawn time in ms after the node's start: a small integer, so no boxed number per process
   * (Math.floor makes it one: a difference of two clock readings is a heap double even when whole).
   */
  private readonly startOffset: number;
  /** What most processes never use, made on first use (see ProcessExtras). */
  private x: ProcessExtras | null = null;

  constructor(
    readonly nodeImpl: NodeImpl,
    readonly pid: PID,
    readonly parent: PID,
    leader: PID,
    mailboxSize: number,
    logLevel: LogLevel,
  ) {
    super(mailboxSize);
    this.logLevel = logLevel;
    // The leader is nearly always the node's core PID (inherited down from the node): nothing to
    // keep then. A leader named by a spawn (or inherited from one) goes to the extras.
    if (leader !== nodeImpl.pid && !leader.equals(nodeImpl.pid)) this.extras().leaderPID = leader;
    this.startOffset = Math.floor(Date.now() - nodeImpl.startedAt);
  }

  /** Milliseconds spent in this process' batches (estimated by the scheduler: sampled). */
  get runningTime(): number {
    return this.rtMs + this.rtNs / 1e6;
  }

  /** Runnable: adds `ms` milliseconds to runningTime. */
  charge(ms: number): void {
    const ns = this.rtNs + Math.round(ms * 1e6);
    if (ns < 1e6) {
      this.rtNs = ns;
      return;
    }
    const whole = Math.floor(ns / 1e6);
    this.rtMs += whole;
    // `| 0`: the remainder is below 10^6, and a double-typed result would be stored as a heap
    // number (and turn the field into a tagged one, a new hidden class).
    this.rtNs = (ns - whole * 1e6) | 0;
  }

  /**
   * The mailbox: the process itself (ProcessImpl extends Mailbox). One object less per process
   * than a mailbox of its own (its header and the slot pointing to it: 32 B), and the fields a
   * call writes into its target (the request's Ref, the held call) sit in one object.
   */
  get mb(): Mailbox {
    return this;
  }

  private lists(): RelationLists {
    return (this.rl ??= new RelationLists());
  }

  // TargetHost / ConsumerHost (targets.ts): the relation lists; a process without any reads
  // empty lists, and writing an empty value to one it does not have makes nothing.
  get tHead(): Relation | null {
    return this.rl === null ? null : this.rl.tHead;
  }
  set tHead(v: Relation | null) {
    if (v !== null || this.rl !== null) this.lists().tHead = v;
  }
  get tTail(): Relation | null {
    return this.rl === null ? null : this.rl.tTail;
  }
  set tTail(v: Relation | null) {
    if (v !== null || this.rl !== null) this.lists().tTail = v;
  }
  get tCount(): number {
    return this.rl === null ? 0 : this.rl.tCount;
  }
  set tCount(v: number) {
    if (v !== 0 || this.rl !== null) this.lists().tCount = v;
  }
  get cHead(): Relation | null {
    return this.rl === null ? null : this.rl.cHead;
  }
  set cHead(v: Relation | null) {
    if (v !== null || this.rl !== null) this.lists().cHead = v;
  }
  get cTail(): Relation | null {
    return this.rl === null ? null : this.rl.cTail;
  }
  set cTail(v: Relation | null) {
    if (v !== null || this.rl !== null) this.lists().cTail = v;
  }
  get cCount(): number {
    return this.rl === null ? 0 : this.rl.cCount;
  }
  set cCount(v: number) {
    if (v !== 0 || this.rl !== null) this.lists().cCount = v;
  }

  private extras(): ProcessExtras {
    return (this.x ??= new ProcessExtras());
  }

  /** Spawn time (ms since the epoch). */
  get startedAt(): number {
    return this.nodeImpl.startedAt + this.startOffset;
  }

  get compressionCfg(): Compression | null {
    return this.x === null ? null : this.x.compressionCfg;
  }
  set compressionCfg(v: Compression | null) {
    if (v !== null || this.x !== null) this.extras().compressionCfg = v;
  }
  /** This process' env (own copy; null = empty). */
  /** The group leader (the parent's leader unless the spawn named one). */
  get leader(): PID {
    const x = this.x;
    return x === null || x.leaderPID === null ? this.nodeImpl.pid : x.leaderPID;
  }

  /** The registered name ('' = none). */
  get name(): Atom {
    return this.x === null ? ('' as Atom) : this.x.name;
  }
  set name(v: Atom) {
    if (v !== '' || this.x !== null) this.extras().name = v;
  }

  /** Network order kept for this process' sends (the default; Ergo's KeepNetworkOrder). */
  get keepOrder(): boolean {
    return this.x === null ? true : this.x.keepOrder;
  }
  set keepOrder(v: boolean) {
    if (!v || this.x !== null) this.extras().keepOrder = v;
  }

  get envMap(): Map<string, unknown> | null {
    return this.x === null ? null : this.x.envMap;
  }
  set envMap(v: Map<string, unknown> | null) {
    if (v !== null || this.x !== null) this.extras().envMap = v;
  }
  get aliasList(): Alias[] | null {
    return this.x === null ? null : this.x.aliasList;
  }
  set aliasList(v: Alias[] | null) {
    if (v !== null || this.x !== null) this.extras().aliasList = v;
  }
  get eventNames(): Atom[] | null {
    return this.x === null ? null : this.x.eventNames;
  }
  set eventNames(v: Atom[] | null) {
    if (v !== null || this.x !== null) this.extras().eventNames = v;
  }
  get timers(): Set<ReturnType<typeof setTimeout>> | null {
    return this.x === null ? null : this.x.timers;
  }
  set timers(v: Set<ReturnType<typeof setTimeout>> | null) {
    if (v !== null || this.x !== null) this.extras().timers = v;
  }
  get logHandle(): LogHandle | null {
    return this.x === null ? null : this.x.logHandle;
  }
  set logHandle(v: LogHandle | null) {
    if (v !== null || this.x !== null) this.extras().logHandle = v;
  }
  /** Name under which this process is registered as a logger ('' = not a logger). */
  get loggerName(): string {
    return this.x === null ? '' : this.x.loggerName;
  }
  set loggerName(v: string) {
    if (v !== '' || this.x !== null) this.extras().loggerName = v;
  }
  /** The application this process belongs to ('' = none; most processes: kept in the extras). */
  get application(): Atom {
    return this.x === null ? ('' as Atom) : this.x.application;
  }
  set application(v: Atom) {
    if (v !== '' || this.x !== null) this.extras().application = v;
  }
  get fallback(): ProcessFallback | null {
    return this.x === null ? null : this.x.fallback;
  }
  set fallback(v: ProcessFallback | null) {
    if (v !== null || this.x !== null) this.extras().fallback = v;
  }

  /**
   * The node, through a handle that acts for this process (made on first use, then cached): its
   * stop()/stopForce() begin the stop and resolve at once, and it refuses everything once this
   * process is detached. See NodeHandle.
   */
  get node(): NodeHandle {
    const x = this.extras();
    return (x.handle ??= new NodeHandle(this.nodeImpl, this));
  }

  uptime(): number {
    return Math.floor((Date.now() - this.startedAt) / 1000);
  }

  state(): ProcessState {
    return this.st as ProcessState;
  }

  behaviorName(): string {
    return this.behaviorObj?.constructor?.name ?? 'unknown';
  }

  get log(): Log {
    if (this.logHandle === null) {
      this.logHandle = new LogHandle(
        this.loggerName !== '' ? LogLevel.Disabled : this.logLevel,
        new MessageLogProcess(this.nodeImpl.name, this.pid, this.name, this.behaviorName()),
        this.nodeImpl.logSink,
      );
    }
    return this.logHandle;
  }

  /** Throws ErrNotAllowed unless the state is in `mask`. */
  allow(mask: number, op: string): void {
    if (this.st === S_DETACHED)
      throw ErrProcessTerminated.with(
        `${op}: ${this.pid} was killed and its handler outlived the kill grace: it is detached`,
      );
    if ((this.st & mask) === 0) {
      if (this.st === S_SLEEP) throw sleepingRefusal(op, this.pid);
      throw ErrNotAllowed.with(`${op} is not allowed in state ${processStateString(this.st as ProcessState)}`);
    }
  }

  /**
   * True (after logging the refusal at error) when the process sleeps: its handler has returned.
   * The messaging operations that return nothing (send, sendExit, sendEvent, the replies) drop
   * their message then instead of throwing: they are the usual last step of a `.then` or timer
   * callback a handler left behind, where a throw can only reject the user's own promise chain,
   * an unhandled rejection that ends the OS process. Go Ergo returns ErrNotAllowed there, which
   * takes no node down either. Other operations still throw (the same message).
   */
  private droppedAsleep(op: string): boolean {
    if (this.st !== S_SLEEP) return false;
    this.log.error('%s; nothing was sent', sleepingRefusal(op, this.pid).message);
    return true;
  }

  // --- scheduling -----------------------------------------------------------------------------

  /** Runs one batch of the behaviour's mailbox loop. Called by the scheduler. */
  run(): void {
    if (this.st !== S_SLEEP) return;
    this.st = S_RUNNING;
    // The scheduler charges the batch to runningTime (sampled: see Scheduler).
    let r: unknown;
    try {
      r = this.behaviorObj.processRun();
    } catch (e) {
      this.nodeImpl.panic(this, e, 'a handler');
      return;
    }
    this.afterRun(r);
  }

  private afterRun(r: unknown): void {
    if (r === undefined || r === null) {
      const s = this.st;
      if (s === S_RUNNING || s === S_WAIT) {
        this.st = S_SLEEP;
        const mb: Mailbox = this;
        if (mb.size > 0) this.nodeImpl.scheduler.enqueue(this);
        // Idle now: drop what the run left (the answered request's Ref, a tiny drained queue).
        // A held call's request is still being handled: its Ref stays.
        else mb.sleep(this.heldCalls !== null || this.remoteHeld !== null);
      } else if (s === S_ZOMBEE) {
        this.nodeImpl.terminate(this, TerminateReasonKill);
      }
      return;
    }
    if (isThenable(r)) {
      this.suspend(r);
      return;
    }
    if (r instanceof Error || r instanceof Stop) {
      // The handler returned: the request it handled (if any) was answered or deferred, e.g.
      // forwarded before stopping (Ergo's `return nil, TerminateReasonNormal` from HandleCall,
      // §5.5 TestCallForward). It is no longer "being handled": a normal stop lets it wait.
      this.currentRef = null;
      // A zombee ends as killed whatever its handler returns (as when it returns nothing or panics).
      this.nodeImpl.terminate(this, this.st === S_ZOMBEE ? TerminateReasonKill : r instanceof Stop ? r.reason : r);
      return;
    }
    // Anything else a behaviour returns is not a termination reason: carry on.
    this.afterRun(undefined);
  }

  private suspend(t: PromiseLike<unknown>): void {
    this.suspended = true;
    const x = this.extras();
    x.onSettled ??= (v: unknown) => {
      this.suspended = false;
      // A terminated or detached process' late result is ignored.
      if ((this.st & MASK_GONE) !== 0) return;
      this.afterRun(v);
    };
    x.onFailed ??= (e: unknown) => {
      this.suspended = false;
      if ((this.st & MASK_GONE) !== 0) return;
      this.nodeImpl.panic(this, e, 'an async handler');
    };
    try {
      t.then(x.onSettled, x.onFailed);
    } catch (e) {
      x.onFailed(e);
    }
  }

  /** CallOwner: one of this process' calls settled. */
  callSettled(): void {
    // The registry has taken the call off ownCalls already.
    if (this.ownCalls === null && this.st === S_WAIT) this.st = S_RUNNING;
  }

  /** Marks the process as waiting for a reply (called when it issues a call). */
  beginWait(): void {
    if (this.st === S_RUNNING) this.st = S_WAIT;
  }

  /**
   * Queues a record. Throws ErrProcessTerminated for a dead process and ErrProcessMailboxFull
   * (after trying the fallback for plain messages) when the queue is at its limit.
   */
  deliver(q: number, kind: MailboxKind, from: PID, message: unknown, extra: unknown): void {
    // A killed process (zombee) refuses new mail as a terminated one does (Ergo).
    if ((this.st & S_GONE) !== 0) throw this.nodeImpl.errTerminated(this);
    if (!this.push(q, kind, from, message, extra)) {
      this.nodeImpl.router.mailboxFull(this, q, kind, from, message);
      return;
    }
    this.messagesIn++;
    if (tracedProcesses !== 0) this.traceIn(q, kind, from, message);
    if (this.size === this.highWater) this.highWaterReached();
    if (this.st === S_SLEEP && !this.queued) this.nodeImpl.scheduler.enqueue(this);
  }

  /** deliver() of a plain message to the PID (kind Regular, no extra): the local send path. */
  deliverPlain(q: number, from: PID, message: unknown): void {
    if ((this.st & S_GONE) !== 0) throw this.nodeImpl.errTerminated(this);
    if (!this.pushPlain(q, from, message)) {
      this.nodeImpl.router.mailboxFull(this, q, MailboxKind.Regular, from, message);
      return;
    }
    this.messagesIn++;
    if (tracedProcesses !== 0) this.traceIn(q, MailboxKind.Regular, from, message);
    if (this.size === this.highWater) this.highWaterReached();
    if (this.st === S_SLEEP && !this.queued) this.nodeImpl.scheduler.enqueue(this);
  }

  /**
   * Queues a framework notification (exit, down, event start/stop): never refused by the limit.
   * `extra` is the record's extra slot (ExitIgnoredUnlessTrapped for an Erlang `normal` exit).
   */
  notify(q: number, kind: MailboxKind, from: PID, message: unknown, extra?: unknown): void {
    if (this.st === S_TERMINATED) return;
    this.push(q, kind, from, message, extra, true);
    this.messagesIn++;
    if (tracedProcesses !== 0) this.traceIn(q, kind, from, message);
    if (this.size === this.highWater) this.highWaterReached();
    if (this.st === S_SLEEP && !this.queued) this.nodeImpl.scheduler.enqueue(this);
  }

  /**
   * The mailbox reached its high-water mark (`mailboxHighWater`): one warning naming this
   * process and the ways to bound it; then the mark is off for good.
   */
  private highWaterReached(): void {
    const mb: Mailbox = this;
    mb.highWater = 0;
    this.nodeImpl.log.warning(
      'process %s has %d messages queued (mailbox high-water mark; warned once). %s',
      this.pid.toString(),
      mb.size,
      mb.limit > 0
        ? `Its queues are bounded at ${mb.limit} each.`
        : 'Its mailbox is unbounded: set mailboxSize (spawn or node option) to bound it, or mailboxHighWater to move this mark.',
    );
  }

  // --- tracing (Node.traceProcess) -----------------------------------------------------------

  /** Adds a tracer; the returned function removes it (once). */
  addTracer(tracer: ProcessTracer): () => void {
    const x = this.extras();
    if (x.tracers === null) {
      x.tracers = [];
      tracedProcesses++;
    }
    x.tracers.push(tracer);
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      this.dropTracer(tracer);
    };
  }

  private dropTracer(tracer: ProcessTracer): void {
    const list = this.x === null ? null : this.x.tracers;
    if (list === null) return;
    const i = list.indexOf(tracer);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) {
      this.x!.tracers = null;
      tracedProcesses--;
    }
  }

  /** The tracers of this process, or null (only called while some process is traced). */
  private tracerList(): ProcessTracer[] | null {
    return this.x === null ? null : this.x.tracers;
  }

  private traceIn(q: number, kind: MailboxKind, from: PID, message: unknown): void {
    const list = this.tracerList();
    if (list === null) return;
    for (const t of list.slice())
      try {
        t.received(QUEUE_NAMES[q]!, kind, from, message);
      } catch {
        // a tracer's fault is never the traced process' fault
      }
  }

  private traceOut(kind: TracedSend, to: SendTarget, message: unknown): void {
    const list = this.tracerList();
    if (list === null) return;
    for (const t of list.slice())
      try {
        t.sent(kind, to, message);
      } catch {
        // see traceIn
      }
  }

  /** The process has ended: its tracers hear it and are removed. */
  traceEnded(reason: Error): void {
    if (tracedProcesses === 0) return;
    const list = this.tracerList();
    if (list === null) return;
    for (const t of list.slice()) {
      this.dropTracer(t);
      try {
        t.ended(reason);
      } catch {
        // see traceIn
      }
    }
  }

  // --- spawning -------------------------------------------------------------------------------

  spawn<B extends ProcessBehavior>(
    factory: ProcessFactory<B> & NoInfer<CheckHandlers<B>>,
    options?: ProcessOptions,
    ...args: InitArgs<B>
  ): Promise<PID<ProtocolOf<B>>>;
  spawn<B extends ProcessBehavior>(
    factory: ProcessFactory<B>,
    options?: ProcessOptions,
    ...args: InitArgs<B>
  ): Promise<PID> {
    try {
      this.allow(MASK_IR, 'spawn');
    } catch (e) {
      return rejected(e, this.log, 'spawn');
    }
    return spawnLocal(
      this.nodeImpl,
      { factory: factory as ProcessFactory, options, args, parent: this },
      this.log,
      'spawn',
    );
  }

  spawnRegister<B extends ProcessBehavior>(
    name: Atom | string,
    factory: ProcessFactory<B> & NoInfer<CheckHandlers<B>>,
    options?: ProcessOptions,
    ...args: InitArgs<B>
  ): Promise<PID<ProtocolOf<B>>>;
  spawnRegister<B extends ProcessBehavior>(
    name: Atom | string,
    factory: ProcessFactory<B>,
    options?: ProcessOptions,
    ...args: InitArgs<B>
  ): Promise<PID> {
    try {
      this.allow(MASK_IR, 'spawnRegister');
      if (typeof name !== 'string' || name === '')
        throw ErrIncorrect.with('spawnRegister: name must be a non-empty string');
    } catch (e) {
      return rejected(e, this.log, 'spawnRegister');
    }
    return spawnLocal(
      this.nodeImpl,
      { factory: factory as ProcessFactory, options, args, parent: this, register: name },
      this.log,
      'spawnRegister',
    );
  }

  remoteSpawn(
    node: Atom | string,
    name: Atom | string,
    options: ProcessOptions = {},
    ...args: unknown[]
  ): Promise<PID> {
    return this.remoteSpawnRegister(node, '', name, options, ...args);
  }

  remoteSpawnRegister(
    node: Atom | string,
    register: Atom | string,
    name: Atom | string,
    options: ProcessOptions = {},
    ...args: unknown[]
  ): Promise<PID> {
    return ignorable(this.remoteSpawnAsync(node, register, name, options, args), this.log, `remoteSpawn on ${node}`);
  }

  private async remoteSpawnAsync(
    node: Atom | string,
    register: Atom | string,
    name: Atom | string,
    options: ProcessOptions,
    args: unknown[],
  ): Promise<PID> {
    this.allow(MASK_IR, 'remoteSpawn');
    if (typeof node !== 'string' || node === '')
      throw ErrIncorrect.with('remoteSpawn: node must be a non-empty string');
    if (typeof name !== 'string' || name === '')
      throw ErrIncorrect.with('remoteSpawn: name must be a non-empty string');
    if (typeof register !== 'string') throw ErrIncorrect.with('remoteSpawnRegister: register must be a string');
    const n = this.nodeImpl;
    if (n.router.isLocal(node)) throw ErrNotAllowed.with(`remoteSpawn: ${node} is this node; use spawn`);
    const security = n.options.security ?? {};
    const pid = await n.router.connection(node as Atom).remoteSpawn(name as Atom, {
      // linkChild is the requester's business (below); the remote side must not act on it.
      processOptions: options.linkChild ? { ...options, linkChild: false } : options,
      parentPID: this.pid,
      parentLeader: this.leader,
      parentEnv: security.exposeEnvRemoteSpawn && this.envMap !== null ? new Map(this.envMap) : null,
      parentLogLevel: this.logLevel,
      register: register as Atom,
      application: this.application,
      args,
    });
    // linkChild is honoured here, on the requesting side (Ergo does the same).
    if (options.linkChild && (this.st & MASK_IR) !== 0) this.nodeImpl.relations.link(this, pid);
    return pid;
  }

  // --- names ----------------------------------------------------------------------------------

  registerName(name: Atom | string): void {
    this.allow(MASK_IR, 'registerName');
    if (this.name !== '') throw ErrTaken.with(`${this.pid} is registered as '${this.name}'`);
    // By the process itself: it may still be in init, outside the table (Ergo 3.2).
    registerNameOf(this.nodeImpl, name, this);
  }

  unregisterName(): void {
    this.allow(MASK_IR, 'unregisterName');
    if (this.name === '') throw ErrNameUnknown.with(`${this.pid} has no name`);
    this.nodeImpl.unregisterName(this.name);
  }

  // --- env ------------------------------------------------------------------------------------

  env(name: string): unknown {
    return this.envMap?.get(envName(name));
  }

  envDefault<T>(name: string, defaultValue: T): T {
    const v = this.envMap?.get(envName(name));
    return v === undefined ? defaultValue : (v as T);
  }

  setEnv(name: string, value: unknown): void {
    const k = envName(name); // validates first: a bad name is an error in every state
    if ((this.st & MASK_IR) === 0) return;
    if (value === undefined || value === null) {
      this.envMap?.delete(k);
      return;
    }
    (this.envMap ??= new Map()).set(k, value);
  }

  envList(): Record<string, unknown> {
    return this.envMap === null ? {} : Object.fromEntries(this.envMap);
  }

  // --- delivery settings ----------------------------------------------------------------------

  sendPriority(): MessagePriority {
    return this.priority;
  }

  setSendPriority(priority: MessagePriority): void {
    this.allow(MASK_IR, 'setSendPriority');
    if (!isMessagePriority(priority)) throw ErrIncorrect.with(`priority ${String(priority)}`);
    this.priority = priority;
  }

  importantDelivery(): boolean {
    return this.important;
  }

  setImportantDelivery(important: boolean): void {
    this.allow(MASK_IR, 'setImportantDelivery');
    this.important = important;
  }

  keepNetworkOrder(): boolean {
    return this.keepOrder;
  }

  setKeepNetworkOrder(keep: boolean): void {
    this.allow(MASK_IR, 'setKeepNetworkOrder');
    this.keepOrder = keep;
  }

  compression(): Compression {
    return { ...DEFAULT_COMPRESSION, ...this.compressionCfg };
  }

  private editCompression(op: string, patch: Partial<Compression>): void {
    this.allow(MASK_IR, op);
    this.compressionCfg = { ...this.compression(), ...patch };
  }

  setCompression(enable: boolean): void {
    this.editCompression('setCompression', { enable });
  }

  setCompressionType(type: 'gzip' | 'zlib' | 'lzw'): void {
    validateCompressionType(type);
    this.editCompression('setCompressionType', { type });
  }

  setCompressionLevel(level: 0 | 1 | 2): void {
    validateCompressionLevel(level);
    this.editCompression('setCompressionLevel', { level });
  }

  setCompressionThreshold(threshold: number): void {
    validateCompressionThreshold(threshold);
    this.editCompression('setCompressionThreshold', { threshold });
  }

  // --- aliases --------------------------------------------------------------------------------

  createAlias(): Alias {
    this.allow(MASK_IR, 'createAlias');
    const ref = this.nodeImpl.makeRef();
    const alias = new Alias(ref.node, ref.creation, ref.id);
    this.nodeImpl.registerAlias(alias, this);
    (this.aliasList ??= []).push(alias);
    return alias;
  }

  deleteAlias(alias: Alias): void {
    this.allow(MASK_IR, 'deleteAlias');
    const owner = this.nodeImpl.aliasOwner(alias);
    if (owner === undefined) throw ErrAliasUnknown.with(alias.toString());
    if (owner !== this) throw ErrAliasOwner.with(alias.toString());
    this.aliasList!.splice(
      this.aliasList!.findIndex((a) => a.equals(alias)),
      1,
    );
    this.nodeImpl.unregisterAlias(alias);
  }

  aliases(): Alias[] {
    return this.aliasList === null ? [] : this.aliasList.slice();
  }

  // --- messaging ------------------------------------------------------------------------------

  send<T extends SendTarget>(to: T, message: MessageFor<T>, options?: SendOptions): void;
  send(to: SendTarget, message: unknown, options?: SendOptions): void {
    // Kept small so the JIT inlines it into the handler's loop: a running process sending with
    // its own defaults; options, other states and the init self-send go through sendWith.
    if (options === undefined && (this.st & MASK_R) !== 0) {
      const ack = this.nodeImpl.router.routeSend(this.pid, to, message, this.priority, this.important, this);
      this.messagesOut++;
      if (tracedProcesses !== 0) this.traceOut('send', to, message);
      // An important remote send: its delivery ack has nobody to await it.
      if (ack !== undefined) watchDelivery(ack, this.log, 'send', to);
      return;
    }
    this.sendWith(to, message, options);
  }

  /** send() with options, or from a process in init or terminated (after its state check). */
  private sendWith(to: SendTarget, message: unknown, options: SendOptions | undefined): void {
    if ((this.st & MASK_IRT) === 0) {
      if (this.droppedAsleep('send')) return;
      this.allow(MASK_IRT, 'send');
    }
    const prio = options?.priority ?? this.priority;
    if (prio !== this.priority && !isMessagePriority(prio)) throw ErrIncorrect.with(`priority ${String(prio)}`);
    if (this.st === S_INIT && (to === this.pid || (to instanceof PID && to.equals(this.pid)))) {
      // Not in the process table yet: route a self-send straight into the mailbox.
      this.nodeImpl.router.routeSelf(this, 2 - prio, message);
    } else {
      const important = options?.important ?? this.important;
      watchDelivery(this.nodeImpl.router.routeSend(this.pid, to, message, prio, important, this), this.log, 'send', to);
    }
    this.messagesOut++;
    if (tracedProcesses !== 0) this.traceOut('send', to, message);
  }

  sendWithPriority(to: SendTarget, message: unknown, priority: MessagePriority): void {
    if (!isMessagePriority(priority)) throw ErrIncorrect.with(`priority ${String(priority)}`);
    this.send(to, message, { priority });
  }

  sendImportant<T extends SendTarget>(to: T, message: MessageFor<T>): Promise<void>;
  sendImportant(to: SendTarget, message: unknown): Promise<void> {
    try {
      this.allow(MASK_R, 'sendImportant');
      // Local: delivered (or thrown) now. Remote: the promise of the peer's delivery ack.
      const ack = this.nodeImpl.router.routeSend(this.pid, to, message, this.priority, true, this);
      this.messagesOut++;
      if (tracedProcesses !== 0) this.traceOut('send', to, message);
      return ack === undefined ? Promise.resolve() : ignorable(ack, this.log, `sendImportant to ${String(to)}`);
    } catch (e) {
      return rejected(e, this.log, `sendImportant to ${String(to)}`);
    }
  }

  /** A timer owned by this process (cancelled when it terminates). */
  addTimer(delayMs: number, fire: () => void): CancelFunc {
    // Node fires a timer longer than 2^31-1 ms after 1 ms: refuse it (as call timeouts do).
    validateTimeoutMs(delayMs, 'delay', true);
    const timers = (this.timers ??= new Set());
    let fired = false;
    const h = setTimeout(() => {
      fired = true;
      timers.delete(h);
      fire();
    }, delayMs);
    timers.add(h);
    return () => {
      if (fired || !timers.has(h)) return false;
      clearTimeout(h);
      timers.delete(h);
      return true;
    };
  }

  sendAfter<T extends SendTarget>(
    to: T,
    message: MessageFor<T>,
    delayMs: number,
    priority?: MessagePriority,
  ): CancelFunc;
  sendAfter(to: SendTarget, message: unknown, delayMs: number, priority?: MessagePriority): CancelFunc {
    this.allow(MASK_IR, 'sendAfter');
    const prio = priority ?? this.priority;
    if (!isMessagePriority(prio)) throw ErrIncorrect.with(`priority ${String(prio)}`);
    return this.addTimer(delayMs, () => {
      try {
        const ack = this.nodeImpl.router.routeSend(this.pid, to, message, prio, this.important, this);
        this.messagesOut++;
        if (tracedProcesses !== 0) this.traceOut('send', to, message);
        watchDelivery(ack, this.log, 'sendAfter', to);
      } catch (e) {
        this.log.warning('sendAfter to %s failed: %s', String(to), toError(e).message);
      }
    });
  }

  sendWithPriorityAfter(to: SendTarget, message: unknown, priority: MessagePriority, delayMs: number): CancelFunc {
    this.allow(MASK_IR, 'sendWithPriorityAfter');
    if (!isMessagePriority(priority)) throw ErrIncorrect.with(`priority ${String(priority)}`);
    return this.sendAfter(to, message, delayMs, priority);
  }

  sendExit(to: PID, reason: Error): void {
    if (this.droppedAsleep('sendExit')) return;
    this.allow(MASK_IRT, 'sendExit');
    if (!(reason instanceof Error)) throw ErrIncorrect.with('exit reason must be an Error');
    if (!(to instanceof PID)) throw ErrIncorrect.with('exit target must be a PID');
    if (to.equals(this.pid) || to.equals(this.parent) || to.equals(this.leader)) {
      this.log.warning('sending exit to itself, its parent or its leader is not allowed');
      throw ErrNotAllowed.with(`exit to ${to}`);
    }
    this.nodeImpl.router.routeExit(this.pid, to, reason);
    this.messagesOut++;
  }

  sendExitAfter(to: PID, reason: Error, delayMs: number): CancelFunc {
    this.allow(MASK_IR, 'sendExitAfter');
    if (!(reason instanceof Error)) throw ErrIncorrect.with('exit reason must be an Error');
    if (to.equals(this.pid) || to.equals(this.parent) || to.equals(this.leader))
      throw ErrNotAllowed.with(`exit to ${to}`);
    return this.addTimer(delayMs, () => {
      try {
        this.nodeImpl.router.routeExit(this.pid, to, reason);
      } catch (e) {
        this.log.warning('sendExitAfter to %s failed: %s', to.toString(), toError(e).message);
      }
    });
  }

  sendResponse(to: PID, ref: Ref, value: unknown): void {
    if (this.droppedAsleep('sendResponse')) return;
    this.allow(MASK_IR, 'sendResponse');
    this.nodeImpl.router.routeResponse(this.pid, to, ref, true, value, this);
    this.messagesOut++;
    if (tracedProcesses !== 0) this.traceOut('response', to, value);
  }

  sendResponseError(to: PID, ref: Ref, error: Error): void {
    if (this.droppedAsleep('sendResponseError')) return;
    this.allow(MASK_IR, 'sendResponseError');
    this.nodeImpl.router.routeResponse(this.pid, to, ref, false, error, this);
    this.messagesOut++;
    if (tracedProcesses !== 0) this.traceOut('response', to, error);
  }

  sendResponseImportant(to: PID, ref: Ref, value: unknown): Promise<void> {
    return this.respondImportant('sendResponseImportant', to, ref, true, value);
  }

  sendResponseErrorImportant(to: PID, ref: Ref, error: Error): Promise<void> {
    if (!(error instanceof Error))
      return rejected(
        ErrIncorrect.with('sendResponseErrorImportant: the error must be an Error'),
        this.log,
        'sendResponseErrorImportant',
      );
    return this.respondImportant('sendResponseErrorImportant', to, ref, false, error);
  }

  private respondImportant(op: string, to: PID, ref: Ref, ok: boolean, value: unknown): Promise<void> {
    try {
      this.allow(MASK_IR, op);
      if (!(to instanceof PID)) throw ErrIncorrect.with(`${op}: the caller must be a PID`);
      if (!(ref instanceof Ref)) throw ErrIncorrect.with(`${op}: the call's ref must be a Ref`);
      const ack = this.nodeImpl.router.routeResponseImportant(this.pid, to, ref, ok, value, this);
      this.messagesOut++;
      if (tracedProcesses !== 0) this.traceOut('response', to, value);
      return ignorable(ack, this.log, `${op} to ${String(to)}`);
    } catch (e) {
      return rejected(e, this.log, `${op} to ${String(to)}`);
    }
  }

  call<T extends SendTarget, const R extends RequestFor<T>>(
    to: T,
    request: R,
    options?: CallOptions,
  ): Promise<ReplyFor<T, R>>;
  call(to: SendTarget, request: unknown, options?: CallOptions): Promise<unknown> {
    if ((this.st & MASK_IR) === 0) {
      const err =
        this.st === S_SLEEP
          ? sleepingRefusal('call', this.pid)
          : ErrNotAllowed.with(`call is not allowed in state ${processStateString(this.st as ProcessState)}`);
      return rejected(err, this.log, 'call');
    }
    if (to instanceof PID && to.equals(this.pid))
      return rejected(ErrNotAllowed.with('call to itself'), this.log, 'call');
    this.messagesOut++;
    if (tracedProcesses !== 0) this.traceOut('call', to, request);
    return this.nodeImpl.router.makeCall(this, this.pid, to, request, options, MailboxKind.Request);
  }

  /**
   * Inspects a local process (its behaviour's handleInspect), by PID or registered name. Init and
   * running states. Rejects with ErrIncorrect (neither a PID nor a name), ErrProcessUnknown (naming
   * the target), ErrNotAllowed (a remote process, or itself: it could only time out).
   */
  inspect(pid: PID | Atom | string, ...items: string[]): Promise<Record<string, string>> {
    let target: ProcessImpl;
    try {
      this.allow(MASK_IR, 'inspect');
      const n = this.nodeImpl;
      if (pid instanceof PID && pid.node !== n.name)
        throw ErrNotAllowed.with(`inspect of ${pid}: a process of another node`);
      target = resolveLocal(n, pid, 'inspect');
    } catch (e) {
      return rejected(e, this.log, 'inspect');
    }
    // Like a call to its own PID: it could only wait for its own timeout.
    if (target === this) return rejected(ErrNotAllowed.with('inspect of itself'), this.log, 'inspect');
    return this.nodeImpl.router.makeCall(
      this,
      this.pid,
      target.pid,
      items,
      { priority: MessagePriority.Max },
      MailboxKind.Inspect,
    ) as Promise<Record<string, string>>;
  }

  info(): ProcessInfo {
    this.allow(MASK_R, 'info');
    return this.nodeImpl.processInfoOf(this);
  }

  // --- events ---------------------------------------------------------------------------------

  registerEvent<N extends Atom | string>(name: N, options?: EventOptions): Ref<PayloadOf<N>>;
  registerEvent(name: Atom | string, options?: EventOptions): Ref {
    this.allow(MASK_IR, 'registerEvent');
    const token = this.nodeImpl.events.register(name as Atom, this.pid, this, options ?? {});
    (this.eventNames ??= []).push(name as Atom);
    return token;
  }

  unregisterEvent(name: Atom | string): void {
    this.allow(MASK_IR, 'unregisterEvent');
    this.nodeImpl.events.unregister(name as Atom, this.pid);
    const i = this.eventNames?.indexOf(name as Atom) ?? -1;
    if (i >= 0) this.eventNames!.splice(i, 1);
  }

  sendEvent<K extends Ref>(name: Atom | string, token: K, message: PayloadOf<K>, options?: SendOptions): void;
  sendEvent(name: Atom | string, token: Ref, message: unknown, options?: SendOptions): void {
    if (this.droppedAsleep('sendEvent')) return;
    this.allow(MASK_R, 'sendEvent');
    this.nodeImpl.events.publish(name as Atom, token, message, options?.priority ?? this.priority);
    this.messagesOut++;
  }

  events(): Atom[] {
    return this.eventNames === null ? [] : this.eventNames.slice();
  }

  // --- links and monitors ---------------------------------------------------------------------

  link(target: LinkTarget): void {
    this.allow(MASK_IR, 'link');
    this.nodeImpl.relations.link(this, target);
  }
  unlink(target: LinkTarget): void {
    this.allow(MASK_IR, 'unlink');
    this.nodeImpl.relations.unlink(this, target);
  }
  linkPID(target: PID): void {
    this.link(target);
  }
  unlinkPID(target: PID): void {
    this.unlink(target);
  }
  linkProcessID(target: ProcessID): void {
    this.link(target);
  }
  unlinkProcessID(target: ProcessID): void {
    this.unlink(target);
  }
  linkAlias(target: Alias): void {
    this.link(target);
  }
  unlinkAlias(target: Alias): void {
    this.unlink(target);
  }
  relationsConfirmed(): Promise<void> {
    return this.nodeImpl.router.relationsConfirmed(this);
  }
  linkEvent<V>(target: Event<V>): Promise<MessageEvent<V>[]>;
  linkEvent(target: Event): Promise<MessageEvent[]> {
    try {
      this.allow(MASK_IR, 'linkEvent');
      return ignorable(this.nodeImpl.relations.linkEvent(this, target), this.log, 'linkEvent');
    } catch (e) {
      return rejected(e, this.log, 'linkEvent');
    }
  }
  unlinkEvent(target: Event): void {
    this.unlink(target);
  }
  monitor(target: LinkTarget): void {
    this.allow(MASK_IR, 'monitor');
    this.nodeImpl.relations.monitor(this, target);
  }
  demonitor(target: LinkTarget): void {
    this.allow(MASK_IR, 'demonitor');
    this.nodeImpl.relations.demonitor(this, target);
  }
  monitorPID(target: PID): void {
    this.monitor(target);
  }
  demonitorPID(target: PID): void {
    this.demonitor(target);
  }
  monitorProcessID(target: ProcessID): void {
    this.monitor(target);
  }
  demonitorProcessID(target: ProcessID): void {
    this.demonitor(target);
  }
  monitorAlias(target: Alias): void {
    this.monitor(target);
  }
  demonitorAlias(target: Alias): void {
    this.demonitor(target);
  }
  monitorEvent<V>(target: Event<V>): Promise<MessageEvent<V>[]>;
  monitorEvent(target: Event): Promise<MessageEvent[]> {
    try {
      this.allow(MASK_IR, 'monitorEvent');
      return ignorable(this.nodeImpl.relations.monitorEvent(this, target), this.log, 'monitorEvent');
    } catch (e) {
      return rejected(e, this.log, 'monitorEvent');
    }
  }
  demonitorEvent(target: Event): void {
    this.demonitor(target);
  }
  linkNode(node: Atom | string): void {
    this.allow(MASK_IR, 'linkNode');
    this.nodeImpl.relations.linkNode(this, node as Atom, true);
  }
  unlinkNode(node: Atom | string): void {
    this.allow(MASK_IR, 'unlinkNode');
    this.nodeImpl.relations.unlinkNode(this, node as Atom, true);
  }
  monitorNode(node: Atom | string): void {
    this.allow(MASK_IR, 'monitorNode');
    this.nodeImpl.relations.linkNode(this, node as Atom, false);
  }
  demonitorNode(node: Atom | string): void {
    this.allow(MASK_IR, 'demonitorNode');
    this.nodeImpl.relations.unlinkNode(this, node as Atom, false);
  }
  monitorNodes(): Atom[] {
    this.allow(MASK_IR, 'monitorNodes');
    return this.nodeImpl.nodeNotices.subscribe(this);
  }
  demonitorNodes(): void {
    this.allow(MASK_IR, 'demonitorNodes');
    if (!this.nodeImpl.nodeNotices.unsubscribe(this))
      throw ErrTargetUnknown.with(`${this.pid} has not asked for node notices`);
  }

  // --- meta processes (meta_table.ts) ---------------------------------------------------------

  spawnMeta(behavior: MetaBehavior, options?: MetaOptions): Alias {
    return processSpawnMeta(this, behavior, options);
  }
  sendExitMeta(meta: Alias, reason: Error): void {
    processSendExitMeta(this, meta, reason);
  }
  sendExitMetaAfter(meta: Alias, reason: Error, delayMs: number): CancelFunc {
    return processSendExitMetaAfter(this, meta, reason, delayMs);
  }
  inspectMeta(meta: Alias, ...items: string[]): Promise<Record<string, string>> {
    return processInspectMeta(this, meta, items);
  }
  metaInfo(meta: Alias): MetaInfo {
    return processMetaInfo(this, meta);
  }

  // --- low level ------------------------------------------------------------------------------

  mailbox(): ProcessMailbox {
    return this.mb;
  }

  behavior(): ProcessBehavior {
    return this.behaviorObj;
  }

  forward(to: PID, kind: MailboxKind, from: PID, message: unknown, extra: unknown, priority: MessagePriority): void {
    if (to.node !== this.nodeImpl.name) {
      this.nodeImpl.router.forwardRemote(this, to, kind, from, message, extra, priority);
      return;
    }
    const n = this.nodeImpl;
    const p = n.localProcess(to);
    // Mail of another node handed on (a Pool's): the receiver's protocol applies, whoever forwards.
    if ((from.node !== n.name || n.checkLocal) && p !== this && kind <= MailboxKind.Request)
      message = n.guard.check(p, message, kind === MailboxKind.Request, from.node);
    p.deliver(2 - priority, kind, from, message, extra);
    if (kind === MailboxKind.Request || kind === MailboxKind.Inspect) this.nodeImpl.router.transferCall(extra, p);
  }

  /** Queue index of a priority (Normal → main, High → system, Max → urgent). */
  static queueOf(priority: MessagePriority): number {
    return 2 - priority;
  }
}
installCallVariants(ProcessImpl.prototype);

export { S_INIT, S_SLEEP, S_RUNNING, S_WAIT, S_TERMINATED, S_ZOMBEE, S_DETACHED, MASK_R, MASK_IR, MASK_IRT, Q_URGENT };
