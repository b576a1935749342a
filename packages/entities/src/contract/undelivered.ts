// Which entity-call failures prove the request reached no handler: the router (runtime/routing.ts)
// marks the error it gives up with when none of its attempts could have run the request — every
// one found no process, no route, a lease held elsewhere, an owner it never reached, an activation
// that failed or did not answer, or an owner that refused new work. A workflow's `ctx.call` reads
// the mark to tell the engine's failure (waited out, not an attempt) from the entity's own error or
// a call that may have run (an attempt, as Temporal counts an activity whose outcome is unknown).
//
// The mark lives beside the error object in this process only: it is not a code, so an entity
// that throws `ERR_ENTITY_UNAVAILABLE` from its own handler (it met an unavailable entity itself)
// is still the step's failure, and nothing about it crosses the wire.

const undelivered = new WeakSet<object>();

/**
 * Marks `err` as a failure of a call that reached no handler, and returns it (for `throw`).
 * A value that is not an object is returned unmarked.
 */
export function markUndelivered<T>(err: T): T {
  if (typeof err === 'object' && err !== null) undelivered.add(err);
  return err;
}

/**
 * True when `err` was marked by {@link markUndelivered}: the call it ended reached no handler, so
 * nothing was run. Never throws, whatever `err` is.
 */
export function isUndelivered(err: unknown): boolean {
  return typeof err === 'object' && err !== null && undelivered.has(err);
}
