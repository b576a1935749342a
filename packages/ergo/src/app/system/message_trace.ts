// The live message trace of one process (Erlang's dbg / recon_trace), as the Observer's process
// page shows it for its own node and, through system_inspect (message_inspect.ts), for another
// ergo-ts node: a ProcessTracer the core calls on the traced process' own path. It keeps at most
// `rate` records a second (the rest are counted as dropped, never rendered), renders each kept
// message as short text at once (the message may change later), and ends by itself after `count`
// records, after `seconds`, when the process ends, or when stopped. Its owner drains the records
// on a timer: the tracer never sends from inside the traced path.

import type { PID } from '../../gen/pid.js';
import type { MailboxKind, MailboxQueue, ProcessTracer, SendTarget, TracedSend } from '../../gen/process.js';

import { messageText } from './message_text.js';

/** Default and largest records a second. */
export const TRACE_RATE = { default: 20, max: 1000 };
/** Default and largest records before the trace stops. */
export const TRACE_COUNT = { default: 200, max: 10_000 };
/** Default and longest seconds before the trace stops. */
export const TRACE_SECONDS = { default: 60, max: 600 };

/** Names of the mailbox kinds (MailboxKind 0..4). */
export const KIND_NAMES = ['message', 'request', 'event', 'exit', 'inspect'] as const;

/** Limits of one trace. */
export interface TraceLimits {
  rate: number;
  count: number;
  seconds: number;
}

/** One traced record as the page gets it. */
export interface TraceRecord {
  /** 1, 2, ... over the records kept. */
  n: number;
  /** Milliseconds since the epoch. */
  at: number;
  dir: 'in' | 'out';
  /** The queue it went to (records received). */
  queue: MailboxQueue | '';
  /** message, request, event, exit (received); send, call, response (sent). */
  kind: string;
  /** The sender (received) or the target (sent), printed. */
  peer: string;
  text: string;
}

/** Why a trace ended. */
export type TraceEnd = 'count' | 'time' | 'stopped' | 'ended' | 'closed';

/** A trace of one process; see the file's comment. */
export class MessageTrace implements ProcessTracer {
  readonly started = Date.now();
  /** Records kept and not drained yet. */
  #pending: TraceRecord[] = [];
  kept = 0;
  dropped = 0;
  #window = 0;
  #inWindow = 0;
  /** Senders of inspect requests not answered yet (their answers are not traced either). */
  readonly #inspectors = new Set<string>();
  /** Why it ended (null while it runs). */
  end: TraceEnd | null = null;
  /** The process' exit reason once it ended. */
  reason = '';
  /** Removes this tracer from the process (set once the core accepted it). */
  cancel: () => void = () => undefined;

  constructor(
    readonly pid: PID,
    readonly limits: TraceLimits,
  ) {}

  received(queue: MailboxQueue, kind: MailboxKind, from: PID, message: unknown): void {
    // The page's own handleInspect polls (its state card) would fill every trace: neither they
    // nor their answers are traced.
    if (kind === 4) {
      this.#inspectors.add(String(from));
      return;
    }
    this.#keep('in', queue, KIND_NAMES[kind] ?? String(kind), from, message);
  }

  sent(kind: TracedSend, to: SendTarget, message: unknown): void {
    if (kind === 'response' && this.#inspectors.size > 0 && this.#inspectors.delete(String(to))) return;
    this.#keep('out', '', kind, to, message);
  }

  ended(reason: Error): void {
    if (this.end !== null) return;
    this.end = 'ended';
    this.reason = reason.message;
  }

  #keep(dir: 'in' | 'out', queue: MailboxQueue | '', kind: string, peer: unknown, message: unknown): void {
    if (this.end !== null) return;
    const now = Date.now();
    if (now - this.#window >= 1000) {
      this.#window = now;
      this.#inWindow = 0;
    }
    if (this.#inWindow >= this.limits.rate) {
      this.dropped++;
      return;
    }
    this.#inWindow++;
    this.#pending.push({ n: ++this.kept, at: now, dir, queue, kind, peer: String(peer), text: messageText(message) });
    if (this.kept >= this.limits.count) this.stop('count');
  }

  /** Ends the trace (no-op once ended) and removes the tracer from the process. */
  stop(why: TraceEnd): void {
    if (this.end === null) this.end = why;
    this.cancel();
  }

  /** Ends it when its time is up; true once it has ended (for any reason). */
  expired(now: number): boolean {
    if (this.end === null && now - this.started >= this.limits.seconds * 1000) this.stop('time');
    return this.end !== null;
  }

  /** The records kept since the last drain. */
  drain(): TraceRecord[] {
    const out = this.#pending;
    this.#pending = [];
    return out;
  }
}
