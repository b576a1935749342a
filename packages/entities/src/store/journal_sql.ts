// The journal's part of the two SQL stores (sqlite.ts, postgres.ts): the checks of its inputs,
// and each dialect's tables and migration. The events table gains, for the journal, a global
// offset (`seq`), the event's type and its schema version; a tags table indexes events by tag;
// an offsets table keeps projections' offsets. `open` creates what is missing, so a database
// written by an earlier version (an events table without those columns) is migrated in place:
// its existing events get offsets in the order they were inserted.
//
// Ordering (what a reader may rely on, contract/journal.ts): a lower offset is never committed after a
// higher one became visible. SQLite has one writer at a time (`BEGIN IMMEDIATE`), and a write
// takes `MAX(seq) + 1`: offsets are handed out in commit order, with no gap. PostgreSQL
// transactions run side by side and a sequence's values commit in any order: a writer that drew
// offset 5 may commit after another one's offset 6 was read, and a projection resuming after 6
// would skip 5 for ever. So every transaction that appends events first takes one
// transaction-scoped advisory lock of the store (`journalLockKey`) right before it draws its
// offsets, and holds it to its commit: offsets are drawn and committed one transaction at a
// time, in order (a rolled-back one leaves a gap, never a late event). We chose this over a read
// watermark (reading only below the oldest running transaction's xmin) because it needs no
// second offset dimension and keeps `offset` a plain number; its price is that appends of events
// commit one at a time across the whole store (state-mode writes, enqueues and leases are not
// affected), and the lock is taken last, after the key's own lock, so it can't deadlock.

import { ErrEntityIncorrect } from '../contract/errors.js';
import { MAX_JOURNAL_BATCH, type EventMeta, type JournalQuery } from '../contract/journal.js';

/** The journal's record of one event as a store writes it (tags resolved to an array). */
export interface StoredEventMeta {
  readonly type: string;
  readonly schemaVersion: number;
  readonly tags: readonly string[];
}

const NO_META: StoredEventMeta = Object.freeze({ type: '', schemaVersion: 1, tags: Object.freeze([]) });

/** Longest type name or tag, in characters. */
const MAX_NAME = 200;

function name(v: unknown, what: string, allowEmpty: boolean): string {
  if (typeof v !== 'string' || (!allowEmpty && v === '') || v.length > MAX_NAME)
    throw ErrEntityIncorrect.with(`${what} must be a string of ${allowEmpty ? 0 : 1}..${MAX_NAME} characters`);
  return v;
}

/** Checks a write's `eventMeta` (one per event, or none) and gives one record per event. */
export function checkEventMeta(count: number, meta: readonly EventMeta[] | undefined): StoredEventMeta[] {
  if (meta === undefined) return Array.from({ length: count }, () => NO_META);
  if (!Array.isArray(meta) || meta.length !== count)
    throw ErrEntityIncorrect.with(`eventMeta must have one entry per event (${count})`);
  return meta.map((m: EventMeta) => {
    name(m?.type, 'an event type', true);
    if (!Number.isInteger(m.schemaVersion) || m.schemaVersion < 1 || m.schemaVersion > 2 ** 31 - 1)
      throw ErrEntityIncorrect.with(`an event's schemaVersion must be an integer ≥ 1, got ${String(m.schemaVersion)}`);
    const tags = m.tags ?? [];
    if (!Array.isArray(tags)) throw ErrEntityIncorrect.with('event tags must be an array of strings');
    for (const t of tags) name(t, 'an event tag', false);
    return { type: m.type, schemaVersion: m.schemaVersion, tags: [...new Set(tags)] };
  });
}

/** Checks a {@link JournalQuery}. */
export function checkJournalQuery(q: JournalQuery): void {
  name(q?.kind, 'a journal query’s kind', false);
  if (q.tag !== undefined) name(q.tag, 'a journal query’s tag', false);
  checkOffset(q.after);
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_JOURNAL_BATCH)
    throw ErrEntityIncorrect.with(`a journal query’s limit must be an integer in 1..${MAX_JOURNAL_BATCH}`);
}

/** Checks a projection's name. */
export function checkProjection(projection: string): void {
  name(projection, 'a projection name', false);
}

/** Checks an offset: a safe integer ≥ 0. */
export function checkOffset(offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw ErrEntityIncorrect.with(`an offset must be a safe integer ≥ 0, got ${String(offset)}`);
}

/** SQLite: the journal's tables (besides the events table the store's schema creates). */
export const SQLITE_JOURNAL_TABLES = `
CREATE TABLE IF NOT EXISTS entity_event_tags (
  tag TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, PRIMARY KEY (tag, seq));
CREATE TABLE IF NOT EXISTS entity_offsets (name TEXT PRIMARY KEY, position INTEGER NOT NULL);
`;

/** SQLite: the events table's journal columns, added when missing (their ALTER statements). */
export const SQLITE_EVENT_COLUMNS: readonly (readonly [string, string])[] = [
  ['seq', 'ALTER TABLE entity_events ADD COLUMN seq INTEGER'],
  ['type', "ALTER TABLE entity_events ADD COLUMN type TEXT NOT NULL DEFAULT ''"],
  ['schema_version', 'ALTER TABLE entity_events ADD COLUMN schema_version INTEGER NOT NULL DEFAULT 1'],
];

/** SQLite: the journal's indexes (after the columns exist and every event has an offset). */
export const SQLITE_JOURNAL_INDEXES = `
CREATE UNIQUE INDEX IF NOT EXISTS entity_events_by_seq ON entity_events (seq);
CREATE INDEX IF NOT EXISTS entity_events_by_kind ON entity_events (kind, seq);
`;

/** PostgreSQL: the journal's columns, tables and indexes for tables with prefix `p` (run under the schema lock). */
export function postgresJournalSchema(p: string, hasSeq: boolean): string {
  return `
${hasSeq ? '' : `ALTER TABLE ${p}events ADD COLUMN seq BIGSERIAL;`}
ALTER TABLE ${p}events ADD COLUMN IF NOT EXISTS type TEXT NOT NULL DEFAULT '';
ALTER TABLE ${p}events ADD COLUMN IF NOT EXISTS schema_version INT NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX IF NOT EXISTS ${p}events_by_seq ON ${p}events (seq);
CREATE INDEX IF NOT EXISTS ${p}events_by_kind ON ${p}events (kind, seq);
CREATE TABLE IF NOT EXISTS ${p}event_tags (
  tag TEXT NOT NULL, seq BIGINT NOT NULL, kind TEXT NOT NULL, PRIMARY KEY (tag, seq));
CREATE TABLE IF NOT EXISTS ${p}offsets (name TEXT PRIMARY KEY, position BIGINT NOT NULL);
`;
}

/** PostgreSQL: the advisory lock key that orders the journal of the tables with prefix `p` (see above). */
export function journalLockKey(p: string): string {
  return `${p}journal`;
}
