// The four-queue mailbox of a process. Records are stored flat in rings (kind, from, message,
// extra) so a message costs no allocation; queues are created on first use so an idle process
// carries four null slots, not four arrays.

import { Ring } from '../lib/ring.js';
import type { MailboxKind, MailboxQueue, ProcessMailbox } from '../gen/process.js';
import type { PID } from '../gen/pid.js';
import type { Ref } from '../gen/ref.js';

/** The Ref stored in a request's `extra` slot (`ref` or `[ref, target]`). */
export function refOfExtra(extra: unknown): Ref {
  return (Array.isArray(extra) ? extra[0] : extra) as Ref;
}

/** Queue ids, in the order they are served. */
export const Q_URGENT = 0;
/** @see Q_URGENT */
export const Q_SYSTEM = 1;
/** @see Q_URGENT */
export const Q_MAIN = 2;
/** @see Q_URGENT */
export const Q_LOG = 3;

const QUEUE_NAMES: readonly MailboxQueue[] = ['urgent', 'system', 'main', 'log'];

/**
 * Mailbox of one process. `push` returns false when the target queue is at its limit (the
 * caller turns that into ErrProcessMailboxFull or a fallback). `take` moves the next record,
 * urgent first, into the `kind/from/message/extra` fields.
 */
export class Mailbox implements ProcessMailbox {
  private urgent: Ring | null = null;
  private system: Ring | null = null;
  private main: Ring | null = null;
  private log: Ring | null = null;
  /** Total records queued over all four queues. */
  size = 0;

  kind: MailboxKind = 0;
  from: PID | undefined = undefined;
  message: unknown = undefined;
  extra: unknown = undefined;
  queue: MailboxQueue = 'main';
  /** Ref of the request (or inspect) taken last, until the next take: the one being handled. */
  currentRef: Ref | null = null;

  constructor(readonly limit: number) {}

  private ring(q: number): Ring {
    switch (q) {
      case Q_URGENT:
        return (this.urgent ??= new Ring(4, 2));
      case Q_SYSTEM:
        return (this.system ??= new Ring(4, 2));
      case Q_MAIN:
        return (this.main ??= new Ring(4, 4));
      default:
        return (this.log ??= new Ring(4, 2));
    }
  }

  /** Queues a record; false when the queue is full (unless `force`, used for notifications). */
  push(q: number, kind: MailboxKind, from: PID, message: unknown, extra: unknown, force = false): boolean {
    const r = q === Q_MAIN ? (this.main ??= new Ring(4, 4)) : this.ring(q);
    if (this.limit > 0 && r.length >= this.limit && !force) return false;
    r.push4(kind, from, message, extra);
    this.size++;
    return true;
  }

  private takeFrom(r: Ring, q: number): true {
    this.kind = r.peek(0) as MailboxKind;
    this.from = r.peek(1) as PID;
    this.message = r.peek(2);
    this.extra = r.peek(3);
    this.queue = QUEUE_NAMES[q]!;
    this.currentRef = this.kind === 1 || this.kind === 4 ? refOfExtra(this.extra) : null;
    r.drop();
    this.size--;
    return true;
  }

  take(): boolean {
    if (this.size === 0) return false;
    let r = this.urgent;
    if (r !== null && r.length > 0) return this.takeFrom(r, Q_URGENT);
    r = this.system;
    if (r !== null && r.length > 0) return this.takeFrom(r, Q_SYSTEM);
    r = this.main;
    if (r !== null && r.length > 0) return this.takeFrom(r, Q_MAIN);
    r = this.log;
    if (r !== null && r.length > 0) return this.takeFrom(r, Q_LOG);
    return false;
  }

  takeUrgent(): boolean {
    const r = this.urgent;
    if (r !== null && r.length > 0) return this.takeFrom(r, Q_URGENT);
    return false;
  }

  /** Releases references held by the last taken record. */
  release(): void {
    this.from = undefined;
    this.message = undefined;
    this.extra = undefined;
  }

  lengths(): { urgent: number; system: number; main: number; log: number } {
    return {
      urgent: this.urgent?.length ?? 0,
      system: this.system?.length ?? 0,
      main: this.main?.length ?? 0,
      log: this.log?.length ?? 0,
    };
  }

  /** Visits every queued record of every queue (termination uses it to fail queued requests). */
  forEachRecord(fn: (kind: MailboxKind, from: PID, message: unknown, extra: unknown) => void): void {
    for (const r of [this.urgent, this.system, this.main, this.log]) {
      if (r !== null && r.length > 0) r.forEach((k, f, m, e) => fn(k as MailboxKind, f as PID, m, e));
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

  /** Drops everything. */
  clear(): void {
    this.currentRef = null;
    this.urgent = this.system = this.main = this.log = null;
    this.size = 0;
    this.release();
  }
}
