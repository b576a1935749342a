// The dead letters of the PostgreSQL store (contract/dead_letters.ts has the rules): the inbox's
// `attempts` column counts each message's failed attempts, `<prefix>dead_letters` keeps the
// messages moved out of their inbox, and the schema's `inbox_failed` function counts and moves in
// one round trip under the key's lock (the one writes and enqueues take), its token checked as
// write_key checks it. PostgresStore creates them in `open` and delegates its DeadLetterStore
// methods here.

import type pg from 'pg';

import { ErrStaleToken } from '../contract/errors.js';
import {
  checkDeadLetterId,
  checkDeadLetterQuery,
  checkInboxFailure,
  type DeadLetter,
  type DeadLetterQuery,
  type InboxFailure,
  type InboxFailureResult,
} from '../contract/dead_letters.js';
import type { EntityId, InboxEntry } from '../contract/store.js';
import type { Values } from './sql_store.js';

/**
 * The dead-letter table and the `inbox_failed` function of a store whose table names start with
 * `p`, and the inbox's count (added by {@link addAttemptsColumn} to an inbox an earlier version
 * made). `now`: the database clock's expression in epoch ms.
 */
export function postgresDeadLetterSchema(p: string, now: string): string {
  return `
CREATE TABLE IF NOT EXISTS ${p}dead_letters (
  seq BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL, id TEXT NOT NULL,
  message TEXT NOT NULL, attempts INT NOT NULL, error TEXT NOT NULL, accepted_at BIGINT NOT NULL,
  dead_at BIGINT NOT NULL, UNIQUE (kind, key, id));
CREATE OR REPLACE FUNCTION ${p}inbox_failed(k TEXT, ky TEXT, fk TEXT, fky TEXT, tok BIGINT, mid TEXT, err TEXT,
  max_attempts INT, OUT o_attempts INT, OUT o_dead BOOLEAN)
LANGUAGE plpgsql AS $fn$
DECLARE
  cur BIGINT; msg TEXT; acc BIGINT;
BEGIN
  -- The key's lock (as write_key and enqueue take it), then the fencing lease's token.
  PERFORM pg_advisory_xact_lock(hashtextextended(k || '/' || ky, 0));
  SELECT l.token INTO cur FROM ${p}leases l WHERE l.kind = fk AND l.key = fky FOR SHARE;
  IF COALESCE(cur, 0) <> tok THEN
    RAISE EXCEPTION USING ERRCODE = 'EE001', MESSAGE = format('token %s, current %s', tok, COALESCE(cur, 0));
  END IF;
  o_dead := FALSE;
  UPDATE ${p}inbox SET attempts = attempts + 1 WHERE kind = k AND key = ky AND id = mid
    RETURNING attempts, message, accepted_at INTO o_attempts, msg, acc;
  IF NOT FOUND THEN o_attempts := 0; RETURN; END IF;
  IF o_attempts < max_attempts THEN RETURN; END IF;
  INSERT INTO ${p}dead_letters (kind, key, id, message, attempts, error, accepted_at, dead_at)
    VALUES (k, ky, mid, msg, o_attempts, err, acc, ${now});
  DELETE FROM ${p}inbox WHERE kind = k AND key = ky AND id = mid;
  o_dead := TRUE;
END $fn$;`;
}

/** The inbox's failure count, added to an inbox an earlier version made (0 for its messages). */
export function addAttemptsColumn(p: string): string {
  return `ALTER TABLE ${p}inbox ADD COLUMN IF NOT EXISTS attempts INT NOT NULL DEFAULT 0`;
}

/** What the PostgreSQL store lends: its pool, codec and table prefix. */
export interface PostgresDeadLetterHost {
  readonly pool: pg.Pool;
  readonly values: Values;
  readonly prefix: string;
}

interface DeadRow {
  kind: string;
  key: string;
  id: string;
  message: string;
  attempts: number;
  error: string;
  accepted_at: string;
  dead_at: string;
}

/** The dead-letter operations on one PostgreSQL database. */
export class PostgresDeadLetters {
  readonly #h: PostgresDeadLetterHost;

  constructor(host: PostgresDeadLetterHost) {
    this.#h = host;
  }

  async inboxFailed(f: InboxFailure): Promise<InboxFailureResult> {
    const error = checkInboxFailure(f);
    const fence = f.lease ?? { kind: f.kind, key: f.key };
    const p = this.#h.prefix;
    try {
      const r = await this.#h.pool.query<{ o_attempts: number; o_dead: boolean }>(
        `SELECT * FROM ${p}inbox_failed($1, $2, $3, $4, $5, $6, $7, $8)`,
        [f.kind, f.key, fence.kind, fence.key, f.token, f.messageId, error, f.maxAttempts],
      );
      const row = r.rows[0]!;
      return { attempts: Number(row.o_attempts), deadLettered: row.o_dead };
    } catch (e) {
      if ((e as { code?: unknown }).code === 'EE001')
        throw ErrStaleToken.with(`${f.kind}/${f.key}: ${(e as Error).message}`);
      throw e;
    }
  }

  async deadLetters(q: DeadLetterQuery): Promise<DeadLetter[]> {
    checkDeadLetterQuery(q);
    const r = await this.#h.pool.query<DeadRow>(
      `SELECT kind, key, id, message, attempts, error, accepted_at, dead_at FROM ${this.#h.prefix}dead_letters
       WHERE ($1::text IS NULL OR kind = $1::text) ORDER BY seq LIMIT $2`,
      [q.kind ?? null, q.limit],
    );
    return r.rows.map((x) => ({
      kind: x.kind,
      key: x.key,
      id: x.id,
      message: this.#h.values.decode(x.message),
      attempts: Number(x.attempts),
      error: x.error,
      acceptedAt: Number(x.accepted_at),
      deadAt: Number(x.dead_at),
    }));
  }

  async retryDeadLetter(id: EntityId, messageId: string): Promise<InboxEntry | undefined> {
    checkDeadLetterId(id, messageId);
    const p = this.#h.prefix;
    // One statement: the row leaves the dead letters and enters the inbox (its end: a new seq).
    const r = await this.#h.pool.query<{ message: string }>(
      `WITH d AS (DELETE FROM ${p}dead_letters WHERE kind = $1 AND key = $2 AND id = $3 RETURNING kind, key, id, message),
         i AS (INSERT INTO ${p}inbox (kind, key, id, message) SELECT kind, key, id, message FROM d ON CONFLICT DO NOTHING)
       SELECT message FROM d`,
      [id.kind, id.key, messageId],
    );
    const row = r.rows[0];
    return row === undefined ? undefined : { id: messageId, message: this.#h.values.decode(row.message) };
  }

  async dropDeadLetter(id: EntityId, messageId: string): Promise<boolean> {
    checkDeadLetterId(id, messageId);
    const p = this.#h.prefix;
    // Processed as of the key's version now: a later send of the id is a duplicate.
    const r = await this.#h.pool.query<{ n: number }>(
      `WITH d AS (DELETE FROM ${p}dead_letters WHERE kind = $1 AND key = $2 AND id = $3 RETURNING kind, key, id),
         i AS (INSERT INTO ${p}processed (kind, key, id, version)
           SELECT kind, key, id, COALESCE((SELECT version FROM ${p}state s WHERE s.kind = $1 AND s.key = $2), 0) FROM d
           ON CONFLICT DO NOTHING)
       SELECT count(*)::int AS n FROM d`,
      [id.kind, id.key, messageId],
    );
    return r.rows[0]!.n > 0;
  }
}
