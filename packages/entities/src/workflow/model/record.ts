// What a workflow instance stores (its entity state): its status, input and outcome, its journal
// (one entry per context operation, by sequence number: a step's result, a sleep's wake-up time, a
// signal received, a recorded `now()`...), the signals it was sent and has not consumed yet, and a
// cancel request. And the requests its entity answers (start, result, signal, query, cancel,
// describe, resume, reset), which a client sends from any node.

import { defineProtocol, schema } from 'ergo-ts';

import type { IndexValue } from '../../contract/state_index.js';
import type { StoredError } from './errors.js';
import type { PendingUpdate, UpdateState } from './update_state.js';

/** What a watcher asked for. */
export type WatchMode = 'monitor' | 'link' | 'journal';

/** A watcher as the record keeps it (a PID's fields: a store keeps plain values). */
export interface StoredWatcher {
  readonly node: string;
  readonly id: number;
  readonly creation: number;
  readonly mode: WatchMode;
}

/**
 * Where an instance is. `running` covers a body that sleeps or waits for a signal; `timedOut`: it
 * ran past a start's `executionTimeoutMs` or `runTimeoutMs` (timeouts.ts).
 */
export type WorkflowStatus = 'running' | 'completed' | 'failed' | 'cancelled' | 'timedOut';

/** A start's execution and run timeouts as the record keeps them, ms (timeouts.ts; absent: unbounded). */
export interface WorkflowTimeouts {
  /** The whole chain of runs, from its first start (continue-as-new included). */
  readonly executionMs?: number;
  /** Each run, from its own start. */
  readonly runMs?: number;
}

/** How an instance that is no longer running ended. */
export type WorkflowEndStatus = Exclude<WorkflowStatus, 'running'>;

/**
 * The operations a journal records (`compensate` steps are steps named `compensate:<name>`).
 * `retry` is a step's open entry (attempts failed, the next one due; `of` the step's own op): its
 * own op, so code from before it halts as diverged on it rather than read it as a result.
 * `continue` is a continue-as-new that was refused (its `e`): one that succeeded drops the journal.
 * `select` is a `ctx.select`: its value names the branch that won (select.ts). `condition` is a
 * `ctx.condition` or `ctx.allHandlersFinished` wait, `handle` a message handed to a handler
 * (body/handlers.ts).
 */
export type JournalOp =
  | 'step'
  | 'sleep'
  | 'signal'
  | 'now'
  | 'random'
  | 'uuid'
  | 'patch'
  | 'child'
  | 'send'
  | 'outbox'
  | 'retry'
  | 'continue'
  | 'update'
  | 'reply'
  | 'select'
  | 'condition'
  | 'handle';

/** One entry of an instance's journal: what operation `s` of the body produced. */
export interface WorkflowJournalEntry {
  /** The operation's sequence number in the body (0, 1, 2... in the order the body asked). */
  readonly s: number;
  /** The operation. */
  readonly t: JournalOp;
  /** Its name (a step's, a signal's, a patch's id, a child's kind/id). */
  readonly n: string;
  /** Its value (a step's result, a signal's payload, a `now()`). */
  readonly v?: unknown;
  /** Its failure (a step's terminal error, a signal wait's timeout; a `retry` entry: its last failed attempt's). */
  readonly e?: StoredError;
  /** A sleep's wake-up time, or a signal wait's deadline, epoch ms. */
  readonly until?: number;
  /** Attempts a step took. */
  readonly a?: number;
  /** When it was recorded, epoch ms. */
  readonly at: number;
  /**
   * True once the operation finished (a sleep or signal wait records its deadline first; a step
   * records a `retry` entry when an attempt failed and a retry is due, replaced by its result).
   */
  readonly done?: boolean;
  /**
   * A `retry` entry: when its last failed attempt (`e`) failed, epoch ms. The entry's `at` is when
   * it was written, which a running attempt's heartbeat writes move on; `ea` stays the failure's.
   */
  readonly ea?: number;
  /** A `retry` entry: the op of the step it stands for (`step`, `child`, `send`). */
  readonly of?: JournalOp;
  /** A `retry` entry: the step's next attempt is not before this time, epoch ms (`a` attempts failed so far). */
  readonly r?: number;
  /**
   * A `retry` entry: the details of the step's last heartbeat (`info.heartbeat(details)`), which
   * its next attempt gets as `info.heartbeatDetails`. Written with a failed attempt's entry, and
   * while an attempt runs at most every few seconds (effects.ts): a member that dies mid-step
   * leaves the last ones written.
   */
  readonly h?: unknown;
  /**
   * A step that settled after the instance was cancelled: its value (its compensation pushed) or
   * error is kept, and it throws ERR_WORKFLOW_CANCELLED into the body, on a replay too.
   */
  readonly c?: boolean;
  /**
   * A `handle` entry: the operation number of the wait that handed the message to its handler
   * (the body's `condition`, or one of a handler's own: handlers.ts). Absent in records written
   * before handlers could wait (the body's wait handed them all).
   */
  readonly w?: number;
}

/** A signal received and not consumed yet. */
export interface BufferedSignal {
  readonly name: string;
  readonly payload: unknown;
}

/** An operator's reset of an instance (recovery.ts): where it cut the journal, when, and why. */
export interface WorkflowReset {
  /** The first operation run again: the journal kept the entries before it. */
  readonly toSeq: number;
  /** When, epoch ms. */
  readonly at: number;
  readonly reason?: string;
  /** Its request id (a batch's): a reset asked again with it is answered, not done twice. */
  readonly id?: string;
}

/**
 * A failed step's entry that a resume dropped from the journal so the step runs again
 * (recovery.ts): kept beside the journal, so the history still shows the attempt that failed.
 */
export interface WorkflowFailedAttempt extends WorkflowJournalEntry {
  /** When the resume that ran the step again came, epoch ms. */
  readonly resumedAt: number;
}

/** How many failed attempts a record keeps (the newest): resumes of a step that keeps failing stay bounded. */
export const MAX_FAILED_ATTEMPTS = 64;

/**
 * A run an instance continued from (`ctx.continueAsNew`, continue_as_new.ts): its journal was
 * dropped with the continuation, and this summary is what is kept of it.
 */
export interface WorkflowRunLink {
  /** Its number: 1 for the first run, one more for each continue-as-new. */
  readonly run: number;
  /** Its id (absent for a first run started before run ids existed). */
  readonly runId?: string;
  /**
   * How it closed: it continued as new; or, for an instance whose id a later start used again
   * (`idReuse`, start_policy.ts), how that instance ended.
   */
  readonly status: 'continued' | WorkflowEndStatus;
  readonly startedAt?: number;
  readonly endedAt: number;
  /** Its input's size, bytes as stored. */
  readonly inputBytes: number;
  /** The journal entries it had when it continued (dropped with it). */
  readonly entries: number;
}

/** What the start that made an instance's current run answered, kept with its request id (start_request.ts). */
export interface StartRequest {
  /** Its request id. */
  readonly id: string;
  /** With `idReuse`: how the instance whose id it used again had ended. */
  readonly reused?: WorkflowEndStatus;
  /** It carried a signal (signal-with-start), kept in the write that made the run. */
  readonly signal?: true;
}

/** The entity state of a workflow instance. */
export interface WorkflowRecord {
  /** Undefined for an id never started. */
  readonly status?: WorkflowStatus;
  readonly input?: unknown;
  readonly output?: unknown;
  readonly error?: StoredError;
  /** Why the instance was cancelled, once a cancel was asked. */
  readonly cancel?: string;
  /** Set when a replay diverged: the body halts until its next activation or a resume. */
  readonly blocked?: StoredError;
  readonly journal: readonly WorkflowJournalEntry[];
  readonly signals: readonly BufferedSignal[];
  /** Ids of signals sent with one, newest last (a repeat is ignored); the last 256 are kept. */
  readonly signalIds: readonly string[];
  readonly startedAt?: number;
  readonly endedAt?: number;
  /** How many times a body started on this instance (1, then once per resume after a move or crash). */
  readonly runs: number;
  /** Processes that monitor, link to or follow the journal of this instance (watchers.ts). */
  readonly watchers?: readonly StoredWatcher[];
  /** The resets of this instance, oldest first (absent: never reset). */
  readonly resets?: readonly WorkflowReset[];
  /** Failed steps' entries resumes dropped, oldest first (absent: none), at most 64 (the newest). */
  readonly failedAttempts?: readonly WorkflowFailedAttempt[];
  /** The current run's number (continue_as_new.ts): 1, one more per continue-as-new (absent: 1). */
  readonly run?: number;
  /** The current run's id (absent: a first run started before run ids existed). */
  readonly runId?: string;
  /** When the current run started, epoch ms (absent: `startedAt`, the first run's). */
  readonly runStartedAt?: number;
  /** The runs it continued from, oldest first, at most 64 (the newest); absent: none. */
  readonly previousRuns?: readonly WorkflowRunLink[];
  /** The memo its start gave (Temporal's memo): kept across continue-as-new, replaced by a start that uses the id again. */
  readonly memo?: Readonly<Record<string, unknown>>;
  /** Updates accepted, oldest first (updates.ts): every one not answered, and the last 1024 answered. */
  readonly updates?: readonly UpdateState[];
  /** Its search attributes, as the body last set them (`ctx.setAttributes`; attributes.ts). */
  readonly attributes?: Readonly<Record<string, IndexValue>>;
  /** The request id of the start that made the current run, and its answer (start_request.ts; absent: none kept). */
  readonly startRequest?: StartRequest;
  /** The request ids of the last signals kept, newest last (start_request.ts; absent: none). */
  readonly signalCalls?: readonly string[];
  /** The start's execution and run timeouts (timeouts.ts; absent: unbounded): kept across continue-as-new. */
  readonly timeouts?: WorkflowTimeouts;
}

/** The record of an id never started. */
export function emptyRecord(): WorkflowRecord {
  return { journal: [], signals: [], signalIds: [], runs: 0 };
}

/** The requests a workflow entity answers (a call each). */
export type WorkflowRequest =
  | {
      readonly '~wf': 'start';
      readonly input: unknown;
      /** When the id's instance ended (start_policy.ts); absent: the kind's `idReuse`. */
      readonly reuse?: string;
      /** Signal-with-start: delivered in the write that creates the instance, or to the running one. */
      readonly signal?: { readonly name: string; readonly payload: unknown; readonly id?: string };
      /** Update-with-start: accepted in the write that creates the instance, or by the running one. */
      readonly update?: { readonly name: string; readonly input: unknown; readonly id: string };
      /** The call's request id (start_request.ts): asked again with it, answered as the first time. */
      readonly rid?: string;
      /** The start's memo (a plain object; checked by the client). */
      readonly memo?: Readonly<Record<string, unknown>>;
      /** The start's execution and run timeouts (timeouts.ts; checked by the client). */
      readonly timeouts?: WorkflowTimeouts;
    }
  | { readonly '~wf': 'result'; readonly waitMs: number }
  | {
      readonly '~wf': 'signal';
      readonly name: string;
      readonly payload: unknown;
      readonly id?: string;
      /** The call's request id (start_request.ts): asked again with it, kept once, answered 'accepted'. */
      readonly rid?: string;
    }
  | {
      readonly '~wf': 'query';
      readonly name: string;
      readonly arg?: unknown;
      /** Several arguments, the handler called with them in order (instead of `arg`). */
      readonly args?: readonly unknown[];
      readonly waitMs?: number;
    }
  | {
      readonly '~wf': 'update';
      readonly name: string;
      readonly input: unknown;
      readonly id: string;
      readonly waitMs: number;
      /** Answer `accepted` once it is kept (startUpdate's ACCEPTED stage), not its outcome. */
      readonly stage?: 'accepted';
      /** Only an update already accepted under `id` (an update handle's result): never accept one. */
      readonly known?: boolean;
    }
  | { readonly '~wf': 'cancel'; readonly reason: string }
  | { readonly '~wf': 'describe' }
  | { readonly '~wf': 'resume' }
  | { readonly '~wf': 'reset'; readonly toSeq: number; readonly reason?: string; readonly id?: string }
  | { readonly '~wf': 'terminate'; readonly reason?: string }
  | {
      readonly '~wf': 'watch' | 'unwatch';
      readonly pid: { readonly node: string; readonly id: number; readonly creation: number };
      readonly mode: WatchMode;
    };

/** A `result` reply: the outcome, or `pending` when the wait ran out first. */
export type ResultReply =
  | { readonly status: 'completed'; readonly output: unknown }
  | { readonly status: 'failed'; readonly error: StoredError }
  | { readonly status: 'cancelled'; readonly reason: string }
  | { readonly status: 'timedOut'; readonly error: StoredError }
  | { readonly status: 'pending' };

/** What `describe` answers: an instance as an operator sees it. */
export interface WorkflowDescription {
  readonly workflow: string;
  readonly id: string;
  readonly status: WorkflowStatus;
  readonly input: unknown;
  readonly output?: unknown;
  readonly error?: StoredError;
  readonly cancel?: string;
  readonly blocked?: StoredError;
  readonly startedAt?: number;
  readonly endedAt?: number;
  readonly runs: number;
  /** Its resets, oldest first (absent: never reset). */
  readonly resets?: readonly WorkflowReset[];
  /** The journal, in sequence order. */
  readonly history: readonly WorkflowJournalEntry[];
  /** The failed attempts resumes ran again (their entries left the journal), oldest first; absent: none. */
  readonly failedAttempts?: readonly WorkflowFailedAttempt[];
  /** The current run's number (1, one more per continue-as-new), its id and when it started. */
  readonly run: number;
  readonly runId?: string;
  readonly runStartedAt?: number;
  /** The runs it continued from (each `continued`), oldest first, the newest 64; absent: none. */
  readonly previousRuns?: readonly WorkflowRunLink[];
  /** The memo its start gave (Temporal's memo): kept across continue-as-new, replaced by a start that uses the id again. */
  readonly memo?: Readonly<Record<string, unknown>>;
  /** Its start's execution and run timeouts, ms (absent: unbounded), and while it runs the deadline they set now. */
  readonly timeouts?: WorkflowTimeouts & { readonly deadline?: number; readonly deadlineOf?: 'execution' | 'run' };
  /** Sleeps and signal waits not finished: their deadlines. */
  readonly timers: readonly { readonly s: number; readonly t: JournalOp; readonly n: string; readonly until: number }[];
  /** Signals received and not consumed yet. */
  readonly signals: readonly BufferedSignal[];
  /** Updates accepted and not answered yet, oldest first (absent: none): `taken`, the operation that took it. */
  readonly updates?: readonly PendingUpdate[];
  /** Whether a body runs for this instance on its owner now. */
  readonly active: boolean;
  /**
   * The attempts running now on its owner, oldest first (absent: none): steps, calls, a child's
   * start or result, and compensations (named `compensate:<name>`). Not in the record: an attempt
   * is known to the body running it only.
   */
  readonly running?: readonly WorkflowRunningOperation[];
  /** Its search attributes (absent: none set). */
  readonly attributes?: Readonly<Record<string, IndexValue>>;
}

/** An attempt running now (see {@link WorkflowDescription.running}). */
export interface WorkflowRunningOperation {
  /** Its operation's number, kind and name (a compensation's is `compensate:<name>`). */
  readonly s: number;
  readonly t: JournalOp;
  readonly n: string;
  /** Which attempt, from 1, and when it started (epoch ms). */
  readonly attempt: number;
  readonly startedAt: number;
  /** When its timeout fails it (absent: it has none). */
  readonly timeoutAt?: number;
  /** The error the step's previous attempt failed with (absent: this is its first attempt). */
  readonly lastError?: StoredError;
  /** When that attempt failed, epoch ms (absent: no failed attempt, or one journaled before this was kept). */
  readonly lastErrorAt?: number;
  /** Its last heartbeat (`info.heartbeat`), epoch ms, and the details it gave (absent: none yet). */
  readonly heartbeatAt?: number;
  readonly heartbeat?: unknown;
  /** When its heartbeat timeout fails it unless it heartbeats again (absent: no `heartbeatTimeoutMs`). */
  readonly heartbeatDueAt?: number;
  /**
   * Present while the attempt waits for a slot of its queue (it has not started; `startedAt` is
   * when it began to wait): the queue, its place there on this member, and what holds it
   * (`waiting`: "waiting for queue gpu: the concurrency limit (2) is reached").
   */
  readonly queued?: {
    readonly queue: string;
    readonly position: number;
    readonly priority: number;
    readonly waiting: string;
  };
}

/** The protocol of every workflow kind's entity (checked on requests from other nodes). */
export const WorkflowProtocol = defineProtocol('ergo-ts.workflow', {
  calls: {
    request: { request: schema.type<WorkflowRequest>(), reply: schema.unknown() },
  },
});

/** The reminder a workflow instance keeps: when it must be looked at next if no body runs it. */
export const WAKE_REMINDERS = { wake: schema.object({ at: schema.number() }) };

/** The name of that reminder. */
export const WAKE = 'wake';

/** True when `v` is a {@link WorkflowRequest} (shape only: the handler checks the fields). */
export function isWorkflowRequest(v: unknown): v is WorkflowRequest {
  return typeof v === 'object' && v !== null && typeof (v as { '~wf'?: unknown })['~wf'] === 'string';
}

/** The record with `entry` added, or replacing the open entry of its number. */
export function withEntry(rec: WorkflowRecord, entry: WorkflowJournalEntry): WorkflowRecord {
  const i = rec.journal.findIndex((e) => e.s === entry.s);
  const journal = i < 0 ? [...rec.journal, entry] : rec.journal.map((e, j) => (j === i ? entry : e));
  return { ...rec, journal };
}

/** The children an instance started and has no result of yet (from its journal's `child` entries). */
export function openChildren(
  journal: readonly WorkflowJournalEntry[],
): { readonly kind: string; readonly id: string; readonly target: string }[] {
  const out: { kind: string; id: string; target: string }[] = [];
  for (const e of journal) {
    if (e.t !== 'child' || !e.n.startsWith('start ')) continue;
    const target = e.n.slice('start '.length);
    if (journal.some((x) => x.t === 'child' && x.n === `result ${target}`)) continue;
    const slash = target.indexOf('/');
    out.push({ kind: target.slice(0, slash), id: target.slice(slash + 1), target });
  }
  return out;
}

/**
 * How many resets cut the journal at or before operation `seq`: 0 for an instance never reset. An
 * effect's idempotency key carries it once it is above 0, so an operation run again after a reset
 * never reuses the key of its run before (and one that was never cut keeps its key).
 */
export function keyGeneration(resets: readonly WorkflowReset[] | undefined, seq: number): number {
  let n = 0;
  for (const r of resets ?? []) if (r.toSeq <= seq) n++;
  return n;
}
