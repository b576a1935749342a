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
// requests) attach a handler up front.

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
