// The default console logger: Ergo's plain-text line `time [level] source: message` (plus an
// aligned `fields` line) or one JSON object per line.

import { format } from 'node:util';
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

/** Plain-text form of a log source (Ergo's). */
export function formatSource(src: LogSource): string {
  if (src instanceof MessageLogProcess) return src.pid.toString();
  if (src instanceof MessageLogMeta) return src.meta.toString();
  if (src instanceof MessageLogNetwork) return `${crc32Hex(src.node)}-${crc32Hex(src.peer)}`;
  if (src instanceof MessageLogNode) return crc32Hex(src.node);
  return String(src);
}

function nanos(d: Date): string {
  return `${d.getTime()}000000`;
}

function fieldText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (
    typeof v === 'object' &&
    v !== null &&
    !(v instanceof Error) &&
    typeof (v as object).toString === 'function' &&
    (v as object).toString !== Object.prototype.toString
  ) {
    return String(v);
  }
  return format('%s', v);
}

/** Creates Ergo's default logger with the given options. */
export function createDefaultLogger(options: DefaultLoggerOptions = {}): LoggerBehavior {
  const out = options.output ?? process.stdout;
  const tf = options.timeFormat ?? 'unix-ns';
  const time = (d: Date): string => (tf === 'unix-ns' ? nanos(d) : tf === 'iso' ? d.toISOString() : tf(d));
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
        if (src instanceof MessageLogProcess && options.includeName && src.name !== '') source.name = `'${src.name}'`;
        if ((src instanceof MessageLogProcess || src instanceof MessageLogMeta) && options.includeBehavior)
          source.behavior = src.behavior;
        const rec: Record<string, unknown> = {
          level: logLevelString(m.level),
          source,
          message: message(m),
        };
        if (options.includeFields && m.fields.length > 0) {
          const f: Record<string, string> = {};
          for (const x of m.fields) f[x.name] = fieldText(x.value);
          rec.fields = f;
        }
        // Ergo writes unix-ns time as a bare integer, which JSON numbers cannot hold exactly.
        const t = tf === 'unix-ns' ? nanos(m.time) : JSON.stringify(time(m.time));
        out.write(`{"time":${t},${JSON.stringify(rec).slice(1)}\n`);
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
        line += `\n${' '.repeat(Math.max(0, t.length - 6))}fields ${m.fields.map((f) => `${f.name}:${fieldText(f.value)}`).join(' ')}`;
      }
      out.write(line + '\n');
    },
  };
}
