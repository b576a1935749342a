// An instance's operator requests: cancel, terminate, resume, reset, describe, watch. Each reads and
// changes the record through the engine (engine.ts), which keeps the body's run and its waits: what
// a request needs of it is the OperatorHost below, so the engine stays the body's side and this
// file the operator's.

import { refuseCall, type EntitiesClient } from '../../kinds/entity.js';
import type { EntitiesClock } from '../../contract/clock.js';
import type { Run } from '../body/context.js';
import type { WorkflowSpec } from '../model/define.js';
import { ErrWorkflowCancelled, ErrWorkflowClosed } from '../model/errors.js';
import type { WorkflowDescription, WorkflowRecord } from '../model/record.js';
import { describeRecord } from '../client/listing.js';
import { queuedSteps } from '../scheduling/queues.js';
import { terminatedRecord } from '../client/start_policy.js';
import { resetRecord, resumedRecord, resumeRefusal } from './recovery.js';
import { timedOutRecord, type TimeoutDeadline } from '../model/timeouts.js';
import {
  announceEnded,
  cancelOpenChildren,
  tellWatcher,
  watchRequest,
  type EndingHost,
  type Notifier,
  type WatchOutcome,
} from './watchers.js';
import { withPendingUpdates } from './updates.js';
import type { CommitQueue } from './commit_queue.js';
import type { SignalWaits } from './signal_waits.js';

/** The most watchers one instance keeps (monitors, links and journal subscribers together). */
const MAX_WATCHERS = 1000;

/** @internal What an operator request needs of its instance's engine. */
export interface OperatorHost {
  readonly spec: WorkflowSpec;
  readonly key: string;
  readonly entities: EntitiesClient;
  readonly clock: EntitiesClock;
  readonly saving: CommitQueue;
  readonly signals: SignalWaits;
  /** The record (refused with ERR_WORKFLOW_NOT_FOUND when the instance was never started). */
  known(): WorkflowRecord;
  /** The entity's state: set, it is what the next save writes. */
  state: WorkflowRecord;
  /** The body running here, if any. */
  run: Run | undefined;
  /** The run that ended the instance here (kept for queries). */
  finished: Run | undefined;
  /** A replay diverged in this activation. */
  halted: boolean;
  /** The body started on a halted record. */
  recovering: Run | undefined;
  /** Saves the state as it is. */
  save(): Promise<void>;
  /** Starts the body when the instance runs and none runs here. */
  ensureRunning(): void;
  /** Starts the body on the record as it is now. */
  startRun(): void;
  /** Ends `run` here: its waits reject, its queued writes are dropped. */
  endRun(run: Run, why: string): void;
  /** Answers updates left unanswered. */
  lookUpdates(): void;
  ending(): EndingHost;
  notifier(): Notifier;
}

/** A cancel: the body meets it at its next operation (journaled), its open children are cancelled. */
export async function cancelRequest(h: OperatorHost, reason: unknown): Promise<string> {
  const rec = h.known();
  const why = typeof reason === 'string' && reason !== '' ? reason : 'cancelled';
  if (rec.status !== 'running') {
    if (rec.status === 'cancelled') return 'cancelled';
    throw refuseCall(ErrWorkflowClosed.with(`workflow ${h.spec.name}/${h.key} is ${rec.status}`));
  }
  if (rec.cancel !== undefined) return 'cancelled';
  h.state = { ...rec, cancel: why };
  await h.saving.stageWake();
  await h.saving.persist(rec);
  const err = ErrWorkflowCancelled.with(why);
  h.signals.rejectAll(err);
  if (h.run !== undefined) h.run.cancel(why);
  else h.ensureRunning(); // a waiting body not running here: replayed, it meets the cancel
  cancelOpenChildren(h.ending(), why, h.state.journal);
  return 'cancelled';
}

/** The instance as an operator sees it, with its steps running or queued here. */
export function describeRequest(h: OperatorHost): WorkflowDescription {
  const run = h.run;
  const active = run !== undefined && !run.ended;
  const rec = h.known();
  const running = active ? [...run.running(), ...queuedSteps(h.entities, h.spec.name, h.key)] : [];
  return withPendingUpdates(describeRecord(h.spec.name, h.key, rec, h.clock.now(), active, running), rec);
}

/** An operator's resume: a blocked instance runs again; a failed one has its failed steps run again. */
export async function resumeRequest(h: OperatorHost): Promise<string> {
  const rec = h.known();
  const refusal = resumeRefusal(h.spec.name, h.key, rec);
  if (refusal !== undefined) throw refuseCall(refusal);
  const run = h.run;
  if (rec.status === 'running' && run !== undefined && !run.ended && run.diverged === undefined) {
    // A body runs on the current code (started on the halted record, it may have dropped
    // `blocked` already): it goes on. Ended here, its signal waits took the next signal.
    if (rec.blocked === undefined && h.recovering !== run) return 'running';
    h.recovering = undefined;
    const { blocked: _b, ...rest } = rec;
    h.state = rest;
    await h.save();
    return 'resumed';
  }
  h.state = resumedRecord(rec, h.clock.now());
  await rerun(h, 'resumed');
  return 'resumed';
}

/** An operator's reset (recovery.ts): the instance runs again from operation `toSeq` on the current code. */
export async function resetRequest(h: OperatorHost, toSeq: unknown, reason: unknown, id: unknown): Promise<string> {
  const rec = h.known();
  // A repeat of a reset's id (a batch acting again after a crash) is answered, not done twice.
  if (typeof id === 'string' && id !== '' && (rec.resets ?? []).some((x) => x.id === id)) return 'reset';
  try {
    const rid = typeof id === 'string' && id !== '' ? id : undefined;
    h.state = resetRecord(h.spec.name, h.key, rec, toSeq, reason, h.clock.now(), rid);
  } catch (err) {
    throw refuseCall(err as Error);
  }
  await rerun(h, 'reset');
  return 'reset';
}

/**
 * An operator's terminate (Temporal's): a running instance ends at once, cancelled with
 * `terminated: <reason>`, its body stopped where it was and no compensation run ('terminated');
 * one already cancelled answers the same (a repeat); a completed or failed one ERR_WORKFLOW_CLOSED.
 */
export async function terminateRequest(h: OperatorHost, reason: unknown): Promise<string> {
  const rec = h.known();
  if (rec.status === 'cancelled') return 'terminated';
  if (rec.status !== 'running')
    throw refuseCall(ErrWorkflowClosed.with(`workflow ${h.spec.name}/${h.key} is ${rec.status}`));
  const why = `terminated: ${typeof reason === 'string' && reason !== '' ? reason : 'by an operator'}`;
  await endWhereItIs(h, rec, { ...terminatedRecord(rec, h.clock.now()), cancel: why }, why);
  return 'terminated';
}

/**
 * Ends the instance `ended` where its body is (a terminate, a timeout): the body stopped (its
 * running attempts aborted, no compensation run), the end saved, its `result()` callers and
 * watchers told, its unanswered updates refused (ERR_WORKFLOW_CLOSED).
 */
async function endWhereItIs(h: OperatorHost, rec: WorkflowRecord, ended: WorkflowRecord, why: string): Promise<void> {
  if (h.run !== undefined) h.endRun(h.run, why);
  h.run = undefined;
  h.halted = false;
  h.finished = undefined;
  h.state = ended;
  await h.saving.stageWake();
  await h.saving.saveWake();
  announceEnded(h.ending(), rec, ended);
  h.lookUpdates();
}

/**
 * The instance ran past its execution or run timeout `due` (timeouts.ts; its `wake` reminder
 * fired): it ends `timedOut` as a terminate ends it — its body stopped where it was (its running
 * attempts aborted, no compensation run), its open children cancelled, its `result()` callers and
 * watchers told, its unanswered updates refused. A fire for an instance already ended does nothing.
 */
export async function timeOutRequest(h: OperatorHost, due: TimeoutDeadline): Promise<void> {
  const rec = h.state;
  if (rec.status !== 'running') return;
  const ended = timedOutRecord(h.spec.name, h.key, rec, due, h.clock.now());
  await endWhereItIs(h, rec, ended, ended.error!.message);
}

/** A watch or unwatch of the instance by a process (watchers.ts). */
export async function watchRequestOf(h: OperatorHost, pid: unknown, mode: unknown, on: boolean): Promise<string> {
  let o: WatchOutcome;
  try {
    o = watchRequest(h.spec.name, h.key, h.known(), pid, mode, on, MAX_WATCHERS);
  } catch (err) {
    throw refuseCall(err as Error);
  }
  for (const f of o.tell) tellWatcher(h.ending(), () => f(h.notifier()));
  if (o.next !== undefined) {
    h.state = o.next;
    await h.save();
  }
  return o.reply;
}

/** Ends the body running here (if any) and starts it again on the record as it is now. */
async function rerun(h: OperatorHost, why: string): Promise<void> {
  h.halted = false;
  h.finished = undefined;
  if (h.run !== undefined) h.endRun(h.run, why);
  h.run = undefined;
  await h.saving.stageWake(true);
  await h.saving.saveWake();
  h.startRun();
}
