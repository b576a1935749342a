// system_inspect's message tools (ergo-ts extensions of the inspector protocol, for another
// node's Observer): the mailbox peek — the first records of each queue of a local process, as
// text, nothing taken — and the message trace, which runs here, next to the traced process: a
// trace process per (traced PID, asking process) keeps at most `rate` records a second (the rest
// only counted), sends what it kept to the asking process every TRACE_FLUSH ms, and ends by
// itself (count, time, the process ending), when asked to stop, or when the asking process goes
// (it monitors it). A node whose messages hold secrets refuses both (`security.inspectMessages`).

import { Actor, type HandlerResult } from '../../act/actor.js';
import type { Node } from '../../gen/node.js';
import { TerminateReasonNormal } from '../../gen/errors.js';
import * as V from '../../gen/inspect_v2.js';
import { MessageDownPID } from '../../gen/messages.js';
import type { PID } from '../../gen/pid.js';
import type { MailboxRecord } from '../../gen/process.js';
import { messageText } from './message_text.js';
import { KIND_NAMES, MessageTrace, TRACE_COUNT, TRACE_RATE, TRACE_SECONDS, type TraceLimits } from './message_trace.js';

/** Default and largest records a peek shows per queue. */
export const PEEK_LIMIT = { default: 20, max: 100 };

/** Milliseconds between two sends of a trace's records to the process that asked for it. */
export const TRACE_FLUSH = 250;

/** The refusal of a node that hides message contents. */
export const HIDDEN_MESSAGES = 'this node does not show message contents (security.inspectMessages: false)';

/** A limit asked for: the default when absent (0), else within 1..max. */
function bounded(v: unknown, range: { default: number; max: number }): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) return range.default;
  return Math.min(n, range.max);
}

/** Answers a mailbox peek of a local process (its `error` says why not; refused unless `show`). */
export function mailboxPeek(node: Node, r: V.RequestInspectMailboxPeek, show: boolean): V.ResponseInspectMailboxPeek {
  if (!show) return new V.ResponseInspectMailboxPeek({ error: new Error(HIDDEN_MESSAGES) });
  try {
    const view = node.processMailbox(r.pid, bounded(r.limit, PEEK_LIMIT));
    const rows = (queue: MailboxRecord[]): V.InspectMailboxRecord[] =>
      queue.map((m) => ({
        kind: KIND_NAMES[m.kind] ?? String(m.kind),
        from: String(m.from),
        text: messageText(m.message),
      }));
    const l = view.lengths;
    return new V.ResponseInspectMailboxPeek({
      urgent: rows(view.urgent),
      system: rows(view.system),
      main: rows(view.main),
      log: rows(view.log),
      lengths: [l.urgent, l.system, l.main, l.log],
    });
  } catch (e) {
    return new V.ResponseInspectMailboxPeek({ error: e instanceof Error ? e : new Error(String(e)) });
  }
}

/** The limits of a trace request, each within its bounds. */
export function traceLimits(r: V.RequestInspectMessageTrace): TraceLimits {
  return {
    rate: bounded(r.rate, TRACE_RATE),
    count: bounded(r.count, TRACE_COUNT),
    seconds: bounded(r.seconds, TRACE_SECONDS),
  };
}

/** Asks a trace process to stop (its last records and its end go to the asking process). */
export class TraceStop {}
class TraceFlush {}
const FLUSH = new TraceFlush();

/**
 * The trace of one process for one asking process (spawned by system_inspect, which keeps its
 * PID by traced and asking PID): args (traced PID, limits, asking PID). Its handleInspect reports the
 * records kept and dropped.
 */
export class TraceInspector extends Actor {
  #trace!: MessageTrace;
  #to!: PID;

  override init(pid: PID, limits: TraceLimits, to: PID): void {
    this.#to = to;
    this.#trace = new MessageTrace(pid, limits);
    // Throws for a PID that is not a live local process: the spawn fails, system_inspect says why.
    this.#trace.cancel = this.node.traceProcess(pid, this.#trace);
    this.monitorPID(to);
    this.sendAfter(this.pid, FLUSH, TRACE_FLUSH);
  }

  override handleMessage(_from: PID, message: unknown): HandlerResult {
    if (message instanceof MessageDownPID) {
      if (!message.pid.equals(this.#to)) return undefined;
      // Nobody is left to send to.
      this.#trace.stop('closed');
      return TerminateReasonNormal;
    }
    if (message instanceof TraceStop) this.#trace.stop('stopped');
    else if (message !== FLUSH) return undefined;
    return this.#flush() ? TerminateReasonNormal : undefined;
  }

  override handleInspect(): Record<string, string> {
    return {
      pid: String(this.#trace.pid),
      to: String(this.#to),
      kept: String(this.#trace.kept),
      dropped: String(this.#trace.dropped),
    };
  }

  override terminate(): void {
    this.#trace.stop('closed');
  }

  /** Sends what was kept since the last flush (and the end, once ended); true once it ended. */
  #flush(): boolean {
    const t = this.#trace;
    const done = t.expired(Date.now());
    const records = t.drain();
    if (records.length > 0 || done) {
      const message = new V.MessageInspectTrace({
        node: this.node.name,
        pid: t.pid,
        records,
        kept: t.kept,
        dropped: t.dropped,
        end: done ? (t.end ?? '') : '',
        reason: t.reason,
      });
      try {
        this.send(this.#to, message);
      } catch {
        // the asking node is gone: its down message ends this trace
      }
    }
    if (!done) this.sendAfter(this.pid, FLUSH, TRACE_FLUSH);
    return done;
  }
}
