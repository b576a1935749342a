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
  Actor,
  ErrNoConnection,
  ErrNoRoute,
  ErrProcessUnknown,
  ErrNameUnknown,
  ErrTaken,
  ErrTimeout,
  ProcessID,
  TerminateReasonShutdown,
  ignorable,
  rejected,
  type AnyProtocol,
  type Atom,
  type MessageOf,
  type Node,
  type PID,
  type Ref,
  type ReplyOf,
  type RequestOf,
} from 'ergo-ts';

import { checkKey } from './store.js';
import { type EntityAddress, type EntityKind } from './entity.js';
import { ErrEntityIncorrect, ErrEntityUnavailable, ErrLeaseHeld, ErrStaleToken } from './errors.js';
import { EntityHost, hostName, type DurableEnvelope, type EntityEvent, type HostRuntime } from './host.js';
import { ownerOfShard, shardOf } from './placement.js';
import { ManagerInspector, isInspectRequest, shardTable } from './inspect.js';
import { KindCounters, StoreMeter, type EntitiesStats, type KindStats } from './stats.js';
import type { EntityStore } from './store.js';

/** The diagnostics channel the runtime publishes {@link EntityEvent}s on. */
export const ENTITIES_CHANNEL = 'ergo-ts:entities';
const channel = diagnostics.channel(ENTITIES_CHANNEL);

/** Options of {@link startEntities}. */
export interface EntitiesOptions {
  /** Where leases, state and inboxes live. Every member must use the same store (or the same database). */
  readonly store: EntityStore;
  /** The kinds this node hosts (every member hosts the same kinds). */
  readonly kinds: readonly EntityKind<any, any>[];
  /**
   * The names of the cluster's nodes; a member counts while this node is connected to it (the
   * runtime dials absent members every `probeIntervalMs`, through the node's routes and registrar).
   * This node always counts. Default: none (every key is owned here).
   */
  readonly members?: readonly string[];
  /** How many shards keys map to: the same on every member. Default 64. */
  readonly shards?: number;
  /** How long a lease lasts unless renewed, in ms. Default 10 000. */
  readonly leaseTtlMs?: number;
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
}

/** Defaults of {@link EntitiesOptions}. */
export const ENTITIES_DEFAULTS = Object.freeze({
  shards: 64,
  leaseTtlMs: 10_000,
  probeIntervalMs: 500,
  name: 'entities',
  callTimeoutMs: 5000,
});

/** Options of {@link Entities.call} and the other sends. */
export interface EntityCallOptions {
  /** How long to wait for the reply (or acknowledgement), activation and re-routing included, in ms. Default 5000. */
  readonly timeout?: number;
}

interface ActivateRequest {
  readonly '~entity': 'activate';
  readonly kind: string;
  readonly key: string;
}
interface SendRequest {
  readonly '~entity': 'send';
  readonly kind: string;
  readonly key: string;
  readonly message: unknown;
}
/** A manager's answer to an activation (plain objects: they cross nodes as sent). */
type ActivateReply = { ok: true } | { ok: false; holder: string; expiresAt: number };

function isRequest(v: unknown, what: string): boolean {
  return typeof v === 'object' && v !== null && (v as { '~entity'?: unknown })['~entity'] === what;
}

/** The node name inside an owner string (`name#nonce`). */
function ownerNode(owner: string): string {
  const i = owner.lastIndexOf('#');
  return i < 0 ? owner : owner.slice(0, i);
}

function positive(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 31 - 1)
    throw ErrEntityIncorrect.with(`${name} must be an integer in 1..2^31-1, got ${String(v)}`);
  return n;
}

/** The manager process: activates entities of this node on request of any member. */
class EntityManager extends Actor {
  #rt!: Entities;
  #inspector: ManagerInspector | undefined;
  override init(rt: Entities): void {
    this.#rt = rt;
  }
  override handleInspect(): Record<string, string> {
    // Made at the first inspection: the manager's registered name exists only after its init.
    this.#inspector ??= new ManagerInspector(this.#rt, this.node.processName(this.pid));
    return this.#inspector.inspect();
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    if (isInspectRequest(request)) return JSON.stringify(shardTable(this.#rt));
    if (isRequest(request, 'activate')) {
      const r = request as ActivateRequest;
      return this.#rt.activateLocal(r.kind, r.key);
    }
    if (isRequest(request, 'send')) {
      const r = request as SendRequest;
      return this.#rt.activateLocal(r.kind, r.key).then((a) => {
        if (a.ok) this.send(new ProcessID(hostName(r.kind, r.key) as Atom, this.pid.node), r.message);
        return a;
      });
    }
    return new Error('entities manager: unknown request');
  }
}

/**
 * The entities runtime of one node (from {@link startEntities}). Its methods are safe to call from
 * anywhere on the node, inside actors included (they use the node's own call, not the caller's
 * process); every Promise it returns is safe to leave un-awaited.
 */
export class Entities implements HostRuntime {
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
  readonly #members: string[];
  readonly #shards: number;
  readonly #probeMs: number;
  readonly #name: string;
  /** kind → key → { token, pid } of this node's activations. */
  readonly #active = new Map<string, Map<string, { token: number; pid: PID }>>();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #meter = new StoreMeter();
  readonly #counters = new Map<string, KindCounters>();
  /** The live members last seen (joined) and the shards this node owned then, for hand-off counts. */
  #seenMembers = '';
  #owned = new Set<number>();
  #shardsGained = 0;
  #shardsLost = 0;
  #manager: PID | undefined;
  #stopped = false;
  #onEmpty: (() => void) | undefined;

  /** @internal use {@link startEntities}. */
  constructor(node: Node, options: EntitiesOptions) {
    this.node = node;
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
      if (this.#kinds.has(k.name)) throw ErrEntityIncorrect.with(`kind ${k.name} given twice`);
      this.#kinds.set(k.name, k as EntityKind);
      this.#counters.set(k.name, new KindCounters());
    }
    this.#members = [...new Set((options.members ?? []).map(String))].filter((m) => m !== node.name);
    this.#timers.push(setInterval(() => this.#renew(), renewMs).unref());
    if (this.#members.length > 0) this.#timers.push(setInterval(() => this.#probe(), this.#probeMs).unref());
  }

  /** @internal */
  async start(): Promise<void> {
    this.#manager = await this.node.spawnRegister(this.#name, EntityManager, {}, this);
    this.#observeMembers();
    this.#probe();
  }

  /** The live members: this node and the configured members it is connected to, sorted. */
  members(): string[] {
    if (this.#members.length === 0) return [this.node.name];
    const connected = this.#connected();
    return [this.node.name as string, ...this.#members.filter((m) => connected.has(m))].sort();
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
    for (const [name, c] of this.#counters)
      kinds[name] = {
        active: this.#active.get(name)?.size ?? 0,
        activations: c.activations,
        passivations: c.passivations,
        stopped: c.stopped,
        refused: c.refused,
      };
    const m = this.#meter.read();
    return {
      node: this.node.name,
      members,
      shards: this.#shards,
      shardsOwned: this.#owned.size,
      shardsGained: this.#shardsGained,
      shardsLost: this.#shardsLost,
      kinds,
      store: m.store,
      storeInFlight: m.inFlight,
      storeOldestInFlightMs: m.oldestMs,
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
    return members;
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
   * Stops this runtime: every activation of this node stops (releasing its lease), then the
   * manager. Idempotent. The store stays open (it is the caller's).
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    const empty = new Promise<void>((resolve) => {
      this.#onEmpty = resolve;
    });
    let any = false;
    for (const keys of this.#active.values())
      for (const { pid } of keys.values()) {
        any = true;
        try {
          this.node.sendExit(pid, TerminateReasonShutdown);
        } catch {
          // Already gone: its terminate has run or is running.
        }
      }
    if (any && this.#count() > 0) await empty;
    if (this.#manager !== undefined && this.node.isAlive()) {
      try {
        this.node.sendExit(this.#manager, TerminateReasonShutdown);
      } catch {
        // Already gone.
      }
    }
  }

  /** @internal the manager's activation of (kind, key) on this node. */
  async activateLocal(kind: string, key: string): Promise<ActivateReply> {
    const k = this.#kinds.get(kind);
    if (k === undefined) throw ErrEntityIncorrect.with(`node ${this.node.name} hosts no entity kind ${kind}`);
    checkKey(key);
    try {
      await this.node.spawnRegister(hostName(kind, key), EntityHost, {}, this, k, key);
      return { ok: true };
    } catch (err) {
      if (ErrTaken.is(err)) return { ok: true }; // active, or being activated: the caller retries the name
      if (ErrLeaseHeld.is(err)) {
        const lease = await this.measuredStore.lease({ kind, key });
        return { ok: false, holder: lease?.owner ?? '', expiresAt: lease?.expiresAt ?? 0 };
      }
      throw err;
    }
  }

  /** @internal HostRuntime */
  activated(kind: string, key: string, token: number, pid: PID): void {
    let keys = this.#active.get(kind);
    if (keys === undefined) this.#active.set(kind, (keys = new Map()));
    keys.set(key, { token, pid });
  }

  /** @internal HostRuntime */
  ended(kind: string, key: string, token: number): void {
    const keys = this.#active.get(kind);
    if (keys?.get(key)?.token === token) keys.delete(key);
    if (this.#onEmpty !== undefined && this.#count() === 0) this.#onEmpty();
  }

  /** @internal HostRuntime */
  publish(event: EntityEvent): void {
    const c = this.#counters.get(event.kind);
    if (c !== undefined) {
      if (event.event === 'activated') c.activations++;
      else if (event.event === 'passivated') c.passivations++;
      else if (event.event === 'stopped') c.stopped++;
      else if (event.event === 'refused') c.refused++;
    }
    if (channel.hasSubscribers) channel.publish(event);
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
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) throw ErrEntityUnavailable.with(`${to.kind}/${to.key} within ${timeout} ms (${last})`);
      try {
        return await attempt(target, left);
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
        if (ErrProcessUnknown.is(err) || ErrNameUnknown.is(err)) {
          // A local activation waits on the store, which may not answer (cut off, a key locked
          // by a stalled member): the caller's timeout bounds it as it bounds a remote one.
          const r = await within(
            this.#activate(target, to, Math.max(1, deadline - Date.now())),
            Math.max(1, deadline - Date.now()),
            () => ErrEntityUnavailable.with(`${to.kind}/${to.key} within ${timeout} ms (activation: ${last})`),
          );
          if (r.ok) continue;
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
        if (ErrLeaseHeld.is(err) || ErrNoConnection.is(err) || ErrNoRoute.is(err) || isGone(err)) {
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

  #renew(): void {
    for (const [kind, keys] of this.#active) {
      if (keys.size === 0) continue;
      const tokens = new Map([...keys].map(([key, v]) => [key, v.token]));
      this.measuredStore.renew(kind, this.owner, tokens, this.leaseTtlMs).then(
        (lost) => {
          for (const key of lost) {
            const a = keys.get(key);
            if (a === undefined || a.token !== tokens.get(key)) continue;
            this.node.log.warning('entity %s/%s: lease lost (token %d); ending this activation', kind, key, a.token);
            try {
              this.node.sendExit(a.pid, ErrStaleToken.with(`${kind}/${key}: lease lost`));
            } catch {
              // Already gone.
            }
          }
        },
        (err: unknown) => this.node.log.warning('entities: renewing leases failed: %s', String(err)),
      );
    }
  }

  /** The nodes this node is connected to (none when it runs without a network). */
  #connected(): Set<string> {
    try {
      return new Set<string>(this.node.network().nodes());
    } catch {
      return new Set();
    }
  }

  #probe(): void {
    if (this.#stopped || !this.node.isAlive() || this.#members.length === 0) return;
    this.#observeMembers();
    const connected = this.#connected();
    for (const m of this.#members) {
      if (connected.has(m)) continue;
      try {
        this.node
          .network()
          .getNode(m)
          .then(undefined, () => undefined);
      } catch {
        // No network on this node: members never connect.
      }
    }
  }
}

/** `p`'s outcome, or a rejection with `timedOut()` once `ms` pass (a late outcome of `p` is dropped). */
function within<T>(p: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), ms);
  });
  p.catch(() => undefined); // lost the race: its rejection must not go unhandled
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

function isGone(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ERR_PROCESS_TERMINATED' || code === 'ERR_NODE_TERMINATED' || code === 'ERR_NETWORK_STOPPED';
}

function toReply(r: unknown): ActivateReply {
  const get = (k: string): unknown => (r instanceof Map ? r.get(k) : (r as Record<string, unknown>)?.[k]);
  if (get('ok') === true) return { ok: true };
  return { ok: false, holder: String(get('holder') ?? ''), expiresAt: Number(get('expiresAt') ?? 0) };
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
  let rt: Entities;
  try {
    rt = new Entities(node, options);
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
