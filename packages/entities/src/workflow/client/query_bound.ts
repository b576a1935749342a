// How long a query may take at the instance. A query handler that never settles (a Promise left
// pending) held the caller until its own call timed out, and the caller's routing then said the
// owner node was "paused, overloaded or cut off": wrong, and naming no query. The caller now
// sends how long it waits (`waitMs`, its call's timeout); the instance answers
// ERR_WORKFLOW_TIMEOUT naming the query a little before that (the answer must cross back in
// time), and says whether the handler or the instance's replay before it did not settle.

import { ErrWorkflowTimeout } from '../model/errors.js';

/** The wait a query's caller sends without a timeout of its own (the entities' default call timeout). */
export const QUERY_DEFAULT_WAIT_MS = 5000;
/** The longest a query is waited for at the instance, whatever the caller sends. */
const MAX_QUERY_WAIT_MS = 600_000;

/** How long the instance gives a query whose caller waits `waitMs`: the caller's wait less the answer's way back. */
export function queryBudgetMs(waitMs: unknown): number {
  const w =
    typeof waitMs === 'number' && Number.isFinite(waitMs) && waitMs > 0
      ? Math.min(waitMs, MAX_QUERY_WAIT_MS)
      : QUERY_DEFAULT_WAIT_MS;
  return Math.max(1, w - Math.min(1000, Math.max(50, w / 5)));
}

/**
 * `answer` (the query's replay, then its handler: `handled()` true once the handler was called),
 * or ERR_WORKFLOW_TIMEOUT naming query `name` of `what` once `budgetMs` passed. The wall clock:
 * it bounds a caller's real wait.
 */
export function boundQuery<T>(
  answer: Promise<T>,
  what: string,
  name: string,
  budgetMs: number,
  handled: () => boolean,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          ErrWorkflowTimeout.with(
            handled()
              ? `query ${name} of ${what}: its handler did not settle within ${budgetMs} ms`
              : `query ${name} of ${what}: the instance's replay did not catch up within ${budgetMs} ms`,
          ),
        ),
      budgetMs,
    ).unref();
  });
  // The answer that loses the race is dropped (a handler that settles late, or rejects, later).
  answer.catch(() => undefined);
  return Promise.race([answer, late]).finally(() => clearTimeout(timer));
}
