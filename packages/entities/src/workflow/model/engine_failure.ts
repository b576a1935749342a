// Which failures are the engine's, not the body's (issue 89). The docs promise: "An engine failure
// ends the run, never the body … Only a step's own error, a timeout and a cancel are the body's to
// handle." Every place where an error could become a step attempt or a body's exception asks here
// (body/effects.ts runStep for the engine's own calls — a child's start, result and cancel,
// `ctx.send` — and body/select.ts for a child branch), so the rule is one list, not a judgement
// per call site.
//
// The split is by who made the call, as Temporal's: what a user's function throws is the step's,
// whatever its code (an activity's errors are the activity's); a call the engine makes on the
// body's behalf fails the body only when its target refuses it (a child that failed, an id that is
// not found). Its target unreachable, the store failing or busy, a process gone, a deadline of the
// engine's own call: those are the engine's, and the engine waits them out (not an attempt,
// nothing journaled) for as long as the run lasts.

import { codesAlong } from '../../contract/codes.js';

/**
 * Codes of failures that are the engine's when a call the engine makes on the body's behalf ends
 * with them: the target or the store could not be reached or answered in time, or a process of
 * the path went away. Looked for along the `cause` chain.
 */
export const ENGINE_FAILURE_CODES: ReadonlySet<string> = new Set([
  // The entities runtime: an owner or activation not reached, the store failing for now.
  'ERR_ENTITY_UNAVAILABLE',
  'ERR_ENTITY_STORE_UNAVAILABLE',
  'ERR_ENTITY_STORE_SESSION_LOST',
  'ERR_ENTITY_STORE_OUTCOME_UNKNOWN',
  'ERR_ENTITY_STORE_BUSY',
  'ERR_ENTITY_STORE_CLOSED',
  'ERR_ENTITY_SQLITE_UNAVAILABLE',
  'ERR_ENTITY_STALE_TOKEN',
  'ERR_ENTITY_LEASE_HELD',
  'ERR_ENTITY_VERSION_CONFLICT',
  'ERR_ENTITY_STOPPED',
  // Its owner refused new work for now (a child's start to an overloaded member): asked again later.
  'ERR_ENTITY_OVERLOADED',
  // A workflow run of the target that ended under the call (its activation handed off).
  'ERR_WORKFLOW_RUN_ENDED',
  // The node: the engine call's own deadline, a connection, a route or a process of the path.
  'ERR_TIMEOUT',
  'TIMEOUT',
  'ERR_NO_CONNECTION',
  'ERR_NO_ROUTE',
  'ERR_PROCESS_UNKNOWN',
  'ERR_NAME_UNKNOWN',
  'ERR_PROCESS_TERMINATED',
  'ERR_NODE_TERMINATED',
  'ERR_NETWORK_STOPPED',
  'ERR_PROCESS_MAILBOX_FULL',
  'ERR_RESPONSE_IGNORED',
  'ERR_REGISTRAR_TERMINATED',
]);

/**
 * True when `err`'s code is one of {@link ENGINE_FAILURE_CODES}: the failure is the engine's if
 * the engine made the call. An error without a code is read by its `cause`; the first code found
 * decides, so a child's own failure (ERR_WORKFLOW_FAILED) is the body's whatever caused it. Never
 * throws, whatever `err` is.
 */
export function isEngineFailure(err: unknown): boolean {
  const first = codesAlong(err)[0];
  return first !== undefined && ENGINE_FAILURE_CODES.has(first);
}

/** The first wait before an engine call failed for the engine's reasons is made again, in ms. */
export const ENGINE_RETRY_FIRST_MS = 200;
/** The longest wait between two such calls, in ms. */
export const ENGINE_RETRY_MAX_MS = 5_000;

/**
 * How long to wait before the `n`th repeat (from 1) of an engine call that failed for the
 * engine's reasons: doubling from {@link ENGINE_RETRY_FIRST_MS} to {@link ENGINE_RETRY_MAX_MS},
 * with up to a fifth of jitter so instances that failed together do not call again together.
 */
export function engineRetryMs(n: number, random: () => number = Math.random): number {
  const base = Math.min(ENGINE_RETRY_MAX_MS, ENGINE_RETRY_FIRST_MS * 2 ** Math.min(16, Math.max(0, n - 1)));
  return Math.round(base * (1 - random() * 0.2));
}
