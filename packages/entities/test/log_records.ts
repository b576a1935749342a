// The records a node logs, read through a logger added to it (never its printed output), with a
// formatted line per record: tests check what an operator is told, and at which level.

import { LogLevel, type MessageLog, type Node } from 'ergo-ts';

/** A record as its line reads (its format with its arguments). */
export function line(m: MessageLog): string {
  let i = 0;
  return m.format.replace(/%[sdv]/g, () => String(m.args[i++]));
}

/** Every record `node` logs from now on. */
export class LogRecords {
  readonly all: MessageLog[] = [];

  constructor(node: Node, name = 'test-records') {
    node.loggerAdd(name, { log: (m) => void this.all.push(m) });
  }

  /** The lines logged at `level` that match `re`. */
  lines(level: LogLevel, re: RegExp): string[] {
    return this.all.filter((m) => m.level === level && re.test(line(m))).map(line);
  }

  /** The lines at error or panic level. */
  errors(): string[] {
    return this.all.filter((m) => m.level === LogLevel.Error || m.level === LogLevel.Panic).map(line);
  }
}
