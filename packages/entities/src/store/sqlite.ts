// The SQLite entity store, on Node's built-in `node:sqlite` (Node 22.13+ and 24 without a flag;
// Node 22 prints one ExperimentalWarning when the module is first loaded — Node 24 does not — and
// it is loaded only when a store is opened, so users of other stores never see it). One file holds leases, state snapshots, events, inboxes and processed message
// ids; every write is one `BEGIN IMMEDIATE` transaction, so several OS processes may share a file
// on one host (WAL mode). node:sqlite is synchronous: each operation blocks the event loop for its
// duration (microseconds for these row-sized statements). While another process holds the write
// lock, an operation does not wait inside SQLite (that would block the event loop): it is tried
// again from timers until `busyTimeoutMs` (sqlite_busy.ts).

import { createRequire } from 'node:module';
import { resolve as resolvePath } from 'node:path';
import { ignorable, rejected } from 'ergo-ts';

import { ErrEntityIncorrect, ErrSqliteUnavailable, ErrStoreClosed } from '../contract/errors.js';
import type { JournalEntry, JournalQuery } from '../contract/journal.js';
import {
  SQLITE_EVENT_COLUMNS,
  SQLITE_JOURNAL_INDEXES,
  SQLITE_JOURNAL_TABLES,
  checkJournalQuery,
  checkOffset,
  checkProjection,
} from './journal_sql.js';
import { BusyRetry, isBusy } from './sqlite_busy.js';
import { checkId } from '../contract/ids.js';
import { checkCloseOptions, type StoreCloseOptions } from '../contract/store_close.js';
import { CheckedReminders } from './checked_reminders.js';
import {
  Values,
  checkEnqueue,
  checkLeaseRequest,
  checkPendingLimit,
  checkTtl,
  planWrite,
  prepareWrite,
  type StateRow,
} from './sql_store.js';
import type { KeyState, StatesPage } from '../contract/store.js';
import { checkStatesPage } from './states_page.js';
import {
  type EntityId,
  type EntityStore,
  type InboxEntry,
  type AcquiredLoad,
  type ActivationLoad,
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
import { SQLITE_REMINDER_SCHEMA, SqliteReminders } from './sqlite_reminders.js';
import { SQLITE_INDEX_SCHEMA, SqliteStateIndex } from './sqlite_index.js';
import { SqliteLiveness } from './sqlite_liveness.js';
import { LocalWakes, fileWakes, type StoreWakes } from '../contract/wakes.js';
import type { LivenessClaim, LivenessStore } from '../contract/liveness.js';
import { SqliteDeadLetters, migrateDeadLetters } from './sqlite_dead_letters.js';
import type {
  DeadLetter,
  DeadLetterQuery,
  DeadLetterStore,
  InboxFailure,
  InboxFailureResult,
} from '../contract/dead_letters.js';

/** Options of {@link SqliteStore.open}. */
export interface SqliteStoreOptions {
  /**
   * How long an operation waits for another process's write lock, in ms, before it rejects with
   * ERR_ENTITY_STORE_BUSY (0: at once). The wait never blocks the event loop: the operation is
   * tried again from timers (writes in the order they were asked). Default 5000. Only
   * {@link SqliteStore.open} itself, being synchronous, waits inside SQLite (up to this long).
   */
  busyTimeoutMs?: number;
  /**
   * SQLite's `synchronous` setting: 'full' (default) makes every accepted write survive a power
   * loss; 'normal' survives a crash of the process (kill -9) but may lose the last writes on power loss.
   */
  synchronous?: 'full' | 'normal';
  /** How values are encoded (default {@link structuredCodec}: exact or refused; `jsonCodec` is JSON). */
  codec?: StoreCodec;
}

/** Defaults of {@link SqliteStoreOptions}. */
export const SQLITE_STORE_DEFAULTS = Object.freeze({ busyTimeoutMs: 5000, synchronous: 'full' as const });

// The part of node:sqlite this store uses (@types/node 20 does not declare the module).
interface Statement {
  run(...params: SqlValue[]): { changes: number | bigint };
  get(...params: SqlValue[]): Record<string, SqlValue> | undefined;
  all(...params: SqlValue[]): Record<string, SqlValue>[];
}
interface Database {
  exec(sql: string): void;
  prepare(sql: string): Statement;
  close(): void;
}
type SqlValue = string | number | bigint | null | Uint8Array;
interface SqliteModule {
  DatabaseSync: new (path: string) => Database;
}

function loadSqlite(): SqliteModule {
  try {
    return createRequire(import.meta.url)('node:sqlite') as SqliteModule;
  } catch (e) {
    throw ErrSqliteUnavailable.with(`Node ${process.version}: ${(e as Error).message}`, e);
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS entity_leases (
  kind TEXT NOT NULL, key TEXT NOT NULL, token INTEGER NOT NULL, owner TEXT NOT NULL,
  expires_at INTEGER NOT NULL, PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS entity_state (
  kind TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL,
  snapshot TEXT, snapshot_version INTEGER NOT NULL, PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS entity_events (
  kind TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, event TEXT NOT NULL,
  PRIMARY KEY (kind, key, version));
CREATE TABLE IF NOT EXISTS entity_inbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, key TEXT NOT NULL,
  id TEXT NOT NULL, message TEXT NOT NULL, accepted_at INTEGER NOT NULL DEFAULT 0, UNIQUE (kind, key, id));
CREATE TABLE IF NOT EXISTS entity_processed (
  kind TEXT NOT NULL, key TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
  PRIMARY KEY (kind, key, id));
`;

/**
 * An {@link EntityStore} in one SQLite file. Open with {@link SqliteStore.open}; close with
 * `close()` (idempotent). Safe to share between OS processes on one host (not over a network
 * file system: SQLite's locks need a local disk).
 */
export class SqliteStore implements EntityStore, ReminderStore, LivenessStore, DeadLetterStore {
  readonly name: string;
  readonly #db: Database;
  /** Liveness claims: lock files beside the database (sqlite_liveness.ts). */
  readonly #liveness: SqliteLiveness;
  readonly #values: Values;
  #closed = false;
  readonly #q: Record<string, Statement>;
  /** Operations waiting for another process's write lock (sqlite_busy.ts). */
  readonly #busy: BusyRetry;
  /** Writes waiting for the next group commit ({@link #op}). */
  readonly #batch: BatchedWrite[] = [];
  /** True while a batch runs: a write's own transaction is then the batch's savepoint. */
  #inBatch = false;
  readonly #reminders: SqliteReminders;
  /** The reminder operations, checked, on {@link #reminders} (checked_reminders.ts). */
  readonly #reminderOps: CheckedReminders;
  /** The dead letters (sqlite_dead_letters.ts). */
  readonly #dead: SqliteDeadLetters;
  /** The state index (sqlite_index.ts). */
  readonly stateIndex: SqliteStateIndex;
  /** Wakes within this process, shared by every store opened on the file (contract/wakes.ts). */
  readonly wakes: StoreWakes;

  private constructor(path: string, db: Database, codec: StoreCodec, busyTimeoutMs: number) {
    this.name = `sqlite:${path}`;
    this.wakes = path === ':memory:' ? new LocalWakes() : fileWakes(resolvePath(path));
    this.#db = db;
    this.#liveness = new SqliteLiveness(path);
    this.#busy = new BusyRetry(busyTimeoutMs, this.name);
    this.#values = new Values(codec);
    const p = (sql: string): Statement => db.prepare(sql);
    this.#q = {
      leaseGet: p('SELECT token, owner, expires_at FROM entity_leases WHERE kind = ? AND key = ?'),
      leasePut: p(
        'INSERT INTO entity_leases (kind, key, token, owner, expires_at) VALUES (?, ?, ?, ?, ?) ' +
          'ON CONFLICT (kind, key) DO UPDATE SET token = excluded.token, owner = excluded.owner, expires_at = excluded.expires_at',
      ),
      leaseRenew: p('UPDATE entity_leases SET expires_at = ? WHERE kind = ? AND key = ? AND token = ? AND owner = ?'),
      leaseRelease: p("UPDATE entity_leases SET expires_at = 0, owner = '' WHERE kind = ? AND key = ? AND token = ?"),
      stateGet: p('SELECT version, snapshot, snapshot_version FROM entity_state WHERE kind = ? AND key = ?'),
      statePut: p(
        'INSERT INTO entity_state (kind, key, version, snapshot, snapshot_version) VALUES (?, ?, ?, ?, ?) ' +
          'ON CONFLICT (kind, key) DO UPDATE SET version = excluded.version, snapshot = excluded.snapshot, snapshot_version = excluded.snapshot_version',
      ),
      // The offset: one more than the highest, drawn inside the write's BEGIN IMMEDIATE (journal_sql.ts).
      eventPut: p(
        'INSERT INTO entity_events (kind, key, version, event, type, schema_version, seq) VALUES ' +
          '(?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM entity_events)) RETURNING seq',
      ),
      tagPut: p('INSERT OR IGNORE INTO entity_event_tags (tag, seq, kind) VALUES (?, ?, ?)'),
      eventsAfter: p(
        'SELECT version, event, type, schema_version FROM entity_events WHERE kind = ? AND key = ? AND version > ? ORDER BY version',
      ),
      journalKind: p(
        'SELECT seq, kind, key, version, type, schema_version, event FROM entity_events ' +
          'WHERE kind = ? AND seq > ? ORDER BY seq LIMIT ?',
      ),
      journalTag: p(
        'SELECT e.seq, e.kind, e.key, e.version, e.type, e.schema_version, e.event FROM entity_event_tags t ' +
          'JOIN entity_events e ON e.seq = t.seq WHERE t.tag = ? AND t.kind = ? AND t.seq > ? ORDER BY t.seq LIMIT ?',
      ),
      offsetGet: p('SELECT position FROM entity_offsets WHERE name = ?'),
      offsetPut: p(
        'INSERT INTO entity_offsets (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position',
      ),
      inboxPut: p('INSERT OR IGNORE INTO entity_inbox (kind, key, id, message, accepted_at) VALUES (?, ?, ?, ?, ?)'),
      // The (kind, key, accepted_at) index covers it: one pass over the inbox's index, no table read.
      inboxPending: p(
        'SELECT kind, key, MIN(accepted_at) AS oldest, COUNT(*) AS n FROM entity_inbox ' +
          'GROUP BY kind, key ORDER BY oldest LIMIT ?',
      ),
      inboxAll: p('SELECT id, message FROM entity_inbox WHERE kind = ? AND key = ? ORDER BY seq'),
      inboxDel: p('DELETE FROM entity_inbox WHERE kind = ? AND key = ? AND id = ?'),
      processedGet: p('SELECT 1 AS one FROM entity_processed WHERE kind = ? AND key = ? AND id = ?'),
      processedPut: p('INSERT INTO entity_processed (kind, key, id, version) VALUES (?, ?, ?, ?)'),
    };
    this.#reminders = new SqliteReminders({ prepare: p, tx: (fn) => this.#tx(fn), values: this.#values });
    this.#reminderOps = new CheckedReminders(
      // The SQLite table answers at once: `fn` returns the value itself.
      <T>(what: string, fn: () => T | Promise<T>, writes: boolean) => this.#op(what, fn, writes) as Promise<T>,
      this.#reminders,
    );
    this.#dead = new SqliteDeadLetters({ prepare: p, tx: (fn) => this.#tx(fn), values: this.#values });
    this.stateIndex = new SqliteStateIndex({
      prepare: p,
      tx: (fn) => this.#tx(fn),
      values: this.#values,
      op: (what, fn, writes) => this.#op(what, fn, writes),
    });
  }

  /**
   * Opens (creating when missing) the store in file `path` (`:memory:` for a private in-memory
   * one). Throws ERR_ENTITY_SQLITE_UNAVAILABLE when this Node has no `node:sqlite`,
   * ERR_ENTITY_INCORRECT for a bad option; SQLite's own errors (a directory that does not exist)
   * propagate with their `code` (ERR_SQLITE_ERROR).
   */
  static open(path: string, options: SqliteStoreOptions = {}): SqliteStore {
    const busy = options.busyTimeoutMs ?? SQLITE_STORE_DEFAULTS.busyTimeoutMs;
    if (!Number.isInteger(busy) || busy < 0 || busy > 2 ** 31 - 1)
      throw ErrEntityIncorrect.with(`busyTimeoutMs must be an integer in 0..2^31-1, got ${String(busy)}`);
    const sync = options.synchronous ?? SQLITE_STORE_DEFAULTS.synchronous;
    if (sync !== 'full' && sync !== 'normal')
      throw ErrEntityIncorrect.with(`synchronous must be 'full' or 'normal', got ${String(sync)}`);
    if (typeof path !== 'string' || path === '')
      throw ErrEntityIncorrect.with('the SQLite path must be a non-empty string');
    const { DatabaseSync } = loadSqlite();
    const db = new DatabaseSync(path);
    try {
      db.exec(`PRAGMA busy_timeout = ${busy}`);
      if (path !== ':memory:') db.exec('PRAGMA journal_mode = WAL');
      db.exec(`PRAGMA synchronous = ${sync.toUpperCase()}`);
      db.exec(SCHEMA);
      migrateJournal(db);
      db.exec(SQLITE_REMINDER_SCHEMA);
      db.exec(SQLITE_INDEX_SCHEMA);
      // From now on SQLite never sleeps on the event loop: a busy operation is retried from timers.
      db.exec('PRAGMA busy_timeout = 0');
      return new SqliteStore(path, db, options.codec ?? structuredCodec, busy);
    } catch (e) {
      db.close();
      throw e;
    }
  }

  /**
   * Claims `owner`'s liveness: an exclusive lock on a lock file beside the database, which the
   * kernel drops when this process ends (contract/liveness.ts).
   */
  claimLiveness(owner: string): Promise<LivenessClaim> {
    return this.#op('claimLiveness', () => this.#liveness.claim(owner), false);
  }

  /** Whether `owner` claimed its liveness and the claim is gone (its process ended). */
  livenessReleased(owner: string): Promise<boolean> {
    return this.#op('livenessReleased', () => this.#liveness.released(owner), false);
  }

  acquire(request: LeaseRequest): Promise<LeaseResult> {
    return this.#op('acquire', () => {
      checkLeaseRequest(request);
      return this.#tx(() => this.#takeLease(request));
    });
  }

  acquireAndLoad(request: LeaseRequest): Promise<AcquiredLoad> {
    return this.#op('acquireAndLoad', () => {
      checkLeaseRequest(request);
      // One transaction (one commit, one WAL flush): the lease, then what the key holds.
      return this.#tx((): AcquiredLoad => {
        const lease = this.#takeLease(request);
        return lease.acquired ? { lease, load: this.#activationLoad(request) } : { lease };
      });
    });
  }

  loadActivation(id: EntityId): Promise<ActivationLoad> {
    return this.#op(
      'loadActivation',
      () => {
        checkId(id);
        return this.#activationLoad(id);
      },
      false,
    );
  }

  /** The state and the inbox of a key (read in the caller's transaction, or as one synchronous step). */
  #activationLoad(id: EntityId): ActivationLoad {
    return { state: this.#stateOf(id), inbox: this.#inboxOf(id) };
  }

  /** The lease step of {@link acquire}, inside the caller's transaction. */
  #takeLease(request: LeaseRequest): LeaseResult {
    const now = Date.now();
    const row = this.#q.leaseGet!.get(request.kind, request.key);
    if (
      row !== undefined &&
      row.owner !== request.owner &&
      row.owner !== request.takeOverFrom &&
      Number(row.expires_at) > now
    )
      return { acquired: false, holder: String(row.owner), expiresAt: Number(row.expires_at) };
    const token = (row === undefined ? 0 : Number(row.token)) + 1;
    this.#q.leasePut!.run(request.kind, request.key, token, request.owner, now + request.ttlMs);
    return { acquired: true, token };
  }

  renew(kind: string, owner: string, tokens: ReadonlyMap<string, number>, ttlMs: number): Promise<string[]> {
    return this.#op('renew', () => {
      checkTtl(ttlMs);
      return this.#tx(() => {
        const until = Date.now() + ttlMs;
        const lost: string[] = [];
        for (const [key, token] of tokens)
          if (Number(this.#q.leaseRenew!.run(until, kind, key, token, owner).changes) === 0) lost.push(key);
        return lost;
      });
    });
  }

  release(id: EntityId, token: number): Promise<void> {
    return this.#op('release', () => {
      checkId(id);
      this.#q.leaseRelease!.run(id.kind, id.key, token);
    });
  }

  lease(id: EntityId): Promise<{ token: number; owner: string; expiresAt: number } | undefined> {
    return this.#op(
      'lease',
      () => {
        checkId(id);
        const row = this.#q.leaseGet!.get(id.kind, id.key);
        if (row === undefined) return undefined;
        return { token: Number(row.token), owner: String(row.owner), expiresAt: Number(row.expires_at) };
      },
      false,
    );
  }

  load(id: EntityId): Promise<StoredState> {
    return this.#op(
      'load',
      () => {
        checkId(id);
        return this.#stateOf(id);
      },
      false,
    );
  }

  events(id: EntityId, after: number): Promise<StoredEvent[]> {
    return this.#op(
      'events',
      () => {
        checkId(id);
        return this.#q.eventsAfter!.all(id.kind, id.key, after).map((r) => ({
          version: Number(r.version),
          event: this.#values.decode(String(r.event)),
          type: String(r.type),
          schemaVersion: Number(r.schema_version),
        }));
      },
      false,
    );
  }

  readJournal(query: JournalQuery): Promise<JournalEntry[]> {
    return this.#op(
      'readJournal',
      () => {
        checkJournalQuery(query);
        const rows =
          query.tag === undefined
            ? this.#q.journalKind!.all(query.kind, query.after, query.limit)
            : this.#q.journalTag!.all(query.tag, query.kind, query.after, query.limit);
        return rows.map((r) => ({
          offset: Number(r.seq),
          kind: String(r.kind),
          key: String(r.key),
          version: Number(r.version),
          type: String(r.type),
          schemaVersion: Number(r.schema_version),
          event: this.#values.decode(String(r.event)),
        }));
      },
      false,
    );
  }

  loadOffset(projection: string): Promise<number | undefined> {
    return this.#op(
      'loadOffset',
      () => {
        checkProjection(projection);
        const row = this.#q.offsetGet!.get(projection);
        return row === undefined ? undefined : Number(row.position);
      },
      false,
    );
  }

  saveOffset(projection: string, offset: number): Promise<void> {
    return this.#op('saveOffset', () => {
      checkProjection(projection);
      checkOffset(offset);
      this.#q.offsetPut!.run(projection, offset);
    });
  }

  write(request: WriteRequest): Promise<number> {
    return this.#op('write', () => {
      const w = prepareWrite(request, this.#values);
      const { kind, key } = request;
      return this.#tx(() => {
        const lease = this.#q.leaseGet!.get(w.fence.kind, w.fence.key);
        const st = this.#q.stateGet!.get(kind, key);
        const row: StateRow | undefined =
          st === undefined
            ? undefined
            : {
                version: Number(st.version),
                snapshot: st.snapshot as string | null,
                snapshotVersion: Number(st.snapshot_version),
              };
        const plan = planWrite(w, lease === undefined ? 0 : Number(lease.token), row);
        for (const e of plan.events) {
          const seq = this.#q.eventPut!.get(kind, key, e.version, e.event, e.type, e.schemaVersion)!.seq!;
          for (const tag of e.tags) this.#q.tagPut!.run(tag, seq, kind);
        }
        this.#q.statePut!.run(kind, key, plan.version, plan.snapshot, plan.snapshotVersion);
        if (request.processed !== undefined) {
          this.#q.processedPut!.run(kind, key, request.processed, plan.version);
          this.#q.inboxDel!.run(kind, key, request.processed);
        }
        if (w.reminders !== undefined) this.#reminders.apply(request, w.reminders);
        this.stateIndex.apply(request);
        return plan.version;
      });
    });
  }

  enqueue(id: EntityId, messageId: string, message: unknown): Promise<'accepted' | 'duplicate'> {
    return this.#op('enqueue', () => {
      checkEnqueue(id, messageId);
      const encoded = this.#values.encode(message, 'message');
      return this.#tx(() => {
        if (this.#q.processedGet!.get(id.kind, id.key, messageId) !== undefined) return 'duplicate' as const;
        // A poison message set apart stays out: a sender's retry does not bring it back.
        if (this.#dead.has(id, messageId)) return 'duplicate' as const;
        const changes = Number(this.#q.inboxPut!.run(id.kind, id.key, messageId, encoded, Date.now()).changes);
        return changes === 0 ? ('duplicate' as const) : ('accepted' as const);
      });
    });
  }

  inbox(id: EntityId): Promise<InboxEntry[]> {
    return this.#op(
      'inbox',
      () => {
        checkId(id);
        return this.#inboxOf(id);
      },
      false,
    );
  }

  pendingInbox(limit: number): Promise<PendingInbox[]> {
    return this.#op(
      'pendingInbox',
      () => {
        checkPendingLimit(limit);
        return this.#q.inboxPending!.all(limit).map((r) => ({
          kind: String(r.kind),
          key: String(r.key),
          oldestAcceptedAt: Number(r.oldest),
          count: Number(r.n),
        }));
      },
      false,
    );
  }

  processed(id: EntityId, messageId: string): Promise<boolean> {
    return this.#op(
      'processed',
      () => {
        checkId(id);
        return this.#q.processedGet!.get(id.kind, id.key, messageId) !== undefined;
      },
      false,
    );
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
    return this.#op('deadLetters', () => this.#dead.deadLetters(query), false);
  }

  retryDeadLetter(id: EntityId, messageId: string): Promise<InboxEntry | undefined> {
    return this.#op('retryDeadLetter', () => this.#dead.retryDeadLetter(id, messageId));
  }

  dropDeadLetter(id: EntityId, messageId: string): Promise<boolean> {
    return this.#op('dropDeadLetter', () => this.#dead.dropDeadLetter(id, messageId));
  }

  /**
   * Closes the file (synchronous: nothing to wait for or cut, a transaction of another process
   * holding the file included); rejects with ERR_ENTITY_INCORRECT for bad `options`.
   */
  close(options?: StoreCloseOptions): Promise<void> {
    try {
      checkCloseOptions(options);
    } catch (e) {
      return rejected(e, undefined, 'entity store close');
    }
    if (!this.#closed) {
      this.#closed = true;
      this.#busy.close();
      this.#db.close();
    }
    return Promise.resolve();
  }

  /** The key's latest snapshot and its version (what {@link load} answers). */
  #stateOf(id: EntityId): StoredState {
    const row = this.#q.stateGet!.get(id.kind, id.key);
    if (row === undefined) return { state: undefined, version: 0 };
    const snap = row.snapshot;
    return {
      state: snap === null ? undefined : this.#values.decode(String(snap)),
      version: Number(row.snapshot_version),
    };
  }

  /** The key's unprocessed inbox, oldest first (what {@link inbox} answers). */
  #inboxOf(id: EntityId): InboxEntry[] {
    return this.#q.inboxAll!.all(id.kind, id.key).map((r) => ({
      id: String(r.id),
      message: this.#values.decode(String(r.message)),
    }));
  }

  /**
   * Runs a write as a Promise that is safe to leave un-awaited. Writes asked for in the same turn
   * of the event loop are committed together (group commit): one transaction, each write in its
   * own savepoint (a write that fails is rolled back alone and rejects alone), one commit and so
   * one fsync for all — N activations writing at once cost about one fsync, not N. A batch that
   * meets another process's write lock is tried again from timers (sqlite_busy.ts), in order.
   */
  #op<T>(what: string, fn: () => T, writes = true): Promise<T> {
    if (this.#closed) return rejected(ErrStoreClosed.with(this.name), undefined, `entity store ${what}`);
    // Reads run at once (WAL lets them run beside a writer): they see every write already committed.
    if (!writes)
      return ignorable(
        this.#busy.run(() => {
          if (this.#closed) throw ErrStoreClosed.with(this.name);
          return fn();
        }, false),
        undefined,
        `entity store ${what}`,
      );
    return ignorable(
      new Promise<T>((resolve, reject) => {
        this.#batch.push({ fn, resolve: resolve as (v: unknown) => void, reject });
        if (this.#batch.length === 1) setImmediate(() => this.#flush());
      }),
      undefined,
      `entity store ${what}`,
    );
  }

  /** Commits the writes asked for since the last flush (see {@link #op}). */
  #flush(): void {
    const ops = this.#batch.splice(0);
    if (ops.length === 0) return;
    if (this.#closed) {
      for (const o of ops) o.reject(ErrStoreClosed.with(this.name));
      return;
    }
    this.#busy
      .run(() => {
        if (this.#closed) throw ErrStoreClosed.with(this.name);
        return this.#runBatch(ops);
      }, true)
      .then(
        (outcomes) => {
          for (let i = 0; i < ops.length; i++) {
            const o = outcomes[i]!;
            if (o.ok) ops[i]!.resolve(o.value);
            else ops[i]!.reject(o.error);
          }
        },
        (e: unknown) => {
          for (const o of ops) o.reject(e);
        },
      );
  }

  /** Runs `ops` in one transaction (a single write as before: its own transaction). */
  #runBatch(ops: readonly BatchedWrite[]): Outcome[] {
    if (ops.length === 1) {
      try {
        return [{ ok: true, value: ops[0]!.fn() }];
      } catch (e) {
        if (isBusy(e)) throw e; // nothing changed: the whole batch is tried again
        return [{ ok: false, error: e }];
      }
    }
    this.#db.exec('BEGIN IMMEDIATE');
    const out: Outcome[] = [];
    this.#inBatch = true;
    try {
      for (const o of ops) {
        this.#db.exec('SAVEPOINT w');
        try {
          const value = o.fn();
          this.#db.exec('RELEASE w');
          out.push({ ok: true, value });
        } catch (e) {
          this.#db.exec('ROLLBACK TO w');
          this.#db.exec('RELEASE w');
          if (isBusy(e)) throw e;
          out.push({ ok: false, error: e });
        }
      }
      this.#db.exec('COMMIT');
    } catch (e) {
      try {
        this.#db.exec('ROLLBACK');
      } catch {
        // Already rolled back by SQLite (a busy statement ends its transaction).
      }
      throw e;
    } finally {
      this.#inBatch = false;
    }
    return out;
  }

  /** One write's own transaction; inside a batch, the batch's (each write has its savepoint there). */
  #tx<T>(fn: () => T): T {
    if (this.#inBatch) return fn();
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const r = fn();
      this.#db.exec('COMMIT');
      return r;
    } catch (e) {
      this.#db.exec('ROLLBACK');
      throw e;
    }
  }

  listStates(kind: string, page: StatesPage): Promise<KeyState[]> {
    return this.#op(
      'listStates',
      () => {
        checkStatesPage(kind, page);
        // Prepared at the first listing: an operator's read, not on any entity's path.
        this.#listStates ??= {
          first: this.#db.prepare(
            'SELECT key, snapshot, snapshot_version FROM entity_state WHERE kind = ? ORDER BY key LIMIT ?',
          ),
          after: this.#db.prepare(
            'SELECT key, snapshot, snapshot_version FROM entity_state WHERE kind = ? AND key > ? ORDER BY key LIMIT ?',
          ),
        };
        const rows =
          page.after === undefined
            ? this.#listStates.first.all(kind, page.limit)
            : this.#listStates.after.all(kind, page.after, page.limit);
        return rows.map((r) => ({
          key: String(r.key),
          state: r.snapshot === null ? undefined : this.#values.decode(String(r.snapshot)),
          version: Number(r.snapshot_version),
        }));
      },
      false,
    );
  }
  #listStates: { first: Statement; after: Statement } | undefined;
}

/** A write waiting for its batch (SqliteStore's group commit). */
interface BatchedWrite {
  readonly fn: () => unknown;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

/** How one write of a batch ended. */
type Outcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: unknown };

/**
 * Adds the journal's columns, tables and indexes and the inbox's acceptance time when missing (a
 * file an earlier version wrote): existing events get offsets in the order they were inserted. One transaction, so processes
 * opening one file at once migrate it once.
 */
function migrateJournal(db: Database): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    const have = new Set(
      db
        .prepare('PRAGMA table_info(entity_events)')
        .all()
        .map((c) => String(c.name)),
    );
    for (const [column, alter] of SQLITE_EVENT_COLUMNS) if (!have.has(column)) db.exec(alter);
    if (!have.has('seq')) db.exec('UPDATE entity_events SET seq = rowid WHERE seq IS NULL');
    db.exec(SQLITE_JOURNAL_TABLES);
    db.exec(SQLITE_JOURNAL_INDEXES);
    const inbox = new Set(
      db
        .prepare('PRAGMA table_info(entity_inbox)')
        .all()
        .map((c) => String(c.name)),
    );
    if (!inbox.has('accepted_at')) {
      // Messages accepted before the column existed: counted from now (their true time is unknown).
      db.exec('ALTER TABLE entity_inbox ADD COLUMN accepted_at INTEGER NOT NULL DEFAULT 0');
      db.exec(`UPDATE entity_inbox SET accepted_at = ${Date.now()}`);
    }
    db.exec('CREATE INDEX IF NOT EXISTS entity_inbox_pending ON entity_inbox (kind, key, accepted_at)');
    migrateDeadLetters(db);
    db.exec('COMMIT');
  } catch (e) {
    db.exec('ROLLBACK');
    throw e;
  }
}
