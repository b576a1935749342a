// The default console logger: Ergo's plain-text line `time [level] source: message` (plus an
// aligned `fields` line) or one JSON object per line.

import type { DefaultLoggerOptions } from '../gen/node.js';
import {
  logLevelString,
  MessageLogMeta,
  MessageLogNetwork,
  MessageLogNode,
  MessageLogProcess,
  type LoggerBehavior,
  type LogSource,
  type MessageLog,
} from '../gen/log.js';
import { crc32Hex } from '../lib/crc32.js';
import { timeFormatter, unixNanos } from '../lib/time_format.js';
import { ErrIncorrect } from '../gen/errors.js';
import { describeValue } from '../gen/validate.js';
import { format, stderrSink, stdoutSink } from '../lib/host.js';

/** A field value as text: strings as they are, objects with their own toString (PID...) by it. */
export function fieldValueText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (
    typeof v === 'object' &&
    v !== null &&
    !(v instanceof Error) &&
    typeof (v as object).toString === 'function' &&
    (v as object).toString !== Object.prototype.toString
  )
    return String(v);
  return format('%s', v);
}

/** Plain-text form of a log source (Ergo's). */
export function formatSource(src: LogSource): string {
  if (src instanceof MessageLogProcess) return src.pid.toString();
  if (src instanceof MessageLogMeta) return src.meta.toString();
  if (src instanceof MessageLogNetwork) return `${crc32Hex(src.node)}-${crc32Hex(src.peer)}`;
  if (src instanceof MessageLogNode) return crc32Hex(src.node);
  return String(src);
}

/** Sinks that failed (EPIPE: the reader of a pipe went away); nothing more is written to them. */
const brokenSinks = new WeakSet<object>();
/** Sinks given an 'error' listener already. */
const guardedSinks = new WeakSet<object>();

/**
 * Writes `text` to a log sink (stdout, stderr, a stream from the options) so that its I/O failure
 * cannot end the OS process: a sink that is an event emitter gets an 'error' listener (once), a
 * failed sink is written to no more, and a `write` that throws is caught. The first failure of a
 * sink other than stderr is reported on stderr, once, naming `who` (the logger that first wrote
 * to it). Never throws.
 */
export function writeToSink(sink: { write(chunk: string): unknown }, text: string, who = 'the default logger'): void {
  if (brokenSinks.has(sink)) return;
  if (!guardedSinks.has(sink)) {
    guardedSinks.add(sink);
    const em = sink as { on?: unknown };
    if (typeof em.on === 'function')
      (em.on as (ev: string, fn: (e: Error) => void) => void).call(sink, 'error', (e) => sinkFailed(sink, e, who));
  }
  try {
    sink.write(text);
  } catch (e) {
    sinkFailed(sink, e, who);
  }
}

function sinkFailed(sink: object, e: unknown, who: string): void {
  if (brokenSinks.has(sink)) return;
  brokenSinks.add(sink);
  if (sink === stderrSink()) return;
  const what = sink === stdoutSink() ? 'stdout' : 'its output stream';
  writeToSink(
    stderrSink(),
    `ergo-ts: ${who} stopped writing to ${what}: ${e instanceof Error ? e.message : String(e)}\n`,
  );
}

/**
 * Creates Ergo's default logger with the given options. A failing output (a closed pipe, as with
 * `node app | head -1`) stops its writing, reported once on stderr; it never ends the OS process.
 */
export function createDefaultLogger(options: DefaultLoggerOptions = {}): LoggerBehavior {
  const out = options.output ?? stdoutSink();
  const tf = options.timeFormat ?? 'unix-ns';
  let time: (d: Date) => string;
  try {
    time = timeFormatter(tf);
  } catch {
    throw ErrIncorrect.with(
      `defaultLogger.timeFormat ${describeValue(tf)} (expected 'unix-ns', 'iso', 'human', a Go layout or a function)`,
    );
  }
  const message = (m: MessageLog): string => (m.args.length > 0 ? format(m.format, ...m.args) : m.format);

  if (options.enableJSON) {
    return {
      log(m: MessageLog): void {
        const src = m.source;
        const source: Record<string, string> =
          src instanceof MessageLogProcess
            ? { type: 'process', pid: src.pid.toString() }
            : src instanceof MessageLogMeta
              ? { type: 'meta', meta: src.meta.toString() }
              : src instanceof MessageLogNetwork
                ? { type: 'network', node: crc32Hex(src.node), peer: crc32Hex(src.peer) }
                : { type: 'node', node: crc32Hex((src as MessageLogNode).node) };
        if (src instanceof MessageLogProcess && options.includeName && src.name !== '') source.name = src.name;
        if ((src instanceof MessageLogProcess || src instanceof MessageLogMeta) && options.includeBehavior)
          source.behavior = src.behavior;
        const rec: Record<string, unknown> = {
          level: logLevelString(m.level),
          source,
          message: message(m),
        };
        if (options.includeFields && m.fields.length > 0) {
          const f: Record<string, string> = {};
          for (const x of m.fields) f[x.name] = fieldValueText(x.value);
          rec.fields = f;
        }
        // Ergo writes unix-ns time as a bare integer, which JSON numbers cannot hold exactly.
        const t = tf === 'unix-ns' ? unixNanos(m.time) : JSON.stringify(time(m.time));
        writeToSink(out, `{"time":${t},${JSON.stringify(rec).slice(1)}\n`);
      },
    };
  }

  return {
    log(m: MessageLog): void {
      const t = time(m.time);
      let line = `${t} [${logLevelString(m.level)}] ${formatSource(m.source)}`;
      const src = m.source;
      if (options.includeName && src instanceof MessageLogProcess && src.name !== '') line += ` '${src.name}'`;
      if (options.includeBehavior && (src instanceof MessageLogProcess || src instanceof MessageLogMeta))
        line += ` ${src.behavior}`;
      line += `: ${message(m)}`;
      if (options.includeFields && m.fields.length > 0) {
        line += `\n${' '.repeat(Math.max(0, t.length - 6))}fields ${m.fields.map((f) => `${f.name}:${fieldValueText(f.value)}`).join(' ')}`;
      }
      writeToSink(out, line + '\n');
    },
  };
}
