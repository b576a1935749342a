// Ergo's colored console logger (ergo.services/logger/colored): a faint time, a coloured level,
// the source coloured by kind, PIDs and references among the arguments coloured, trace lines all
// faint. Unlike Ergo, which always forces colours on, colours follow what Node users expect:
// NO_COLOR turns them off, FORCE_COLOR on (or off with 0/false), otherwise they are on when the
// output is a terminal. The `color` option decides over all of that.

import {
  LogLevel,
  MessageLogMeta,
  MessageLogNetwork,
  type MessageLogNode,
  MessageLogProcess,
  type LoggerBehavior,
  type MessageLog,
} from '../gen/log.js';
import { ErrIncorrect } from '../gen/errors.js';
import { Event } from '../gen/event.js';
import { PID } from '../gen/pid.js';
import { ProcessID } from '../gen/processid.js';
import { Alias, Ref } from '../gen/ref.js';
import { describeValue } from '../gen/validate.js';
import { crc32Hex } from '../lib/crc32.js';
import { writeToSink } from '../node/default_logger.js';
import { checkLineOptions, fieldsText, levelLabel, messageText, sourceExtras, type LineOptions } from './common.js';

/** Where the colored logger writes: stdout by default. */
export interface ColoredOutput {
  write(chunk: string): unknown;
  /** A terminal (colours on by default); Node's TTY streams have it. */
  isTTY?: boolean;
}

/** Options of {@link createColoredLogger} (Ergo's colored.Options, camelCase, plus output and color). */
export interface ColoredLoggerOptions extends LineOptions {
  /** No banner at creation (Ergo's DisableBanner). */
  disableBanner?: boolean;
  /**
   * Colours on or off. Default: off when `NO_COLOR` is set (not empty); else on when
   * `FORCE_COLOR` is set (off for `0` or `false`); else on when the output is a terminal.
   */
  color?: boolean;
  /** Where lines go (default process.stdout). Its failure is reported once on stderr. */
  output?: ColoredOutput;
  /** The environment the colour defaults read (default process.env; for tests). */
  env?: Record<string, string | undefined>;
}

const ESC = '\x1b[';
const RESET = `${ESC}0m`;
/** SGR codes as fatih/color uses them for each role. */
export const COLORS = {
  faint: '37;2',
  debug: '35',
  warning: '33',
  error: '31;1',
  panic: '37;41;1',
  node: '32',
  pid: '34',
  name: '32',
  meta: '36',
  ref: '36',
} as const;

/** Whether colours are on for `output` under `env` (see {@link ColoredLoggerOptions.color}). */
export function colorsEnabled(
  output: ColoredOutput,
  env: Record<string, string | undefined> = process.env,
  color?: boolean,
): boolean {
  if (color !== undefined) return color;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force.toLowerCase() !== 'false';
  return output.isTTY === true;
}

// An original banner (not Ergo's logo): the name in a 24-bit colour gradient.
const BANNER = ['┌─────────────────────────┐', '│  ergo-ts · actor engine │', '└─────────────────────────┘'];

/**
 * Creates Ergo's colored logger. Add it with `node.loggerAdd('colored', createColoredLogger())`
 * and disable the default logger (`log.defaultLogger.disable`) to avoid duplicate lines. Lines are
 * written synchronously to the output; the logger is meant for people reading a console, not for
 * heavy logging. The banner is printed at creation unless `disableBanner` (also with
 * `shortLevelName`, where Ergo never prints it). A failing output is reported once on stderr and
 * never ends the OS process. `terminate()` does nothing (nothing is buffered).
 * @throws ErrIncorrect for a bad option.
 */
export function createColoredLogger(options: ColoredLoggerOptions = {}): LoggerBehavior {
  const time = checkLineOptions(options, 'colored logger');
  if (options.color !== undefined && typeof options.color !== 'boolean')
    throw ErrIncorrect.with(`colored logger option color ${describeValue(options.color)} (expected a boolean)`);
  const out = options.output ?? process.stdout;
  if (typeof out?.write !== 'function')
    throw ErrIncorrect.with(`colored logger output ${describeValue(out)} (expected a writable stream)`);
  const on = colorsEnabled(out, options.env ?? process.env, options.color);
  const paint = (code: string, s: string): string => (on ? `${ESC}${code}m${s}${RESET}` : s);
  const short = options.shortLevelName === true;

  const label: Record<number, string> = {
    [LogLevel.Debug]: paint(COLORS.debug, levelLabel(LogLevel.Debug, short)),
    [LogLevel.Info]: levelLabel(LogLevel.Info, short),
    [LogLevel.Warning]: paint(COLORS.warning, levelLabel(LogLevel.Warning, short)),
    [LogLevel.Error]: paint(COLORS.error, levelLabel(LogLevel.Error, short)),
    [LogLevel.Panic]: paint(COLORS.panic, levelLabel(LogLevel.Panic, short)),
  };

  const source = (m: MessageLog, color: boolean): string => {
    const c = (code: string, s: string): string => (color ? paint(code, s) : s);
    const src = m.source;
    const { name, behavior } = sourceExtras(m, options);
    const tail = (name !== '' ? ' ' + c(COLORS.name, name) : '') + (behavior !== '' ? ' ' + behavior : '');
    if (src instanceof MessageLogProcess) return c(COLORS.pid, src.pid.toString()) + tail;
    if (src instanceof MessageLogMeta) return c(COLORS.meta, src.meta.toString()) + tail;
    if (src instanceof MessageLogNetwork) return c(COLORS.node, `${crc32Hex(src.node)}-${crc32Hex(src.peer)}`);
    return c(COLORS.node, crc32Hex((src as MessageLogNode).node));
  };

  const arg = (a: unknown): unknown => {
    if (a instanceof PID || a instanceof ProcessID) return paint(COLORS.pid, a.toString());
    if (a instanceof Ref || a instanceof Alias || a instanceof Event) return paint(COLORS.ref, a.toString());
    return a;
  };

  if (options.disableBanner !== true) {
    const t = time(new Date());
    const lines = BANNER.map((l, i) => {
      const g = on ? `${ESC}38;2;${90 + i * 50};${140 + i * 30};255m${l}${RESET}` : l;
      return `${paint(COLORS.faint, t)} ${g}\n`;
    });
    writeToSink(out, lines.join(''), 'the colored logger');
  }

  return {
    log(m: MessageLog): void {
      const t = time(m.time);
      const fields = options.includeFields && m.fields.length > 0 ? `\n\t${fieldsText(m.fields)}` : '';
      if (m.level === LogLevel.Trace) {
        // Ergo prints trace lines all faint, arguments uncoloured.
        const line = `${t} ${levelLabel(LogLevel.Trace, short)} ${source(m, false)}: ${messageText(m)}${fields}`;
        writeToSink(out, paint(COLORS.faint, line) + '\n', 'the colored logger');
        return;
      }
      const msg = messageText(m, on ? m.args.map(arg) : m.args);
      const lv = label[m.level] ?? levelLabel(m.level, short);
      writeToSink(out, `${paint(COLORS.faint, t)} ${lv} ${source(m, true)}: ${msg}${fields}\n`, 'the colored logger');
    },
  };
}
