// The errors of the workflow engine: each a sentinel with a stable `code` (as the entities' own),
// plus the terminal-error marker a step throws to stop its retries; how an error is kept in a
// workflow's journal (its chain, stack and details) is stored_error.ts, re-exported here.

import { defineError } from 'ergo-ts';

import { keepDetailAcrossNodes } from '../../contract/wire_errors.js';

export {
  MAX_CAUSE_DEPTH,
  MAX_STACK_CHARS,
  MAX_STORED_ERROR_BYTES,
  errorHead,
  revivedError,
  storedError,
} from './stored_error.js';
export type { StoredError, WorkflowFailureConverter } from './stored_error.js';

/** A call named a workflow id that was never started (result, signal, query, cancel, describe). */
export const ErrWorkflowNotFound = defineError('ERR_WORKFLOW_NOT_FOUND', 'workflow: no such instance');

/** A signal, cancel or retry reached an instance that already completed, failed or was cancelled. */
export const ErrWorkflowClosed = defineError('ERR_WORKFLOW_CLOSED', 'workflow: the instance has ended');

/**
 * A replay asked for a different operation than its journal recorded at that position (the code
 * changed under a running instance without a patch marker). The instance halts ("blocked"), nothing
 * is written, and it is tried again on its next activation or an operator's `resume`.
 */
export const ErrWorkflowDiverged = defineError('ERR_WORKFLOW_DIVERGED', 'workflow: replay diverged from the journal');

/** The instance was cancelled: thrown by the context's operations once a cancel was requested. */
export const ErrWorkflowCancelled = defineError('ERR_WORKFLOW_CANCELLED', 'workflow: cancelled');

/** A wait with a timeout (a signal, a step's attempt) ran out of time. */
export const ErrWorkflowTimeout = defineError('ERR_WORKFLOW_TIMEOUT', 'workflow: timed out');

/**
 * An activity's attempt did not reach a member that could run it (the member's entities manager
 * unknown there, no route to it, or it no longer serves the queue or knows the kind): the engine's
 * failure, not the activity's. The step waits and asks again (a serving member found anew), and
 * the attempt is not counted; the body never sees this error.
 */
export const ErrWorkflowActivityNotDelivered = defineError(
  'ERR_WORKFLOW_ACTIVITY_NOT_DELIVERED',
  'workflow: an activity attempt did not reach a member to run it',
);

/**
 * A `ctx.call` reached no handler of its entity (no process, no route, its owner not reached, its
 * activation failed or did not answer, or its owner refused new work): nothing ran, so it is the
 * engine's failure, not the call's. The step waits and calls again, the attempt is not counted,
 * and the body never sees this error. A call that may have run (no answer in time, a connection
 * lost under it) and the entity's own error still count as attempts.
 */
export const ErrWorkflowCallNotDelivered = defineError(
  'ERR_WORKFLOW_CALL_NOT_DELIVERED',
  'workflow: an entity call reached no handler',
);

/** A step failed for good (a terminal error, or its retries were used up): the body sees this. */
export const ErrWorkflowStepFailed = defineError('ERR_WORKFLOW_STEP_FAILED', 'workflow: step failed');

/**
 * `runCompensations()` ran every compensation and one or more failed for good (their retries used
 * up, or a terminal error): the message names them, the `cause` is the first one's failure. An
 * instance whose body throws it ends `failed`, even after a cancel (an undo did not happen: an
 * operator must see it, and `resume()` runs the failed compensations again).
 */
export const ErrWorkflowCompensationFailed = defineError(
  'ERR_WORKFLOW_COMPENSATION_FAILED',
  'workflow: compensations failed',
);

/**
 * An update was refused before anything was journaled: its input failed the declared schema (at
 * the client or at the instance), the definition's `validate` threw, or too many updates wait.
 */
export const ErrWorkflowUpdateRejected = defineError('ERR_WORKFLOW_UPDATE_REJECTED', 'workflow: update rejected');

/**
 * `getUpdateHandle(updateId).result()` asked for an update the instance does not know: never
 * accepted under that id, or answered so long ago that its answer is no longer kept (the newest
 * 1024 answered updates are).
 */
export const ErrWorkflowUpdateNotFound = defineError('ERR_WORKFLOW_UPDATE_NOT_FOUND', 'workflow: no such update');

/** The body answered an update with `fail(error)`: `handle.update` rejects with this, its `cause` that error. */
export const ErrWorkflowUpdateFailed = defineError('ERR_WORKFLOW_UPDATE_FAILED', 'workflow: update failed');

/**
 * A start or a signal whose outcome is not known: an attempt of it reached its instance's owner,
 * or the store, and no answer came back before the call's `timeout` (the owner paused, overloaded
 * or cut off; the store's commit undecided). It may have been kept. Ask again the same way: a
 * start with the same workflow id is answered `created: false` if the first one made the
 * instance; a signal sent again is kept once only with the same `id` (give `signal()` an `id`
 * whenever you may send it again). Its `cause` is the last attempt's failure.
 */
export const ErrWorkflowOutcomeUnknown = defineError(
  'ERR_WORKFLOW_OUTCOME_UNKNOWN',
  'workflow: the outcome of the request is unknown',
);

/**
 * A batch start whose `confirm` (the count the operator confirmed, a dry run's `matched`) is not
 * what its query matches now: instances started, ended or changed between the count and the
 * start. Nothing was started; count again and confirm the new number.
 */
export const ErrWorkflowBatchCountChanged = defineError(
  'ERR_WORKFLOW_BATCH_COUNT_CHANGED',
  'workflow batch: the query matches another count than the one confirmed',
);

/** The instance failed: `result()` rejects with this, its `cause` the body's error as journaled. */
export const ErrWorkflowFailed = defineError('ERR_WORKFLOW_FAILED', 'workflow: the instance failed');

/** A step's result (or a workflow's input or output) is larger than the kind's `maxValueBytes`. */
export const ErrWorkflowValueTooLarge = defineError('ERR_WORKFLOW_VALUE_TOO_LARGE', 'workflow: value too large');

/**
 * The body asked for a wait (`ctx.signal`, `ctx.update`, `ctx.sleep`, `ctx.select`) while another
 * of its waits was still pending — the shape of `Promise.race([ctx.signal(a), ctx.update(b)])`. A
 * replay would hand both back from the journal at once and decide the race by microtask order, not
 * by what happened, so it is refused at the second wait, before anything is journaled: wait for
 * the first of several with `ctx.select`.
 */
export const ErrWorkflowConcurrentWait = defineError(
  'ERR_WORKFLOW_CONCURRENT_WAIT',
  'workflow: a wait was asked while another is pending (use ctx.select)',
);

/** The refusal of wait `what` of instance `workflow`/`id` while the wait `pending` is still pending. */
export function concurrentWait(workflow: string, id: string, what: string, pending: string): Error {
  return ErrWorkflowConcurrentWait.with(
    `workflow ${workflow}/${id}: ${what} was asked while ${pending} still waits; a replay would ` +
      'decide between them by the order of microtasks, not by what happened. Wait for the first of ' +
      'several with ctx.select({ a: { signal: ... }, b: { update: ... }, late: { sleep: ms } })',
  );
}

/** ERR_WORKFLOW_INCORRECT: a wait (`ctx.signal`, `ctx.update`, `ctx.select`) asked for a name a handler takes. */
export function handledBy(kind: 'signal' | 'update', name: string): Error {
  const on = kind === 'signal' ? 'ctx.onSignal' : 'ctx.onUpdate';
  return ErrWorkflowIncorrect.with(`${kind} ${JSON.stringify(name)} has a handler (${on}): a wait cannot take it too`);
}

/** A bad argument: an unknown signal or query name, a bad option, a body that is not a function. */
export const ErrWorkflowIncorrect = defineError('ERR_WORKFLOW_INCORRECT', 'workflow: incorrect value or argument');

const terminal = new WeakSet<object>();

/**
 * Marks `err` terminal: a step that throws it fails at once, without retries (a card declined, a
 * validation error). Returns `err`: `throw terminalError(new Error('declined'))`.
 */
export function terminalError<E extends Error>(err: E): E {
  terminal.add(err);
  return err;
}

/** True when `err` was marked by {@link terminalError} (or is a workflow cancellation). */
export function isTerminal(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (terminal.has(err) || ErrWorkflowCancelled.is(err));
}

/**
 * The operation needs what this runtime lacks: listing workflows needs a store with
 * `listStates` (the memory, SQLite and PostgreSQL stores have it; a custom store may not), and a
 * client made without its runtime's store cannot list.
 */
export const ErrWorkflowUnsupported = defineError(
  'ERR_WORKFLOW_UNSUPPORTED',
  'workflow: not supported by this runtime or its store',
);

/**
 * The failure of a step whose attempt did not start within its `scheduleToStartTimeoutMs` (`ms`):
 * ERR_WORKFLOW_TIMEOUT saying why, terminal (Temporal does not retry a schedule-to-start timeout).
 */
export function notStarted(name: string, ms: number, why: string): Error {
  return terminalError(
    ErrWorkflowTimeout.with(`step ${name} did not start within ${ms} ms (scheduleToStartTimeoutMs): ${why}`),
  );
}

// A refusal's detail (a validator's message, the update's failure, the query that timed out)
// reaches a caller on another node.
keepDetailAcrossNodes(
  ErrWorkflowUpdateRejected,
  ErrWorkflowUpdateFailed,
  ErrWorkflowUpdateNotFound,
  ErrWorkflowIncorrect,
  ErrWorkflowClosed,
  ErrWorkflowValueTooLarge,
  ErrWorkflowTimeout,
);
