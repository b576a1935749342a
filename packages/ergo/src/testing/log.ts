// The recording log handle: what the actor under test logs (at or above its level) becomes a
// LogEvent with the formatted text, the same `util.format` rules the real loggers use.

import { format as formatText } from 'node:util';
import { LogLevel, type Log, type LogField, type LogLevelInput } from '../gen/log.js';
import { validateLogLevel } from '../gen/validate.js';
import { type EventLog, LogEvent } from './events.js';

/**
 * A {@link Log} that records instead of writing. Level rules are the engine's: a record is kept
 * when its level is at least the handle's level; `setLevel` refuses Default and System.
 */
export class TestLog implements Log {
  #level: LogLevel;
  #logger = '';
  #fields: LogField[] = [];
  readonly #stack: LogField[][] = [];

  constructor(
    readonly events: EventLog,
    level: LogLevel,
  ) {
    this.#level = level;
  }

  level(): LogLevel {
    return this.#level;
  }
  setLevel(level: LogLevelInput): void {
    this.#level = validateLogLevel(level);
  }
  logger(): string {
    return this.#logger;
  }
  setLogger(name: string): void {
    this.#logger = name;
  }
  fields(): LogField[] {
    return this.#fields.slice();
  }
  addFields(...fields: LogField[]): void {
    this.#fields.push(...fields);
  }
  deleteFields(...names: string[]): void {
    if (this.#stack.length > 0) {
      this.#write(LogLevel.Error, 'unable to delete fields while scopes are pushed', []);
      return;
    }
    this.#fields = this.#fields.filter((f) => !names.includes(f.name));
  }
  pushFields(): number {
    this.#stack.push(this.#fields.slice());
    return this.#stack.length;
  }
  popFields(): number {
    const prev = this.#stack.pop();
    if (prev !== undefined) this.#fields = prev;
    return this.#stack.length;
  }
  trace(format: string, ...args: unknown[]): void {
    this.#write(LogLevel.Trace, format, args);
  }
  debug(format: string, ...args: unknown[]): void {
    this.#write(LogLevel.Debug, format, args);
  }
  info(format: string, ...args: unknown[]): void {
    this.#write(LogLevel.Info, format, args);
  }
  warning(format: string, ...args: unknown[]): void {
    this.#write(LogLevel.Warning, format, args);
  }
  error(format: string, ...args: unknown[]): void {
    this.#write(LogLevel.Error, format, args);
  }
  panic(format: string, ...args: unknown[]): void {
    this.#write(LogLevel.Panic, format, args);
  }

  #write(level: LogLevel, format: string, args: unknown[]): void {
    if (this.#level > level) return;
    let text: string;
    try {
      text = formatText(format, ...args);
    } catch {
      text = String(format);
    }
    this.events.push(new LogEvent(level, format, args, text, this.#fields.slice()));
  }
}
