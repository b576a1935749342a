// The durable reminders of the in-memory store (contract/reminder_store.ts has the rules; MemoryStore
// delegates its ReminderStore methods here). The rows live in a MemoryStoreData beside the store's
// other maps, so stores reopened on the same data share them, as SQL connections share a table.
//
// Two indexes stand in for the SQL stores' primary key and due-time index: (kind, key, name) →
// row, and per shard an array of rows sorted by due time. A due read merges the sorted arrays of
// the shards asked for and stops at `limit` or at the first row after `until`, so reading the few
// due rows among 10^5 pending costs O(shards + limit), not a scan; a put or advance finds a row's
// place by binary search (an append for the usual later-than-all due time).
//
// Nothing here reads a clock: a reminder's due time comes from the runtime that schedules it (on
// the runtime's clock), and the scheduler asks for the rows due at or before its own now.

import { ErrStaleToken } from '../contract/errors.js';
import { reminderRoot, type PreparedReminders, type Values } from './sql_store.js';
import {
  newGeneration,
  type NewReminder,
  type ReminderFence,
  type StoredReminder,
} from '../contract/reminder_store.js';
import type { EntityId } from '../contract/store.js';

/** One stored reminder row (its payload encoded by the store's codec). */
export interface MemoryReminderRow {
  readonly kind: string;
  readonly key: string;
  readonly name: string;
  readonly shard: number;
  dueAt: number;
  readonly everyMs: number;
  readonly cron: string | undefined;
  readonly location: string | undefined;
  readonly payload: string;
  readonly gen: number;
}

/** The reminder rows of one in-memory "database" (a field of MemoryStoreData). */
export class MemoryReminderData {
  /** kind → key → name → row. */
  readonly byKey = new Map<string, Map<string, Map<string, MemoryReminderRow>>>();
  /** shard → its rows sorted by due time (equal due times in insertion order). */
  readonly byShard = new Map<number, MemoryReminderRow[]>();
  /** How many rows there are. */
  count = 0;
}

/** The first index of `rows` whose due time is above `dueAt` (rows are sorted by due time). */
function upperBound(rows: readonly MemoryReminderRow[], dueAt: number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rows[mid]!.dueAt <= dueAt) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The first index of `rows` whose due time is at or above `dueAt`. */
function lowerBound(rows: readonly MemoryReminderRow[], dueAt: number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rows[mid]!.dueAt < dueAt) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The reminder operations on one MemoryReminderData (synchronous: MemoryStore wraps them in Promises). */
export class MemoryReminders {
  readonly #d: MemoryReminderData;
  readonly #values: Values;
  /** The current token of a lease (0 when none was ever taken). */
  readonly #token: (lease: EntityId) => number;

  constructor(data: MemoryReminderData, values: Values, token: (lease: EntityId) => number) {
    this.#d = data;
    this.#values = values;
    this.#token = token;
  }

  /** Inserts or replaces `reminders` of `id` (checked by the caller), fenced; all or nothing. */
  putReminders(id: EntityId, fence: ReminderFence, reminders: readonly NewReminder[]): void {
    // Encoded and fenced before any change: a refused payload or token writes nothing.
    const rows = reminders.map((r): MemoryReminderRow => ({
      kind: id.kind,
      key: id.key,
      name: r.name,
      shard: r.shard,
      dueAt: r.dueAt,
      everyMs: r.everyMs ?? 0,
      cron: r.cron,
      location: r.location,
      payload: this.#values.encode(r.payload, reminderRoot(r.name)),
      gen: newGeneration(),
    }));
    this.#fence(id, fence);
    this.#insert(id, rows);
  }

  /**
   * A state write's reminder changes (checked and encoded by the caller), applied once the write
   * was accepted: the write's token fenced them, and nothing here can fail.
   */
  apply(id: EntityId, changes: PreparedReminders): void {
    for (const name of changes.cancel) {
      const row = this.#d.byKey.get(id.kind)?.get(id.key)?.get(name);
      if (row !== undefined) this.#remove(row);
    }
    this.#insert(
      id,
      changes.put.map((r) => ({
        kind: id.kind,
        key: id.key,
        ...r,
        cron: r.cron ?? undefined,
        location: r.location ?? undefined,
      })),
    );
  }

  #insert(id: EntityId, rows: readonly MemoryReminderRow[]): void {
    if (rows.length === 0) return;
    let kind = this.#d.byKey.get(id.kind);
    if (kind === undefined) this.#d.byKey.set(id.kind, (kind = new Map()));
    let names = kind.get(id.key);
    if (names === undefined) kind.set(id.key, (names = new Map()));
    for (const row of rows) {
      const old = names.get(row.name);
      if (old !== undefined) this.#unindex(old);
      else this.#d.count++;
      names.set(row.name, row);
      this.#index(row);
    }
  }

  /** Removes the reminder `name` of `id`, fenced; true when it existed. */
  cancelReminder(id: EntityId, fence: ReminderFence, name: string): boolean {
    this.#fence(id, fence);
    const row = this.#d.byKey.get(id.kind)?.get(id.key)?.get(name);
    if (row === undefined) return false;
    this.#remove(row);
    return true;
  }

  dueReminders(shards: readonly number[], until: number, limit: number): StoredReminder[] {
    // A k-way merge of the shards' sorted arrays: each cursor moves only past rows it returns.
    const lists: MemoryReminderRow[][] = [];
    for (const s of new Set(shards)) {
      const rows = this.#d.byShard.get(s);
      if (rows !== undefined && rows.length > 0 && rows[0]!.dueAt <= until) lists.push(rows);
    }
    const at = new Array<number>(lists.length).fill(0);
    const out: StoredReminder[] = [];
    while (out.length < limit) {
      let best = -1;
      for (let i = 0; i < lists.length; i++) {
        const row = lists[i]![at[i]!];
        if (row !== undefined && row.dueAt <= until && (best < 0 || row.dueAt < lists[best]![at[best]!]!.dueAt))
          best = i;
      }
      if (best < 0) break;
      out.push(this.#stored(lists[best]![at[best]!]!));
      at[best]!++;
    }
    return out;
  }

  nextReminderDue(shards: readonly number[], after: number): number | undefined {
    let next: number | undefined;
    for (const s of new Set(shards)) {
      const rows = this.#d.byShard.get(s);
      if (rows === undefined) continue;
      const row = rows[upperBound(rows, after)];
      if (row !== undefined && (next === undefined || row.dueAt < next)) next = row.dueAt;
    }
    return next;
  }

  advanceReminder(
    r: Pick<StoredReminder, 'kind' | 'key' | 'name' | 'gen' | 'dueAt'>,
    nextDueAt: number | undefined,
  ): boolean {
    const row = this.#d.byKey.get(r.kind)?.get(r.key)?.get(r.name);
    // Put again (a new generation) or already moved (another due time) since it was read: left alone.
    if (row === undefined || row.gen !== r.gen || row.dueAt !== r.dueAt) return false;
    if (nextDueAt === undefined) {
      this.#remove(row);
      return true;
    }
    this.#unindex(row);
    row.dueAt = nextDueAt;
    this.#index(row);
    return true;
  }

  reminders(id: EntityId): StoredReminder[] {
    const names = this.#d.byKey.get(id.kind)?.get(id.key);
    if (names === undefined) return [];
    return [...names.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((r) => this.#stored(r));
  }

  reminderCount(): number {
    return this.#d.count;
  }

  /** Throws ERR_ENTITY_STALE_TOKEN unless the fence's token is its lease's current one. */
  #fence(id: EntityId, fence: ReminderFence): void {
    const current = this.#token(fence.lease ?? id);
    if (current !== fence.token)
      throw ErrStaleToken.with(`${id.kind}/${id.key}: reminder write with token ${fence.token}, current ${current}`);
  }

  #index(row: MemoryReminderRow): void {
    let rows = this.#d.byShard.get(row.shard);
    if (rows === undefined) this.#d.byShard.set(row.shard, (rows = []));
    const at = upperBound(rows, row.dueAt);
    if (at === rows.length) rows.push(row);
    else rows.splice(at, 0, row);
  }

  #unindex(row: MemoryReminderRow): void {
    const rows = this.#d.byShard.get(row.shard)!;
    for (let i = lowerBound(rows, row.dueAt); i < rows.length && rows[i]!.dueAt === row.dueAt; i++)
      if (rows[i] === row) {
        rows.splice(i, 1);
        return;
      }
  }

  #remove(row: MemoryReminderRow): void {
    this.#unindex(row);
    const kind = this.#d.byKey.get(row.kind)!;
    const names = kind.get(row.key)!;
    names.delete(row.name);
    if (names.size === 0) kind.delete(row.key);
    this.#d.count--;
  }

  #stored(r: MemoryReminderRow): StoredReminder {
    return {
      kind: r.kind,
      key: r.key,
      name: r.name,
      shard: r.shard,
      dueAt: r.dueAt,
      ...(r.everyMs > 0 ? { everyMs: r.everyMs } : {}),
      ...(r.cron === undefined ? {} : { cron: r.cron }),
      ...(r.location === undefined ? {} : { location: r.location }),
      payload: this.#values.decode(r.payload),
      gen: r.gen,
    };
  }
}
