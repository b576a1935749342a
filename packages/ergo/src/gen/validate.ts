// Validators of option values: one function per option, shared by the option path (spawn,
// startNode, supervisor child specs, application specs) and by the matching setter, so an option
// and its setter can never disagree on what is valid. Each throws ErrIncorrect (ErrAtomTooLong for
// an over-long name) with a message naming the option and the bad value. They live in gen/ (not
// in the private engine) because behaviours in act/ reuse them for their own specs; they are not
// re-exported from the package root.

import { ATOM_MAX_BYTES, utf8Length, type Atom } from './atom.js';
import { validateEnvName } from './env.js';
import { ErrAtomTooLong, ErrIncorrect, ErrNotAllowed, type ErgoError } from './errors.js';
import { LogLevel, parseLogLevel } from './log.js';
import type { Compression, ProcessFallback, ProcessOptions } from './options.js';
import { PID } from './pid.js';
import { isMessagePriority, type MessagePriority } from './priority.js';

export { validateEnvName };

/**
 * The refusal of `op` to a sleeping process: its handler has returned, typically a `.then`,
 * `.catch` or timer callback the handler left behind (the common JavaScript trap). It says what
 * happened and what to do instead. ErrNotAllowed (its code is the stable part).
 */
export function sleepingRefusal(op: string, pid: PID): ErgoError {
  return ErrNotAllowed.with(
    `${op} by ${pid} after its handler returned (the process is sleeping): a process acts only inside its handlers, ` +
      'and a .then, .catch or timer callback left running after the handler returned comes too late. ' +
      'Await the work inside the handler (an async handler may await), or send its result to the process itself ' +
      'with this.node.send(this.pid, result) and act on it in handleMessage; for a delay, use sendAfter',
  );
}

/** Longest delay Node's timers honour (2^31-1 ms, about 24.8 days); longer ones fire after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A short printable form of a bad value a user passed, for error messages: strings quoted,
 * numbers as written, objects by their class (`a PID`, `an array of 3`, `an object`), never their
 * contents (ErgoError's `with` shortens a long message, a huge string's included). Never throws.
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'bigint':
      return `${value}n`;
    case 'symbol':
      return 'a symbol';
    case 'function':
      return `function ${(value as { name?: string }).name || '(anonymous)'}`;
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return `an array of ${value.length}`;
      let ctor: string | undefined;
      try {
        ctor = (value as { constructor?: { name?: unknown } }).constructor?.name as string | undefined;
      } catch {
        ctor = undefined;
      }
      return typeof ctor === 'string' && ctor !== '' && ctor !== 'Object' ? `a ${ctor}` : 'an object';
    }
  }
}

/**
 * A name that must fit an Atom: a non-empty string of at most 255 UTF-8 bytes.
 * @throws ErrIncorrect (not a string, or empty), ErrAtomTooLong.
 */
export function validateAtomName(name: unknown, what: string): Atom {
  if (typeof name !== 'string' || name === '')
    throw ErrIncorrect.with(`${what} ${describeValue(name)} (expected a non-empty string)`);
  if (utf8Length(name) > ATOM_MAX_BYTES) throw ErrAtomTooLong.with(`${what} ${describeValue(name)}`);
  return name as Atom;
}

/**
 * A delay or timeout in milliseconds: a finite number in [0 or 1, 2^31-1]. `allowZero` is for the
 * options where 0 means "no limit".
 * @throws ErrIncorrect.
 */
export function validateTimeoutMs(value: unknown, option: string, allowZero: boolean): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < 0 ||
    (value === 0 && !allowZero) ||
    value > MAX_TIMER_MS
  ) {
    throw ErrIncorrect.with(
      `${option} ${describeValue(value)} (milliseconds, ${allowZero ? '0' : 'above 0'} to ${MAX_TIMER_MS})`,
    );
  }
  return value;
}

/** True for a level a node, process or log handle can run at (Trace..Disabled, not Default/System). */
function isConcreteLevel(level: unknown): level is LogLevel {
  return (
    level === LogLevel.Trace ||
    level === LogLevel.Debug ||
    level === LogLevel.Info ||
    level === LogLevel.Warning ||
    level === LogLevel.Error ||
    level === LogLevel.Panic ||
    level === LogLevel.Disabled
  );
}

/** A level name ('info', 'warn', ...) as its value; anything else unchanged (checked after). */
function levelValue(level: unknown): unknown {
  if (typeof level !== 'string') return level;
  return parseLogLevel(level) ?? level;
}

const LEVEL_NAMES = "or a name: 'trace', 'debug', 'info', 'warning'/'warn', 'error', 'panic'/'fatal'";

/**
 * A level to run at: `log.setLevel`, `setLogLevelProcess`. Trace..Disabled; Default and System are
 * refused (Default only means "inherit" in options, see {@link validateLogLevelOption}).
 * @throws ErrIncorrect.
 */
export function validateLogLevel(level: unknown, option = 'log level'): LogLevel {
  const v = levelValue(level);
  if (!isConcreteLevel(v))
    throw ErrIncorrect.with(
      `${option} ${describeValue(level)} (expected LogLevel.Trace..LogLevel.Disabled, ${LEVEL_NAMES}, 'disabled'/'silent')`,
    );
  return v;
}

/**
 * A level given as an option (spawn `logLevel`, application `logLevel`, startNode `log.level`):
 * as {@link validateLogLevel}, plus `LogLevel.Default` (inherit / the default).
 * @throws ErrIncorrect.
 */
export function validateLogLevelOption(level: unknown, option: string): LogLevel {
  const v = levelValue(level);
  if (v === LogLevel.Default) return LogLevel.Default;
  if (!isConcreteLevel(v))
    throw ErrIncorrect.with(
      `${option} ${describeValue(level)} (expected LogLevel.Default or LogLevel.Trace..LogLevel.Disabled, ${LEVEL_NAMES}, 'disabled'/'silent')`,
    );
  return v;
}

/**
 * The levels a logger subscribes to (`loggerAdd`, `loggerAddPID`, startNode `log.loggers[].filter`):
 * each one of Trace, Debug, Info, Warning, Error, Panic. An empty list means all of them.
 * @throws ErrIncorrect.
 */
export function validateLoggerFilter(levels: unknown, option = 'logger filter'): LogLevel[] {
  if (!Array.isArray(levels))
    throw ErrIncorrect.with(`${option} ${describeValue(levels)} (expected an array of log levels)`);
  return levels.map((l: unknown) => {
    const v = levelValue(l);
    if (v === LogLevel.Disabled || !isConcreteLevel(v))
      throw ErrIncorrect.with(
        `${option} level ${describeValue(l)} (expected LogLevel.Trace..LogLevel.Panic ${LEVEL_NAMES})`,
      );
    return v;
  });
}

/**
 * An env given as an option (spawn, startNode, application spec and start options): a plain
 * object or a Map whose keys are valid env names. Returns its entries.
 * @throws ErrIncorrect.
 */
export function validateEnv(env: unknown, option: string): [string, unknown][] {
  let entries: [unknown, unknown][];
  if (env instanceof Map) entries = [...(env as Map<unknown, unknown>).entries()];
  else if (env !== null && typeof env === 'object' && !Array.isArray(env)) entries = Object.entries(env);
  else throw ErrIncorrect.with(`${option} ${describeValue(env)} (expected an object or a Map)`);
  for (const [k] of entries) validateEnvName(k, `${option} name`);
  return entries as [string, unknown][];
}

/** A queue limit: an integer ≥ 0 (0 = unbounded). @throws ErrIncorrect. */
export function validateMailboxSize(size: unknown, option = 'mailboxSize'): number {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    throw ErrIncorrect.with(`${option} ${describeValue(size)} (expected an integer ≥ 0)`);
  return size;
}

/** A send priority (Normal, High, Max). @throws ErrIncorrect. */
export function validatePriority(priority: unknown, option = 'priority'): MessagePriority {
  if (!isMessagePriority(priority))
    throw ErrIncorrect.with(`${option} ${describeValue(priority)} (expected MessagePriority.Normal, High or Max)`);
  return priority;
}

/** A group leader: a PID (plain PID-shaped objects are refused, as for send targets). @throws ErrIncorrect. */
export function validateLeader(leader: unknown, option = 'leader'): PID {
  if (!(leader instanceof PID)) throw ErrIncorrect.with(`${option} ${describeValue(leader)} (expected a PID)`);
  return leader;
}

/** Compression type (`setCompressionType`, `compression.type`). @throws ErrIncorrect. */
export function validateCompressionType(type: unknown, option = 'compression type'): NonNullable<Compression['type']> {
  if (type !== 'gzip' && type !== 'zlib' && type !== 'lzw')
    throw ErrIncorrect.with(`${option} ${describeValue(type)} (expected 'gzip', 'zlib' or 'lzw')`);
  return type;
}

/** Compression level 0 (default), 1 (best speed), 2 (best size). @throws ErrIncorrect. */
export function validateCompressionLevel(
  level: unknown,
  option = 'compression level',
): NonNullable<Compression['level']> {
  if (level !== 0 && level !== 1 && level !== 2)
    throw ErrIncorrect.with(`${option} ${describeValue(level)} (expected 0, 1 or 2)`);
  return level;
}

/** Compression threshold in bytes: an integer ≥ 1024. @throws ErrIncorrect. */
export function validateCompressionThreshold(threshold: unknown, option = 'compression threshold'): number {
  if (typeof threshold !== 'number' || !Number.isSafeInteger(threshold) || threshold < 1024) {
    throw ErrIncorrect.with(`${option} ${describeValue(threshold)} (bytes, an integer ≥ 1024)`);
  }
  return threshold;
}

/** A compression option (spawn `compression`): each field present is checked like its setter. @throws ErrIncorrect. */
export function validateCompression(c: unknown, option = 'compression'): Partial<Compression> {
  if (c === null || typeof c !== 'object' || Array.isArray(c))
    throw ErrIncorrect.with(`${option} ${describeValue(c)} (expected an object)`);
  const o = c as Partial<Compression>;
  if (o.enable !== undefined && typeof o.enable !== 'boolean')
    throw ErrIncorrect.with(`${option}.enable ${describeValue(o.enable)} (expected a boolean)`);
  if (o.type !== undefined) validateCompressionType(o.type, `${option}.type`);
  if (o.level !== undefined) validateCompressionLevel(o.level, `${option}.level`);
  if (o.threshold !== undefined) validateCompressionThreshold(o.threshold, `${option}.threshold`);
  return o;
}

/**
 * A fallback (spawn `fallback`, cron job `fallback`): an object; when enabled it names the process
 * (an Atom) that receives the overflow; `tag` is a string.
 * @throws ErrIncorrect, ErrAtomTooLong.
 */
export function validateFallback(f: unknown, option = 'fallback'): ProcessFallback {
  if (f === null || typeof f !== 'object' || Array.isArray(f))
    throw ErrIncorrect.with(`${option} ${describeValue(f)} (expected an object)`);
  const o = f as Partial<ProcessFallback>;
  if (o.enable !== undefined && typeof o.enable !== 'boolean')
    throw ErrIncorrect.with(`${option}.enable ${describeValue(o.enable)} (expected a boolean)`);
  if (o.enable === true) validateAtomName(o.name, `${option}.name (the fallback is enabled)`);
  else if (o.name !== undefined && o.name !== '') validateAtomName(o.name, `${option}.name`);
  if (o.tag !== undefined && typeof o.tag !== 'string')
    throw ErrIncorrect.with(`${option}.tag ${describeValue(o.tag)} (expected a string)`);
  return o as ProcessFallback;
}

/** Arguments passed to an init (`args`, `workerArgs`): an array. @throws ErrIncorrect. */
export function validateArgs(args: unknown, option: string): unknown[] {
  if (!Array.isArray(args)) throw ErrIncorrect.with(`${option} ${describeValue(args)} (expected an array)`);
  return args;
}

function validateFlag(v: unknown, option: string): void {
  if (v !== undefined && typeof v !== 'boolean')
    throw ErrIncorrect.with(`${option} ${describeValue(v)} (expected a boolean)`);
}

/**
 * Every field of spawn options (also the `options` of supervisor child specs and application
 * members). Unknown fields are ignored.
 * @throws ErrIncorrect (ErrAtomTooLong for an over-long fallback name).
 */
export function validateProcessOptions(options: unknown, option = 'spawn options'): ProcessOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw ErrIncorrect.with(`${option} ${describeValue(options)} (expected an object)`);
  const o = options as ProcessOptions;
  if (o.mailboxSize !== undefined) validateMailboxSize(o.mailboxSize, 'mailboxSize');
  if (o.mailboxHighWater !== undefined) validateMailboxSize(o.mailboxHighWater, 'mailboxHighWater');
  if (o.leader !== undefined) validateLeader(o.leader, 'leader');
  if (o.env !== undefined) validateEnv(o.env, 'env');
  if (o.sendPriority !== undefined) validatePriority(o.sendPriority, 'sendPriority');
  validateFlag(o.importantDelivery, 'importantDelivery');
  if (o.fallback !== undefined) validateFallback(o.fallback, 'fallback');
  validateFlag(o.linkParent, 'linkParent');
  validateFlag(o.linkChild, 'linkChild');
  if (o.logLevel !== undefined) validateLogLevelOption(o.logLevel, 'logLevel');
  if (o.compression !== undefined) validateCompression(o.compression, 'compression');
  if (o.initTimeout !== undefined) validateTimeoutMs(o.initTimeout, 'initTimeout', true);
  return o;
}
