// The leases of one entities runtime: each activation's key lease, or under `leaseScope: 'shard'`
// the shard leases its activations share; taking, renewing (a lease lost ends its activations
// here) and releasing them (runtime.ts decides when, from the shards this node owns).

import { TerminateReasonShutdown, type Node, type PID } from 'ergo-ts';

import { errorCode } from '../contract/codes.js';
import { shardOf } from '../contract/placement.js';
import type { ActivationLoad, EntityId, EntityStore, LeaseResult } from '../contract/store.js';
import type { MemberLease } from './member_lease.js';

/** Exit reasons made by {@link leaseLost}: the host knows them by identity. */
const lostReasons = new WeakMap<Error, string>();

/**
 * The exit reason that ends an activation whose lease (its key's, or its shard's) was lost. A
 * shutdown for the core, so the node does not log it as an abnormal termination: the host logs it
 * once, as a warning naming the kind, key and token, and leaves the lease alone (it is another
 * activation's now).
 */
export function leaseLost(detail: string): Error {
  const reason = TerminateReasonShutdown.with(detail);
  lostReasons.set(reason, detail);
  return reason;
}

/** The detail of an exit reason {@link leaseLost} made (undefined for any other reason). */
export function lostLeaseDetail(reason: Error): string | undefined {
  return lostReasons.get(reason);
}

/** The kind under which shard leases are kept in the store's lease table (`leaseScope: 'shard'`). */
export const SHARD_LEASE_KIND = '~shard';

/**
 * The lease a key's activations write under: its shard's (`shardScope`, `shards` shards) or its own.
 * @internal the runtime's leases and the test kit.
 */
export function leaseIdOf(shardScope: boolean, shards: number, kind: string, key: string): EntityId {
  return shardScope ? { kind: SHARD_LEASE_KIND, key: String(shardOf(key, shards)) } : { kind, key };
}

/** What a {@link Leases} works with: the runtime's store, identity and activations. */
export interface LeaseSettings {
  readonly node: Node;
  /** The store, each operation timed for the runtime's stats. */
  readonly store: EntityStore;
  /** The runtime's lease owner string (`<node name>#<random>`). */
  readonly owner: string;
  /** How long a lease lasts unless renewed, in ms. */
  readonly ttlMs: number;
  /** How many shards keys map to. */
  readonly shards: number;
  /** `leaseScope: 'shard'`. */
  readonly shardScope: boolean;
  /** The runtime's activations: kind → key → { token, pid } (read, never changed here). */
  readonly active: ReadonlyMap<string, ReadonlyMap<string, { token: number; pid: PID }>>;
  /** The shards this node owns now. */
  readonly owned: () => ReadonlySet<number>;
  /** Keeps a release until it settles (a drain waits for it). */
  readonly track: (release: Promise<void>) => void;
  /** The member's own lease (member_lease.ts), renewed with the others; absent on a client. */
  readonly member?: MemberLease | undefined;
  /**
   * Whether a lease holder (an owner string) is declared dead by this node (its connection went
   * down): then the store is asked ({@link gone}). Absent: holders' leases are always waited out.
   */
  readonly dead?: (holder: string) => boolean;
  /**
   * The store's word that a holder declared dead is gone (its liveness claim released:
   * contract/liveness.ts): only then is its lease taken over at once (`takeOverFrom`). A closed
   * connection alone is never enough: a member resumed from a pause sees its live peers'
   * connections closed. Absent or false: the lease is waited out.
   */
  readonly gone?: (holder: string) => Promise<boolean>;
}

/**
 * How much of a lease's time-to-live an activation does not count on, as a share of it: before a
 * side effect, the lease must have been confirmed (taken or renewed, timed from when the request
 * was sent) within `ttl × (1 − LEASE_MARGIN)`, else the store is asked first. The margin covers
 * the store's clock running apart from this process's monotonic clock over one lease.
 */
export const LEASE_MARGIN = 0.2;

/** An activation's lease and, when the store read it in the same operation, what its key holds. */
export interface OpenedLease {
  /** The lease taken (with the shard lease it belongs to under `leaseScope: 'shard'`), or who holds it. */
  readonly lease: LeaseResult & { readonly lease?: EntityId };
  /** The key's state and inbox, read after the lease was taken; absent: the caller reads them. */
  readonly load?: ActivationLoad;
}

/** The leases of one runtime's activations (see {@link LeaseSettings}). */
export class Leases {
  readonly #node: Node;
  readonly #store: EntityStore;
  readonly #owner: string;
  readonly #ttlMs: number;
  readonly #shards: number;
  readonly #shardScope: boolean;
  readonly #active: LeaseSettings['active'];
  readonly #owned: () => ReadonlySet<number>;
  readonly #track: (release: Promise<void>) => void;
  readonly #dead: ((holder: string) => boolean) | undefined;
  readonly #gone: ((holder: string) => Promise<boolean>) | undefined;
  readonly #member: MemberLease | undefined;
  /**
   * When each lease held was last confirmed, and under which token: performance.now() when the
   * acquire or renewal that the store accepted was sent (the store's expiry is at least that plus
   * the ttl). By lease id. The token matters: a shard lease lost and taken again here vouches for
   * the activations of its new token only, never for one still running under the old (issue 89).
   */
  readonly #confirmed = new Map<string, { readonly token: number; readonly at: number }>();
  /**
   * When a write under a lease was last refused as stale, and under which token (see
   * {@link refused}), until confirmed after: a newer token's confirmations are not this refusal's.
   */
  readonly #refusedAt = new Map<string, { readonly token: number; readonly at: number }>();
  /** A renewal asked for by {@link confirm} and not settled yet (one at a time). */
  #confirming: Promise<unknown> | undefined;
  /** Shard leases being taken or held (`leaseScope: 'shard'`), by shard. */
  readonly #shardLeases = new Map<number, Promise<LeaseResult>>();
  /** Shard leases held, shard → token. */
  readonly #heldShards = new Map<number, number>();
  /**
   * The holder last found dead: the next takes name it at once (one store round trip, not two,
   * for each key of a dead member a survivor takes over). Naming a holder that holds nothing is
   * harmless: a lease held by anyone else is refused as usual.
   */
  #lastDead: string | undefined;

  constructor(s: LeaseSettings) {
    this.#node = s.node;
    this.#store = s.store;
    this.#owner = s.owner;
    this.#ttlMs = s.ttlMs;
    this.#shards = s.shards;
    this.#shardScope = s.shardScope;
    this.#active = s.active;
    this.#owned = s.owned;
    this.#track = s.track;
    this.#dead = s.dead;
    this.#gone = s.gone;
    this.#member = s.member;
  }

  /**
   * Whether the lease (kind, key) writes under was confirmed under `token` (the activation's) within
   * the ttl less the margin ({@link LEASE_MARGIN}), by this process's monotonic clock.
   */
  fresh(kind: string, key: string, token: number): boolean {
    const c = this.#confirmed.get(leaseKey(this.leaseId(kind, key)));
    return c !== undefined && c.token === token && performance.now() - c.at < this.#ttlMs * (1 - LEASE_MARGIN);
  }

  /**
   * Resolves true once the lease (kind, key) writes under is confirmed fresh under `token`
   * ({@link fresh}): at once when it is, else after renewals of every lease held (one at a time,
   * shared by the activations that ask meanwhile). A renewal the store accepted whose answer came
   * too late to vouch for the margin (a starved loop), or one that failed (a busy or unreachable
   * store), is not taken as the lease lost: renewals go on while they keep being accepted, and
   * after a failure while the lease is still this activation's by the last renewal the store
   * accepted (its send time plus the ttl). Ending the activation there cost the lease it could
   * have kept and a re-activation elsewhere (issue 89). False once it is lost (the store said so,
   * a write under it was refused), held here under a newer token, `wanted()` says no more (the
   * activation ended, the runtime stops), or no renewal was accepted within the lease's time: the
   * caller runs no side effect; a lost lease's activations are being ended.
   */
  async confirm(kind: string, key: string, token: number, wanted: () => boolean = () => true): Promise<boolean> {
    const k = leaseKey(this.leaseId(kind, key));
    let accepted = false;
    for (let round = 0; ; round++) {
      if (this.fresh(kind, key, token)) return true;
      // Held here under a newer token: no renewal can vouch for this one again.
      if (this.#superseded(kind, key, token) || !wanted()) return false;
      const before = this.#confirmed.get(k);
      // Past the first two rounds (a renewal already under way may have been sent before the
      // moment that made us ask: one more), only while the last round's renewal was accepted
      // under this token (the lease is still ours, however late its answer came: the loop
      // stood still longer than the ttl) or the lease can still be this activation's.
      if (round >= 2 && !accepted && !this.#mayHold(before, token)) return false;
      this.#confirming ??= this.renew().finally(() => (this.#confirming = undefined));
      await this.#confirming.catch(() => undefined);
      const after = this.#confirmed.get(k);
      accepted = after !== undefined && after !== before && after.token === token;
      // No newer acceptance (failed, or still under way elsewhere): pause before asking again, so
      // a store that fails at once is not asked in a tight loop.
      if (round >= 1 && !this.fresh(kind, key, token) && !accepted)
        await pause(Math.max(1, Math.floor(this.#ttlMs / 40)));
    }
  }

  /**
   * Whether the lease confirmed as `c` may still be this activation's (`token`): the store's expiry
   * is at least the accepted renewal's send time plus the ttl, so until then nobody else can hold it.
   */
  #mayHold(c: { readonly token: number; readonly at: number } | undefined, token: number): boolean {
    return c !== undefined && c.token === token && performance.now() < c.at + this.#ttlMs;
  }

  /**
   * A write under (kind, key)'s lease was refused as stale: that lease (the key's, or its shard's)
   * is not fresh any more. Without this a shard's other activations went on confirming it from the
   * last renewal and ran a step after the shard had passed to another member (the fault checker:
   * one step run on each side, after a restart of a paused member).
   */
  refused(kind: string, key: string, token: number): void {
    const k = leaseKey(this.leaseId(kind, key));
    // A newer token's confirmation stays: the refusal was of a write under `token` or an older one.
    const c = this.#confirmed.get(k);
    if (c !== undefined && c.token <= token) this.#confirmed.delete(k);
    // A renewal under `token` or older sent before the refusal, answered after it, confirms nothing.
    const was = this.#refusedAt.get(k);
    if (was === undefined || was.token <= token) this.#refusedAt.set(k, { token, at: performance.now() });
  }

  /** Whether the lease (kind, key) writes under is confirmed here under a token newer than `token`. */
  #superseded(kind: string, key: string, token: number): boolean {
    const c = this.#confirmed.get(leaseKey(this.leaseId(kind, key)));
    return c !== undefined && c.token > token;
  }

  /** Marks a lease confirmed under `token` as of `sentAt` (when the accepted request was sent). */
  #confirmedAt(id: EntityId, token: number, sentAt: number): void {
    const k = leaseKey(id);
    const refused = this.#refusedAt.get(k);
    if (refused !== undefined && token <= refused.token && sentAt < refused.at) return;
    if (refused !== undefined && token >= refused.token) this.#refusedAt.delete(k);
    const was = this.#confirmed.get(k);
    // Tokens only grow: an older token's answer, come late, says nothing of the newer one's lease.
    if (was === undefined || was.token < token || (was.token === token && was.at < sentAt))
      this.#confirmed.set(k, { token, at: sentAt });
  }

  /** Forgets a lease's confirmation under `token` or older (a newer token's is not this loss's). */
  #unconfirm(id: EntityId, token: number): void {
    const k = leaseKey(id);
    const c = this.#confirmed.get(k);
    if (c !== undefined && c.token <= token) this.#confirmed.delete(k);
  }

  /** Gives every shard lease back (the last step of a drain: no activation runs under them any more). */
  releaseShards(): Promise<unknown> {
    return Promise.allSettled([...this.#heldShards.keys()].map((s) => this.#releaseShard(s)));
  }

  /** The lease (kind, key) activations write under. */
  leaseId(kind: string, key: string): EntityId {
    return leaseIdOf(this.#shardScope, this.#shards, kind, key);
  }

  /** Takes the lease of (kind, key): its own, or under `leaseScope: 'shard'` its shard's (taken once, then shared). */
  async take(kind: string, key: string): Promise<LeaseResult & { lease?: EntityId }> {
    if (!this.#shardScope) return this.#acquire({ kind, key });
    const shard = shardOf(key, this.#shards);
    const id = this.leaseId(kind, key);
    let p = this.#shardLeases.get(shard);
    if (p === undefined) {
      const taking = this.#acquire(id);
      this.#shardLeases.set(shard, taking);
      p = taking;
      taking.then(
        (r) => {
          if (this.#shardLeases.get(shard) !== taking) return;
          if (r.acquired) this.#heldShards.set(shard, r.token);
          else this.#shardLeases.delete(shard); // held elsewhere: ask again next time
        },
        () => {
          if (this.#shardLeases.get(shard) === taking) this.#shardLeases.delete(shard);
        },
      );
    }
    const r = await p;
    return r.acquired ? { ...r, lease: id } : r;
  }

  /**
   * Takes the lease an activation of (kind, key) writes under, as {@link take} does; with key leases
   * on a store that has `acquireAndLoad`, it reads the key's state and inbox in the same store
   * operation (PostgreSQL: one round trip and one commit instead of a commit then a read).
   */
  async open(kind: string, key: string): Promise<OpenedLease> {
    if (this.#shardScope || this.#store.acquireAndLoad === undefined) return { lease: await this.take(kind, key) };
    const request = { kind, key, owner: this.#owner, ttlMs: this.#ttlMs };
    const presumed = this.#presumedDead();
    let sentAt = performance.now();
    const r = await this.#store.acquireAndLoad(
      presumed === undefined ? request : { ...request, takeOverFrom: presumed },
    );
    if (r.lease.acquired) this.#confirmedAt(request, r.lease.token, sentAt);
    if (r.lease.acquired || !(await this.#confirmedGone(r.lease.holder))) return r;
    this.#lastDead = r.lease.holder;
    sentAt = performance.now();
    const taken = await this.#store.acquireAndLoad({ ...request, takeOverFrom: r.lease.holder });
    if (taken.lease.acquired) {
      this.#confirmedAt(request, taken.lease.token, sentAt);
      this.#tookOver(request, r.lease.holder, taken.lease.token);
    }
    return taken;
  }

  /**
   * Takes a lease (a key's or a shard's); one its holder holds still is taken over at once when
   * that holder is declared dead (its node went down): the fencing token keeps the holder's later
   * writes refused should it be alive after all (a partition, a pause).
   */
  async #acquire(id: EntityId): Promise<LeaseResult> {
    const presumed = this.#presumedDead();
    const request = { ...id, owner: this.#owner, ttlMs: this.#ttlMs };
    let sentAt = performance.now();
    const r = await this.#store.acquire(presumed === undefined ? request : { ...request, takeOverFrom: presumed });
    if (r.acquired) this.#confirmedAt(id, r.token, sentAt);
    if (r.acquired || !(await this.#confirmedGone(r.holder))) return r;
    this.#lastDead = r.holder;
    sentAt = performance.now();
    const taken = await this.#store.acquire({ ...id, owner: this.#owner, ttlMs: this.#ttlMs, takeOverFrom: r.holder });
    if (taken.acquired) {
      this.#confirmedAt(id, taken.token, sentAt);
      this.#tookOver(id, r.holder, taken.token);
    }
    return taken;
  }

  /**
   * Whether `holder` may be taken over from at once: this node declares it dead (its connection
   * went down) and the store confirms it is gone (its liveness claim released). Without the
   * store's word the lease is waited out: a member back from a pause declares its live peers
   * dead, and they are not.
   */
  async #confirmedGone(holder: string): Promise<boolean> {
    if (holder === '' || this.#dead === undefined || this.#gone === undefined || !this.#dead(holder)) return false;
    try {
      return await this.#gone(holder);
    } catch (e) {
      this.#node.log.warning(
        'entities: asking the store whether %s is gone failed (%s): its leases are waited out',
        holder,
        errorCode(e),
      );
      return false;
    }
  }

  /** The holder last found dead while it still counts as dead (it may be back: then none). */
  #presumedDead(): string | undefined {
    const h = this.#lastDead;
    if (h === undefined || this.#dead === undefined) return undefined;
    if (this.#dead(h)) return h;
    this.#lastDead = undefined;
    return undefined;
  }

  #tookOver(id: EntityId, holder: string, token: number): void {
    this.#node.log.info(
      'entities: took over %s/%s from %s (its node is down and the store released its liveness claim) with token %d',
      id.kind,
      id.key,
      holder,
      token,
    );
  }

  /** Gives the lease of (kind, key) back (a shard's lease stays with this node). */
  release(kind: string, key: string, token: number): Promise<void> {
    if (this.#shardScope) return Promise.resolve(); // the shard's lease stays with this node
    this.#unconfirm({ kind, key }, token);
    return this.#store.release({ kind, key }, token);
  }

  /** Releases the shard leases of shards this node no longer owns and runs no key of. */
  releaseLost(): void {
    if (!this.#shardScope || this.#heldShards.size === 0) return;
    // Called as each activation ends: the shards held and no longer owned first (none, but after
    // a change of the members), so the keys are not hashed by the thousand for every end (under a
    // spike, with thousands of activations, that scan took half a member's CPU).
    const owned = this.#owned();
    const lost = [...this.#heldShards.keys()].filter((s) => !owned.has(s));
    if (lost.length === 0) return;
    const busy = new Set<number>();
    for (const keys of this.#active.values()) for (const key of keys.keys()) busy.add(shardOf(key, this.#shards));
    for (const s of lost) if (!busy.has(s)) this.#track(this.#releaseShard(s));
  }

  /** Gives a shard lease back (the node drains, or no longer owns the shard and runs none of its keys). */
  #releaseShard(shard: number): Promise<void> {
    const token = this.#heldShards.get(shard);
    this.#shardLeases.delete(shard);
    this.#heldShards.delete(shard);
    this.#confirmed.delete(leaseKey({ kind: SHARD_LEASE_KIND, key: String(shard) }));
    if (token === undefined) return Promise.resolve();
    return this.#store.release({ kind: SHARD_LEASE_KIND, key: String(shard) }, token).catch((e: unknown) => {
      this.#node.log.warning('entities: releasing shard %d failed (%s): %s', shard, errorCode(e), String(e));
    });
  }

  /**
   * Renews the leases held (a lease lost ends its activations here) and the member's own; resolves,
   * once every renewal settled, with whether the member's own lease is held (true without one).
   */
  async renew(): Promise<boolean> {
    const [held] = await Promise.all([this.#member?.renew() ?? true, this.#renewActivations()]);
    return held;
  }

  #renewActivations(): Promise<void> {
    if (this.#shardScope) return this.#renewShards();
    const renewals: Promise<void>[] = [];
    for (const [kind, keys] of this.#active) {
      if (keys.size === 0) continue;
      const tokens = new Map([...keys].map(([key, v]) => [key, v.token]));
      const sentAt = performance.now();
      const renewal = this.#store.renew(kind, this.#owner, tokens, this.#ttlMs).then(
        (lost) => {
          const gone = new Set(lost);
          for (const [key, token] of tokens) if (!gone.has(key)) this.#confirmedAt({ kind, key }, token, sentAt);
          for (const key of lost) {
            this.#unconfirm({ kind, key }, tokens.get(key)!);
            const a = keys.get(key);
            if (a === undefined || a.token !== tokens.get(key)) continue;
            try {
              // Logged once, as a warning, by the host (not an abnormal termination for the core).
              this.#node.sendExit(a.pid, leaseLost(`taken over or expired`));
            } catch {
              // Already gone.
            }
          }
        },
        (err: unknown) => this.#node.log.warning('entities: renewing leases failed: %s', String(err)),
      );
      renewals.push(renewal);
    }
    return Promise.all(renewals).then(() => undefined);
  }

  /** Renews the shard leases held; a shard lost (taken over) ends every activation of its keys here. */
  #renewShards(): Promise<void> {
    if (this.#heldShards.size === 0) return Promise.resolve();
    const tokens = new Map([...this.#heldShards].map(([s, t]) => [String(s), t]));
    const sentAt = performance.now();
    return this.#store.renew(SHARD_LEASE_KIND, this.#owner, tokens, this.#ttlMs).then(
      (lost) => {
        const gone = new Set(lost);
        for (const [k, token] of tokens)
          if (!gone.has(k)) this.#confirmedAt({ kind: SHARD_LEASE_KIND, key: k }, token, sentAt);
        for (const k of lost) {
          this.#unconfirm({ kind: SHARD_LEASE_KIND, key: k }, tokens.get(k)!);
          const shard = Number(k);
          if (this.#heldShards.get(shard) !== tokens.get(k)) continue;
          this.#heldShards.delete(shard);
          this.#shardLeases.delete(shard);
          this.#node.log.warning('entities: shard %d lease lost; ending its activations here', shard);
          for (const keys of this.#active.values())
            for (const [key, a] of keys)
              if (shardOf(key, this.#shards) === shard)
                try {
                  this.#node.sendExit(a.pid, leaseLost(`shard ${shard} taken over or expired`));
                } catch {
                  // Already gone.
                }
        }
      },
      (err: unknown) => this.#node.log.warning('entities: renewing shard leases failed: %s', String(err)),
    );
  }
}

/** Resolves after `ms` (an unref'd timer: a pause never keeps the process alive). */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** A lease id as one map key. */
function leaseKey(id: EntityId): string {
  return `${id.kind}\u0000${id.key}`;
}
