// The browser's twin of host.ts: scripts/bundle-browser.mjs builds `ergo-ts/browser` with this
// file in host.ts' place (a page or a Web Worker has no `process`, `setImmediate` or
// `node:util`). The last lines make the compiler check that both export the same names with the
// same types, so a piece added to one and not the other fails the build.

import type * as NodeHost from './host.js';
import type * as BrowserHost from './host_browser.js';
import type { HostChannel, HostUsage, TextSink } from './host.js';

export type { HostChannel, HostUsage, TextSink } from './host.js';

/** One value as `%o`/`%O` and extra arguments print it: JSON where it can, else its string. */
function inspect(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v instanceof Error) return v.stack ?? `${v.name}: ${v.message}`;
  if (typeof v === 'object' && v !== null) {
    try {
      const s = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
      if (s !== undefined) return s;
    } catch {
      // a cycle: fall through to the object's own string
    }
  }
  return typeof v === 'bigint' ? `${v}n` : String(v);
}

/** `%s` of one value: strings as they are, errors by their stack, objects inspected. */
function text(v: unknown): string {
  if (typeof v === 'object' && v !== null && !(v instanceof Error)) {
    const own = (v as { toString?: unknown }).toString;
    return own !== Object.prototype.toString && typeof own === 'function' ? String(v) : inspect(v);
  }
  if (v instanceof Error) return v.stack ?? String(v);
  return typeof v === 'bigint' ? `${v}n` : String(v);
}

/**
 * printf-style formatting with the directives of Node's `util.format` (`%s %d %i %f %j %o %O %c
 * %%`); arguments left over are appended, separated by spaces. Objects print as JSON.
 */
export function format(fmt: string, ...args: unknown[]): string {
  let i = 0;
  let out = String(fmt).replace(/%([sdifjoOc%])/g, (whole, d: string) => {
    if (d === '%') return '%';
    if (i >= args.length) return whole;
    const v = args[i++];
    switch (d) {
      case 's':
        return text(v);
      case 'd':
        return typeof v === 'bigint' ? `${v}n` : String(Number(v));
      case 'i':
        return typeof v === 'bigint' ? `${v}n` : String(Number.parseInt(String(v), 10));
      case 'f':
        return String(Number.parseFloat(String(v)));
      case 'j':
        try {
          return JSON.stringify(v) ?? 'undefined';
        } catch {
          return '[Circular]';
        }
      case 'c':
        return '';
      default:
        return inspect(v);
    }
  });
  for (; i < args.length; i++) out += ` ${typeof args[i] === 'string' ? (args[i] as string) : inspect(args[i])}`;
  return out;
}

// One MessageChannel carries every macrotask: unlike setTimeout(0) it is not clamped to 4 ms
// after a few nested calls, and it still lets input, timers and network events run in between.
const pending: (() => void)[] = [];
let head = 0;
let port: { postMessage(message: unknown): void } | undefined;

function runOne(): void {
  const fn = pending[head++]!;
  if (head === pending.length) {
    pending.length = 0;
    head = 0;
  }
  fn();
}

/** Runs `fn` in a later task of the event loop (a MessageChannel message). */
export function macrotask(fn: () => void): void {
  if (port === undefined) {
    const ch = new MessageChannel();
    // The DOM's onmessage (Node's typings name its MessagePort's events otherwise).
    (ch.port1 as unknown as { onmessage: () => void }).onmessage = runOne;
    port = ch.port2;
  }
  pending.push(fn);
  port.postMessage(0);
}

/** A browser's timers never keep anything alive: nothing to do. */
export function unrefTimer(_t: ReturnType<typeof setTimeout>): void {}

/** A browser's timers never keep anything alive: nothing to do. */
export function refTimer(_t: ReturnType<typeof setTimeout>): void {}

/** A line sink onto the console (the trailing newline is the console's own). */
function consoleSink(write: (line: string) => void): TextSink {
  return {
    write(chunk: string): void {
      write(chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk);
    },
  };
}

const stdout = consoleSink((line) => console.log(line));
const stderr = consoleSink((line) => console.error(line));

/** The console (`console.log`), as the default logger's output. */
export function stdoutSink(): TextSink {
  return stdout;
}

/** The console (`console.error`). */
export function stderrSink(): TextSink {
  return stderr;
}

/** `console.warn`. */
export function emitWarning(text: string): void {
  console.warn(text);
}

/** A page has no stop signals: nothing to listen to. */
export function onStopSignals(_handler: () => void): void {}

/** A page has no stop signals: nothing to remove. */
export function offStopSignals(_handler: () => void): void {}

/** The JavaScript heap where the browser tells it (Chromium's `performance.memory`); CPU is not told. */
export function hostUsage(): HostUsage {
  const mem = (performance as { memory?: { usedJSHeapSize: number; totalJSHeapSize: number } }).memory;
  return {
    memoryUsed: mem?.totalJSHeapSize ?? 0,
    memoryAlloc: mem?.usedJSHeapSize ?? 0,
    userTime: 0,
    systemTime: 0,
  };
}

const silent: HostChannel = { hasSubscribers: false, publish: () => undefined };

/** A browser has no diagnostics_channel: a channel nobody subscribes to. */
export function channel(_name: string): HostChannel {
  return silent;
}

// Both files export the same names with the same types (the browser build swaps one for the other).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameShape: Same<typeof BrowserHost, typeof NodeHost> = true;
void sameShape;
