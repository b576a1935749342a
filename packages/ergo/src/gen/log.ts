// Log levels, log records and the logger contracts.

import type { Alias } from './ref.js';
import type { Atom } from './atom.js';
import type { PID } from './pid.js';

/** Log levels with Ergo's values. `Default` means "inherit" (node → parent → process). */
export const LogLevel = {
  System: -100,
  Trace: -2,
  Debug: -1,
  Default: 0,
  Info: 1,
  Warning: 2,
  Error: 3,
  Panic: 4,
  Disabled: 5,
} as const;
/** @see LogLevel */
export type LogLevel = (typeof LogLevel)[keyof typeof LogLevel];

/** Ergo's printed name of a level ("trace", "info", ...). */
export function logLevelString(level: LogLevel): string {
  switch (level) {
    case -100:
      return 'system';
    case -2:
      return 'trace';
    case -1:
      return 'debug';
    case 0:
      return 'default';
    case 1:
      return 'info';
    case 2:
      return 'warning';
    case 3:
      return 'error';
    case 4:
      return 'panic';
    case 5:
      return 'disabled';
  }
  return 'unknown log level';
}

/**
 * A level written by name, as pino and Ergo users write it: Ergo's names (`'warning'`, `'panic'`,
 * `'disabled'`) and pino's (`'warn'`, `'fatal'`, `'silent'`), any letter case at run time.
 */
export type LogLevelName =
  'trace' | 'debug' | 'info' | 'warning' | 'warn' | 'error' | 'panic' | 'fatal' | 'disabled' | 'silent';

/** A level given by value (`LogLevel.Info`) or by name (`'info'`): accepted wherever a level is. */
export type LogLevelInput = LogLevel | LogLevelName;

/** Parses a level name ("info", "WARNING", "warn", "silent", ...) or returns undefined. */
export function parseLogLevel(name: string): LogLevel | undefined {
  switch (name.toLowerCase()) {
    case 'trace':
      return LogLevel.Trace;
    case 'debug':
      return LogLevel.Debug;
    case 'info':
      return LogLevel.Info;
    case 'warning':
    case 'warn':
      return LogLevel.Warning;
    case 'error':
      return LogLevel.Error;
    case 'panic':
    case 'fatal':
      return LogLevel.Panic;
    case 'disabled':
    case 'silent':
      return LogLevel.Disabled;
  }
  return undefined;
}

/**
 * The value of a level given by value or by name (`'info'` → `LogLevel.Info`); `undefined` stays
 * `undefined`. An unknown name is returned as is: the validators of the API refuse it with
 * ErrIncorrect before any code reads the level.
 */
export function toLogLevel<T extends LogLevelInput | undefined>(level: T): T extends undefined ? undefined : LogLevel {
  if (typeof level !== 'string') return level as never;
  return (parseLogLevel(level) ?? level) as never;
}

/** One structured field attached to log records. */
export interface LogField {
  name: string;
  value: unknown;
}

/** Log source: the node itself. */
export class MessageLogNode {
  constructor(
    readonly node: Atom,
    readonly creation: number,
  ) {}
}

/** Log source: a process. */
export class MessageLogProcess {
  constructor(
    readonly node: Atom,
    readonly pid: PID,
    readonly name: Atom,
    readonly behavior: string,
  ) {}
}

/** Log source: a meta process. */
export class MessageLogMeta {
  constructor(
    readonly node: Atom,
    readonly parent: PID,
    readonly meta: Alias,
    readonly behavior: string,
  ) {}
}

/** Log source: a network connection. */
export class MessageLogNetwork {
  constructor(
    readonly node: Atom,
    readonly peer: Atom,
    readonly creation: number,
  ) {}
}

/** Where a log record came from. */
export type LogSource = MessageLogNode | MessageLogProcess | MessageLogMeta | MessageLogNetwork;

/**
 * One log record, as loggers receive it. `format` and `args` are printf-style (Node's
 * `util.format` rules); `fields` are the structured fields in effect when it was logged.
 */
export class MessageLog {
  constructor(
    readonly time: Date,
    readonly level: LogLevel,
    readonly source: LogSource,
    readonly format: string,
    readonly args: readonly unknown[],
    readonly fields: readonly LogField[],
  ) {}
}

/**
 * The logging handle of a node, process or meta process. A record is emitted when its level is
 * at least the handle's level. Methods never throw (a failing logger is reported on stderr).
 */
export interface Log {
  /** Current level of this source. */
  level(): LogLevel;
  /**
   * Changes the level (Trace..Disabled, or its name: `'info'`, `'disabled'`...; `ErrIncorrect` for
   * Default, System, an unknown name or value).
   * Port extension: Trace is accepted here too (Ergo only allows it through options).
   */
  setLevel(level: LogLevelInput): void;
  /** Name of the single logger this source writes to ('' = fan out to all). */
  logger(): string;
  /** Routes this source's records to one logger only ('' restores fan-out). */
  setLogger(name: string): void;
  /** Current structured fields. */
  fields(): LogField[];
  /** Adds fields attached to every later record. */
  addFields(...fields: LogField[]): void;
  /** Removes fields by name. Refused while scopes are pushed: nothing is removed and an error is logged (as in Ergo). */
  deleteFields(...names: string[]): void;
  /** Saves the current fields (a nested scope); returns the depth. */
  pushFields(): number;
  /** Restores the fields saved by the last push; returns the depth. */
  popFields(): number;
  trace(format: string, ...args: unknown[]): void;
  debug(format: string, ...args: unknown[]): void;
  info(format: string, ...args: unknown[]): void;
  warning(format: string, ...args: unknown[]): void;
  error(format: string, ...args: unknown[]): void;
  panic(format: string, ...args: unknown[]): void;
}

/**
 * A function-style logger: called synchronously by whoever logs, so it must not block. Errors it
 * throws are caught and reported; they never reach the process that logged.
 */
export interface LoggerBehavior {
  log(message: MessageLog): void;
  /** Called when the logger is removed or the node stops. */
  terminate?(): void;
}
