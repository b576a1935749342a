// The process page's operator tools, run by the browser's session on the node the Observer runs
// on: the mailbox peek (`do/mailbox_peek`: the first N records of each queue, as text, nothing
// taken) and the live message trace (`do/trace_start`, `do/trace_stop`: `trace` frames with the
// records kept, a `trace_end` frame when it stops). Both show message contents, so each can be
// turned off (`mailboxPeek: false`, `messageTrace: false`); refusals carry a stable `code`.

import { ErrProcessUnknown, type Node, type PID } from 'ergo-ts';

import { messageText } from './message_text.js';
import { CommandError, type Target } from './requests.js';
import { parsePID } from './json.js';
import { KIND_NAMES, MessageTrace, TRACE_COUNT, TRACE_RATE, TRACE_SECONDS, type TraceEnd } from './trace.js';

/** Default and largest records a peek shows per queue. */
export const PEEK_LIMIT = { default: 20, max: 100 };

/** Milliseconds between two drains of the running traces (their frames). */
export const TRACE_FLUSH = 250;

/** Which tools a session may use (the Observer's `mailboxPeek` and `messageTrace` options). */
export interface ToolSwitches {
  mailboxPeek: boolean;
  messageTrace: boolean;
}

/** A refused tool command: the HTTP status, the message and a stable `code` the page can tell. */
export class ToolError extends CommandError {
  constructor(
    status: number,
    readonly code: string,
    message: string,
  ) {
    super(status, message);
  }
}

/** The actions this module answers (the rest go to the observed node's system_inspect). */
export const TOOL_ACTIONS: ReadonlySet<string> = new Set(['mailbox_peek', 'trace_start', 'trace_stop']);

function limitArg(v: unknown, name: string, range: { default: number; max: number }): number {
  if (v === undefined || v === null || v === '') return range.default;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > range.max)
    throw new CommandError(400, `${name}: an integer 1..${range.max}`);
  return n;
}

/** What the core says about a PID it cannot serve, as a ToolError. */
function processError(err: unknown, pid: string): Error {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === ErrProcessUnknown.code) return new ToolError(404, 'process_unknown', `no process ${pid} on this node`);
  return err instanceof Error ? err : new Error(String(err));
}

/** The tools of one session: its traces by PID, drained by the session's timer. */
export class ProcessTools {
  readonly #traces = new Map<string, MessageTrace>();
  /** Replaced traces still to be drained once. */
  #retired: MessageTrace[] = [];

  constructor(
    private readonly node: Node,
    private readonly switches: ToolSwitches,
  ) {}

  /** Traces running (its session's handleInspect reports it). */
  get traces(): number {
    return this.#traces.size;
  }

  /**
   * Runs `action` for the session observing `target`. Returns the answer's data; throws a
   * ToolError (disabled, another node, no such process) or a CommandError (bad input).
   */
  run(action: string, body: Record<string, unknown>, target: Target): unknown {
    const peek = action === 'mailbox_peek';
    if (peek ? !this.switches.mailboxPeek : !this.switches.messageTrace)
      throw peek
        ? new ToolError(
            403,
            'mailbox_peek_disabled',
            'mailbox peek is turned off on this Observer (mailboxPeek: false)',
          )
        : new ToolError(
            403,
            'message_trace_disabled',
            'message trace is turned off on this Observer (messageTrace: false)',
          );
    if (!target.local)
      throw new ToolError(
        400,
        'local_only',
        `${peek ? 'mailbox peek' : 'message trace'} works on the Observer's own node (${this.node.name}), not on ${target.node}`,
      );
    const pid = parsePID(body.pid, target.node, target.creation);
    if (pid === null) throw new CommandError(400, `pid: not a PID of ${target.node} (<CRC.hi.lo>)`);
    if (peek) return this.#peek(pid, limitArg(body.limit, 'limit', PEEK_LIMIT));
    if (action === 'trace_stop') {
      this.#traces.get(String(pid))?.stop('stopped');
      return { pid: String(pid) };
    }
    return this.#start(pid, body);
  }

  #peek(pid: PID, limit: number): unknown {
    let view;
    try {
      view = this.node.processMailbox(pid, limit);
    } catch (err) {
      throw processError(err, String(pid));
    }
    const rows = (queue: typeof view.main) =>
      queue.map((r) => ({
        kind: KIND_NAMES[r.kind] ?? String(r.kind),
        from: String(r.from),
        text: messageText(r.message),
      }));
    return {
      pid: String(pid),
      limit,
      lengths: view.lengths,
      queues: { urgent: rows(view.urgent), system: rows(view.system), main: rows(view.main), log: rows(view.log) },
    };
  }

  #start(pid: PID, body: Record<string, unknown>): unknown {
    const limits = {
      rate: limitArg(body.rate, 'rate', TRACE_RATE),
      count: limitArg(body.count, 'count', TRACE_COUNT),
      seconds: limitArg(body.seconds, 'seconds', TRACE_SECONDS),
    };
    const trace = new MessageTrace(pid, limits);
    try {
      trace.cancel = this.node.traceProcess(pid, trace);
    } catch (err) {
      throw processError(err, String(pid));
    }
    // A new trace of the same process replaces the old one, which the next flush drains and
    // ends ('stopped') before this one's frames.
    const old = this.#traces.get(String(pid));
    if (old !== undefined) {
      old.stop('stopped');
      this.#retired.push(old);
    }
    this.#traces.set(String(pid), trace);
    return { pid: String(pid), ...limits };
  }

  /**
   * Drains every trace into `write` (`trace` frames, then `trace_end` for each that ended) and
   * forgets the ended ones. `ended` hears each end (the session logs it). True while any runs.
   */
  flush(write: (type: string, json: string) => void, ended: (t: MessageTrace) => void): boolean {
    const now = Date.now();
    const all = [...this.#retired, ...this.#traces.values()];
    this.#retired = [];
    for (const t of all) {
      const done = t.expired(now);
      const records = t.drain();
      const pid = String(t.pid);
      if (records.length > 0 || done)
        write('trace', JSON.stringify({ pid, records, kept: t.kept, dropped: t.dropped }));
      if (!done) continue;
      write('trace_end', JSON.stringify({ pid, end: t.end, reason: t.reason, kept: t.kept, dropped: t.dropped }));
      if (this.#traces.get(pid) === t) this.#traces.delete(pid);
      ended(t);
    }
    return this.#traces.size > 0;
  }

  /** Stops every trace (the session ends, or observes another node); the next flush reports them. */
  stopAll(why: TraceEnd): void {
    for (const t of this.#traces.values()) t.stop(why);
  }
}
