// The log tail: the inspector's log query publishes every record once, as it happens, and keeps
// none (docs/inspect.md). A ring process per node subscribes to it and keeps the newest records,
// so `log_tail` shows what happened before it was asked. The ring of this node starts with the
// MCP server; the ring of another node starts when first asked for it and ends after a while
// nobody asked (or when that node's log inspector goes away: the next question starts it again).

import {
  Actor,
  type LogLevel,
  MessageInspectLogMeta,
  MessageInspectLogNetwork,
  MessageInspectLogNode,
  MessageInspectLogProcess,
  ProcessID,
  RequestInspectLog,
  SYSTEM_INSPECT,
  TerminateReasonNormal,
  logLevelString,
  type Event,
  type MessageEvent,
  type PID,
  type Ref,
} from 'ergo-ts';

import { responseError, type Target } from './inspect.js';

/** Default number of records a ring keeps. */
export const DEFAULT_LOG_RING = 1000;
/** Milliseconds a ring of another node lives after the last question. */
export const REMOTE_RING_IDLE = 10 * 60_000;

/** One log record as a tool shows it. */
export interface LogRecord {
  /** Sequence number in its ring (for `since`). */
  seq: number;
  /** ISO time. */
  time: string;
  level: string;
  /** `node`, `process`, `meta` or `network`. */
  source: string;
  pid?: string;
  name?: string;
  meta?: string;
  peer?: string;
  message: string;
}

/** A question to a ring: records after `since`, at most `limit`, of `levels` (all when null). */
export class LogTail {
  constructor(
    readonly levels: ReadonlySet<string> | null,
    readonly limit: number,
    readonly since: number,
    /** Milliseconds to wait for a first matching record when there is none yet (0: answer now). */
    readonly waitMs: number,
  ) {}
}

/**
 * A search of a ring (`log_search`): records whose message contains `text` (case-insensitive;
 * '' = any), of `levels` (null = all), from a process whose PID or name is `process` ('' = any),
 * logged within [`from`, `to`] (ms since the epoch; 0 = open), the newest `limit` of them.
 */
export class LogSearch {
  constructor(
    readonly text: string,
    readonly levels: ReadonlySet<string> | null,
    readonly process: string,
    readonly from: number,
    readonly to: number,
    readonly limit: number,
  ) {}
}

/** What a ring answers to a {@link LogSearch}. */
export interface LogSearchAnswer {
  node: string;
  /** Records the ring holds now (the search went over all of them). */
  searched: number;
  /** Records that matched (the answer holds the newest `limit`). */
  matched: number;
  /** Records the ring dropped since it started (older ones cannot be searched). */
  dropped: number;
  records: LogRecord[];
}

/** What a ring answers. */
export interface LogTailAnswer {
  node: string;
  /** The newest sequence number the ring holds (ask again with `since` = this). */
  last: number;
  /** Records the ring dropped (its size is bounded) since it started. */
  dropped: number;
  records: LogRecord[];
}

/** The arguments of a ring. */
export interface LogRingArgs {
  target: Target;
  size: number;
  /** Milliseconds without a question after which the ring ends; 0: never. */
  idle: number;
  timeout: number;
}

const idleTick = Symbol('mcp log ring idle check');

interface Waiter {
  from: PID;
  ref: Ref;
  ask: LogTail;
}

/** Keeps the newest `size` records of one node's log. */
export class LogRing extends Actor {
  #target!: Target;
  #size = DEFAULT_LOG_RING;
  #idle = 0;
  #records: LogRecord[] = [];
  #seq = 0;
  #dropped = 0;
  #asked = Date.now();
  #event: Event | undefined;
  readonly #waiters = new Set<Waiter>();

  override async init(args: LogRingArgs): Promise<void> {
    this.#target = args.target;
    this.#size = args.size;
    this.#idle = args.idle;
    const r = await this.call(
      new ProcessID(SYSTEM_INSPECT, args.target.node),
      new RequestInspectLog({ levels: null }),
      {
        timeout: args.timeout,
      },
    );
    const failed = responseError(r);
    if (failed !== null) throw new Error(`${args.target.node} refused the log request: ${failed}`);
    const event = (r as { event?: Event }).event;
    if (event === undefined) throw new Error(`${args.target.node} answered the log request without an event`);
    this.#event = event;
    await this.monitorEvent(event);
    if (this.#idle > 0) this.sendAfter(this.pid, idleTick, this.#idle);
  }

  override handleEvent(m: MessageEvent): void {
    const record = toRecord(m.message, ++this.#seq);
    if (record === null) {
      this.#seq--;
      return;
    }
    this.#records.push(record);
    if (this.#records.length > this.#size) {
      this.#records.shift();
      this.#dropped++;
    }
    for (const w of this.#waiters) {
      const answer = this.#answer(w.ask);
      if (answer.records.length === 0) continue;
      this.#waiters.delete(w);
      this.sendResponse(w.from, w.ref, answer);
    }
  }

  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    if (request instanceof LogSearch) {
      this.#asked = Date.now();
      return this.#search(request);
    }
    if (!(request instanceof LogTail)) return null;
    this.#asked = Date.now();
    const answer = this.#answer(request);
    if (answer.records.length > 0 || request.waitMs <= 0) return answer;
    const w: Waiter = { from, ref, ask: request };
    this.#waiters.add(w);
    this.sendAfter(this.pid, w, request.waitMs);
    return undefined; // answered by handleEvent or when the wait is over
  }

  override handleMessage(_from: PID, m: unknown): Error | undefined {
    if (m === idleTick) {
      const quiet = Date.now() - this.#asked;
      if (quiet >= this.#idle && this.#waiters.size === 0) return TerminateReasonNormal;
      this.sendAfter(this.pid, idleTick, Math.max(1000, this.#idle - quiet));
      return undefined;
    }
    if (typeof m === 'object' && m !== null && this.#waiters.has(m as Waiter)) {
      const w = m as Waiter;
      this.#waiters.delete(w);
      this.sendResponse(w.from, w.ref, this.#answer(w.ask));
      return undefined;
    }
    // The log inspector went away (MessageDownEvent: the node stopped or disconnected): end, so
    // the next question subscribes again.
    return TerminateReasonNormal;
  }

  override handleInspect(): Record<string, string> {
    return {
      node: this.#target.node,
      records: String(this.#records.length),
      dropped: String(this.#dropped),
      event: String(this.#event ?? ''),
    };
  }

  #search(q: LogSearch): LogSearchAnswer {
    const text = q.text.toLowerCase();
    const matches = (r: LogRecord): boolean => {
      if (q.levels !== null && !q.levels.has(r.level)) return false;
      if (q.process !== '' && r.pid !== q.process && r.name !== q.process) return false;
      if (q.from > 0 || q.to > 0) {
        const at = Date.parse(r.time);
        if ((q.from > 0 && at < q.from) || (q.to > 0 && at > q.to)) return false;
      }
      return text === '' || r.message.toLowerCase().includes(text);
    };
    const out: LogRecord[] = [];
    let matched = 0;
    for (let i = this.#records.length - 1; i >= 0; i--) {
      const r = this.#records[i]!;
      if (!matches(r)) continue;
      matched++;
      if (out.length < q.limit) out.push(r);
    }
    out.reverse();
    return { node: this.#target.node, searched: this.#records.length, matched, dropped: this.#dropped, records: out };
  }

  #answer(ask: LogTail): LogTailAnswer {
    const out: LogRecord[] = [];
    // Newest first while collecting, so `limit` keeps the latest; shown oldest first.
    for (let i = this.#records.length - 1; i >= 0 && out.length < ask.limit; i--) {
      const r = this.#records[i]!;
      if (r.seq <= ask.since) break;
      if (ask.levels === null || ask.levels.has(r.level)) out.push(r);
    }
    out.reverse();
    return { node: this.#target.node, last: this.#seq, dropped: this.#dropped, records: out };
  }
}

function time(ts: number | bigint): string {
  const ms = typeof ts === 'bigint' ? Number(ts / 1_000_000n) : Math.floor(ts / 1e6);
  return new Date(ms).toISOString();
}

function level(l: LogLevel): string {
  return logLevelString(l);
}

/** A published log message as a record; null for anything else. */
function toRecord(m: unknown, seq: number): LogRecord | null {
  if (m instanceof MessageInspectLogProcess)
    return {
      seq,
      time: time(m.timestamp),
      level: level(m.level),
      source: 'process',
      pid: String(m.pid),
      ...(m.name === '' ? {} : { name: m.name }),
      message: m.message,
    };
  if (m instanceof MessageInspectLogMeta)
    return {
      seq,
      time: time(m.timestamp),
      level: level(m.level),
      source: 'meta',
      pid: String(m.parent),
      meta: String(m.meta),
      message: m.message,
    };
  if (m instanceof MessageInspectLogNetwork)
    return { seq, time: time(m.timestamp), level: level(m.level), source: 'network', peer: m.peer, message: m.message };
  if (m instanceof MessageInspectLogNode)
    return { seq, time: time(m.timestamp), level: level(m.level), source: 'node', message: m.message };
  return null;
}
