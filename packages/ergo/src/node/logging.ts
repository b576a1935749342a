// The node's logging API: per-process log levels and the logger table (function loggers,
// pino-compatible sinks and process loggers). The registry itself (dispatch, levels, reports of
// failing loggers) is loggers.ts; the per-source handle is log.ts. Every function here throws
// ErrNodeTerminated once the node has stopped.

import { validateLogLevel } from '../gen/validate.js';
import { ErrNotAllowed, ErrUnknown } from '../gen/errors.js';
import { LogLevel, type LogLevelInput, type LoggerBehavior, type MessageLog } from '../gen/log.js';
import type { PinoLike } from '../gen/node.js';
import type { PID } from '../gen/pid.js';
import { MailboxKind } from '../gen/process.js';
import type { NodeImpl } from './node.js';
import { S_TERMINATED } from './process_state.js';

/** The log level of a local process. ErrIncorrect (not a PID), ErrProcessUnknown. */
export function logLevelProcess(node: NodeImpl, pid: PID): LogLevel {
  node.checkAlive();
  return node.processArg(pid, 'logLevelProcess').logLevel;
}

/**
 * Sets the log level of a local process (Trace..Disabled; Default is refused). A process that is
 * a logger keeps its own logging disabled (it would feed itself). ErrIncorrect, ErrProcessUnknown.
 */
export function setLogLevelProcess(node: NodeImpl, pid: PID, level: LogLevelInput): void {
  node.checkAlive();
  const p = node.processArg(pid, 'setLogLevelProcess');
  p.logLevel = validateLogLevel(level);
  if (p.logHandle !== null && p.loggerName === '') p.logHandle.forceLevel(p.logLevel);
}

/** Adds a function-style or pino-compatible logger for `filter` (default: every level). ErrTaken. */
export function loggerAdd(
  node: NodeImpl,
  name: string,
  logger: LoggerBehavior | PinoLike,
  filter: LogLevelInput[],
): void {
  node.checkAlive();
  node.logRegistry.add(name, logger, filter);
}

/**
 * Makes a local process a logger: records arrive in its log queue (handleLog). Its own logging is
 * disabled meanwhile. ErrNotAllowed when it is a logger already, ErrTaken for a used name.
 */
export function loggerAddPID(node: NodeImpl, pid: PID, name: string, filter: LogLevelInput[]): void {
  node.checkAlive();
  const p = node.processArg(pid, 'loggerAddPID');
  if (p.loggerName !== '') throw ErrNotAllowed.with(`${pid} is a logger already`);
  node.logRegistry.add(
    name,
    {
      log: (m: MessageLog) => {
        if (p.st !== S_TERMINATED) p.notify(3, MailboxKind.Regular, node.pid, m);
      },
    },
    filter,
    pid,
    p.behaviorName(),
  );
  p.loggerName = name;
  // A logger process must not log to the loggers (it would feed itself).
  p.logHandle?.forceLevel(LogLevel.Disabled);
}

/** Removes a logger by name (a process logger gets its own logging back). ErrUnknown. */
export function loggerDelete(node: NodeImpl, name: string): void {
  node.checkAlive();
  const pid = node.logRegistry.delete(name);
  if (pid !== null) loggerReleased(node, pid);
}

/** Removes the logger a process is. ErrIncorrect (not a PID), ErrUnknown (not a logger). */
export function loggerDeletePID(node: NodeImpl, pid: PID): void {
  node.checkAlive();
  node.checkPID(pid, 'loggerDeletePID');
  const name = node.logRegistry.nameOf(pid);
  if (name === undefined) throw ErrUnknown.with(`${pid} is not a logger`);
  loggerDelete(node, name);
}

/** A process stopped being a logger: its own logging comes back. */
function loggerReleased(node: NodeImpl, pid: PID): void {
  const p = node.processes.get(pid.id);
  if (p === undefined) return;
  p.loggerName = '';
  p.logHandle?.forceLevel(p.logLevel);
}

/** Names of the registered loggers. */
export function loggers(node: NodeImpl): string[] {
  node.checkAlive();
  return node.logRegistry.names();
}

/** Levels a logger receives. ErrUnknown. */
export function loggerLevels(node: NodeImpl, name: string): LogLevel[] {
  node.checkAlive();
  return node.logRegistry.levels(name);
}
