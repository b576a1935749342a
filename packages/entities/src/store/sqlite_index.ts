// The SQLite store's state index (contract/state_index.ts): `entity_search`, a row per key (status,
// started, ended, its attributes as canonical JSON), with an index per listing shape — every kind,
// one kind, a status, a kind and a status — each ordered (started, kind, key) descending, so a page
// is a range read of one index, and by end time (every kind, one kind: the ended rows only, with
// their status, so an end-time range is read, and counted per status, from the index); and
// `entity_search_attrs`, a row per attribute indexed by (name, value), which drives a search that
// filters by an attribute (the CROSS JOIN fixes that order: SQLite without ANALYZE statistics would
// otherwise walk the time index and probe each row). SqliteStore runs `apply` inside a write's
// transaction: a row changes only when its values did (a workflow's every journal write re-derives
// the same row: one primary-key read then).

import {
  attributeText,
  checkIndexEntry,
  checkIndexFilter,
  checkIndexQuery,
  checkPurgeQuery,
  type IndexedState,
  type IndexFilter,
  type IndexQuery,
  type PurgeQuery,
  type StateIndex,
  type StateIndexEntry,
} from '../contract/state_index.js';
import type { KeyState, WriteRequest } from '../contract/store.js';
import type { Values } from './sql_store.js';
import { checkStatesPage } from './states_page.js';

/** The index's tables and indexes (run by `SqliteStore.open`; a file an earlier version wrote gains them empty). */
export const SQLITE_INDEX_SCHEMA = `
CREATE TABLE IF NOT EXISTS entity_search (
  kind TEXT NOT NULL, key TEXT NOT NULL, status TEXT NOT NULL, started INTEGER NOT NULL, ended INTEGER,
  attrs TEXT NOT NULL, PRIMARY KEY (kind, key));
CREATE INDEX IF NOT EXISTS entity_search_all ON entity_search (started DESC, kind DESC, key DESC);
CREATE INDEX IF NOT EXISTS entity_search_kind ON entity_search (kind, started DESC, key DESC);
CREATE INDEX IF NOT EXISTS entity_search_status ON entity_search (status, started DESC, kind DESC, key DESC);
CREATE INDEX IF NOT EXISTS entity_search_kind_status ON entity_search (kind, status, started DESC, key DESC);
CREATE INDEX IF NOT EXISTS entity_search_ended ON entity_search (ended, kind, status) WHERE ended IS NOT NULL;
CREATE INDEX IF NOT EXISTS entity_search_kind_ended ON entity_search (kind, ended, status) WHERE ended IS NOT NULL;
CREATE TABLE IF NOT EXISTS entity_search_attrs (
  kind TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, key, name));
CREATE INDEX IF NOT EXISTS entity_search_attr ON entity_search_attrs (name, value, kind, key);
`;

type SqlValue = string | number | bigint | null | Uint8Array;
interface Statement {
  run(...params: SqlValue[]): { changes: number | bigint };
  get(...params: SqlValue[]): Record<string, SqlValue> | undefined;
  all(...params: SqlValue[]): Record<string, SqlValue>[];
}

/** What the SQLite store lends: its compiler, its transaction, its codec and its operation wrapper. */
export interface SqliteIndexHost {
  prepare(sql: string): Statement;
  tx<T>(fn: () => T): T;
  readonly values: Values;
  /** As SqliteStore's own operations run (busy retries, the closed check); `writes`: in the group commit. */
  op<T>(what: string, fn: () => T, writes: boolean): Promise<T>;
}

/**
 * The keys a purge takes (kind, ended before, `statuses` statuses, limit), oldest ended first:
 * served by the (kind, ended) index.
 */
export function sqlitePurgeSelect(statuses: number): string {
  const marks = Array.from({ length: statuses }, () => '?').join(', ');
  return `SELECT key FROM entity_search WHERE kind = ? AND ended IS NOT NULL AND ended < ? AND status IN (${marks}) ORDER BY ended LIMIT ?`;
}

/**
 * The tables retention deletes a key's rows from (its lease row stays: its fencing tokens go on;
 * its state row stays without its record: its version goes on).
 */
const PURGED_TABLES = [
  'entity_search',
  'entity_search_attrs',
  'entity_reminders',
  'entity_inbox',
  'entity_processed',
  'entity_dead_letters',
];

/** Attributes as canonical JSON (names sorted): equal attributes give equal text. */
function canonical(attrs: StateIndexEntry['attributes']): string {
  const names = Object.keys(attrs ?? {}).sort();
  return JSON.stringify(Object.fromEntries(names.map((n) => [n, attrs![n]])));
}

/** A search's SQL (a WHERE over `s` and its FROM) and its parameters; see the top of this file. */
export function sqliteSearchSql(
  f: IndexFilter,
  anyStatus: boolean,
): { from: string; where: string[]; params: SqlValue[] } {
  const params: SqlValue[] = [];
  const where: string[] = [];
  const attrs = Object.entries(f.attributes ?? {});
  let from = 'entity_search s';
  // An end-time range reads the ended rows' index: without statistics SQLite would walk the
  // start-time index for the page's order and test every row's end.
  if (f.endedAfter !== undefined || f.endedBefore !== undefined)
    from = `entity_search s INDEXED BY ${f.kind === undefined ? 'entity_search_ended' : 'entity_search_kind_ended'}`;
  if (attrs.length > 0) {
    const [name, value] = attrs[0]!;
    from = 'entity_search_attrs a CROSS JOIN entity_search s ON s.kind = a.kind AND s.key = a.key';
    where.push('a.name = ?', 'a.value = ?');
    params.push(name, attributeText(value));
    if (f.kind !== undefined) {
      where.push('a.kind = ?');
      params.push(f.kind);
    }
    for (const [n, v] of attrs.slice(1)) {
      where.push(
        'EXISTS (SELECT 1 FROM entity_search_attrs b WHERE b.kind = s.kind AND b.key = s.key AND b.name = ? AND b.value = ?)',
      );
      params.push(n, attributeText(v));
    }
  }
  const add = (sql: string, v: SqlValue | undefined): void => {
    if (v === undefined) return;
    where.push(sql);
    params.push(v);
  };
  add('s.kind = ?', f.kind);
  if (!anyStatus) add('s.status = ?', f.status);
  add('s.started > ?', f.startedAfter);
  add('s.started < ?', f.startedBefore);
  add('s.ended > ?', f.endedAfter);
  add('s.ended < ?', f.endedBefore);
  return { from, where, params };
}

/** A search page's statement text and parameters. */
export function sqliteSearchQuery(q: IndexQuery): { sql: string; params: SqlValue[] } {
  const { from, where, params } = sqliteSearchSql(q, false);
  if (q.after !== undefined) {
    // A row value: one range bound on the ordered index (the kind is fixed when filtered by it).
    if (q.kind !== undefined) {
      where.push('(s.started, s.key) < (?, ?)');
      params.push(q.after.started, q.after.key);
    } else {
      where.push('(s.started, s.kind, s.key) < (?, ?, ?)');
      params.push(q.after.started, q.after.kind, q.after.key);
    }
  }
  params.push(q.limit);
  // The page first (LIMIT inside), then its states: only the page's snapshots are read.
  const page =
    `SELECT s.kind, s.key, s.status, s.started, s.ended, s.attrs FROM ${from}` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ' ORDER BY s.started DESC, s.kind DESC, s.key DESC LIMIT ?';
  return {
    sql:
      `SELECT p.*, st.snapshot, st.snapshot_version FROM (${page}) p ` +
      'LEFT JOIN entity_state st ON st.kind = p.kind AND st.key = p.key ORDER BY p.started DESC, p.kind DESC, p.key DESC',
    params,
  };
}

/** A count's statement text and parameters (per status: the filter's status is ignored). */
export function sqliteCountQuery(f: IndexFilter): { sql: string; params: SqlValue[] } {
  const { from, where, params } = sqliteSearchSql(f, true);
  const sql =
    `SELECT s.status, COUNT(*) AS n FROM ${from}` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ' GROUP BY s.status';
  return { sql, params };
}

/** The SQLite store's {@link StateIndex}, and the write-time `apply`. */
export class SqliteStateIndex implements StateIndex {
  readonly #h: SqliteIndexHost;
  readonly #q: Record<string, Statement>;
  /** Search and count statements by their text (the filters' shapes are few). */
  readonly #cache = new Map<string, Statement>();

  constructor(host: SqliteIndexHost) {
    this.#h = host;
    const p = (sql: string): Statement => host.prepare(sql);
    this.#q = {
      get: p('SELECT status, started, ended, attrs FROM entity_search WHERE kind = ? AND key = ?'),
      put: p(
        'INSERT INTO entity_search (kind, key, status, started, ended, attrs) VALUES (?, ?, ?, ?, ?, ?) ' +
          'ON CONFLICT (kind, key) DO UPDATE SET status = excluded.status, started = excluded.started, ' +
          'ended = excluded.ended, attrs = excluded.attrs',
      ),
      attrsDel: p('DELETE FROM entity_search_attrs WHERE kind = ? AND key = ?'),
      attrPut: p('INSERT INTO entity_search_attrs (kind, key, name, value) VALUES (?, ?, ?, ?)'),
      version: p('SELECT snapshot_version FROM entity_state WHERE kind = ? AND key = ? AND snapshot IS NOT NULL'),
      unindexed: p(
        'SELECT st.key, st.snapshot, st.snapshot_version FROM entity_state st WHERE st.kind = ? AND st.key > ? ' +
          'AND st.snapshot IS NOT NULL AND NOT EXISTS (SELECT 1 FROM entity_search s WHERE s.kind = st.kind AND s.key = st.key) ' +
          'ORDER BY st.key LIMIT ?',
      ),
    };
  }

  #stmt(sql: string): Statement {
    let s = this.#cache.get(sql);
    if (s === undefined) this.#cache.set(sql, (s = this.#h.prepare(sql)));
    return s;
  }

  /** Writes `request`'s index row (inside the write's transaction), when its values changed. */
  apply(request: WriteRequest): void {
    const e = request.index;
    if (e === undefined) return;
    this.#put(request.kind, request.key, e);
  }

  #put(kind: string, key: string, e: StateIndexEntry): void {
    const attrs = canonical(e.attributes);
    const cur = this.#q.get!.get(kind, key);
    if (
      cur !== undefined &&
      cur.status === e.status &&
      Number(cur.started) === e.started &&
      (cur.ended === null ? undefined : Number(cur.ended)) === e.ended &&
      cur.attrs === attrs
    )
      return;
    this.#q.put!.run(kind, key, e.status, e.started, e.ended ?? null, attrs);
    if (cur?.attrs === attrs) return;
    this.#q.attrsDel!.run(kind, key);
    for (const [name, v] of Object.entries(e.attributes ?? {})) this.#q.attrPut!.run(kind, key, name, attributeText(v));
  }

  search(query: IndexQuery): Promise<IndexedState[]> {
    return this.#h.op(
      'stateIndex.search',
      () => {
        checkIndexQuery(query);
        const { sql, params } = sqliteSearchQuery(query);
        return this.#stmt(sql)
          .all(...params)
          .map((r) => ({
            kind: String(r.kind),
            key: String(r.key),
            status: String(r.status),
            started: Number(r.started),
            ...(r.ended === null ? {} : { ended: Number(r.ended) }),
            attributes: JSON.parse(String(r.attrs)) as Record<string, string | number | boolean>,
            state:
              r.snapshot === null || r.snapshot === undefined ? undefined : this.#h.values.decode(String(r.snapshot)),
            version: r.snapshot_version === null ? 0 : Number(r.snapshot_version),
          }));
      },
      false,
    );
  }

  count(filter: IndexFilter): Promise<Record<string, number>> {
    return this.#h.op(
      'stateIndex.count',
      () => {
        checkIndexFilter(filter);
        const { sql, params } = sqliteCountQuery(filter);
        const out: Record<string, number> = {};
        for (const r of this.#stmt(sql).all(...params)) out[String(r.status)] = Number(r.n);
        return out;
      },
      false,
    );
  }

  unindexed(kind: string, page: { readonly after?: string; readonly limit: number }): Promise<KeyState[]> {
    return this.#h.op(
      'stateIndex.unindexed',
      () => {
        checkStatesPage(kind, page);
        return this.#q.unindexed!.all(kind, page.after ?? '', page.limit).map((r) => ({
          key: String(r.key),
          state: this.#h.values.decode(String(r.snapshot)),
          version: Number(r.snapshot_version),
        }));
      },
      false,
    );
  }

  purge(kind: string, q: PurgeQuery): Promise<string[]> {
    return this.#h.op(
      'stateIndex.purge',
      () => {
        checkPurgeQuery(kind, q);
        // One transaction under the file's write lock: no write of these keys between the read and the deletes.
        return this.#h.tx(() => {
          const keys = this.#h
            .prepare(sqlitePurgeSelect(q.statuses.length))
            .all(kind, q.endedBefore, ...q.statuses, q.limit)
            .map((r) => String(r.key));
          // The state row stays with its version (the record gone): an activation still holding the
          // old record writes on it, and the next one reads no state.
          const clear = this.#h.prepare('UPDATE entity_state SET snapshot = NULL WHERE kind = ? AND key = ?');
          for (const key of keys) clear.run(kind, key);
          for (const table of PURGED_TABLES) {
            const del = this.#h.prepare(`DELETE FROM ${table} WHERE kind = ? AND key = ?`);
            for (const key of keys) del.run(kind, key);
          }
          return keys;
        });
      },
      true,
    );
  }

  backfill(kind: string, key: string, version: number, entry: StateIndexEntry): Promise<boolean> {
    return this.#h.op(
      'stateIndex.backfill',
      () => {
        checkIndexEntry(entry);
        return this.#h.tx(() => {
          // Inside the write lock: a write since the read wrote its own row (or moved the version).
          if (this.#q.get!.get(kind, key) !== undefined) return false;
          const v = this.#q.version!.get(kind, key);
          if (v === undefined || Number(v.snapshot_version) !== version) return false;
          this.#put(kind, key, entry);
          return true;
        });
      },
      true,
    );
  }
}
