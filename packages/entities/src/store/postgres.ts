// The PostgreSQL entity store, on `pg` (node-postgres): one database shared by every member of a
// cluster, on any number of hosts. The same tables and rules as the SQLite store. Each operation
// that reads and then writes one key runs in a transaction that first takes a transaction-scoped
// advisory lock on the key (`pg_advisory_xact_lock` of a 64-bit hash of kind and key), so the
// fencing-token check, the version check, the state write, the processed id and the inbox row
// removal are one atomic step, and an enqueue never interleaves with the write that processes
// the same id. Lease times come from the database's clock (`clock_timestamp()`), the one clock
// every member shares; as in SQLite, a clock decides only when a lease may be taken over, never
// whether a write is accepted.

import type pg from 'pg';
import { ignorable, rejected } from 'ergo-ts';

import { ErrStaleToken, ErrStoreClosed, ErrStoreSessionLost, ErrVersionConflict } from '../contract/errors.js';
import type { JournalEntry, JournalQuery } from '../contract/journal.js';
import { checkJournalQuery, checkOffset, checkProjection, journalLockKey } from './journal_sql.js';
import { checkId } from '../contract/ids.js';
import { CheckedReminders } from './checked_reminders.js';
import type { KeyState, StatesPage } from '../contract/store.js';
import { checkStatesPage } from './states_page.js';
import { Values, checkEnqueue, checkLeaseRequest, checkPendingLimit, checkTtl, prepareWrite } from './sql_store.js';
import {
  type EntityId,
  type EntityStore,
  type AcquiredLoad,
  type ActivationLoad,
  type InboxEntry,
  type LeaseRequest,
  type LeaseResult,
  type PendingInbox,
  type StoreCodec,
  type StoredEvent,
  type StoredState,
  type WriteRequest,
} from '../contract/store.js';
import { structuredCodec } from '../contract/structured_codec.js';
import {
  type NewReminder,
  type ReminderFence,
  type ReminderStore,
  type StoredReminder,
} from '../contract/reminder_store.js';
import { PostgresReminders } from './postgres_reminders.js';
import { PostgresStateIndex } from './postgres_index.js';
import { PostgresLiveness } from './postgres_liveness.js';
import { PostgresWakes } from './postgres_wakes.js';
import type { LivenessClaim, LivenessStore } from '../contract/liveness.js';
import { PostgresDeadLetters } from './postgres_dead_letters.js';
import type {
  DeadLetter,
  DeadLetterQuery,
  DeadLetterStore,
  InboxFailure,
  InboxFailureResult,
} from '../contract/dead_letters.js';
import { WriteBatches, batchEntry, writeArgs, type BatchOutcome, type WriteArgs } from './postgres_batch.js';
import {
  TurnBatches,
  acquireAnswers,
  acquireBatchArgs,
  acquiredOf,
  loadAnswers,
  loadManyArgs,
  loadManySql,
  loadOneSql,
  type AcquireRow,
  type LoadOf,
  type LoadRow,
} from './postgres_activation_batch.js';
import type { PostgresStoreOptions } from './postgres_options.js';
import { NOW, createSchema, loadPgDriver, openPool, type PoolConnections } from './postgres_setup.js';
import { checkCloseOptions, closeWithin, type StoreCloseOptions } from '../contract/store_close.js';
import {
  ServerAnswers,
  decide,
  landedWrite,
  outcomeUnknown,
  storeError,
  versionAfter,
  type WriteReadBack,
} from './ambiguous_commit.js';

export { POSTGRES_STORE_DEFAULTS, type PostgresStoreOptions } from './postgres_options.js';

type Client = pg.PoolClient;

/**
 * An {@link EntityStore} in a PostgreSQL database (node-postgres pool). Open with
 * {@link PostgresStore.open}, which creates the tables when missing; close with `close()`
 * (idempotent; it ends the pool). Every member of a cluster opens the same database.
 */
export class PostgresStore implements EntityStore, ReminderStore, LivenessStore, DeadLetterStore {
  readonly name: string;
  readonly #pool: pg.Pool;
  /** The pool's connections, destroyed by a close that must not wait any longer. */
  readonly #connections: PoolConnections;
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
  /** The reminder operations, checked, on {@link #reminders} (checked_reminders.ts). */
  readonly #reminderOps: CheckedReminders;
  /** The group commit of writes (postgres_batch.ts). */
  readonly #batches: WriteBatches;
  /** The activations' lease takes and reads of a turn, each kind in one statement (postgres_activation_batch.ts). */
  readonly #acquires: TurnBatches<LeaseRequest, AcquiredLoad>;
  readonly #loads: TurnBatches<EntityId, ActivationLoad>;
  /** Liveness claims (postgres_liveness.ts). */
  readonly #liveness: PostgresLiveness;
  /** The dead letters (postgres_dead_letters.ts). */
  readonly #dead: PostgresDeadLetters;
  /** The state index (postgres_index.ts). */
  readonly stateIndex: PostgresStateIndex;
  /** Wakes between the members, by LISTEN/NOTIFY (postgres_wakes.ts). */
  readonly wakes: PostgresWakes;
  /** How long an operation whose outcome a lost connection left unknown is decided for (ambiguous_commit.ts). */
  readonly #outcomeWindowMs: number;
  /** Each operation that succeeded says so: undecided ones then try again at once (ambiguous_commit.ts). */
  readonly #answers = new ServerAnswers();

  private constructor(
    name: string,
    pool: pg.Pool,
    connections: PoolConnections,
    codec: StoreCodec,
    prefix: string,
    outcomeWindowMs: number,
  ) {
    this.name = name;
    this.#outcomeWindowMs = outcomeWindowMs;
    this.#pool = pool;
    this.#connections = connections;
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
    this.#liveness = new PostgresLiveness(pool, prefix);
    this.wakes = new PostgresWakes(pool, prefix);
    this.#j = { tags: `${prefix}event_tags`, offsets: `${prefix}offsets`, lock: journalLockKey(prefix) };
    this.#reminders = new PostgresReminders({
      pool,
      tx: (kind, key, fn) => this.#tx(kind, key, fn),
      values: this.#values,
      leases: this.#t.leases,
      reminders: `${prefix}reminders`,
    });
    this.#batches = new WriteBatches({
      one: (a, unsure) => this.#writeDecided(a, unsure),
      many: (ws) => this.#writeMany(ws),
      refusal: (a, code, message) => this.#refusal(a, code, message),
      readBack: (a, refused) => this.#landedOr(a, refused),
      closed: () => (this.#closed ? ErrStoreClosed.with(this.name) : undefined),
    });
    const closed = (): unknown => (this.#closed ? ErrStoreClosed.with(this.name) : undefined);
    this.#acquires = new TurnBatches({
      one: (r) => this.#acquireAndLoad(r),
      // A lost connection: decided by acquireAndLoad's loop, asked again through the batch.
      lost: (e) => outcomeUnknown(e),
      many: async (rs) => {
        const q = `SELECT * FROM ${prefix}acquire_load_batch($1, $2, $3, $4, $5)`;
        const r = await this.#prepared<AcquireRow>('acquire_load_batch', q, acquireBatchArgs(rs));
        return acquireAnswers(r.rows, rs.length, this.#load);
      },
      closed,
    });
    this.#loads = new TurnBatches({
      one: (id) => this.#loadOne(id),
      many: async (ids) => {
        const q = loadManySql(this.#t.state, this.#t.inbox);
        const r = await this.#prepared<LoadRow>('load_activations', q, loadManyArgs(ids));
        return loadAnswers(r.rows, ids.length, this.#load);
      },
      closed,
    });
    this.#reminderOps = new CheckedReminders(
      // The PostgreSQL table answers Promises: `fn` returns one (or throws a failed check).
      <T>(what: string, fn: () => T | Promise<T>) => this.#op(what, fn as () => Promise<T>),
      this.#reminders,
    );
    this.#dead = new PostgresDeadLetters({ pool, values: this.#values, prefix });
    this.stateIndex = new PostgresStateIndex({ pool, values: this.#values, prefix, op: (w, fn) => this.#op(w, fn) });
  }

  /**
   * Connects to the database at `connectionString` (`postgres://user@host:port/db`) and creates
   * the store's tables when missing. Rejects with ERR_ENTITY_INCORRECT for a bad option, or with
   * the driver's error (its `code`: ECONNREFUSED, a SQLSTATE...) when the database cannot be
   * reached; the pool is then ended. The returned Promise is safe to leave un-awaited.
   */
  static open(connectionString: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const ready = (async () => {
      // The driver is loaded by the first PostgreSQL store only (a process on SQLite never loads it).
      const { pool, connections, prefix, name, outcomeWindowMs } = openPool(
        connectionString,
        options,
        await loadPgDriver(),
      );
      try {
        const c = await pool.connect();
        // Checked out, the client is outside the pool's idle 'error' listener: without one of its
        // own, a session the server ends now would be an unhandled 'error' event (process exit).
        c.on('error', () => undefined);
        try {
          await createSchema(c, prefix);
        } finally {
          c.release();
        }
      } catch (e) {
        await pool.end().catch(() => undefined);
        throw e;
      }
      return new PostgresStore(name, pool, connections, options.codec ?? structuredCodec, prefix, outcomeWindowMs);
    })();
    return ignorable(ready, undefined, 'PostgresStore.open');
  }

  /**
   * Claims `owner`'s liveness: a session advisory lock on a connection of its own (held outside the
   * pool's count), dropped by the server when this process ends (contract/liveness.ts).
   */
  claimLiveness(owner: string): Promise<LivenessClaim> {
    return this.#op('claimLiveness', () => this.#liveness.claim(owner));
  }

  /** Whether `owner` claimed its liveness and the claim is gone (its session ended). */
  livenessReleased(owner: string): Promise<boolean> {
    return this.#op('livenessReleased', () => this.#liveness.released(owner));
  }

  acquire(request: LeaseRequest): Promise<LeaseResult> {
    // Taken again by the same owner after a lost connection: only the token rises (ambiguous_commit.ts).
    return this.#op('acquire', () => this.#decide('acquire', () => this.#acquire(request)));
  }

  #acquire(request: LeaseRequest): Promise<LeaseResult> {
    return (async () => {
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
      const held = await this.#pool.query<{ owner: string; expires_at: string; now: string }>(
        `SELECT owner, expires_at, ${NOW} AS now FROM ${t} WHERE kind = $1 AND key = $2`,
        [request.kind, request.key],
      );
      const row = held.rows[0];
      // Released, expired or deleted between the two statements (the upsert's row lock ended with
      // it): try again, rather than answer a refusal naming no holder or one already gone.
      if (row === undefined || row.owner === '' || Number(row.expires_at) <= Number(row.now))
        return this.#acquire(request);
      return { acquired: false, holder: row.owner, expiresAt: Number(row.expires_at) };
    })();
  }

  acquireAndLoad(request: LeaseRequest): Promise<AcquiredLoad> {
    return this.#op('acquireAndLoad', async () => {
      checkLeaseRequest(request);
      // Taken with the activations asked for in the same turn (postgres_activation_batch.ts); asked
      // again there until decided when a lost connection left it unknown (ambiguous_commit.ts).
      return this.#decide('acquireAndLoad', () => this.#acquires.submit(request));
    });
  }

  /** One key taken and loaded by itself (the schema's acquire_load). */
  async #acquireAndLoad(request: LeaseRequest): Promise<AcquiredLoad> {
    const q = `SELECT * FROM ${this.#t.acquireLoad}($1, $2, $3, $4, $5)`;
    const r = await this.#prepared<AcquireRow>('acquire_load', q, acquireBatchArgs([request]).flat());
    // Deleted between the function's two statements (no lease row): ask again.
    return acquiredOf(r.rows[0]!, this.#load) ?? this.#acquireAndLoad(request);
  }

  loadActivation(id: EntityId): Promise<ActivationLoad> {
    return this.#op('loadActivation', async () => {
      checkId(id);
      // Read with the activations asked for in the same turn (postgres_activation_batch.ts).
      return this.#loads.submit(id);
    });
  }

  /** One key's state and inbox by itself: one statement, one snapshot. */
  async #loadOne(id: EntityId): Promise<ActivationLoad> {
    const q = loadOneSql(this.#t.state, this.#t.inbox);
    const row = (await this.#prepared<LoadRow>('load_activation', q, [id.kind, id.key])).rows[0]!;
    return this.#load(row.snapshot_version, row.snapshot, row.ids, row.messages);
  }

  /** {@link #activationLoad} bound: what a row's columns hold. */
  readonly #load: LoadOf = (v, s, ids, ms) => this.#activationLoad(v, s, ids, ms);

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
        // The rows locked in key order, as a batch of writes locks the leases fencing it
        // (write_batch): a renewal and a batch never wait on each other in a circle.
        `UPDATE ${this.#t.leases} l SET expires_at = ${NOW} + $3
         FROM (SELECT x.key FROM ${this.#t.leases} x JOIN unnest($1::text[], $2::bigint[]) AS m(key, token)
           ON x.key = m.key AND x.token = m.token WHERE x.kind = $4 AND x.owner = $5
           ORDER BY x.key FOR UPDATE OF x) s
         WHERE l.kind = $4 AND l.key = s.key
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
    return this.#op('write', () => {
      const args = writeArgs(request, prepareWrite(request, this.#values));
      // Committed with the writes asked for in the same turn (postgres_batch.ts); sent again there
      // until decided when a lost connection left its outcome unknown (ambiguous_commit.ts).
      return this.#decide('write', (unsure) => this.#batches.submit(args, unsure));
    });
  }

  /** One write by itself: the schema's write_key function (planWrite's rule, in SQL), under the key's lock. */
  async #writeOne(a: WriteArgs): Promise<number> {
    try {
      const r = await this.#prepared<{ v: string }>(
        'write',
        `SELECT ${this.#t.write}($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) AS v`,
        [
          ...[a.k, a.ky, a.fk, a.fky, a.tok, a.exp, a.evs, a.types, a.svs, a.tev, a.tnm, a.snap, a.given, a.done],
          this.#j.lock,
          a.rems === undefined ? null : JSON.stringify(a.rems),
          a.idx === undefined ? null : JSON.stringify(a.idx),
        ],
      );
      return Number(r.rows[0]!.v);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      throw typeof code === 'string' ? this.#refusal(a, code, (e as Error).message, e) : e;
    }
  }

  /** Runs `attempt` until its outcome is decided (ambiguous_commit.ts); `again`: an earlier one's was unknown. */
  #decide<T>(what: string, attempt: (again: boolean) => Promise<T>): Promise<T> {
    const closed = (): unknown => (this.#closed ? ErrStoreClosed.with(this.name) : undefined);
    return decide(`${this.name} ${what}`, this.#outcomeWindowMs, closed, attempt, this.#answers);
  }

  /**
   * One write; when an earlier attempt's outcome was unknown (`unsure`), a refusal by the version
   * check or the processed id's key is read back: the earlier attempt landed when the key holds
   * exactly this write, under its token (then its version is the answer), else the refusal stands.
   */
  async #writeDecided(a: WriteArgs, unsure: boolean): Promise<number> {
    try {
      return await this.#writeOne(a);
    } catch (e) {
      if (!unsure || !(ErrVersionConflict.is(e) || (e as { code?: unknown }).code === '23505')) throw e;
      return this.#landedOr(a, e);
    }
  }

  /** An unsure write `a` refused with `refused`: its version when an earlier attempt landed (read back), else `refused`. */
  async #landedOr(a: WriteArgs, refused: unknown): Promise<number> {
    const landed = landedWrite(a, await this.#readBack(a));
    // A standby answered (a failover under way): not decided yet, asked again.
    if (landed === undefined) throw Object.assign(new Error('read back on a standby'), { code: '25006' });
    if (landed) return versionAfter(a);
    throw refused;
  }

  /** What the key holds of write `a` (see {@link landedWrite}): one statement, one snapshot. */
  async #readBack(a: WriteArgs): Promise<WriteReadBack> {
    const v = versionAfter(a);
    const r = await this.#pool.query<{
      token: string | null;
      version: string | null;
      snapshot: string | null;
      snapshot_version: string | null;
      done_version: string | null;
      events: string[] | null;
      standby: boolean;
    }>(
      `SELECT (SELECT l.token FROM ${this.#t.leases} l WHERE l.kind = $1 AND l.key = $2) AS token,
         s.version, s.snapshot, s.snapshot_version,
         (SELECT p.version FROM ${this.#t.processed} p WHERE p.kind = $3 AND p.key = $4 AND p.id = $5) AS done_version,
         (SELECT array_agg(e.event ORDER BY e.version) FROM ${this.#t.events} e
           WHERE e.kind = $3 AND e.key = $4 AND e.version > $6 AND e.version <= $7) AS events,
         pg_is_in_recovery() AS standby
       FROM (SELECT 1) one LEFT JOIN ${this.#t.state} s ON s.kind = $3 AND s.key = $4`,
      [a.fk, a.fky, a.k, a.ky, a.done, a.exp, v],
    );
    const row = r.rows[0]!;
    return {
      token: row.token,
      version: row.version,
      snapshot: row.snapshot,
      snapshotVersion: row.snapshot_version,
      doneVersion: row.done_version,
      events: row.events,
      standby: row.standby,
    };
  }

  /** Several writes in one statement and one commit (the schema's write_batch): one outcome each. */
  async #writeMany(writes: readonly WriteArgs[]): Promise<BatchOutcome[]> {
    const r = await this.#prepared<{ r: BatchOutcome[] }>(
      'write_batch',
      `SELECT ${this.#prefix}write_batch($1, $2) AS r`,
      [JSON.stringify(writes.map(batchEntry)), this.#j.lock],
    );
    return r.rows[0]!.r;
  }

  /** A refused write's error: the store's codes for a stale token and a version conflict, else the driver's. */
  #refusal(a: WriteArgs, code: string, message: string, original?: unknown): unknown {
    if (code === 'EE001') return ErrStaleToken.with(`${a.k}/${a.ky}: ${message}`);
    if (code === 'EE002') return ErrVersionConflict.with(`${a.k}/${a.ky}: ${message}`);
    // As node-postgres rejects a single write: an Error with the server's SQLSTATE as its code.
    return original ?? Object.assign(new Error(message), { code });
  }

  enqueue(id: EntityId, messageId: string, message: unknown): Promise<'accepted' | 'duplicate'> {
    return this.#op('enqueue', async () => {
      checkEnqueue(id, messageId);
      const encoded = this.#values.encode(message, 'message');
      // One round trip and one commit: the key's lock, the processed check and the insert run in
      // the schema's function, in the statement's own transaction.
      // Keyed by the message id: sent again after a lost connection, one that landed is 'duplicate'.
      const r = await this.#decide('enqueue', () =>
        this.#prepared<{ accepted: boolean }>('enqueue', `SELECT ${this.#t.enqueue}($1, $2, $3, $4) AS accepted`, [
          id.kind,
          id.key,
          messageId,
          encoded,
        ]),
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

  pendingInbox(limit: number): Promise<PendingInbox[]> {
    return this.#op('pendingInbox', async () => {
      checkPendingLimit(limit);
      const r = await this.#pool.query<{ kind: string; key: string; oldest: string; n: string }>(
        `SELECT kind, key, MIN(accepted_at) AS oldest, COUNT(*) AS n FROM ${this.#t.inbox}
         GROUP BY kind, key ORDER BY oldest LIMIT $1`,
        [limit],
      );
      return r.rows.map((x) => ({ kind: x.kind, key: x.key, oldestAcceptedAt: Number(x.oldest), count: Number(x.n) }));
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
    return this.#reminderOps.putReminders(id, fence, reminders);
  }

  cancelReminder(id: EntityId, fence: ReminderFence, name: string): Promise<boolean> {
    return this.#reminderOps.cancelReminder(id, fence, name);
  }

  dueReminders(shards: readonly number[], until: number, limit: number): Promise<StoredReminder[]> {
    return this.#reminderOps.dueReminders(shards, until, limit);
  }

  nextReminderDue(shards: readonly number[], after: number): Promise<number | undefined> {
    return this.#reminderOps.nextReminderDue(shards, after);
  }

  advanceReminder(
    r: Pick<StoredReminder, 'kind' | 'key' | 'name' | 'gen' | 'dueAt'>,
    nextDueAt: number | undefined,
  ): Promise<boolean> {
    return this.#reminderOps.advanceReminder(r, nextDueAt);
  }

  reminders(id: EntityId): Promise<StoredReminder[]> {
    return this.#reminderOps.reminders(id);
  }

  reminderCount(): Promise<number> {
    return this.#reminderOps.reminderCount();
  }

  inboxFailed(failure: InboxFailure): Promise<InboxFailureResult> {
    return this.#op('inboxFailed', () => this.#dead.inboxFailed(failure));
  }

  deadLetters(query: DeadLetterQuery): Promise<DeadLetter[]> {
    return this.#op('deadLetters', () => this.#dead.deadLetters(query));
  }

  retryDeadLetter(id: EntityId, messageId: string): Promise<InboxEntry | undefined> {
    return this.#op('retryDeadLetter', () => this.#dead.retryDeadLetter(id, messageId));
  }

  dropDeadLetter(id: EntityId, messageId: string): Promise<boolean> {
    return this.#op('dropDeadLetter', () => this.#dead.dropDeadLetter(id, messageId));
  }

  /**
   * Closes the store (idempotent): ends the pool, which waits for every connection checked out
   * (a query under way, a transaction). With `options.timeout` or `options.signal` it waits that
   * long only: the connections still open are then destroyed (a query cut off from its server
   * never answers) and the close resolves. Rejects with ERR_ENTITY_INCORRECT for bad `options`.
   */
  close(options?: StoreCloseOptions): Promise<void> {
    try {
      checkCloseOptions(options);
    } catch (e) {
      return rejected(e, undefined, 'entity store close');
    }
    if (this.#closing === undefined) {
      this.#closed = true;
      this.#liveness.closeAll(); // checked out for good: the pool's end would wait for them
      this.wakes.close(); // its listening session too
      this.#closing = this.#pool.end().catch(() => undefined);
    }
    if (options === undefined) return this.#closing;
    return closeWithin(this.#closing, options, () => this.#connections.cut()).then(() => undefined);
  }

  /**
   * Runs an operation as a Promise that is safe to leave un-awaited. Its driver errors of a server
   * not reachable for now reject as ERR_ENTITY_STORE_UNAVAILABLE (ambiguous_commit.ts's
   * `storeError`): the store's boundary, so every caller, here or on another node, sees one code.
   */
  #op<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return rejected(ErrStoreClosed.with(this.name), undefined, `entity store ${what}`);
    const name = `${this.name} ${what}`;
    let p: Promise<T>;
    try {
      p = fn().catch((e: unknown) => {
        throw storeError(e, name);
      });
    } catch (e) {
      return rejected(storeError(e, name), undefined, `entity store ${what}`);
    }
    // The server answered: operations a lost connection left undecided try again now, not after their pause.
    p.then(
      () => this.#answers.answered(),
      () => undefined,
    );
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

  listStates(kind: string, page: StatesPage): Promise<KeyState[]> {
    return this.#op('listStates', async () => {
      checkStatesPage(kind, page);
      // "C": the byte order of the UTF-8 key, as SQLite and the memory store page by.
      const r = await this.#pool.query<{ key: string; snapshot: string | null; snapshot_version: string }>(
        `SELECT key, snapshot, snapshot_version FROM ${this.#t.state}
         WHERE kind = $1 AND ($2::text IS NULL OR key COLLATE "C" > $2::text COLLATE "C")
         ORDER BY key COLLATE "C" LIMIT $3`,
        [kind, page.after ?? null, page.limit],
      );
      return r.rows.map((x) => ({
        key: x.key,
        state: x.snapshot === null ? undefined : this.#values.decode(x.snapshot),
        version: Number(x.snapshot_version),
      }));
    });
  }
}
