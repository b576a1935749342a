// The options of a PostgreSQL store (`PostgresStore.open`) and their defaults. Apart from
// postgres_setup.ts, which checks them and makes the pool: what the package's declarations show of
// the store names no type of `pg`, whose types are not a dependency of the package.

import type { StoreCodec } from '../contract/store.js';

/** Options of {@link PostgresStore.open}. */
export interface PostgresStoreOptions {
  /** The most connections the store's pool opens. Default 10. */
  maxConnections?: number;
  /** How long to wait for a connection, in ms (0: no limit). Default 10 000. */
  connectTimeoutMs?: number;
  /**
   * How long the server lets one of this store's sessions sit idle inside a transaction before it
   * ends the session, in ms (PostgreSQL's `idle_in_transaction_session_timeout`; 0: no limit).
   * A member paused or cut off mid-write (GC pause, frozen VM, network cut, kill -9 whose reset
   * never arrived) would otherwise hold the key's locks, and every other member's work on that
   * key would wait for it with no end. Longer than any event-loop stall you expect. Default 5000.
   */
  idleInTransactionTimeoutMs?: number;
  /** How values are encoded (default `structuredCodec`: exact or refused; `jsonCodec` is JSON). */
  codec?: StoreCodec;
  /** Table name prefix, for several stores in one database. Default `entity_`. */
  tablePrefix?: string;
  /**
   * How long an operation whose connection was lost mid-way (its outcome unknown: it may have
   * committed) keeps trying to reach the server again to decide it, in ms (0..2^31-1;
   * store/ambiguous_commit.ts). Longer than your failover time. Default 30 000.
   */
  outcomeWindowMs?: number;
}

/** Defaults of {@link PostgresStoreOptions}. */
export const POSTGRES_STORE_DEFAULTS = Object.freeze({
  maxConnections: 10,
  connectTimeoutMs: 10_000,
  idleInTransactionTimeoutMs: 5000,
  tablePrefix: 'entity_',
  outcomeWindowMs: 30_000,
});
