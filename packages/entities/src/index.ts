// @ergo-ts/entities: durable entities for ergo-ts — actors addressed by key, at most one live
// activation per key guarded by a lease with a fencing token, state and accepted messages kept in
// a store (SQLite on node:sqlite). See docs/entities.md for what is built and what is not yet.

export * from './errors.js';
export * from './store.js';
export { SqliteStore, SQLITE_STORE_DEFAULTS, MAX_KEY_LENGTH, checkKey, type SqliteStoreOptions } from './sqlite.js';
