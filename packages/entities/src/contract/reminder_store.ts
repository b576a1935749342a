// What a store keeps for durable reminders (kinds/reminders.ts, runtime/reminder_scheduler.ts): one row per
// (kind, key, name) with the next time it is due, its period (a fixed interval or a cron spec),
// its payload, the shard of its key (so each member reads only the reminders of the shards it
// owns) and a generation that changes on every `putReminders` of the name (a fire is named by
// name, generation and due time: its id de-duplicates it in the entity's inbox). Both SQL stores
// implement it (SqliteStore, PostgresStore); an index on the due time serves the scheduler's reads.
//
// Rules every implementation keeps (the conformance suite checks them):
// - putReminders and cancelReminder are fenced as state writes are: accepted only with the key's
//   current token (or its shard lease's), checked in the write's transaction; refused with
//   ERR_ENTITY_STALE_TOKEN and nothing written otherwise;
// - a state write may carry reminder changes (`WriteRequest.reminders`: a durable state machine's
//   timeouts): applied in that write's transaction after its token and version checks, so a
//   refused write changes no reminder, and an accepted one changes them all;
// - dueReminders reads only rows due at or before `until`, oldest first, at most `limit`;
// - advanceReminder changes a row only while its generation and due time are the ones read (a
//   reminder put again or cancelled meanwhile is left as the entity left it).

import { ErrEntityIncorrect } from './errors.js';
import { checkId, type EntityId } from './ids.js';
import type { StandardSchemaV1 } from 'ergo-ts';

/** Longest reminder name, in UTF-8 bytes. */
export const MAX_REMINDER_NAME_BYTES = 200;

/** Most reminders one {@link ReminderStore.putReminders} call takes. */
export const MAX_REMINDER_BATCH = 10_000;

/** Which lease fences a reminder write: the activation's token, and the shard lease it was taken on (if not the key's own). */
export interface ReminderFence {
  /** The writer's fencing token. */
  readonly token: number;
  /** The lease `token` was taken on when it is not the key's own (the runtime's `leaseScope: 'shard'`). */
  readonly lease?: EntityId;
}

/** A reminder as the runtime writes it (its schedule already turned into a due time). */
export interface NewReminder {
  /** Unique per key: putting a name again replaces that reminder. */
  readonly name: string;
  /** The shard of the key (the same shard count on every member). */
  readonly shard: number;
  /** When it is due next, epoch ms. */
  readonly dueAt: number;
  /** Its period in ms for an interval reminder (0 or absent: none). */
  readonly everyMs?: number;
  /** Its cron spec for a cron reminder (absent: none). */
  readonly cron?: string;
  /** The cron spec's time zone (absent: the local zone of the member computing the next run). */
  readonly location?: string;
  /** The payload handed to the entity at each fire (encoded by the store's codec). */
  readonly payload: unknown;
}

/** A stored reminder. */
export interface StoredReminder extends EntityId, NewReminder {
  /** Changes on every put of the name: a fire's id names it, so a reminder put again fires anew. */
  readonly gen: number;
}

/**
 * Reminder changes written with a state write (`WriteRequest.reminders`), in its transaction
 * and under its fencing token: a durable state machine's timeouts (armed, cancelled, armed again)
 * change with the record that names them, or not at all. A name appears at most once in both lists.
 */
export interface ReminderChanges {
  /** Reminders to insert or replace (each gets a new generation, as {@link ReminderStore.putReminders}). */
  readonly put?: readonly NewReminder[];
  /** Names of reminders to remove (a name with no reminder is no error). */
  readonly cancel?: readonly string[];
}

/**
 * The durable-reminder operations of a store. Every Promise is safe to leave un-awaited.
 *
 * A store that implements it also applies `WriteRequest.reminders` in its `write`: the
 * changes in the write's own transaction, after the write's token and version checks (so a
 * refused write changes no reminder).
 */
export interface ReminderStore {
  /**
   * Inserts or replaces reminders of one key (each name gets a new generation), fenced by the
   * key's current token. Rejects with ERR_ENTITY_STALE_TOKEN (nothing written) or ERR_ENTITY_INCORRECT.
   */
  putReminders(id: EntityId, fence: ReminderFence, reminders: readonly NewReminder[]): Promise<void>;
  /** Removes a reminder of one key, fenced as {@link putReminders}; resolves true when it existed. */
  cancelReminder(id: EntityId, fence: ReminderFence, name: string): Promise<boolean>;
  /** The reminders of `shards` due at or before `until`, oldest first, at most `limit`. */
  dueReminders(shards: readonly number[], until: number, limit: number): Promise<StoredReminder[]>;
  /** The earliest due time after `after` among the reminders of `shards` (undefined: none). */
  nextReminderDue(shards: readonly number[], after: number): Promise<number | undefined>;
  /**
   * After a fire: moves the reminder to `nextDueAt` (a periodic one) or removes it (undefined),
   * only while its generation and due time are still `r`'s. Resolves true when it changed it.
   */
  advanceReminder(
    r: Pick<StoredReminder, 'kind' | 'key' | 'name' | 'gen' | 'dueAt'>,
    nextDueAt: number | undefined,
  ): Promise<boolean>;
  /** The reminders of one key, by name (inspection, tests). */
  reminders(id: EntityId): Promise<StoredReminder[]>;
  /** How many reminders the store holds, every kind and shard. */
  reminderCount(): Promise<number>;
}

/** True when `store` implements {@link ReminderStore}. */
export function isReminderStore(store: object): store is ReminderStore {
  const s = store as Partial<ReminderStore>;
  return (
    typeof s.putReminders === 'function' &&
    typeof s.cancelReminder === 'function' &&
    typeof s.dueReminders === 'function' &&
    typeof s.nextReminderDue === 'function' &&
    typeof s.advanceReminder === 'function' &&
    typeof s.reminders === 'function' &&
    typeof s.reminderCount === 'function'
  );
}

/** Throws ERR_ENTITY_INCORRECT unless `name` is a string of 1..{@link MAX_REMINDER_NAME_BYTES} UTF-8 bytes. */
export function checkReminderName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name === '' || Buffer.byteLength(name, 'utf8') > MAX_REMINDER_NAME_BYTES)
    throw ErrEntityIncorrect.with(
      `a reminder name must be a string of 1..${MAX_REMINDER_NAME_BYTES} UTF-8 bytes, got ${typeof name === 'string' ? `${Buffer.byteLength(name, 'utf8')} bytes` : typeof name}`,
    );
}

function checkFence(fence: ReminderFence): void {
  if (typeof fence !== 'object' || fence === null || !Number.isSafeInteger(fence.token) || fence.token < 1)
    throw ErrEntityIncorrect.with('a reminder write needs the fencing token of its activation');
  if (fence.lease !== undefined) checkId(fence.lease);
}

/** The checks of {@link ReminderStore.putReminders}' arguments (before any write). */
export function checkPut(id: EntityId, fence: ReminderFence, reminders: readonly NewReminder[]): void {
  checkId(id);
  checkFence(fence);
  if (!Array.isArray(reminders) || reminders.length > MAX_REMINDER_BATCH)
    throw ErrEntityIncorrect.with(`putReminders takes an array of at most ${MAX_REMINDER_BATCH} reminders`);
  checkReminderRows(reminders);
}

/** The checks of reminders to put: name, shard, due time and period. */
function checkReminderRows(reminders: readonly NewReminder[]): void {
  for (const r of reminders) {
    if (typeof r !== 'object' || r === null) throw ErrEntityIncorrect.with('a reminder must be an object');
    checkReminderName(r.name);
    if (!Number.isSafeInteger(r.shard) || r.shard < 0) throw ErrEntityIncorrect.with(`reminder ${r.name}: bad shard`);
    if (!Number.isSafeInteger(r.dueAt) || r.dueAt < 0)
      throw ErrEntityIncorrect.with(`reminder ${r.name}: dueAt must be an integer epoch ms`);
    if (r.everyMs !== undefined && (!Number.isSafeInteger(r.everyMs) || r.everyMs < 0))
      throw ErrEntityIncorrect.with(`reminder ${r.name}: everyMs must be a non-negative integer`);
  }
}

/**
 * The checks of `WriteRequest.reminders` (before any write): the puts as {@link checkPut}'s,
 * the cancelled names, each name once, at most {@link MAX_REMINDER_BATCH} changes.
 */
export function checkReminderChanges(changes: ReminderChanges): void {
  if (typeof changes !== 'object' || changes === null)
    throw ErrEntityIncorrect.with('a write’s reminders must be an object { put?, cancel? }');
  const put = changes.put ?? [];
  const cancel = changes.cancel ?? [];
  if (!Array.isArray(put) || !Array.isArray(cancel) || put.length + cancel.length > MAX_REMINDER_BATCH)
    throw ErrEntityIncorrect.with(`a write’s reminders are arrays of at most ${MAX_REMINDER_BATCH} changes in all`);
  checkReminderRows(put);
  const names = new Set<string>(put.map((r) => r.name));
  for (const name of cancel) {
    checkReminderName(name);
    names.add(name);
  }
  if (names.size !== put.length + cancel.length)
    throw ErrEntityIncorrect.with('a write’s reminders name each reminder once (put or cancel)');
}

/** The checks of {@link ReminderStore.cancelReminder}'s arguments. */
export function checkCancel(id: EntityId, fence: ReminderFence, name: string): void {
  checkId(id);
  checkFence(fence);
  checkReminderName(name);
}

/** The checks of the scheduler's reads. */
export function checkShards(shards: readonly number[], limit?: number): void {
  if (!Array.isArray(shards) || shards.some((s) => !Number.isSafeInteger(s) || s < 0))
    throw ErrEntityIncorrect.with('shards must be an array of non-negative integers');
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1))
    throw ErrEntityIncorrect.with(`a limit must be a positive integer, got ${String(limit)}`);
}

/** A fresh generation for a put (random: a name put again never repeats an earlier fire's id). */
export function newGeneration(): number {
  return Math.floor(Math.random() * 2 ** 47) + 1;
}

/** Throws ERR_ENTITY_INCORRECT unless `reminders` is an object of Standard Schemas with valid type names. */
export function checkReminderSchemas(kind: string, reminders: unknown): void {
  if (reminders === undefined) return;
  if (typeof reminders !== 'object' || reminders === null)
    throw ErrEntityIncorrect.with(`kind ${kind}: reminders must be an object of schemas`);
  for (const [type, s] of Object.entries(reminders)) {
    if (type === '' || type.includes('/'))
      throw ErrEntityIncorrect.with(
        `kind ${kind}: reminder type ${JSON.stringify(type)} must be non-empty without '/'`,
      );
    if (typeof (s as Partial<StandardSchemaV1> | undefined)?.['~standard']?.validate !== 'function')
      throw ErrEntityIncorrect.with(`kind ${kind}: reminder ${type} needs a schema (a Standard Schema)`);
  }
}
