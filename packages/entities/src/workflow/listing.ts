// Listing a workflow kind's instances for an operator (`entities.workflows.list`): the store's
// `listStates` pages of the kind's keys, each record summed up (no journal, no values), filtered
// by status here (the records are encoded in the store: it cannot filter them), and paged by the
// workflow id: `next` is the id to pass as `after` for the next page. And one instance described
// (`handle.describe()`, answered by its entity from its record).

import type { EntityKind } from '../kinds/entity.js';
import type { EntityStore } from '../contract/store.js';
import { ErrWorkflowIncorrect, ErrWorkflowUnsupported, type StoredError } from './errors.js';
import type { WorkflowDescription, WorkflowRecord, WorkflowStatus } from './record.js';
import { runFields } from './continue_as_new.js';

/** What `WorkflowClient.list` takes. */
export interface ListOptions {
  /** Only instances in this status (running covers sleeping, waiting for a signal and blocked ones). */
  readonly status?: WorkflowStatus;
  /** At most this many instances (1..1000). Default 100. */
  readonly limit?: number;
  /** The `next` of the previous page: instances whose id sorts after it (UTF-8 byte order). */
  readonly after?: string;
}

/** Defaults and bounds of {@link ListOptions}. */
export const WORKFLOW_LIST_DEFAULTS = Object.freeze({
  limit: 100,
  maxLimit: 1000,
  /** Records read from the store in one call at most: a filter that matches few ends a page early. */
  maxScanned: 10_000,
});

/** The statuses an instance may have. */
export const WORKFLOW_STATUSES: readonly WorkflowStatus[] = Object.freeze([
  'running',
  'completed',
  'failed',
  'cancelled',
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
  /** Set when a replay diverged: the instance halts until it is resumed. */
  readonly blocked?: StoredError;
  /** A failed instance's error. */
  readonly error?: StoredError;
  /** Why it was cancelled, once a cancel was asked. */
  readonly cancel?: string;
  /** Journal entries (operations recorded) of its current run. */
  readonly steps: number;
  /** Its current run's number (1, one more per continue-as-new). */
  readonly run: number;
}

/** A page of `WorkflowClient.list`. */
export interface WorkflowPage {
  readonly items: readonly WorkflowSummary[];
  /** Pass it as `after` for the next page; absent when none is left (when present, the next page may be empty). */
  readonly next?: string;
}

/** What a listing reads: the runtime's store and kinds (the runtime gives them to its client). */
export interface WorkflowRuntimeView {
  readonly store: EntityStore;
  /** The kinds this runtime hosts. */
  kinds(): readonly EntityKind<any, any>[];
}

/** The page size asked of the store. */
const SCAN_PAGE = 256;

function checkedOptions(o: ListOptions): { status?: WorkflowStatus; limit: number; after?: string } {
  if (typeof o !== 'object' || o === null) throw ErrWorkflowIncorrect.with('list: options must be an object');
  const limit = o.limit ?? WORKFLOW_LIST_DEFAULTS.limit;
  if (!Number.isInteger(limit) || limit < 1 || limit > WORKFLOW_LIST_DEFAULTS.maxLimit)
    throw ErrWorkflowIncorrect.with(`list: limit must be an integer in 1..${WORKFLOW_LIST_DEFAULTS.maxLimit}`);
  if (o.status !== undefined && !WORKFLOW_STATUSES.includes(o.status))
    throw ErrWorkflowIncorrect.with(`list: status must be one of ${WORKFLOW_STATUSES.join(', ')}`);
  if (o.after !== undefined && (typeof o.after !== 'string' || o.after === ''))
    throw ErrWorkflowIncorrect.with('list: after must be a non-empty workflow id');
  return {
    limit,
    ...(o.status === undefined ? {} : { status: o.status }),
    ...(o.after === undefined ? {} : { after: o.after }),
  };
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
    ...(rec.blocked === undefined ? {} : { blocked: rec.blocked }),
    ...(rec.error === undefined ? {} : { error: rec.error }),
    ...(rec.cancel === undefined ? {} : { cancel: rec.cancel }),
    steps: Array.isArray(rec.journal) ? rec.journal.length : 0,
    run: rec.run ?? 1,
  };
}

/**
 * A page of `workflow`'s instances read from `view`'s store (see the top of this file). Rejects
 * with ERR_WORKFLOW_UNSUPPORTED without a view or when its store has no `listStates`,
 * ERR_WORKFLOW_INCORRECT for bad options, or the store's errors.
 */
export async function listWorkflows(
  view: WorkflowRuntimeView | undefined,
  workflow: string,
  options: ListOptions = {},
): Promise<WorkflowPage> {
  if (typeof workflow !== 'string' || workflow === '')
    throw ErrWorkflowIncorrect.with('list: a workflow kind or its name');
  const o = checkedOptions(options);
  const store = view?.store;
  if (store?.listStates === undefined)
    throw ErrWorkflowUnsupported.with(
      view === undefined
        ? 'list: this client has no store (use the runtime’s entities.workflows)'
        : `list: the store ${store?.name ?? ''} has no listStates`,
    );
  const items: WorkflowSummary[] = [];
  let cursor = o.after;
  let scanned = 0;
  for (;;) {
    const page = await store.listStates(workflow, {
      limit: SCAN_PAGE,
      ...(cursor === undefined ? {} : { after: cursor }),
    });
    for (const row of page) {
      cursor = row.key;
      scanned++;
      const s = summaryOf(workflow, row.key, row.state);
      if (s !== undefined && (o.status === undefined || s.status === o.status)) items.push(s);
      if (items.length === o.limit || scanned >= WORKFLOW_LIST_DEFAULTS.maxScanned) return { items, next: row.key };
    }
    if (page.length < SCAN_PAGE) return { items };
  }
}

/** The instance `rec` of `workflow`/`id` as `describe()` shows it at `now` (`active`: a body runs for it). */
export function describeRecord(
  workflow: string,
  id: string,
  rec: WorkflowRecord,
  now: number,
  active: boolean,
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
    ...(rec.resets === undefined ? {} : { resets: rec.resets }),
    history: [...rec.journal].sort((a, b) => a.s - b.s),
    ...(rec.failedAttempts === undefined ? {} : { failedAttempts: rec.failedAttempts }),
    timers: open.map((e) => ({ s: e.s, t: e.t, n: e.n, until: e.until! })),
    signals: rec.signals,
    active,
  };
}
