// The process page's operator tools, run by the browser's session on the node the Observer runs
// on, or asked of another ergo-ts node's system_inspect (the inspector protocol's ergo-ts
// extensions; a Go node has no such request): the mailbox peek (`do/mailbox_peek`: the first N records of each queue, as text, nothing
// taken) and the live message trace (`do/trace_start`, `do/trace_stop`: `trace` frames with the
// records kept, a `trace_end` frame when it stops). Both show message contents, so each can be
// turned off (`mailboxPeek: false`, `messageTrace: false`); refusals carry a stable `code`. A node
// that hides message contents (`security.inspectMessages: false`) refuses them on itself as its
// system_inspect refuses them to other nodes (`messages_hidden`), the group trace (ops.ts) too.

import {
  ErrProcessUnknown,
  ProcessID,
  SYSTEM_INSPECT,
  KIND_NAMES,
  type MessageInspectTrace,
  MessageTrace,
  PEEK_LIMIT,
  RequestInspectMailboxPeek,
  RequestInspectMessageTrace,
  RequestInspectMessageTraceStop,
  ResponseInspectMailboxPeek,
  TRACE_COUNT,
  TRACE_RATE,
  TRACE_SECONDS,
  messageText,
  type InspectMailboxRecord,
  type Node,
  type PID,
  type TraceEnd,
} from 'ergo-ts';

import { CommandError, type Target } from './requests.js';
import { parsePID } from './json.js';

/** Which tools a session may use (the Observer's `mailboxPeek` and `messageTrace` options). */
export interface ToolSwitches {
  mailboxPeek: boolean;
  messageTrace: boolean;
  /** The Workflows and Dead letters pages' actions: cancel, resume, reset, signal, retry, drop (the Observer's `workflowActions`; default on). */
  workflowActions?: boolean;
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

/** What the session logs of a trace that ended (a MessageTrace here, what another node sent there). */
export interface TraceEnded {
  pid: unknown;
  end: string | null;
  kept: number;
  dropped: number;
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

/** A trace's limits from the page's command. */
function traceLimits(body: Record<string, unknown>): { rate: number; count: number; seconds: number } {
  return {
    rate: limitArg(body.rate, 'rate', TRACE_RATE),
    count: limitArg(body.count, 'count', TRACE_COUNT),
    seconds: limitArg(body.seconds, 'seconds', TRACE_SECONDS),
  };
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
  /**
   * Traces running on other ergo-ts nodes (their system_inspect sends the records): PID → node
   * and how many were started and have not ended (a new trace of a PID replaces the old one, whose
   * end comes after the new one started).
   */
  readonly #remote = new Map<string, { node: string; running: number; pid: PID }>();
  /** Whether this node shows message contents (`security.inspectMessages`), once its system_inspect said. */
  #shown: boolean | undefined;

  constructor(
    private readonly node: Node,
    private readonly switches: ToolSwitches,
  ) {}

  /** True once this node's system_inspect said it shows message contents (see {@link checkShown}). */
  get shown(): boolean {
    return this.#shown === true;
  }

  /**
   * Resolves when this node shows message contents to its own Observer: asked once of its
   * system_inspect (a peek of itself, refused with the node's reason when
   * `security.inspectMessages` is false), as MCP's tools ask it. Rejects with a ToolError:
   * `messages_hidden` (403), or `messages_unknown` (502) when system_inspect cannot be asked (a
   * node without its system application) — a tool that shows contents does not run on a guess.
   */
  async checkShown(timeout: number): Promise<void> {
    if (this.#shown === undefined) {
      let answer: unknown;
      try {
        const inspect = this.node.processPID(SYSTEM_INSPECT);
        answer = await this.node.call(
          new ProcessID(SYSTEM_INSPECT, this.node.name),
          new RequestInspectMailboxPeek({ pid: inspect, limit: 1 }),
          { timeout },
        );
      } catch (err) {
        throw new ToolError(
          502,
          'messages_unknown',
          `${this.node.name}: its system_inspect cannot tell whether message contents may be shown: ${String(err)}`,
        );
      }
      const refused = answer instanceof ResponseInspectMailboxPeek ? answer.error : null;
      this.#shown = !(refused?.message.includes('inspectMessages') ?? false);
    }
    if (!this.#shown)
      throw new ToolError(
        403,
        'messages_hidden',
        `${this.node.name} does not show message contents (security.inspectMessages: false)`,
      );
  }

  /** Whether the Workflows page's actions run (workflows.ts). */
  get workflowActions(): boolean {
    return this.switches.workflowActions !== false;
  }

  /** Traces running, here and on other nodes (its session's handleInspect reports it). */
  get traces(): number {
    return this.#traces.size + this.#remote.size;
  }

  /** A trace of `pid` runs on `node` now (asked through {@link remote}). */
  remoteStarted(pid: PID, node: string): void {
    const key = String(pid);
    const running = this.#remote.get(key);
    this.#remote.set(key, { node, pid, running: running?.node === node ? running.running + 1 : 1 });
  }

  /**
   * Forgets every trace running on another node and returns the stop request of each, for its
   * node's system_inspect: the session observes another node now, so their records would only
   * be dropped (the node ends them itself only at their limit or with the session).
   */
  takeRemote(session: PID): { node: string; request: RequestInspectMessageTraceStop }[] {
    const out = [...this.#remote.values()].map((r) => ({
      node: r.node,
      request: new RequestInspectMessageTraceStop({ pid: r.pid, to: session }),
    }));
    this.#remote.clear();
    return out;
  }

  /**
   * Records of a trace running on another node into `write` (`trace` frames, and `trace_end`
   * when it ended, which `ended` hears too); records of traces this session did not start are
   * dropped.
   */
  remoteRecords(
    m: MessageInspectTrace,
    write: (type: string, json: string) => void,
    ended: (t: TraceEnded) => void,
  ): void {
    const pid = String(m.pid);
    const running = this.#remote.get(pid);
    if (running?.node !== m.node) return;
    const records = (m.records ?? []).map((r) => ({ ...r, at: Number(r.at) }));
    if (records.length > 0 || m.end !== '')
      write('trace', JSON.stringify({ pid, records, kept: m.kept, dropped: m.dropped }));
    if (m.end === '') return;
    write('trace_end', JSON.stringify({ pid, end: m.end, reason: m.reason, kept: m.kept, dropped: m.dropped }));
    if (--running.running === 0) this.#remote.delete(pid);
    ended({ pid: `${pid} on ${m.node}`, end: m.end, kept: m.kept, dropped: m.dropped });
  }

  /**
   * Runs `action` for the session observing `target`. Returns the answer's data; throws a
   * ToolError (disabled, another node, no such process) or a CommandError (bad input).
   */
  run(action: string, body: Record<string, unknown>, target: Target): unknown {
    const pid = this.#allowed(action, body, target);
    const peek = action === 'mailbox_peek';
    if (!target.local)
      throw new ToolError(
        400,
        'local_only',
        `${peek ? 'mailbox peek' : 'message trace'} works on the Observer's own node (${this.node.name}) and other ergo-ts nodes, not on ${target.node}`,
      );
    if (peek) return this.#peek(pid, limitArg(body.limit, 'limit', PEEK_LIMIT));
    if (action === 'trace_stop') {
      this.#traces.get(String(pid))?.stop('stopped');
      return { pid: String(pid) };
    }
    return this.#start(pid, body);
  }

  /**
   * The request to another ergo-ts node's system_inspect that runs `action` there, and how its
   * answer reads as the local tool's (mailbox peek), or the answer itself (trace start / stop,
   * whose records come to `session` as MessageInspectTrace). Throws as {@link run} does.
   */
  remote(
    action: string,
    body: Record<string, unknown>,
    target: Target,
    session: PID,
  ): { request: unknown; answer: (r: unknown) => unknown } {
    const pid = this.#allowed(action, body, target);
    if (action === 'mailbox_peek') {
      const limit = limitArg(body.limit, 'limit', PEEK_LIMIT);
      return {
        request: new RequestInspectMailboxPeek({ pid, limit }),
        answer: (r) => {
          if (!(r instanceof ResponseInspectMailboxPeek))
            throw new CommandError(502, `${target.node} answered the mailbox peek oddly`);
          const [urgent = 0, system = 0, main = 0, log = 0] = r.lengths ?? [];
          const rows = (q: InspectMailboxRecord[] | null) =>
            (q ?? []).map((m) => ({ kind: m.kind, from: m.from, text: m.text }));
          return {
            pid: String(pid),
            limit,
            lengths: { urgent, system, main, log },
            queues: { urgent: rows(r.urgent), system: rows(r.system), main: rows(r.main), log: rows(r.log) },
          };
        },
      };
    }
    if (action === 'trace_stop')
      return {
        request: new RequestInspectMessageTraceStop({ pid, to: session }),
        answer: () => ({ pid: String(pid) }),
      };
    const limits = traceLimits(body);
    return {
      request: new RequestInspectMessageTrace({ pid, to: session, ...limits }),
      answer: () => {
        this.remoteStarted(pid, target.node);
        return { pid: String(pid), ...limits };
      },
    };
  }

  /** Checks the tool's switch and the PID of `target` it names. */
  #allowed(action: string, body: Record<string, unknown>, target: Target): PID {
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
    const pid = parsePID(body.pid, target.node, target.creation);
    if (pid === null) throw new CommandError(400, `pid: not a PID of ${target.node} (<CRC.hi.lo>)`);
    return pid;
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
    const limits = traceLimits(body);
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
