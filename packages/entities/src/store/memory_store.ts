// The in-memory entity store: every rule of the EntityStore contract (leases with a fencing token
// that only grows, expiry against a clock, conditional writes fenced by a token and a version,
// snapshots and an event log, an inbox and the processed ids) kept in maps, with no database. It
// exists for tests (the entities test kit, `@ergo-ts/entities/testing`, runs the real runtime on
// it) and passes the same conformance suite as the SQLite and PostgreSQL stores. Values are kept
// encoded by the codec (JSON by default), exactly as a real store keeps them: a value mutated after
// it was written does not change what is stored, and a value the codec cannot encode is refused.
//
// Every operation runs synchronously inside its call (one JS turn, so each is atomic: there are no
// interleavings to lock against) and answers with a Promise already marked handled.
//
// The data lives in a MemoryStoreData apart from the store object, so several stores may share
// it (as several OS processes share one database) and a closed store's data can be opened again
// ({@link MemoryStore.reopen}). Capabilities that grow the store (a journal for projections,
// reminders, lease take-over) add their maps to MemoryStoreData and their methods to MemoryStore;
// the reminders (a ReminderStore, as the SQL stores) are memory_reminders.ts.

import { rejected } from 'ergo-ts';

import { ErrEntityIncorrect, ErrStoreClosed } from '../contract/errors.js';
import type { JournalEntry, JournalQuery } from '../contract/journal.js';
import { checkJournalQuery, checkOffset, checkProjection, type StoredEventMeta } from './journal_sql.js';
import { MemoryReminderData, MemoryReminders } from './memory_reminders.js';
import { MemoryDeadLetterData, MemoryDeadLetters } from './memory_dead_letters.js';
import { MemoryIndexData, MemoryStateIndex } from './memory_index.js';
import type {
  DeadLetter,
  DeadLetterQuery,
  DeadLetterStore,
  InboxFailure,
  InboxFailureResult,
} from '../contract/dead_letters.js';
import {
  type NewReminder,
  type ReminderFence,
  type ReminderStore,
  type StoredReminder,
} from '../contract/reminder_store.js';
import { checkId } from '../contract/ids.js';
import { checkCloseOptions, type StoreCloseOptions } from '../contract/store_close.js';
import { LocalWakes, type StoreWakes } from '../contract/wakes.js';
import { CheckedReminders } from './checked_reminders.js';
import {
  Values,
  checkEnqueue,
  checkLeaseRequest,
  checkPendingLimit,
  checkTtl,
  planWrite,
  prepareWrite,
} from './sql_store.js';
import type { KeyState, StatesPage } from '../contract/store.js';
import { checkStatesPage, compareKeys } from './states_page.js';
import {
  type EntityId,
  type EntityStore,
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

/** A clock the store reads lease times from (epoch ms). The core test kit's `TestClock` is one. */
export interface StoreClock {
  /** The time now, in epoch milliseconds. */
  now(): number;
}

/** The wall clock (`Date.now()`). */
const wallClock: StoreClock = Object.freeze({ now: (): number => Date.now() });

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * How values are encoded (default {@link structuredCodec}: exact or refused). Every stored value goes through it,
   * so a test sees what a real store with this codec would keep.
   */
  readonly codec?: StoreCodec;
  /**
   * The clock lease expiry is decided by (default the wall clock). Give the core test kit's
   * `TestClock` to expire leases only when a test moves time.
   */
  readonly clock?: StoreClock;
  /** The store's name in logs. Default `memory`. */
  readonly name?: string;
}

/** One key's lease row in a {@link MemoryStoreData}. */
export interface MemoryLeaseRow {
  /** The current fencing token (it only grows). */
  token: number;
  /** The holder's owner string ('' once released). */
  owner: string;
  /** When the lease ends unless renewed, epoch ms on the store's clock (0 once released). */
  expiresAt: number;
}

/** One key's rows in a {@link MemoryStoreData}: its state, events, inbox (in acceptance order) and processed ids. */
export interface MemoryKeyRows {
  /** The version, the encoded snapshot and the snapshot's version; undefined before the first write. */
  state: { readonly version: number; readonly snapshot: string | null; readonly snapshotVersion: number } | undefined;
  /** Encoded events, each at the version it brought the key to, with its journal record. */
  readonly events: MemoryEventRow[];
  /** Message id → encoded message; a Map keeps insertion (acceptance) order. */
  readonly inbox: Map<string, string>;
  /** Message id → when it was accepted (epoch ms, the store's clock), for the inbox's messages. */
  readonly acceptedAt: Map<string, number>;
  /** Message id → the version its write made. */
  readonly processed: Map<string, number>;
}

/** One stored event in a {@link MemoryStoreData}: its key's version, payload, journal offset and record. */
export interface MemoryEventRow extends StoredEventMeta {
  /** The version it brought its key to. */
  readonly version: number;
  /** The encoded payload. */
  readonly event: string;
  /** Its global offset (the journal's order: the order writes happened in, one store-wide counter). */
  readonly offset: number;
  /** The kind and key that persisted it. */
  readonly kind: string;
  readonly key: string;
}

/**
 * The data of one in-memory "database": what every {@link MemoryStore} opened on it shares. It
 * outlives the stores (closing a store keeps it), as a database outlives its connections. Its
 * rows are readable (a test may look); change them only through a store, which keeps the rules.
 */
export class MemoryStoreData {
  /** Wakes between the stores opened on this data (contract/wakes.ts). */
  readonly wakes = new LocalWakes();
  /** kind → key → lease row. */
  readonly leases = new Map<string, Map<string, MemoryLeaseRow>>();
  /** kind → key → the key's rows. */
  readonly keys = new Map<string, Map<string, MemoryKeyRows>>();
  /** kind → its events in offset order (the journal; the same rows as the keys' `events`). */
  readonly journal = new Map<string, MemoryEventRow[]>();
  /** projection name → its stored offset. */
  readonly offsets = new Map<string, number>();
  /** The last offset handed out (offsets start at 1 and have no gaps here: writes cannot roll back). */
  lastOffset = 0;
  /** The durable reminders (memory_reminders.ts): by key and name, and by shard in due-time order. */
  readonly reminders = new MemoryReminderData();
  /** The inbox messages' failure counts and the dead letters (memory_dead_letters.ts). */
  readonly deadLetters = new MemoryDeadLetterData();
  /** The state index rows (memory_index.ts). */
  readonly stateIndex = new MemoryIndexData();

  /** The lease row of (kind, key), if one was ever taken. */
  lease(id: EntityId): MemoryLeaseRow | undefined {
    return this.leases.get(id.kind)?.get(id.key);
  }

  /** Sets the lease row of (kind, key). */
  setLease(id: EntityId, row: MemoryLeaseRow): void {
    let kind = this.leases.get(id.kind);
    if (kind === undefined) this.leases.set(id.kind, (kind = new Map()));
    kind.set(id.key, row);
  }

  /** The rows of (kind, key), if any was ever written or accepted. */
  rows(id: EntityId): MemoryKeyRows | undefined {
    return this.keys.get(id.kind)?.get(id.key);
  }

  /** The rows of (kind, key), made empty when none exist. */
  rowsFor(id: EntityId): MemoryKeyRows {
    let kind = this.keys.get(id.kind);
    if (kind === undefined) this.keys.set(id.kind, (kind = new Map()));
    let r = kind.get(id.key);
    if (r === undefined) {
      r = { state: undefined, events: [], inbox: new Map(), acceptedAt: new Map(), processed: new Map() };
      kind.set(id.key, r);
    }
    return r;
  }
}

let seq = 0;

/**
 * Retention (contract/state_index.ts `purge`): drops the record of `id` (its state keeps its
 * version), its inbox, processed ids, reminders and dead letters; not its lease.
 */
function forgetKey(data: MemoryStoreData, id: EntityId): void {
  const rows = data.keys.get(id.kind)?.get(id.key);
  if (rows?.state !== undefined) rows.state = { ...rows.state, snapshot: null };
  rows?.inbox.clear();
  rows?.acceptedAt.clear();
  rows?.processed.clear();
  const r = data.reminders;
  const mine = r.byKey.get(id.kind)?.get(id.key);
  if (mine !== undefined) {
    r.byKey.get(id.kind)!.delete(id.key);
    for (const row of mine.values()) {
      const list = r.byShard.get(row.shard);
      const i = list?.indexOf(row) ?? -1;
      if (i >= 0) list!.splice(i, 1);
      r.count--;
    }
  }
  const prefix = `${id.kind}\0${id.key}\0`;
  for (const m of [data.deadLetters.attempts, data.deadLetters.dead] as Map<string, unknown>[])
    for (const k of [...m.keys()]) if (k.startsWith(prefix)) m.delete(k);
}

/**
 * An {@link EntityStore} in memory: for tests, and for trying entities without a database. It keeps
 * the same rules as the SQLite and PostgreSQL stores (it passes their conformance suite), but
 * nothing survives the OS process.
 *
 * Lifecycle: `new MemoryStore(options)` makes an empty store; {@link reopen} opens another store
 * on the same data (a second process sharing a database, or a restart reopening it); `close()`
 * (idempotent) makes every later operation reject with ERR_ENTITY_STORE_CLOSED and keeps the data.
 * Bad input rejects with ERR_ENTITY_INCORRECT, a value the codec refuses with
 * ERR_ENTITY_STORE_CODEC, and nothing changes. Every returned Promise is safe to leave un-awaited.
 */
export class MemoryStore implements EntityStore, ReminderStore, DeadLetterStore {
  readonly name: string;
  /** The data this store reads and writes (shared with the stores {@link reopen} made). */
  readonly data: MemoryStoreData;
  /** The clock lease expiry is decided by. */
  readonly clock: StoreClock;
  readonly #values: Values;
  readonly #options: MemoryStoreOptions;
  readonly #reminders: MemoryReminders;
  /** The reminder operations, checked, on {@link #reminders} (checked_reminders.ts). */
  readonly #reminderOps: CheckedReminders;
  readonly #dead: MemoryDeadLetters;
  /** The state index (memory_index.ts). */
  readonly stateIndex: MemoryStateIndex;
  #closed = false;

  /** Wakes between the stores opened on {@link data} (contract/wakes.ts). */
  get wakes(): StoreWakes {
    return this.data.wakes;
  }

  /** An empty store. Throws ERR_ENTITY_INCORRECT for a clock or codec that is not one. */
  constructor(options: MemoryStoreOptions = {}, data: MemoryStoreData = new MemoryStoreData()) {
    const codec = options.codec ?? structuredCodec;
    if (typeof codec?.encode !== 'function' || typeof codec.decode !== 'function')
      throw ErrEntityIncorrect.with('codec must have encode and decode functions');
    const clock = options.clock ?? wallClock;
    if (typeof clock?.now !== 'function') throw ErrEntityIncorrect.with('clock must have a now() function');
    if (!(data instanceof MemoryStoreData)) throw ErrEntityIncorrect.with('data must be a MemoryStoreData');
    this.#options = options;
    this.name = options.name ?? `memory:${++seq}`;
    this.clock = clock;
    this.data = data;
    this.#values = new Values(codec);
    this.#reminders = new MemoryReminders(data.reminders, this.#values, (lease) => data.lease(lease)?.token ?? 0);
    this.#reminderOps = new CheckedReminders(
      // The memory table answers at once: `fn` returns the value itself.
      <T>(what: string, fn: () => T | Promise<T>) => this.#op(what, fn) as Promise<T>,
      this.#reminders,
    );
    this.#dead = new MemoryDeadLetters({
      data: data.deadLetters,
      values: this.#values,
      now: () => clock.now(),
      token: (lease) => data.lease(lease)?.token ?? 0,
      rows: (id) => data.rows(id),
      rowsFor: (id) => data.rowsFor(id),
    });
    this.stateIndex = new MemoryStateIndex({
      data: data.stateIndex,
      state: (id) => {
        const st = data.rows(id)?.state;
        if (st === undefined || st.snapshot === null) return undefined;
        return { key: id.key, state: this.#values.decode(st.snapshot), version: st.snapshotVersion };
      },
      keys: (kind) => data.keys.get(kind)?.keys() ?? [],
      op: (what, fn) => this.#op(what, fn),
      forget: (id) => forgetKey(data, id),
    });
  }

  /**
   * Another store on this store's data, open even when this one is closed: what a second OS
   * process sharing the database, or a restarted one reopening it, would see. `options` replace
   * this store's (the codec and clock by default the same).
   */
  reopen(options: MemoryStoreOptions = this.#options): MemoryStore {
    return new MemoryStore(options, this.data);
  }

  acquire(request: LeaseRequest): Promise<LeaseResult> {
    return this.#op('acquire', (): LeaseResult => {
      checkLeaseRequest(request);
      const now = this.clock.now();
      const row = this.data.lease(request);
      // Free, expired, already ours, or held by the owner the caller declares dead (a newer token fences it).
      if (row !== undefined && row.owner !== request.owner && row.owner !== request.takeOverFrom && row.expiresAt > now)
        return { acquired: false, holder: row.owner, expiresAt: row.expiresAt };
      const token = (row?.token ?? 0) + 1;
      this.data.setLease(request, { token, owner: request.owner, expiresAt: now + request.ttlMs });
      return { acquired: true, token };
    });
  }

  renew(kind: string, owner: string, tokens: ReadonlyMap<string, number>, ttlMs: number): Promise<string[]> {
    return this.#op('renew', () => {
      checkTtl(ttlMs);
      const until = this.clock.now() + ttlMs;
      const lost: string[] = [];
      for (const [key, token] of tokens) {
        const row = this.data.lease({ kind, key });
        if (row !== undefined && row.token === token && row.owner === owner) row.expiresAt = until;
        else lost.push(key);
      }
      return lost;
    });
  }

  release(id: EntityId, token: number): Promise<void> {
    return this.#op('release', () => {
      checkId(id);
      const row = this.data.lease(id);
      // As the SQL stores: the row (and its token) stays, so the next owner's token is higher.
      if (row !== undefined && row.token === token) {
        row.owner = '';
        row.expiresAt = 0;
      }
    });
  }

  lease(id: EntityId): Promise<{ token: number; owner: string; expiresAt: number } | undefined> {
    return this.#op('lease', () => {
      checkId(id);
      const row = this.data.lease(id);
      return row === undefined ? undefined : { token: row.token, owner: row.owner, expiresAt: row.expiresAt };
    });
  }

  load(id: EntityId): Promise<StoredState> {
    return this.#op('load', (): StoredState => {
      checkId(id);
      const st = this.data.rows(id)?.state;
      if (st === undefined) return { state: undefined, version: 0 };
      return {
        state: st.snapshot === null ? undefined : this.#values.decode(st.snapshot),
        version: st.snapshotVersion,
      };
    });
  }

  events(id: EntityId, after: number): Promise<StoredEvent[]> {
    return this.#op('events', () => {
      checkId(id);
      const rows = this.data.rows(id);
      if (rows === undefined) return [];
      return rows.events
        .filter((e) => e.version > after)
        .map((e) => ({
          version: e.version,
          event: this.#values.decode(e.event),
          type: e.type,
          schemaVersion: e.schemaVersion,
        }));
    });
  }

  write(request: WriteRequest): Promise<number> {
    return this.#op('write', () => {
      // Encoded first: a value the codec refuses changes nothing.
      const w = prepareWrite(request, this.#values);
      const fence = this.data.lease(w.fence);
      const existing = this.data.rows(request);
      const plan = planWrite(w, fence?.token ?? 0, existing?.state);
      // As the SQL stores' primary key: one id is processed once per key.
      if (request.processed !== undefined && existing?.processed.has(request.processed) === true)
        throw ErrEntityIncorrect.with(
          `${request.kind}/${request.key}: message ${request.processed} was processed already`,
        );
      // Every check passed: the write cannot fail from here, so it is all or nothing.
      const rows = existing ?? this.data.rowsFor(request);
      if (plan.events.length > 0) {
        let journal = this.data.journal.get(request.kind);
        if (journal === undefined) this.data.journal.set(request.kind, (journal = []));
        for (const e of plan.events) {
          const row: MemoryEventRow = { ...e, offset: ++this.data.lastOffset, kind: request.kind, key: request.key };
          rows.events.push(row);
          journal.push(row);
        }
      }
      rows.state = { version: plan.version, snapshot: plan.snapshot, snapshotVersion: plan.snapshotVersion };
      if (request.processed !== undefined) {
        rows.processed.set(request.processed, plan.version);
        rows.inbox.delete(request.processed);
        rows.acceptedAt.delete(request.processed);
        this.#dead.forget(request, request.processed);
      }
      if (w.reminders !== undefined) this.#reminders.apply(request, w.reminders);
      if (request.index !== undefined) this.data.stateIndex.put(request, request.index);
      return plan.version;
    });
  }

  readJournal(query: JournalQuery): Promise<JournalEntry[]> {
    return this.#op('readJournal', () => {
      checkJournalQuery(query);
      const journal = this.data.journal.get(query.kind) ?? [];
      const out: JournalEntry[] = [];
      // Offsets only grow along the array: skip to the first one after `after`.
      let lo = 0;
      let hi = journal.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (journal[mid]!.offset <= query.after) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo; i < journal.length && out.length < query.limit; i++) {
        const e = journal[i]!;
        if (query.tag !== undefined && !e.tags.includes(query.tag)) continue;
        out.push({
          offset: e.offset,
          kind: e.kind,
          key: e.key,
          version: e.version,
          type: e.type,
          schemaVersion: e.schemaVersion,
          event: this.#values.decode(e.event),
        });
      }
      return out;
    });
  }

  loadOffset(projection: string): Promise<number | undefined> {
    return this.#op('loadOffset', () => {
      checkProjection(projection);
      return this.data.offsets.get(projection);
    });
  }

  saveOffset(projection: string, offset: number): Promise<void> {
    return this.#op('saveOffset', () => {
      checkProjection(projection);
      checkOffset(offset);
      this.data.offsets.set(projection, offset);
    });
  }

  enqueue(id: EntityId, messageId: string, message: unknown): Promise<'accepted' | 'duplicate'> {
    return this.#op('enqueue', () => {
      checkEnqueue(id, messageId);
      const encoded = this.#values.encode(message, 'message');
      const existing = this.data.rows(id);
      if (existing !== undefined && (existing.processed.has(messageId) || existing.inbox.has(messageId)))
        return 'duplicate' as const;
      // A poison message set apart stays out: a sender's retry does not bring it back.
      if (this.#dead.has(id, messageId)) return 'duplicate' as const;
      const rows = existing ?? this.data.rowsFor(id);
      rows.inbox.set(messageId, encoded);
      rows.acceptedAt.set(messageId, this.clock.now());
      return 'accepted' as const;
    });
  }

  pendingInbox(limit: number): Promise<PendingInbox[]> {
    return this.#op('pendingInbox', () => {
      checkPendingLimit(limit);
      const out: PendingInbox[] = [];
      for (const [kind, keys] of this.data.keys)
        for (const [key, rows] of keys) {
          if (rows.inbox.size === 0) continue;
          // The first accepted is the first in the Map (insertion order).
          const oldest = rows.acceptedAt.values().next().value ?? 0;
          out.push({ kind, key, oldestAcceptedAt: oldest, count: rows.inbox.size });
        }
      out.sort((a, b) => a.oldestAcceptedAt - b.oldestAcceptedAt);
      return out.slice(0, limit);
    });
  }

  inbox(id: EntityId): Promise<InboxEntry[]> {
    return this.#op('inbox', () => {
      checkId(id);
      const rows = this.data.rows(id);
      if (rows === undefined) return [];
      return [...rows.inbox].map(([mid, text]) => ({ id: mid, message: this.#values.decode(text) }));
    });
  }

  processed(id: EntityId, messageId: string): Promise<boolean> {
    return this.#op('processed', () => {
      checkId(id);
      return this.data.rows(id)?.processed.has(messageId) === true;
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

  /** Closes the store (nothing to wait for); rejects with ERR_ENTITY_INCORRECT for bad `options`. */
  close(options?: StoreCloseOptions): Promise<void> {
    try {
      checkCloseOptions(options);
    } catch (e) {
      return rejected(e, undefined, 'entity store close');
    }
    this.#closed = true;
    return Promise.resolve();
  }

  /** Runs a synchronous operation as a Promise that is safe to leave un-awaited. */
  #op<T>(what: string, fn: () => T): Promise<T> {
    if (this.#closed) return rejected(ErrStoreClosed.with(this.name), undefined, `entity store ${what}`);
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return rejected(e, undefined, `entity store ${what}`);
    }
  }

  listStates(kind: string, page: StatesPage): Promise<KeyState[]> {
    return this.#op('listStates', () => {
      checkStatesPage(kind, page);
      const after = page.after;
      const keys = [...(this.data.keys.get(kind)?.entries() ?? [])]
        .filter(([key, rows]) => rows.state !== undefined && (after === undefined || compareKeys(key, after) > 0))
        .sort(([a], [b]) => compareKeys(a, b))
        .slice(0, page.limit);
      return keys.map(([key, rows]) => ({
        key,
        state: rows.state!.snapshot === null ? undefined : this.#values.decode(rows.state!.snapshot),
        version: rows.state!.snapshotVersion,
      }));
    });
  }
}
