// Starting and following batch operations (`entities.workflows.batch`): a dry run counts what a
// query matches, a start checks the query and the action and starts the batch workflow (batch.ts)
// under a batch id, `describe` reads its progress, `cancel` stops it between pages.

import type { EntitiesClient, EntityAddress } from '../../kinds/entity.js';
import { describeThrown, quoted } from '../../contract/thrown.js';
import {
  BATCH_KIND,
  RETENTION_KIND,
  type BatchAction,
  type BatchCounts,
  type BatchFailure,
  type BatchInput,
  type BatchOutcome,
  type BatchQuery,
} from '../model/batch_types.js';
import {
  ErrWorkflowBatchCountChanged,
  ErrWorkflowIncorrect,
  ErrWorkflowUnsupported,
  type StoredError,
} from '../model/errors.js';
import type { WorkflowRuntimeView } from './listing.js';
import type { WorkflowDescription, WorkflowProtocol, WorkflowStatus } from '../model/record.js';
import { countWorkflows, indexFilter, inputRefusal, type WorkflowFilter } from './search.js';

/** What {@link WorkflowBatchClient.start} takes. */
export interface BatchStartOptions {
  /** The instances to act on: a search's filter and status (`list`'s, without paging). */
  readonly query: WorkflowFilter & { readonly status?: WorkflowStatus };
  readonly action: BatchAction;
  /** Count only: nothing is started (`{ dryRun: true, matched }`). A boolean (`'true'` is refused). */
  readonly dryRun?: boolean;
  /**
   * The count the operator confirmed (a dry run's `matched`): the start is refused with
   * ERR_WORKFLOW_BATCH_COUNT_CHANGED, nothing started, when the query matches another number now.
   * The Observer and the MCP server always send it; a program may leave it out.
   */
  readonly confirm?: number;
  /** The batch's id (default a random UUID): a start repeated with it starts nothing new. */
  readonly id?: string;
  /** Instances per page, each page one transaction of the batch's journal (1..1000). Default 100. */
  readonly pageSize?: number;
  /** A pause between pages, in ms, so a large batch leaves room to the store. Default 0. */
  readonly pauseMs?: number;
}

/** What a start answers. */
export interface BatchStarted {
  /** The batch's id (absent on a dry run). */
  readonly batchId?: string;
  readonly dryRun: boolean;
  /** How many instances the query matches now (batches and the retention sweeper aside). */
  readonly matched: number;
  /** False when a batch with this id existed already (nothing new started). */
  readonly created?: boolean;
}

/** A batch as {@link WorkflowBatchClient.describe} shows it. */
export interface BatchDescription extends BatchCounts {
  readonly batchId: string;
  /** `running` while it pages; `completed` once every page was acted on; `cancelled` when stopped. */
  readonly status: WorkflowStatus;
  readonly action: BatchAction;
  readonly query: BatchQuery;
  /** What the query matched when it started. */
  readonly expected?: number;
  /** The first instances it failed on (up to 20), once it ended. */
  readonly failures: readonly BatchFailure[];
  readonly startedAt?: number;
  readonly endedAt?: number;
  readonly error?: StoredError;
}

/** What the batch client asks of a handle on a batch (a WorkflowHandle). */
interface BatchHandle {
  describe(): Promise<WorkflowDescription>;
  cancel(reason: string): Promise<'cancelled'>;
  result(options: { readonly timeout?: number }): Promise<unknown>;
}

const ACTIONS = ['cancel', 'terminate', 'signal', 'resume', 'reset'] as const;

/** Checks an action (ERR_WORKFLOW_INCORRECT naming the field); a copy with only its fields. */
export function checkBatchAction(v: unknown): BatchAction {
  const a = v as Record<string, unknown> | null;
  if (typeof a !== 'object' || a === null || !(ACTIONS as readonly unknown[]).includes(a.type))
    throw ErrWorkflowIncorrect.with(
      `batch: action.type must be one of ${ACTIONS.join(', ')}, got ${describeThrown(a?.type)}`,
    );
  const reason = a.reason;
  if (reason !== undefined && typeof reason !== 'string')
    throw ErrWorkflowIncorrect.with('batch: action.reason must be a string');
  const why = reason === undefined || reason === '' ? {} : { reason };
  switch (a.type as BatchAction['type']) {
    case 'signal':
      if (typeof a.name !== 'string' || a.name === '')
        throw ErrWorkflowIncorrect.with(`batch: a signal action needs a name, got ${quoted(a.name)}`);
      return { type: 'signal', name: a.name, ...(a.payload === undefined ? {} : { payload: a.payload }) };
    case 'reset': {
      const t = a.toSeq ?? 0;
      if (typeof t !== 'number' || !Number.isInteger(t) || t < 0)
        throw ErrWorkflowIncorrect.with(`batch: reset's toSeq is an integer ≥ 0, got ${describeThrown(a.toSeq)}`);
      return { type: 'reset', toSeq: t, ...why };
    }
    case 'resume':
      return { type: 'resume' };
    case 'cancel':
    case 'terminate':
      return { type: a.type as 'cancel' | 'terminate', ...why };
  }
}

function bounded(v: unknown, what: string, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw ErrWorkflowIncorrect.with(`batch: ${what} must be an integer in ${min}..${max}, got ${describeThrown(v)}`);
  return v;
}

/** The options {@link WorkflowBatchClient.start} reads (any other is refused: a misspelt one must not be ignored). */
const START_OPTIONS: readonly string[] = ['query', 'action', 'dryRun', 'confirm', 'id', 'pageSize', 'pauseMs'];

/** A batch id as `describe`, `cancel` and `wait` take it; ERR_WORKFLOW_INCORRECT naming `what` otherwise. */
function checkBatchId(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '' || v.length > 200)
    throw ErrWorkflowIncorrect.with(`batch ${what}: a batch id is a non-empty string of at most 200 characters`);
  return v;
}

/** `entities.workflows.batch`: batch operations on the instances a query matches (see the top of this file). */
export class WorkflowBatchClient {
  readonly #e: EntitiesClient;
  readonly #view: WorkflowRuntimeView | undefined;
  readonly #handleOf: (workflow: string, id: string) => BatchHandle;

  /** @internal use `entities.workflows.batch`. */
  constructor(
    entities: EntitiesClient,
    view: WorkflowRuntimeView | undefined,
    handleOf: (workflow: string, id: string) => BatchHandle,
  ) {
    this.#e = entities;
    this.#view = view;
    this.#handleOf = handleOf;
  }

  /** The checked query and how many instances it matches now (the batch kinds' own instances aside). */
  async #matched(q: BatchStartOptions['query']): Promise<{ query: BatchQuery; matched: number }> {
    if (this.#view === undefined)
      throw ErrWorkflowUnsupported.with('batch: this client has no store (use the runtime’s entities.workflows)');
    if (typeof q !== 'object' || q === null) throw ErrWorkflowIncorrect.with('batch: query must be an object');
    const { status, ...filter } = indexFilter(this.#view, q as WorkflowFilter & { status?: unknown });
    const query: BatchQuery = { ...filter, ...(status === undefined ? {} : { status: status as WorkflowStatus }) };
    const pick = (c: Record<string, number>): number => (status === undefined ? c.total! : c[status]!);
    let matched = pick(await countWorkflows(this.#view, filter));
    if (filter.kind === undefined)
      for (const kind of [BATCH_KIND, RETENTION_KIND])
        matched -= pick(await countWorkflows(this.#view, { ...filter, kind }));
    return { query, matched };
  }

  /**
   * Starts a batch: `action` on every instance `query` matches (status, kind, start and end
   * times, attributes), a page of `pageSize` at a time, by the batch workflow on whichever member
   * owns it (it resumes elsewhere when that member dies). With `dryRun`, only counts. With
   * `confirm`, starts only when the query matches exactly that many now (else
   * ERR_WORKFLOW_BATCH_COUNT_CHANGED, nothing started). Resolves with the batch id and the count
   * at the start (the batch's `expected`). The batch then acts on what the query matches as it
   * reads each page: an instance that comes to match after the start (started since, or its status
   * changed) is acted on too, one that stopped matching is not — narrow the query (`startedBefore`)
   * to leave out instances started later. Rejects with ERR_WORKFLOW_INCORRECT for a bad query,
   * action or option (each checked by type; an unknown option is refused, so a misspelt `dryRun`
   * never starts a batch), ERR_WORKFLOW_UNSUPPORTED without the runtime's store; the runtime's
   * error when no member hosts `WorkflowBatches`.
   */
  async start(options: BatchStartOptions): Promise<BatchStarted> {
    let action: BatchAction;
    let pageSize: number;
    let pauseMs: number;
    let id: string;
    let dryRun: boolean;
    let confirm: number | undefined;
    let checked: { query: BatchQuery; matched: number };
    try {
      if (typeof options !== 'object' || options === null)
        throw ErrWorkflowIncorrect.with('batch: options must be an object');
      // Each option read once, here: what is checked is what is used.
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(options)) {
        if (!START_OPTIONS.includes(k))
          throw ErrWorkflowIncorrect.with(`batch: unknown option ${quoted(k)} (${START_OPTIONS.join(', ')})`);
        o[k] = (options as unknown as Record<string, unknown>)[k];
      }
      action = checkBatchAction(o.action);
      pageSize = bounded(o.pageSize, 'pageSize', 1, 1000, 100);
      pauseMs = bounded(o.pauseMs, 'pauseMs', 0, 3_600_000, 0);
      if (o.dryRun !== undefined && typeof o.dryRun !== 'boolean')
        throw ErrWorkflowIncorrect.with(`batch: dryRun must be a boolean, got ${describeThrown(o.dryRun)}`);
      dryRun = o.dryRun === true;
      confirm = o.confirm === undefined ? undefined : bounded(o.confirm, 'confirm', 0, Number.MAX_SAFE_INTEGER, 0);
      const given = o.id ?? crypto.randomUUID();
      if (typeof given !== 'string' || given === '' || given.length > 200)
        throw ErrWorkflowIncorrect.with('batch: id is a non-empty string of at most 200 characters');
      id = given;
      checked = await this.#matched(o.query as BatchStartOptions['query']);
    } catch (err) {
      throw inputRefusal('batch', err);
    }
    if (dryRun) return { dryRun: true, matched: checked.matched };
    // Checked where the batch starts (this member), not only on the operator's page: a count the
    // operator saw and a query that now matches more (or another query) never start a batch.
    if (confirm !== undefined && confirm !== checked.matched)
      throw ErrWorkflowBatchCountChanged.with(
        `confirm ${confirm} is not the count the query matches now (${checked.matched}): nothing started`,
      );
    const input: BatchInput = { query: checked.query, action, pageSize, pauseMs, expected: checked.matched };
    const to = { kind: BATCH_KIND, key: id } as EntityAddress<typeof WorkflowProtocol>;
    const r = (await this.#e.call(to, { '~wf': 'start', input } as never)) as { created: boolean };
    return { batchId: id, dryRun: false, matched: checked.matched, created: r.created };
  }

  /** The batch's progress (ERR_WORKFLOW_NOT_FOUND for an id no batch has; ERR_WORKFLOW_INCORRECT for an id that is not a string). */
  async describe(batchId: string): Promise<BatchDescription> {
    const d = await this.#handleOf(BATCH_KIND, checkBatchId(batchId, 'describe')).describe();
    const input = d.input as BatchInput;
    const a = (d.attributes ?? {}) as Partial<Record<keyof BatchCounts, number>>;
    const out = d.output as BatchOutcome | undefined;
    return {
      batchId,
      status: d.status,
      action: input.action,
      query: input.query,
      ...(input.expected === undefined ? {} : { expected: input.expected }),
      matched: out?.matched ?? a.matched ?? 0,
      done: out?.done ?? a.done ?? 0,
      failed: out?.failed ?? a.failed ?? 0,
      skipped: out?.skipped ?? a.skipped ?? 0,
      failures: out?.failures ?? input.failures ?? [],
      ...(d.startedAt === undefined ? {} : { startedAt: d.startedAt }),
      ...(d.endedAt === undefined ? {} : { endedAt: d.endedAt }),
      ...(d.error === undefined ? {} : { error: d.error }),
    };
  }

  /** Stops a batch between two instances (those acted on stay so): 'cancelled'. */
  async cancel(batchId: string, reason = 'batch cancelled'): Promise<'cancelled'> {
    const id = checkBatchId(batchId, 'cancel');
    if (typeof reason !== 'string') throw ErrWorkflowIncorrect.with('batch cancel: reason must be a string');
    return this.#handleOf(BATCH_KIND, id).cancel(reason);
  }

  /** Waits for the batch to end, then describes it. */
  async wait(batchId: string, options: { readonly timeout?: number } = {}): Promise<BatchDescription> {
    await this.#handleOf(BATCH_KIND, checkBatchId(batchId, 'wait'))
      .result(options)
      .catch((err: unknown) => {
        if ((err as { code?: unknown }).code !== 'ERR_WORKFLOW_CANCELLED') throw err;
      });
    return this.describe(batchId);
  }
}
