// The node's logger registry: function loggers, pino-compatible sinks and process loggers, each
// subscribed to a set of levels. A logger that throws is reported on stderr and never breaks the
// code that logged. A failing logger is reported once with its error; further failures are only
// counted, and the count is printed when it logs successfully again, when it is removed (node stop
// included), and at most once a minute while it keeps failing.

import { ErrNotAllowed, ErrTaken, ErrUnknown, ErrIncorrect, toError } from '../gen/errors.js';
import { describeValue, validateLoggerFilter } from '../gen/validate.js';
import { LogLevel, type LogLevelInput, type LoggerBehavior, type MessageLog } from '../gen/log.js';
import type { PinoLike } from '../gen/node.js';
import type { PID } from '../gen/pid.js';
import { logLevelString } from '../gen/log.js';
import { formatSource, writeToSink } from './default_logger.js';
import { format, stderrSink } from '../lib/host.js';

/** All levels a logger gets when no filter is given. */
export const ALL_LEVELS: readonly LogLevel[] = [
  LogLevel.Trace,
  LogLevel.Debug,
  LogLevel.Info,
  LogLevel.Warning,
  LogLevel.Error,
  LogLevel.Panic,
];

/** While a logger keeps failing, its failure count is printed at most this often (ms). */
export const LOGGER_FAILURE_SUMMARY_INTERVAL = 60_000;

interface Entry {
  name: string;
  behavior: LoggerBehavior;
  levels: LogLevel[];
  pid: PID | null;
  kind: string;
  /** A failure was reported and the logger has not succeeded since. */
  failing: boolean;
  /** Failures since the last line printed about this logger. */
  unreported: number;
  /** When the last line about this logger was printed (Date.now()). */
  reportedAt: number;
  /** Settle handlers for loggers that return a promise (made once per logger, not per record). */
  onOk: () => void;
  onFail: (err: unknown) => void;
}

function isPino(x: unknown): x is PinoLike {
  const o = x as Record<string, unknown>;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.log !== 'function' &&
    typeof o.info === 'function' &&
    typeof o.warn === 'function' &&
    typeof o.error === 'function' &&
    typeof o.fatal === 'function'
  );
}

/** Adapts a pino-compatible logger: level methods called with (fields object, message). */
export function pinoAdapter(p: PinoLike): LoggerBehavior {
  return {
    log(m: MessageLog): void {
      const obj: Record<string, unknown> = { source: formatSource(m.source) };
      for (const f of m.fields) obj[f.name] = f.value;
      const msg = m.args.length > 0 ? format(m.format, ...m.args) : m.format;
      switch (m.level) {
        case LogLevel.Trace:
          p.trace(obj, msg);
          break;
        case LogLevel.Debug:
          p.debug(obj, msg);
          break;
        case LogLevel.Info:
          p.info(obj, msg);
          break;
        case LogLevel.Warning:
          p.warn(obj, msg);
          break;
        case LogLevel.Error:
          p.error(obj, msg);
          break;
        case LogLevel.Panic:
        // Not the level of a record; kept at the loudest, as before.
        case LogLevel.System:
        case LogLevel.Default:
        case LogLevel.Disabled:
        default:
          p.fatal(obj, msg);
      }
    },
  };
}

/** Per-level fan-out of log records. */
export class LoggerRegistry {
  private readonly byName = new Map<string, Entry>();
  private readonly byLevel = new Map<LogLevel, Entry[]>();
  private reporting = false;

  /**
   * Adds a logger for `levels` (empty = Trace..Panic).
   * @throws ErrIncorrect (empty name, a level outside Trace..Panic, no log method), ErrTaken, ErrNotAllowed.
   */
  add(
    name: string,
    logger: LoggerBehavior | PinoLike,
    filter: readonly LogLevelInput[],
    pid: PID | null = null,
    kind?: string,
  ): void {
    if (typeof name !== 'string' || name === '')
      throw ErrIncorrect.with(`logger name ${describeValue(name)} (expected a non-empty string)`);
    const levels = validateLoggerFilter(filter);
    if (this.byName.has(name)) throw ErrTaken.with(`logger "${name}"`);
    if (pid !== null) {
      for (const e of this.byName.values())
        if (e.pid !== null && e.pid.equals(pid)) throw ErrNotAllowed.with(`${pid} is a logger already`);
    }
    const behavior = isPino(logger) ? pinoAdapter(logger) : (logger as LoggerBehavior);
    if (typeof behavior?.log !== 'function') throw ErrIncorrect.with('a logger needs a log(message) method');
    const lv = levels.length > 0 ? levels : ALL_LEVELS;
    const entry: Entry = {
      name,
      behavior,
      levels: [...new Set(lv)],
      pid,
      kind: kind ?? (isPino(logger) ? 'pino' : ((logger as object).constructor?.name ?? 'function')),
      failing: false,
      unreported: 0,
      reportedAt: 0,
      onOk: () => this.succeeded(entry),
      onFail: (err: unknown) => this.failed(entry, err),
    };
    this.byName.set(name, entry);
    // Copy-on-write: a dispatch in progress keeps iterating the list it started with, so a
    // logger that adds or removes loggers from inside log() never makes the others miss a record.
    for (const l of entry.levels) this.byLevel.set(l, [...(this.byLevel.get(l) ?? []), entry]);
  }

  /** Removes a logger and calls its terminate(). ErrUnknown if there is none of that name. */
  delete(name: string): PID | null {
    const e = this.byName.get(name);
    if (e === undefined) throw ErrUnknown.with(`logger "${name}"`);
    this.byName.delete(name);
    for (const l of e.levels)
      this.byLevel.set(
        l,
        this.byLevel.get(l)!.filter((x) => x !== e),
      );
    this.safe(e, () => e.behavior.terminate?.());
    if (e.unreported > 0) this.write(`logger "${e.name}" failed ${e.unreported} more time(s) until it was removed`);
    return e.pid;
  }

  /** Name of the logger backed by `pid`, or undefined. */
  nameOf(pid: PID): string | undefined {
    for (const e of this.byName.values()) if (e.pid !== null && e.pid.equals(pid)) return e.name;
    return undefined;
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  levels(name: string): LogLevel[] {
    const e = this.byName.get(name);
    if (e === undefined) throw ErrUnknown.with(`logger "${name}"`);
    return e.levels.slice();
  }

  info(): { name: string; behavior: string; levels: LogLevel[] }[] {
    return [...this.byName.values()].map((e) => ({ name: e.name, behavior: e.kind, levels: e.levels.slice() }));
  }

  /** Delivers a record: to `only` when set, else to every non-hidden logger of its level. */
  dispatch(record: MessageLog, only: string): void {
    const list = this.byLevel.get(record.level);
    if (list === undefined || list.length === 0) return;
    if (only !== '') {
      for (const e of list) if (e.name === only) this.deliver(e, record);
      return;
    }
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      if (e.name.charCodeAt(0) === 46 /* '.' */) continue;
      if (i > 0 && this.byName.get(e.name) !== e) continue; // removed by an earlier logger of this dispatch
      this.deliver(e, record);
    }
  }

  /** Hands one record to one logger; a throw or a rejection is reported, never propagated. */
  private deliver(e: Entry, record: MessageLog): void {
    let r: unknown;
    try {
      r = e.behavior.log(record);
    } catch (err) {
      this.failed(e, err);
      return;
    }
    if (r !== undefined && r !== null && typeof (r as { then?: unknown }).then === 'function') {
      try {
        (r as PromiseLike<unknown>).then(e.onOk, e.onFail);
      } catch (err) {
        this.failed(e, err);
      }
      return;
    }
    if (e.failing) this.succeeded(e);
  }

  /** First failure: printed with its error. Later ones: counted (see the file comment). */
  private failed(e: Entry, err: unknown): void {
    if (!e.failing) {
      e.failing = true;
      e.unreported = 0;
      e.reportedAt = Date.now();
      this.write(
        `logger "${e.name}" failed (further failures are counted until it logs successfully again): ${err instanceof Error ? (err.stack ?? err.message) : toError(err).message}`,
      );
      return;
    }
    e.unreported++;
    const now = Date.now();
    if (now - e.reportedAt >= LOGGER_FAILURE_SUMMARY_INTERVAL) {
      e.reportedAt = now;
      this.write(
        `logger "${e.name}" is still failing: ${e.unreported} more failure(s), the last: ${toError(err).message}`,
      );
      e.unreported = 0;
    }
  }

  private succeeded(e: Entry): void {
    if (!e.failing) return;
    e.failing = false;
    if (e.unreported > 0)
      this.write(`logger "${e.name}" failed ${e.unreported} more time(s), then logged successfully again`);
    e.unreported = 0;
  }

  /** Terminates and removes every logger (node stop). */
  terminateAll(): void {
    for (const name of [...this.byName.keys()]) this.delete(name);
  }

  /** Runs a logger's terminate; a throw or rejection is printed. */
  private safe(e: Entry, fn: () => unknown): void {
    const report = (err: unknown): void =>
      this.write(
        `logger "${e.name}" failed in terminate: ${err instanceof Error ? (err.stack ?? err.message) : toError(err).message}`,
      );
    try {
      const r = fn() as { then?: unknown } | undefined;
      if (r !== undefined && r !== null && typeof r.then === 'function')
        (r as Promise<unknown>).then(undefined, report);
    } catch (err) {
      report(err);
    }
  }

  /** One line on stderr (never recursive, never throws). */
  private write(line: string): void {
    if (this.reporting) return;
    this.reporting = true;
    try {
      // Guarded: a closed stderr (EPIPE) silences these lines, never ends the OS process.
      writeToSink(stderrSink(), `ergo-ts: ${line}\n`);
    } finally {
      this.reporting = false;
    }
  }
}

/** Printed name of a level list, for info output. */
export function levelNames(levels: LogLevel[]): string[] {
  return levels.map(logLevelString);
}
