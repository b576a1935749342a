// What a start does when its id is taken, and what it carries besides the input. A workflow id is
// its entity key, so an instance that ended still holds it: by default (`idReuse: 'never'`) a
// start of an ended id starts nothing and answers `created: false` (the first outcome stays); with
// `'afterFailure'` an id whose instance failed, was cancelled or timed out starts anew; with `'always'` (what
// Temporal does by default, ALLOW_DUPLICATE) any ended one does. A reused id starts a new run on a
// fresh journal, its keys marked with the run number as a continue-as-new's are (`~c<n>`), so no
// idempotency key of the old instance is ever used again; the old one is kept as a summary in
// `previousRuns` with how it ended. A running instance is never replaced (Temporal's
// USE_EXISTING conflict policy), except under `'terminateIfRunning'`: the start ends it as
// terminated (status cancelled, no compensation run, its body stopped where it was) and writes the
// new run in the same record write ({@link terminatedRecord}), so no start sees neither.
//
// Signal-with-start and update-with-start ride on the start request: on a new (or reused) instance
// the signal or update is in the same write that creates it (nothing is started without it, and it
// is never lost between two calls); on a running one it is delivered as a plain signal or update.

import { quoted } from '../../contract/thrown.js';
import type { IdReusePolicy } from '../model/define.js';
import { ErrWorkflowIncorrect } from '../model/errors.js';
import type { WorkflowEndStatus, WorkflowRecord, WorkflowRunLink, WorkflowStatus } from '../model/record.js';
import { checkSignalId } from '../model/bounds.js';
import { continuedRecord, MAX_PREVIOUS_RUNS, newRunId } from '../model/continue_as_new.js';

export { checkIdReuse, isIdReusePolicy, type IdReusePolicy } from '../model/define.js';

/** Whether an instance that ended `status` may be started again under `policy`. */
export function reusable(policy: IdReusePolicy, status: WorkflowStatus): boolean {
  if (status === 'running') return policy === 'terminateIfRunning';
  if (policy === 'always' || policy === 'terminateIfRunning') return true;
  return policy === 'afterFailure' && (status === 'failed' || status === 'cancelled' || status === 'timedOut');
}

/**
 * The record of a new instance on `input` under the id of `rec`, which ended: a fresh journal and
 * attributes, a new run (its number one more: the idempotency keys differ from every old one), the
 * old instance kept in `previousRuns` with how it ended. Kept: signal ids and answered updates (a
 * repeat of one is recognised, not taken anew). Dropped: its outcome, watchers, kept signals and
 * unanswered updates (they were the old instance's), resets and failed attempts.
 */
export function reusedRecord(rec: WorkflowRecord, input: unknown, now: number): WorkflowRecord {
  const next = continuedRecord(rec, input, now, newRunId());
  const old = next.previousRuns![next.previousRuns!.length - 1]!;
  const link: WorkflowRunLink = {
    ...old,
    status: rec.status as WorkflowEndStatus,
    ...(rec.endedAt === undefined ? {} : { endedAt: rec.endedAt }),
  };
  const { output: _o, error: _e, cancel: _c, endedAt: _d, watchers: _w, attributes: _a, timeouts: _t, ...rest } = next;
  return {
    ...rest,
    status: 'running',
    startedAt: now,
    signals: [],
    updates: (rec.updates ?? []).filter((u) => u.out !== undefined),
    previousRuns: [...(rec.previousRuns ?? []), link].slice(-MAX_PREVIOUS_RUNS),
  };
}

/** What a terminated run's `cancel` says (a start with `idReuse: 'terminateIfRunning'` ended it). */
export const TERMINATED_BY_START = 'terminated: a start with idReuse terminateIfRunning replaced it';

/**
 * The record of a running instance `rec` ended by a terminate at `now`: cancelled with
 * {@link TERMINATED_BY_START}, its compensations not run (Temporal's terminate runs no cleanup).
 */
export function terminatedRecord(rec: WorkflowRecord, now: number): WorkflowRecord {
  const { blocked: _b, ...rest } = rec;
  return { ...rest, status: 'cancelled', cancel: TERMINATED_BY_START, endedAt: now };
}

/** A signal sent with a start (signal-with-start). */
export interface StartSignal {
  readonly name: string;
  readonly payload: unknown;
  /** Its id: a repeat is a duplicate (as `handle.signal`'s `id`). */
  readonly id?: string;
}

/** An update sent with a start (update-with-start). */
export interface StartUpdate {
  readonly name: string;
  readonly input: unknown;
  readonly id: string;
}

/** Checks the shape of a start's `signal` (the instance checks its name and payload against the kind). */
export function checkStartSignal(v: unknown): StartSignal | undefined {
  if (v === undefined) return undefined;
  const s = v as { name?: unknown; id?: unknown } | null;
  if (typeof s !== 'object' || s === null || typeof s.name !== 'string' || !('payload' in s))
    throw ErrWorkflowIncorrect.with('start: signal is { name, payload, id? }');
  checkSignalId(`start: signal ${quoted(s.name)}`, s.id);
  return v as StartSignal;
}
