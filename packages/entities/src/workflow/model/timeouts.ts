// A workflow's execution and run timeouts (Temporal's `workflowExecutionTimeout` and
// `workflowRunTimeout`): a start's `executionTimeoutMs` bounds the whole chain of runs under its id
// — every continue-as-new of it, a cron workflow's runs — counted from the chain's first start;
// its `runTimeoutMs` bounds each run, counted from that run's start. Both are kept in the record
// (`timeouts`) by the write that makes the instance, and each deadline is derived from a time the
// record keeps (`startedAt`, `runStartedAt`), never from a timer of one process: the instance's
// durable `wake` reminder is staged at the deadline (commit_queue.ts), so the deadline fires on
// whichever member owns the key then, after a restart, a crash or a hand-off, once.
//
// Past its deadline the instance ends `timedOut` (instance/operator_requests.ts's `timeOutRequest`),
// as a terminate ends it: its body stopped where it was (its running steps' attempts aborted, no
// compensation run), its open children cancelled (the engine's parent close policy), its waiting
// `result()` callers answered with ERR_WORKFLOW_TIMED_OUT; its record keeps that error (`error`,
// with `details.timeout`: 'execution' or 'run'). A continue-as-new gives the next run a deadline of
// its own (run timeout) and keeps the chain's (execution timeout). A start that uses the id again
// (`idReuse`) starts a new chain with its own timeouts (none: unbounded).

import { defineError } from 'ergo-ts';

import { describeThrown } from '../../contract/thrown.js';
import { MAX_WAKE_AT } from './bounds.js';
import { ErrWorkflowIncorrect, storedError } from './errors.js';
import type { WorkflowRecord, WorkflowTimeouts } from './record.js';

export type { WorkflowTimeouts } from './record.js';

/**
 * The instance ran past its execution or run timeout (a start's `executionTimeoutMs` /
 * `runTimeoutMs`): it ended `timedOut`, its body stopped where it was. What `result()` rejects with,
 * and the record's `error` (its `details.timeout` says which: 'execution' or 'run').
 */
export const ErrWorkflowTimedOut = defineError('ERR_WORKFLOW_TIMED_OUT', 'workflow: timed out');

/** Which timeout ended an instance. */
export type WorkflowTimeoutKind = 'execution' | 'run';

/** The deadline an instance's timeouts set now: when, and which timeout it is. */
export interface TimeoutDeadline {
  readonly at: number;
  readonly kind: WorkflowTimeoutKind;
}

/** One timeout option checked: undefined, or a whole number of ms ≥ 1 (ERR_WORKFLOW_INCORRECT otherwise). */
function checkMs(what: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_WAKE_AT)
    throw ErrWorkflowIncorrect.with(`${what} must be a whole number of ms ≥ 1, got ${describeThrown(v)}`);
  return v;
}

/**
 * A start's `executionTimeoutMs` and `runTimeoutMs` checked (ERR_WORKFLOW_INCORRECT for one that is
 * not a whole number of ms ≥ 1): the record's {@link WorkflowTimeouts}, undefined when neither is set.
 */
export function checkTimeouts(
  workflow: string,
  o: { readonly executionTimeoutMs?: unknown; readonly runTimeoutMs?: unknown },
): WorkflowTimeouts | undefined {
  const executionMs = checkMs(`workflow ${workflow}: start's executionTimeoutMs`, o.executionTimeoutMs);
  const runMs = checkMs(`workflow ${workflow}: start's runTimeoutMs`, o.runTimeoutMs);
  if (executionMs === undefined && runMs === undefined) return undefined;
  return { ...(executionMs === undefined ? {} : { executionMs }), ...(runMs === undefined ? {} : { runMs }) };
}

/** The timeouts a start request carries, as a raw caller may send them: kept only when well formed. */
export function timeoutsOf(v: unknown): WorkflowTimeouts | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const t = v as { executionMs?: unknown; runMs?: unknown };
  try {
    return checkTimeouts('', { executionTimeoutMs: t.executionMs, runTimeoutMs: t.runMs });
  } catch {
    return undefined;
  }
}

/**
 * The earliest deadline `rec`'s timeouts set (undefined: none, or it is not running): the chain's
 * from its first start (`startedAt`), the run's from the run's start (`runStartedAt`, else
 * `startedAt` for a first run); the execution's when both fall at the same time.
 */
export function timeoutDeadline(rec: WorkflowRecord): TimeoutDeadline | undefined {
  const t = rec.timeouts;
  if (t === undefined || rec.status !== 'running' || rec.startedAt === undefined) return undefined;
  const execution = t.executionMs === undefined ? undefined : rec.startedAt + t.executionMs;
  const run = t.runMs === undefined ? undefined : (rec.runStartedAt ?? rec.startedAt) + t.runMs;
  if (execution !== undefined && (run === undefined || execution <= run)) return { at: execution, kind: 'execution' };
  return run === undefined ? undefined : { at: run, kind: 'run' };
}

/** The deadline of `rec` when it passed at `now` (undefined: none, or not yet). */
export function timeoutDue(rec: WorkflowRecord, now: number): TimeoutDeadline | undefined {
  const d = timeoutDeadline(rec);
  return d !== undefined && d.at <= now ? d : undefined;
}

/** The error an instance that ran past `due` ends with (its `details.timeout` the kind). */
export function timedOutError(workflow: string, id: string, rec: WorkflowRecord, due: TimeoutDeadline): Error {
  const ms = due.kind === 'execution' ? rec.timeouts?.executionMs : rec.timeouts?.runMs;
  const err = ErrWorkflowTimedOut.with(`workflow ${workflow}/${id}: its ${due.kind} timeout (${ms} ms) passed`);
  (err as { details?: unknown }).details = { timeout: due.kind, timeoutMs: ms };
  return err;
}

/**
 * The record of running instance `rec` ended by its timeout `due` at `now`: `timedOut`, its error
 * kept, its body's compensations not run (a timeout ends it as a terminate does).
 */
export function timedOutRecord(
  workflow: string,
  id: string,
  rec: WorkflowRecord,
  due: TimeoutDeadline,
  now: number,
): WorkflowRecord {
  const { blocked: _b, ...rest } = rec;
  return { ...rest, status: 'timedOut', error: storedError(timedOutError(workflow, id, rec, due)), endedAt: now };
}
