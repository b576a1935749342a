// The PostgreSQL store's state index (contract/state_index.ts): `<prefix>search`, a row per key
// with its status, times and attributes as JSONB, btree indexes per listing shape (every kind, one
// kind, a status, a kind and a status: each ordered (started, kind, key) descending, so a page is a
// range read of one index; by end time, every kind and one kind, over the ended rows) and a GIN
// index (jsonb_path_ops) that serves `attrs @> '{...}'`, the attribute filter. The row is written
// by the schema's write_key (postgres_setup.ts) in the write's transaction, and changed only when a
// value did (its DO UPDATE ... WHERE): a workflow's every journal write re-derives the same row and
// leaves no dead tuple.

import type pg from 'pg';

import {
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
import type { KeyState } from '../contract/store.js';
import type { Values } from './sql_store.js';
import { checkStatesPage } from './states_page.js';

/** The DDL of the search table and its indexes (a database an earlier version made gains them empty). */
export function postgresIndexSchema(p: string): string {
  return `
CREATE TABLE IF NOT EXISTS ${p}search (
  kind TEXT NOT NULL, key TEXT NOT NULL, status TEXT NOT NULL, started BIGINT NOT NULL, ended BIGINT,
  attrs JSONB NOT NULL DEFAULT '{}', PRIMARY KEY (kind, key));
CREATE INDEX IF NOT EXISTS ${p}search_all ON ${p}search (started DESC, kind DESC, key DESC);
CREATE INDEX IF NOT EXISTS ${p}search_kind ON ${p}search (kind, started DESC, key DESC);
CREATE INDEX IF NOT EXISTS ${p}search_status ON ${p}search (status, started DESC, kind DESC, key DESC);
CREATE INDEX IF NOT EXISTS ${p}search_kind_status ON ${p}search (kind, status, started DESC, key DESC);
CREATE INDEX IF NOT EXISTS ${p}search_ended ON ${p}search (ended, kind, status) WHERE ended IS NOT NULL;
CREATE INDEX IF NOT EXISTS ${p}search_kind_ended ON ${p}search (kind, ended, status) WHERE ended IS NOT NULL;
CREATE INDEX IF NOT EXISTS ${p}search_attrs ON ${p}search USING GIN (attrs jsonb_path_ops);`;
}

/** The statement write_key runs for its `idx` argument (a JSON {@link StateIndexEntry}). */
export function postgresIndexWrite(p: string): string {
  return `
  IF idx IS NOT NULL THEN
    INSERT INTO ${p}search AS s (kind, key, status, started, ended, attrs)
      VALUES (k, ky, idx->>'status', (idx->>'started')::BIGINT, (idx->>'ended')::BIGINT,
        COALESCE(idx->'attributes', '{}'))
      ON CONFLICT (kind, key) DO UPDATE SET status = excluded.status, started = excluded.started,
        ended = excluded.ended, attrs = excluded.attrs
      WHERE (s.status, s.started, s.ended, s.attrs) IS DISTINCT FROM
        (excluded.status, excluded.started, excluded.ended, excluded.attrs);
  END IF;`;
}

/** A filter's WHERE over `s` and its parameters, numbered from `$1` (status ignored when `anyStatus`). */
export function postgresWhere(f: IndexFilter, anyStatus: boolean): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, v: unknown): void => {
    if (v === undefined) return;
    params.push(v);
    where.push(sql.replace('?', `$${params.length}`));
  };
  add('s.kind = ?', f.kind);
  if (!anyStatus) add('s.status = ?', f.status);
  add('s.started > ?', f.startedAfter);
  add('s.started < ?', f.startedBefore);
  add('s.ended > ?', f.endedAfter);
  add('s.ended < ?', f.endedBefore);
  if (f.attributes !== undefined && Object.keys(f.attributes).length > 0)
    add('s.attrs @> ?::jsonb', JSON.stringify(f.attributes));
  return { where, params };
}

/** A search page's statement text and parameters (the page first, then its states). */
export function postgresSearchQuery(p: string, q: IndexQuery): { sql: string; params: unknown[] } {
  const { where, params } = postgresWhere(q, false);
  if (q.after !== undefined) {
    const n = params.length;
    params.push(q.after.started, q.after.kind, q.after.key);
    where.push(`(s.started, s.kind, s.key) < ($${n + 1}::bigint, $${n + 2}::text, $${n + 3}::text)`);
  }
  params.push(q.limit);
  const page =
    `SELECT s.kind, s.key, s.status, s.started, s.ended, s.attrs FROM ${p}search s` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY s.started DESC, s.kind DESC, s.key DESC LIMIT $${params.length}`;
  return {
    sql:
      `SELECT x.*, st.snapshot, st.snapshot_version FROM (${page}) x ` +
      `LEFT JOIN ${p}state st ON st.kind = x.kind AND st.key = x.key ORDER BY x.started DESC, x.kind DESC, x.key DESC`,
    params,
  };
}

/** A count's statement text and parameters (per status: the filter's status is ignored). */
export function postgresCountQuery(p: string, f: IndexFilter): { sql: string; params: unknown[] } {
  const { where, params } = postgresWhere(f, true);
  return {
    sql:
      `SELECT s.status, count(*) AS n FROM ${p}search s` +
      (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
      ' GROUP BY s.status',
    params,
  };
}

/** What the PostgreSQL store lends the index. */
export interface PostgresIndexHost {
  readonly pool: pg.Pool;
  readonly values: Values;
  /** The table prefix. */
  readonly prefix: string;
  /** As PostgresStore's own operations run (the closed check, safe to leave un-awaited). */
  op<T>(what: string, fn: () => Promise<T>): Promise<T>;
}

interface SearchRow {
  kind: string;
  key: string;
  status: string;
  started: string;
  ended: string | null;
  attrs: Record<string, string | number | boolean>;
  snapshot: string | null;
  snapshot_version: string | null;
}

/** The PostgreSQL store's {@link StateIndex}. */
export class PostgresStateIndex implements StateIndex {
  readonly #h: PostgresIndexHost;

  constructor(host: PostgresIndexHost) {
    this.#h = host;
  }

  search(query: IndexQuery): Promise<IndexedState[]> {
    return this.#h.op('stateIndex.search', async () => {
      checkIndexQuery(query);
      const { sql, params } = postgresSearchQuery(this.#h.prefix, query);
      const r = await this.#h.pool.query<SearchRow>(sql, params);
      return r.rows.map((x) => ({
        kind: x.kind,
        key: x.key,
        status: x.status,
        started: Number(x.started),
        ...(x.ended === null ? {} : { ended: Number(x.ended) }),
        attributes: x.attrs,
        state: x.snapshot === null ? undefined : this.#h.values.decode(x.snapshot),
        version: x.snapshot_version === null ? 0 : Number(x.snapshot_version),
      }));
    });
  }

  count(filter: IndexFilter): Promise<Record<string, number>> {
    return this.#h.op('stateIndex.count', async () => {
      checkIndexFilter(filter);
      const { sql, params } = postgresCountQuery(this.#h.prefix, filter);
      const r = await this.#h.pool.query<{ status: string; n: string }>(sql, params);
      return Object.fromEntries(r.rows.map((x) => [x.status, Number(x.n)]));
    });
  }

  unindexed(kind: string, page: { readonly after?: string; readonly limit: number }): Promise<KeyState[]> {
    return this.#h.op('stateIndex.unindexed', async () => {
      checkStatesPage(kind, page);
      const p = this.#h.prefix;
      const r = await this.#h.pool.query<{ key: string; snapshot: string; snapshot_version: string }>(
        `SELECT st.key, st.snapshot, st.snapshot_version FROM ${p}state st
         WHERE st.kind = $1 AND ($2::text IS NULL OR st.key COLLATE "C" > $2::text COLLATE "C")
           AND st.snapshot IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM ${p}search s WHERE s.kind = st.kind AND s.key = st.key)
         ORDER BY st.key COLLATE "C" LIMIT $3`,
        [kind, page.after ?? null, page.limit],
      );
      return r.rows.map((x) => ({
        key: x.key,
        state: this.#h.values.decode(x.snapshot),
        version: Number(x.snapshot_version),
      }));
    });
  }

  purge(kind: string, q: PurgeQuery): Promise<string[]> {
    return this.#h.op('stateIndex.purge', async () => {
      checkPurgeQuery(kind, q);
      const p = this.#h.prefix;
      const c = await this.#h.pool.connect();
      // Checked out, the client is outside the pool's idle 'error' listener: a session the server
      // ends meanwhile (a failover, a stop) would be an unhandled 'error' event, ending the process.
      let lost = false;
      const onError = (): void => {
        lost = true;
      };
      c.on('error', onError);
      try {
        await c.query('BEGIN');
        const found = await c.query<{ key: string }>(
          `SELECT key FROM ${p}search WHERE kind = $1 AND ended < $2 AND status = ANY($3::text[]) ORDER BY ended LIMIT $4`,
          [kind, q.endedBefore, [...q.statuses], q.limit],
        );
        const sorted = found.rows.map((r) => r.key).sort();
        // Each key's write lock (as write_key takes it), in one order; then checked again: a
        // write that committed meanwhile (a start that used the id again) keeps its key.
        await c.query(`SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || k, 0)) FROM unnest($2::text[]) k`, [
          kind,
          sorted,
        ]);
        const gone = await c.query<{ key: string }>(
          `DELETE FROM ${p}search WHERE kind = $1 AND key = ANY($2::text[]) AND ended < $3 AND status = ANY($4::text[])
           RETURNING key`,
          [kind, sorted, q.endedBefore, [...q.statuses]],
        );
        const keys = gone.rows.map((r) => r.key);
        // The state row stays with its version (the record gone): an activation still holding the
        // old record writes on it, and the next one reads no state. The lease row stays too.
        await c.query(`UPDATE ${p}state SET snapshot = NULL WHERE kind = $1 AND key = ANY($2::text[])`, [kind, keys]);
        for (const table of ['reminders', 'inbox', 'processed', 'dead_letters'])
          await c.query(`DELETE FROM ${p}${table} WHERE kind = $1 AND key = ANY($2::text[])`, [kind, keys]);
        await c.query('COMMIT');
        return keys;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {
          lost = true;
        });
        throw err;
      } finally {
        c.off('error', onError);
        // A client whose session is gone is discarded, never handed back to the pool.
        c.release(lost ? true : undefined);
      }
    });
  }

  backfill(kind: string, key: string, version: number, entry: StateIndexEntry): Promise<boolean> {
    return this.#h.op('stateIndex.backfill', async () => {
      checkIndexEntry(entry);
      const p = this.#h.prefix;
      // Under the key's write lock (as write_key takes it): a write since the read wrote its own row.
      const r = await this.#h.pool.query(
        `WITH l AS (SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 0)))
         INSERT INTO ${p}search (kind, key, status, started, ended, attrs)
         SELECT $1, $2, $4, $5, $6, $7::jsonb FROM l, ${p}state st
         WHERE st.kind = $1 AND st.key = $2 AND st.snapshot_version = $3 AND st.snapshot IS NOT NULL
         ON CONFLICT (kind, key) DO NOTHING`,
        [kind, key, version, entry.status, entry.started, entry.ended ?? null, JSON.stringify(entry.attributes ?? {})],
      );
      return (r.rowCount ?? 0) > 0;
    });
  }
}
