// Continue-as-new, as Temporal has it: `ctx.continueAsNew(input)` ends the instance's current run
// and starts its next one, under the same workflow id, on `input` and a fresh journal. Its point
// is a bounded history: a workflow that loops for months (a subscription, a poller, an entity's
// life) keeps its record small by continuing every so many iterations, its state carried over as
// the next run's input.
//
// What happens, in order (context.ts calls it, engine.ts saves it):
//  1. the body calls it (an operation: it takes the next number; a cancel throws there): the
//     run must have nothing in flight of its own (no step attempt, child result wait, sleep,
//     signal wait or retry backoff started and not awaited): else ERR_WORKFLOW_CONTINUE_PENDING.
//     Outbox messages are delivered first, as at a body's end;
//  2. the input is checked as a start's is (the kind's schema, maxValueBytes, storable);
//  3. one write replaces the record's current run by the next: the journal emptied, the input
//     replaced, the run number raised, a new run id, the old run's summary pushed on
//     `previousRuns` (at most {@link MAX_PREVIOUS_RUNS}, the newest). Kept: the instance's status
//     (`running`), its first start time, the signals not consumed yet (in order: the next run
//     takes them), the signal ids, the watchers (monitors, links, subscribers). Dropped with the
//     journal: resets and failed attempts (they name the old run's operations);
//  4. that write is refused when a cancel was recorded before it (the body gets
//     ERR_WORKFLOW_CANCELLED, as from any operation: its compensations may run) or when a child the
//     run started has no result journaled (ERR_WORKFLOW_CONTINUE_PENDING: wait for it, or cancel
//     it, first);
//  5. a refusal (in flight, the input, 4) is journaled by the run (an entry `continue` with its
//     error) before the body sees it (a cancel met at the call is not: the record's cancel throws
//     there again on a replay): a replay of the run is then refused at the same point, though what was in
//     flight then is replayed at once now (a call that continued needs no entry);
//  6. once saved, the engine ends the old run (its body sees ERR_WORKFLOW_RUN_ENDED: nothing it
//     does afterwards is written) and starts the next one on the saved record.
// One call at a time (context.ts): a second while one is under way is refused with
// ERR_WORKFLOW_INCORRECT, unwritten; a body that ends meanwhile has its end wait for the call
// (engine.ts): continued, the next run's end is the instance's; refused, it fails with the refusal.
//
// One write makes it atomic: a member killed before it replays the old run, which reaches
// `continueAsNew` again (its steps replayed, none run again); killed after it, the next owner finds
// the new run and starts it from the top. No signal is lost or doubled: a signal is either consumed
// in the old journal (dropped with it) or kept in `signals` (carried over) at the write.

import { defineError } from 'ergo-ts';

import { quoted } from '../../contract/thrown.js';
import { storableSize, valueIssue } from './bounds.js';
import type { WorkflowSpec } from './define.js';
import { ErrWorkflowCancelled, ErrWorkflowIncorrect } from './errors.js';
import { storableRefusal } from './outcome.js';
import {
  emptyRecord,
  openChildren,
  type WorkflowDescription,
  type WorkflowRecord,
  type WorkflowRunLink,
} from './record.js';

/**
 * `ctx.continueAsNew` was called while operations of the run were still in flight (a step, a
 * sleep, a signal wait started without `await`, or a child started and not waited for). The run
 * goes on (the refusal is journaled): await them (or cancel the child) and continue then.
 */
export const ErrWorkflowContinuePending = defineError(
  'ERR_WORKFLOW_CONTINUE_PENDING',
  'workflow: continue-as-new with operations still in flight',
);

/** How many previous runs a record links (the newest): the history of a long chain stays bounded. */
export const MAX_PREVIOUS_RUNS = 64;

/** A new run id (a UUID: made once per run, by the write that starts it). */
export function newRunId(): string {
  return crypto.randomUUID();
}

/** The record of an instance about to start: empty, its first run's id made. */
export function firstRun(): WorkflowRecord {
  return { ...emptyRecord(), runId: newRunId() };
}

/**
 * The run marker of the idempotency keys of `rec`'s current run: `~c<n>` after the operation's
 * number, n the continue-as-new calls before this run (`pay/o1/0~c2/step:charge` in run 3), so an
 * operation at the same position in another run never shares a key; empty for the first run,
 * whose keys are as before continue-as-new existed.
 */
export function runMarker(rec: Pick<WorkflowRecord, 'run'>): string {
  const n = (rec.run ?? 1) - 1;
  return n > 0 ? `~c${n}` : '';
}

/**
 * Refuses a continue-as-new while `inFlight` operations of the run (step attempts, waits) have not
 * settled: ERR_WORKFLOW_CONTINUE_PENDING (thrown into the body, which goes on).
 */
export function checkNothingInFlight(workflow: string, id: string, inFlight: number): void {
  if (inFlight > 0)
    throw ErrWorkflowContinuePending.with(
      `workflow ${workflow}/${id}: continueAsNew with ${inFlight} operation(s) of the run still in flight: await them first`,
    );
}

/** A continuation the engine commits: `apply` makes the next run's record, `check` throws what refused it. */
export interface Continuation {
  /** The record with its current run replaced by the next (or `rec` as it is, refused: see {@link check}). */
  apply(rec: WorkflowRecord): WorkflowRecord;
  /** After the write: throws ERR_WORKFLOW_CANCELLED or ERR_WORKFLOW_CONTINUE_PENDING when `apply` refused. */
  check(): void;
}

/**
 * The continuation of instance `spec.name`/`id` on `input` at `now`. Throws (before anything is
 * written) ERR_WORKFLOW_INCORRECT for an input the kind's schema refuses or whose reading throws,
 * ERR_WORKFLOW_VALUE_TOO_LARGE over `maxValueBytes`, ERR_ENTITY_UNSTORABLE for one no store keeps.
 */
export function continuation(spec: WorkflowSpec, id: string, input: unknown, now: number): Continuation {
  if (spec.input !== undefined) {
    const issue = valueIssue(spec.input, input);
    if (issue !== undefined)
      throw ErrWorkflowIncorrect.with(`workflow ${spec.name}/${id}: continueAsNew: the input is refused: ${issue}`);
  }
  const refused = storableRefusal('the input of continueAsNew', input, spec.maxValueBytes);
  if (refused !== undefined) throw refused;
  let refusal: Error | undefined;
  return {
    apply(rec) {
      refusal = undefined;
      if (rec.status !== 'running') refusal = ErrWorkflowIncorrect.with(`workflow ${spec.name}/${id} has ended`);
      else if (rec.cancel !== undefined)
        refusal = ErrWorkflowCancelled.with(`workflow ${id} was cancelled before it continued as new`);
      else {
        const open = openChildren(rec.journal);
        // An update the run took names the run's operation; the next run could never answer it.
        const taken = (rec.updates ?? []).filter((u) => u.s !== undefined && u.out === undefined);
        if (open.length > 0)
          refusal = ErrWorkflowContinuePending.with(
            `workflow ${spec.name}/${id}: continueAsNew with child ${open.map((c) => c.target).join(', ')} not waited for: wait for its result or cancel it first`,
          );
        else if (taken.length > 0)
          refusal = ErrWorkflowContinuePending.with(
            `workflow ${spec.name}/${id}: continueAsNew with update ${taken.map((u) => quoted(u.id)).join(', ')} taken and not answered: reply or fail it first`,
          );
      }
      return refusal === undefined ? continuedRecord(rec, input, now, newRunId()) : rec;
    },
    check() {
      if (refusal !== undefined) throw refusal;
    },
  };
}

/** `rec` with its current run closed at `now` and the next one (`runId`) started on `input` (see the top of this file). */
export function continuedRecord(rec: WorkflowRecord, input: unknown, now: number, runId: string): WorkflowRecord {
  const { resets: _r, failedAttempts: _f, blocked: _b, ...rest } = rec;
  const run = rec.run ?? 1;
  const link: WorkflowRunLink = {
    run,
    ...(rec.runId === undefined ? {} : { runId: rec.runId }),
    status: 'continued',
    ...((rec.runStartedAt ?? rec.startedAt) === undefined ? {} : { startedAt: rec.runStartedAt ?? rec.startedAt }),
    endedAt: now,
    inputBytes: sizeOf(rec.input),
    entries: rec.journal.length,
  };
  return {
    ...rest,
    status: 'running',
    input,
    journal: [],
    runs: rec.runs + 1, // the next run's body starts
    run: run + 1,
    runId,
    runStartedAt: now,
    previousRuns: [...(rec.previousRuns ?? []), link].slice(-MAX_PREVIOUS_RUNS),
  };
}

/** An input's size as stored (0 when it cannot be measured: it was stored, so this is for a summary only). */
function sizeOf(v: unknown): number {
  try {
    return storableSize(v, 'the input');
  } catch {
    return 0;
  }
}

/** What `ctx.workflowInfo()` gives for the run of `rec` (body/context_types.ts's WorkflowInfo). */
export function runInfo(
  workflowType: string,
  workflowId: string,
  rec: WorkflowRecord,
): {
  workflowType: string;
  workflowId: string;
  runId: string | undefined;
  run: number;
  continuedFromRunId: string | undefined;
  runStartedAt: number | undefined;
  attempt: number;
  memo?: Readonly<Record<string, unknown>>;
  executionTimeoutMs?: number;
  runTimeoutMs?: number;
} {
  const run = rec.run ?? 1;
  // The run it continued from is the last one kept, when that one continued (not an ended
  // instance whose id a later start used again).
  const last = rec.previousRuns?.at(-1);
  const from = last?.status === 'continued' && last.run === run - 1 ? last.runId : undefined;
  const runStartedAt = rec.runStartedAt ?? rec.startedAt;
  return {
    workflowType,
    workflowId,
    runId: rec.runId,
    run,
    continuedFromRunId: from,
    runStartedAt,
    attempt: 1,
    ...(rec.memo === undefined ? {} : { memo: rec.memo }),
    ...(rec.timeouts?.executionMs === undefined ? {} : { executionTimeoutMs: rec.timeouts.executionMs }),
    ...(rec.timeouts?.runMs === undefined ? {} : { runTimeoutMs: rec.timeouts.runMs }),
  };
}

/** The run fields `describe()` shows of `rec` (its current run, and the runs it continued from). */
export function runFields(
  rec: WorkflowRecord,
): Pick<WorkflowDescription, 'run' | 'runId' | 'runStartedAt' | 'previousRuns' | 'memo'> {
  return {
    ...(rec.memo === undefined ? {} : { memo: rec.memo }),
    run: rec.run ?? 1,
    ...(rec.runId === undefined ? {} : { runId: rec.runId }),
    ...(rec.runStartedAt === undefined ? {} : { runStartedAt: rec.runStartedAt }),
    ...(rec.previousRuns === undefined ? {} : { previousRuns: rec.previousRuns }),
  };
}
