// PostgreSQL wakes (contract/wakes.ts) with LISTEN/NOTIFY: every member listening on the store's
// channel (`<prefix>wake`) hears every other's wake, on any host. A member listens on a connection
// of its own, checked out of the store's pool when its first listener comes (so a store nobody
// listens on holds none) and kept for as long as any listener is; a session the server ends is
// dialled again after a pause (what was woken meanwhile is lost: the listeners poll too). A wake
// is one `pg_notify` on the pool, not awaited: it fails silently when the server is away.

import type pg from 'pg';

import type { StoreWakes } from '../contract/wakes.js';

/** The pause before listening again after the listening session failed, in ms. */
const RELISTEN_MS = 500;
/** A topic longer than this is not sent (NOTIFY's payload is bounded by 8000 bytes). */
const MAX_TOPIC = 1000;

/** The wakes of one PostgreSQL store (see the top of this file). */
export class PostgresWakes implements StoreWakes {
  readonly #pool: pg.Pool;
  readonly #channel: string;
  readonly #listeners = new Set<(topic: string) => void>();
  /** The listening session's end (released once, however it ends). */
  #client: (() => void) | undefined;
  #connecting = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(pool: pg.Pool, prefix: string) {
    this.#pool = pool;
    this.#channel = `${prefix}wake`;
  }

  wake(topic: string): void {
    if (this.#closed || topic.length > MAX_TOPIC) return;
    this.#pool.query('SELECT pg_notify($1, $2)', [this.#channel, topic]).catch(() => undefined);
  }

  listen(fn: (topic: string) => void): () => void {
    const own = (topic: string): void => fn(topic);
    this.#listeners.add(own);
    this.#connect();
    return () => {
      this.#listeners.delete(own);
      if (this.#listeners.size === 0) this.#drop();
    };
  }

  /** Ends the listening session (the store closes): the pool's end would wait for it. */
  close(): void {
    this.#closed = true;
    this.#listeners.clear();
    this.#drop();
  }

  #connect(): void {
    if (this.#client !== undefined || this.#connecting || this.#closed || this.#retry !== undefined) return;
    this.#connecting = true;
    void this.#listenOn().finally(() => (this.#connecting = false));
  }

  async #listenOn(): Promise<void> {
    let c: pg.PoolClient | undefined;
    let gone = false;
    try {
      c = await this.#pool.connect();
      const client = c;
      // Released as broken: the session (and its LISTEN) ends rather than going back to the pool.
      const end = (): void => {
        if (gone) return;
        gone = true;
        if (this.#client === end) this.#client = undefined;
        client.release(true);
      };
      const onGone = (): void => {
        if (gone) return;
        end();
        this.#later();
      };
      // A session the server ends is an 'error' of the client (without a listener: a process exit).
      c.on('error', onGone);
      c.on('end', onGone);
      c.on('notification', (n) => {
        if (n.channel !== this.#channel || n.payload === undefined) return;
        for (const fn of [...this.#listeners]) {
          try {
            fn(n.payload);
          } catch {
            // A listener's failure is its own: the others are still told.
          }
        }
      });
      await c.query(`LISTEN ${this.#channel}`);
      if (gone) return;
      if (this.#closed || this.#listeners.size === 0) return end();
      this.#client = end;
      c = undefined;
    } catch {
      if (c !== undefined && !gone) {
        gone = true;
        c.release(true);
      }
      this.#later();
    }
  }

  #later(): void {
    if (this.#closed || this.#listeners.size === 0 || this.#retry !== undefined) return;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#connect();
    }, RELISTEN_MS);
    this.#retry.unref?.();
  }

  #drop(): void {
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
    const end = this.#client;
    this.#client = undefined;
    end?.();
  }
}
