// The mailbox of the process under test: the four queues a behaviour's `processRun` takes from.
// The harness puts one record in and runs the behaviour until the mailbox is empty.

import type { PID } from '../gen/pid.js';
import { MailboxKind, type MailboxQueue, type ProcessMailbox } from '../gen/process.js';

interface MailRecord {
  kind: MailboxKind;
  from: PID | undefined;
  message: unknown;
  extra: unknown;
}

/** One FIFO queue: an array with a moving head (no `shift()`). */
class Queue {
  #items: MailRecord[] = [];
  #head = 0;
  push(r: MailRecord): void {
    this.#items.push(r);
  }
  take(): MailRecord | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const r = this.#items[this.#head++];
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    }
    return r;
  }
  get length(): number {
    return this.#items.length - this.#head;
  }
}

const ORDER: readonly MailboxQueue[] = ['urgent', 'system', 'main', 'log'];

/** A {@link ProcessMailbox} fed by the test harness. */
export class TestMailbox implements ProcessMailbox {
  readonly #queues: Record<MailboxQueue, Queue> = {
    urgent: new Queue(),
    system: new Queue(),
    main: new Queue(),
    log: new Queue(),
  };
  kind: MailboxKind = MailboxKind.Regular;
  from: PID | undefined = undefined;
  message: unknown = undefined;
  extra: unknown = undefined;
  queue: MailboxQueue = 'main';

  /** Adds a record to a queue. */
  put(queue: MailboxQueue, kind: MailboxKind, from: PID | undefined, message: unknown, extra: unknown): void {
    this.#queues[queue].push({ kind, from, message, extra });
  }

  take(): boolean {
    for (const q of ORDER) if (this.#takeFrom(q)) return true;
    return false;
  }
  takeUrgent(): boolean {
    return this.#takeFrom('urgent');
  }
  /** No fast path here: `take()` serves every record of the test mailbox. */
  peekSender(): PID | undefined {
    return undefined;
  }
  takeMessage(): unknown {
    throw new Error('TestMailbox.takeMessage: peekSender never offers a record');
  }
  release(): void {
    this.from = undefined;
    this.message = undefined;
    this.extra = undefined;
  }
  get size(): number {
    return this.#queues.urgent.length + this.#queues.system.length + this.#queues.main.length + this.#queues.log.length;
  }
  lengths(): { urgent: number; system: number; main: number; log: number } {
    return {
      urgent: this.#queues.urgent.length,
      system: this.#queues.system.length,
      main: this.#queues.main.length,
      log: this.#queues.log.length,
    };
  }

  #takeFrom(q: MailboxQueue): boolean {
    const r = this.#queues[q].take();
    if (r === undefined) return false;
    this.kind = r.kind;
    this.from = r.from;
    this.message = r.message;
    this.extra = r.extra;
    this.queue = q;
    return true;
  }
}
