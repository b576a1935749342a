// The base of a process of this node (ProcessImpl, process.ts, adds the operations a behaviour
// performs): its fields and state rules, the rarely used state kept out of it (extras, relation
// lists), the run loop the scheduler drives, delivery into its mailbox and tracing. One class of
// the chain Mailbox <- ProcessBase <- ProcessImpl; only ProcessImpl is ever instantiated, so every
// call site stays monomorphic.

import type { Atom } from '../gen/atom.js';
import { ErrProcessTerminated, ErrNotAllowed, TerminateReasonKill } from '../gen/errors.js';
import { LogLevel, MessageLogProcess, type Log } from '../gen/log.js';
import type { Compression, ProcessFallback } from '../gen/options.js';
import type { PID } from '../gen/pid.js';
import { MessagePriority, processStateString, type ProcessState } from '../gen/priority.js';
import {
  MailboxKind,
  Stop,
  type ProcessBehavior,
  type ProcessTracer,
  type SendTarget,
  type TracedSend,
} from '../gen/process.js';
import { sleepingRefusal } from '../gen/validate.js';
import type { Alias } from '../gen/ref.js';
import type { PendingCall } from './calls.js';
import type { HeldRequest } from './remote_requests.js';
import { LogHandle } from './log.js';
import { Mailbox, QUEUE_NAMES } from './mailbox.js';
import { NodeHandle } from './handle.js';
import type { NodeImpl } from './node.js';
import type { ProcessImpl } from './process.js';
import { isThenable } from '../lib/thenable.js';
import {
  MASK_GONE,
  S_DETACHED,
  S_GONE,
  S_INIT,
  S_RUNNING,
  S_SLEEP,
  S_TERMINATED,
  S_WAIT,
  S_ZOMBEE,
} from './process_state.js';
import type { Relation } from './targets.js';

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
  /**
   * When the handler the process awaits began (the scheduler's clock reading of its batch,
   * performance.now() ms; 0 while it awaits none): inspection shows how long it has been busy.
   * -0: a double from the start (a fractional reading later changes no hidden class).
   */
  handlerSince = -0;
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
export let tracedProcesses = 0;

/**
 * The state and engine side of a process: see ProcessImpl (process.ts), its only subclass. The
 * node's registries take a ProcessImpl; `self` is this object seen as one (no runtime cost).
 */
export class ProcessBase extends Mailbox {
  // Fields in the order a call to a cold process reads them (V8 lays in-object fields out in
  // declaration order, after the mailbox's): the state checks, the run queue, the behaviour, the
  // counters and the reply's sender come first, so delivering, running and answering touch the
  // fewest cache lines of an object among millions. The rest follow.
  st: number = S_INIT;
  queued = false;
  /** The node this process belongs to. */
  readonly nodeImpl: NodeImpl;
  behaviorObj!: ProcessBehavior;
  messagesIn = 0;
  messagesOut = 0;
  /** RemoteHolder: requests from other nodes' processes it holds (kept by RemoteRequests). */
  remoteHeld: HeldRequest | null = null;
  /** This process' PID. */
  readonly pid: PID;
  /** The PID of the process that spawned it. */
  readonly parent: PID;
  /**
   * Links and monitors on this process (TargetHost) and of this process (ConsumerHost), made on
   * the first one (see RelationLists); read and written through the accessors below.
   */
  private rl: RelationLists | null = null;
  /**
   * CallOwner: its pending calls (kept by the registry). The list is the count too (waiting for
   * a reply = ownCalls !== null): no counter field. The calls it holds (CallHolder's heldCalls)
   * are kept with its mailbox's taken record (Mailbox.heldCalls), not in this object.
   */
  ownCalls: PendingCall | null = null;
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
  /**
   * Spawn time in ms after the node's start: a small integer, so no boxed number per process
   * (Math.floor makes it one: a difference of two clock readings is a heap double even when whole).
   */
  private readonly startOffset: number;
  /** What most processes never use, made on first use (see ProcessExtras). */
  private x: ProcessExtras | null = null;

  constructor(nodeImpl: NodeImpl, pid: PID, parent: PID, leader: PID, mailboxSize: number, logLevel: LogLevel) {
    super(mailboxSize);
    this.nodeImpl = nodeImpl;
    this.pid = pid;
    this.parent = parent;
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

  /**
   * When the handler the process now awaits began (ms since the epoch), 0 while it awaits none:
   * for inspection (ProcessInfo.handlerStartedAt).
   */
  handlerStartedAt(): number {
    const since = this.x === null ? 0 : this.x.handlerSince;
    return since > 0 && since !== Infinity ? Math.round(performance.timeOrigin + since) : 0;
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
    return (x.handle ??= new NodeHandle(this.nodeImpl, this as unknown as ProcessImpl));
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
  protected droppedAsleep(op: string): boolean {
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
      this.nodeImpl.panic(this as unknown as ProcessImpl, e, 'a handler');
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
        this.nodeImpl.terminate(this as unknown as ProcessImpl, TerminateReasonKill);
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
      this.nodeImpl.terminate(
        this as unknown as ProcessImpl,
        this.st === S_ZOMBEE ? TerminateReasonKill : r instanceof Stop ? r.reason : r,
      );
      return;
    }
    // Anything else a behaviour returns is not a termination reason: carry on.
    this.afterRun(undefined);
  }

  private suspend(t: PromiseLike<unknown>): void {
    const x = this.extras();
    // No clock read here (an async handler per message is a hot path): the reading its batch began with.
    x.handlerSince = this.nodeImpl.scheduler.clock;
    x.onSettled ??= (v: unknown) => {
      x.handlerSince = 0;
      // A terminated or detached process' late result is ignored.
      if ((this.st & MASK_GONE) !== 0) return;
      this.afterRun(v);
    };
    x.onFailed ??= (e: unknown) => {
      x.handlerSince = 0;
      if ((this.st & MASK_GONE) !== 0) return;
      this.nodeImpl.panic(this as unknown as ProcessImpl, e, 'an async handler');
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
    if ((this.st & S_GONE) !== 0) throw this.nodeImpl.errTerminated(this as unknown as ProcessImpl);
    if (!this.push(q, kind, from, message, extra)) {
      this.nodeImpl.router.mailboxFull(this as unknown as ProcessImpl, q, kind, from, message);
      return;
    }
    this.messagesIn++;
    if (tracedProcesses !== 0) this.traceIn(q, kind, from, message);
    if (this.size === this.highWater) this.highWaterReached();
    if (this.st === S_SLEEP && !this.queued) this.nodeImpl.scheduler.enqueue(this);
  }

  /** deliver() of a plain message to the PID (kind Regular, no extra): the local send path. */
  deliverPlain(q: number, from: PID, message: unknown): void {
    if ((this.st & S_GONE) !== 0) throw this.nodeImpl.errTerminated(this as unknown as ProcessImpl);
    if (!this.pushPlain(q, from, message)) {
      this.nodeImpl.router.mailboxFull(this as unknown as ProcessImpl, q, MailboxKind.Regular, from, message);
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

  protected traceOut(kind: TracedSend, to: SendTarget, message: unknown): void {
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
}
