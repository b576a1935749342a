// The entities runtime of one node: it hosts the kinds it was given, routes calls and messages to
// the node that owns each key (routing.ts), and keeps the leases of its activations alive
// (leases.ts). It drives the parts of this folder, made and tied together in wiring.ts: its
// options (options.ts), the members (membership.ts) and the shards this node owns by them
// (ownership.ts), its activations (activations.ts, each one a host: host.ts), the manager process
// (manager.ts), the reminder scheduler, the inbox sweeper, the drain (drain.ts), the figures
// (inspect/stats.ts) and its stop with the node's (stopper.ts). Safety does not rest on the routing: the store's fencing token
// refuses every write of an activation that is no longer the key's newest.

import { randomUUID } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';

import {
  ProcessID,
  TerminateReasonShutdown,
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

import { wallClock, type EntitiesClock } from '../contract/clock.js';
import { ErrEntityIncorrect, ErrLeaseHeld } from '../contract/errors.js';
import { hostName } from '../contract/ids.js';
import { ownerOfShard, shardOf } from '../contract/placement.js';
import { isReminderStore, type StoredReminder } from '../contract/reminder_store.js';
import type { EntityId, EntityStore } from '../contract/store.js';
import type { InboxFailureResult } from '../contract/dead_letters.js';
import { KindCounters, StoreMeter, kindStatsOf, type EntitiesStats } from '../inspect/stats.js';
import { projectionsOf } from '../inspect/projections.js';
import type { EntityAddress, EntityKind } from '../kinds/entity.js';
import {
  ENTITIES_CHANNEL,
  HANDOFF_REASON,
  type DurableEnvelope,
  type EntityEvent,
  type HostRuntime,
} from './host_runtime.js';
import type { ActivationGate } from './activation_gate.js';
import type { Activations } from './activations.js';
import { drainActivations } from './drain.js';
import type { Leases, OpenedLease } from './leases.js';
import type { MemberLiveness } from './liveness.js';
import type { DeadLetters } from './dead_letters.js';
import type { InboxSweeper } from './inbox_sweeper.js';
import { EntityManager, type ManagerRuntime } from './manager.js';
import { ownerNode, type ActivateReply, type SendRequest } from './manager_protocol.js';
import type { MemberLease } from './member_lease.js';
import type { Membership } from './membership.js';
import {
  settingsOf,
  stopTimeoutOf,
  type RuntimeOptions,
  type EntitiesSeams,
  type EntitiesStopOptions,
  type EntityCallOptions,
} from './options.js';
import type { AttachedFeature, EntitiesFeature, FeatureHost, FeatureRequests } from './feature.js';
import type { ReminderScheduler } from './reminder_scheduler.js';
import { StoreHealth } from './store_health.js';
import { StoreWatermark } from './store_watermark.js';
import type { ShardOwnership } from './ownership.js';
import type { Redelivery } from './redelivery.js';
import type { Router, RoutedRuntime } from './routing.js';
import { startStopper, stopStopper, type StoppableRuntime } from './stopper.js';
import { AbandonableStore, StopBudget } from './stop_budget.js';
import { wireParts } from './wiring.js';

/**
 * New work (a call with `shed: true`, a workflow's start) is refused while this many of the
 * member's store operations in flight have waited longer than {@link OVERLOAD_STORE_MS}: several,
 * so one operation stuck alone (a key locked by a stalled member) sheds nothing.
 */
const OVERLOAD_STORE_OPS = 8;
/** See {@link OVERLOAD_STORE_OPS}, in ms: far above a store's answer when it keeps up (milliseconds). */
const OVERLOAD_STORE_MS = 1000;
/** How long after a store operation failed as unreachable its waits count as an outage, not an overload, in ms. */
const OUTAGE_MEMORY_MS = 10_000;

/** The channel of {@link ENTITIES_CHANNEL}: every {@link EntityEvent} is published on it. */
const channel = diagnostics.channel(ENTITIES_CHANNEL);

/**
 * The entities runtime of one node, without the features plugged into it (feature.ts): the
 * public `Entities` (entities.ts) is this with the workflow layer. Its methods are safe to call
 * from anywhere on the node, inside actors included (they use the node's own call, not the
 * caller's process); every Promise it returns is safe to leave un-awaited.
 */
export class EntitiesRuntime implements HostRuntime, ManagerRuntime, RoutedRuntime, StoppableRuntime, FeatureHost {
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
  /** Whether inspection shows entity states ({@link RuntimeOptions.inspectState}). */
  readonly inspectState: boolean;
  /**
   * 'member', or 'client' ({@link RuntimeOptions.role}): a client routes every operation to the
   * members and owns nothing (no shard, lease or activation; `active()` stays empty).
   */
  readonly role: 'member' | 'client';
  readonly #kinds: ReadonlyMap<string, EntityKind>;
  /** @internal Who the members are (membership.ts): the manager and the routing tell it what they hear. */
  readonly membership: Membership;
  /** This member's own lease (member_lease.ts; undefined on a client). */
  readonly #memberLease: MemberLease | undefined;
  readonly #handOffMs: number;
  /** {@link RuntimeOptions.stopTimeoutMs}. */
  readonly #stopMs: number;
  /** The phases of the drain or stop under way (stop_budget.ts; undefined before either). */
  #budget: StopBudget | undefined;
  /** Makes the measured store's waiting calls abandonable when a stop runs late (stop_budget.ts). */
  readonly #abandonable = new AbandonableStore();
  /** This node drains: it takes no activation and routes every key to the other members. */
  #draining: Promise<void> | undefined;
  /** Which activations this node admits, and their start (activation_gate.ts). */
  readonly #gate: ActivationGate;
  /** Lease releases of hand-offs not settled yet. */
  readonly #releases = new Set<Promise<void>>();
  #handOffs = 0;
  /** The leases of this node's activations (leases.ts). */
  readonly #leases: Leases;
  readonly #shards: number;
  readonly #name: string;
  /** Routes calls and sends to the owners of their keys (routing.ts). */
  readonly #router: Router;
  /** This node's activations (activations.ts). */
  readonly #activations: Activations;
  /** Cancels the runtime's repeating timers (lease renewal, member probes). */
  readonly #timers: (() => void)[];
  /** The liveness claim in the store and the away watch (liveness.ts). */
  readonly #liveness: MemberLiveness;
  /** Sends again what ended activations accepted and did not handle (redelivery.ts). */
  readonly #redelivery: Redelivery;
  /** Whether the store answers, as this member's operations see it (store_health.ts). */
  readonly #health: StoreHealth;
  readonly #meter = new StoreMeter((ok, unreachable) => this.#health.outcome(ok, unreachable));
  readonly #counters = new Map<string, KindCounters>();
  /** The shards this node owns by its view of the live members (ownership.ts). */
  readonly #ownership: ShardOwnership;
  #manager: PID | undefined;
  /** The application whose stop drains this runtime (stopper.ts), once loaded and started. */
  #app: string | undefined;
  #stopping: Promise<void> | undefined;
  #stopped = false;
  /** The features plugged into this runtime (feature.ts), attached in the constructor. */
  readonly #features: readonly AttachedFeature[];
  /** @internal The requests the features answer through the manager (manager.ts asks them in turn). */
  readonly requests: readonly FeatureRequests[];
  /** @internal The reminder scheduler (undefined when the store keeps no reminders). */
  readonly reminders: ReminderScheduler | undefined;
  /** @internal What this member remembers its store acknowledged (store_watermark.ts). */
  readonly watermark = new StoreWatermark();
  /** @internal The inbox sweeper (inbox_sweeper.ts; undefined when the store cannot list pending inboxes). */
  readonly inboxSweeper: InboxSweeper | undefined;
  /**
   * The poison messages set apart: durable messages whose handler failed `inbox.maxAttempts` times
   * were moved out of their key's inbox (so the key goes on); list, retry or drop them here
   * (runtime/dead_letters.ts). Its methods reject with ERR_ENTITY_INCORRECT on a store without them.
   */
  readonly deadLetters: DeadLetters;

  /**
   * @internal The clock of passivation and lease renewal (contract/clock.ts): the wall clock, or the test
   * kit's TestClock. Capabilities that keep time of their own (reminders) schedule on it too.
   */
  readonly clock: EntitiesClock;

  /** @internal use {@link startEntities}. */
  constructor(node: Node, options: RuntimeOptions, seams: EntitiesSeams = {}) {
    this.node = node;
    this.clock = seams.clock ?? wallClock;
    this.#health = new StoreHealth(this.clock);
    this.store = options.store;
    // Abandonable: a stop past its budget refuses the calls still waiting (stop_budget.ts).
    this.measuredStore = this.#abandonable.wrap(this.#meter.wrap(options.store));
    this.owner = `${node.name}#${randomUUID()}`;
    const s = settingsOf(options);
    this.leaseTtlMs = s.leaseTtlMs;
    this.inspectState = s.inspectState;
    this.role = s.client ? 'client' : 'member';
    this.#shards = s.shards;
    this.#name = s.name;
    this.#kinds = s.kinds;
    for (const name of s.kinds.keys()) this.#counters.set(name, new KindCounters());
    this.#handOffMs = s.handOffMs;
    this.#stopMs = s.stopMs;
    // The parts, tied to each other and to this runtime (wiring.ts).
    const parts = wireParts(
      this,
      options,
      s,
      {
        stopped: () => this.#stopped,
        draining: () => this.#draining !== undefined,
        deadHolder: (holder) => this.#deadHolder(holder),
        membersChanged: () => {
          this.#observeMembers();
        },
        backFromPause: () => this.#backFromPause(),
        ownsShardOf: (key) => this.#ownsShardOf(key),
      },
      this.#health,
    );
    this.#activations = parts.activations;
    this.#ownership = parts.ownership;
    this.#memberLease = parts.memberLease;
    this.#leases = parts.leases;
    this.#liveness = parts.liveness;
    this.membership = parts.membership;
    this.reminders = parts.reminders;
    this.inboxSweeper = parts.inboxSweeper;
    this.#gate = parts.gate;
    this.#router = parts.router;
    this.deadLetters = parts.deadLetters;
    this.#redelivery = parts.redelivery;
    this.#timers = parts.timers;
    // Last: a feature is given the runtime whole (a bad option of its own throws here).
    try {
      this.#features = (seams.features ?? []).map((f: EntitiesFeature<any>) => f.attach(this, options));
    } catch (e) {
      // The renewal and probe timers wired above would outlive a runtime nobody can stop.
      for (const cancel of this.#timers) cancel();
      throw e;
    }
    this.requests = this.#features.flatMap((f) => f.requests ?? []);
  }

  /** @internal */
  async start(): Promise<void> {
    let event: Event | undefined;
    if (this.membership.fromRegistrar) {
      const reg = this.node.network().registrar();
      if (reg.info().supportEvent) event = reg.event();
    }
    this.#manager = await this.node.spawnRegister(this.#name, EntityManager, {}, this, event);
    await startStopper(this.node, this.#name, this, (app) => {
      this.#app = app;
    });
    // Before any lease: a lease of ours is taken over early only once the store released this claim.
    if (this.role === 'member') await this.#liveness.start();
    await this.#memberLease?.take();
    await this.membership.read();
    this.#observeMembers();
    this.reminders?.start();
    this.inboxSweeper?.start();
    this.membership.probe();
    this.membership.tell({ '~entity': 'hello', node: this.node.name });
    for (const f of this.#features) f.start?.();
  }

  /** FeatureHost: the manager process's registered name. */
  get managerName(): string {
    return this.#name;
  }

  /** FeatureHost: the kind `name` this runtime hosts (or addresses, on a client). */
  kind(name: string): EntityKind<any, any> | undefined {
    return this.#kinds.get(name);
  }

  /** FeatureHost: every kind this runtime hosts (or addresses, on a client). */
  kinds(): EntityKind<any, any>[] {
    return [...this.#kinds.values()];
  }

  /** FeatureHost: whether this runtime's stop began. */
  stopping(): boolean {
    return this.#stopped || this.#stopping !== undefined;
  }

  /**
   * The live members: this node and the members it is connected to (the configured ones, or the
   * registrar's), less those that announced they leave, sorted; a draining node not itself (unless alone).
   */
  members(): string[] {
    return this.membership.live(this.#draining !== undefined);
  }

  /**
   * The node that owns `to`'s key now (by this node's view of the live members). On a client that
   * reaches no member, the owner by every configured member (routing dials it, and retries).
   */
  ownerOf(to: EntityAddress<unknown>): string {
    const shard = shardOf(to.key, this.#shards);
    return (
      ownerOfShard(shard, this.members(), this.#shards) ??
      ownerOfShard(shard, this.membership.configured(), this.#shards)!
    );
  }

  /** The entities active on this node. */
  active(): EntityAddress<unknown>[] {
    return this.#activations.list();
  }

  /**
   * The runtime's figures now: entities active per kind, activations, passivations, other ends
   * and refused writes since the start, shards owned and moved, and the store's latency per
   * operation. Cheap (no store access): `@ergo-ts/metrics`' EntitiesCollector reads it per scrape.
   */
  stats(): EntitiesStats {
    const members = this.#observeMembers();
    const kinds = kindStatsOf(this.#counters, this.#activations.byKind);
    const m = this.#meter.read();
    return {
      node: this.node.name,
      members,
      shards: this.#shards,
      shardsOwned: this.#ownership.owned.size,
      shardsGained: this.#ownership.gained,
      shardsLost: this.#ownership.lost,
      handOffs: this.#handOffs,
      draining: this.#draining !== undefined,
      kinds,
      store: m.store,
      storeInFlight: m.inFlight,
      storeOldestInFlightMs: m.oldestMs,
      activationsWaitingForStore: this.#health.waiting,
      ...(this.reminders === undefined ? {} : { reminders: this.reminders.stats() }),
      ...(this.inboxSweeper === undefined ? {} : { inbox: this.inboxSweeper.stats() }),
      projections: projectionsOf(this.node),
      workflows: {},
      ...this.#featureStats(),
    };
  }

  /** The features' parts of {@link stats}, merged. */
  #featureStats(): Partial<EntitiesStats> {
    let out: Partial<EntitiesStats> = {};
    const now = this.clock.now();
    for (const f of this.#features) if (f.stats !== undefined) out = { ...out, ...f.stats(now) };
    return out;
  }

  /** Recomputes the shards this node owns when the live members changed; counts those that moved. */
  #observeMembers(): string[] {
    const members = this.members();
    if (this.#ownership.observe(members) !== 'moved') return members;
    const owned = this.#ownership.owned;
    // Rebalancing: activations whose shard another live member owns now hand off to it (a
    // joined node gets its shards' entities on their next message, with their saved state).
    if (!this.#stopped) this.#activations.handOffWhere((key) => !owned.has(shardOf(key, this.#shards)));
    if (!this.#stopped && this.#draining === undefined) this.#leases.releaseLost();
    // The reminders and the inboxes of shards gained are this node's now: scan at once.
    this.reminders?.kick();
    this.inboxSweeper?.kick();
    return members;
  }

  /** @internal projections (projection/start.ts): whether a lease holder is dead, as for keys. */
  holderDead(holder: string): boolean {
    return this.#deadHolder(holder);
  }

  /** @internal projections: the store's word that a holder declared dead is gone, as for keys. */
  holderGone(holder: string): Promise<boolean> {
    return this.#liveness.gone(holder, (h) => this.#deadHolder(h));
  }

  /** @internal projections: this runtime drains or stopped (its singleton projections hand over). */
  get leaving(): boolean {
    return this.#draining !== undefined || this.#stopped;
  }

  /**
   * Another member saw this node's member lease end (it was paused past its lease, or cut off from
   * the store) and told the others it leaves: once its leases are renewed (those taken meanwhile
   * end their activations here), it says hello and counts again.
   */
  #backFromPause(): void {
    if (this.#memberLease === undefined || this.#draining !== undefined || this.#stopped) return;
    // With rejoinStableMs: it says hello only once it has been stable that long (rejoin.ts).
    const waits = this.membership.waitToRejoin() || this.membership.waiting;
    void this.#leases.renew().then((held) => {
      if (!waits && held && this.#draining === undefined && !this.#stopped)
        this.membership.tell({ '~entity': 'hello', node: this.node.name });
    });
  }

  /**
   * Whether a lease holder is dead: a member declared down, or an earlier runtime of this very
   * node (killed, and started again under the same name: its owner string differs from ours).
   */
  #deadHolder(holder: string): boolean {
    if (holder === this.owner) return false;
    const node = ownerNode(holder);
    return node === this.node.name || this.membership.declaredDown(node);
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
    return this.#router.guard('call', to, options, (target, left) =>
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
    return this.#router.guard('send', to, options, async (target, left) => {
      const req: SendRequest = { '~entity': 'send', kind: to.kind, key: to.key, message };
      const r = await this.#router.managerCall(target, req, left);
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
    return this.#router.guard('sendDurable', to, options, (target, left) =>
      this.node.call(new ProcessID(hostName(to.kind, to.key) as Atom, target as Atom), env, { timeout: left }),
    ) as Promise<'accepted' | 'duplicate'>;
  }

  /**
   * Hands this node's entities off before it stops (a rolling restart, a scale-down): tells the
   * other members it leaves (they route its keys to the next owners at once), takes no new
   * activation, and asks every activation to hand off (handle what it was sent, save, stop,
   * release its lease: its next owner need not wait for the lease to expire). Resolves when
   * every lease is released (or, after `handOffTimeoutMs`, once the activations still running
   * were stopped; every later wait is bounded: stop_budget.ts). Calls keep working from this node
   * (routed to the other members). Idempotent; {@link stop} drains first, within its time.
   */
  drain(): Promise<void> {
    if (this.#draining !== undefined) return this.#draining;
    // A stop's budget when the stop began first; a drain alone hands off for handOffTimeoutMs.
    const budget = (this.#budget ??= StopBudget.forDrain(this.#stopMs, this.#handOffMs));
    this.#draining = ignorable(
      drainActivations({
        log: this.node.log,
        budget,
        activations: this.#activations,
        leases: this.#leases,
        tellLeaving: () => this.membership.tell({ '~entity': 'leaving', node: this.node.name }),
        activating: () => this.#gate.pending(),
        releases: this.#releases,
        abandon: (why) => this.#abandon(why),
      }),
      this.node.log,
      'entities.drain',
    );
    return this.#draining;
  }

  /** Past the abandon point (stop_budget.ts): refuses store calls waiting (for good once stopping), kills the rest. */
  #abandon(why: string): void {
    this.#abandonable.abandon(why, this.#stopping !== undefined);
    this.#activations.killAll();
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
   * Resolves within `stopTimeoutMs` (default 4000; `options.timeout` for this stop) whatever the
   * load and the store: what did not hand off by then is abandoned to its lease (stop_budget.ts;
   * docs/deploy.md, "Stopping a member"). Idempotent: a stop under way keeps its budget; rejects
   * with ERR_ENTITY_INCORRECT for bad `options`. The store stays open (`stopMember` stops the
   * runtime, node and store within one deadline). `node.stop()` calls it too, through an
   * application the runtime starts (before its processes get their exits): either order drains.
   */
  stop(options?: EntitiesStopOptions): Promise<void> {
    if (this.#stopping !== undefined) return this.#stopping;
    let ms: number;
    try {
      ms = stopTimeoutOf(options, this.#stopMs);
    } catch (e) {
      return rejected(e, this.node.log, 'entities.stop');
    }
    this.#stopping = this.#stop(ms);
    return this.#stopping;
  }

  async #stop(stopMs: number): Promise<void> {
    // Every wait below ends by the budget's end (stop_budget.ts); hand-offs asked from now on
    // wait for effects in flight only until its hand-off phase ends.
    const b = StopBudget.forStop(stopMs, this.#handOffMs);
    if (this.#draining === undefined) this.#budget = b;
    if (this.node.isAlive() && (await StopBudget.until(this.drain(), b.end)) === 'late')
      this.#abandon(`the drain begun before the stop outlived its time (${stopMs} ms)`);
    this.#stopped = true;
    this.reminders?.stop();
    this.inboxSweeper?.stop();
    for (const cancel of this.#timers) cancel();
    for (const f of this.#features) f.stop?.();
    this.#redelivery.cancel();
    if (this.#activations.count() > 0) {
      const empty = this.#activations.whenEmpty();
      this.#activations.exitAll();
      if ((await StopBudget.until(empty, b.end)) === 'late') {
        this.#abandon(`${this.#activations.count()} activations still running after ${b.elapsed()} ms`);
        // Killed: each ends within the node's kill grace; the stop does not wait for them.
      }
    }
    if (this.#manager !== undefined && this.node.isAlive()) {
      try {
        this.node.sendExit(this.#manager, TerminateReasonShutdown);
      } catch {
        // Already gone.
      }
    }
    // Given back when the store answers in time; else they end by themselves (the member lease at
    // its ttl, the liveness claim with this process's connection or lock).
    const memberLease = this.#memberLease?.release() ?? Promise.resolve();
    const liveness = this.#liveness.stop();
    if ((await StopBudget.until(Promise.all([memberLease, liveness]), b.end)) === 'late')
      this.node.log.warning(
        'entities: stopping: the member lease and the liveness claim were not given back within the stop time (%d ms): left to end by themselves',
        stopMs,
      );
    this.#abandonable.abandon('the runtime stopped', true);
    const app = this.#app;
    this.#app = undefined;
    // Bounded too: its member answers once the drain ends, which may still run when late.
    if (app !== undefined && this.node.isAlive()) await StopBudget.until(stopStopper(this.node, app), b.end);
    const ms = b.elapsed();
    if (ms > stopMs) this.node.log.warning('entities: stopped in %d ms (stop time %d ms)', ms, stopMs);
  }

  /** @internal RoutedRuntime */
  activeHere(kind: string, key: string): boolean {
    return this.#activations.has(kind, key);
  }

  /**
   * @internal the manager's activation of (kind, key) on this node (activation_gate.ts): one at a
   * time per key (a second request joins the first); keys activate side by side.
   */
  activateLocal(kind: string, key: string, shed = false, waitMs = 0, leftMs?: number): Promise<ActivateReply> {
    // What is left of the caller's wait once room was given: an activation that failed because the
    // store could not be reached is held that long for the store to answer (activation_gate.ts).
    const until = performance.now() + waitMs;
    const held = (): number => Math.max(0, until - performance.now());
    if (shed && !this.#activations.has(kind, key)) {
      // New work for a key not active here, refused at once when this member is overloaded.
      const retryAfterMs = this.#overloaded(kind);
      if (retryAfterMs !== undefined) return Promise.resolve(overloadedReply(retryAfterMs));
      // Or held until a feature has room for it (the workflow layer: its runs), within the caller's wait.
      for (const f of this.#features) {
        const room = f.admit?.(kind, key, waitMs, leftMs);
        if (typeof room === 'number') return Promise.resolve(overloadedReply(room));
        if (room !== undefined)
          return room.then((after) =>
            after === undefined ? this.#gate.activate(kind, key, held()) : overloadedReply(after),
          );
      }
    }
    return this.#gate.activate(kind, key, held());
  }

  /**
   * Whether this member is overloaded for new work of `kind`, and how long its caller should wait
   * (ms): its store's operations wait — the {@link OVERLOAD_STORE_OPS}th oldest in flight for
   * longer than {@link OVERLOAD_STORE_MS}: activations, commits and leases queue behind a saturated
   * store or event loop — or a feature says so (the workflow layer: its step attempts wait in a line).
   */
  #overloaded(kind: string): number | undefined {
    // Operations waiting on a store that failed as unreachable lately wait on an outage (a
    // failover), which new work rides through as documented: not an overload to shed.
    const waited = this.#meter.waitedByOldest(OVERLOAD_STORE_OPS);
    if (waited > OVERLOAD_STORE_MS && !this.#meter.unreachableWithin(OUTAGE_MEMORY_MS)) return Math.min(30_000, waited);
    for (const f of this.#features) {
      const retryAfterMs = f.overloaded?.(kind);
      if (retryAfterMs !== undefined) return retryAfterMs;
    }
    return undefined;
  }

  /** @internal HostRuntime */
  activated(
    kind: string,
    key: string,
    token: number,
    pid: PID,
    eventsSinceSnapshot?: () => number,
    standby?: (name: string) => boolean,
  ): void {
    this.#activations.add(kind, key, { token, pid, eventsSinceSnapshot, standby });
    // The members changed while it activated (after the hand-offs they asked for): it hands off
    // now rather than at the next change, which may never come.
    if (this.#draining === undefined && !this.#stopped && !this.#ownsShardOf(key)) this.#activations.handOff(kind, key);
  }

  /** Whether this node owns `key`'s shard by its view of the members now (the view refreshed first). */
  #ownsShardOf(key: string): boolean {
    this.#observeMembers();
    return this.#ownership.owned.has(shardOf(key, this.#shards));
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

  /**
   * @internal Durable messages an ended activation accepted into the inbox but did not handle: sent
   * again, each with its id, to the key's owner now (redelivery.ts says how and how long).
   */
  redeliver(kind: string, key: string, pending: ReadonlyMap<string, unknown>): void {
    this.#redelivery.redeliver(kind, key, pending);
  }

  /** @internal HostRuntime: a durable message's handler failed (dead_letters.ts counts it in the store). */
  inboxFailed(
    kind: string,
    key: string,
    fence: { readonly token: number; readonly lease?: EntityId | undefined },
    id: string,
    error: unknown,
  ): Promise<InboxFailureResult | undefined> {
    return this.deadLetters.failed(kind, key, fence, id, error);
  }

  ended(kind: string, key: string, token: number): void {
    if (this.#activations.remove(kind, key, token) && this.#draining === undefined) this.#leases.releaseLost();
    this.#activations.settle();
    // A reminder that stood by for this activation's end is due now (not while draining: the key moves on).
    if (this.#draining === undefined && !this.#stopped) this.reminders?.ended(kind, key);
  }

  /** @internal HostRuntime */
  publish(event: EntityEvent): void {
    const c = this.#counters.get(event.kind);
    const handOff = event.event === 'passivated' && event.reason === HANDOFF_REASON;
    if (c !== undefined) c.count(event.event, handOff);
    if (handOff && c !== undefined) this.#handOffs++;
    if (channel.hasSubscribers) channel.publish(event);
  }

  /** @internal HostRuntime */
  openLease(kind: string, key: string): Promise<OpenedLease> {
    return this.#leases.open(kind, key);
  }

  /**
   * @internal HostRuntime: resolves true once the lease the activation (kind, key) with `token`
   * writes under is confirmed within its ttl less the margin (renewed first when it is not), false
   * when it may be lost: the activation runs no side effect then.
   */
  async confirmLease(kind: string, key: string, token: number): Promise<boolean> {
    // Not registered yet (its init runs) or still this activation: the lease is what decides.
    const mine = (): boolean => !this.#stopped && [undefined, token].includes(this.#activations.tokenOf(kind, key));
    return mine() && (await this.#leases.confirm(kind, key, token, mine)) && mine();
  }

  /** @internal HostRuntime: whether that lease is fresh now, asking nothing (see {@link confirmLease}). */
  leaseFresh(kind: string, key: string, token: number): boolean {
    if (this.#stopped || !this.#leases.fresh(kind, key, token)) return false;
    const t = this.#activations.tokenOf(kind, key);
    return t === undefined || t === token;
  }

  /**
   * @internal HostRuntime: how long a hand-off waits for an activation's effects in flight: what
   * is left of the drain's or stop's hand-off phase when one runs (stop_budget.ts).
   */
  get handOffTimeoutMs(): number {
    const b = this.#budget;
    return b === undefined ? this.#handOffMs : Math.max(1, Math.floor(b.handOffEnd - performance.now()));
  }

  /** @internal HostRuntime */
  releaseLease(kind: string, key: string, token: number): Promise<void> {
    return this.#leases.release(kind, key, token);
  }

  /** @internal HostRuntime */
  leaseRefused(kind: string, key: string, token: number): void {
    this.#leases.refused(kind, key, token);
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
}

/** An activation refused as the member is overloaded: its caller asks again after `retryAfterMs`. */
function overloadedReply(retryAfterMs: number): ActivateReply {
  return { ok: false, holder: '', expiresAt: 0, overloaded: retryAfterMs };
}
