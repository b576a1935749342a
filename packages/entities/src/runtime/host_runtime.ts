// What one activation's host (host.ts) and the runtime of its node say to each other: what the
// host asks of the runtime (HostRuntime, which runtime.ts implements), the events the runtime
// publishes for it, the durable envelope a call carries, the local markers that settle or hand
// off an activation, and how a store failure is told from the entity's own. Apart from the host
// so the runtime, the test kit and the host's helpers name them without importing the host actor.

import type { Node, PID } from 'ergo-ts';

import type { EntitiesClock } from '../contract/clock.js';
import type { InboxFailureResult } from '../contract/dead_letters.js';
import { ErrLeaseHeld } from '../contract/errors.js';
import type { StoredReminder } from '../contract/reminder_store.js';
import type { EntityId, EntityStore } from '../contract/store.js';
import type { EntitiesClient } from '../kinds/entity.js';
import type { OpenedLease } from './leases.js';
import type { ReminderScheduler } from './reminder_scheduler.js';
import type { StoreWatermark } from './store_watermark.js';

/** What a host needs from the runtime of its node (runtime.ts implements it). */
export interface HostRuntime extends EntitiesClient {
  /** The node the runtime runs on. */
  readonly node: Node;
  /** The clock of passivation (contract/clock.ts): the wall clock, or the test kit's. */
  readonly clock: EntitiesClock;
  /** The runtime's store, each operation timed (inspect/stats.ts). */
  readonly measuredStore: EntityStore;
  readonly owner: string;
  readonly leaseTtlMs: number;
  /**
   * Takes the lease an activation of (kind, key) writes under (the key's own, or its shard's) and,
   * when the store reads them in the same operation, the key's state and inbox.
   */
  openLease(kind: string, key: string): Promise<OpenedLease>;
  /**
   * Resolves true once the lease an activation writes under is confirmed within its ttl less the
   * margin (renewed first when it is not); false when it may be lost (no side effect may run).
   * Absent (the test kit's single-node runtime): always confirmed.
   */
  confirmLease?(kind: string, key: string, token: number): Promise<boolean>;
  /**
   * Whether that lease is confirmed within its ttl less the margin now, asking nothing (the check
   * in the same turn as a side effect's call). Absent: always fresh.
   */
  leaseFresh?(kind: string, key: string, token: number): boolean;
  /** How long a hand-off waits for an activation's effects in flight, in ms (absent: 10 000). */
  readonly handOffTimeoutMs?: number;
  /** Ends an activation's lease (a key lease is released; a shard lease stays with the node). */
  releaseLease(kind: string, key: string, token: number): Promise<void>;
  /**
   * A write of (kind, key) was refused as stale (its lease passed on): the lease it wrote under is
   * not taken as confirmed any more, so the other activations under it (a shard's keys) confirm
   * again before their next side effect, and a renewal that finds it lost ends them. `token` is
   * the refused activation's: a newer token's confirmation of the same lease is kept.
   */
  leaseRefused?(kind: string, key: string, token: number): void;
  /**
   * An activation started; `eventsSinceSnapshot` reads an event-sourced activation's events after
   * its latest snapshot (inspect/stats.ts); `standby` whether its reminder `name`, due now, stands
   * by for its end (kinds/entity.ts' ENTITY_REMINDER_STANDBY: the scheduler does not fire it meanwhile).
   */
  activated(
    kind: string,
    key: string,
    token: number,
    pid: PID,
    eventsSinceSnapshot?: () => number,
    standby?: (name: string) => boolean,
  ): void;
  /** An event-sourced activation's write was accepted: `events` persisted, a snapshot with them or not. */
  journaled(kind: string, events: number, snapshot: boolean): void;
  ended(kind: string, key: string, token: number): void;
  publish(event: EntityEvent): void;
  /** Logs a warning on the node's log (printf-style). */
  log(format: string, ...args: unknown[]): void;
  /**
   * Sends durable messages this activation accepted but did not handle (it ended first) to the
   * key's owner again, each with its id (runtime.ts).
   */
  redeliver(kind: string, key: string, pending: ReadonlyMap<string, unknown>): void;
  /**
   * A durable message's handler failed (not the store): the failure is counted against the message
   * in the store, which moves it to the dead letters at the runtime's `inbox.maxAttempts`. Fenced
   * by the activation's token. Undefined: the store keeps no dead letters.
   */
  inboxFailed(
    kind: string,
    key: string,
    fence: { readonly token: number; readonly lease?: EntityId | undefined },
    id: string,
    error: unknown,
  ): Promise<InboxFailureResult | undefined>;
  /** Keeps a lease release of a hand-off until it settles (a drain waits for every one). */
  track(release: Promise<void>): void;
  /** The node's reminder scheduler (undefined: the store keeps no reminders). */
  readonly reminders: ReminderScheduler | undefined;
  /** What this member remembers the store acknowledged (store_watermark.ts); absent: nothing checked. */
  readonly watermark?: StoreWatermark;
  /** Reads one key's pending reminders from the store, for inspection (undefined: the store keeps none). */
  readReminders(kind: string, key: string): Promise<readonly StoredReminder[]> | undefined;
}

/** The diagnostics channel the runtime publishes {@link EntityEvent}s on. */
export const ENTITIES_CHANNEL = 'ergo-ts:entities';

/** What the runtime publishes on the diagnostics channel `ergo-ts:entities` (see ENTITIES_CHANNEL). */
export interface EntityEvent {
  /**
   * activated: lease taken, state loaded; written: a write the store accepted (`version` is the
   * new one); passivated: stopped idle, or handed off (`reason` 'hand-off': its node is leaving
   * or lost the key's shard; published once the lease was released); stopped: ended otherwise;
   * refused: a stale write.
   */
  readonly event: 'activated' | 'written' | 'passivated' | 'stopped' | 'refused';
  /** The node the activation runs on. */
  readonly node: string;
  /** The entity's kind. */
  readonly kind: string;
  /** The entity's key. */
  readonly key: string;
  /** The activation's fencing token. */
  readonly token: number;
  /** The state's stored version at the time. */
  readonly version: number;
  /** Why it stopped (stopped, refused). */
  readonly reason?: string;
}

/** A durable message as it travels to the host in a call (a plain object: it crosses nodes as sent). */
export interface DurableEnvelope {
  readonly '~entity': 'durable';
  readonly id: string;
  readonly message: unknown;
}

/** True when `v` is a {@link DurableEnvelope}. */
export function isDurable(v: unknown): v is DurableEnvelope {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as { '~entity'?: unknown })['~entity'] === 'durable' &&
    typeof (v as { id?: unknown }).id === 'string'
  );
}

/**
 * @internal A call the host answers itself, after everything queued before it was handled (and
 * saved): with its {@link ActivationView}. The entities test kit waits with it; local only (a
 * marker is known by identity, so nothing from another node can be one).
 */
export const SETTLE = Object.freeze({ '~entity': 'settle' });

/** @internal What the host answers {@link SETTLE} with: the activation as it stands. */
export interface ActivationView {
  /** The host process. */
  readonly pid: PID;
  /** The activation's fencing token. */
  readonly token: number;
  /** The state's stored version. */
  readonly version: number;
  /** The entity's state in memory (by reference: treat it as read-only). */
  readonly state: unknown;
}
/**
 * Ends an activation gracefully (its node drains, or the key's shard moved): queued before it,
 * every message is handled first; then the host stops normally and releases its lease.
 */
export const HANDOFF = Object.freeze({ '~entity': 'hand-off' });
/** Local: a hand-off that waits for effects in flight looks again (host.ts). */
export const HANDOFF_AGAIN = Object.freeze({ '~entity': 'hand-off again' });

/**
 * Sent by the activation gate to a host it just started (local, known by identity): the entity's
 * `activated` hook runs then, in a registered process (not inside init, where the process cannot
 * be reached yet: a workflow body sends itself its commits).
 */
export const ACTIVATED = Object.freeze({ '~entity': 'activated' });

/** The reason published with a hand-off's 'passivated' event. */
export const HANDOFF_REASON = 'hand-off';

/** Errors a store operation rejected with (not the entity's own code): logged, not a panic. */
const storeErrors = new WeakSet<object>();

/** `p`, its rejection marked as a store failure. */
export function fromStore<T>(p: Promise<T>): Promise<T> {
  return p.catch((e: unknown) => {
    if (typeof e === 'object' && e !== null) storeErrors.add(e);
    throw e;
  });
}

/** True when `err` came from a store operation. */
export function isStoreError(err: unknown): err is Error {
  return typeof err === 'object' && err !== null && storeErrors.has(err);
}

/** The lease a refused activation met, kept with the error its init returned (by identity). */
const heldLeases = new WeakMap<Error, { readonly holder: string; readonly expiresAt: number }>();

/**
 * The error an activation's init returns when the key's lease is held elsewhere, carrying the
 * holder and the lease's end as the store answered the refusal: the gate answers with them, not
 * with a second read that may find the lease released meanwhile (a refusal naming no holder).
 */
export function leaseHeldError(holder: string, expiresAt: number): Error {
  const err = ErrLeaseHeld.with(`${holder} until ${expiresAt}`);
  heldLeases.set(err, { holder, expiresAt });
  return err;
}

/** The holder and lease end a {@link leaseHeldError} carries (undefined for any other error). */
export function heldLeaseOf(err: unknown): { readonly holder: string; readonly expiresAt: number } | undefined {
  return typeof err === 'object' && err !== null ? heldLeases.get(err as Error) : undefined;
}

/** Errors of activations whose failing message was just moved to the dead letters. */
const setAside = new WeakSet<object>();

/** `err`, marked: its message moved to the dead letters (the key may activate again at once). */
export function markDeadLettered(err: unknown): unknown {
  if (typeof err === 'object' && err !== null) setAside.add(err);
  return err;
}

/** True when `err` ended an activation whose failing message was moved to the dead letters. */
export function isDeadLettered(err: unknown): boolean {
  return typeof err === 'object' && err !== null && setAside.has(err);
}
