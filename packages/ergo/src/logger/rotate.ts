// Ergo's rotate logger (ergo.services/logger/rotate): plain lines appended to `<path>/<prefix>.log`;
// the first write after a period boundary moves that file to `<prefix>.<YYYYMMDDHHmm>.log` (or
// `.log.gz`, gzipped), named after the start of the period it holds, and keeps at most `depth`
// of the files it rotated. Records are queued and written in one batch per event-loop turn (as
// Ergo's background writer does), so logging never waits for the disk. An I/O failure (a full
// disk, a deleted or unwritable directory) is reported once on stderr; the records of that batch
// are dropped and later batches try again (a deleted directory is created again).

import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ErrIncorrect, toError } from '../gen/errors.js';
import {
  MessageLogMeta,
  MessageLogNetwork,
  type MessageLogNode,
  MessageLogProcess,
  type LoggerBehavior,
  type MessageLog,
} from '../gen/log.js';
import { describeValue } from '../gen/validate.js';
import { crc32Hex } from '../lib/crc32.js';
import { formatGoLayout } from '../lib/time_format.js';
import { writeToSink } from '../node/default_logger.js';
import { checkLineOptions, fieldsText, levelLabel, messageText, sourceExtras, type LineOptions } from './common.js';

/** The shortest (and default) rotation period, in milliseconds: one minute, as in Ergo. */
export const MIN_ROTATE_PERIOD = 60_000;

/** Options of {@link createRotateLogger} (Ergo's rotate.Options, camelCase, plus a clock). */
export interface RotateLoggerOptions extends LineOptions {
  /**
   * Directory of the log files (default `<directory of the main script>/logs`); a leading `~` is
   * the home directory. Created (mode 0755) when missing.
   */
  path?: string;
  /** File name prefix (default: the main script's name without its extension, else `node`). */
  prefix?: string;
  /** Rotation period in milliseconds (default and minimum {@link MIN_ROTATE_PERIOD}; less is raised to it). */
  period?: number;
  /** Gzip the rotated files (`.log.gz`). */
  compress?: boolean;
  /** How many rotated files to keep (0, the default: all). Counts only files this logger rotated. */
  depth?: number;
  /** The clock (ms since the epoch) deciding rotation; default Date.now. For tests. */
  now?: () => number;
}

/** The rotate logger: a LoggerBehavior plus what its owner may ask of it. */
export interface RotateLogger extends LoggerBehavior {
  /** Writes the queued records now (and rotates first when a period ended). Never throws. */
  flush(): void;
  /** The active file (`<path>/<prefix>.log`). */
  readonly file: string;
  /** Rotated files this logger keeps for `depth`, oldest first (empty when depth is 0: all are kept, none tracked). */
  rotated(): string[];
  /** Writes what is queued and stops: later records are dropped. */
  terminate(): void;
}

function defaultBase(): string {
  const main = process.argv[1];
  return main === undefined || main === '' ? process.cwd() : dirname(resolve(main));
}

function defaultPrefix(): string {
  const main = process.argv[1];
  if (main === undefined || main === '') return 'node';
  const b = basename(main);
  return b.slice(0, b.length - extname(b).length) || 'node';
}

/**
 * Creates Ergo's rotate logger; add it with `node.loggerAdd('rotate', createRotateLogger({...}))`.
 * The directory is created now. Lines are plain text (no colours):
 * `<time> <level> <source>[ name][ behavior]: <message>[ fields [...]]`, the source being the
 * node's CRC32, `<node>-<peer>` (full names) for the network, the PID or the alias. Rotation is
 * checked when a batch is written, so periods without records make no file. `terminate()` (on
 * `loggerDelete` or node stop) writes what is queued.
 * @throws ErrIncorrect for a bad option or a directory that cannot be created.
 */
export function createRotateLogger(options: RotateLoggerOptions = {}): RotateLogger {
  const time = checkLineOptions(options, 'rotate logger');
  const bad = (k: string, v: unknown, want: string): never => {
    throw ErrIncorrect.with(`rotate logger option ${k} ${describeValue(v)} (expected ${want})`);
  };
  if (options.path !== undefined && (typeof options.path !== 'string' || options.path === ''))
    bad('path', options.path, 'a directory');
  if (
    options.prefix !== undefined &&
    (typeof options.prefix !== 'string' || options.prefix === '' || /[/\\]/.test(options.prefix))
  )
    bad('prefix', options.prefix, 'a file name prefix');
  if (options.period !== undefined && (!Number.isFinite(options.period) || options.period <= 0))
    bad('period', options.period, 'milliseconds above 0');
  if (options.depth !== undefined && (!Number.isInteger(options.depth) || options.depth < 0))
    bad('depth', options.depth, 'an integer ≥ 0');
  if (options.now !== undefined && typeof options.now !== 'function') bad('now', options.now, 'a function');

  let dir = options.path ?? join(defaultBase(), 'logs');
  if (dir.startsWith('~')) dir = join(homedir(), dir.slice(1));
  dir = resolve(dir);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw ErrIncorrect.with(`rotate logger path ${dir}: ${toError(e).message}`, e);
  }
  const prefix = options.prefix ?? defaultPrefix();
  const file = join(dir, `${prefix}.log`);
  const period = Math.max(MIN_ROTATE_PERIOD, Math.round(options.period ?? MIN_ROTATE_PERIOD));
  const depth = options.depth ?? 0;
  const suffix = options.compress ? '.log.gz' : '.log';
  const now = options.now ?? Date.now;
  const short = options.shortLevelName === true;
  const kept: string[] = [];
  let switchAt = Math.floor(now() / period) * period + period;
  let queue: string[] = [];
  let scheduled = false;
  let stopped = false;
  let failing = false;
  let dropped = 0;

  const report = (line: string): void => writeToSink(process.stderr, `ergo-ts: rotate logger ${file}: ${line}\n`);

  const source = (m: MessageLog): string => {
    const src = m.source;
    if (src instanceof MessageLogProcess) return src.pid.toString();
    if (src instanceof MessageLogMeta) return src.meta.toString();
    if (src instanceof MessageLogNetwork) return `${src.node}-${src.peer}`;
    return crc32Hex((src as MessageLogNode).node);
  };

  const line = (m: MessageLog): string => {
    const { name, behavior } = sourceExtras(m, options);
    let s = `${time(m.time)} ${levelLabel(m.level, short)} ${source(m)}`;
    if (name !== '') s += ' ' + name;
    if (behavior !== '') s += ' ' + behavior;
    s += `: ${messageText(m)}`;
    if (options.includeFields && m.fields.length > 0) s += ' ' + fieldsText(m.fields);
    return s + '\n';
  };

  /** Moves the active file aside under the name of the period that ended, then prunes. */
  const rotate = (t: number): void => {
    const stamp = formatGoLayout(new Date(switchAt - period), '200601021504');
    // A gap longer than a period: the next boundary follows now, not the old schedule.
    if (switchAt + period <= t) switchAt = Math.floor(t / period) * period;
    switchAt += period;
    if (!existsSync(file)) return;
    const target = join(dir, `${prefix}.${stamp}${suffix}`);
    if (options.compress) {
      writeFileSync(target, gzipSync(readFileSync(file)));
      unlinkSync(file);
    } else {
      renameSync(file, target);
    }
    if (depth > 0) {
      kept.push(target);
      while (kept.length > depth) rmSync(kept.shift()!, { force: true });
    }
  };

  const write = (batch: string): void => {
    try {
      appendFileSync(file, batch);
    } catch (e) {
      // The directory was removed: make it again, once per batch.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      appendFileSync(file, batch);
    }
  };

  const flush = (): void => {
    scheduled = false;
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    try {
      const t = now();
      if (t >= switchAt) rotate(t);
      write(batch.join(''));
      if (failing) {
        failing = false;
        report(`writing again (${dropped} record(s) were dropped)`);
        dropped = 0;
      }
    } catch (e) {
      dropped += batch.length;
      if (!failing) {
        failing = true;
        report(`cannot write (records are dropped until it can): ${toError(e).message}`);
      }
    }
  };

  return {
    file,
    flush,
    rotated: () => kept.slice(),
    log(m: MessageLog): void {
      if (stopped) return;
      queue.push(line(m));
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    terminate(): void {
      if (stopped) return;
      flush();
      stopped = true;
    },
  };
}
