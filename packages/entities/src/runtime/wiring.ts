// The parts of one entities runtime, made and tied to each other: its activations, the shards it
// owns, its member lease, the leases of its activations, its liveness claim, the members, the
// reminder scheduler and the inbox sweeper, the activation gate, the router, the dead letters, the
// redelivery, and the repeating timers that drive them. runtime.ts keeps the parts and decides
// with them; what the parts ask back of the runtime's own state goes through WiringHooks, so the
// parts never see the runtime's private fields. The order below is the order they are made in.

import type { Node } from 'ergo-ts';

import { every } from '../contract/clock.js';
import { isReminderStore, type ReminderStore } from '../contract/reminder_store.js';
import type { EntityStore } from '../contract/store.js';
import type { HostRuntime } from './host_runtime.js';
import { ActivationGate } from './activation_gate.js';
import { Activations } from './activations.js';
import { Leases, LEASE_MARGIN } from './leases.js';
import { MemberLiveness } from './liveness.js';
import { DeadLetters } from './dead_letters.js';
import { InboxSweeper, inboxMaxAttempts } from './inbox_sweeper.js';
import { MemberLease, memberLeaseEnded, readMemberLease } from './member_lease.js';
import { Membership } from './membership.js';
import type { RuntimeOptions, RuntimeSettings } from './options.js';
import { ReminderScheduler } from './reminder_scheduler.js';
import { ShardOwnership } from './ownership.js';
import { Redelivery } from './redelivery.js';
import { Router, type RoutedRuntime } from './routing.js';
import type { StoreHealth } from './store_health.js';

/**
 * What the parts ask of the runtime's own state and decisions (runtime.ts answers from its
 * private fields). Called only once the runtime is made, never while {@link wireParts} runs.
 */
export interface WiringHooks {
  /** Whether the runtime's stop has stopped it. */
  stopped(): boolean;
  /** Whether the runtime drains: it takes no activation. */
  draining(): boolean;
  /** Whether a lease holder is dead (a member declared down, or an earlier runtime of this node). */
  deadHolder(holder: string): boolean;
  /** The members changed: the shards this node owns are recomputed. */
  membersChanged(): void;
  /** Another member told the others this node leaves: it renews its leases and counts again. */
  backFromPause(): void;
  /** Whether this node owns `key`'s shard by its view of the members now. */
  ownsShardOf(key: string): boolean;
}

/**
 * The runtime as its parts see it: the host of its activations and the runtime its router routes
 * for. Its `node`, `clock`, `measuredStore`, `owner` and `leaseTtlMs` are set before
 * {@link wireParts} runs; its methods are called only once the runtime is made.
 */
export type WiredRuntime = HostRuntime & RoutedRuntime;

/** The parts of one runtime (see the top of this file); undefined where this runtime has none. */
export interface RuntimeParts {
  /** This node's activations (activations.ts). */
  readonly activations: Activations;
  /** The shards this node owns by its view of the live members (ownership.ts). */
  readonly ownership: ShardOwnership;
  /** This member's own lease (member_lease.ts; undefined on a client or a node alone). */
  readonly memberLease: MemberLease | undefined;
  /** The leases of this node's activations (leases.ts). */
  readonly leases: Leases;
  /** The liveness claim in the store and the away watch (liveness.ts). */
  readonly liveness: MemberLiveness;
  /** Who the members are (membership.ts). */
  readonly membership: Membership;
  /** The reminder scheduler (undefined on a client, or when the store keeps no reminders). */
  readonly reminders: ReminderScheduler | undefined;
  /** The inbox sweeper (undefined on a client, or when the store cannot list pending inboxes). */
  readonly inboxSweeper: InboxSweeper | undefined;
  /** Which activations this node admits, and their start (activation_gate.ts). */
  readonly gate: ActivationGate;
  /** Routes calls and sends to the owners of their keys (routing.ts). */
  readonly router: Router;
  /** The poison messages set apart (dead_letters.ts). */
  readonly deadLetters: DeadLetters;
  /** Sends again what ended activations accepted and did not handle (redelivery.ts). */
  readonly redelivery: Redelivery;
  /** Cancels the repeating timers started here (lease renewal, member probes) and the router. */
  readonly timers: (() => void)[];
}

/**
 * Makes the parts of the runtime `rt` (runtime.ts's constructor) from its options and settings,
 * tied to each other and to `rt` through `hooks` (`health`: whether the store answers, which
 * holds an activation that failed on an unreachable store: store_health.ts); starts the lease renewal and the member probes
 * (their cancels are in `timers`). Throws ERR_ENTITY_INCORRECT for options the parts refuse.
 */
export function wireParts(
  rt: WiredRuntime,
  options: RuntimeOptions,
  s: RuntimeSettings,
  hooks: WiringHooks,
  health?: StoreHealth,
): RuntimeParts {
  const node: Node = rt.node;
  const activations = new Activations(node);
  const ownership = new ShardOwnership(node.name, s.shards);
  // Read by the others when a call to this member waits: none on a client or a node alone; on the
  // store itself, out of the store's figures (those of activations).
  const alone = !Array.isArray(options.members) ? options.members === undefined : options.members.length === 0;
  const memberLease = s.client || alone ? undefined : new MemberLease(node, options.store, rt.owner, rt.leaseTtlMs);
  const leases: Leases = new Leases({
    node,
    store: rt.measuredStore,
    owner: rt.owner,
    ttlMs: rt.leaseTtlMs,
    shards: s.shards,
    shardScope: s.shardScope,
    active: activations.byKind,
    owned: () => ownership.owned,
    track: (release) => rt.track(release),
    ...(s.takeOverFromDeadMembers
      ? {
          dead: (holder: string) => hooks.deadHolder(holder),
          gone: (holder: string) => liveness.gone(holder, (h) => hooks.deadHolder(h)),
        }
      : {}),
    member: memberLease,
  });
  // A loop gap of the lease's margin could have cost a lease: renew before anything else.
  const liveness: MemberLiveness = new MemberLiveness(node, options.store, rt.owner, rt.leaseTtlMs * LEASE_MARGIN, {
    renewNow: () => {
      if (!s.client && !hooks.stopped()) void leases.renew();
    },
    away: (gapMs) => membership.away(gapMs),
    stopped: () => hooks.stopped(),
  });
  // A member lease counts as ended a margin after its end: a loaded member's renewal a little late is not a leave.
  const grace = Math.round(rt.leaseTtlMs * LEASE_MARGIN);
  const ended = (member: string): Promise<boolean> => memberLeaseEnded(rt.measuredStore, member, grace);
  const membership = new Membership(
    node,
    s.name,
    options,
    {
      changed: () => {
        hooks.membersChanged();
      },
      stopped: () => hooks.stopped(),
      toldLeaving: () => hooks.backFromPause(),
      memberLease: (member) => readMemberLease(rt.measuredStore, member, grace),
      rejoin: () =>
        memberLease === undefined || hooks.stopped() || hooks.draining()
          ? Promise.resolve(false)
          : memberLease.retake(),
    },
    // A gap longer than the ttl less the renewal period lets a lease lapse with no renewal sent.
    { stableMs: s.rejoinStableMs, ttlMs: rt.leaseTtlMs, lapseGapMs: rt.leaseTtlMs - s.renewMs },
  );
  const store = options.store;
  // A client owns no shard: no reminder or inbox of its own to scan.
  const scans = (st: EntityStore): st is EntityStore & ReminderStore => !s.client && isReminderStore(st);
  const reminders = scans(store)
    ? new ReminderScheduler(
        {
          store,
          log: node.log,
          clock: rt.clock,
          shards: s.shards,
          kind: (name) => s.kinds.get(name),
          owned: () => ownership.owned,
          // A fire is a durable message whose id is the fire's.
          deliver: (kind, key, fire, timeout) => rt.sendDurable({ kind, key }, fire as never, fire.fireId, { timeout }),
          active: (kind, key) => activations.has(kind, key),
          standsBy: (kind, key, name) => activations.standsBy(kind, key, name),
          warm: (kind, key) => rt.activateLocal(kind, key),
        },
        options.reminders,
      )
    : undefined;
  const measured = rt.measuredStore;
  const inboxSweeper =
    s.client || measured.pendingInbox === undefined
      ? undefined
      : new InboxSweeper(
          {
            pendingInbox: (limit) => measured.pendingInbox!(limit),
            log: node.log,
            clock: rt.clock,
            shards: s.shards,
            hosts: (kind) => s.kinds.has(kind),
            owned: () => ownership.owned,
            active: (kind, key) => activations.has(kind, key),
            activate: (kind, key) => rt.activateLocal(kind, key),
          },
          options.inbox,
        );
  const gate = new ActivationGate({
    node,
    measuredStore: rt.measuredStore,
    host: rt,
    kinds: s.kinds,
    client: s.client,
    draining: () => hooks.draining(),
    running: (kind, key) => activations.has(kind, key),
    ownsShardOf: (key) => hooks.ownsShardOf(key),
    leaseId: (kind, key) => leases.leaseId(kind, key),
    ...(health === undefined ? {} : { health }),
  });
  const router = new Router(rt, s.probeMs, s.name, ended);
  const deadLetters = new DeadLetters({
    store: options.store,
    maxAttempts: inboxMaxAttempts(options.inbox),
    redeliver: (kind, key, id, message) => rt.redeliver(kind, key, new Map([[id, message]])),
  });
  const redelivery = new Redelivery({
    log: node.log,
    clock: rt.clock,
    stopped: () => hooks.stopped(),
    send: (kind, key, id, message, options) => rt.sendDurable({ kind, key }, message as never, id, options),
  });
  const timers: (() => void)[] = [];
  if (!s.client) timers.push(every(rt.clock, s.renewMs, () => void leases.renew()));
  timers.push(() => router.stop());
  if (membership.probed) {
    // Probes dial real nodes: wall-clock time, whatever the clock of the runtime's own timing.
    const probe = setInterval(() => membership.probe(), s.probeMs).unref();
    timers.push(() => clearInterval(probe));
  }
  return {
    activations,
    ownership,
    memberLease,
    leases,
    liveness,
    membership,
    reminders,
    inboxSweeper,
    gate,
    router,
    deadLetters,
    redelivery,
    timers,
  };
}
