// What a run of a workflow body (context.ts) needs from its instance (engine.ts), and the small
// types and errors both sides name: the run's end, its waits, its running attempts, its parking.

import { ErgoError, type Log } from 'ergo-ts';

import type { EntitiesClock } from '../../contract/clock.js';
import type { EntitiesClient } from '../../kinds/entity.js';
import type { AnyWorkflowKind, WorkflowSpec } from './define.js';
import { thrownError } from '../../contract/thrown.js';
import { ErrWorkflowStepFailed } from './errors.js';
import type { JournalOp, WorkflowJournalEntry, WorkflowRecord, WorkflowRunningOperation } from './record.js';
import type { UpdateTake } from './update_state.js';
import type { SelectArm, SelectTake } from './select_types.js';

/**
 * Thrown into a run's pending operations when its activation ended: the body's outcome is then
 * ignored. An ErgoError (`ERR_WORKFLOW_RUN_ENDED`), as every error thrown into a body is.
 */
export class RunEnded extends ErgoError {
  constructor(reason: string) {
    super('ERR_WORKFLOW_RUN_ENDED', `workflow run ended: ${reason}`);
    this.name = 'RunEnded';
  }
}

/** What a run needs from its instance (engine.ts). */
export interface RunHost {
  readonly spec: WorkflowSpec;
  readonly id: string;
  readonly entities: EntitiesClient;
  readonly log: Log;
  readonly clock: EntitiesClock;
  /** Queues `mutate` of the record; resolves once it is saved (in order with every other commit). */
  commit(mutate: (rec: WorkflowRecord) => WorkflowRecord): Promise<void>;
  /** Counts operations that run outside a durable wait (the instance is resumed soon if its node dies). */
  busy(delta: number): void;
  /** Keeps (or, with undefined, drops) a durable deadline: the instance's wake-up reminder follows the earliest. */
  deadline(seq: number, until: number | undefined): void;
  /** Waits for signal `name` as operation `seq` (the engine consumes a kept one or the next to come). */
  awaitSignal(seq: number, name: string, until: number | undefined, recordOpen: boolean): Promise<unknown>;
  /** The body stopped waiting for the signal of operation `seq` (a scope's cancel): a later signal is kept. */
  dropSignal?(seq: number): void;
  /** Waits for an update of `names` as operation `seq` (updates.ts: the oldest kept one, or the next accepted). */
  awaitUpdate(seq: number, names: readonly string[], until: number | undefined, recordOpen: boolean): UpdateTake;
  /** Waits for the first branch of a `ctx.select` as operation `seq` (select_waits.ts decides it). */
  awaitSelect(
    seq: number,
    key: string,
    arms: readonly SelectArm[],
    until: number | undefined,
    recordOpen: boolean,
  ): SelectTake;
  /** An update's answer was saved: its callers waiting here hear it. */
  updateAnswered(): void;
  /** The record as the instance holds it now (the signals and updates kept for handlers: body/handlers.ts). */
  peek(): WorkflowRecord;
  /** Starts a child workflow (idempotent by id). */
  startChild(kind: AnyWorkflowKind, id: string, input: unknown): Promise<void>;
  /** Waits for a child's outcome: its output, or the error it failed with. */
  childResult(kind: AnyWorkflowKind, id: string, abort: AbortSignal): Promise<unknown>;
  /** Signals a child (kept once under signal id `signalId`). */
  signalChild(kind: AnyWorkflowKind, id: string, name: string, payload: unknown, signalId: string): Promise<void>;
  /** Asks a child to cancel. */
  cancelChild(kind: AnyWorkflowKind, id: string, reason: string): Promise<void>;
  /**
   * Resolves once the activation's lease is confirmed within its ttl less the margin (the store
   * asked first when it was not: after a pause, say); rejects with {@link RunEnded} when it may be
   * lost, having ended the run and the activation. Awaited before every side effect: a step
   * attempt, a compensation, an outbox delivery, a send.
   */
  confirmLease(): Promise<void>;
  /**
   * Whether the activation's lease is confirmed fresh at this moment, asking nothing: checked in
   * the same turn as a side effect's call (body/effects.ts `withFreshLease`), since the awaited
   * {@link confirmLease} may have resolved long before under load.
   */
  leaseFresh(): boolean;
  /**
   * Replaces the run by the next one on `input` (continue_as_new.ts): resolves once that is saved
   * and the next run started; rejects with what refused it (nothing written).
   */
  continueAsNew(input: unknown): Promise<void>;
}

/**
 * @internal What a run (context.ts) lends the modules that run its operations (updates.ts,
 * effects.ts): its numbering, journal and waits. One object a run, made at its first operation.
 */
export interface RunOps {
  readonly host: RunHost;
  /** The next operation's number (throws when the run ended or diverged). */
  next(): number;
  /** The journal's entry for `seq`, checked against the op asked; undefined past the journal (a cancel strikes there). */
  lookup(seq: number, t: JournalOp, n: string): WorkflowJournalEntry | undefined;
  /** Commits `entry` (by `mutate`, which must add it, when given); resolves once saved. */
  record(entry: WorkflowJournalEntry, mutate?: (rec: WorkflowRecord) => WorkflowRecord): Promise<void>;
  /** A pending wait the run's end (or, `cancellable`, a cancel) rejects; `start` returns its own cleanup. */
  waitFor<T>(
    start: (resolve: (v: T) => void, reject: (e: Error) => void) => () => void,
    cancellable: boolean,
    at?: number,
    strike?: WorkflowJournalEntry,
  ): Promise<T>;
  /** Throws ERR_WORKFLOW_CANCELLED once a cancel was asked (not while compensations run). */
  checkCancel(): void;
  /** The cancel reached the body (a replayed wait threw it): see `cancelStruck`. */
  strike(): void;
  caughtUp(): void;
  /** Whether a handler (`ctx.onSignal`, `ctx.onUpdate`) takes the signal or update `name`: a wait may not. */
  handled(kind: 'signal' | 'update', name: string): boolean;
}

/** A pending wait of a run: a cancel or the run's end rejects it. */
export interface Wait {
  readonly reject: (err: Error) => void;
  /** Compensations keep running after a cancel. */
  readonly cancellable: boolean;
  /** When the clock ends it (a sleep, a retry's backoff, a signal's deadline), epoch ms. */
  readonly at: number | undefined;
  /**
   * The wait's journal entry (a sleep, a signal or an update wait), which a cancel striking it
   * closes with ERR_WORKFLOW_CANCELLED before anything the body's catch does: a replay then throws
   * the cancel at the same wait, instead of guessing whether the wait had ended first.
   */
  readonly strike?: WorkflowJournalEntry;
}

/**
 * What a cancel does to a running attempt: abort its signal and wait for it to settle, end it at
 * once, or nothing (a compensation, a child's result: the child is cancelled and ends by itself).
 */
export type OnCancel = 'wait' | 'abandon' | 'ignore';

/** An attempt of a step that is running. */
export interface RunningAttempt {
  /** The operation and attempt, as `describe()` shows it (absent: not a step's attempt, a select's child wait). */
  readonly op?: WorkflowRunningOperation;
  /** Ends it now with `err` (its signal aborted, its later outcome ignored). */
  readonly stop: (err: Error) => void;
  /** A cancel was asked (see {@link OnCancel}). */
  readonly cancel: (err: Error) => void;
}

/** Whether a run only waits (for time, a signal or a child), and when the clock next ends a wait of it. */
export interface RunParking {
  /** True when nothing of the body runs: every pending operation waits, and no write is in flight. */
  readonly parked: boolean;
  /** The earliest time one of its waits ends on the clock (undefined: it waits for a signal or a child only). */
  readonly wakeAt: number | undefined;
  /** How many operations the body asked for so far. */
  readonly seq: number;
}

/** The error a step that failed for good throws into the body (its cause the last attempt's). */
export function stepFailed(name: string, attempts: number, cause: unknown): Error {
  const c = thrownError(cause);
  const code = (c as { code?: unknown }).code;
  const err = ErrWorkflowStepFailed.with(
    `step ${name} failed after ${attempts} attempt(s): ${typeof code === 'string' ? `${code}: ` : ''}${c.message}`,
  );
  (err as { cause?: unknown }).cause = c;
  return err;
}

/** What the engine's bookkeeping needs of a run (context.ts's Run): whether it ended, and ending it. */
export interface RunRef {
  readonly ended: boolean;
  /** Set once its replay diverged: it halts, and nothing it asks afterwards (its catch block) is written. */
  readonly diverged?: Error | undefined;
  end(reason: string): void;
}

/** A change of the record queued for the next save (engine.ts). */
export interface Commit {
  /** The run that asked (undefined: the engine): a run ended meanwhile writes nothing. */
  readonly run: RunRef | undefined;
  readonly mutate: (rec: WorkflowRecord) => WorkflowRecord;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** A body's wait for a signal (engine.ts). */
export interface SignalWaiter {
  /** The run waiting: its end (a resume, a reset) drops the wait. */
  readonly run: RunRef | undefined;
  readonly seq: number;
  readonly name: string;
  readonly until: number | undefined;
  settled: boolean;
  timer: unknown;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: Error) => void;
}

/**
 * Before a side effect (RunHost.confirmLease): resolves once the activation's lease is `confirmed`;
 * when it may be lost, ends the run (nothing more of it reaches the world; the host ends the
 * activation, whose next one resumes the body from the journal) and rejects with {@link RunEnded}.
 */
export async function confirmedOrEnded(confirmed: Promise<boolean>, run: () => RunRef | undefined): Promise<void> {
  if (await confirmed) return;
  const why = 'its lease could not be confirmed before a side effect (a pause, or the store unreachable)';
  run()?.end(why);
  throw new RunEnded(why);
}
