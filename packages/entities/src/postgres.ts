// The PostgreSQL entity store, on `pg` (node-postgres): one database shared by every member of a
// cluster, on any number of hosts. The same tables and rules as the SQLite store. Each operation
// that reads and then writes one key runs in a transaction that first takes a transaction-scoped
// advisory lock on the key (`pg_advisory_xact_lock` of a 64-bit hash of kind and key), so the
// fencing-token check, the version check, the state write, the processed id and the inbox row
// removal are one atomic step, and an enqueue never interleaves with the write that processes
// the same id. Lease times come from the database's clock (`clock_timestamp()`), the one clock
// every member shares; as in SQLite, a clock decides only when a lease may be taken over, never
// whether a write is accepted.

import pg from 'pg';
import { ignorable, rejected } from 'ergo-ts';

import {
  ErrEntityIncorrect,
  ErrStaleToken,
  ErrStoreClosed,
  ErrStoreSessionLost,
  ErrVersionConflict,
} from './contract/errors.js';
import type { JournalEntry, JournalQuery } from './contract/journal.js';
import {
  checkJournalQuery,
  checkOffset,
  checkProjection,
  journalLockKey,
  postgresJournalSchema,
} from './journal_sql.js';
import { checkId } from './contract/ids.js';
import { Values, checkEnqueue, checkLeaseRequest, checkTtl, prepareWrite } from './sql_store.js';
import {
  jsonCodec,
  type EntityId,
  type EntityStore,
  type AcquiredLoad,
  type ActivationLoad,
  type InboxEntry,
  type LeaseRequest,
  type LeaseResult,
  type StoreCodec,
  type StoredEvent,
  type StoredState,
  type WriteRequest,
} from './contract/store.js';
import {
  checkCancel,
  checkPut,
  checkShards,
  type NewReminder,
  type ReminderFence,
  type ReminderStore,
  type StoredReminder,
} from './contract/reminder_store.js';
import { PostgresReminders, postgresReminderSchema } from './postgres_reminders.js';

/** Options of {@link PostgresStore.open}. */
export interface PostgresStoreOptions {
  /** The most connections the store's pool opens. Default 10. */
  maxConnections?: number;
  /** How long to wait for a connection, in ms (0: no limit). Default 10 000. */
  connectTimeoutMs?: number;
  /**
   * How long the server lets one of this store's sessions sit idle inside a transaction before it
   * ends the session, in ms (PostgreSQL's `idle_in_transaction_session_timeout`; 0: no limit).
   * A member paused or cut off mid-write (GC pause, frozen VM, network cut, kill -9 whose reset
   * never arrived) would otherwise hold the key's locks, and every other member's work on that
   * key would wait for it with no end. Longer than any event-loop stall you expect. Default 5000.
   */
  idleInTransactionTimeoutMs?: number;
  /** How values are encoded (default JSON: {@link jsonCodec}). */
  codec?: StoreCodec;
  /** Table name prefix, for several stores in one database. Default `entity_`. */
  tablePrefix?: string;
}

/** Defaults of {@link PostgresStoreOptions}. */
export const POSTGRES_STORE_DEFAULTS = Object.freeze({
  maxConnections: 10,
  connectTimeoutMs: 10_000,
  idleInTransactionTimeoutMs: 5000,
  tablePrefix: 'entity_',
});

const NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

function schema(p: string): string {
  return `
CREATE TABLE IF NOT EXISTS ${p}leases (
  kind TEXT NOT NULL, key TEXT NOT NULL, token BIGINT NOT NULL, owner TEXT NOT NULL,
  expires_at BIGINT NOT NULL, PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS ${p}state (
  kind TEXT NOT NULL, key TEXT NOT NULL, version BIGINT NOT NULL,
  snapshot TEXT, snapshot_version BIGINT NOT NULL, PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS ${p}events (
  kind TEXT NOT NULL, key TEXT NOT NULL, version BIGINT NOT NULL, event TEXT NOT NULL,
  PRIMARY KEY (kind, key, version));
CREATE TABLE IF NOT EXISTS ${p}inbox (
  seq BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL,
  id TEXT NOT NULL, message TEXT NOT NULL, UNIQUE (kind, key, id));
CREATE TABLE IF NOT EXISTS ${p}processed (
  kind TEXT NOT NULL, key TEXT NOT NULL, id TEXT NOT NULL, version BIGINT NOT NULL,
  PRIMARY KEY (kind, key, id));
CREATE OR REPLACE FUNCTION ${p}enqueue(k TEXT, ky TEXT, mid TEXT, msg TEXT) RETURNS BOOLEAN
LANGUAGE plpgsql AS $fn$
BEGIN
  -- The write's key lock, then a fresh snapshot per statement (a VOLATILE function): a write that
  -- processed this id and committed while we waited is seen, so the id is never accepted again.
  PERFORM pg_advisory_xact_lock(hashtextextended(k || '/' || ky, 0));
  IF EXISTS (SELECT 1 FROM ${p}processed WHERE kind = k AND key = ky AND id = mid) THEN RETURN FALSE; END IF;
  INSERT INTO ${p}inbox (kind, key, id, message) VALUES (k, ky, mid, msg) ON CONFLICT DO NOTHING;
  RETURN FOUND;
END $fn$;
CREATE OR REPLACE FUNCTION ${p}acquire_load(k TEXT, ky TEXT, own TEXT, ttl BIGINT, dead TEXT,
  OUT o_token BIGINT, OUT o_holder TEXT, OUT o_expires BIGINT, OUT o_version BIGINT, OUT o_snapshot TEXT,
  OUT o_ids TEXT[], OUT o_messages TEXT[])
LANGUAGE plpgsql AS $fn$
BEGIN
  -- An activation in one round trip and one commit: the lease (the upsert's row lock serialises
  -- acquirers of the key and waits for a writer holding it FOR SHARE), then, in later statements
  -- (a fresh snapshot each: that writer's commit is seen), the snapshot and the inbox.
  INSERT INTO ${p}leases AS l (kind, key, token, owner, expires_at) VALUES (k, ky, 1, own, ${NOW} + ttl)
    ON CONFLICT (kind, key) DO UPDATE SET token = l.token + 1, owner = excluded.owner, expires_at = excluded.expires_at
    WHERE l.owner = excluded.owner OR l.expires_at <= ${NOW} OR l.owner = dead
    RETURNING l.token INTO o_token;
  IF o_token IS NULL THEN
    SELECT l.owner, l.expires_at INTO o_holder, o_expires FROM ${p}leases l WHERE l.kind = k AND l.key = ky;
    RETURN;
  END IF;
  SELECT s.snapshot_version, s.snapshot INTO o_version, o_snapshot FROM ${p}state s WHERE s.kind = k AND s.key = ky;
  SELECT array_agg(i.id ORDER BY i.seq), array_agg(i.message ORDER BY i.seq) INTO o_ids, o_messages
    FROM ${p}inbox i WHERE i.kind = k AND i.key = ky;
END $fn$;
CREATE OR REPLACE FUNCTION ${p}write_key(k TEXT, ky TEXT, fk TEXT, fky TEXT, tok BIGINT, expected BIGINT,
  evs TEXT[], ev_types TEXT[], ev_versions INT[], tag_events INT[], tag_names TEXT[], snap TEXT,
  events_given BOOLEAN, done_id TEXT, jlock TEXT, rems JSONB) RETURNS BIGINT
LANGUAGE plpgsql AS $fn$
DECLARE
  cur BIGINT; head BIGINT; old_snap TEXT; old_snap_v BIGINT; n INT; v BIGINT; sq BIGINT;
BEGIN
  -- A write in one round trip and one commit, deciding as sql_store.ts's planWrite does (keep the
  -- two alike): the key's lock, then the fencing lease's token and the state, each statement on a
  -- fresh snapshot (a VOLATILE function), so a commit made while we waited is seen. rems: the
  -- reminder changes made with the write. (A database older code opened also keeps that code's
  -- write_key without rems, an overload its members still call.)
  PERFORM pg_advisory_xact_lock(hashtextextended(k || '/' || ky, 0));
  SELECT l.token INTO cur FROM ${p}leases l WHERE l.kind = fk AND l.key = fky FOR SHARE;
  IF COALESCE(cur, 0) <> tok THEN
    RAISE EXCEPTION USING ERRCODE = 'EE001', MESSAGE = format('token %s, current %s', tok, COALESCE(cur, 0));
  END IF;
  SELECT s.version, s.snapshot, s.snapshot_version INTO head, old_snap, old_snap_v
    FROM ${p}state s WHERE s.kind = k AND s.key = ky;
  IF COALESCE(head, 0) <> expected THEN
    RAISE EXCEPTION USING ERRCODE = 'EE002', MESSAGE = format('expected version %s, stored %s', expected, COALESCE(head, 0));
  END IF;
  v := COALESCE(head, 0);
  n := COALESCE(array_length(evs, 1), 0);
  -- Offsets are drawn and committed one transaction at a time (journal_sql.ts explains why).
  IF n > 0 THEN PERFORM pg_advisory_xact_lock(hashtextextended(jlock, 0)); END IF;
  FOR i IN 1..n LOOP
    v := v + 1;
    INSERT INTO ${p}events (kind, key, version, event, type, schema_version)
      VALUES (k, ky, v, evs[i], ev_types[i], ev_versions[i]) RETURNING seq INTO sq;
    INSERT INTO ${p}event_tags (tag, seq, kind)
      SELECT tag_names[j], sq, k FROM generate_subscripts(tag_events, 1) j WHERE tag_events[j] = i
      ON CONFLICT DO NOTHING;
  END LOOP;
  -- A state write (no events given) counts a version; events: [] (a snapshot or a processed id of
  -- an event-sourced key) keeps it.
  IF n = 0 AND NOT events_given THEN v := v + 1; END IF;
  INSERT INTO ${p}state (kind, key, version, snapshot, snapshot_version)
    VALUES (k, ky, v, COALESCE(snap, old_snap), CASE WHEN snap IS NULL THEN COALESCE(old_snap_v, 0) ELSE v END)
    ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version, snapshot = excluded.snapshot,
      snapshot_version = excluded.snapshot_version;
  -- The processed id's primary key refuses an id processed twice: the whole write fails.
  IF done_id IS NOT NULL THEN
    INSERT INTO ${p}processed (kind, key, id, version) VALUES (k, ky, done_id, v);
    DELETE FROM ${p}inbox WHERE kind = k AND key = ky AND id = done_id;
  END IF;
  -- Reminder changes made with this write (a durable machine's timeouts): fenced by its token
  -- above, and undone with it if anything fails.
  IF rems IS NOT NULL THEN
    DELETE FROM ${p}reminders WHERE kind = k AND key = ky
      AND name IN (SELECT jsonb_array_elements_text(rems->'cancel'));
    INSERT INTO ${p}reminders (kind, key, name, shard, due_at, every_ms, cron, location, payload, gen)
      SELECT k, ky, x.name, x.shard, x.due_at, x.every_ms, x.cron, x.location, x.payload, x.gen
      FROM jsonb_to_recordset(rems->'put') AS x(name TEXT, shard INT, due_at BIGINT, every_ms BIGINT,
        cron TEXT, location TEXT, payload TEXT, gen BIGINT)
      ON CONFLICT (kind, key, name) DO UPDATE SET shard = excluded.shard, due_at = excluded.due_at,
        every_ms = excluded.every_ms, cron = excluded.cron, location = excluded.location,
        payload = excluded.payload, gen = excluded.gen;
  END IF;
  RETURN v;
END $fn$;
${postgresReminderSchema(p)}`;
}

type Client = pg.PoolClient;

/**
 * An {@link EntityStore} in a PostgreSQL database (node-postgres pool). Open with
 * {@link PostgresStore.open}, which creates the tables when missing; close with `close()`
 * (idempotent; it ends the pool). Every member of a cluster opens the same database.
 */
export class PostgresStore implements EntityStore, ReminderStore {
  readonly name: string;
  readonly #pool: pg.Pool;
  readonly #values: Values;
  readonly #t: {
    leases: string;
    state: string;
    events: string;
    inbox: string;
    processed: string;
    enqueue: string;
    acquireLoad: string;
    write: string;
  };
  /** The table prefix: it names this store's prepared statements (one set per pooled connection). */
  readonly #prefix: string;
  /** The journal's tables and its ordering lock (journal_sql.ts). */
  readonly #j: { tags: string; offsets: string; lock: string };
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #reminders: PostgresReminders;

  private constructor(name: string, pool: pg.Pool, codec: StoreCodec, prefix: string) {
    this.name = name;
    this.#pool = pool;
    this.#values = new Values(codec);
    this.#t = {
      leases: `${prefix}leases`,
      state: `${prefix}state`,
      events: `${prefix}events`,
      inbox: `${prefix}inbox`,
      processed: `${prefix}processed`,
      enqueue: `${prefix}enqueue`,
      acquireLoad: `${prefix}acquire_load`,
      write: `${prefix}write_key`,
    };
    this.#prefix = prefix;
    this.#j = { tags: `${prefix}event_tags`, offsets: `${prefix}offsets`, lock: journalLockKey(prefix) };
    this.#reminders = new PostgresReminders({
      pool,
      tx: (kind, key, fn) => this.#tx(kind, key, fn),
      values: this.#values,
      leases: this.#t.leases,
      reminders: `${prefix}reminders`,
    });
  }

  /**
   * Connects to the database at `connectionString` (`postgres://user@host:port/db`) and creates
   * the store's tables when missing. Rejects with ERR_ENTITY_INCORRECT for a bad option, or with
   * the driver's error (its `code`: ECONNREFUSED, a SQLSTATE...) when the database cannot be
   * reached; the pool is then ended. The returned Promise is safe to leave un-awaited.
   */
  static open(connectionString: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    let pool: pg.Pool;
    let prefix: string;
    try {
      if (typeof connectionString !== 'string' || connectionString === '')
        throw ErrEntityIncorrect.with('the PostgreSQL connection string must be a non-empty string');
      const max = options.maxConnections ?? POSTGRES_STORE_DEFAULTS.maxConnections;
      if (!Number.isInteger(max) || max < 1 || max > 10_000)
        throw ErrEntityIncorrect.with(`maxConnections must be an integer in 1..10000, got ${String(max)}`);
      const ct = options.connectTimeoutMs ?? POSTGRES_STORE_DEFAULTS.connectTimeoutMs;
      if (!Number.isInteger(ct) || ct < 0 || ct > 2 ** 31 - 1)
        throw ErrEntityIncorrect.with(`connectTimeoutMs must be an integer in 0..2^31-1, got ${String(ct)}`);
      const idleTx = options.idleInTransactionTimeoutMs ?? POSTGRES_STORE_DEFAULTS.idleInTransactionTimeoutMs;
      if (!Number.isInteger(idleTx) || idleTx < 0 || idleTx > 2 ** 31 - 1)
        throw ErrEntityIncorrect.with(
          `idleInTransactionTimeoutMs must be an integer in 0..2^31-1, got ${String(idleTx)}`,
        );
      prefix = options.tablePrefix ?? POSTGRES_STORE_DEFAULTS.tablePrefix;
      if (typeof prefix !== 'string' || !/^[a-z_][a-z0-9_]{0,40}$/.test(prefix))
        throw ErrEntityIncorrect.with(`tablePrefix must match [a-z_][a-z0-9_]{0,40}, got ${JSON.stringify(prefix)}`);
      pool = new pg.Pool({
        connectionString,
        max,
        connectionTimeoutMillis: ct,
        // The server ends a session stalled mid-transaction (see idleInTransactionTimeoutMs), and
        // TCP keepalive finds a server that vanished under an idle pooled connection.
        idle_in_transaction_session_timeout: idleTx,
        keepAlive: true,
        keepAliveInitialDelayMillis: 5000,
      });
    } catch (e) {
      return rejected(e, undefined, 'PostgresStore.open');
    }
    // An idle connection the server closed (a restart, a network cut) is reported here, not
    // thrown: the pool drops it and the next query opens a fresh one.
    pool.on('error', () => undefined);
    let name = 'postgres';
    try {
      const url = new URL(connectionString);
      name = `postgres://${url.host}${url.pathname}`; // no user or password in logs
    } catch {
      // Not a URL (pg also takes `host=... dbname=...`): keep the generic name.
    }
    const ready = (async () => {
      try {
        const c = await pool.connect();
        // Checked out, the client is outside the pool's idle 'error' listener: without one of its
        // own, a session the server ends now would be an unhandled 'error' event (process exit).
        c.on('error', () => undefined);
        try {
          // Two members creating the tables at once would race on the catalog: one at a time.
          await c.query('SELECT pg_advisory_lock(7254101)');
          try {
            await c.query(schema(prefix));
            const seq = await c.query(
              'SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2',
              [`${prefix}events`, 'seq'],
            );
            await c.query(postgresJournalSchema(prefix, seq.rows.length > 0));
          } finally {
            await c.query('SELECT pg_advisory_unlock(7254101)');
          }
        } finally {
          c.release();
        }
      } catch (e) {
        await pool.end().catch(() => undefined);
        throw e;
      }
      return new PostgresStore(name, pool, options.codec ?? jsonCodec, prefix);
    })();
    return ignorable(ready, undefined, 'PostgresStore.open');
  }

  acquire(request: LeaseRequest): Promise<LeaseResult> {
    return this.#op('acquire', async () => {
      checkLeaseRequest(request);
      const t = this.#t.leases;
      // One statement: the row lock of the upsert serialises acquirers of one key.
      const r = await this.#pool.query<{ token: string }>(
        `INSERT INTO ${t} (kind, key, token, owner, expires_at) VALUES ($1, $2, 1, $3, ${NOW} + $4)
         ON CONFLICT (kind, key) DO UPDATE SET token = ${t}.token + 1, owner = excluded.owner,
           expires_at = excluded.expires_at
         WHERE ${t}.owner = excluded.owner OR ${t}.expires_at <= ${NOW} OR ${t}.owner = $5
         RETURNING token`,
        [request.kind, request.key, request.owner, request.ttlMs, request.takeOverFrom ?? null],
      );
      if (r.rows.length === 1) return { acquired: true, token: Number(r.rows[0]!.token) };
      const held = await this.#pool.query<{ owner: string; expires_at: string }>(
        `SELECT owner, expires_at FROM ${t} WHERE kind = $1 AND key = $2`,
        [request.kind, request.key],
      );
      const row = held.rows[0];
      // Released or expired between the two statements: try again.
      if (row === undefined) return this.acquire(request);
      return { acquired: false, holder: row.owner, expiresAt: Number(row.expires_at) };
    });
  }

  acquireAndLoad(request: LeaseRequest): Promise<AcquiredLoad> {
    return this.#op('acquireAndLoad', async () => {
      checkLeaseRequest(request);
      const r = await this.#prepared<{
        o_token: string | null;
        o_holder: string | null;
        o_expires: string | null;
        o_version: string | null;
        o_snapshot: string | null;
        o_ids: string[] | null;
        o_messages: string[] | null;
      }>('acquire_load', `SELECT * FROM ${this.#t.acquireLoad}($1, $2, $3, $4, $5)`, [
        request.kind,
        request.key,
        request.owner,
        request.ttlMs,
        request.takeOverFrom ?? null,
      ]);
      const row = r.rows[0]!;
      if (row.o_token === null) {
        // Deleted between the function's two statements (no lease row): ask again.
        if (row.o_holder === null) return this.acquireAndLoad(request);
        return { lease: { acquired: false, holder: row.o_holder, expiresAt: Number(row.o_expires) } };
      }
      return {
        lease: { acquired: true, token: Number(row.o_token) },
        load: this.#activationLoad(row.o_version, row.o_snapshot, row.o_ids, row.o_messages),
      };
    });
  }

  loadActivation(id: EntityId): Promise<ActivationLoad> {
    return this.#op('loadActivation', async () => {
      checkId(id);
      // One statement, one snapshot: the state and the inbox as of the same instant.
      const r = await this.#prepared<{
        snapshot_version: string | null;
        snapshot: string | null;
        ids: string[] | null;
        messages: string[] | null;
      }>(
        'load_activation',
        `SELECT s.snapshot_version, s.snapshot, i.ids, i.messages
         FROM (SELECT 1) one LEFT JOIN ${this.#t.state} s ON s.kind = $1 AND s.key = $2
         LEFT JOIN LATERAL (SELECT array_agg(x.id ORDER BY x.seq) AS ids, array_agg(x.message ORDER BY x.seq) AS messages
           FROM ${this.#t.inbox} x WHERE x.kind = $1 AND x.key = $2) i ON true`,
        [id.kind, id.key],
      );
      const row = r.rows[0]!;
      return this.#activationLoad(row.snapshot_version, row.snapshot, row.ids, row.messages);
    });
  }

  /** An {@link ActivationLoad} from the columns of a state row (null: none) and the inbox's arrays. */
  #activationLoad(
    version: string | null,
    snapshot: string | null,
    ids: string[] | null,
    messages: string[] | null,
  ): ActivationLoad {
    const state: StoredState =
      version === null
        ? { state: undefined, version: 0 }
        : { state: snapshot === null ? undefined : this.#values.decode(snapshot), version: Number(version) };
    const inbox = (ids ?? []).map((id, i) => ({ id, message: this.#values.decode(messages![i]!) }));
    return { state, inbox };
  }

  /**
   * A query as a named prepared statement (parsed and planned once per pooled connection). `name`
   * is unique per statement text within this store; the table prefix makes it unique per store.
   */
  #prepared<R extends pg.QueryResultRow>(name: string, text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    return this.#pool.query<R>({ name: `${this.#prefix}${name}`, text, values });
  }

  renew(kind: string, owner: string, tokens: ReadonlyMap<string, number>, ttlMs: number): Promise<string[]> {
    return this.#op('renew', async () => {
      checkTtl(ttlMs);
      if (tokens.size === 0) return [];
      const keys = [...tokens.keys()];
      const toks = keys.map((k) => tokens.get(k)!);
      const r = await this.#pool.query<{ key: string }>(
        `UPDATE ${this.#t.leases} l SET expires_at = ${NOW} + $3
         FROM unnest($1::text[], $2::bigint[]) AS m(key, token)
         WHERE l.kind = $4 AND l.owner = $5 AND l.key = m.key AND l.token = m.token
         RETURNING l.key`,
        [keys, toks, ttlMs, kind, owner],
      );
      const renewed = new Set(r.rows.map((x) => x.key));
      return keys.filter((k) => !renewed.has(k));
    });
  }

  release(id: EntityId, token: number): Promise<void> {
    return this.#op('release', async () => {
      checkId(id);
      await this.#pool.query(
        `UPDATE ${this.#t.leases} SET expires_at = 0, owner = '' WHERE kind = $1 AND key = $2 AND token = $3`,
        [id.kind, id.key, token],
      );
    });
  }

  lease(id: EntityId): Promise<{ token: number; owner: string; expiresAt: number } | undefined> {
    return this.#op('lease', async () => {
      checkId(id);
      const r = await this.#pool.query<{ token: string; owner: string; expires_at: string }>(
        `SELECT token, owner, expires_at FROM ${this.#t.leases} WHERE kind = $1 AND key = $2`,
        [id.kind, id.key],
      );
      const row = r.rows[0];
      if (row === undefined) return undefined;
      return { token: Number(row.token), owner: row.owner, expiresAt: Number(row.expires_at) };
    });
  }

  load(id: EntityId): Promise<StoredState> {
    return this.#op('load', async () => {
      checkId(id);
      const r = await this.#pool.query<{ snapshot: string | null; snapshot_version: string }>(
        `SELECT snapshot, snapshot_version FROM ${this.#t.state} WHERE kind = $1 AND key = $2`,
        [id.kind, id.key],
      );
      const row = r.rows[0];
      if (row === undefined) return { state: undefined, version: 0 };
      return {
        state: row.snapshot === null ? undefined : this.#values.decode(row.snapshot),
        version: Number(row.snapshot_version),
      };
    });
  }

  events(id: EntityId, after: number): Promise<StoredEvent[]> {
    return this.#op('events', async () => {
      checkId(id);
      const r = await this.#pool.query<{ version: string; event: string; type: string; schema_version: number }>(
        `SELECT version, event, type, schema_version FROM ${this.#t.events} WHERE kind = $1 AND key = $2 AND version > $3 ORDER BY version`,
        [id.kind, id.key, after],
      );
      return r.rows.map((x) => ({
        version: Number(x.version),
        event: this.#values.decode(x.event),
        type: x.type,
        schemaVersion: Number(x.schema_version),
      }));
    });
  }

  readJournal(query: JournalQuery): Promise<JournalEntry[]> {
    return this.#op('readJournal', async () => {
      checkJournalQuery(query);
      const cols = 'e.seq, e.kind, e.key, e.version, e.type, e.schema_version, e.event';
      const r = await this.#pool.query<{
        seq: string;
        kind: string;
        key: string;
        version: string;
        type: string;
        schema_version: number;
        event: string;
      }>(
        query.tag === undefined
          ? `SELECT ${cols} FROM ${this.#t.events} e WHERE e.kind = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3`
          : `SELECT ${cols} FROM ${this.#j.tags} t JOIN ${this.#t.events} e ON e.seq = t.seq
             WHERE t.kind = $1 AND t.seq > $2 AND t.tag = $4 ORDER BY t.seq LIMIT $3`,
        query.tag === undefined
          ? [query.kind, query.after, query.limit]
          : [query.kind, query.after, query.limit, query.tag],
      );
      return r.rows.map((x) => ({
        offset: Number(x.seq),
        kind: x.kind,
        key: x.key,
        version: Number(x.version),
        type: x.type,
        schemaVersion: Number(x.schema_version),
        event: this.#values.decode(x.event),
      }));
    });
  }

  loadOffset(projection: string): Promise<number | undefined> {
    return this.#op('loadOffset', async () => {
      checkProjection(projection);
      const r = await this.#pool.query<{ position: string }>(
        `SELECT position FROM ${this.#j.offsets} WHERE name = $1`,
        [projection],
      );
      return r.rows.length === 0 ? undefined : Number(r.rows[0]!.position);
    });
  }

  saveOffset(projection: string, offset: number): Promise<void> {
    return this.#op('saveOffset', async () => {
      checkProjection(projection);
      checkOffset(offset);
      await this.#pool.query(
        `INSERT INTO ${this.#j.offsets} (name, position) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET position = excluded.position`,
        [projection, offset],
      );
    });
  }

  write(request: WriteRequest): Promise<number> {
    return this.#op('write', async () => {
      const w = prepareWrite(request, this.#values);
      const { kind, key } = request;
      // Each tag as (its event's 1-based index, the tag): two flat arrays the function joins.
      const tagEvents: number[] = [];
      const tagNames: string[] = [];
      w.meta.forEach((m, i) => {
        for (const tag of m.tags) {
          tagEvents.push(i + 1);
          tagNames.push(tag);
        }
      });
      try {
        // The whole write in one round trip and one commit: the schema's write_key function
        // (planWrite's rule, in SQL), under the key's advisory lock.
        const r = await this.#prepared<{ v: string }>(
          'write',
          `SELECT ${this.#t.write}($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) AS v`,
          [
            kind,
            key,
            w.fence.kind,
            w.fence.key,
            request.token,
            request.expectedVersion,
            w.events,
            w.meta.map((m) => m.type),
            w.meta.map((m) => m.schemaVersion),
            tagEvents,
            tagNames,
            w.snapshot ?? null,
            request.events !== undefined,
            request.processed ?? null,
            this.#j.lock,
            w.reminders === undefined
              ? null
              : JSON.stringify({
                  cancel: w.reminders.cancel,
                  put: w.reminders.put.map((r) => ({
                    name: r.name,
                    shard: r.shard,
                    due_at: r.dueAt,
                    every_ms: r.everyMs,
                    cron: r.cron,
                    location: r.location,
                    payload: r.payload,
                    gen: r.gen,
                  })),
                }),
          ],
        );
        return Number(r.rows[0]!.v);
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (code === 'EE001') throw ErrStaleToken.with(`${kind}/${key}: ${(e as Error).message}`);
        if (code === 'EE002') throw ErrVersionConflict.with(`${kind}/${key}: ${(e as Error).message}`);
        throw e;
      }
    });
  }

  enqueue(id: EntityId, messageId: string, message: unknown): Promise<'accepted' | 'duplicate'> {
    return this.#op('enqueue', async () => {
      checkEnqueue(id, messageId);
      const encoded = this.#values.encode(message);
      // One round trip and one commit: the key's lock, the processed check and the insert run in
      // the schema's function, in the statement's own transaction.
      const r = await this.#prepared<{ accepted: boolean }>(
        'enqueue',
        `SELECT ${this.#t.enqueue}($1, $2, $3, $4) AS accepted`,
        [id.kind, id.key, messageId, encoded],
      );
      return r.rows[0]!.accepted ? ('accepted' as const) : ('duplicate' as const);
    });
  }

  inbox(id: EntityId): Promise<InboxEntry[]> {
    return this.#op('inbox', async () => {
      checkId(id);
      const r = await this.#pool.query<{ id: string; message: string }>(
        `SELECT id, message FROM ${this.#t.inbox} WHERE kind = $1 AND key = $2 ORDER BY seq`,
        [id.kind, id.key],
      );
      return r.rows.map((x) => ({ id: x.id, message: this.#values.decode(x.message) }));
    });
  }

  processed(id: EntityId, messageId: string): Promise<boolean> {
    return this.#op('processed', async () => {
      checkId(id);
      const r = await this.#pool.query(`SELECT 1 FROM ${this.#t.processed} WHERE kind = $1 AND key = $2 AND id = $3`, [
        id.kind,
        id.key,
        messageId,
      ]);
      return r.rows.length > 0;
    });
  }

  putReminders(id: EntityId, fence: ReminderFence, reminders: readonly NewReminder[]): Promise<void> {
    return this.#op('putReminders', () => {
      checkPut(id, fence, reminders);
      return this.#reminders.put(id, fence, reminders);
    });
  }

  cancelReminder(id: EntityId, fence: ReminderFence, name: string): Promise<boolean> {
    return this.#op('cancelReminder', () => {
      checkCancel(id, fence, name);
      return this.#reminders.cancel(id, fence, name);
    });
  }

  dueReminders(shards: readonly number[], until: number, limit: number): Promise<StoredReminder[]> {
    return this.#op('dueReminders', () => {
      checkShards(shards, limit);
      return this.#reminders.due(shards, until, limit);
    });
  }

  nextReminderDue(shards: readonly number[], after: number): Promise<number | undefined> {
    return this.#op('nextReminderDue', () => {
      checkShards(shards);
      return this.#reminders.next(shards, after);
    });
  }

  advanceReminder(
    r: Pick<StoredReminder, 'kind' | 'key' | 'name' | 'gen' | 'dueAt'>,
    nextDueAt: number | undefined,
  ): Promise<boolean> {
    return this.#op('advanceReminder', () => this.#reminders.advance(r, nextDueAt));
  }

  reminders(id: EntityId): Promise<StoredReminder[]> {
    return this.#op('reminders', () => {
      checkId(id);
      return this.#reminders.ofKey(id);
    });
  }

  reminderCount(): Promise<number> {
    return this.#op('reminderCount', () => this.#reminders.count());
  }

  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#closed = true;
      this.#closing = this.#pool.end().catch(() => undefined);
    }
    return this.#closing;
  }

  /** Runs an operation as a Promise that is safe to leave un-awaited. */
  #op<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return rejected(ErrStoreClosed.with(this.name), undefined, `entity store ${what}`);
    let p: Promise<T>;
    try {
      p = fn();
    } catch (e) {
      return rejected(e, undefined, `entity store ${what}`);
    }
    return ignorable(p, undefined, `entity store ${what}`);
  }

  /**
   * A transaction holding the key's advisory lock: one writer or enqueuer of a key at a time.
   * The checked-out client has an 'error' listener for its whole checkout: the server may end the
   * session under it (a member paused past `idleInTransactionTimeoutMs` gets FATAL 25P03 when it
   * resumes, a restart, a cut), which `pg` reports as an 'error' event that would otherwise end
   * the OS process. The transaction then rejects with ERR_ENTITY_STORE_SESSION_LOST and the
   * client is discarded, never handed back to the pool.
   */
  async #tx<T>(kind: string, key: string, fn: (c: Client) => Promise<T>): Promise<T> {
    const c = await this.#pool.connect();
    let lost: Error | undefined;
    const onError = (e: Error): void => {
      lost ??= e;
    };
    c.on('error', onError);
    let broken = false;
    try {
      await c.query('BEGIN');
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${kind}/${key}`]);
      const r = await fn(c);
      await c.query('COMMIT');
      return r;
    } catch (e) {
      if (lost === undefined)
        try {
          await c.query('ROLLBACK');
        } catch {
          lost = e as Error; // the connection is gone (the statement's own error tells how)
        }
      if (lost === undefined) throw e;
      broken = true; // do not give it back to the pool
      throw ErrStoreSessionLost.with(`${this.name}: ${lost.message}`, lost);
    } finally {
      // Released broken, the pool ends the client; the listener stays so a late error is heard.
      if (!broken) c.removeListener('error', onError);
      c.release(broken);
    }
  }
}
