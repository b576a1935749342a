// The journal: every event an event-sourced entity persisted, across all keys of a store, in one
// order a projection can follow and resume (Akka Persistence Query's `eventsByTag` with an offset).
// Each stored event gets a global offset (the store's `seq` column) when it is written: an integer
// that only grows within a store. "In order" means: by offset, which is the order in which the
// events' transactions committed. Events of one key are in their version order; events of
// different keys are in the order their writes committed (two keys written at the same time may
// come either way, but never differently for two readers, and never differently on a re-read).
// A reader that saw offset N never later finds an event with an offset ≤ N it had not seen: the
// stores assign offsets so that a lower offset is never committed after a higher one is visible
// (SQLite: one writer at a time; PostgreSQL: see store/journal_sql.ts). Offsets may have gaps (a
// rolled-back write); they are positions, not counts.

/** What the journal records of one event besides its payload (one per event of a write). */
export interface EventMeta {
  /** The event's type name (the key of the kind's `events` record). */
  readonly type: string;
  /** The version of the type's schema the payload was written with (1, 2, ...). */
  readonly schemaVersion: number;
  /** Tags a projection may select the event by (the kind's `tagger`). */
  readonly tags?: readonly string[];
}

/** A read of the journal: events of one kind (optionally one tag) after an offset. */
export interface JournalQuery {
  /** The entity kind's name. */
  readonly kind: string;
  /** Only events carrying this tag. */
  readonly tag?: string;
  /** Events with an offset greater than this (0: from the start). */
  readonly after: number;
  /** At most this many events (1..10 000). */
  readonly limit: number;
}

/** One event as the journal gives it (the payload as stored: no upcast applied). */
export interface JournalEntry {
  /** Its global offset in the store (resume after it). */
  readonly offset: number;
  /** The kind and key of the entity that persisted it. */
  readonly kind: string;
  readonly key: string;
  /** The version of the entity it brought the entity to. */
  readonly version: number;
  /** Its type name and the schema version of its payload. */
  readonly type: string;
  readonly schemaVersion: number;
  /** The payload as the codec decoded it. */
  readonly event: unknown;
}

/**
 * The journal side of an {@link EntityStore}: reads for projections and the projections' stored
 * offsets. Every method returns a Promise that is safe to leave un-awaited.
 */
export interface JournalStore {
  /**
   * Events of a kind (optionally of a tag) with an offset above `after`, in offset order, at
   * most `limit`. Rejects with ERR_ENTITY_INCORRECT for a bad query.
   */
  readJournal(query: JournalQuery): Promise<JournalEntry[]>;
  /** The offset stored for a projection (undefined: never stored). */
  loadOffset(projection: string): Promise<number | undefined>;
  /** Stores a projection's offset (replacing the previous one). */
  saveOffset(projection: string, offset: number): Promise<void>;
}

/** The most events one {@link JournalStore.readJournal} returns. */
export const MAX_JOURNAL_BATCH = 10_000;
