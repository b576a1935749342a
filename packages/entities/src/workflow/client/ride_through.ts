// A workflow client's request that rides through a store unreachable for a while (a PostgreSQL
// failover: some seconds without a primary) and an owner that moved: it is asked again, every
// 200 ms, until the call's own timeout. Only requests that are safe to ask again do: a `result`, an
// `update` (its id), and a `start` and a `signal`, which carry a request id the client draws once
// per call (start_request.ts): the instance answers a repeat of a call that landed as it answered
// the first attempt, and does nothing twice.
//
// A write refused because its activation lost its key meanwhile (a stale token) is asked again too:
// nothing was kept, and the owner now answers it.
//
// The store says "unreachable for now" with one code, ERR_ENTITY_STORE_UNAVAILABLE (the
// PostgreSQL store maps the driver's errors to it at its boundary), or with its own codes for a
// session lost under a transaction and an outcome it could not decide in its window: those are
// the codes looked for here, here or on another node, where only an error's code and text survive.

import { DEFAULT_CALL_TIMEOUT_MS } from '../../contract/call_options.js';
import { hasCodeAlong, STORE_UNREACHABLE_CODES } from '../../contract/codes.js';
import { ErrEntityOverloaded, ErrEntityUnavailable } from '../../contract/errors.js';
import { isUndelivered } from '../../contract/undelivered.js';
import { ErrWorkflowOutcomeUnknown } from '../model/errors.js';

/** The pause before a request is asked again after the store was unreachable, ms. */
export const STORE_RETRY_MS = 200;

/**
 * The codes of a store unreachable for now (contract/codes.ts), and for a client that rides it out
 * a SQLite file locked by another process too (a member stopped inside a write): it passes.
 */
const UNREACHABLE_CODES = new Set([...STORE_UNREACHABLE_CODES, 'ERR_ENTITY_STORE_BUSY']);

/**
 * True for an error of a store that cannot be reached for now: ERR_ENTITY_STORE_UNAVAILABLE, a
 * store session lost under a transaction, an outcome the store could not decide. Looked for along
 * the `cause` chain (a runtime error that wraps the store's).
 */
export function isStoreUnreachable(err: unknown): boolean {
  return hasCodeAlong(err, UNREACHABLE_CODES);
}

/** The time left of a call after an overloaded owner's retry-after for it to be asked again, at most (ms). */
export const OVERLOAD_ATTEMPT_MS = 1000;

/** A call that timed out (the owner died or paused while it waited). */
export function isTimeout(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ERR_TIMEOUT' || code === 'TIMEOUT';
}

/**
 * Asks `ask(ms)` (`ms`: the time left of the call's `timeout`, default the runtime's call timeout)
 * until it answers: again after {@link STORE_RETRY_MS} while the store is unreachable, or the owner
 * could not be reached or did not answer in time (it moved, or died), while time is left. Past the
 * deadline, the last failure. Any other failure rejects at once. Only for a request whose repeat
 * is answered as its first attempt was (see the top of this file). A change (`changes` given)
 * one of whose attempts may have been kept rejects ERR_WORKFLOW_OUTCOME_UNKNOWN instead of the
 * last failure when that is a ride-through's or an overloaded owner's refusal.
 */
export async function askThrough<T>(
  timeout: number | undefined,
  ask: (ms: number) => Promise<T>,
  changes?: string,
): Promise<T> {
  // A bad timeout (not an integer, out of range) goes to the first ask as it is: refused there, as before.
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout >= 1 && timeout <= 2 ** 31 - 1))
    return ask(timeout);
  const total = timeout ?? DEFAULT_CALL_TIMEOUT_MS;
  const deadline = Date.now() + total;
  let mayHaveLanded = false;
  for (;;) {
    try {
      return await ask(Math.max(1, Math.ceil(deadline - Date.now())));
    } catch (err) {
      const left = deadline - Date.now();
      // Refused by an overloaded owner (nothing written): asked again after its retry-after when
      // that leaves the attempt time to be done (an attempt with a few ms left would time out,
      // and a timeout may have been kept: an unknown outcome made of nothing), else refused.
      const after = ErrEntityOverloaded.is(err) ? (err as { retryAfterMs?: unknown }).retryAfterMs : undefined;
      if (typeof after === 'number' && after < left - Math.min(OVERLOAD_ATTEMPT_MS, total / 4)) {
        await new Promise((r) => setTimeout(r, after));
        continue;
      }
      const again =
        isStoreUnreachable(err) || ErrEntityUnavailable.is(err) || isTimeout(err) || hasCodeAlong(err, FENCED_CODES);
      // A router that gave up after an attempt that may have run it (no undelivered mark: see
      // contract/undelivered.ts) says so too: an activation that took it and ended unanswered.
      mayHaveLanded ||= again && (mayHaveBeenKept(err) || (ErrEntityUnavailable.is(err) && !isUndelivered(err)));
      if (again && left > STORE_RETRY_MS) {
        await new Promise((r) => setTimeout(r, STORE_RETRY_MS));
        continue;
      }
      // A change (a start, a signal) one of whose attempts may have been kept: say so with its
      // own code, so its caller asks again the same way instead of doing it twice. A later
      // attempt refused by an overloaded owner (ERR_ENTITY_OVERLOADED: this attempt took no new
      // work) says nothing of an earlier one that may have landed: unknown too, not "refused".
      if ((again || ErrEntityOverloaded.is(err)) && mayHaveLanded && changes !== undefined)
        throw ErrWorkflowOutcomeUnknown.with(
          `${changes}: no answer within ${total} ms and an attempt may have been kept; ask again the same way ` +
            '(a start with the same id answers created: false if it was; a signal is kept once with the same id)',
          err,
        );
      throw err;
    }
  }
}

/**
 * Codes of a write the store refused because the activation that made it no longer held its key
 * (its lease passed on in a failover or a move): nothing was kept, and the key's owner now answers
 * the same request. They reached start callers during a failover before (issue 89).
 */
// Not ERR_ENTITY_VERSION_CONFLICT: a store that went back in time refuses so, and its caller hears it.
const FENCED_CODES = new Set(['ERR_ENTITY_STALE_TOKEN', 'ERR_ENTITY_LEASE_HELD']);

/** Codes of an attempt that may have been kept: no answer in time, a commit the store could not decide. */
const MAYBE_KEPT_CODES = new Set([
  'ERR_TIMEOUT',
  'TIMEOUT',
  'ERR_ENTITY_STORE_OUTCOME_UNKNOWN',
  'ERR_ENTITY_STORE_SESSION_LOST',
]);

/**
 * Whether a failed attempt may have been kept: it got no answer in time (it may have reached the
 * owner and been written) or the store could not say whether its commit happened. An owner not
 * reached, or a store refusing at once, kept nothing.
 */
function mayHaveBeenKept(err: unknown): boolean {
  return hasCodeAlong(err, MAYBE_KEPT_CODES);
}
