// The offsets of exactly-once projections, kept in the read model's own PostgreSQL database (a
// table of the user's choosing, created if missing): one row per projection with the offset it
// reached and the fencing token of the runner that last claimed it. A batch is applied in one
// transaction of the user's pool: the row is locked (FOR UPDATE) and checked — still this runner's
// token, still the offset the batch starts after — the user's handler runs on the same
// connection, and the new offset is written before COMMIT. So a batch is in the read model with
// its offset or not at all (a kill -9 between applying and committing rolls both back), and a
// runner that lost its lease (a newer runner claimed the row with a higher token) applies nothing:
// its check fails, or — paused inside its transaction — the server ends its session after
// `idle_in_transaction_session_timeout` (the lease's ttl) and the claim that waited on its row
// lock goes on. A new runner claims the row (its token written, in one transaction) before its
// first batch, and resumes from the row's offset.

import type { Pool, PoolClient } from 'pg';

import { ErrEntityIncorrect, ErrStaleToken } from '../contract/errors.js';

/** The default table of {@link ReadModelOffsets}. */
export const DEFAULT_OFFSETS_TABLE = 'ergo_projection_offsets';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/;

/** Checks a table name (`table` or `schema.table`, unquoted SQL identifiers); throws ERR_ENTITY_INCORRECT. */
export function checkTableName(table: unknown): string {
  if (typeof table !== 'string' || !IDENT.test(table))
    throw ErrEntityIncorrect.with(
      `offsetsTable must be a table name (letters, digits, _; optionally schema.table), got ${JSON.stringify(table)}`,
    );
  return table;
}

/** PostgreSQL's codes for "already exists" when two members create the table at once. */
const RACED_CREATE = new Set(['42P07', '23505']);

/** The offsets table of one exactly-once projection (see the top of this file). */
export class ReadModelOffsets {
  readonly #pool: Pool;
  readonly #table: string;
  readonly #name: string;
  readonly #idleMs: number;
  #created = false;

  /** `idleMs`: the longest a batch's transaction may sit idle (the lease's ttl). */
  constructor(pool: Pool, table: string, name: string, idleMs: number) {
    this.#pool = pool;
    this.#table = table;
    this.#name = name;
    this.#idleMs = idleMs;
  }

  /** Creates the table if it is missing (once per runner). */
  async #ensureTable(): Promise<void> {
    if (this.#created) return;
    try {
      await this.#pool.query(
        `CREATE TABLE IF NOT EXISTS ${this.#table} (
           name TEXT PRIMARY KEY,
           position BIGINT NOT NULL,
           token BIGINT NOT NULL,
           updated_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
      );
    } catch (err) {
      if (!RACED_CREATE.has((err as { code?: string }).code ?? '')) throw err;
    }
    this.#created = true;
  }

  /**
   * Claims the row for the runner holding `token`: writes the token (every older runner's batch
   * is refused from now on) and resolves with the offset to resume after. Rejects with
   * ERR_ENTITY_STALE_TOKEN when a runner with a newer token claimed it already.
   */
  async claim(token: number): Promise<number> {
    await this.#ensureTable();
    return this.#transaction(async (tx) => {
      await tx.query(`INSERT INTO ${this.#table} (name, position, token) VALUES ($1, 0, 0) ON CONFLICT DO NOTHING`, [
        this.#name,
      ]);
      const row = await this.#lock(tx);
      if (row.token > token)
        throw ErrStaleToken.with(`projection ${this.#name}: claimed by token ${row.token}, this runner has ${token}`);
      await tx.query(`UPDATE ${this.#table} SET token = $2, updated_at = now() WHERE name = $1`, [this.#name, token]);
      return row.position;
    });
  }

  /**
   * Applies one batch: `handle(tx)` runs inside a transaction that also moves the row's offset
   * from `from` to `to`, committed together. Rejects with ERR_ENTITY_STALE_TOKEN (nothing applied)
   * when the row is no longer this runner's token or offset, or with the handler's or the
   * database's error (rolled back: nothing applied).
   */
  apply(token: number, from: number, to: number, handle: (tx: PoolClient) => Promise<unknown>): Promise<void> {
    return this.#transaction(async (tx) => {
      const row = await this.#lock(tx);
      if (row.token !== token || row.position !== from)
        throw ErrStaleToken.with(
          `projection ${this.#name}: the read model's row is at token ${row.token} offset ${row.position}, ` +
            `this runner has token ${token} offset ${from}`,
        );
      await handle(tx);
      await tx.query(`UPDATE ${this.#table} SET position = $2, updated_at = now() WHERE name = $1`, [this.#name, to]);
    });
  }

  /** Locks the projection's row for the transaction and reads it. */
  async #lock(tx: PoolClient): Promise<{ position: number; token: number }> {
    const r = await tx.query<{ position: string; token: string }>(
      `SELECT position, token FROM ${this.#table} WHERE name = $1 FOR UPDATE`,
      [this.#name],
    );
    const row = r.rows[0];
    if (row === undefined) throw ErrStaleToken.with(`projection ${this.#name}: its row in ${this.#table} is gone`);
    return { position: Number(row.position), token: Number(row.token) };
  }

  /** Runs `body` in a transaction on a connection of the pool; a failed one is rolled back and its connection discarded. */
  async #transaction<T>(body: (tx: PoolClient) => Promise<T>): Promise<T> {
    const tx = await this.#pool.connect();
    // A checked-out client whose session the server ends between statements (the idle timeout
    // below) emits 'error'; unheard, it would crash the process. The next statement fails instead.
    const heard = (): void => undefined;
    tx.on('error', heard);
    try {
      await tx.query('BEGIN');
      // A runner paused inside its transaction must not hold the row (and its read-model locks) for
      // good: the server ends its session once it idles this long, which rolls the batch back.
      await tx.query(`SET LOCAL idle_in_transaction_session_timeout = ${Math.max(1, Math.round(this.#idleMs))}`);
      const result = await body(tx);
      await tx.query('COMMIT');
      tx.removeListener('error', heard);
      tx.release();
      return result;
    } catch (err) {
      // The connection may be broken or mid-statement: it is discarded rather than reused.
      await tx.query('ROLLBACK').catch(() => undefined);
      tx.release(true); // still heard: a discarded client may report its end late
      throw err;
    }
  }
}
