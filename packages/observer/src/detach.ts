// Work that runs on while nobody awaits it: a session's call to another node, the hub's event
// monitor, a mux command, a trace being stopped (as @ergo-ts/mcp's detach.ts). Its outcome goes
// to handlers, and whatever goes wrong on the way — the work's own failure, or a handler that
// throws (a send to a process that has ended meanwhile) — is logged once and stops there: none of
// it can reach unhandledRejection, which would end the node's OS process. Every such Promise of
// this package goes through detach(); eslint.config.js forbids the bare shape (a `.then(`,
// `.catch(` or `.finally(` whose result nobody keeps, or a `void` Promise).

import type { Log } from 'ergo-ts';

/** What is done with the outcome of detached work (each optional). */
export interface DetachHandlers<T> {
  /** The work's value. */
  value?: (value: T) => void;
  /** The work's failure (without it, the failure is logged as unexpected). */
  error?: (err: unknown) => void;
  /** After either of them, as `finally`. */
  always?: () => void;
}

function message(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return String(err);
  } catch {
    return Object.prototype.toString.call(err);
  }
}

/** Logs `err` once on `log` (stderr without one); never throws. */
function report(log: Pick<Log, 'warning'> | undefined, what: string, err: unknown): void {
  try {
    const text = err instanceof Error && err.stack !== undefined ? err.stack : message(err);
    if (log !== undefined) log.warning('observer: %s failed: %s', what, text);
    else process.stderr.write(`observer: ${what} failed: ${text}\n`);
  } catch {
    // nowhere left to say it
  }
}

/**
 * Runs `work` (a Promise, or a function making one: its synchronous throw counts as a failure)
 * without awaiting it. `handlers` get its value or failure and `always` runs after either; a
 * failure no handler takes, and anything a handler throws, is logged once at warning on `log`
 * as `observer: <what> failed`. The Promise chain this makes cannot reject.
 */
export function detach<T>(
  work: Promise<T> | (() => Promise<T>),
  what: string,
  log: Pick<Log, 'warning'> | undefined,
  handlers: DetachHandlers<T> = {},
): void {
  let p: Promise<T>;
  try {
    p = typeof work === 'function' ? work() : work;
  } catch (err) {
    p = Promise.reject(err as Error);
  }
  const { value, error, always } = handlers;
  const settled = p.then(
    (v) => {
      try {
        value?.(v);
      } finally {
        always?.();
      }
    },
    (err: unknown) => {
      try {
        if (error === undefined) throw err;
        error(err);
      } finally {
        always?.();
      }
    },
  );
  // The one bare chain of this package: its handler cannot throw, so nothing is left to reject.
  // eslint-disable-next-line no-restricted-syntax -- detach's own last link
  settled.then(undefined, (err: unknown) => report(log, what, err));
}
