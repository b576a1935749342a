// The durable-reminder table of the PostgreSQL store (contract/reminder_store.ts has the rules): one row
// per (kind, key, name), an index on the due time for the schedulers' reads. Fenced writes run in
// the store's per-key transaction (the key's advisory lock, the lease row read FOR SHARE), as
// state writes do. PostgresStore creates the table in `open` and delegates its ReminderStore
// methods here.

import type pg from 'pg';

import { ErrStaleToken } from '../contract/errors.js';
import { reminderRoot, type Values } from './sql_store.js';
import {
  newGeneration,
  type NewReminder,
  type ReminderFence,
  type StoredReminder,
} from '../contract/reminder_store.js';
import type { EntityId } from '../contract/store.js';

/** The reminders table and its due-time index, with the store's table prefix. */
export function postgresReminderSchema(p: string): string {
  return `
CREATE TABLE IF NOT EXISTS ${p}reminders (
  kind TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL, shard INTEGER NOT NULL,
  due_at BIGINT NOT NULL, every_ms BIGINT NOT NULL, cron TEXT, location TEXT,
  payload TEXT NOT NULL, gen BIGINT NOT NULL, PRIMARY KEY (kind, key, name));
CREATE INDEX IF NOT EXISTS ${p}reminders_due ON ${p}reminders (due_at);
`;
}

/** What the PostgreSQL store lends: its pool, its per-key transaction, its codec and table names. */
export interface PostgresReminderHost {
  readonly pool: pg.Pool;
  tx<T>(kind: string, key: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T>;
  readonly values: Values;
  /** The leases table. */
  readonly leases: string;
  /** The reminders table. */
  readonly reminders: string;
}

interface Row {
  kind: string;
  key: string;
  name: string;
  shard: number;
  due_at: string;
  every_ms: string;
  cron: string | null;
  location: string | null;
  payload: string;
  gen: string;
}

const COLUMNS = 'kind, key, name, shard, due_at, every_ms, cron, location, payload, gen';

/** The reminder operations on one PostgreSQL database. */
export class PostgresReminders {
  readonly #h: PostgresReminderHost;

  constructor(host: PostgresReminderHost) {
    this.#h = host;
  }

  putReminders(id: EntityId, fence: ReminderFence, reminders: readonly NewReminder[]): Promise<void> {
    const t = this.#h.reminders;
    const cols = {
      name: [] as string[],
      shard: [] as number[],
      due: [] as number[],
      every: [] as number[],
      cron: [] as (string | null)[],
      location: [] as (string | null)[],
      payload: [] as string[],
      gen: [] as number[],
    };
    for (const r of reminders) {
      cols.name.push(r.name);
      cols.shard.push(r.shard);
      cols.due.push(r.dueAt);
      cols.every.push(r.everyMs ?? 0);
      cols.cron.push(r.cron ?? null);
      cols.location.push(r.location ?? null);
      cols.payload.push(this.#h.values.encode(r.payload, reminderRoot(r.name)));
      cols.gen.push(newGeneration());
    }
    return this.#h.tx(id.kind, id.key, async (c) => {
      await this.#fence(c, id, fence);
      if (reminders.length === 0) return;
      // One statement for the whole batch (unnest of parallel arrays).
      await c.query(
        `INSERT INTO ${t} (${COLUMNS})
         SELECT $1, $2, * FROM unnest($3::text[], $4::int[], $5::bigint[], $6::bigint[], $7::text[], $8::text[],
           $9::text[], $10::bigint[])
         ON CONFLICT (kind, key, name) DO UPDATE SET shard = excluded.shard, due_at = excluded.due_at,
           every_ms = excluded.every_ms, cron = excluded.cron, location = excluded.location,
           payload = excluded.payload, gen = excluded.gen`,
        [
          id.kind,
          id.key,
          cols.name,
          cols.shard,
          cols.due,
          cols.every,
          cols.cron,
          cols.location,
          cols.payload,
          cols.gen,
        ],
      );
    });
  }

  cancelReminder(id: EntityId, fence: ReminderFence, name: string): Promise<boolean> {
    return this.#h.tx(id.kind, id.key, async (c) => {
      await this.#fence(c, id, fence);
      const r = await c.query(`DELETE FROM ${this.#h.reminders} WHERE kind = $1 AND key = $2 AND name = $3`, [
        id.kind,
        id.key,
        name,
      ]);
      return (r.rowCount ?? 0) > 0;
    });
  }

  async dueReminders(shards: readonly number[], until: number, limit: number): Promise<StoredReminder[]> {
    if (shards.length === 0) return [];
    const r = await this.#h.pool.query<Row>(
      `SELECT ${COLUMNS} FROM ${this.#h.reminders} WHERE due_at <= $1 AND shard = ANY($2::int[])
       ORDER BY due_at LIMIT $3`,
      [until, shards, limit],
    );
    return r.rows.map((x) => this.#row(x));
  }

  async nextReminderDue(shards: readonly number[], after: number): Promise<number | undefined> {
    if (shards.length === 0) return undefined;
    const r = await this.#h.pool.query<{ due_at: string }>(
      `SELECT due_at FROM ${this.#h.reminders} WHERE due_at > $1 AND shard = ANY($2::int[]) ORDER BY due_at LIMIT 1`,
      [after, shards],
    );
    return r.rows.length === 0 ? undefined : Number(r.rows[0]!.due_at);
  }

  async advanceReminder(
    r: Pick<StoredReminder, 'kind' | 'key' | 'name' | 'gen' | 'dueAt'>,
    nextDueAt: number | undefined,
  ): Promise<boolean> {
    const t = this.#h.reminders;
    const res =
      nextDueAt === undefined
        ? await this.#h.pool.query(
            `DELETE FROM ${t} WHERE kind = $1 AND key = $2 AND name = $3 AND gen = $4 AND due_at = $5`,
            [r.kind, r.key, r.name, r.gen, r.dueAt],
          )
        : await this.#h.pool.query(
            `UPDATE ${t} SET due_at = $6 WHERE kind = $1 AND key = $2 AND name = $3 AND gen = $4 AND due_at = $5`,
            [r.kind, r.key, r.name, r.gen, r.dueAt, nextDueAt],
          );
    return (res.rowCount ?? 0) > 0;
  }

  async reminders(id: EntityId): Promise<StoredReminder[]> {
    const r = await this.#h.pool.query<Row>(
      `SELECT ${COLUMNS} FROM ${this.#h.reminders} WHERE kind = $1 AND key = $2 ORDER BY name`,
      [id.kind, id.key],
    );
    return r.rows.map((x) => this.#row(x));
  }

  async reminderCount(): Promise<number> {
    const r = await this.#h.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${this.#h.reminders}`);
    return Number(r.rows[0]!.n);
  }

  /** Throws ERR_ENTITY_STALE_TOKEN unless the fence's token is its lease's current one (inside the transaction). */
  async #fence(c: pg.PoolClient, id: EntityId, fence: ReminderFence): Promise<void> {
    const lease = fence.lease ?? id;
    const r = await c.query<{ token: string }>(
      `SELECT token FROM ${this.#h.leases} WHERE kind = $1 AND key = $2 FOR SHARE`,
      [lease.kind, lease.key],
    );
    const current = r.rows.length === 0 ? 0 : Number(r.rows[0]!.token);
    if (current !== fence.token)
      throw ErrStaleToken.with(`${id.kind}/${id.key}: reminder write with token ${fence.token}, current ${current}`);
  }

  #row(r: Row): StoredReminder {
    const everyMs = Number(r.every_ms);
    return {
      kind: r.kind,
      key: r.key,
      name: r.name,
      shard: Number(r.shard),
      dueAt: Number(r.due_at),
      ...(everyMs > 0 ? { everyMs } : {}),
      ...(r.cron === null ? {} : { cron: r.cron }),
      ...(r.location === null ? {} : { location: r.location }),
      payload: this.#h.values.decode(r.payload),
      gen: Number(r.gen),
    };
  }
}
