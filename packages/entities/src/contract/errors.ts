// The errors of @ergo-ts/entities: each a sentinel with a stable `code` (ErgoError, as the core's),
// so `assert.rejects(p, { code: 'ERR_ENTITY_STALE_TOKEN' })` and `isError(err, ErrStaleToken)`
// both work. API calls reject with fresh instances (`.with(detail)`) carrying the same code.

import { defineError } from 'ergo-ts';

/**
 * A write carried a fencing token that is no longer the key's current one: another activation
 * took the key's lease since. The write is refused and the activation that made it ends.
 */
export const ErrStaleToken = defineError('ERR_ENTITY_STALE_TOKEN', 'entity: stale fencing token');

/** The key's lease is held by another live owner; the entity runs there (see the error's detail). */
export const ErrLeaseHeld = defineError('ERR_ENTITY_LEASE_HELD', 'entity: lease held by another owner');

/** A write expected a state version that is not the stored one (two writers of one activation). */
export const ErrVersionConflict = defineError('ERR_ENTITY_VERSION_CONFLICT', 'entity: state version conflict');

/** The store was closed: every later operation rejects with this. */
export const ErrStoreClosed = defineError('ERR_ENTITY_STORE_CLOSED', 'entity: store is closed');

/**
 * The PostgreSQL store's session ended under a transaction (the server's
 * `idle_in_transaction_session_timeout` after this process was paused, a restart, a network cut):
 * the operation failed and its connection was discarded; the next operation opens a fresh one.
 * Nothing of the transaction was committed, unless the session ended during its COMMIT (then the
 * outcome is unknown: a retried write meets ERR_ENTITY_VERSION_CONFLICT if it was).
 */
export const ErrStoreSessionLost = defineError(
  'ERR_ENTITY_STORE_SESSION_LOST',
  'entity: the store session ended during the operation',
);

/**
 * The PostgreSQL store cannot be reached for now (a failover, a restart, a network cut): a
 * connection exception (SQLSTATE class 08), the server shutting down, crashed or starting (57P01,
 * 57P02, 57P03), a standby answering a write (25006), node-postgres' "Connection terminated", a
 * refused or reset socket, the pool's connect timeout. The store's one code for all of them, also
 * on another node where only the code and text of an error survive; `cause` is the driver's
 * error. Try again: the workflow client does (docs/deploy.md, "Running on highly available
 * PostgreSQL").
 */
export const ErrStoreUnavailable = defineError(
  'ERR_ENTITY_STORE_UNAVAILABLE',
  'entity: the store cannot be reached for now',
);

/**
 * The SQLite store's write lock stayed held by another OS process for longer than the store's
 * `busyTimeoutMs` (a member paused or stuck inside a transaction): the operation changed nothing.
 */
export const ErrStoreBusy = defineError('ERR_ENTITY_STORE_BUSY', 'entity: the store stayed locked by another process');

/** A stored value could not be encoded or decoded by the store's codec. */
export const ErrStoreCodec = defineError('ERR_ENTITY_STORE_CODEC', 'entity: value could not be encoded or decoded');

/**
 * A value the store's codec cannot keep exactly was given to be stored (a state, an event, a
 * durable message, a reminder's payload): a function, a symbol, an instance of a class the codec
 * does not keep, a value that contains itself. The detail names the place
 * (`state.items.get("a").when: a function`). Refused before anything was written.
 */
export const ErrEntityUnstorable = defineError('ERR_ENTITY_UNSTORABLE', 'entity: value cannot be stored exactly');

/** A bad argument or option (an empty key, a key too long, a ttl out of range, an unknown kind). */
export const ErrEntityIncorrect = defineError('ERR_ENTITY_INCORRECT', 'entity: incorrect value or argument');

/** No activation could be reached before the call's deadline (owner unknown, lease not yet free). */
export const ErrEntityUnavailable = defineError('ERR_ENTITY_UNAVAILABLE', 'entity: not available');

/**
 * The owner node could not be connected to, and why: the `cause` of an ERR_ENTITY_UNAVAILABLE
 * whose owner was never reached (nothing was delivered, so nothing was done). Its `reason`:
 * 'connection-refused' (nothing listens at the address), 'not-ergo' (what answers there does not
 * speak Ergo's handshake: an HTTP server, a database), 'handshake-refused' (an Ergo node refused
 * it: another cookie or certificate, another node's name) or 'no-handshake' (the listener took the
 * connection and did not answer the handshake in time: not an Ergo node, or one too busy to
 * answer); `node` names the owner and `address` the route's `host:port`, when it has one.
 */
export const ErrEntityNodeUnreachable = defineError(
  'ERR_ENTITY_NODE_UNREACHABLE',
  'entity: the owner node cannot be connected to',
);

/**
 * The entities runtime the operation went through stopped (`entities.stop()`, or its node's
 * `stop()`): calls, sends and waits still in flight through it reject with this once its stop
 * finished draining, and every later one at once.
 */
export const ErrEntityStopped = defineError('ERR_ENTITY_STOPPED', 'entity: the entities runtime stopped');

/**
 * A client-only runtime (`role: 'client'`) was asked to own something: to activate a key or take
 * a message for one. A member whose `members` list names a client gets it on the first
 * activation it routes there; the fix is that list, not a retry.
 */
export const ErrEntityClientOnly = defineError(
  'ERR_ENTITY_CLIENT_ONLY',
  'entity: a client-only node owns no entity (it is not a member)',
);

/**
 * The entity's owner is overloaded and refused new work at once (a call made with `shed: true`,
 * as a workflow start is, to a key not active there): nothing was written. Its `retryAfterMs` says
 * when asking again may succeed; asking again sooner only adds load.
 */
export const ErrEntityOverloaded = defineError('ERR_ENTITY_OVERLOADED', 'entity: the owner is overloaded');

/** `node:sqlite` is not available in this Node.js (it needs Node 22.13 or later, or 22.5+ with --experimental-sqlite). */
export const ErrSqliteUnavailable = defineError(
  'ERR_ENTITY_SQLITE_UNAVAILABLE',
  'entity: node:sqlite is not available',
);

/**
 * An event-sourced entity persisted an event that matches none of its kind's event schemas (or
 * a stored event that, after upcasting, no longer does): refused, and nothing was written.
 */
export const ErrEventInvalid = defineError('ERR_ENTITY_EVENT_INVALID', 'entity: event does not match its schema');

/**
 * A stored event could not be replayed: the kind's `applyEvent` threw on it while an activation
 * rebuilt its key (a poison event, written before the fold changed). The activation fails before
 * its entity sees a message and writes nothing; every activation of the key fails the same way
 * until the event or the fold is repaired. The detail names the kind, the key, the event's
 * version and type, and the fold's own error (also the error's `cause`).
 */
export const ErrEventPoison = defineError('ERR_ENTITY_EVENT_POISON', 'entity: a stored event cannot be replayed');

/**
 * The PostgreSQL store lost its connection under an operation that may have committed (a write, a
 * lease, an enqueue: store/ambiguous_commit.ts), and could not reach the server again within its
 * `outcomeWindowMs` to decide it. The operation may or may not have happened; the activation that
 * made it ends, and the next one reads the key as it is (its lease waits for, or fences, a write
 * still in flight).
 */
export const ErrStoreOutcomeUnknown = defineError(
  'ERR_ENTITY_STORE_OUTCOME_UNKNOWN',
  'entity: the store connection was lost and the outcome could not be decided',
);

/**
 * The store answered something older than what it had acknowledged to this member: a key's state
 * at a lower version than one this member wrote or read, a fencing token not above one it held, a
 * write refused for a token or version newer than the store's (runtime/store_watermark.ts). The
 * store went back in time (a failover to a replica that missed acknowledged commits, a restored
 * backup). The key's activation is refused (a workflow instance halts, recorded) until an
 * operator decides; nothing of it runs again silently.
 */
export const ErrStoreWentBack = defineError(
  'ERR_ENTITY_STORE_WENT_BACK',
  'entity: the store went back in time (it lost acknowledged writes)',
);
