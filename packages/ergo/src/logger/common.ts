// What the colored and rotate loggers share: level labels (Ergo's `[info]` or short `[INF]`),
// the plain source text, the fields text and the check of the common options.

import { format } from '../lib/host.js';
import { ErrIncorrect } from '../gen/errors.js';
import {
  LogLevel,
  logLevelString,
  MessageLogMeta,
  MessageLogNetwork,
  MessageLogProcess,
  type LogField,
  type MessageLog,
} from '../gen/log.js';
import { describeValue } from '../gen/validate.js';
import { fieldValueText } from '../node/default_logger.js';
import { timeFormatter, type TimeFormat } from '../lib/time_format.js';

/** Options both loggers take (Ergo's colored.Options / rotate.Options fields of the same names). */
export interface LineOptions {
  /** How times print (default `'unix-ns'`, as Ergo with no TimeFormat); see {@link TimeFormat}. */
  timeFormat?: TimeFormat;
  /** Adds the behaviour of a process or meta process after its source. */
  includeBehavior?: boolean;
  /** Adds the registered name of a process after its PID. */
  includeName?: boolean;
  /** Adds the record's structured fields. */
  includeFields?: boolean;
  /** `[TRC] [DBG] [INF] [WRN] [ERR] [PNC]` instead of `[trace] [debug] [info] [warning] [error] [panic]`. */
  shortLevelName?: boolean;
}

const SHORT: Record<number, string> = {
  [LogLevel.Trace]: 'TRC',
  [LogLevel.Debug]: 'DBG',
  [LogLevel.Info]: 'INF',
  [LogLevel.Warning]: 'WRN',
  [LogLevel.Error]: 'ERR',
  [LogLevel.Panic]: 'PNC',
};

/** `[info]` or, short, `[INF]`. */
export function levelLabel(level: LogLevel, short: boolean): string {
  return `[${short ? (SHORT[level] ?? logLevelString(level)) : logLevelString(level)}]`;
}

/** The record's message (printf-style, Node's util.format rules). */
export function messageText(m: MessageLog, args: readonly unknown[] = m.args): string {
  return args.length > 0 ? format(m.format, ...args) : m.format;
}

/** `fields [order:42 step:pay]`. */
export function fieldsText(fields: readonly LogField[]): string {
  return `fields [${fields.map((f) => `${f.name}:${fieldValueText(f.value)}`).join(' ')}]`;
}

/** ` 'name'` and ` Behavior` suffixes of a source, as the options ask. */
export function sourceExtras(m: MessageLog, o: LineOptions): { name: string; behavior: string } {
  const src = m.source;
  const name = o.includeName && src instanceof MessageLogProcess && src.name !== '' ? `'${src.name}'` : '';
  const behavior =
    o.includeBehavior && (src instanceof MessageLogProcess || src instanceof MessageLogMeta) ? src.behavior : '';
  return { name, behavior };
}

/** True for a network source (printed `<node>-<peer>`). */
export function isNetwork(m: MessageLog): m is MessageLog & { source: MessageLogNetwork } {
  return m.source instanceof MessageLogNetwork;
}

/**
 * Checks the common options and returns the time printer.
 * @throws ErrIncorrect for a time format that is neither a string nor a function, or flags that
 * are not booleans.
 */
export function checkLineOptions(o: LineOptions, what: string): (d: Date) => string {
  if (o === null || typeof o !== 'object') throw ErrIncorrect.with(`${what} options ${describeValue(o)}`);
  for (const k of ['includeBehavior', 'includeName', 'includeFields', 'shortLevelName'] as const) {
    const v = o[k];
    if (v !== undefined && typeof v !== 'boolean')
      throw ErrIncorrect.with(`${what} option ${k} ${describeValue(v)} (expected a boolean)`);
  }
  try {
    return timeFormatter(o.timeFormat);
  } catch {
    throw ErrIncorrect.with(
      `${what} timeFormat ${describeValue(o.timeFormat)} (expected 'unix-ns', 'iso', 'human', a Go layout or a function)`,
    );
  }
}
