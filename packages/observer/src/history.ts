// History on the node (`observer_history`): from the Observer's start, a bounded ring of the
// node's figures sampled each second — processes, memory, CPU, event loop, and the traffic of
// every connection — and a bounded ring of its recent log records. A page opened now shows the
// last minutes at once: a session that subscribes to the node (or a connection, or the log) of
// the node the Observer runs on asks for them and writes them before the live frames.
// Memory (measured, V8 heap): about 300 bytes a sample plus 85 per connected node, and about 450
// bytes plus the text of a record; the defaults hold about 180 KiB + 50 KiB per connected node,
// and 0.5 MiB of log (docs/observer.md).

import { format } from 'node:util';

import {
  Actor,
  MessageLogMeta,
  MessageLogNetwork,
  MessageLogNode,
  MessageLogProcess,
  type LoggerBehavior,
  type MessageLog,
  type PID,
  type Ref,
} from 'ergo-ts';

import { toJSONValue } from './json.js';
import { acquireRuntime, releaseRuntime, runtimeSample } from './runtime.js';

/** Registered name of the History process. */
export const HISTORY_NAME = 'observer_history';

/** Default seconds of figures kept (ten minutes). */
export const DEFAULT_HISTORY_SECONDS = 600;
/** Default log records kept. */
export const DEFAULT_HISTORY_LOG_RECORDS = 1000;
/** Default milliseconds between two samples. */
export const DEFAULT_HISTORY_INTERVAL = 1000;

/** Name under which the History process logs itself in as a node logger. */
const LOGGER_NAME = 'observer_history';

/** Level names of the log page → the core's levels. */
const LEVELS: Record<string, number> = { trace: -2, debug: -1, info: 1, warning: 2, error: 3, panic: 4 };

/** Arguments of the History process. */
export interface HistoryArgs {
  seconds: number;
  records: number;
  interval: number;
}

/** One sample of the node's figures (CPU in % of one core, delays in ms). */
export interface NodeSample {
  t: number;
  processesTotal: number;
  processesRunning: number;
  memoryUsed: number;
  memoryAlloc: number;
  cpuUser: number;
  cpuSystem: number;
  elu: number;
  delayMean: number;
  delayMax: number;
  /** Connected node → [messages in/s, out/s, bytes in/s, out/s] since the last sample. */
  connections: Record<string, [number, number, number, number]>;
}

/**
 * A session asks (call) for what is kept: `node` answers `{now, since, interval, samples}`,
 * `connection` the same for one remote node (`{t, messagesIn, messagesOut, bytesIn, bytesOut}` per
 * second), `log` `{now, records}` of the given level names, each record with its `seq` (the
 * History numbers them as logged). Samples are those taken after `since` (ms since the epoch; 0:
 * all), records those numbered after `levelSince[level]` (0 or absent: all), so a session sends a
 * page only what it has not sent it yet. The answer is a {@link HistoryAnswer}.
 */
export class HistoryQuery {
  constructor(
    readonly kind: 'node' | 'connection' | 'log',
    readonly node: string = '',
    readonly levels: readonly string[] = [],
    readonly since: number = 0,
    /** For `log`: by level name, the newest record number the stream was sent. */
    readonly levelSince: Readonly<Record<string, number>> = {},
  ) {}
}

/**
 * A search of the kept log records (the Log page's search, `do/log_search`): those whose message
 * contains `text` (case-insensitive; '' = any), of `levels` (level names), from the process whose
 * PID or registered name is `process` ('' = any), logged within [`from`, `to`] (ms since the
 * epoch; 0 = open); the newest `limit`. Answered with a {@link LogSearchAnswer}.
 */
export class LogSearchQuery {
  constructor(
    readonly text: string,
    readonly levels: readonly string[],
    readonly process: string,
    readonly from: number,
    readonly to: number,
    readonly limit: number,
  ) {}
}

/** The History's answer to a {@link LogSearchQuery}: records kept, matched, and the newest `limit` matches (oldest first). */
export interface LogSearchAnswer {
  searched: number;
  matched: number;
  records: Record<string, unknown>[];
}

/**
 * What the History answers: the frame's JSON, and the time of its newest sample (else `since`);
 * for `log`, the number of the newest record kept (every record of the levels asked up to it is
 * in the answer or was sent before).
 */
export class HistoryAnswer {
  constructor(
    readonly json: string,
    readonly last: number,
  ) {}
}

/**
 * What one stream was sent of the History, so that a later subscribe gets only what is new: the
 * newest node sample (ms since the epoch), the newest sample of each connection, the newest log
 * record of each level. Kept by the stream's session; {@link reset} at every `connected` frame
 * (the page starts over then).
 */
export class SentHistory {
  #node = 0;
  readonly #connections = new Map<string, number>();
  #log: Record<string, number> = {};

  /**
   * The query for a subscription of `type` with `args` (the frame it brings: `history`,
   * `connection_history`, `log_history`), asking only for what was not sent; null for the
   * other types.
   */
  query(type: string, args: Record<string, unknown>): { query: HistoryQuery; frame: string } | null {
    if (type === 'node_info') return { query: new HistoryQuery('node', '', [], this.#node), frame: 'history' };
    if (type === 'connection_info' && typeof args.node === 'string') {
      const since = this.#connections.get(args.node) ?? 0;
      return { query: new HistoryQuery('connection', args.node, [], since), frame: 'connection_history' };
    }
    if (type !== 'log') return null;
    const levels = Array.isArray(args.levels)
      ? args.levels.filter((l): l is string => typeof l === 'string')
      : ['debug', 'info', 'warning', 'error', 'panic'];
    return { query: new HistoryQuery('log', '', levels, 0, { ...this.#log }), frame: 'log_history' };
  }

  /** Notes that the answer to `query` (its newest sample or record: `last`) was written. */
  sent(query: HistoryQuery, last: number): void {
    if (query.kind === 'node') this.#node = Math.max(this.#node, last);
    else if (query.kind === 'connection')
      this.#connections.set(query.node, Math.max(this.#connections.get(query.node) ?? 0, last));
    else for (const l of query.levels) this.#log[l] = Math.max(this.#log[l] ?? 0, last);
  }

  reset(): void {
    this.#node = 0;
    this.#connections.clear();
    this.#log = {};
  }
}

/** A fixed-size ring: the newest `size` items, oldest first. */
export class Ring<T> {
  readonly #items: (T | undefined)[];
  #next = 0;
  #count = 0;
  constructor(readonly size: number) {
    this.#items = new Array<T | undefined>(Math.max(0, size));
  }
  push(item: T): void {
    if (this.size === 0) return;
    this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % this.size;
    if (this.#count < this.size) this.#count++;
  }
  get length(): number {
    return this.#count;
  }
  toArray(): T[] {
    const out: T[] = [];
    const start = (this.#next - this.#count + this.size) % Math.max(1, this.size);
    for (let i = 0; i < this.#count; i++) out.push(this.#items[(start + i) % this.size]!);
    return out;
  }
}

const tick = Symbol('observer history tick');

interface Counters {
  mi: number;
  mo: number;
  bi: number;
  bo: number;
}

/**
 * The History process (registered as {@link HISTORY_NAME}); its `handleInspect` reports the
 * samples and records kept and their capacity.
 */
export class History extends Actor {
  #interval = DEFAULT_HISTORY_INTERVAL;
  #samples!: Ring<NodeSample>;
  #records!: Ring<LogEntry>;
  #last: { t: number; user: number; system: number } | null = null;
  readonly #traffic = new Map<string, Counters>();
  #logging = false;

  override init(args: HistoryArgs): void {
    this.#interval = args.interval;
    this.#samples = new Ring(Math.ceil((args.seconds * 1000) / args.interval));
    this.#records = new Ring(args.records);
    acquireRuntime();
    if (args.records > 0) {
      this.node.loggerAdd(
        LOGGER_NAME,
        new HistoryLogger(this.#records),
        'trace',
        'debug',
        'info',
        'warning',
        'error',
        'panic',
      );
      this.#logging = true;
    }
    this.#sample();
    this.sendAfter(this.pid, tick, this.#interval);
  }

  override handleMessage(_from: PID, message: unknown): void {
    if (message !== tick) return;
    this.#sample();
    this.sendAfter(this.pid, tick, this.#interval);
  }

  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    if (request instanceof LogSearchQuery) return this.#search(request);
    if (!(request instanceof HistoryQuery)) return undefined;
    const now = Date.now();
    if (request.kind === 'log') {
      // level → the newest record number the stream has of it
      const wanted = new Map<number, number>();
      for (const l of request.levels) if (LEVELS[l] !== undefined) wanted.set(LEVELS[l], request.levelSince[l] ?? 0);
      const kept = this.#records.toArray();
      const records = kept.filter((r) => r.seq > (wanted.get(r.level) ?? Infinity)).map((r) => r.json);
      return new HistoryAnswer(JSON.stringify({ now, records }), kept[kept.length - 1]?.seq ?? 0);
    }
    const since = request.since;
    const samples = this.#samples.toArray().filter((s) => s.t > since);
    const last = samples.length > 0 ? samples[samples.length - 1]!.t : since;
    if (request.kind === 'connection') {
      const rows = [];
      for (const s of samples) {
        const c = s.connections[request.node];
        if (c !== undefined) rows.push({ t: s.t, messagesIn: c[0], messagesOut: c[1], bytesIn: c[2], bytesOut: c[3] });
      }
      return new HistoryAnswer(
        JSON.stringify({ now, since, interval: this.#interval, node: request.node, samples: rows }),
        last,
      );
    }
    return new HistoryAnswer(JSON.stringify({ now, since, interval: this.#interval, samples }), last);
  }

  #search(q: LogSearchQuery): LogSearchAnswer {
    return searchRecords(this.#records.toArray(), q);
  }

  override handleInspect(): Record<string, string> {
    return {
      samples: String(this.#samples.length),
      samples_max: String(this.#samples.size),
      records: String(this.#records.length),
      records_max: String(this.#records.size),
      interval_ms: String(this.#interval),
    };
  }

  override terminate(): void {
    releaseRuntime();
    if (!this.#logging) return;
    try {
      this.node.loggerDelete(LOGGER_NAME);
    } catch {
      // the node is stopping: its loggers are gone
    }
  }

  #sample(): void {
    const t = Date.now();
    const info = this.node.info();
    const last = this.#last;
    // CPU in % of one core over the interval (the node reports microseconds).
    const ms = last === null ? 0 : t - last.t;
    const cpuUser = ms > 0 ? (info.userTime - last!.user) / (ms * 10) : 0;
    const cpuSystem = ms > 0 ? (info.systemTime - last!.system) / (ms * 10) : 0;
    this.#last = { t, user: info.userTime, system: info.systemTime };
    const r = runtimeSample();
    this.#samples.push({
      t,
      processesTotal: info.processesTotal,
      processesRunning: info.processesRunning,
      memoryUsed: info.memoryUsed,
      memoryAlloc: info.memoryAlloc,
      cpuUser,
      cpuSystem,
      elu: r.elu,
      delayMean: r.delayMean,
      delayMax: r.delayMax,
      connections: this.#connections(ms),
    });
  }

  /** Per-second traffic of every connected node since the last sample. */
  #connections(ms: number): Record<string, [number, number, number, number]> {
    const out: Record<string, [number, number, number, number]> = {};
    let names: string[];
    try {
      names = this.node.network().nodes().map(String);
    } catch {
      return out;
    }
    const seen = new Set<string>();
    for (const name of names) {
      let c: Counters;
      try {
        const i = this.node
          .network()
          .node(name as never)
          .info();
        c = { mi: i.messagesIn, mo: i.messagesOut, bi: i.bytesIn, bo: i.bytesOut };
      } catch {
        continue; // disconnected meanwhile
      }
      seen.add(name);
      const p = this.#traffic.get(name);
      this.#traffic.set(name, c);
      if (p === undefined || ms <= 0) continue;
      const per = 1000 / ms;
      out[name] = [(c.mi - p.mi) * per, (c.mo - p.mo) * per, (c.bi - p.bi) * per, (c.bo - p.bo) * per];
    }
    for (const name of this.#traffic.keys()) if (!seen.has(name)) this.#traffic.delete(name);
    return out;
  }
}

/** A record kept: its level, its number (from 1, as logged), when (ms) and its JSON (which carries the number as `seq`). */
interface LogEntry {
  level: number;
  seq: number;
  at: number;
  json: Record<string, unknown>;
}

/** Records of `q` among `kept` (see LogSearchQuery). */
function searchRecords(kept: readonly LogEntry[], q: LogSearchQuery): LogSearchAnswer {
  const levels = new Set(q.levels.map((l) => LEVELS[l]).filter((l) => l !== undefined));
  const text = q.text.toLowerCase();
  const out: Record<string, unknown>[] = [];
  let matched = 0;
  for (let i = kept.length - 1; i >= 0; i--) {
    const r = kept[i]!;
    if (levels.size > 0 && !levels.has(r.level)) continue;
    if ((q.from > 0 && r.at < q.from) || (q.to > 0 && r.at > q.to)) continue;
    const j = r.json;
    if (q.process !== '' && j.pid !== q.process && j.name !== q.process && j.parent !== q.process) continue;
    if (
      text !== '' &&
      !String(j.message ?? '')
        .toLowerCase()
        .includes(text)
    )
      continue;
    matched++;
    if (out.length < q.limit) out.push(j);
  }
  return { searched: kept.length, matched, records: out.reverse() };
}

/** The node logger that keeps the recent records (the node page lists it by this class name). */
class HistoryLogger implements LoggerBehavior {
  #seq = 0;
  constructor(readonly records: Ring<LogEntry>) {}
  log(m: MessageLog): void {
    this.records.push(logRecord(m, ++this.#seq));
  }
}

/** A log record as the log inspector publishes it (the JSON a `log` frame carries), numbered. */
function logRecord(m: MessageLog, seq: number): LogEntry {
  let message: string;
  try {
    message = format(m.format, ...m.args);
  } catch {
    message = m.format;
  }
  const timestamp = BigInt(m.time.getTime()) * 1_000_000n;
  const s = m.source;
  let record: Record<string, unknown>;
  if (s instanceof MessageLogProcess) record = { node: s.node, name: s.name, pid: s.pid };
  else if (s instanceof MessageLogMeta) record = { node: s.node, parent: s.parent, meta: s.meta };
  else if (s instanceof MessageLogNetwork) record = { node: s.node, peer: s.peer };
  else if (s instanceof MessageLogNode) record = { node: s.node, creation: s.creation };
  else record = {};
  Object.assign(record, { timestamp, level: m.level, message, seq });
  return { level: m.level, seq, at: m.time.getTime(), json: toJSONValue(record) as Record<string, unknown> };
}
