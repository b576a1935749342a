// The host's pieces the engine needs that the Web platform has no common API for: printf-style
// formatting, a macrotask (the scheduler's yield to the event loop), timers that do not hold the
// process open, the output streams, signals, resource usage and diagnostics channels. This is
// Node's file; the browser bundle (scripts/bundle-browser.mjs) builds with host_browser.ts in its
// place, which exports the same names with the same types (checked there). What both platforms
// have (performance, queueMicrotask, TextEncoder, crypto.getRandomValues) is used directly
// where it is needed, not through here.

import diagnostics from 'node:diagnostics_channel';
import { format as nodeFormat } from 'node:util';

/** A place log lines go (`process.stdout`, a file stream, the browser's console). */
export interface TextSink {
  write(chunk: string): unknown;
}

/** A diagnostics channel as the engine publishes on it. */
export interface HostChannel {
  readonly hasSubscribers: boolean;
  publish(message: unknown): void;
}

/** Resource usage of the host process (0 where the host does not tell). */
export interface HostUsage {
  /** Bytes: the process' resident set. */
  memoryUsed: number;
  /** Bytes: the JavaScript heap in use. */
  memoryAlloc: number;
  /** Microseconds of CPU in user mode. */
  userTime: number;
  /** Microseconds of CPU in system mode. */
  systemTime: number;
}

/** printf-style formatting with Node's `util.format` rules (`%s %d %i %f %j %o %O %%`). */
export const format: (fmt: string, ...args: unknown[]) => string = nodeFormat;

/**
 * Runs `fn` in a later turn of the event loop, after pending I/O (`setImmediate`). Read at each
 * call, not captured at load: tests may replace the global.
 */
export function macrotask(fn: () => void): void {
  setImmediate(fn);
}

/** Lets a timer not keep the process alive (a no-op where timers never do). */
export function unrefTimer(t: ReturnType<typeof setTimeout>): void {
  t.unref();
}

/** Makes a timer keep the process alive again. */
export function refTimer(t: ReturnType<typeof setTimeout>): void {
  t.ref();
}

/** Standard output (read on each call: Node creates the stream on first use). */
export function stdoutSink(): TextSink {
  return process.stdout;
}

/** Standard error (read on each call: Node creates the stream on first use). */
export function stderrSink(): TextSink {
  return process.stderr;
}

/** Reports a warning the way the host does (`process.emitWarning`). */
export function emitWarning(text: string): void {
  process.emitWarning(text);
}

/** Calls `handler` once on the first SIGTERM or SIGINT. */
export function onStopSignals(handler: () => void): void {
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}

/** Removes a handler {@link onStopSignals} added. */
export function offStopSignals(handler: () => void): void {
  process.removeListener('SIGTERM', handler);
  process.removeListener('SIGINT', handler);
}

/** Memory and CPU of the host process. */
export function hostUsage(): HostUsage {
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  return { memoryUsed: mem.rss, memoryAlloc: mem.heapUsed, userTime: cpu.user, systemTime: cpu.system };
}

/** The `node:diagnostics_channel` channel of that name. */
export function channel(name: string): HostChannel {
  return diagnostics.channel(name);
}
