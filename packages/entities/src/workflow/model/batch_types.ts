// The shapes of a batch operation (batch.ts runs it, batch_client.ts starts and describes it):
// what it does to each instance, which instances, and its progress.

import type { StoredError } from './errors.js';
import type { WorkflowStatus } from './record.js';
import type { IndexValue } from '../../contract/state_index.js';

/** The batch workflow's kind name (a `list({ kind: 'workflow-batch' })` lists the batches). */
export const BATCH_KIND = 'workflow-batch';
/** The retention sweeper's kind name (retention.ts): never matched by a batch that names no kind. */
export const RETENTION_KIND = 'workflow-retention';

/** Pages one run of a batch goes through before it continues as new (bounds its journal). */
export const BATCH_PAGES_PER_RUN = 50;
/** Instances a batch acts on at once within a page. */
export const BATCH_CONCURRENCY = 8;
/** Failures a batch keeps (the first ones, with the instance and the error's code). */
export const BATCH_MAX_FAILURES = 20;

/** What a batch does to each instance it matches. */
export type BatchAction =
  /** `handle.cancel(reason)`: the body meets the cancel (its compensations may run). */
  | { readonly type: 'cancel'; readonly reason?: string }
  /** `handle.terminate(reason)`: ends it at once, no compensation run. */
  | { readonly type: 'terminate'; readonly reason?: string }
  /** `handle.signal(name, payload, { id: 'batch:<batchId>' })`: once per instance, whatever the retries. */
  | { readonly type: 'signal'; readonly name: string; readonly payload?: unknown }
  /** `handle.resume()`: a halted or failed instance runs again (a running one is skipped). */
  | { readonly type: 'resume' }
  /** `handle.reset({ toSeq, id: 'batch:<batchId>' })`: runs again from operation `toSeq` (default 0: the start). */
  | { readonly type: 'reset'; readonly toSeq?: number; readonly reason?: string };

/** Which instances a batch acts on: a search (search.ts) by kind name, status, times and attributes. */
export interface BatchQuery {
  readonly kind?: string;
  readonly status?: WorkflowStatus;
  readonly startedAfter?: number;
  readonly startedBefore?: number;
  readonly endedAfter?: number;
  readonly endedBefore?: number;
  readonly attributes?: Readonly<Record<string, IndexValue>>;
}

/** A batch's progress: instances it read, acted on, failed on, and found nothing to do for. */
export interface BatchCounts {
  readonly matched: number;
  readonly done: number;
  readonly failed: number;
  readonly skipped: number;
}

/** An instance a batch failed to act on. */
export interface BatchFailure {
  readonly workflow: string;
  readonly id: string;
  readonly error: StoredError;
}

/** A batch workflow's input (the client builds it; a continue-as-new carries the cursor on). */
export interface BatchInput {
  readonly query: BatchQuery;
  readonly action: BatchAction;
  /** Instances per page (1..1000). */
  readonly pageSize: number;
  /** A pause between pages, in ms (a durable sleep; 0: none). */
  readonly pauseMs: number;
  readonly cursor?: string;
  readonly totals?: BatchCounts;
  readonly failures?: readonly BatchFailure[];
  /** How many instances the query matched when the batch started (its dry-run count). */
  readonly expected?: number;
  /** @internal pages per run before a continue-as-new (default {@link BATCH_PAGES_PER_RUN}; tests lower it). */
  readonly pagesPerRun?: number;
}

/** What a batch ends with. */
export interface BatchOutcome extends BatchCounts {
  readonly failures: readonly BatchFailure[];
}
