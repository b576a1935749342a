// The events a projection reads: one event-sourced kind's journal (optionally one tag) after an
// offset, each upcast to its type's current schema. Every projection mode reads through here.

import { upcastEvent, type EventOf, type EventSourcedKind } from '../kinds/event_sourced.js';
import type { EntityStore } from '../contract/store.js';

/** One event of an event-sourced kind as a projection receives it (upcast to its current schema). */
export interface JournalEvent<Ev = unknown> {
  /** Its global offset in the store. */
  readonly offset: number;
  /** The kind and key of the entity that persisted it. */
  readonly kind: string;
  readonly key: string;
  /** The entity's version after it (its sequence number within the key). */
  readonly version: number;
  /** Its type name (the key of the kind's `events`). */
  readonly type: string;
  /** The payload, upcast to its type's current schema. */
  readonly event: Ev;
}

/** The events union of an event-sourced kind. */
export type KindEvent<K> = K extends EventSourcedKind<any, any, infer E> ? EventOf<E> : never;

/** How many events {@link readEvents} reads when no `limit` is given. */
export const DEFAULT_READ_LIMIT = 100;

/**
 * Reads the journal of `kind` (optionally one tag) after offset `after`, at most `limit` events,
 * in offset order, each upcast to its type's current schema. Rejects with ERR_ENTITY_INCORRECT for
 * a bad query, ERR_ENTITY_EVENT_INVALID for a stored event the kind cannot read, or the store's error.
 */
export async function readEvents<K extends EventSourcedKind<any, any, any>>(
  store: EntityStore,
  kind: K,
  query: { readonly after: number; readonly limit?: number; readonly tag?: string },
): Promise<JournalEvent<KindEvent<K>>[]> {
  const rows = await store.readJournal({
    kind: kind.name,
    after: query.after,
    limit: query.limit ?? DEFAULT_READ_LIMIT,
    ...(query.tag === undefined ? {} : { tag: query.tag }),
  });
  return rows.map((r) => ({
    offset: r.offset,
    kind: r.kind,
    key: r.key,
    version: r.version,
    type: r.type,
    event: upcastEvent(kind.name, kind.journal, r) as KindEvent<K>,
  }));
}
