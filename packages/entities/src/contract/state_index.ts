// The state index: a row per (kind, key) that a kind's `index` hook derives from its state (a
// status, a start and end time, typed attributes), written by the store in the same transaction
// as the state it was derived from, so the index never disagrees with a committed state. Operator
// searches (`entities.workflows.list`) read it instead of decoding every record: each store keeps
// it in indexed tables (SQLite: store/sqlite_index.ts; PostgreSQL: store/postgres_index.ts with a
// GIN index on the attributes; memory: store/memory_index.ts). Rows are listed newest first, by
// (started, kind, key) descending: a cursor is the last row's triple, so rows written after a
// page was read (a newer start) never shift the pages after it.

import { ErrEntityIncorrect } from './errors.js';
import { checkKey } from './ids.js';
import type { KeyState } from './stored_state.js';

/** An attribute's value: a string (at most {@link STATE_INDEX_LIMITS}.valueBytes UTF-8 bytes), a finite number or a boolean. */
export type IndexValue = string | number | boolean;

/** What a kind's `index` hook derives from a state: the row the store keeps for its key. */
export interface StateIndexEntry {
  /** A short status word (`running`, `completed`...): at most 32 characters. */
  readonly status: string;
  /** When it started, epoch ms (0 when unknown): the listing's order. */
  readonly started: number;
  /** When it ended, epoch ms; absent while it runs. */
  readonly ended?: number;
  /** Attributes to filter by (equality), at most {@link STATE_INDEX_LIMITS}.attributes. */
  readonly attributes?: Readonly<Record<string, IndexValue>>;
}

/** One row of a search: the index entry, its key, and the state it was derived from. */
export interface IndexedState extends StateIndexEntry, KeyState {
  readonly kind: string;
}

/** Where a page ended: the last row's order triple (pass it back for the rows after it). */
export interface IndexCursor {
  readonly started: number;
  readonly kind: string;
  readonly key: string;
}

/** What rows a search or a count takes; every field narrows (all must hold). */
export interface IndexFilter {
  /** Only this kind. */
  readonly kind?: string;
  /** Only rows in this status (ignored by {@link StateIndex.count}, which counts per status). */
  readonly status?: string;
  /** Started strictly after / before this time, epoch ms. */
  readonly startedAfter?: number;
  readonly startedBefore?: number;
  /** Ended strictly after / before this time, epoch ms (a row not ended matches neither). */
  readonly endedAfter?: number;
  readonly endedBefore?: number;
  /** Attributes that must all be equal (a string equals only a string, a number only a number). */
  readonly attributes?: Readonly<Record<string, IndexValue>>;
}

/** A page of a search: a filter, a size and where the previous page ended. */
export interface IndexQuery extends IndexFilter {
  /** At most this many rows (1..{@link STATE_INDEX_LIMITS}.page). */
  readonly limit: number;
  /** The last row of the previous page (exclusive); omit for the first. */
  readonly after?: IndexCursor;
}

/**
 * A store's state index (`EntityStore.stateIndex`). Every method returns a Promise safe to leave
 * un-awaited; bad arguments reject with ERR_ENTITY_INCORRECT; after the store's close, with
 * ERR_ENTITY_STORE_CLOSED. Rows are written by `EntityStore.write` (its request's `index`).
 */
export interface StateIndex {
  /** The rows that match, newest first (started, kind, key descending), with their states. */
  search(query: IndexQuery): Promise<IndexedState[]>;
  /** How many rows match per status (the filter's `status` is ignored); statuses with none are absent. */
  count(filter: IndexFilter): Promise<Record<string, number>>;
  /**
   * Keys of `kind` with a stored state and no index row (saved before the index existed), in key
   * order, after `after`, at most `limit`: what a backfill reads.
   */
  unindexed(kind: string, page: { readonly after?: string; readonly limit: number }): Promise<KeyState[]>;
  /**
   * Adds the row of a key saved before the index existed, only if it still has none and its state
   * is still at `version` (a write since then wrote its own row): true when added.
   */
  backfill(kind: string, key: string, version: number, entry: StateIndexEntry): Promise<boolean>;
  /**
   * Retention (workflow/operator/retention.ts): deletes at most `limit` keys of `kind` whose row is in one
   * of `statuses` and ended before `endedBefore` — their state's value (the state row keeps its
   * version, so an activation still holding the old value writes on it), index row, reminders,
   * inbox, processed ids and dead letters (not their lease row) — in one transaction, each key
   * checked again under its write lock (a write since the read keeps it). Resolves with their
   * keys. Optional: a store without it has no retention.
   */
  purge?(kind: string, q: PurgeQuery): Promise<string[]>;
}

/** Which keys {@link StateIndex.purge} deletes. */
export interface PurgeQuery {
  /** Statuses whose keys may go (a workflow's ended ones). */
  readonly statuses: readonly string[];
  /** Only rows that ended strictly before this time (epoch ms). */
  readonly endedBefore: number;
  /** At most this many keys (1..1000): one bounded transaction. */
  readonly limit: number;
}

/** Checks a {@link PurgeQuery} (ERR_ENTITY_INCORRECT). */
export function checkPurgeQuery(kind: string, q: PurgeQuery): void {
  if (typeof kind !== 'string' || kind === '') throw ErrEntityIncorrect.with('purge: kind must be a non-empty string');
  if (!Array.isArray(q?.statuses) || q.statuses.length === 0 || q.statuses.some((x) => typeof x !== 'string'))
    throw ErrEntityIncorrect.with('purge: statuses must be a non-empty list of strings');
  checkTime(q.endedBefore, 'purge: endedBefore');
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > STATE_INDEX_LIMITS.page)
    throw ErrEntityIncorrect.with(`purge: limit must be an integer in 1..${STATE_INDEX_LIMITS.page}`);
}

/** Bounds of the index's values. */
export const STATE_INDEX_LIMITS = Object.freeze({
  attributes: 32,
  nameLength: 64,
  valueBytes: 256,
  statusLength: 32,
  page: 1000,
});

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function checkTime(v: unknown, what: string): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw ErrEntityIncorrect.with(`${what} must be an epoch-ms integer ≥ 0, got ${String(v)}`);
}

/** Throws ERR_ENTITY_INCORRECT unless `attrs` is an object of at most 32 named attribute values. */
export function checkIndexAttributes(attrs: unknown, what = 'attributes'): void {
  if (typeof attrs !== 'object' || attrs === null || Array.isArray(attrs))
    throw ErrEntityIncorrect.with(`${what} must be an object of name → string, number or boolean`);
  const names = Object.keys(attrs);
  if (names.length > STATE_INDEX_LIMITS.attributes)
    throw ErrEntityIncorrect.with(`${what}: at most ${STATE_INDEX_LIMITS.attributes} attributes, got ${names.length}`);
  for (const name of names) {
    if (name.length > STATE_INDEX_LIMITS.nameLength || !NAME.test(name))
      throw ErrEntityIncorrect.with(
        `${what}: the name ${JSON.stringify(name)} must match ${String(NAME)}, at most ${STATE_INDEX_LIMITS.nameLength} characters`,
      );
    const v = (attrs as Record<string, unknown>)[name];
    const ok =
      (typeof v === 'string' && Buffer.byteLength(v, 'utf8') <= STATE_INDEX_LIMITS.valueBytes) ||
      (typeof v === 'number' && Number.isFinite(v)) ||
      typeof v === 'boolean';
    if (!ok)
      throw ErrEntityIncorrect.with(
        `${what}.${name} must be a string of at most ${STATE_INDEX_LIMITS.valueBytes} bytes, a finite number or a boolean`,
      );
  }
}

/** Throws ERR_ENTITY_INCORRECT unless `e` is a valid {@link StateIndexEntry}. */
export function checkIndexEntry(e: StateIndexEntry): void {
  if (typeof e !== 'object' || e === null) throw ErrEntityIncorrect.with('an index entry must be an object');
  if (typeof e.status !== 'string' || e.status === '' || e.status.length > STATE_INDEX_LIMITS.statusLength)
    throw ErrEntityIncorrect.with(`an index entry's status must be 1..${STATE_INDEX_LIMITS.statusLength} characters`);
  checkTime(e.started, 'an index entry’s started');
  if (e.ended !== undefined) checkTime(e.ended, 'an index entry’s ended');
  if (e.attributes !== undefined) checkIndexAttributes(e.attributes, 'an index entry’s attributes');
}

/** Throws ERR_ENTITY_INCORRECT unless `f` is a valid {@link IndexFilter}. */
export function checkIndexFilter(f: IndexFilter): void {
  if (typeof f !== 'object' || f === null) throw ErrEntityIncorrect.with('an index filter must be an object');
  if (f.kind !== undefined && (typeof f.kind !== 'string' || f.kind === ''))
    throw ErrEntityIncorrect.with('an index filter’s kind must be a non-empty string');
  if (f.status !== undefined && (typeof f.status !== 'string' || f.status === ''))
    throw ErrEntityIncorrect.with('an index filter’s status must be a non-empty string');
  for (const k of ['startedAfter', 'startedBefore', 'endedAfter', 'endedBefore'] as const)
    if (f[k] !== undefined) checkTime(f[k], k);
  if (f.attributes !== undefined) checkIndexAttributes(f.attributes);
}

/** Throws ERR_ENTITY_INCORRECT unless `q` is a valid {@link IndexQuery}. */
export function checkIndexQuery(q: IndexQuery): void {
  checkIndexFilter(q);
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > STATE_INDEX_LIMITS.page)
    throw ErrEntityIncorrect.with(`an index query's limit must be an integer in 1..${STATE_INDEX_LIMITS.page}`);
  if (q.after !== undefined) {
    if (typeof q.after !== 'object' || q.after === null) throw ErrEntityIncorrect.with('after must be a cursor');
    checkTime(q.after.started, 'after.started');
    if (typeof q.after.kind !== 'string' || q.after.kind === '')
      throw ErrEntityIncorrect.with('after.kind must be a non-empty string');
    checkKey(q.after.key);
  }
}

/** An attribute value as the SQL stores keep it for equality: its JSON text (`"c-7"`, `120`, `true`). */
export function attributeText(v: IndexValue): string {
  return JSON.stringify(v);
}
