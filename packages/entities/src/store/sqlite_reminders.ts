// The durable-reminder tables of the SQLite store (contract/reminder_store.ts has the rules): one row per
// (kind, key, name), an index on the due time for the schedulers' reads. SqliteStore creates the
// table in `open` and delegates its ReminderStore methods here, inside its own transactions.

import { ErrStaleToken } from '../contract/errors.js';
import { reminderRoot, type PreparedReminders, type Values } from './sql_store.js';
import {
  newGeneration,
  type NewReminder,
  type ReminderFence,
  type StoredReminder,
} from '../contract/reminder_store.js';
import type { EntityId } from '../contract/store.js';

/** The reminders table and its due-time index (run by `SqliteStore.open`). */
export const SQLITE_REMINDER_SCHEMA = `
CREATE TABLE IF NOT EXISTS entity_reminders (
  kind TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL, shard INTEGER NOT NULL,
  due_at INTEGER NOT NULL, every_ms INTEGER NOT NULL, cron TEXT, location TEXT,
  payload TEXT NOT NULL, gen INTEGER NOT NULL, PRIMARY KEY (kind, key, name));
CREATE INDEX IF NOT EXISTS entity_reminders_due ON entity_reminders (due_at);
`;

type SqlValue = string | number | bigint | null | Uint8Array;
interface Statement {
  run(...params: SqlValue[]): { changes: number | bigint };
  get(...params: SqlValue[]): Record<string, SqlValue> | undefined;
  all(...params: SqlValue[]): Record<string, SqlValue>[];
}

/** What the SQLite store lends: its statements' compiler, its transaction and its codec. */
export interface SqliteReminderHost {
  prepare(sql: string): Statement;
  tx<T>(fn: () => T): T;
  readonly values: Values;
}

const COLUMNS = 'kind, key, name, shard, due_at, every_ms, cron, location, payload, gen';

/** The reminder operations on one SQLite database (synchronous: SqliteStore wraps them in Promises). */
export class SqliteReminders {
  readonly #h: SqliteReminderHost;
  readonly #q: Record<string, Statement>;

  constructor(host: SqliteReminderHost) {
    this.#h = host;
    const p = (sql: string): Statement => host.prepare(sql);
    this.#q = {
      token: p('SELECT token FROM entity_leases WHERE kind = ? AND key = ?'),
      put: p(
        `INSERT INTO entity_reminders (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ` +
          'ON CONFLICT (kind, key, name) DO UPDATE SET shard = excluded.shard, due_at = excluded.due_at, ' +
          'every_ms = excluded.every_ms, cron = excluded.cron, location = excluded.location, ' +
          'payload = excluded.payload, gen = excluded.gen',
      ),
      cancel: p('DELETE FROM entity_reminders WHERE kind = ? AND key = ? AND name = ?'),
      // json_each: the owned shards as one parameter; the due-time index drives the scan.
      due: p(
        `SELECT ${COLUMNS} FROM entity_reminders WHERE due_at <= ? ` +
          'AND shard IN (SELECT value FROM json_each(?)) ORDER BY due_at LIMIT ?',
      ),
      next: p(
        'SELECT due_at FROM entity_reminders WHERE due_at > ? AND shard IN (SELECT value FROM json_each(?)) ' +
          'ORDER BY due_at LIMIT 1',
      ),
      move: p(
        'UPDATE entity_reminders SET due_at = ? WHERE kind = ? AND key = ? AND name = ? AND gen = ? AND due_at = ?',
      ),
      drop: p('DELETE FROM entity_reminders WHERE kind = ? AND key = ? AND name = ? AND gen = ? AND due_at = ?'),
      ofKey: p(`SELECT ${COLUMNS} FROM entity_reminders WHERE kind = ? AND key = ? ORDER BY name`),
      count: p('SELECT count(*) AS n FROM entity_reminders'),
    };
  }

  putReminders(id: EntityId, fence: ReminderFence, reminders: readonly NewReminder[]): void {
    const rows = reminders.map((r) => [
      r.name,
      r.shard,
      r.dueAt,
      r.everyMs ?? 0,
      r.cron ?? null,
      r.location ?? null,
      this.#h.values.encode(r.payload, reminderRoot(r.name)),
    ]);
    this.#h.tx(() => {
      this.#fence(id, fence);
      for (const r of rows) this.#q.put!.run(id.kind, id.key, ...(r as SqlValue[]), newGeneration());
    });
  }

  /**
   * A state write's reminder changes (checked and encoded by the caller), run inside that write's
   * transaction after its token and version checks: its rollback undoes them.
   */
  apply(id: EntityId, changes: PreparedReminders): void {
    for (const name of changes.cancel) this.#q.cancel!.run(id.kind, id.key, name);
    for (const r of changes.put)
      this.#q.put!.run(id.kind, id.key, r.name, r.shard, r.dueAt, r.everyMs, r.cron, r.location, r.payload, r.gen);
  }

  cancelReminder(id: EntityId, fence: ReminderFence, name: string): boolean {
    return this.#h.tx(() => {
      this.#fence(id, fence);
      return Number(this.#q.cancel!.run(id.kind, id.key, name).changes) > 0;
    });
  }

  dueReminders(shards: readonly number[], until: number, limit: number): StoredReminder[] {
    if (shards.length === 0) return [];
    return this.#q.due!.all(until, JSON.stringify(shards), limit).map((r) => this.#row(r));
  }

  nextReminderDue(shards: readonly number[], after: number): number | undefined {
    if (shards.length === 0) return undefined;
    const r = this.#q.next!.get(after, JSON.stringify(shards));
    return r === undefined ? undefined : Number(r.due_at);
  }

  advanceReminder(
    r: Pick<StoredReminder, 'kind' | 'key' | 'name' | 'gen' | 'dueAt'>,
    nextDueAt: number | undefined,
  ): boolean {
    const changed =
      nextDueAt === undefined
        ? this.#q.drop!.run(r.kind, r.key, r.name, r.gen, r.dueAt)
        : this.#q.move!.run(nextDueAt, r.kind, r.key, r.name, r.gen, r.dueAt);
    return Number(changed.changes) > 0;
  }

  reminders(id: EntityId): StoredReminder[] {
    return this.#q.ofKey!.all(id.kind, id.key).map((r) => this.#row(r));
  }

  reminderCount(): number {
    return Number(this.#q.count!.get()!.n);
  }

  /** Throws ERR_ENTITY_STALE_TOKEN unless the fence's token is its lease's current one (inside the transaction). */
  #fence(id: EntityId, fence: ReminderFence): void {
    const lease = fence.lease ?? id;
    const row = this.#q.token!.get(lease.kind, lease.key);
    const current = row === undefined ? 0 : Number(row.token);
    if (current !== fence.token)
      throw ErrStaleToken.with(`${id.kind}/${id.key}: reminder write with token ${fence.token}, current ${current}`);
  }

  #row(r: Record<string, SqlValue>): StoredReminder {
    const everyMs = Number(r.every_ms);
    return {
      kind: String(r.kind),
      key: String(r.key),
      name: String(r.name),
      shard: Number(r.shard),
      dueAt: Number(r.due_at),
      ...(everyMs > 0 ? { everyMs } : {}),
      ...(r.cron === null ? {} : { cron: String(r.cron) }),
      ...(r.location === null ? {} : { location: String(r.location) }),
      payload: this.#h.values.decode(String(r.payload)),
      gen: Number(r.gen),
    };
  }
}
