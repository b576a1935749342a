// The store interface every entity store implements (SqliteStore, store/sqlite.ts; PostgresStore, store/postgres.ts).
// It keeps, per (kind, key): a lease with a monotonically increasing fencing token, the state with
// its version (a snapshot) and optionally the events after it, an inbox of accepted messages, and
// the ids of messages already processed. Safety rests on one rule the store enforces: a write is
// accepted only if its fencing token is the key's current token, checked in the same
// transaction as the write; a newer activation (a higher token) makes every older one's writes
// fail with ERR_ENTITY_STALE_TOKEN. Clocks decide only when a lease may be taken over (liveness),
// never whether a write is accepted (safety).

import type { EntityId } from './ids.js';
import type { EventMeta, JournalStore } from './journal.js';
import type { ReminderChanges } from './reminder_store.js';
import type { StateIndex, StateIndexEntry } from './state_index.js';
import type { StoreCloseOptions } from './store_close.js';
import type { KeyState, StoredState } from './stored_state.js';
import type { StoreWakes } from './wakes.js';

export { MAX_KEY_BYTES, checkKey, type EntityId } from './ids.js';
export type { KeyState, StoredState } from './stored_state.js';
export type { StoreCloseOptions } from './store_close.js';

/** A request to take the lease of one key. */
export interface LeaseRequest extends EntityId {
  /** Who asks: a string unique to this activation host (node name and creation). */
  readonly owner: string;
  /** How long the lease lasts unless renewed, in milliseconds. */
  readonly ttlMs: number;
  /**
   * The owner string of a holder the caller declares dead (its node went down): a lease this
   * owner holds is taken at once, without waiting for it to expire, with the next fencing token.
   * Safe even when the declaration is wrong (a partition, a paused process): the old holder's
   * every later write and renewal is refused by the newer token. A lease held by anyone else is
   * refused as usual.
   */
  readonly takeOverFrom?: string;
}

/** What {@link EntityStore.acquire} answers. */
export type LeaseResult =
  | {
      /** The lease is ours with this fencing token (every earlier token is now stale). */
      readonly acquired: true;
      readonly token: number;
    }
  | {
      /** Another owner holds an unexpired lease. */
      readonly acquired: false;
      /** The holder's owner string. */
      readonly holder: string;
      /** When the holder's lease ends unless renewed (epoch ms, the store's clock). */
      readonly expiresAt: number;
    };

/** One conditional write: accepted only with the key's current fencing token. */
export interface WriteRequest extends EntityId {
  /** The writer's fencing token (from {@link EntityStore.acquire}). */
  readonly token: number;
  /**
   * The lease `token` was taken on, when it is not the key's own: a lease per shard (the runtime's
   * `leaseScope: 'shard'`). The write is accepted only if `token` is that lease's current token.
   */
  readonly lease?: EntityId;
  /** The version the writer last saw; the write fails with ERR_ENTITY_VERSION_CONFLICT otherwise. */
  readonly expectedVersion: number;
  /** The new state (a snapshot at the new version); omit to append events only. */
  readonly state?: unknown;
  /**
   * Events to append (event-sourced mode): the version grows by their count (by 1 when `events`
   * is absent; a write with `events: []` keeps the version: a snapshot or a processed id only).
   */
  readonly events?: readonly unknown[];
  /** What the journal records of each event (same order as `events`); default type '' at schema version 1. */
  readonly eventMeta?: readonly EventMeta[];
  /** A message id processed by this write: recorded and removed from the inbox in the same transaction. */
  readonly processed?: string;
  /**
   * Reminder changes made with this write, in its transaction and fenced by its token (a store
   * that keeps reminders: a `ReminderStore`): a refused write changes none of them. The
   * runtime writes a durable state machine's timeouts this way.
   */
  readonly reminders?: ReminderChanges;
  /**
   * The key's state index row, derived from `state` by its kind's `index` hook: written (replacing
   * the previous one) in this write's transaction, by a store that has a {@link EntityStore.stateIndex}.
   */
  readonly index?: StateIndexEntry;
}

/** A message accepted into an entity's inbox and not yet processed. */
export interface InboxEntry {
  /** The sender's message id (unique per key). */
  readonly id: string;
  /** The message as the codec decoded it. */
  readonly message: unknown;
}

/** A key with accepted messages not processed yet ({@link EntityStore.pendingInbox}). */
export interface PendingInbox extends EntityId {
  /** When its oldest unprocessed message was accepted, epoch ms (0: accepted before the store kept the time). */
  readonly oldestAcceptedAt: number;
  /** How many unprocessed messages it has. */
  readonly count: number;
}

/** One stored event (event-sourced mode). */
export interface StoredEvent {
  /** The version this event brought the key to (1, 2, ...). */
  readonly version: number;
  /** The event as the codec decoded it. */
  readonly event: unknown;
  /** Its type name ('' for an event written without {@link WriteRequest.eventMeta}). */
  readonly type: string;
  /** The schema version its payload was written with. */
  readonly schemaVersion: number;
}

/** What an activation reads of its key: the latest snapshot and the unprocessed inbox. */
export interface ActivationLoad {
  /** As {@link EntityStore.load} answers. */
  readonly state: StoredState;
  /** As {@link EntityStore.inbox} answers. */
  readonly inbox: InboxEntry[];
}

/** What {@link EntityStore.acquireAndLoad} answers: the lease, and when it was taken, what the key holds. */
export type AcquiredLoad =
  | { readonly lease: LeaseResult & { readonly acquired: true }; readonly load: ActivationLoad }
  | { readonly lease: LeaseResult & { readonly acquired: false } };

/**
 * Encodes values for storage (states, events, inbox messages, reminder payloads). The default is
 * `structuredCodec` (contract/structured_codec.ts): a value comes back exactly as written, or is refused when written.
 */
export interface StoreCodec {
  /**
   * A value as text. Throw for a value it cannot encode: the write is refused and nothing is
   * written (ERR_ENTITY_UNSTORABLE passes through as thrown; any other error becomes
   * ERR_ENTITY_STORE_CODEC). `root` names the value in such an error: `state`, `events[0]`,
   * `message`, `payload` (when a store calls it).
   */
  encode(value: unknown, root?: string): string;
  /** The value `encode` made `text` from. */
  decode(text: string): unknown;
}

/**
 * The JSON codec (the default before `structuredCodec`; choose it with a store's `codec`
 * option): what `JSON.stringify` keeps survives, the rest silently changes (a Map or a Set
 * becomes `{}`, a Date a string, a property holding undefined or a function disappears) or fails
 * with ERR_ENTITY_STORE_CODEC (a bigint).
 */
export const jsonCodec: StoreCodec = Object.freeze({
  encode: (value: unknown): string => JSON.stringify(value === undefined ? null : value),
  decode: (text: string): unknown => JSON.parse(text) as unknown,
});

/**
 * A durable store for entities. Every method returns a Promise that is safe to leave un-awaited
 * (already marked handled); after {@link close} every method rejects with ERR_ENTITY_STORE_CLOSED.
 */
export interface EntityStore extends JournalStore {
  /** A short name for logs (`sqlite:/path/file.db`). */
  readonly name: string;
  /**
   * Takes the key's lease if it is free, expired, already this owner's, or held by the owner the
   * request's `takeOverFrom` declares dead: the token becomes the previous token + 1 (1 for a new
   * key), so every earlier activation's writes become stale.
   */
  acquire(request: LeaseRequest): Promise<LeaseResult>;
  /**
   * Extends the leases `owner` holds with the given tokens by `ttlMs`; resolves with the keys whose
   * token is no longer current (taken over: their activations must end).
   */
  renew(kind: string, owner: string, tokens: ReadonlyMap<string, number>, ttlMs: number): Promise<string[]>;
  /** Ends the lease if `token` is still current (the next activation need not wait for expiry). */
  release(id: EntityId, token: number): Promise<void>;
  /** The key's latest snapshot and version (`{ state: undefined, version: 0 }` for a new key). */
  load(id: EntityId): Promise<StoredState>;
  /** The events after version `after`, oldest first (event-sourced mode). */
  events(id: EntityId, after: number): Promise<StoredEvent[]>;
  /**
   * The conditional write. Rejects with ERR_ENTITY_STALE_TOKEN (another activation holds a newer
   * token) or ERR_ENTITY_VERSION_CONFLICT, and then nothing was written. Resolves with the new version.
   */
  write(request: WriteRequest): Promise<number>;
  /**
   * Accepts a message into the key's inbox before it is acknowledged: 'accepted' when stored now,
   * 'duplicate' when a message with this id is already in the inbox or was processed.
   */
  enqueue(id: EntityId, messageId: string, message: unknown): Promise<'accepted' | 'duplicate'>;
  /** The key's unprocessed inbox messages in the order they were accepted. */
  inbox(id: EntityId): Promise<InboxEntry[]>;
  /** Whether a message with this id was processed for the key. */
  processed(id: EntityId, messageId: string): Promise<boolean>;
  /** The current lease of a key (for inspection and tests): undefined when none was ever taken. */
  lease(id: EntityId): Promise<{ token: number; owner: string; expiresAt: number } | undefined>;
  /**
   * Closes the store (idempotent): waits for its work under way, unless `options` bound the wait
   * (`timeout`, `signal`): then what is still open is cut (connections destroyed) and the close
   * resolves. Rejects with ERR_ENTITY_INCORRECT for bad options. A store that cannot cut resolves
   * at its graceful close: bound it yourself (`stopMember` does).
   */
  close(options?: StoreCloseOptions): Promise<void>;
  /**
   * Optional fast path of an activation with a key lease: {@link acquire}, then — only when the
   * lease was taken — {@link load} and {@link inbox} read after the lease is ours (a write the
   * previous holder committed before is seen), in one store operation (PostgreSQL: one round trip
   * and one commit). Same rules and errors as those three. The runtime calls them one by one on a
   * store without it.
   */
  acquireAndLoad?(request: LeaseRequest): Promise<AcquiredLoad>;
  /**
   * Optional (the three stores of this package have it): a best-effort signal between the members
   * sharing this store (contract/wakes.ts): a workflow queue's freed slot wakes the members waiting
   * for one instead of their next poll.
   */
  readonly wakes?: StoreWakes;
  /** Optional: {@link load} and {@link inbox} of one key in one operation (one round trip). */
  loadActivation?(id: EntityId): Promise<ActivationLoad>;
  /**
   * Optional (the three stores of this package have it): the keys that have unprocessed inbox
   * messages, the key whose oldest one was accepted first listed first, at most `limit` (an integer
   * in 1..2^31-1; ERR_ENTITY_INCORRECT otherwise). The runtime's inbox sweeper reads it to activate
   * keys no call touches (runtime/inbox_sweeper.ts); without it, a key's inbox is read only when
   * something activates the key.
   */
  pendingInbox?(limit: number): Promise<PendingInbox[]>;
  /**
   * Optional (the three stores of this package have it): the keys of `kind` that have a stored
   * state, with it, in ascending key order (byte order of the UTF-8 key), those after `after`
   * (exclusive; omit it for the first page), at most `limit` (an integer in 1..10 000;
   * ERR_ENTITY_INCORRECT otherwise). A page shorter than `limit` is the last. Operator tools read
   * it (`entities.workflows.list`); nothing on an entity's path calls it.
   */
  listStates?(kind: string, page: StatesPage): Promise<KeyState[]>;
  /**
   * Optional (the three stores of this package have it): the state index (contract/state_index.ts)
   * that writes with an `index` keep, searched by operator listings (`entities.workflows.list`).
   */
  readonly stateIndex?: StateIndex;
}

/** A page of {@link EntityStore.listStates}. */
export interface StatesPage {
  /** The last key of the previous page (exclusive); omit for the first page. */
  readonly after?: string;
  /** At most this many keys (1..{@link MAX_STATES_PAGE}). */
  readonly limit: number;
}

/** The largest page {@link EntityStore.listStates} answers. */
export const MAX_STATES_PAGE = 10_000;
