// PostgreSQL liveness claims (contract/liveness.ts): a claim is a session-level advisory lock held
// on a connection of the claim's own, plus a row in `<prefix>liveness` that says the owner made
// one. The server drops the lock when the session ends: at once when the claiming process dies
// (the kernel closes its socket), never while it is only paused (the socket stays open). A claim
// is read as released when its row exists and its lock can be taken (tried in a one-statement
// transaction, released at its end). The two-int4 form of the lock lives in a space of its own,
// apart from the key locks' bigint form; two owners whose hashes collide make a dead one look
// alive, which only waits its leases out.

import type pg from 'pg';

import type { LivenessClaim } from '../contract/liveness.js';
import { NOW } from './postgres_setup.js';

/** Rows of owners whose claims are gone are removed by a later claim after this long, in ms. */
const STALE_CLAIM_MS = 3_600_000;

/** Liveness claims on one store's pool (see the top of this file). */
export class PostgresLiveness {
  readonly #pool: pg.Pool;
  readonly #table: string;
  /** The first int4 of the lock: the store's namespace (its table prefix). */
  readonly #space: string;
  /** The connections of the claims held: the store's close ends them (the pool's end waits for them). */
  readonly #held = new Map<pg.PoolClient, () => void>();

  constructor(pool: pg.Pool, prefix: string) {
    this.#pool = pool;
    this.#table = `${prefix}liveness`;
    this.#space = `${prefix}liveness`;
  }

  /** Takes the claim on a connection kept for it (outside the pool's count once checked out). */
  async claim(owner: string): Promise<LivenessClaim> {
    const c = await this.#pool.connect();
    let resolveLost!: () => void;
    const lost = new Promise<void>((r) => (resolveLost = r));
    let released = false;
    const onGone = (): void => {
      if (released) return;
      released = true;
      this.#held.delete(c);
      c.release(true); // the session is gone: the connection is dropped, not pooled
      resolveLost();
    };
    // A session the server ends (a restart, a cut) is reported as an 'error' of the client.
    c.on('error', onGone);
    c.on('end', onGone);
    try {
      await c.query(`SELECT pg_advisory_lock(hashtext($1), hashtext($2))`, [this.#space, owner]);
      await c.query(
        `INSERT INTO ${this.#table} (owner, claimed_at) VALUES ($1, ${NOW}) ON CONFLICT (owner) DO NOTHING`,
        [owner],
      );
    } catch (e) {
      if (!released) {
        released = true;
        c.release(true);
      }
      throw e;
    }
    this.#held.set(c, () => {
      released = true;
      c.release(true);
    });
    // Rows of owners gone for long: removed, each only when its lock is free.
    void this.#pool
      .query(
        `DELETE FROM ${this.#table} WHERE claimed_at < ${NOW} - $2
           AND pg_try_advisory_xact_lock(hashtext($1), hashtext(owner))`,
        [this.#space, STALE_CLAIM_MS],
      )
      .catch(() => undefined);
    return {
      lost,
      release: async () => {
        if (released) return;
        released = true;
        this.#held.delete(c);
        try {
          await c.query(`DELETE FROM ${this.#table} WHERE owner = $1`, [owner]);
          await c.query(`SELECT pg_advisory_unlock(hashtext($1), hashtext($2))`, [this.#space, owner]);
          c.release();
        } catch {
          c.release(true); // the session failed meanwhile: dropped, its lock with it
        }
      },
    };
  }

  /** Ends every claim's connection (the store closes: the server drops their locks). */
  closeAll(): void {
    const drops = [...this.#held.values()];
    this.#held.clear();
    for (const drop of drops) drop();
  }

  /** Whether `owner` made a claim whose lock is free now (see {@link LivenessStore.livenessReleased}). */
  async released(owner: string): Promise<boolean> {
    const r = await this.#pool.query<{ gone: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ${this.#table} WHERE owner = $2)
              AND pg_try_advisory_xact_lock(hashtext($1), hashtext($2)) AS gone`,
      [this.#space, owner],
    );
    return r.rows[0]?.gone === true;
  }
}
