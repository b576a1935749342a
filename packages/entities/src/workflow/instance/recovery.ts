// What an operator's resume and reset do to an instance's record (engine.ts runs the body again
// afterwards). A resume runs the same history on: a halted instance replays on the current code, a
// failed one has its failed steps' entries dropped so they run again (kept apart as failed
// attempts, which describe shows). A reset, as Temporal's, runs
// the instance again from an earlier operation: the journal is cut at `toSeq` (operations before
// it replay from their entries, none re-runs), the signals it had consumed from there on are kept
// again (consumed anew, in the order they came), its outcome, halt and cancel are dropped, and the
// reset is counted. Operations from `toSeq` on run again on the current code, and their effects'
// idempotency keys carry the reset's number (see {@link keyGeneration}): a receiver that
// de-duplicates by key applies them again.

import { ErrWorkflowClosed, ErrWorkflowIncorrect } from '../model/errors.js';
import {
  MAX_FAILED_ATTEMPTS,
  type BufferedSignal,
  type WorkflowJournalEntry,
  type WorkflowRecord,
  type WorkflowReset,
} from '../model/record.js';
import { updatesAfterReset } from './updates.js';

/**
 * Why a resume of `rec` is refused (undefined: it may resume): a completed, cancelled or timed-out
 * instance, or a failed one whose journal goes on past its first failed step (compensations or
 * other operations ran after it: replayed once the step succeeds, they would no longer match).
 */
export function resumeRefusal(workflow: string, id: string, rec: WorkflowRecord): Error | undefined {
  if (rec.status === 'completed' || rec.status === 'cancelled' || rec.status === 'timedOut')
    return ErrWorkflowClosed.with(`workflow ${workflow}/${id} is ${rec.status}`);
  if (rec.status !== 'failed') return undefined;
  // Failed because compensations failed for good: a resume runs them again (those done replay).
  if (rec.error?.code === 'ERR_WORKFLOW_COMPENSATION_FAILED') return undefined;
  let failedAt = Infinity;
  for (const e of rec.journal) if (e.t === 'step' && e.e !== undefined) failedAt = Math.min(failedAt, e.s);
  const after = rec.journal.filter((e) => e.s > failedAt).sort((a, b) => a.s - b.s)[0];
  if (after === undefined) return undefined;
  return ErrWorkflowClosed.with(
    `workflow ${workflow}/${id} failed at operation ${failedAt} and went on (${after.t} '${after.n}' at ${after.s}): ` +
      `a resume would run the failed step again under what ran after it; reset it to an earlier operation instead`,
  );
}

/**
 * The record a resume at `now` runs (the refusal checked first): running, its failed steps'
 * entries dropped from the journal (so they run again) and kept as failed attempts (the history).
 */
export function resumedRecord(rec: WorkflowRecord, now: number): WorkflowRecord {
  const { blocked: _b, error: _e, endedAt: _t, ...rest } = rec;
  const failed = (e: WorkflowJournalEntry): boolean => e.e !== undefined && e.t === 'step';
  const dropped = rec.journal.filter(failed).map((e) => ({ ...e, resumedAt: now }));
  const attempts = [...(rec.failedAttempts ?? []), ...dropped].slice(-MAX_FAILED_ATTEMPTS);
  return {
    ...rest,
    status: 'running',
    journal: rec.journal.filter((e) => !failed(e)),
    ...(attempts.length === 0 ? {} : { failedAttempts: attempts }),
  };
}

/**
 * The record a reset of `rec` to operation `toSeq` runs (see the top of this file); throws
 * ERR_WORKFLOW_INCORRECT for a `toSeq` that is not an integer from 0 to one past its last operation.
 */
export function resetRecord(
  workflow: string,
  id: string,
  rec: WorkflowRecord,
  toSeq: unknown,
  reason: unknown,
  now: number,
  requestId?: string,
): WorkflowRecord {
  const last = rec.journal.reduce((m, e) => Math.max(m, e.s), -1);
  if (typeof toSeq !== 'number' || !Number.isInteger(toSeq) || toSeq < 0 || toSeq > last + 1)
    throw ErrWorkflowIncorrect.with(
      `reset of workflow ${workflow}/${id}: toSeq must be an integer from 0 to ${last + 1}, got ${String(toSeq)}`,
    );
  if (reason !== undefined && typeof reason !== 'string')
    throw ErrWorkflowIncorrect.with(`reset of workflow ${workflow}/${id}: the reason must be a string`);
  // Signals consumed from the cut on come back, ahead of those still kept (they came first).
  const again: BufferedSignal[] = rec.journal
    .filter((e) => e.s >= toSeq && e.t === 'signal' && e.done === true && e.e === undefined)
    .sort((a, b) => a.s - b.s)
    .map((e) => ({ name: e.n, payload: e.v }));
  const reset: WorkflowReset = {
    toSeq,
    at: now,
    ...(reason === undefined || reason === '' ? {} : { reason }),
    ...(requestId === undefined ? {} : { id: requestId }),
  };
  const { blocked: _b, error: _e, output: _o, endedAt: _t, cancel: _c, ...rest } = rec;
  const next: WorkflowRecord = {
    ...rest,
    status: 'running',
    journal: rec.journal.filter((e) => e.s < toSeq),
    signals: [...again, ...rec.signals],
    resets: [...(rec.resets ?? []), reset],
  };
  return updatesAfterReset(next, toSeq);
}
