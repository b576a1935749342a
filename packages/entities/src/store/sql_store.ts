// What the stores (sqlite.ts, postgres.ts, and memory_store.ts) share: the checks of every operation's input,
// the codec with its errors, and the write path's decisions. A store supplies only its dialect:
// how it reads the fencing lease's token and the key's state row inside its transaction, and how
// it writes the rows {@link planWrite} decided on (SQLite synchronously in `BEGIN IMMEDIATE`,
// the memory store at once). The safety rule: a write is accepted only if its token is the fencing
// lease's current one and its expected version is the stored one, both read in the write's own
// transaction. PostgreSQL applies the same rule inside the server, in its schema's `write_key`
// function (postgres.ts: one round trip per write); the store conformance tests hold both alike.

import {
  ErrEntityIncorrect,
  ErrEntityUnstorable,
  ErrStaleToken,
  ErrStoreCodec,
  ErrVersionConflict,
} from '../contract/errors.js';
import { checkId, type EntityId } from '../contract/ids.js';
import type { LeaseRequest, StoreCodec, WriteRequest } from '../contract/store.js';
import { checkEventMeta, type StoredEventMeta } from './journal_sql.js';
import { checkReminderChanges, newGeneration } from '../contract/reminder_store.js';
import { checkIndexEntry } from '../contract/state_index.js';

/** Throws ERR_ENTITY_INCORRECT unless `ttl` is an integer in 1..2^31-1 ms. */
export function checkTtl(ttl: number): void {
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 2 ** 31 - 1)
    throw ErrEntityIncorrect.with(`a lease ttl must be an integer in 1..2^31-1 ms, got ${String(ttl)}`);
}

/** The checks of {@link EntityStore.acquire}'s request. */
export function checkLeaseRequest(request: LeaseRequest): void {
  checkId(request);
  if (typeof request.owner !== 'string' || request.owner === '')
    throw ErrEntityIncorrect.with('a lease owner must be a non-empty string');
  if (request.takeOverFrom !== undefined && (typeof request.takeOverFrom !== 'string' || request.takeOverFrom === ''))
    throw ErrEntityIncorrect.with('takeOverFrom must be a non-empty owner string');
  checkTtl(request.ttlMs);
}

/** The checks of {@link EntityStore.enqueue}'s arguments. */
export function checkEnqueue(id: EntityId, messageId: string): void {
  checkId(id);
  if (typeof messageId !== 'string' || messageId === '')
    throw ErrEntityIncorrect.with('a message id must be a non-empty string');
}

/** Checks the limit of `pendingInbox` (ERR_ENTITY_INCORRECT). */
export function checkPendingLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > 2 ** 31 - 1)
    throw ErrEntityIncorrect.with(`pendingInbox limit must be an integer in 1..2^31-1, got ${String(limit)}`);
}

/** A store's codec, its failures as ERR_ENTITY_STORE_CODEC (a refusal as ERR_ENTITY_UNSTORABLE). */
export class Values {
  constructor(readonly codec: StoreCodec) {}

  /** `value` as text; `root` names it in a refusal (`state`, `events[0]`, `message`, `payload`). */
  encode(value: unknown, root: string): string {
    try {
      return this.codec.encode(value, root);
    } catch (e) {
      if (ErrEntityUnstorable.is(e)) throw e;
      throw ErrStoreCodec.with(`encode: ${(e as Error).message}`, e);
    }
  }

  decode(text: string): unknown {
    try {
      return this.codec.decode(text);
    } catch (e) {
      throw ErrStoreCodec.with(`decode: ${(e as Error).message}`, e);
    }
  }
}

/** How a reminder's payload is named in a refusal: `reminders["name"].payload`. */
export function reminderRoot(name: string): string {
  return `reminders[${JSON.stringify(name)}].payload`;
}

/** A write checked and encoded before its transaction (a value the codec refuses changes nothing). */
export interface PreparedWrite {
  readonly request: WriteRequest;
  /** The lease whose token fences the write: the request's `lease`, or the key's own. */
  readonly fence: EntityId;
  readonly events: readonly string[];
  /** What the journal records of each event (type, schema version, tags). */
  readonly meta: readonly StoredEventMeta[];
  /** The encoded new state, undefined when the write appends events only. */
  readonly snapshot: string | undefined;
  /** The reminder changes made with the write (none: undefined), payloads encoded, generations drawn. */
  readonly reminders: PreparedReminders | undefined;
}

/** A reminder row to put, as a store inserts it (its payload encoded, its new generation drawn). */
export interface ReminderRow {
  readonly name: string;
  readonly shard: number;
  readonly dueAt: number;
  /** 0: no period. */
  readonly everyMs: number;
  readonly cron: string | null;
  readonly location: string | null;
  readonly payload: string;
  readonly gen: number;
}

/** What {@link WriteRequest.reminders} asks for, checked and encoded. */
export interface PreparedReminders {
  readonly put: readonly ReminderRow[];
  readonly cancel: readonly string[];
}

/** Checks a write's request and encodes its values. */
export function prepareWrite(request: WriteRequest, values: Values): PreparedWrite {
  checkId(request);
  if (request.lease !== undefined) checkId(request.lease);
  if (request.index !== undefined) checkIndexEntry(request.index);
  let reminders: PreparedReminders | undefined;
  if (request.reminders !== undefined) {
    checkReminderChanges(request.reminders);
    reminders = {
      put: (request.reminders.put ?? []).map((r) => ({
        name: r.name,
        shard: r.shard,
        dueAt: r.dueAt,
        everyMs: r.everyMs ?? 0,
        cron: r.cron ?? null,
        location: r.location ?? null,
        payload: values.encode(r.payload, reminderRoot(r.name)),
        gen: newGeneration(),
      })),
      cancel: [...(request.reminders.cancel ?? [])],
    };
  }
  return {
    reminders,
    request,
    fence: request.lease ?? { kind: request.kind, key: request.key },
    events: (request.events ?? []).map((e, i) => values.encode(e, `events[${i}]`)),
    meta: checkEventMeta(request.events?.length ?? 0, request.eventMeta),
    snapshot: request.state === undefined ? undefined : values.encode(request.state, 'state'),
  };
}

/** The key's state row as a transaction read it. */
export interface StateRow {
  readonly version: number;
  readonly snapshot: string | null;
  readonly snapshotVersion: number;
}

/** The rows a write puts, once {@link planWrite} accepted it. */
export interface WritePlan {
  /** The key's new version (returned by `write`). */
  readonly version: number;
  /** The events to insert, each at its version. */
  readonly events: readonly ({ version: number; event: string } & StoredEventMeta)[];
  /** The state row's new snapshot (the old one kept when the write has none) and its version. */
  readonly snapshot: string | null;
  readonly snapshotVersion: number;
}

/**
 * Decides a write from what its transaction read: the fencing lease's current token (0 when it
 * has no row) and the key's state row. Throws ERR_ENTITY_STALE_TOKEN or
 * ERR_ENTITY_VERSION_CONFLICT (the transaction then rolls back).
 */
export function planWrite(w: PreparedWrite, currentToken: number, row: StateRow | undefined): WritePlan {
  const { kind, key, token, expectedVersion } = w.request;
  if (currentToken !== token) throw ErrStaleToken.with(`${kind}/${key}: token ${token}, current ${currentToken}`);
  const head = row?.version ?? 0;
  if (head !== expectedVersion)
    throw ErrVersionConflict.with(`${kind}/${key}: expected version ${expectedVersion}, stored ${head}`);
  let version = head;
  const events = w.events.map((event, i) => ({ version: ++version, event, ...w.meta[i]! }));
  // `events: []` (a snapshot, or a processed id, of an event-sourced key) keeps the version.
  if (events.length === 0 && w.request.events === undefined) version++;
  return {
    version,
    events,
    snapshot: w.snapshot ?? row?.snapshot ?? null,
    snapshotVersion: w.snapshot === undefined ? (row?.snapshotVersion ?? 0) : version,
  };
}
