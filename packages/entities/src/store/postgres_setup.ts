// How a PostgreSQL store (postgres.ts) is set up: its options checked (postgres_options.ts), its
// connection pool, and its schema: its tables, indexes and the server-side functions
// that keep the fencing rules inside the server (`write_key`: the token check, the version check,
// the state, event, processed-id and inbox changes of one write in one round trip; `write_batch`:
// several writes, each refused alone, in one round trip and one commit), the reminder
// table (postgres_reminders.ts) and the journal's tables (journal_sql.ts); created when missing,
// by one member at a time.

import { createHash } from 'node:crypto';

import type pg from 'pg';

import { ErrEntityIncorrect } from '../contract/errors.js';

import { postgresJournalSchema } from './journal_sql.js';
import { POSTGRES_STORE_DEFAULTS, type PostgresStoreOptions } from './postgres_options.js';
import { postgresReminderSchema } from './postgres_reminders.js';
import { addAttemptsColumn, postgresDeadLetterSchema } from './postgres_dead_letters.js';
import { postgresIndexSchema, postgresIndexWrite } from './postgres_index.js';

/** The `pg` driver once a PostgreSQL store has loaded it ({@link loadPgDriver}). */
let driver: typeof pg | undefined;

/**
 * Loads the `pg` driver, once: the first PostgreSQL store's open does, so a process on SQLite alone
 * (most members, every test node on SQLite) never loads it (~0.03 CPU-s a process).
 */
export async function loadPgDriver(): Promise<typeof pg> {
  driver ??= (await import('pg')).default;
  return driver;
}

/**
 * Checks `options` (ERR_ENTITY_INCORRECT) and makes the store's connection pool with `pgDriver`
 * (no connection yet), with the store's name for logs (no user or password in it).
 */
export function openPool(
  connectionString: string,
  options: PostgresStoreOptions,
  pgDriver: typeof pg,
): { pool: pg.Pool; connections: PoolConnections; prefix: string; name: string; outcomeWindowMs: number } {
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
    throw ErrEntityIncorrect.with(`idleInTransactionTimeoutMs must be an integer in 0..2^31-1, got ${String(idleTx)}`);
  const outcomeWindowMs = options.outcomeWindowMs ?? POSTGRES_STORE_DEFAULTS.outcomeWindowMs;
  if (!Number.isInteger(outcomeWindowMs) || outcomeWindowMs < 0 || outcomeWindowMs > 2 ** 31 - 1)
    throw ErrEntityIncorrect.with(`outcomeWindowMs must be an integer in 0..2^31-1, got ${String(outcomeWindowMs)}`);
  const prefix = options.tablePrefix ?? POSTGRES_STORE_DEFAULTS.tablePrefix;
  if (typeof prefix !== 'string' || !/^[a-z_][a-z0-9_]{0,40}$/.test(prefix))
    throw ErrEntityIncorrect.with(`tablePrefix must match [a-z_][a-z0-9_]{0,40}, got ${JSON.stringify(prefix)}`);
  const connections = new PoolConnections();
  const pool = new pgDriver.Pool({
    connectionString,
    Client: connections.clientClass(pgDriver),
    max,
    connectionTimeoutMillis: ct,
    // The server ends a session stalled mid-transaction (see idleInTransactionTimeoutMs), and
    // TCP keepalive finds a server that vanished under an idle pooled connection.
    idle_in_transaction_session_timeout: idleTx,
    keepAlive: true,
    keepAliveInitialDelayMillis: 5000,
  });
  // An idle connection the server closed (a restart, a network cut) is reported here, not
  // thrown: the pool drops it and the next query opens a fresh one.
  pool.on('error', () => undefined);
  keepSessionsOnStatementErrors(pool);
  let name = 'postgres';
  try {
    const url = new URL(connectionString);
    name = `postgres://${url.host}${url.pathname}`; // no user or password in logs
  } catch {
    // Not a URL (pg also takes `host=... dbname=...`): keep the generic name.
  }
  return { pool, connections, prefix, name, outcomeWindowMs };
}

/**
 * Every connection of one pool that has not ended, checked out or idle or still connecting: a
 * close that must not wait any longer (store_close.ts) destroys their sockets, which the pool's
 * own end cannot do (it waits for each connection checked out to come back, and a query on a
 * connection cut off from its server never answers).
 */
export class PoolConnections {
  readonly #open = new Set<pg.Client>();

  /** The pool's Client class: a {@link heardClient} counted here from its creation to its end. */
  clientClass(pgDriver: typeof pg): typeof pg.Client {
    const open = this.#open;
    return class CountedClient extends heardClient(pgDriver) {
      constructor(config?: string | pg.ClientConfig) {
        super(config);
        open.add(this);
        this.once('end', () => open.delete(this));
      }
    };
  }

  /** How many connections are open (or opening). */
  get size(): number {
    return this.#open.size;
  }

  /** Destroys every connection's socket now: its queries fail, the process holds none of them. */
  cut(): void {
    for (const c of this.#open) c.connection.stream.destroy();
    this.#open.clear();
  }
}

/**
 * A `pg` Client with an 'error' listener from its creation to its end. The pool listens to its
 * idle clients only; a client checked out (`pool.connect()`) is heard once its holder adds its own
 * listener, a turn later. A session the server ends in that gap — a FATAL right behind the
 * ReadyForQuery of a new connection, both in one read (57P01 "terminating connection due to
 * unexpected postmaster exit" as a primary dies, relayed together by HAProxy) — was an unhandled
 * 'error' event: the process exited. Heard here, the client is left not queryable: its holder's
 * next statement fails with a lost connection, which the store decides as any other.
 */
function heardClient(pgDriver: typeof pg): typeof pg.Client {
  heard ??= class HeardClient extends pgDriver.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      this.on('error', ignoreError);
    }
  };
  return heard;
}

/** The one {@link heardClient} class (the driver is loaded once). */
let heard: typeof pg.Client | undefined;

function ignoreError(): void {
  // The client's holder learns of it from its statements (see HeardClient).
}

/**
 * Makes `pool.query` keep its connection when a statement fails and the session does not: pg-pool
 * drops the connection on any error, so every refusal the store's functions raise on purpose (a
 * stale token EE001, a version conflict EE002, a unique violation read back) cost a new server
 * backend — a fork and an authentication — just when a member is refused most: under lease churn
 * and overload. A server's ERROR (not FATAL or PANIC, not a connection class 08 or an admin
 * shutdown 57P) outside a transaction leaves the session idle and sound; anything else (a lost
 * socket, a client-side timeout, a FATAL) still drops it, as pg-pool would.
 */
function keepSessionsOnStatementErrors(pool: pg.Pool): void {
  const query = (async (config: string | pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult> => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      return await client.query(config, values);
    } catch (e) {
      if (!sessionSurvives(e)) broken = e instanceof Error ? e : new Error(String(e));
      throw e;
    } finally {
      client.release(broken);
    }
  }) as pg.Pool['query'];
  pool.query = query;
}

/** Whether the session a statement failed on is still usable: a plain server ERROR. */
export function sessionSurvives(e: unknown): boolean {
  // A DatabaseError comes from a pool, so the driver is loaded by then.
  if (driver === undefined || !(e instanceof driver.DatabaseError) || e.severity !== 'ERROR') return false;
  const code = e.code ?? '';
  return !code.startsWith('08') && !code.startsWith('57P');
}

/** The database clock's now in epoch ms: lease times come from it, the one clock every member shares. */
export const NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint';

/** The tables, indexes and server-side functions of a store whose table names start with `p`. */
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
  id TEXT NOT NULL, message TEXT NOT NULL, accepted_at BIGINT NOT NULL DEFAULT ${NOW}, UNIQUE (kind, key, id));
CREATE TABLE IF NOT EXISTS ${p}processed (
  kind TEXT NOT NULL, key TEXT NOT NULL, id TEXT NOT NULL, version BIGINT NOT NULL,
  PRIMARY KEY (kind, key, id));${postgresIndexSchema(p)}
CREATE OR REPLACE FUNCTION ${p}enqueue(k TEXT, ky TEXT, mid TEXT, msg TEXT) RETURNS BOOLEAN
LANGUAGE plpgsql AS $fn$
BEGIN
  -- The write's key lock, then a fresh snapshot per statement (a VOLATILE function): a write that
  -- processed this id and committed while we waited is seen, so the id is never accepted again.
  PERFORM pg_advisory_xact_lock(hashtextextended(k || '/' || ky, 0));
  IF EXISTS (SELECT 1 FROM ${p}processed WHERE kind = k AND key = ky AND id = mid) THEN RETURN FALSE; END IF;
  -- A poison message set apart stays out: a sender's retry does not bring it back.
  IF EXISTS (SELECT 1 FROM ${p}dead_letters WHERE kind = k AND key = ky AND id = mid) THEN RETURN FALSE; END IF;
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
  LOOP
    INSERT INTO ${p}leases AS l (kind, key, token, owner, expires_at) VALUES (k, ky, 1, own, ${NOW} + ttl)
      ON CONFLICT (kind, key) DO UPDATE SET token = l.token + 1, owner = excluded.owner, expires_at = excluded.expires_at
      WHERE l.owner = excluded.owner OR l.expires_at <= ${NOW} OR l.owner = dead
      RETURNING l.token INTO o_token;
    EXIT WHEN o_token IS NOT NULL;
    SELECT l.owner, l.expires_at INTO o_holder, o_expires FROM ${p}leases l WHERE l.kind = k AND l.key = ky;
    -- Refused: answered with a holder whose lease is still running. Released, expired or deleted
    -- since the upsert looked (a refusal naming no holder, or one already gone): take it again.
    IF o_holder <> '' AND o_expires > ${NOW} THEN RETURN; END IF;
    o_holder := NULL;
    o_expires := NULL;
  END LOOP;
  SELECT s.snapshot_version, s.snapshot INTO o_version, o_snapshot FROM ${p}state s WHERE s.kind = k AND s.key = ky;
  SELECT array_agg(i.id ORDER BY i.seq), array_agg(i.message ORDER BY i.seq) INTO o_ids, o_messages
    FROM ${p}inbox i WHERE i.kind = k AND i.key = ky;
END $fn$;
CREATE OR REPLACE FUNCTION ${p}acquire_load_batch(ks TEXT[], kys TEXT[], owns TEXT[], ttls BIGINT[], deads TEXT[])
RETURNS TABLE (o_i INT, o_token BIGINT, o_holder TEXT, o_expires BIGINT, o_version BIGINT, o_snapshot TEXT,
  o_ids TEXT[], o_messages TEXT[])
LANGUAGE plpgsql AS $fn$
DECLARE
  i INT;
BEGIN
  -- The activations one event-loop turn asked for (postgres_acquire_batch.ts), in one round trip
  -- and one commit: each key as acquire_load takes it alone, the keys in (kind, key) order, the
  -- order write_batch and a renewal lock lease rows in, so none of them waits on another in a circle.
  FOR i IN SELECT u.o FROM unnest(ks, kys) WITH ORDINALITY u(k, ky, o) ORDER BY u.k, u.ky, u.o LOOP
    o_i := i;
    SELECT a.o_token, a.o_holder, a.o_expires, a.o_version, a.o_snapshot, a.o_ids, a.o_messages
      INTO o_token, o_holder, o_expires, o_version, o_snapshot, o_ids, o_messages
      FROM ${p}acquire_load(ks[i], kys[i], owns[i], ttls[i], deads[i]) a;
    RETURN NEXT;
  END LOOP;
END $fn$;
CREATE OR REPLACE FUNCTION ${p}write_key(k TEXT, ky TEXT, fk TEXT, fky TEXT, tok BIGINT, expected BIGINT,
  evs TEXT[], ev_types TEXT[], ev_versions INT[], tag_events INT[], tag_names TEXT[], snap TEXT,
  events_given BOOLEAN, done_id TEXT, jlock TEXT, rems JSONB, idx JSONB) RETURNS BIGINT
LANGUAGE plpgsql AS $fn$
DECLARE
  cur BIGINT; head BIGINT; old_snap TEXT; old_snap_v BIGINT; n INT; v BIGINT; sq BIGINT;
BEGIN
  -- A write in one round trip and one commit, deciding as sql_store.ts's planWrite does (keep the
  -- two alike): the key's lock, then the fencing lease's token and the state, each statement on a
  -- fresh snapshot (a VOLATILE function), so a commit made while we waited is seen. rems: the
  -- reminder changes made with the write. (A database older code opened also keeps that code's
  -- write_key without rems or idx, an overload its members still call.) idx: the key's search row.
  PERFORM pg_advisory_xact_lock(hashtextextended(k || '/' || ky, 0));
  SELECT l.token INTO cur FROM ${p}leases l WHERE l.kind = fk AND l.key = fky FOR SHARE;
  IF COALESCE(cur, 0) <> tok THEN
    RAISE EXCEPTION USING ERRCODE = 'EE001', MESSAGE = format('token %s, current %s', tok, COALESCE(cur, 0));
  END IF;
  -- The stored snapshot only when this write keeps it (a workflow's every write replaces it: read,
  -- a large one was detoasted for nothing).
  SELECT s.version, CASE WHEN snap IS NULL THEN s.snapshot END, s.snapshot_version INTO head, old_snap, old_snap_v
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
  -- above, and undone with it if anything fails. Each statement only when it has something to do
  -- (a workflow's start puts its keep-alive reminder and cancels none, its end the reverse).
  IF COALESCE(jsonb_array_length(rems->'cancel'), 0) > 0 THEN
    DELETE FROM ${p}reminders WHERE kind = k AND key = ky
      AND name IN (SELECT jsonb_array_elements_text(rems->'cancel'));
  END IF;
  IF COALESCE(jsonb_array_length(rems->'put'), 0) > 0 THEN
    INSERT INTO ${p}reminders (kind, key, name, shard, due_at, every_ms, cron, location, payload, gen)
      SELECT k, ky, x.name, x.shard, x.due_at, x.every_ms, x.cron, x.location, x.payload, x.gen
      FROM jsonb_to_recordset(rems->'put') AS x(name TEXT, shard INT, due_at BIGINT, every_ms BIGINT,
        cron TEXT, location TEXT, payload TEXT, gen BIGINT)
      ON CONFLICT (kind, key, name) DO UPDATE SET shard = excluded.shard, due_at = excluded.due_at,
        every_ms = excluded.every_ms, cron = excluded.cron, location = excluded.location,
        payload = excluded.payload, gen = excluded.gen;
  END IF;${postgresIndexWrite(p)}
  RETURN v;
END $fn$;
CREATE OR REPLACE FUNCTION ${p}jtext(j JSONB) RETURNS TEXT[] LANGUAGE sql IMMUTABLE AS $fn$
  SELECT COALESCE(array_agg(x ORDER BY o), '{}') FROM jsonb_array_elements_text(j) WITH ORDINALITY t(x, o)
$fn$;
CREATE OR REPLACE FUNCTION ${p}write_batch(ws JSONB, jlock TEXT) RETURNS JSONB
LANGUAGE plpgsql AS $fn$
DECLARE
  w JSONB; res JSONB := '[]'; v BIGINT; st TEXT; msg TEXT;
BEGIN
  -- The writes one event-loop turn asked for (postgres_batch.ts), in one round trip and one commit,
  -- each in a subtransaction of its own (the EXCEPTION block): a refused write is rolled back
  -- alone and answered with its SQLSTATE, its neighbours still commit. Every lock this
  -- transaction will hold is taken first, in one order (the keys' locks by lock id, the fencing
  -- leases' rows by kind and key, then the journal's lock), so two batches, a batch and a single
  -- write_key (key, lease row, journal), or a batch and a renewal (lease rows by key) never wait
  -- on each other in a circle.
  PERFORM pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended((e->>'k') || '/' || (e->>'ky'), 0) AS h
    FROM jsonb_array_elements(ws) e ORDER BY h) s;
  PERFORM 1 FROM ${p}leases l
    WHERE (l.kind, l.key) IN (SELECT e->>'fk', e->>'fky' FROM jsonb_array_elements(ws) e)
    ORDER BY l.kind, l.key FOR SHARE;
  IF EXISTS (SELECT 1 FROM jsonb_array_elements(ws) e WHERE jsonb_array_length(e->'evs') > 0) THEN
    PERFORM pg_advisory_xact_lock(hashtextextended(jlock, 0));
  END IF;
  FOR w IN SELECT e FROM jsonb_array_elements(ws) WITH ORDINALITY t(e, o) ORDER BY o LOOP
    BEGIN
      -- A write without events leaves its arrays out (postgres.ts batchEntry): empty, unconverted.
      IF w ? 'evs' THEN
        v := ${p}write_key(w->>'k', w->>'ky', w->>'fk', w->>'fky', (w->>'tok')::BIGINT, (w->>'exp')::BIGINT,
          ${p}jtext(w->'evs'), ${p}jtext(w->'types'), ${p}jtext(w->'svs')::INT[], ${p}jtext(w->'tev')::INT[],
          ${p}jtext(w->'tnm'), w->>'snap', (w->>'given')::BOOLEAN, w->>'done', jlock, w->'rems', w->'idx');
      ELSE
        v := ${p}write_key(w->>'k', w->>'ky', w->>'fk', w->>'fky', (w->>'tok')::BIGINT, (w->>'exp')::BIGINT,
          '{}', '{}', '{}', '{}', '{}', w->>'snap', (w->>'given')::BOOLEAN, w->>'done', jlock, w->'rems', w->'idx');
      END IF;
      res := res || jsonb_build_array(jsonb_build_object('v', v));
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
      res := res || jsonb_build_array(jsonb_build_object('c', st, 'm', msg));
    END;
  END LOOP;
  RETURN res;
END $fn$;
${postgresReminderSchema(p)}
${postgresDeadLetterSchema(p, NOW)}`;
}

/** The schema's fingerprint: a digest of every statement this version runs (the table keeps it). */
function fingerprint(prefix: string): string {
  return createHash('sha256')
    .update(schema(prefix))
    .update(livenessSchema(prefix))
    .update(postgresJournalSchema(prefix, true))
    .update(postgresJournalSchema(prefix, false))
    .update(addAttemptsColumn(prefix))
    .digest('hex');
}

/** The `CREATE OR REPLACE FUNCTION` statements of `ddl`, in order (each ends with `$fn$;`). */
function functionsOf(ddl: string): string {
  return (ddl.match(/CREATE OR REPLACE FUNCTION[\s\S]*?\$fn\$[\s\S]*?\$fn\$;/g) ?? []).join('\n');
}

/** Tries a schema set-up takes at most when the server picks it as a deadlock's victim. */
const DEADLOCK_TRIES = 5;

/**
 * Creates the tables and functions of the store whose table names start with `prefix` when they
 * are missing, on the checked-out client `c`: one member at a time (two members creating them at
 * once would race on the catalog), under a session advisory lock. A schema this version already
 * set up (its fingerprint in `<prefix>schema`) is left alone: no DDL, so an open beside running
 * members takes no table or function lock their writes wait on (a member restarted during a
 * rolling deploy once died at open with "deadlock detected" against the others' writes). A
 * set-up the server picks as a deadlock's victim is run again (it changes nothing twice).
 */
export async function createSchema(c: pg.PoolClient, prefix: string): Promise<void> {
  const print = fingerprint(prefix);
  // Two members creating the tables at once would race on the catalog: one at a time.
  await c.query('SELECT pg_advisory_lock(7254101)');
  try {
    const current = await c.query(`SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1`, [
      `${prefix}schema`,
    ]);
    if (current.rows.length > 0) {
      const row = await c.query(`SELECT fingerprint FROM ${prefix}schema WHERE id = 1`);
      if ((row.rows[0] as { fingerprint?: string } | undefined)?.fingerprint === print) {
        // Only this version's functions again (they lock no table): a member of an earlier
        // version that opened meanwhile may have put its own back.
        await c.query(functionsOf(schema(prefix)));
        return;
      }
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await migrate(c, prefix);
        break;
      } catch (e) {
        if ((e as { code?: unknown }).code !== '40P01' || attempt >= DEADLOCK_TRIES) throw e;
        await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
      }
    }
    await c.query(
      `CREATE TABLE IF NOT EXISTS ${prefix}schema (id INT PRIMARY KEY, fingerprint TEXT NOT NULL);
       INSERT INTO ${prefix}schema (id, fingerprint) VALUES (1, '${print}')
       ON CONFLICT (id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint;`,
    );
  } finally {
    await c.query('SELECT pg_advisory_unlock(7254101)');
  }
}

/** The set-up itself: every statement idempotent (see {@link createSchema}). */
async function migrate(c: pg.PoolClient, prefix: string): Promise<void> {
  await c.query(schema(prefix));
  await c.query(livenessSchema(prefix));
  const has = async (table: string, column: string): Promise<boolean> =>
    (
      await c.query(
        'SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2',
        [`${prefix}${table}`, column],
      )
    ).rows.length > 0;
  await c.query(postgresJournalSchema(prefix, await has('events', 'seq')));
  // An inbox an earlier version made: its rows get the time of this migration (the column's
  // default, evaluated per row), every insert since the server's clock (the enqueue function
  // names no time, so a member of the earlier version still fills it in).
  if (!(await has('inbox', 'accepted_at')))
    await c.query(`ALTER TABLE ${prefix}inbox ADD COLUMN IF NOT EXISTS accepted_at BIGINT NOT NULL DEFAULT ${NOW}`);
  await c.query(`CREATE INDEX IF NOT EXISTS ${prefix}inbox_pending ON ${prefix}inbox (kind, key, accepted_at)`);
  // An inbox an earlier version made: its messages have had no failed attempt counted.
  if (!(await has('inbox', 'attempts'))) await c.query(addAttemptsColumn(prefix));
}

/** The DDL of the liveness table of a store whose table names start with `p`. */
export function livenessSchema(p: string): string {
  return `CREATE TABLE IF NOT EXISTS ${p}liveness (owner TEXT PRIMARY KEY, claimed_at BIGINT NOT NULL);`;
}
