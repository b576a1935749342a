// The memory store's state index (contract/state_index.ts): a row per key in a map beside its
// state, replaced by the write that saved the state (store/memory_store.ts calls `put` inside the
// write, after every check passed). A search filters the kind's rows (or every kind's) and sorts
// them newest first: the memory store serves tests and trials, whose row counts a sort handles.

import type { EntityId } from '../contract/ids.js';
import {
  checkIndexEntry,
  checkIndexFilter,
  checkIndexQuery,
  checkPurgeQuery,
  type IndexCursor,
  type PurgeQuery,
  type IndexedState,
  type IndexFilter,
  type IndexQuery,
  type StateIndex,
  type StateIndexEntry,
} from '../contract/state_index.js';
import type { KeyState } from '../contract/store.js';
import { checkStatesPage, compareKeys } from './states_page.js';

/** The index rows of one memory "database": kind → key → row (MemoryStoreData keeps one). */
export class MemoryIndexData {
  readonly rows = new Map<string, Map<string, StateIndexEntry>>();

  /** Sets the row of (kind, key). */
  put(id: EntityId, entry: StateIndexEntry): void {
    let kind = this.rows.get(id.kind);
    if (kind === undefined) this.rows.set(id.kind, (kind = new Map()));
    kind.set(id.key, entry);
  }
}

/** What the index reads of its store. */
export interface MemoryIndexHost {
  readonly data: MemoryIndexData;
  /** The stored state of a key, decoded, with its snapshot version (undefined: none). */
  state(id: EntityId): KeyState | undefined;
  /** The kinds that have stored keys, and their keys. */
  keys(kind: string): Iterable<string>;
  /** Runs an operation as the store does (closed check, safe to leave un-awaited). */
  op<T>(what: string, fn: () => T): Promise<T>;
  /** Deletes every row of a key but its lease (retention). */
  forget(id: EntityId): void;
}

/** True when `e` matches `f` (its status too unless `anyStatus`). */
function matches(e: StateIndexEntry, f: IndexFilter, anyStatus: boolean): boolean {
  if (!anyStatus && f.status !== undefined && e.status !== f.status) return false;
  if (f.startedAfter !== undefined && !(e.started > f.startedAfter)) return false;
  if (f.startedBefore !== undefined && !(e.started < f.startedBefore)) return false;
  if (f.endedAfter !== undefined && !(e.ended !== undefined && e.ended > f.endedAfter)) return false;
  if (f.endedBefore !== undefined && !(e.ended !== undefined && e.ended < f.endedBefore)) return false;
  for (const [name, v] of Object.entries(f.attributes ?? {})) if (e.attributes?.[name] !== v) return false;
  return true;
}

/** Orders rows as the SQL stores do: (started, kind, key) descending, names by UTF-8 bytes. */
function newestFirst(a: IndexCursor, b: IndexCursor): number {
  return b.started - a.started || compareKeys(b.kind, a.kind) || compareKeys(b.key, a.key);
}

/** The memory store's {@link StateIndex}. */
export class MemoryStateIndex implements StateIndex {
  readonly #h: MemoryIndexHost;

  constructor(host: MemoryIndexHost) {
    this.#h = host;
  }

  /** The rows matching `f` (every status when `anyStatus`). */
  #matching(f: IndexFilter, anyStatus: boolean): (IndexCursor & { entry: StateIndexEntry })[] {
    const out: (IndexCursor & { entry: StateIndexEntry })[] = [];
    for (const [kind, rows] of this.#h.data.rows) {
      if (f.kind !== undefined && kind !== f.kind) continue;
      for (const [key, entry] of rows)
        if (matches(entry, f, anyStatus)) out.push({ started: entry.started, kind, key, entry });
    }
    return out;
  }

  search(query: IndexQuery): Promise<IndexedState[]> {
    return this.#h.op('stateIndex.search', () => {
      checkIndexQuery(query);
      const after = query.after;
      return this.#matching(query, false)
        .filter((r) => after === undefined || newestFirst(after, r) < 0)
        .sort(newestFirst)
        .slice(0, query.limit)
        .map((r) => {
          const st = this.#h.state(r);
          return { ...r.entry, kind: r.kind, key: r.key, state: st?.state, version: st?.version ?? 0 };
        });
    });
  }

  count(filter: IndexFilter): Promise<Record<string, number>> {
    return this.#h.op('stateIndex.count', () => {
      checkIndexFilter(filter);
      const counts: Record<string, number> = {};
      for (const r of this.#matching(filter, true)) counts[r.entry.status] = (counts[r.entry.status] ?? 0) + 1;
      return counts;
    });
  }

  unindexed(kind: string, page: { readonly after?: string; readonly limit: number }): Promise<KeyState[]> {
    return this.#h.op('stateIndex.unindexed', () => {
      checkStatesPage(kind, page);
      const indexed = this.#h.data.rows.get(kind);
      const out: KeyState[] = [];
      for (const key of this.#h.keys(kind)) {
        if (indexed?.has(key) === true || (page.after !== undefined && compareKeys(key, page.after) <= 0)) continue;
        const st = this.#h.state({ kind, key });
        if (st?.state !== undefined) out.push(st);
      }
      return out.sort((a, b) => compareKeys(a.key, b.key)).slice(0, page.limit);
    });
  }

  purge(kind: string, q: PurgeQuery): Promise<string[]> {
    return this.#h.op('stateIndex.purge', () => {
      checkPurgeQuery(kind, q);
      const rows = [...(this.#h.data.rows.get(kind) ?? new Map<string, StateIndexEntry>())]
        .filter(([, e]) => e.ended !== undefined && e.ended < q.endedBefore && q.statuses.includes(e.status))
        .sort(([, a], [, b]) => a.ended! - b.ended!)
        .slice(0, q.limit);
      for (const [key] of rows) {
        this.#h.data.rows.get(kind)!.delete(key);
        this.#h.forget({ kind, key });
      }
      return rows.map(([key]) => key);
    });
  }

  backfill(kind: string, key: string, version: number, entry: StateIndexEntry): Promise<boolean> {
    return this.#h.op('stateIndex.backfill', () => {
      checkIndexEntry(entry);
      if (this.#h.data.rows.get(kind)?.has(key) === true) return false;
      if (this.#h.state({ kind, key })?.version !== version) return false;
      this.#h.data.put({ kind, key }, entry);
      return true;
    });
  }
}
