// The four-queue mailbox of a process. Records are stored flat in segmented queues so a message
// costs no allocation: a regular message sent to a PID takes two slots (from, message), every
// other record four (kind, from, message, extra), told apart by the first slot (a kind is a
// number, a sender never is). Queues are created on first use so an idle process carries two
// null slots (main, and the holder of the three rarely used queues), not four arrays, and they
// give their memory back as they drain.
//
// A process that goes to sleep with nothing queued lets go of what its last run left (see
// `sleep`): the Ref of the request it answered, and a main queue that never grew (a call target's
// one four-slot record). Otherwise every call to an idle process among millions left ~350 B
// behind in it for the rest of its life, promoted to the old generation. The queue goes to a small
// shared free list that the next mailbox to get mail takes it from, so a call target that goes
// back and forth between idle and one request allocates nothing. This happens once per run, when
// the process sleeps, never per message: a check on every drain cost local send 35-40 %.

import { SegmentedQueue } from '../lib/segmented_queue.js';
import type { MailboxKind, MailboxPeek, MailboxQueue, MailboxRecord, ProcessMailbox } from '../gen/process.js';
import type { PID } from '../gen/pid.js';
import type { Ref } from '../gen/ref.js';
import type { PendingCall } from './calls.js';

type Queue = SegmentedQueue;

/** The Ref stored in a request's `extra` slot (`ref` or `[ref, target]`). */
export function refOfExtra(extra: unknown): Ref {
  return (Array.isArray(extra) ? extra[0] : extra) as Ref;
}

/** Width of a record from its first slot: four for a kind, two for a compact regular message. */
function recordWidth(first: unknown): 2 | 4 {
  return typeof first === 'number' ? 4 : 2;
}

/** Queue ids, in the order they are served. */
export const Q_URGENT = 0;
/** @see Q_URGENT */
export const Q_SYSTEM = 1;
/** @see Q_URGENT */
export const Q_MAIN = 2;
/** @see Q_URGENT */
export const Q_LOG = 3;

/** Queue names by queue id. */
export const QUEUE_NAMES: readonly MailboxQueue[] = ['urgent', 'system', 'main', 'log'];

/** Slots of the main queue's first ring (see queueOf). */
const MAIN_FIRST_SLOTS = 4;

/** Drained never-grown main queues kept for reuse (LIFO: a ping-pong gets its own queue back). */
const FREE_MAX = 256;
const freeQueues: Queue[] = [];

/** @internal Queues on the shared free list (tests check that sleeping processes fill it). */
export function freeQueueCount(): number {
  return freeQueues.length;
}

/** The urgent, system and log queues: most processes never use them, so they share one holder. */
class RareQueues {
  urgent: Queue | null = null;
  system: Queue | null = null;
  log: Queue | null = null;
}

/**
 * The record a mailbox took last (`kind/from/message/extra/queue`), the Ref of the request being
 * handled and the calls its owner holds: everything a call writes into its target while it is
 * handled. They live here, not in the process: a process among millions is in the old
 * generation and a call's Ref, request and pending entry are young, so each write into it was a
 * remembered-set entry in a random old page, which the next scavenge visits (a cache miss each:
 * scavenges of 30 ms at 10^6 live processes). Holders are recycled through a small free list
 * (like main queues), so these writes land in a few long-lived holders instead.
 */
class Taken {
  kind: MailboxKind = 0;
  from: PID | undefined = undefined;
  message: unknown = undefined;
  extra: unknown = undefined;
  queue: MailboxQueue = 'main';
  currentRef: Ref | null = null;
  heldCalls: PendingCall | null = null;

  /** Back to the state of a fresh holder (heldCalls is already null). */
  clear(): void {
    this.kind = 0;
    this.from = undefined;
    this.message = undefined;
    this.extra = undefined;
    this.queue = 'main';
    this.currentRef = null;
  }
}

/** Holders of owners that sleep holding nothing, for reuse (LIFO, like freeQueues). */
const freeTaken: Taken[] = [];

/**
 * @internal A queue and a rare-queue holder that live as long as the module. V8 holds hidden
 * classes weakly: once every mailbox queue has died (all the processes that got mail have ended),
 * a full GC drops the queues' classes, the next queue gets new ones, and every optimized function
 * that handles mail (push, take, the scheduler's drain) deoptimizes and is compiled again, on
 * every such cycle (issue 14: it made a round of 50 K stops three times slower). With one
 * instance of each alive the classes stay.
 */
export const SHAPE_KEEPERS: readonly object[] = [new SegmentedQueue(MAIN_FIRST_SLOTS), new RareQueues(), new Taken()];

/**
 * Mailbox of one process (ProcessImpl extends it: a process is its own mailbox, one object less
 * per process; a meta process has one of its own). `push` returns false when the target queue is
 * at its limit (the caller turns that into ErrProcessMailboxFull or a fallback). `take` moves the
 * next record, urgent first, into the `kind/from/message/extra` fields.
 */
export class Mailbox implements ProcessMailbox {
  // Fields in the order delivery reads them (the process' own fields follow these: see
  // ProcessBase); the rarely used queues last.
  private main: Queue | null = null;
  /** Total records queued over all four queues. */
  size = 0;
  /**
   * The record taken last and the calls held (see Taken): from the shared free list while the
   * owner handles mail or holds a call, back on it when the owner sleeps holding nothing.
   */
  private t: Taken | null = null;

  /**
   * The high-water mark (0 = never): the owner checks `size` against it after each push and
   * resets it to 0 once it warned. A number, not a per-process hook: an idle process pays 8 B.
   */
  highWater = 0;
  /** Records each queue may hold (0 = unbounded). */
  readonly limit: number;
  private rare: RareQueues | null = null;
  /**
   * The owner does not read a regular message's address (see ProcessMailbox.readsAddress): mail
   * sent by name or alias is queued as a plain two-slot record, which the owner's fast path takes.
   */
  private addressUnread = false;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** The holder of the taken record, made (or taken from the free list) on first need. */
  private taken(): Taken {
    let t = this.t;
    if (t === null) {
      t = freeTaken.pop() ?? new Taken();
      this.t = t;
    }
    return t;
  }

  get kind(): MailboxKind {
    const t = this.t;
    return t === null ? 0 : t.kind;
  }
  get from(): PID | undefined {
    const t = this.t;
    return t === null ? undefined : t.from;
  }
  get message(): unknown {
    const t = this.t;
    return t === null ? undefined : t.message;
  }
  get extra(): unknown {
    const t = this.t;
    return t === null ? undefined : t.extra;
  }
  get queue(): MailboxQueue {
    const t = this.t;
    return t === null ? 'main' : t.queue;
  }
  /** Ref of the request (or inspect) taken last, until the next take: the one being handled. */
  get currentRef(): Ref | null {
    const t = this.t;
    return t === null ? null : t.currentRef;
  }
  set currentRef(v: Ref | null) {
    if (v !== null) this.taken().currentRef = v;
    else if (this.t !== null) this.t.currentRef = null;
  }
  /**
   * CallHolder (calls.ts): the calls whose requests the owner holds, kept with the taken record
   * (a call writes its entry here, into a recycled holder, not into the target process).
   */
  get heldCalls(): PendingCall | null {
    const t = this.t;
    return t === null ? null : t.heldCalls;
  }
  set heldCalls(v: PendingCall | null) {
    if (v !== null) this.taken().heldCalls = v;
    else if (this.t !== null) this.t.heldCalls = null;
  }

  /** True while the owner has a taken-record holder (tests: an idle process keeps none). */
  hasTaken(): boolean {
    return this.t !== null;
  }

  private queueOf(q: number): Queue {
    // Main starts at one four-slot record: many processes only ever get one message (a stop, a
    // request) before they end, and a busy queue doubles in place in a few pushes.
    if (q === Q_MAIN) return (this.main ??= this.newQueue(MAIN_FIRST_SLOTS));
    const x = (this.rare ??= new RareQueues());
    switch (q) {
      case Q_URGENT:
        return (x.urgent ??= this.newQueue(8));
      case Q_SYSTEM:
        return (x.system ??= this.newQueue(8));
      default:
        return (x.log ??= this.newQueue(8));
    }
  }

  /** Creates a queue on its first record (tests override it to get tiny segments). */
  protected newQueue(initialSlots: number): Queue {
    if (initialSlots === MAIN_FIRST_SLOTS) {
      const q = freeQueues.pop();
      if (q !== undefined) return q;
    }
    return new SegmentedQueue(initialSlots);
  }

  /**
   * The owner goes to sleep (its run ended) with nothing queued: a main queue that never grew
   * goes to the shared free list and, unless `holding` (the process still holds a call it has
   * not answered: that request is still being handled), the Ref of the last request is let go.
   * See the file comment.
   */
  sleep(holding: boolean): void {
    const t = this.t;
    if (!holding && t !== null && t.heldCalls === null) {
      this.t = null;
      t.clear();
      if (freeTaken.length < FREE_MAX) freeTaken.push(t);
    }
    const m = this.main;
    if (m !== null && m.emptyWithin(MAIN_FIRST_SLOTS)) {
      this.main = null;
      if (freeQueues.length < FREE_MAX) freeQueues.push(m);
    }
  }

  /** True when the main queue exists (tests: an idle process keeps none after a call). */
  hasMainQueue(): boolean {
    return this.main !== null;
  }

  /**
   * Queues a record; false when the queue is full (unless `force`, used for notifications).
   * `from` is never a number: a number in the first slot marks a four-slot record.
   */
  push(q: number, kind: MailboxKind, from: PID, message: unknown, extra: unknown, force = false): boolean {
    const r = q === Q_MAIN ? (this.main ?? this.queueOf(Q_MAIN)) : this.queueOf(q);
    if (this.limit > 0 && r.length >= this.limit && !force) return false;
    if (kind === 0 && (extra === undefined || this.addressUnread)) r.push2(from, message);
    else r.push4(kind, from, message, extra);
    this.size++;
    return true;
  }

  /**
   * push() of a plain message to the PID (kind Regular, no extra): the local send path, with
   * nothing to tell apart.
   */
  pushPlain(q: number, from: PID, message: unknown): boolean {
    const r = q === Q_MAIN ? (this.main ?? this.queueOf(Q_MAIN)) : this.queueOf(q);
    const limit = this.limit;
    if (limit > 0 && r.length >= limit) return false;
    r.push2(from, message);
    this.size++;
    return true;
  }

  private takeFrom(r: Queue, q: number): true {
    const t = this.taken();
    const first = r.peek(0);
    if (typeof first === 'number') {
      t.kind = first as MailboxKind;
      t.from = r.peek(1) as PID;
      t.message = r.peek(2);
      const extra = r.peek(3);
      t.extra = extra;
      t.currentRef = first === 1 || first === 4 ? refOfExtra(extra) : null;
      r.drop4();
    } else {
      t.kind = 0;
      t.from = first as PID;
      t.message = r.shift2();
      t.extra = undefined;
      t.currentRef = null;
    }
    t.queue = QUEUE_NAMES[q]!;
    this.size--;
    return true;
  }

  take(): boolean {
    const size = this.size;
    if (size === 0) return false;
    const m = this.main;
    if (m !== null && m.length === size) {
      // Everything queued is in main (the common case): no other queue to look at, and a plain
      // message to the PID (two slots) is read before any field is written, so the JIT keeps
      // the segment's fields in registers.
      const first = m.peek(0);
      if (typeof first === 'number') return this.takeFrom(m, Q_MAIN);
      const message = m.shift2();
      const t = this.taken();
      t.kind = 0;
      t.from = first as PID;
      t.message = message;
      t.extra = undefined;
      t.currentRef = null;
      t.queue = 'main';
      this.size = size - 1;
      return true;
    }
    const x = this.rare;
    if (x !== null) {
      let r = x.urgent;
      if (r !== null && r.length > 0) return this.takeFrom(r, Q_URGENT);
      r = x.system;
      if (r !== null && r.length > 0) return this.takeFrom(r, Q_SYSTEM);
    }
    if (m !== null && m.length > 0) return this.takeFrom(m, Q_MAIN);
    if (x !== null) {
      const r = x.log;
      if (r !== null && r.length > 0) return this.takeFrom(r, Q_LOG);
    }
    return false;
  }

  peekSender(): PID | undefined {
    const m = this.main;
    const size = this.size;
    if (m === null || m.length !== size || size === 0) return undefined;
    // A number in the first slot marks a four-slot record (a request, event, exit, inspect, or
    // a message sent by name or alias): not for this path.
    const first = m.peek(0);
    return typeof first === 'number' ? undefined : (first as PID);
  }

  takeMessage(): unknown {
    // One call that reads the message and advances the ring (see SegmentedQueue.shift2).
    const message = this.main!.shift2();
    this.size--;
    // A plain message is not a request: nothing of this process is being answered any more.
    const t = this.t;
    if (t !== null) t.currentRef = null;
    return message;
  }

  readsAddress(reads: boolean): void {
    this.addressUnread = !reads;
  }

  takeUrgent(): boolean {
    const r = this.rare === null ? null : this.rare.urgent;
    if (r !== null && r.length > 0) return this.takeFrom(r, Q_URGENT);
    return false;
  }

  /** Releases references held by the last taken record. */
  release(): void {
    const t = this.t;
    if (t === null) return;
    t.from = undefined;
    t.message = undefined;
    t.extra = undefined;
  }

  lengths(): { urgent: number; system: number; main: number; log: number } {
    return {
      urgent: this.rare?.urgent?.length ?? 0,
      system: this.rare?.system?.length ?? 0,
      main: this.main?.length ?? 0,
      log: this.rare?.log?.length ?? 0,
    };
  }

  /**
   * The first `limit` records of each queue (the Observer's mailbox peek): read in place, so
   * nothing is taken, reordered or counted.
   */
  peek(limit: number): MailboxPeek {
    const x = this.rare;
    const one = (r: Queue | null | undefined, queue: MailboxQueue): MailboxRecord[] => {
      const out: MailboxRecord[] = [];
      if (r === null || r === undefined || r.length === 0) return out;
      r.forEachRecord(recordWidth, (a, b, c) => {
        out.push(
          typeof a === 'number'
            ? { queue, kind: a as MailboxKind, from: b as PID, message: c }
            : { queue, kind: 0, from: a as PID, message: b },
        );
        return out.length < limit;
      });
      return out;
    };
    return {
      urgent: one(x?.urgent, 'urgent'),
      system: one(x?.system, 'system'),
      main: one(this.main, 'main'),
      log: one(x?.log, 'log'),
      lengths: this.lengths(),
    };
  }

  /** Visits every queued record of every queue (termination uses it to fail queued requests). */
  forEachRecord(fn: (kind: MailboxKind, from: PID, message: unknown, extra: unknown) => void): void {
    for (const r of this.queues()) {
      if (r === null || r.length === 0) continue;
      r.forEachRecord(recordWidth, (a, b, c, d) => {
        if (typeof a === 'number') fn(a as MailboxKind, b as PID, c, d);
        else fn(0, a as PID, b, undefined);
      });
    }
  }

  /** Ref ids of the requests still queued or being handled (termination fails their calls). */
  liveRequestIds(): Set<number> {
    const ids = new Set<number>();
    if (this.currentRef !== null) ids.add(this.currentRef.id[0]);
    this.forEachRecord((kind, _f, _m, extra) => {
      if (kind === 1 || kind === 4) ids.add(refOfExtra(extra).id[0]);
    });
    return ids;
  }

  /**
   * Segments held over all four queues (tests check that a drained burst leaves at most a
   * couple per queue, whatever its size).
   */
  segmentCount(): number {
    let n = 0;
    for (const r of this.queues()) if (r !== null) n += r.segmentCount();
    return n;
  }

  /** The four queues in service order (null: never used). */
  private queues(): (Queue | null)[] {
    const x = this.rare;
    return x === null ? [null, null, this.main, null] : [x.urgent, x.system, this.main, x.log];
  }

  /** Drops everything; an empty never-grown main queue goes back to the free list (as at sleep). */
  clear(): void {
    // Dropped, the queue of a process that ended awake (killed while its handler awaited) left
    // the free list one short: the next process to get mail made a new, young one, and every old
    // call target it then passed through recorded a remembered-set entry in its own page (a
    // scavenge of 8-20 ms at 5·10^6 live processes, once per caller that ended so).
    const m = this.main;
    if (m !== null && m.emptyWithin(MAIN_FIRST_SLOTS) && freeQueues.length < FREE_MAX) freeQueues.push(m);
    this.main = this.rare = null;
    this.size = 0;
    const t = this.t;
    if (t === null) return;
    // Calls still held (a deferred reply of a normal exit may come from elsewhere) keep theirs.
    if (t.heldCalls !== null) {
      t.currentRef = null;
      this.release();
      return;
    }
    this.t = null;
    t.clear();
    if (freeTaken.length < FREE_MAX) freeTaken.push(t);
  }
}
