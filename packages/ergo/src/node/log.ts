// The Log handle each node, process and meta process owns: level filter, structured fields with
// push/pop scopes, optional routing to one named logger. Filtering happens before any record is
// built, so a disabled level costs a comparison.

import { validateLogLevel } from '../gen/validate.js';
import { LogLevel, MessageLog, type Log, type LogLevelInput, type LogField, type LogSource } from '../gen/log.js';

/** Receives built records (the node's logger fan-out). */
export type LogSink = (record: MessageLog, loggerName: string) => void;

/** A Log bound to one source. */
export class LogHandle implements Log {
  private fieldList: LogField[] = [];
  private stack: LogField[][] | null = null;
  private loggerName = '';

  constructor(
    private lvl: LogLevel,
    public source: LogSource,
    private readonly sink: LogSink,
  ) {}

  level(): LogLevel {
    return this.lvl;
  }

  setLevel(level: LogLevelInput): void {
    this.lvl = validateLogLevel(level);
  }

  /** Sets the level without validation (engine use: logger processes, inherited levels). */
  forceLevel(level: LogLevel): void {
    this.lvl = level;
  }

  logger(): string {
    return this.loggerName;
  }

  setLogger(name: string): void {
    this.loggerName = name;
  }

  fields(): LogField[] {
    return this.fieldList.slice();
  }

  addFields(...fields: LogField[]): void {
    this.fieldList = this.fieldList.concat(fields);
  }

  deleteFields(...names: string[]): void {
    if (names.length === 0) return;
    if (this.stack !== null && this.stack.length > 0) {
      this.error(
        'cannot delete log field(s) while the field stack has %d active frame(s); use popFields',
        this.stack.length,
      );
      return;
    }
    const drop = new Set(names);
    this.fieldList = this.fieldList.filter((f) => !drop.has(f.name));
  }

  pushFields(): number {
    (this.stack ??= []).push(this.fieldList);
    return this.stack.length;
  }

  popFields(): number {
    const s = this.stack;
    if (s === null || s.length === 0) return 0;
    this.fieldList = s.pop()!;
    return s.length;
  }

  private write(level: LogLevel, format: string, args: unknown[]): void {
    if (this.lvl > level) return;
    this.sink(new MessageLog(new Date(), level, this.source, format, args, this.fieldList), this.loggerName);
  }

  trace(format: string, ...args: unknown[]): void {
    if (this.lvl <= LogLevel.Trace) this.write(LogLevel.Trace, format, args);
  }
  debug(format: string, ...args: unknown[]): void {
    if (this.lvl <= LogLevel.Debug) this.write(LogLevel.Debug, format, args);
  }
  info(format: string, ...args: unknown[]): void {
    if (this.lvl <= LogLevel.Info) this.write(LogLevel.Info, format, args);
  }
  warning(format: string, ...args: unknown[]): void {
    if (this.lvl <= LogLevel.Warning) this.write(LogLevel.Warning, format, args);
  }
  error(format: string, ...args: unknown[]): void {
    if (this.lvl <= LogLevel.Error) this.write(LogLevel.Error, format, args);
  }
  panic(format: string, ...args: unknown[]): void {
    if (this.lvl <= LogLevel.Panic) this.write(LogLevel.Panic, format, args);
  }
}
