// The options of an entities runtime (`startEntities`), their defaults and their checks: what
// runtime.ts reads its settings from. Every member of a cluster must agree on the shard count,
// the lease scope, the manager's name and the kinds (the runtime cannot see the others' choices).

import { DEFAULT_CALL_TIMEOUT_MS } from '../contract/call_options.js';
import type { EntitiesClock } from '../contract/clock.js';
import { ErrEntityIncorrect } from '../contract/errors.js';
import type { EntityStore } from '../contract/store.js';
import type { EntityKind } from '../kinds/entity.js';
import type { EventSourcedKind } from '../kinds/event_sourced.js';
import { SHARD_LEASE_KIND } from './leases.js';
import type { InboxOptions } from './inbox_sweeper.js';
import type { ReminderOptions } from './reminder_scheduler.js';
import type { EntitiesFeature } from './feature.js';

/**
 * The runtime's own options of {@link startEntities} (`EntitiesOptions`, entities.ts, adds those of
 * the features plugged into it: the workflow layer's).
 */
export interface RuntimeOptions {
  /** Where leases, state and inboxes live. Every member must use the same store (or the same database). */
  readonly store: EntityStore;
  /** The kinds this node hosts (every member hosts the same kinds): state-mode and event-sourced. */
  readonly kinds: readonly (EntityKind<any, any> | EventSourcedKind<any, any, any>)[];
  /**
   * The names of the cluster's nodes; a member counts while this node is connected to it (the
   * runtime dials absent members every `probeIntervalMs`, through the node's routes and registrar).
   * This node always counts. Or `'registrar'`: the members are the nodes the node's registrar
   * lists (`registrar().nodes()`, e.g. the etcd registrar's cluster), read again on each of the
   * registrar's events (and every 10 s in case one was missed; every `probeIntervalMs` for a
   * registrar without events), so a node joining or leaving the cluster moves shards. Or `'leader'`: the members are the nodes of the live peers of this
   * node's `Leader` actor (ergo-ts/act, registered as {@link leader}): a node whose Leader joins
   * the election cluster becomes a member, one whose Leader ends (or whose node goes away) stops
   * being one; read every `probeIntervalMs` through the Leader's inspection (`peer_nodes`).
   * Default: none (every key is owned here).
   */
  readonly members?: readonly string[] | 'registrar' | 'leader';
  /**
   * What this node is in the cluster. 'member' (the default): it hosts `kinds`, owns shards by
   * placement over the live members and takes leases. 'client': an API tier — it calls, sends to
   * and starts entities and workflows (`call`, `send`, `sendDurable`, `workflows`) on the members,
   * routed to each key's owner as a member routes, and owns nothing: it is given no shard, takes no
   * lease, hosts no activation, runs no reminder scheduler or inbox sweeper, and the members never
   * count it (it announces neither its start nor its leaving). It keeps working while members die
   * and move: a call retries on the next owner as a member's does. Lifecycle: started and stopped
   * as a member's runtime is (`startEntities`, `stop`; `drain` has nothing to hand off).
   *
   * A client needs `members` as the list of the members' names (the nodes that host the kinds,
   * every one of them configured with the same list, without the client): `'registrar'` and
   * `'leader'` are refused (ERR_ENTITY_INCORRECT), because the members would count every node the
   * registrar lists or that joins the election, the client included; a list naming the client
   * itself is refused too. A member whose list names a client by mistake gets
   * ERR_ENTITY_CLIENT_ONLY from it on the first activation routed there. `kinds` on a client are
   * the kinds it addresses (`workflows.kinds()` lists them); they may be empty.
   */
  readonly role?: 'member' | 'client';
  /**
   * With `members: 'leader'`: the registered name of this node's Leader actor (the same on every
   * member). Default 'leader'.
   */
  readonly leader?: string;
  /**
   * How long a hand-off may wait for an activation to hand off (handle what it was sent, let its
   * effects in flight finish, save, release its lease), in ms: a rebalance's, and
   * {@link Entities.drain}'s (those still running then are stopped at once). A stop's hand-offs
   * get this at most, and never more than 60 % of {@link stopTimeoutMs}. Default 10 000.
   */
  readonly handOffTimeoutMs?: number;
  /**
   * How long a stop of this runtime may take in all, in ms: {@link Entities.stop}, and
   * `node.stop()` (SIGTERM with the node's `handleSignals`), which stops the runtime first through
   * its application. Whatever the load and the store, the stop ends by then: hand-offs get
   * `handOffTimeoutMs`, at most 60 % of it; then the activations still running get their shutdown
   * exits; at 80 % the runtime's store calls still waiting are refused
   * (ERR_ENTITY_STORE_UNAVAILABLE) and what still runs is killed (a handler that awaits anything
   * but the store ends within the node's `killGraceMs`); at 100 % the stop resolves, the member
   * lease and liveness claim given back if the store answered. What did not hand off keeps its
   * lease until it ends (`leaseTtlMs`) and its next owner takes it over then, as after a kill -9:
   * a step in flight runs again there. Keep it below 5000 (the time `node.stop()` gives each
   * application: beyond it the node goes on stopping its processes while the drain runs); call
   * `entities.stop()` before `node.stop()` for a longer one. Default 4000 (docs/deploy.md,
   * "Stopping a member: SIGTERM within 10 s").
   */
  readonly stopTimeoutMs?: number;
  /**
   * What one lease covers. 'shard' (the default): a node takes a shard's lease once, on the first
   * activation of one of its keys, and keeps it while it owns the shard; every activation of that
   * shard's keys writes under the shard lease's fencing token, so activations cost no lease write
   * and a node that lost the shard has every write refused. 'key': each activation takes its key's
   * lease (a store write and commit per activation; a key, not its whole shard, is what a node
   * holds). Every member must use the same scope: `startEntities` cannot see the others' choice.
   */
  readonly leaseScope?: 'key' | 'shard';
  /** How many shards keys map to: the same on every member. Default 64. */
  readonly shards?: number;
  /** How long a lease lasts unless renewed, in ms. Default 10 000. */
  readonly leaseTtlMs?: number;
  /**
   * Whether a key (or shard, under `leaseScope: 'shard'`) whose lease a dead member holds is taken
   * over at once rather than after that lease expires. A member is dead once this node saw it
   * live and no longer does: its connection went down (closed by a kill -9, or declared down by
   * the core's heartbeat, `network.peerStallTimeout`), the registrar or the Leader dropped it.
   * The store must confirm it too: the member's liveness claim released (its process ended), so a
   * member only paused is waited out and a member resumed from a pause takes nothing from live
   * ones (stores without liveness claims wait every lease out). The new owner takes a newer
   * fencing token, so a member declared dead wrongly (a partition) has every later write refused:
   * safety holds; only its stale in-memory reads remain possible until its next renewal or write
   * ends its copies. Default true; false waits out the lease (up to `leaseTtlMs`).
   */
  readonly takeOverFromDeadMembers?: boolean;
  /**
   * How long a member whose member lease ended (its event loop stood still past the lease: a stall,
   * a pause, a starved CPU; or it was cut off from the store) and whose peers counted it out must
   * then be stable before it takes its shards back, in ms (an integer in 0..2^31-1). Meanwhile its
   * peers keep it out of their placement: the shards whose leases they took while it stood still
   * stay with them, and it keeps serving the keys of the shards whose leases it kept (callers follow
   * the lease's holder). A loop gap of the ttl less the renewal period starts the wait anew, and a
   * member that lapses again within four waits of coming back waits twice as long (up to four times
   * this). Then it takes its member lease again and says hello, and the shards that moved come back
   * once. Without it (0) a loaded member whose loop stands still about a ttl now and then takes its
   * shards back with every return and loses them again with every lapse, each pass a re-activation
   * of their instances. Every member should use the same value. Default three times `leaseTtlMs`
   * (30 s with the default lease).
   */
  readonly rejoinStableMs?: number;
  /** How often this node renews its leases, in ms. Default a third of `leaseTtlMs`. */
  readonly renewIntervalMs?: number;
  /** How often absent members are dialled, and the pause before a routing retry, in ms. Default 500. */
  readonly probeIntervalMs?: number;
  /** The registered name of the manager process (the same on every member). Default 'entities'. */
  readonly name?: string;
  /**
   * Whether inspection (the Observer's entity page, a host's `handleInspect`) shows entity
   * states. Default true; false on nodes whose states hold secrets (facts still show).
   */
  readonly inspectState?: boolean;
  /**
   * The reminder scheduler's settings (docs/entities.md, "Reminders"); it runs when the store
   * keeps reminders (SqliteStore, PostgresStore, MemoryStore).
   */
  readonly reminders?: ReminderOptions;
  /**
   * The inbox sweeper's settings (docs/entities.md, "Durable messages"): it runs when the store
   * lists pending inboxes (SqliteStore, PostgresStore, MemoryStore) and activates the keys of this
   * node's shards whose accepted messages wait, so they are handled without a call touching the
   * key. Defaults: `pollMs` 1000, `batch` 256, `maxInFlight` 32. Its `maxAttempts` (default 10)
   * also bounds how often a durable message's handler may fail before the message moves to the
   * key's dead letters (`entities.deadLetters`; a store that keeps them: all three of this package).
   */
  readonly inbox?: InboxOptions;
}

/** The default {@link RuntimeOptions.rejoinStableMs}, in leases' ttls. */
export const REJOIN_STABLE_TTLS = 3;

/** Defaults of `EntitiesOptions` (`startEntities`). */
export const ENTITIES_DEFAULTS = Object.freeze({
  shards: 64,
  leaseTtlMs: 10_000,
  probeIntervalMs: 500,
  name: 'entities',
  callTimeoutMs: DEFAULT_CALL_TIMEOUT_MS,
  handOffTimeoutMs: 10_000,
  stopTimeoutMs: 4000,
  takeOverFromDeadMembers: true,
  leaseScope: 'shard' as 'key' | 'shard',
});

export type { EntityCallOptions } from '../contract/call_options.js';

/**
 * @internal The internal seams of a runtime, for the entities test kit (testing/): not part of
 * {@link RuntimeOptions}, so no user depends on them.
 */
export interface EntitiesSeams {
  /** The clock of passivation and lease renewal (default the wall clock). */
  readonly clock?: EntitiesClock;
  /** The features plugged into the runtime (feature.ts; entities.ts gives the workflow layer). */
  readonly features?: readonly EntitiesFeature<any>[];
}

/** An integer option in 1..2^31-1 (`dflt` when absent); ERR_ENTITY_INCORRECT otherwise. */
export function positive(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 31 - 1)
    throw ErrEntityIncorrect.with(`${name} must be an integer in 1..2^31-1, got ${String(v)}`);
  return n;
}

/** Options of one {@link Entities.stop}. */
export interface EntitiesStopOptions {
  /**
   * How long this stop may take in all at most, in ms (an integer in 1..2^31-1): the stop takes
   * the shorter of it and {@link RuntimeOptions.stopTimeoutMs}, its phases shares of that as
   * `stopTimeoutMs` says. `stopMember` gives the runtime what is left of the member's deadline
   * this way. Only the first call of `stop()` decides (a stop under way keeps its budget).
   */
  readonly timeout?: number;
}

/** The time a stop may take: the shorter of `options.timeout` and `stopMs`; ERR_ENTITY_INCORRECT for bad options. */
export function stopTimeoutOf(options: EntitiesStopOptions | undefined, stopMs: number): number {
  if (options === undefined) return stopMs;
  if (options === null || typeof options !== 'object')
    throw ErrEntityIncorrect.with(`stop options must be an object, got ${String(options)}`);
  return options.timeout === undefined ? stopMs : Math.min(stopMs, positive('stop timeout', options.timeout, stopMs));
}

/** The settings of one runtime, its options checked and defaulted ({@link settingsOf}). */
export interface RuntimeSettings {
  readonly leaseTtlMs: number;
  readonly inspectState: boolean;
  readonly shards: number;
  readonly probeMs: number;
  readonly renewMs: number;
  /** The manager's registered name. */
  readonly name: string;
  /** The kinds this node hosts, by name, in the order given. */
  readonly kinds: ReadonlyMap<string, EntityKind>;
  readonly handOffMs: number;
  /** {@link RuntimeOptions.stopTimeoutMs}. */
  readonly stopMs: number;
  /** `leaseScope: 'shard'`. */
  readonly shardScope: boolean;
  readonly takeOverFromDeadMembers: boolean;
  /** {@link RuntimeOptions.rejoinStableMs}. */
  readonly rejoinStableMs: number;
  /** `role: 'client'`: the runtime owns nothing (see {@link RuntimeOptions.role}). */
  readonly client: boolean;
}

/** Whether `options` make a client-only runtime ({@link RuntimeOptions.role}); ERR_ENTITY_INCORRECT for a bad role. */
function clientRole(options: RuntimeOptions): boolean {
  const role = options.role ?? 'member';
  if (role !== 'member' && role !== 'client')
    throw ErrEntityIncorrect.with(`role must be 'member' or 'client', got ${String(role as unknown)}`);
  if (role === 'member') return false;
  if (!Array.isArray(options.members) || options.members.length === 0)
    throw ErrEntityIncorrect.with(
      `role 'client' needs members as the list of the members' node names (got ${JSON.stringify(options.members ?? null)}): with 'registrar' or 'leader' the members would count the client`,
    );
  return true;
}

/**
 * Checks `options` (ERR_ENTITY_INCORRECT for the first one wrong, in this order) and fills in the
 * defaults. The members and the Leader's name are checked by the membership (membership.ts).
 */
export function settingsOf(options: RuntimeOptions): RuntimeSettings {
  const leaseTtlMs = positive('leaseTtlMs', options.leaseTtlMs, ENTITIES_DEFAULTS.leaseTtlMs);
  const inspectState = options.inspectState !== false;
  const shards = positive('shards', options.shards, ENTITIES_DEFAULTS.shards);
  const probeMs = positive('probeIntervalMs', options.probeIntervalMs, ENTITIES_DEFAULTS.probeIntervalMs);
  const renewMs = positive('renewIntervalMs', options.renewIntervalMs, Math.max(1, Math.floor(leaseTtlMs / 3)));
  if (renewMs >= leaseTtlMs)
    throw ErrEntityIncorrect.with(`renewIntervalMs (${renewMs}) must be shorter than leaseTtlMs (${leaseTtlMs})`);
  const name = options.name ?? ENTITIES_DEFAULTS.name;
  if (typeof name !== 'string' || name === '') throw ErrEntityIncorrect.with('name must be a non-empty string');
  const kinds = new Map<string, EntityKind>();
  for (const k of options.kinds) {
    if (typeof k?.name !== 'string' || k.name.startsWith('~'))
      throw ErrEntityIncorrect.with(
        `kind ${JSON.stringify(k?.name)}: names starting with '~' are reserved (${SHARD_LEASE_KIND} is the shard leases' kind)`,
      );
    if (kinds.has(k.name)) throw ErrEntityIncorrect.with(`kind ${k.name} given twice`);
    kinds.set(k.name, k as EntityKind);
  }
  const handOffMs = positive('handOffTimeoutMs', options.handOffTimeoutMs, ENTITIES_DEFAULTS.handOffTimeoutMs);
  const stopMs = positive('stopTimeoutMs', options.stopTimeoutMs, ENTITIES_DEFAULTS.stopTimeoutMs);
  if (options.takeOverFromDeadMembers !== undefined && typeof options.takeOverFromDeadMembers !== 'boolean')
    throw ErrEntityIncorrect.with(
      `takeOverFromDeadMembers must be true or false, got ${String(options.takeOverFromDeadMembers)}`,
    );
  if (options.leaseScope !== undefined && options.leaseScope !== 'key' && options.leaseScope !== 'shard')
    throw ErrEntityIncorrect.with(`leaseScope must be 'key' or 'shard', got ${String(options.leaseScope)}`);
  const client = clientRole(options);
  const rejoinStableMs = options.rejoinStableMs ?? Math.min(REJOIN_STABLE_TTLS * leaseTtlMs, 2 ** 31 - 1);
  if (!Number.isInteger(rejoinStableMs) || rejoinStableMs < 0 || rejoinStableMs > 2 ** 31 - 1)
    throw ErrEntityIncorrect.with(
      `rejoinStableMs must be an integer in 0..2^31-1, got ${String(options.rejoinStableMs)}`,
    );
  return {
    rejoinStableMs,
    client,
    leaseTtlMs,
    inspectState,
    shards,
    probeMs,
    renewMs,
    name,
    kinds,
    handOffMs,
    stopMs,
    shardScope: (options.leaseScope ?? ENTITIES_DEFAULTS.leaseScope) === 'shard',
    takeOverFromDeadMembers: options.takeOverFromDeadMembers !== false,
  };
}
