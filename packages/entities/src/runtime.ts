// The entities runtime of one node: it hosts the kinds it was given, routes calls and messages to
// the node that owns each key, and keeps the leases of its activations alive. Routing: a key's
// shard (stable hash) belongs to one live member (rendezvous hashing over this node and the
// configured members it is connected to); a call goes straight to the entity's registered name
// on that node and, when nothing answers to that name, asks that node's manager process to
// activate it. When the key's lease is held elsewhere (members briefly disagreeing, or a dead
// owner whose lease has not expired yet), the call follows the holder or waits for the lease's
// end, within the call's timeout. Safety does not rest on any of this: the store's fencing token
// refuses every write of an activation that is no longer the key's newest.

import { randomUUID } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { setTimeout as delay } from 'node:timers/promises';

import {
  ErrProcessUnknown,
  ErrNameUnknown,
  ErrTaken,
  ErrTimeout,
  ProcessID,
  TerminateReasonShutdown,
  createApplication,
  ignorable,
  rejected,
  type AnyProtocol,
  type Atom,
  type Event,
  type MessageOf,
  type Node,
  type PID,
  type ReplyOf,
  type RequestOf,
} from 'ergo-ts';

import { every, wallClock, type EntitiesClock } from './contract/clock.js';
import { errorCode } from './contract/codes.js';
import { checkKey, hostName } from './contract/ids.js';
import { type EntityAddress, type EntityKind } from './kinds/entity.js';
import type { EventSourcedKind } from './kinds/event_sourced.js';
import { ErrEntityIncorrect, ErrEntityUnavailable, ErrLeaseHeld } from './contract/errors.js';
import {
  EntityHost,
  HANDOFF,
  HANDOFF_REASON,
  type DurableEnvelope,
  type EntityEvent,
  type HostRuntime,
} from './host.js';
import { ownerOfShard, shardOf } from './contract/placement.js';
import {
  EntityManager,
  ownerNode,
  retryable,
  within,
  toReply,
  type ActivateReply,
  type ActivateRequest,
  type SendRequest,
} from './manager.js';
import { Membership } from './membership.js';
import { Leases, SHARD_LEASE_KIND, type OpenedLease } from './leases.js';
import { KindCounters, StoreMeter, type EntitiesStats, type KindStats } from './inspect/stats.js';
import { EntitiesStopper, type StoppableRuntime } from './stopper.js';
import type { EntityStore } from './contract/store.js';
import { isReminderStore, type StoredReminder } from './contract/reminder_store.js';
import { ReminderScheduler, type ReminderOptions } from './reminder_scheduler.js';
import type { ReminderEnvelope } from './kinds/reminder_types.js';

/** The diagnostics channel the runtime publishes {@link EntityEvent}s on. */
export const ENTITIES_CHANNEL = 'ergo-ts:entities';

/** How many times a message accepted by an ended activation is sent again to its key (once a second). */
const REDELIVER_ATTEMPTS = 300;
const channel = diagnostics.channel(ENTITIES_CHANNEL);

/** Options of {@link startEntities}. */
export interface EntitiesOptions {
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
   * With `members: 'leader'`: the registered name of this node's Leader actor (the same on every
   * member). Default 'leader'.
   */
  readonly leader?: string;
  /**
   * How long {@link Entities.stop} (and {@link Entities.drain}) waits for this node's activations
   * to hand off (handle what they were sent, save, release their leases), in ms; those still
   * running then are stopped at once (their leases still released). Default 10 000.
   */
  readonly handOffTimeoutMs?: number;
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
   * The new owner takes a newer fencing token, so a member declared dead wrongly (a partition, a
   * long pause) has every later write refused: safety holds; only its stale in-memory reads
   * remain possible until its next renewal or write ends its copies. Default true; false waits
   * out the lease (up to `leaseTtlMs`).
   */
  readonly takeOverFromDeadMembers?: boolean;
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
}

/** Defaults of {@link EntitiesOptions}. */
export const ENTITIES_DEFAULTS = Object.freeze({
  shards: 64,
  leaseTtlMs: 10_000,
  probeIntervalMs: 500,
  name: 'entities',
  callTimeoutMs: 5000,
  handOffTimeoutMs: 10_000,
  takeOverFromDeadMembers: true,
  leaseScope: 'shard' as 'key' | 'shard',
});

/** Options of {@link Entities.call} and the other sends. */
export interface EntityCallOptions {
  /** How long to wait for the reply (or acknowledgement), activation and re-routing included, in ms. Default 5000. */
  readonly timeout?: number;
}

/**
 * Why a call timed out: the owner did not answer (the core's timeout text suggests a handleCall
 * returning undefined, which an entity's host never does: it always answers).
 */
function noAnswer(target: string): string {
  return `no answer from the owner node ${target}: paused, overloaded or cut off, or the entity still busy with an earlier message`;
}

function positive(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 31 - 1)
    throw ErrEntityIncorrect.with(`${name} must be an integer in 1..2^31-1, got ${String(v)}`);
  return n;
}

/**
 * The entities runtime of one node (from {@link startEntities}). Its methods are safe to call from
 * anywhere on the node, inside actors included (they use the node's own call, not the caller's
 * process); every Promise it returns is safe to leave un-awaited.
 */
export class Entities implements HostRuntime, StoppableRuntime {
  /** The node this runtime runs on. */
  readonly node: Node;
  /** The store every activation of this node writes to. */
  readonly store: EntityStore;
  /** @internal {@link store}, each operation timed for {@link stats}. */
  readonly measuredStore: EntityStore;
  /** This runtime's lease owner string (`<node name>#<random>`): unique per start. */
  readonly owner: string;
  /** How long a lease lasts unless renewed, in ms. */
  readonly leaseTtlMs: number;
  /** Whether inspection shows entity states ({@link EntitiesOptions.inspectState}). */
  readonly inspectState: boolean;
  readonly #kinds = new Map<string, EntityKind>();
  /** Who the members are (membership.ts). */
  readonly #membership: Membership;
  readonly #handOffMs: number;
  /** This node drains: it takes no activation and routes every key to the other members. */
  #draining: Promise<void> | undefined;
  /** Activations in progress on this node, by `kind/key`: a second request for a key joins the first. */
  readonly #activating = new Map<string, Promise<ActivateReply>>();
  /** Lease releases of hand-offs not settled yet. */
  readonly #releases = new Set<Promise<void>>();
  #handOffs = 0;
  /** The leases of this node's activations (leases.ts). */
  readonly #leases: Leases;
  /** `kind/key` of activations asked to hand off and not ended yet. */
  readonly #handingOff = new Set<string>();
  readonly #shards: number;
  readonly #probeMs: number;
  readonly #name: string;
  /** kind → key → { token, pid } of this node's activations. */
  readonly #active = new Map<
    string,
    Map<string, { token: number; pid: PID; eventsSinceSnapshot: (() => number) | undefined }>
  >();
  /** Cancels the runtime's repeating timers (lease renewal, member probes). */
  readonly #timers: (() => void)[] = [];
  readonly #meter = new StoreMeter();
  readonly #counters = new Map<string, KindCounters>();
  /** The live members last seen (joined) and the shards this node owned then, for hand-off counts. */
  #seenMembers = '';
  #owned = new Set<number>();
  #shardsGained = 0;
  #shardsLost = 0;
  #manager: PID | undefined;
  /** The application whose stop drains this runtime (stopper.ts), once loaded and started. */
  #app: string | undefined;
  #stopping: Promise<void> | undefined;
  #stopped = false;
  #onEmpty: (() => void) | undefined;
  /** @internal The reminder scheduler (undefined when the store keeps no reminders). */
  readonly reminders: ReminderScheduler | undefined;

  /**
   * @internal The clock of passivation and lease renewal (clock.ts): the wall clock, or the test
   * kit's TestClock. Capabilities that keep time of their own (reminders) schedule on it too.
   */
  readonly clock: EntitiesClock;

  /** @internal use {@link startEntities}. */
  constructor(node: Node, options: EntitiesOptions, seams: EntitiesSeams = {}) {
    this.node = node;
    this.clock = seams.clock ?? wallClock;
    this.store = options.store;
    this.measuredStore = this.#meter.wrap(options.store);
    this.owner = `${node.name}#${randomUUID()}`;
    this.leaseTtlMs = positive('leaseTtlMs', options.leaseTtlMs, ENTITIES_DEFAULTS.leaseTtlMs);
    this.inspectState = options.inspectState !== false;
    this.#shards = positive('shards', options.shards, ENTITIES_DEFAULTS.shards);
    this.#probeMs = positive('probeIntervalMs', options.probeIntervalMs, ENTITIES_DEFAULTS.probeIntervalMs);
    const renewMs = positive('renewIntervalMs', options.renewIntervalMs, Math.max(1, Math.floor(this.leaseTtlMs / 3)));
    if (renewMs >= this.leaseTtlMs)
      throw ErrEntityIncorrect.with(
        `renewIntervalMs (${renewMs}) must be shorter than leaseTtlMs (${this.leaseTtlMs})`,
      );
    this.#name = options.name ?? ENTITIES_DEFAULTS.name;
    if (typeof this.#name !== 'string' || this.#name === '')
      throw ErrEntityIncorrect.with('name must be a non-empty string');
    for (const k of options.kinds) {
      if (typeof k?.name !== 'string' || k.name.startsWith('~'))
        throw ErrEntityIncorrect.with(
          `kind ${JSON.stringify(k?.name)}: names starting with '~' are reserved (${SHARD_LEASE_KIND} is the shard leases' kind)`,
        );
      if (this.#kinds.has(k.name)) throw ErrEntityIncorrect.with(`kind ${k.name} given twice`);
      this.#kinds.set(k.name, k as EntityKind);
      this.#counters.set(k.name, new KindCounters());
    }
    this.#handOffMs = positive('handOffTimeoutMs', options.handOffTimeoutMs, ENTITIES_DEFAULTS.handOffTimeoutMs);
    if (options.takeOverFromDeadMembers !== undefined && typeof options.takeOverFromDeadMembers !== 'boolean')
      throw ErrEntityIncorrect.with(
        `takeOverFromDeadMembers must be true or false, got ${String(options.takeOverFromDeadMembers)}`,
      );
    if (options.leaseScope !== undefined && options.leaseScope !== 'key' && options.leaseScope !== 'shard')
      throw ErrEntityIncorrect.with(`leaseScope must be 'key' or 'shard', got ${String(options.leaseScope)}`);
    this.#leases = new Leases({
      node,
      store: this.measuredStore,
      owner: this.owner,
      ttlMs: this.leaseTtlMs,
      shards: this.#shards,
      shardScope: (options.leaseScope ?? ENTITIES_DEFAULTS.leaseScope) === 'shard',
      active: this.#active,
      owned: () => this.#owned,
      track: (release) => this.track(release),
      ...(options.takeOverFromDeadMembers === false ? {} : { dead: (holder: string) => this.#deadHolder(holder) }),
    });
    this.#membership = new Membership(node, this.#name, options.members ?? [], options.leader, {
      changed: () => {
        this.#observeMembers();
      },
      stopped: () => this.#stopped,
    });
    const store = options.store;
    this.reminders = isReminderStore(store)
      ? new ReminderScheduler(
          {
            store,
            log: node.log,
            clock: this.clock,
            shards: this.#shards,
            kind: (name) => this.#kinds.get(name),
            owned: () => this.#owned,
            deliver: (kind, key, fire, timeout) => this.#deliverReminder(kind, key, fire, timeout),
          },
          options.reminders,
        )
      : undefined;
    this.#timers.push(every(this.clock, renewMs, () => this.#leases.renew()));
    if (this.#membership.probed) {
      // Probes dial real nodes: wall-clock time, whatever the clock of the runtime's own timing.
      const probe = setInterval(() => this.#membership.probe(), this.#probeMs).unref();
      this.#timers.push(() => clearInterval(probe));
    }
  }

  /** @internal */
  async start(): Promise<void> {
    let event: Event | undefined;
    if (this.#membership.fromRegistrar) {
      const reg = this.node.network().registrar();
      if (reg.info().supportEvent) event = reg.event();
    }
    this.#manager = await this.node.spawnRegister(this.#name, EntityManager, {}, this, event);
    await this.#startApplication();
    await this.#membership.read();
    this.#observeMembers();
    this.reminders?.start();
    this.#membership.probe();
    this.#membership.tell({ '~entity': 'hello', node: this.node.name });
  }

  /** A reminder's fire to its entity: a durable message whose id is the fire's. */
  #deliverReminder(kind: string, key: string, fire: ReminderEnvelope, timeout: number): Promise<unknown> {
    return this.sendDurable({ kind, key }, fire as never, fire.fireId, { timeout });
  }

  /**
   * The live members: this node and the members it is connected to (the configured ones, or the
   * registrar's), less those that announced they leave, sorted. A draining node leaves itself out
   * (unless no other member is live).
   */
  members(): string[] {
    return this.#membership.live(this.#draining !== undefined);
  }

  /** The node that owns `to`'s key now (by this node's view of the live members). */
  ownerOf(to: EntityAddress<unknown>): string {
    return ownerOfShard(shardOf(to.key, this.#shards), this.members())!;
  }

  /** The entities active on this node. */
  active(): EntityAddress<unknown>[] {
    const out: EntityAddress<unknown>[] = [];
    for (const [kind, keys] of this.#active) for (const key of keys.keys()) out.push({ kind, key });
    return out;
  }

  /**
   * The runtime's figures now: entities active per kind, activations, passivations, other ends
   * and refused writes since the start, shards owned and moved, and the store's latency per
   * operation. Cheap (no store access): `@ergo-ts/metrics`' EntitiesCollector reads it per scrape.
   */
  stats(): EntitiesStats {
    const members = this.#observeMembers();
    const kinds: Record<string, KindStats> = {};
    for (const [name, c] of this.#counters) {
      const active = this.#active.get(name);
      let behind = 0;
      if (active !== undefined)
        for (const a of active.values())
          if (a.eventsSinceSnapshot !== undefined) behind = Math.max(behind, a.eventsSinceSnapshot());
      kinds[name] = {
        active: active?.size ?? 0,
        activations: c.activations,
        passivations: c.passivations,
        stopped: c.stopped,
        refused: c.refused,
        handedOff: c.handedOff,
        eventsPersisted: c.eventsPersisted,
        snapshots: c.snapshots,
        eventsSinceSnapshot: behind,
      };
    }
    const m = this.#meter.read();
    return {
      node: this.node.name,
      members,
      shards: this.#shards,
      shardsOwned: this.#owned.size,
      shardsGained: this.#shardsGained,
      shardsLost: this.#shardsLost,
      handOffs: this.#handOffs,
      draining: this.#draining !== undefined,
      kinds,
      store: m.store,
      storeInFlight: m.inFlight,
      storeOldestInFlightMs: m.oldestMs,
      ...(this.reminders === undefined ? {} : { reminders: this.reminders.stats() }),
    };
  }

  /** Recomputes the shards this node owns when the live members changed; counts those that moved. */
  #observeMembers(): string[] {
    const members = this.members();
    const seen = members.join('\n');
    if (seen === this.#seenMembers) return members;
    const first = this.#seenMembers === '';
    this.#seenMembers = seen;
    const owned = new Set<number>();
    for (let s = 0; s < this.#shards; s++) if (ownerOfShard(s, members) === this.node.name) owned.add(s);
    if (!first) {
      for (const s of owned) if (!this.#owned.has(s)) this.#shardsGained++;
      for (const s of this.#owned) if (!owned.has(s)) this.#shardsLost++;
    }
    this.#owned = owned;
    // Rebalancing: activations whose shard another live member owns now hand off to it (a
    // joined node gets its shards' entities on their next message, with their saved state).
    if (!first && !this.#stopped)
      for (const [kind, keys] of this.#active)
        for (const [key, { pid }] of keys) if (!owned.has(shardOf(key, this.#shards))) this.#handOff(kind, key, pid);
    if (!first && !this.#stopped && this.#draining === undefined) this.#leases.releaseLost();
    // The reminders of shards gained are due here now: scan at once.
    if (!first) this.reminders?.kick();
    return members;
  }

  /**
   * Whether a lease holder is dead: a member declared down, or an earlier runtime of this very
   * node (killed, and started again under the same name: its owner string differs from ours).
   */
  #deadHolder(holder: string): boolean {
    if (holder === this.owner) return false;
    const node = ownerNode(holder);
    return node === this.node.name || this.#membership.declaredDown(node);
  }

  /** Asks one activation to hand off (handle what it was sent, then stop and release its lease). */
  #handOff(kind: string, key: string, pid: PID): void {
    const k = `${kind}/${key}`;
    if (this.#handingOff.has(k)) return;
    this.#handingOff.add(k);
    try {
      this.node.send(pid, HANDOFF);
    } catch {
      this.#handingOff.delete(k); // already gone
    }
  }

  /**
   * Calls the entity at `to` with `request`: activates it on its owner when needed and resolves
   * with its reply, sent after the state the call changed was saved. Rejects with
   * ERR_ENTITY_UNAVAILABLE (no activation reached within the timeout), ERR_ENTITY_STALE_TOKEN
   * (the activation lost its key while answering), ERR_PROTOCOL_VIOLATION (a remote request the
   * protocol refuses) or the entity's own failure. A call that fails because its owner's node went
   * down is retried on the next owner: it may then run twice (at least once, not exactly once).
   */
  call<P extends AnyProtocol, const R extends RequestOf<P>>(
    to: EntityAddress<P>,
    request: R,
    options: EntityCallOptions = {},
  ): Promise<ReplyOf<P, R>> {
    return this.#guard('call', to, options, (target, left) =>
      this.node.call(new ProcessID(hostName(to.kind, to.key) as Atom, target as Atom), request as unknown, {
        timeout: left,
      }),
    ) as Promise<ReplyOf<P, R>>;
  }

  /**
   * Sends `message` to the entity at `to` (at most once): resolves when its owner's manager handed
   * it to the activation (activating it when needed), not when it was processed.
   */
  send<P extends AnyProtocol>(
    to: EntityAddress<P>,
    message: MessageOf<P>,
    options: EntityCallOptions = {},
  ): Promise<void> {
    return this.#guard('send', to, options, async (target, left) => {
      const req: SendRequest = { '~entity': 'send', kind: to.kind, key: to.key, message };
      const r = await this.#managerCall(target, req, left);
      if (!r.ok) throw ErrLeaseHeld.with(`${r.holder} until ${r.expiresAt}`);
    }) as Promise<void>;
  }

  /**
   * Sends `message` durably: resolves with 'accepted' once the owner stored it in the entity's
   * inbox (it is then processed at least once, by this activation or the next, and with its `id`
   * exactly once: the processed id is recorded in the same transaction as the state change), or
   * 'duplicate' when a message with this id was already accepted. Send again with the same id
   * after a failure.
   */
  sendDurable<P extends AnyProtocol>(
    to: EntityAddress<P>,
    message: MessageOf<P>,
    id: string,
    options: EntityCallOptions = {},
  ): Promise<'accepted' | 'duplicate'> {
    if (typeof id !== 'string' || id === '')
      return rejected(ErrEntityIncorrect.with('a durable message needs a non-empty id'), this.node.log, 'sendDurable');
    const env: DurableEnvelope = { '~entity': 'durable', id, message };
    return this.#guard('sendDurable', to, options, (target, left) =>
      this.node.call(new ProcessID(hostName(to.kind, to.key) as Atom, target as Atom), env, { timeout: left }),
    ) as Promise<'accepted' | 'duplicate'>;
  }

  /**
   * Hands this node's entities off before it stops (a rolling restart, a scale-down): tells the
   * other members it leaves (they route its keys to the next owners at once), takes no new
   * activation, and asks every activation to hand off: each handles what it was sent, saves,
   * stops and releases its lease, so the next message activates it on its new owner with its
   * state, without waiting for the lease to expire. Resolves when every lease is released (or,
   * after `handOffTimeoutMs`, once the activations still running were stopped). Calls keep
   * working from this node (routed to the other members). Idempotent; {@link stop} drains first.
   */
  drain(): Promise<void> {
    this.#draining ??= ignorable(this.#drain(), this.node.log, 'entities.drain');
    return this.#draining;
  }

  async #drain(): Promise<void> {
    this.#membership.tell({ '~entity': 'leaving', node: this.node.name });
    // Activations under way finish first (then they are active, and hand off as the others).
    await Promise.allSettled([...this.#activating.values()]);
    const empty = this.#whenEmpty();
    for (const [kind, keys] of this.#active) for (const [key, { pid }] of keys) this.#handOff(kind, key, pid);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), this.#handOffMs);
    });
    if ((await Promise.race([empty, late])) === 'late') {
      this.node.log.warning(
        'entities: %d activations did not hand off in %d ms; stopping them',
        this.#count(),
        this.#handOffMs,
      );
      this.#exitAll();
      await empty;
    }
    clearTimeout(timer);
    while (this.#releases.size > 0) await Promise.allSettled([...this.#releases]);
    // Shard leases last: every activation under them has ended.
    await this.#leases.releaseShards();
  }

  /** Resolves once this node runs no activation. */
  #whenEmpty(): Promise<void> {
    if (this.#count() === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const prev = this.#onEmpty;
      this.#onEmpty = () => {
        prev?.();
        resolve();
      };
    });
  }

  #exitAll(): void {
    for (const keys of this.#active.values())
      for (const { pid } of keys.values()) {
        try {
          this.node.sendExit(pid, TerminateReasonShutdown);
        } catch {
          // Already gone: its terminate has run or is running.
        }
      }
  }

  /**
   * Starts the application (named as the manager) whose stop drains this runtime: `node.stop()`
   * stops applications before it sends its processes their exits. Without it (the name is an
   * application of the node's already) the runtime still works, and `stop()` must come first.
   */
  async #startApplication(): Promise<void> {
    const name = this.#name;
    try {
      await this.node.applicationLoad(
        createApplication({
          name,
          description: 'drains the entities runtime when the node stops (@ergo-ts/entities)',
          group: [{ factory: EntitiesStopper, args: [this] }],
        }),
      );
    } catch (e) {
      this.node.log.warning(
        'entities: cannot load application %s (%s): node.stop() will not drain; call entities.stop() first',
        name,
        errorCode(e),
      );
      return;
    }
    this.#app = name;
    await this.node.applicationStartTemporary(name);
  }

  /** @internal StoppableRuntime: the application's stop (the node stops) drains and stops this runtime. */
  stopWithNode(): Promise<void> {
    // Stopped already, or stopping (its stop stopped the application): draining is under way or done.
    if (this.#stopping !== undefined) return this.drain();
    this.#app = undefined; // the node unloads nothing while it stops; nothing to stop here
    return this.stop();
  }

  /**
   * Stops this runtime: hands its entities off ({@link drain}: the other members are told, every
   * activation handles what it was sent and releases its lease), then stops the manager.
   * Idempotent. The store stays open (it is the caller's). `node.stop()` calls it too (before its
   * processes get their exits), through an application the runtime starts: either order drains.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    if (this.node.isAlive()) await this.drain();
    this.#stopped = true;
    this.reminders?.stop();
    for (const cancel of this.#timers) cancel();
    if (this.#count() > 0) {
      const empty = this.#whenEmpty();
      this.#exitAll();
      await empty;
    }
    if (this.#manager !== undefined && this.node.isAlive()) {
      try {
        this.node.sendExit(this.#manager, TerminateReasonShutdown);
      } catch {
        // Already gone.
      }
    }
    const app = this.#app;
    this.#app = undefined;
    if (app !== undefined && this.node.isAlive()) {
      // Its member's drain resolves at once now; then the name is free for a later runtime.
      try {
        await this.node.applicationStop(app);
        this.node.applicationUnload(app);
      } catch (e) {
        this.node.log.warning('entities: stopping application %s: %s', app, String(e));
      }
    }
  }

  /**
   * @internal the manager's activation of (kind, key) on this node. One at a time per key (a
   * second request joins the first); keys activate side by side.
   */
  activateLocal(kind: string, key: string): Promise<ActivateReply> {
    if (this.#draining !== undefined) return Promise.resolve({ ok: false, holder: '', expiresAt: 0, leaving: true });
    const id = `${kind}/${key}`;
    let p = this.#activating.get(id);
    if (p === undefined) {
      // A key activates only where its shard is owned. A caller follows a lease's holder here (the
      // node the key's shard just moved from keeps the shard's lease until its keys have handed
      // off): activated here, the key would stay on a node that no longer owns it, keeping the
      // lease, and every later call would follow it back (a join left keys stuck for good). One
      // running here still answers: its hand-off is under way, and the call reaches it by name.
      if (!this.#active.get(kind)?.has(key) && !this.#ownsShardOf(key))
        return Promise.resolve({ ok: false, holder: '', expiresAt: 0, moved: true });
      p = this.#activateNow(kind, key).finally(() => this.#activating.delete(id));
      this.#activating.set(id, p);
    }
    return p;
  }

  async #activateNow(kind: string, key: string): Promise<ActivateReply> {
    const k = this.#kinds.get(kind);
    if (k === undefined) throw ErrEntityIncorrect.with(`node ${this.node.name} hosts no entity kind ${kind}`);
    checkKey(key);
    try {
      await this.node.spawnRegister(hostName(kind, key), EntityHost, {}, this, k, key);
      return { ok: true };
    } catch (err) {
      if (ErrTaken.is(err)) return { ok: true }; // active, or being activated: the caller retries the name
      if (ErrLeaseHeld.is(err)) {
        const lease = await this.measuredStore.lease(this.#leases.leaseId(kind, key));
        return { ok: false, holder: lease?.owner ?? '', expiresAt: lease?.expiresAt ?? 0 };
      }
      throw err;
    }
  }

  /** @internal HostRuntime */
  activated(kind: string, key: string, token: number, pid: PID, eventsSinceSnapshot?: () => number): void {
    let keys = this.#active.get(kind);
    if (keys === undefined) this.#active.set(kind, (keys = new Map()));
    keys.set(key, { token, pid, eventsSinceSnapshot });
    // The members changed while it activated (after the hand-offs they asked for): it hands off
    // now rather than at the next change, which may never come.
    if (this.#draining === undefined && !this.#stopped && !this.#ownsShardOf(key)) this.#handOff(kind, key, pid);
  }

  /** Whether this node owns `key`'s shard by its view of the members now (the view refreshed first). */
  #ownsShardOf(key: string): boolean {
    this.#observeMembers();
    return this.#owned.has(shardOf(key, this.#shards));
  }

  /** @internal HostRuntime */
  readReminders(kind: string, key: string): Promise<readonly StoredReminder[]> | undefined {
    return isReminderStore(this.store) ? this.store.reminders({ kind, key }) : undefined;
  }

  /** @internal HostRuntime */
  journaled(kind: string, events: number, snapshot: boolean): void {
    const c = this.#counters.get(kind);
    if (c === undefined) return;
    c.eventsPersisted += events;
    if (snapshot) c.snapshots++;
  }

  /** @internal HostRuntime */
  /**
   * @internal Durable messages an ended activation accepted into the inbox but did not handle (its
   * write was refused as stale, or the store failed): sent again, each with its id, to the key's
   * owner now. Its enqueue answers 'duplicate' (the message is in the inbox), and an activation
   * told 'duplicate' of an id still in its inbox handles it (host.ts): so a message accepted by an
   * activation that lost its key is handled by the one that has it, not left in the inbox until the
   * key's next activation. Retried every second on the runtime's clock until it reaches an
   * activation, for up to {@link REDELIVER_ATTEMPTS} tries; the message stays in the inbox anyway.
   */
  redeliver(kind: string, key: string, pending: ReadonlyMap<string, unknown>): void {
    for (const [id, message] of pending) this.#redeliverOne(kind, key, id, message, 1);
  }

  #redeliverOne(kind: string, key: string, id: string, message: unknown, attempt: number): void {
    if (this.#stopped) return;
    this.sendDurable({ kind, key }, message as never, id, { timeout: 5000 }).then(
      () => undefined,
      (e: unknown) => {
        if (this.#stopped) return;
        if (attempt >= REDELIVER_ATTEMPTS) {
          this.node.log.warning(
            'entities: message %s of %s/%s accepted by an ended activation could not be handed to the key again (%s); it stays in the inbox for its next activation',
            id,
            kind,
            key,
            errorCode(e),
          );
          return;
        }
        const cancel = (): void => void this.clock.clearTimeout(handle);
        const handle = this.clock.setTimeout(() => {
          const i = this.#timers.indexOf(cancel);
          if (i >= 0) this.#timers.splice(i, 1);
          this.#redeliverOne(kind, key, id, message, attempt + 1);
        }, 1000);
        this.#timers.push(cancel);
      },
    );
  }

  ended(kind: string, key: string, token: number): void {
    const keys = this.#active.get(kind);
    if (keys?.get(key)?.token === token) {
      keys.delete(key);
      this.#handingOff.delete(`${kind}/${key}`);
      if (this.#draining === undefined) this.#leases.releaseLost();
    }
    if (this.#onEmpty !== undefined && this.#count() === 0) this.#onEmpty();
  }

  /** @internal HostRuntime */
  publish(event: EntityEvent): void {
    const c = this.#counters.get(event.kind);
    if (c !== undefined) {
      if (event.event === 'activated') c.activations++;
      else if (event.event === 'passivated') {
        c.passivations++;
        if (event.reason === HANDOFF_REASON) {
          c.handedOff++;
          this.#handOffs++;
        }
      } else if (event.event === 'stopped') c.stopped++;
      else if (event.event === 'refused') c.refused++;
    }
    if (channel.hasSubscribers) channel.publish(event);
  }

  /** @internal HostRuntime */
  openLease(kind: string, key: string): Promise<OpenedLease> {
    return this.#leases.open(kind, key);
  }

  /** @internal HostRuntime */
  releaseLease(kind: string, key: string, token: number): Promise<void> {
    return this.#leases.release(kind, key, token);
  }

  /** @internal HostRuntime */
  track(release: Promise<void>): void {
    this.#releases.add(release);
    void release.finally(() => this.#releases.delete(release));
  }

  /** @internal HostRuntime */
  log(format: string, ...args: unknown[]): void {
    this.node.log.warning(format, ...args);
  }

  /** @internal the manager heard that `node` leaves: its keys route to the next owners. */
  memberLeaving(node: string): void {
    if (node === this.node.name) return;
    this.#membership.leaving(node);
    this.#observeMembers();
  }

  /** @internal the manager heard that `node`'s runtime started: it counts again. */
  memberHello(node: string): void {
    this.#membership.hello(node);
    this.#observeMembers();
  }

  /** @internal the registrar told of a change: read its nodes again. */
  membershipChanged(): void {
    this.#membership.registrarChanged();
  }

  /** @internal the manager follows the registrar's events: probes read the registrar less often. */
  followingRegistrarEvents(): void {
    this.#membership.followingRegistrarEvents();
  }

  #count(): number {
    let n = 0;
    for (const keys of this.#active.values()) n += keys.size;
    return n;
  }

  /** Routes one operation to the owner, activating and re-routing until it succeeds or the deadline. */
  #guard(
    what: string,
    to: EntityAddress<unknown>,
    options: EntityCallOptions,
    attempt: (target: string, left: number) => Promise<unknown>,
  ): Promise<unknown> {
    let timeout: number;
    try {
      checkKey(to?.key);
      if (typeof to.kind !== 'string' || to.kind === '') throw ErrEntityIncorrect.with('not an entity address');
      timeout = positive('timeout', options.timeout, ENTITIES_DEFAULTS.callTimeoutMs);
    } catch (e) {
      return rejected(e, this.node.log, `entities.${what}`);
    }
    return ignorable(this.#route(to, timeout, attempt), this.node.log, `entities.${what}`);
  }

  async #route(
    to: EntityAddress<unknown>,
    timeout: number,
    attempt: (target: string, left: number) => Promise<unknown>,
  ): Promise<unknown> {
    const deadline = Date.now() + timeout;
    let target = this.ownerOf(to);
    let last = 'no attempt';
    /** The pause before routing again after a `moved` answer, ms. */
    let pause = 5;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw ErrEntityUnavailable.with(`${to.kind}/${to.key} within ${timeout} ms (${last})`);
      try {
        return await attempt(target, left);
      } catch (err) {
        last = ErrTimeout.is(err) ? noAnswer(target) : err instanceof Error ? err.message : String(err);
        if (ErrProcessUnknown.is(err) || ErrNameUnknown.is(err)) {
          // A local activation waits on the store, which may not answer (cut off, a key locked
          // by a stalled member): the caller's timeout bounds it as it bounds a remote one.
          let r: ActivateReply;
          try {
            r = await within(
              this.#activate(target, to, Math.max(1, deadline - Date.now())),
              Math.max(1, deadline - Date.now()),
              () => ErrEntityUnavailable.with(`${to.kind}/${to.key} within ${timeout} ms (activation: ${last})`),
            );
          } catch (e) {
            // The target went down meanwhile (it drained and stopped, or died): route again.
            if (ErrTimeout.is(e))
              throw ErrEntityUnavailable.with(`${to.kind}/${to.key} within ${timeout} ms (${noAnswer(target)})`, e);
            if (!retryable(e)) throw e;
            last = e instanceof Error ? e.message : String(e);
            await delay(Math.max(1, Math.min(this.#probeMs, deadline - Date.now())));
            target = this.ownerOf(to);
            continue;
          }
          if (r.ok) continue;
          if (r.moved === true) {
            // The target owns the key no more (its view), and runs none of it: route by ours
            // again. Paused, doubling: the owner by our view may refuse for a lease the target
            // still holds until its own keys of the shard have handed off, and send us back.
            await delay(Math.max(1, Math.min(pause, this.#probeMs, deadline - Date.now())));
            pause *= 2;
            target = this.ownerOf(to);
            continue;
          }
          if (r.leaving === true) {
            // The target drains: route to the owner among the members that stay.
            this.memberLeaving(target);
            const next = this.ownerOf(to);
            if (next === target) await delay(Math.max(1, Math.min(this.#probeMs, deadline - Date.now())));
            target = next;
            continue;
          }
          const holder = ownerNode(r.holder);
          if (holder !== target && this.members().includes(holder)) {
            target = holder;
            continue;
          }
          // The holder is gone (or is us, ending): wait for its lease to end, then re-route.
          await delay(Math.max(1, Math.min(r.expiresAt - Date.now() + 1, this.#probeMs, deadline - Date.now())));
          target = this.ownerOf(to);
          continue;
        }
        if (retryable(err)) {
          await delay(Math.max(1, Math.min(this.#probeMs, deadline - Date.now())));
          target = this.ownerOf(to);
          continue;
        }
        if (ErrTimeout.is(err))
          throw ErrEntityUnavailable.with(`${to.kind}/${to.key} within ${timeout} ms (${last})`, err);
        throw err;
      }
    }
  }

  #activate(target: string, to: EntityAddress<unknown>, left: number): Promise<ActivateReply> {
    if (target === this.node.name) return this.activateLocal(to.kind, to.key);
    return this.#managerCall(target, { '~entity': 'activate', kind: to.kind, key: to.key }, left);
  }

  async #managerCall(target: string, req: ActivateRequest | SendRequest, left: number): Promise<ActivateReply> {
    if (target === this.node.name && req['~entity'] === 'activate') return this.activateLocal(req.kind, req.key);
    const r = await this.node.call(new ProcessID(this.#name as Atom, target as Atom), req, { timeout: left });
    return toReply(r);
  }
}

/**
 * Starts the entities runtime on `node`: spawns its manager process (registered as
 * `options.name`, default 'entities') and begins renewing leases and dialling members. Rejects with
 * ERR_ENTITY_INCORRECT for a bad option, ERR_TAKEN when the manager's name is used.
 *
 * @example
 * const store = SqliteStore.open('entities.db');
 * const entities = await startEntities(node, { store, kinds: [Counter] });
 * await entities.send(entity(Counter, 'c1'), { add: 2 });
 * const n = await entities.call(entity(Counter, 'c1'), 'get'); // 2
 */
export function startEntities(node: Node, options: EntitiesOptions): Promise<Entities> {
  return startEntitiesWith(node, options, {});
}

/**
 * @internal The internal seams of a runtime, for the entities test kit (testing/): not part of
 * {@link EntitiesOptions}, so no user depends on them.
 */
export interface EntitiesSeams {
  /** The clock of passivation and lease renewal (default the wall clock). */
  readonly clock?: EntitiesClock;
}

/** @internal {@link startEntities} with the internal seams (the test kit's clock). */
export function startEntitiesWith(node: Node, options: EntitiesOptions, seams: EntitiesSeams): Promise<Entities> {
  let rt: Entities;
  try {
    rt = new Entities(node, options, seams);
  } catch (e) {
    return rejected(e, node.log, 'startEntities');
  }
  return ignorable(
    rt.start().then(
      () => rt,
      async (e: unknown) => {
        await rt.stop();
        throw e;
      },
    ),
    node.log,
    'startEntities',
  );
}
