// The rule for every Promise the framework returns: it is safe to ignore. In Go, Ergo returns an
// error that callers often drop; in Node an ignored rejected Promise ends the OS process
// (unhandledRejection). So before the framework rejects a Promise it hands out, it marks that
// Promise handled, with a handler that logs the failure at debug level on the caller's logger;
// whoever awaits it still gets the rejection (in a handler, thrown into it: that process panics
// as before). Deliveries the user has no Promise for at all (a plain send with important
// delivery, sendAfter, a reply) report their failure at warning instead, once.
//
// Hot paths do not use these helpers on success: a pending call marks its Promise at rejection
// time (calls.ts); only failure paths and APIs far from the hot path (spawn, inspect, remote
// requests) attach a handler up front. Work that nobody awaits at all (a tool's background task,
// a session closing) goes through detach(): its outcome goes to handlers, and whatever goes wrong
// on the way is logged once and stops there.

import { toError } from './errors.js';
import { LogLevel, type Log } from './log.js';

/**
 * Logs at debug that a Promise the framework returned failed. Whoever awaited it got the
 * rejection as well; for whoever ignored it this line is the only trace.
 */
export function logIgnorableFailure(log: Log | undefined, what: string, err: unknown): void {
  if (log === undefined || log.level() > LogLevel.Debug) return;
  log.debug('%s failed: %s', what, toError(err).message);
}

/**
 * Marks `p` handled (its failure logged at debug on `log`, when given) and returns `p` itself, so
 * that the caller may ignore it without risking the OS process; awaiting it still yields the
 * rejection. Attaches one handler: for APIs off the hot path. Exported for the other ergo-ts
 * packages (and your own libraries) so that every Promise they hand out follows the same rule.
 *
 * @example
 * ```ts
 * export function fetchThing(p: Process): Promise<Thing> {
 *   return ignorable(fetchThingAsync(p), p.log, 'fetchThing');
 * }
 * ```
 */
export function ignorable<T>(p: Promise<T>, log: Log | undefined, what: string): Promise<T> {
  p.then(undefined, (e: unknown) => logIgnorableFailure(log, what, e));
  return p;
}

/** A rejected Promise with `err`, already marked handled (see {@link ignorable}). */
export function rejected(err: unknown, log: Log | undefined, what: string): Promise<never> {
  return ignorable(Promise.reject(err as Error), log, what);
}

/**
 * Watches the delivery ack of an important send or reply whose Promise nobody else sees: a
 * failure is logged once at warning on the sender's `log`, with the target and the reason, and
 * never reaches unhandledRejection. A void `ack` (a local or non-important delivery) costs nothing.
 */
export function watchDelivery(ack: Promise<void> | void, log: Log, what: string, target: unknown): void {
  if (ack === undefined) return;
  ack.then(undefined, (e: unknown) => {
    log.warning('%s to %s was not delivered: %s', what, String(target), toError(e).message);
  });
}

/** What {@link detach} does with the outcome of detached work (each optional). */
export interface DetachHandlers<T> {
  /** The work's value. */
  value?: (value: T) => void;
  /** The work's failure (without it, the failure is logged as unexpected). */
  error?: (err: unknown) => void;
  /** After either of them, as `finally`. */
  always?: () => void;
}

/** The text of a failure for the log: an Error's stack (its message without one), or its String(). Never throws. */
function failureText(err: unknown): string {
  if (err instanceof Error) return err.stack ?? err.message;
  try {
    return String(err);
  } catch {
    return Object.prototype.toString.call(err); // no toString (Object.create(null)), or one that throws
  }
}

/**
 * Runs `work` (a Promise, or a function making one: its synchronous throw counts as a failure)
 * without awaiting it. `handlers` get its value or failure and `always` runs after either; a
 * failure no handler takes, and anything a handler throws (a send to a process that has ended
 * meanwhile), is logged once at warning on `log` as `<what> failed: <stack>` (on stderr without a
 * log). The Promise chain it makes cannot reject, so nothing it runs reaches unhandledRejection:
 * the one shape for fire-and-forget work in the ergo-ts packages (the MCP server and the Observer
 * lint the bare `.then(` shape away in its favour). Callable anywhere, any time; never throws.
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
  // The last link: its handler cannot throw, so nothing is left to reject.
  settled.then(undefined, (err: unknown) => {
    try {
      const text = failureText(err);
      if (log !== undefined) log.warning('%s failed: %s', what, text);
      // console.error: the one error stream every host has (gen imports nothing of a host's).
      else console.error(`${what} failed: ${text}`);
    } catch {
      // nowhere left to say it
    }
  });
}
