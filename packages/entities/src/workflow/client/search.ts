// Searching workflow instances (`entities.workflows.list(query)` and `count(query)`), as Temporal's
// visibility does: by kind, status, start and end time ranges and search attributes, newest first,
// a page at a time with a cursor, and counts per status. Served by the store's state index
// (contract/state_index.ts: a row per instance written with its record, in indexed tables), not by
// reading records: a page reads its rows' records only. Instances saved before the index existed
// have no row: a runtime backfills its kinds' rows when it starts (`backfillIndexes`), and a
// search waits for that backfill of the kinds it reads before it answers.

import { ErgoError } from 'ergo-ts';

import { MAX_KIND_LENGTH, type EntityKind } from '../../kinds/entity.js';
import type { EntityStore } from '../../contract/store.js';
import type { IndexCursor, IndexFilter, IndexValue, StateIndex } from '../../contract/state_index.js';
import { checkIndexAttributes } from '../../contract/state_index.js';
import { describeThrown } from '../../contract/thrown.js';
import { checkedAttributes, type AttributeValues } from '../model/attributes.js';
import type { AnyWorkflowKind, WorkflowAttributes } from '../model/define.js';
import { ErrWorkflowIncorrect, ErrWorkflowUnsupported } from '../model/errors.js';
import {
  summaryOf,
  WORKFLOW_LIST_DEFAULTS,
  WORKFLOW_STATUSES,
  type WorkflowRuntimeView,
  type WorkflowSummary,
} from './listing.js';
import type { WorkflowStatus } from '../model/record.js';

/** A time bound: epoch ms or a Date. */
export type TimeBound = number | Date;

/** The attribute filter of a query on `K`: its declared attributes typed, or any names for a kind by name. */
export type AttributeFilter<K> = K extends AnyWorkflowKind
  ? AttributeValues<WorkflowAttributes<K>>
  : Readonly<Record<string, IndexValue>>;

/** Which instances {@link WorkflowClient.count} counts (every field narrows; all must hold). */
export interface WorkflowFilter<K extends AnyWorkflowKind | string = AnyWorkflowKind | string> {
  /** Only instances of this kind (the kind, or its name); absent: every kind. */
  readonly kind?: K;
  /** Started strictly after / before this time. */
  readonly startedAfter?: TimeBound;
  readonly startedBefore?: TimeBound;
  /** Ended strictly after / before this time (a running instance matches neither). */
  readonly endedAfter?: TimeBound;
  readonly endedBefore?: TimeBound;
  /** Search attributes that must all equal these values (set by `ctx.setAttributes`). */
  readonly attributes?: AttributeFilter<K>;
}

/** What {@link WorkflowClient.list} takes: a filter, a status, a page size and a cursor. */
export interface WorkflowQuery<
  K extends AnyWorkflowKind | string = AnyWorkflowKind | string,
> extends WorkflowFilter<K> {
  /** Only instances in this status (running covers sleeping, waiting and blocked ones). */
  readonly status?: WorkflowStatus;
  /** At most this many instances (1..1000). Default 100. */
  readonly limit?: number;
  /** The `next` of the previous page (opaque): the instances after it, in the same order. */
  readonly cursor?: string;
}

/** How many instances a filter matches, per status, and in all. */
export type StatusCounts = { readonly [S in WorkflowStatus]: number } & { readonly total: number };

/** A page of {@link WorkflowClient.list}. */
export interface WorkflowSearchPage {
  /** Newest first: by start time, then kind and id, descending. */
  readonly items: readonly WorkflowSummary[];
  /** The cursor of the next page; absent when this page is the last (when present, the next may be empty). */
  readonly next?: string;
  /** What the query's filter matches per status, its `status` aside (an operator's totals). */
  readonly counts: StatusCounts;
}

/**
 * What a caller's bad argument becomes: a coded error of ours (an ErgoError: a check refused it)
 * as it is; anything else thrown while reading it (a getter or a Proxy trap that throws, even an
 * error with a code of its own; a null where an object belongs) as ERR_WORKFLOW_INCORRECT naming
 * `what`, so a search or a request rejects with a stable code of this package.
 */
export function inputRefusal(what: string, err: unknown): Error {
  let ours = false;
  try {
    ours = err instanceof ErgoError && typeof err.code === 'string';
  } catch {
    // A thrown Proxy whose prototype trap throws: not one of ours.
  }
  if (ours) return err as Error;
  return ErrWorkflowIncorrect.with(`${what}: its arguments could not be read: ${describeThrown(err)}`);
}

/** `options` when it is an object or absent (`{}`); else throws ERR_WORKFLOW_INCORRECT naming `what`. */
export function optionsObject<T extends object>(options: T | undefined, what: string): T {
  if (options === undefined) return {} as T;
  if (typeof options !== 'object' || options === null)
    throw ErrWorkflowIncorrect.with(`${what}: options must be an object, got ${describeThrown(options)}`);
  return options;
}

function time(v: unknown, what: string): number | undefined {
  if (v === undefined) return undefined;
  const n = v instanceof Date ? v.getTime() : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw ErrWorkflowIncorrect.with(
      `list: ${what} must be a Date or epoch ms (an integer ≥ 0), got ${describeThrown(v)}`,
    );
  return n;
}

/** The kind's name, and its declared attributes when the kind is known here. */
function kindOf(
  view: WorkflowRuntimeView,
  kind: unknown,
): { name?: string; attributes?: Readonly<Record<string, 'string' | 'number' | 'boolean'>> } {
  if (kind === undefined) return {};
  // Not a function (its `name` is the property's: `{ kind: () => 1 }` searched a kind "kind").
  const name =
    typeof kind === 'string' ? kind : typeof kind === 'object' ? (kind as { name?: unknown } | null)?.name : undefined;
  // A name no kind can have (defineEntity's bound) is refused rather than answered with nothing.
  if (typeof name !== 'string' || name === '' || name.includes('/') || Buffer.byteLength(name) > MAX_KIND_LENGTH)
    throw ErrWorkflowIncorrect.with(
      `list: kind must be a workflow kind or its name (1..${MAX_KIND_LENGTH} bytes without '/'), got ${describeThrown(typeof name === 'string' && name.length > 64 ? `${name.slice(0, 64)}…` : kind)}`,
    );
  const known = typeof kind === 'object' ? (kind as AnyWorkflowKind) : view.kinds().find((k) => k.name === name);
  const spec = (known as AnyWorkflowKind | undefined)?.workflow;
  return spec === undefined ? { name } : { name, attributes: spec.attributes };
}

/** The store filter of a query (checked: ERR_WORKFLOW_INCORRECT naming the field). */
export function indexFilter(view: WorkflowRuntimeView, q: WorkflowFilter & { status?: unknown }): IndexFilter {
  if (typeof q !== 'object' || q === null) throw ErrWorkflowIncorrect.with('list: the query must be an object');
  const k = kindOf(view, q.kind);
  if (q.status !== undefined && !WORKFLOW_STATUSES.includes(q.status as WorkflowStatus))
    throw ErrWorkflowIncorrect.with(
      `list: status must be one of ${WORKFLOW_STATUSES.join(', ')}, got ${describeThrown(q.status)}`,
    );
  let attributes: Readonly<Record<string, IndexValue>> | undefined;
  if (q.attributes !== undefined) {
    if (k.attributes !== undefined) attributes = checkedAttributes(k.name!, k.attributes, q.attributes, 'list');
    else
      try {
        // A copy: the store reads it later, outside this check.
        const copy = Object.fromEntries(Object.entries(q.attributes as object)) as Record<string, IndexValue>;
        checkIndexAttributes(copy, 'list: attributes');
        attributes = copy;
      } catch (err) {
        throw ErrWorkflowIncorrect.with((err as Error).message);
      }
  }
  const f = {
    kind: k.name,
    status: q.status as string | undefined,
    startedAfter: time(q.startedAfter, 'startedAfter'),
    startedBefore: time(q.startedBefore, 'startedBefore'),
    endedAfter: time(q.endedAfter, 'endedAfter'),
    endedBefore: time(q.endedBefore, 'endedBefore'),
    attributes,
  };
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined)) as IndexFilter;
}

/** A cursor as `next` carries it (base64url of its JSON triple). */
export function encodeCursor(c: IndexCursor): string {
  return Buffer.from(JSON.stringify([c.started, c.kind, c.key])).toString('base64url');
}

/** The cursor `text` carries (ERR_WORKFLOW_INCORRECT when no listing gave it). */
export function decodeCursor(text: unknown): IndexCursor {
  try {
    if (typeof text !== 'string' || text === '') throw new Error('empty');
    const [started, kind, key] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown[];
    if (typeof started !== 'number' || typeof kind !== 'string' || typeof key !== 'string' || kind === '' || key === '')
      throw new Error('shape');
    return { started, kind, key };
  } catch {
    throw ErrWorkflowIncorrect.with(`list: cursor ${describeThrown(text)} is not a page's next`);
  }
}

/** The store's index (ERR_WORKFLOW_UNSUPPORTED without a view or an index). */
function indexOf(view: WorkflowRuntimeView | undefined, what: string): StateIndex {
  const idx = view?.store.stateIndex;
  if (idx === undefined)
    throw ErrWorkflowUnsupported.with(
      view === undefined
        ? `${what}: this client has no store (use the runtime’s entities.workflows)`
        : `${what}: the store ${view.store.name} has no stateIndex`,
    );
  return idx;
}

const backfills = new WeakMap<StateIndex, Map<string, Promise<number>>>();

/** Backfill reads this many keys per store call. */
const BACKFILL_PAGE = 500;

async function backfillKind(idx: StateIndex, kind: EntityKind<any, any>): Promise<number> {
  let after: string | undefined;
  let added = 0;
  for (;;) {
    const page = await idx.unindexed(kind.name, { limit: BACKFILL_PAGE, ...(after === undefined ? {} : { after }) });
    for (const row of page) {
      const entry = kind.index!(row.state);
      if (entry !== undefined && (await idx.backfill(kind.name, row.key, row.version, entry))) added++;
      after = row.key;
    }
    if (page.length < BACKFILL_PAGE) return added;
  }
}

/**
 * Writes the index rows of `kinds`' keys saved before the store had an index (once per store
 * and kind in this process; a failed one is tried again by the next call). Resolves with how many
 * rows it added per kind; rejects with the store's error.
 */
export function backfillIndexes(store: EntityStore, kinds: readonly EntityKind<any, any>[]): Promise<number[]> {
  const idx = store.stateIndex;
  if (idx === undefined) return Promise.resolve([]);
  let done = backfills.get(idx);
  if (done === undefined) backfills.set(idx, (done = new Map()));
  const m = done;
  return Promise.all(
    kinds
      .filter((k) => k.index !== undefined)
      .map((k) => {
        let p = m.get(k.name);
        if (p === undefined) {
          p = backfillKind(idx, k);
          m.set(k.name, p);
          p.catch(() => m.delete(k.name));
        }
        return p;
      }),
  );
}

/** The kinds of `view` a search of `kind` reads (backfilled first). */
function searched(view: WorkflowRuntimeView, kind: string | undefined): EntityKind<any, any>[] {
  return view.kinds().filter((k) => kind === undefined || k.name === kind);
}

function countsOf(c: Record<string, number>): StatusCounts {
  const out = { running: 0, completed: 0, failed: 0, cancelled: 0, timedOut: 0, total: 0 };
  for (const s of WORKFLOW_STATUSES) {
    out[s] = c[s] ?? 0;
    out.total += out[s];
  }
  return out;
}

/** How many instances match `filter`, per status (see {@link WorkflowClient.count}). */
export async function countWorkflows(
  view: WorkflowRuntimeView | undefined,
  filter: WorkflowFilter,
): Promise<StatusCounts> {
  const idx = indexOf(view, 'count');
  let f: IndexFilter;
  try {
    // null counted everything (`{ ...null }` is `{}`) where list(null) was refused.
    if (typeof filter !== 'object' || filter === null)
      throw ErrWorkflowIncorrect.with(`count: the filter must be an object, got ${describeThrown(filter)}`);
    f = indexFilter(view!, { ...filter, status: undefined });
  } catch (err) {
    throw inputRefusal('count', err);
  }
  await backfillIndexes(view!.store, searched(view!, f.kind));
  return countsOf(await idx.count(f));
}

/** A page of instances matching `query` (see {@link WorkflowClient.list}). */
export async function searchWorkflows(
  view: WorkflowRuntimeView | undefined,
  query: WorkflowQuery,
): Promise<WorkflowSearchPage> {
  const idx = indexOf(view, 'list');
  let f: IndexFilter;
  let limit: number;
  let after: IndexCursor | undefined;
  try {
    f = indexFilter(view!, query);
    limit = query.limit ?? WORKFLOW_LIST_DEFAULTS.limit;
    if (!Number.isInteger(limit) || limit < 1 || limit > WORKFLOW_LIST_DEFAULTS.maxLimit)
      throw ErrWorkflowIncorrect.with(`list: limit must be an integer in 1..${WORKFLOW_LIST_DEFAULTS.maxLimit}`);
    after = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  } catch (err) {
    throw inputRefusal('list', err);
  }
  await backfillIndexes(view!.store, searched(view!, f.kind));
  const { status: _s, ...countFilter } = f;
  const [rows, counts] = await Promise.all([
    idx.search({ ...f, limit, ...(after === undefined ? {} : { after }) }),
    idx.count(countFilter),
  ]);
  const items: WorkflowSummary[] = [];
  for (const r of rows) {
    const s = summaryOf(r.kind, r.key, r.state);
    if (s !== undefined) items.push(s);
  }
  const last = rows.at(-1);
  return {
    items,
    ...(rows.length === limit && last !== undefined ? { next: encodeCursor(last) } : {}),
    counts: countsOf(counts),
  };
}
