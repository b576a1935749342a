// What a listing of workflow instances shows (`entities.workflows.list`, served by the store's
// state index: search.ts): each instance summed up from its record (no journal, no values), the
// options of a kind's listing, and one instance described (`handle.describe()`, answered by its
// entity from its record; `describeStored`, read from the store without its owner).

import type { EntityKind } from '../../kinds/entity.js';
import type { EntityStore } from '../../contract/store.js';
import type { IndexValue } from '../../contract/state_index.js';
import { errorHead, ErrWorkflowNotFound, type StoredError } from '../model/errors.js';
import type { WorkflowDescription, WorkflowRecord, WorkflowRunningOperation, WorkflowStatus } from '../model/record.js';
import { runFields } from '../model/continue_as_new.js';
import { timeoutDeadline } from '../model/timeouts.js';

/** What `WorkflowClient.list(kind, options)` takes (the short form of a query on one kind). */
export interface ListOptions {
  /** Only instances in this status (running covers sleeping, waiting for a signal and blocked ones). */
  readonly status?: WorkflowStatus;
  /** At most this many instances (1..1000). Default 100. */
  readonly limit?: number;
  /** The `next` of the previous page. */
  readonly cursor?: string;
  /** @deprecated the same as `cursor` (pages were by id before the index: `next` is a cursor now). */
  readonly after?: string;
}

/** Defaults and bounds of {@link ListOptions}. */
export const WORKFLOW_LIST_DEFAULTS = Object.freeze({
  limit: 100,
  maxLimit: 1000,
});

/** The statuses an instance may have. */
export const WORKFLOW_STATUSES: readonly WorkflowStatus[] = Object.freeze([
  'running',
  'completed',
  'failed',
  'cancelled',
  'timedOut',
]);

/** One instance as a listing shows it. */
export interface WorkflowSummary {
  readonly workflow: string;
  readonly id: string;
  readonly status: WorkflowStatus;
  readonly startedAt?: number;
  readonly endedAt?: number;
  /** How many times a body started on it (1, then once per resume after a move, crash or operator's resume). */
  readonly runs: number;
  /** Set when a replay diverged: the instance halts until it is resumed (its name, message and code). */
  readonly blocked?: StoredError;
  /** A failed instance's error: its name, message and code (`describe()` has its causes, stack and details). */
  readonly error?: StoredError;
  /** Why it was cancelled, once a cancel was asked. */
  readonly cancel?: string;
  /** Journal entries (operations recorded) of its current run. */
  readonly steps: number;
  /** Its current run's number (1, one more per continue-as-new). */
  readonly run: number;
  /** Its search attributes (absent: none set). */
  readonly attributes?: Readonly<Record<string, IndexValue>>;
}

/** What a listing reads: the runtime's store and kinds (the runtime gives them to its client). */
export interface WorkflowRuntimeView {
  readonly store: EntityStore;
  /** The kinds this runtime hosts. */
  kinds(): readonly EntityKind<any, any>[];
}

/** The summary of a stored record, or undefined for a key whose instance was never started. */
export function summaryOf(workflow: string, id: string, state: unknown): WorkflowSummary | undefined {
  const rec = state as WorkflowRecord | undefined;
  if (rec === undefined || rec === null || typeof rec !== 'object' || rec.status === undefined) return undefined;
  return {
    workflow,
    id,
    status: rec.status,
    ...(rec.startedAt === undefined ? {} : { startedAt: rec.startedAt }),
    ...(rec.endedAt === undefined ? {} : { endedAt: rec.endedAt }),
    runs: rec.runs ?? 0,
    ...(rec.blocked === undefined ? {} : { blocked: errorHead(rec.blocked) }),
    ...(rec.error === undefined ? {} : { error: errorHead(rec.error) }),
    ...(rec.cancel === undefined ? {} : { cancel: rec.cancel }),
    steps: Array.isArray(rec.journal) ? rec.journal.length : 0,
    run: rec.run ?? 1,
    ...(rec.attributes === undefined ? {} : { attributes: rec.attributes }),
  };
}

/**
 * The instance `rec` of `workflow`/`id` as `describe()` shows it at `now` (`active`: a body runs
 * for it; `running`: the attempts its body runs now, a step's or a compensation's).
 */
export function describeRecord(
  workflow: string,
  id: string,
  rec: WorkflowRecord,
  now: number,
  active: boolean,
  running: readonly WorkflowRunningOperation[] = [],
): WorkflowDescription {
  // A sleep's entry is not marked done when it ends (no write for it): past its time it is no timer.
  const open = rec.journal.filter(
    (e) => e.done !== true && e.until !== undefined && (e.t !== 'sleep' || e.until > now),
  );
  return {
    workflow,
    id,
    status: rec.status!,
    input: rec.input,
    ...(rec.output === undefined ? {} : { output: rec.output }),
    ...(rec.error === undefined ? {} : { error: rec.error }),
    ...(rec.cancel === undefined ? {} : { cancel: rec.cancel }),
    ...(rec.blocked === undefined ? {} : { blocked: rec.blocked }),
    ...(rec.startedAt === undefined ? {} : { startedAt: rec.startedAt }),
    ...(rec.endedAt === undefined ? {} : { endedAt: rec.endedAt }),
    runs: rec.runs,
    ...runFields(rec),
    ...timeoutFields(rec),
    ...(rec.resets === undefined ? {} : { resets: rec.resets }),
    history: [...rec.journal].sort((a, b) => a.s - b.s),
    ...(rec.failedAttempts === undefined ? {} : { failedAttempts: rec.failedAttempts }),
    timers: open.map((e) => ({ s: e.s, t: e.t, n: e.n, until: e.until! })),
    signals: rec.signals,
    active,
    ...(running.length === 0 ? {} : { running }),
    ...(rec.attributes === undefined ? {} : { attributes: rec.attributes }),
  };
}

/** `describe()`'s `timeouts` of `rec`: its start's, and while it runs the deadline they set (absent: none). */
function timeoutFields(rec: WorkflowRecord): Pick<WorkflowDescription, 'timeouts'> {
  if (rec.timeouts === undefined) return {};
  const d = timeoutDeadline(rec);
  return { timeouts: { ...rec.timeouts, ...(d === undefined ? {} : { deadline: d.at, deadlineOf: d.kind }) } };
}

/**
 * The instance `workflow`/`id` as its record in `view`'s store says (`describeStored`): read
 * without asking its owner, so it answers while no member hosts the kind. ERR_WORKFLOW_NOT_FOUND
 * for an id never started (or whose record retention deleted).
 */
export async function storedDescription(
  view: WorkflowRuntimeView,
  workflow: string,
  id: string,
  now: number,
): Promise<WorkflowDescription> {
  const { state } = await view.store.load({ kind: workflow, key: id });
  const rec = state as WorkflowRecord | undefined;
  if (summaryOf(workflow, id, rec) === undefined)
    throw ErrWorkflowNotFound.with(`workflow ${workflow}: no instance ${JSON.stringify(id)} in the store`);
  return describeRecord(workflow, id, rec!, now, false);
}
