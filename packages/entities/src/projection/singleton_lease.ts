// A projection run once across the cluster holds a lease, as a key does: the lease of the key
// (PROJECTION_LEASE_KIND, name) in the entity store, taken by one runner at a time with a fencing
// token one higher than the previous holder's. A runner whose node is declared dead loses it at
// once (`takeOverFrom`), one that was paused or cut off when it expires. The token fences what the
// runner writes: the offset of an at-least-once projection is the key's state, written under it
// (a runner that lost the lease has its write refused); an exactly-once projection writes the
// token beside its offset in the read model (read_model_offsets.ts). A runner declared dead is
// taken over at once only when the store says so too (its liveness claim released:
// runtime/liveness.ts), as a key's lease is: a runner paused past failure detection, or cut off
// from its peers but not from the store, still holds its claim, and its lease is waited out
// (its node declared down is no evidence that it stopped). Before it handles an event, a
// runner checks by its own monotonic clock that its lease has not run out since it was last
// renewed, so a runner resumed after a pause stops before it applies anything.

import { performance } from 'node:perf_hooks';

import type { Log } from 'ergo-ts';

import { errorCode } from '../contract/codes.js';
import type { EntityId, EntityStore } from '../contract/store.js';

/** The kind under which projection leases (and fenced offsets) are kept in the store. */
export const PROJECTION_LEASE_KIND = '~projection';

/** What a {@link SingletonLease} works with. */
export interface SingletonLeaseSettings {
  readonly store: EntityStore;
  /** The projection's name: the lease's key. */
  readonly name: string;
  /** This runner's lease owner string (`<node name>#<random>`). */
  readonly owner: string;
  /** How long the lease lasts unless renewed, in ms. */
  readonly ttlMs: number;
  /** Whether a holder (an owner string) is declared dead (its node is down). */
  readonly dead: (holder: string) => boolean;
  /**
   * The store's word on a holder declared dead: true when it is gone (its liveness claim
   * released). Only then is its lease taken over at once; else it is waited out.
   */
  readonly gone: (holder: string) => Promise<boolean>;
  readonly log: Log;
}

/** The offset an at-least-once singleton stores as its lease key's state. */
interface StoredOffset {
  readonly offset: number;
}

/** One runner's hold on its projection's lease (see the top of this file). */
export class SingletonLease {
  readonly #s: SingletonLeaseSettings;
  readonly #id: EntityId;
  #token = 0;
  #held = false;
  /** When the lease runs out by this runner's monotonic clock (from when the last take or renewal was sent). */
  #validUntil = 0;
  /** The version of the lease key's state (the fenced offset) last read or written. */
  #version = 0;

  constructor(s: SingletonLeaseSettings) {
    this.#s = s;
    this.#id = { kind: PROJECTION_LEASE_KIND, key: s.name };
  }

  /** The fencing token of the lease held last (0 before the first). */
  get token(): number {
    return this.#token;
  }

  /** Whether this runner holds the lease now: taken, not lost, not run out by its own clock. */
  held(): boolean {
    return this.#held && performance.now() < this.#validUntil;
  }

  /**
   * Tries to take the lease: true when it is this runner's now, with a new token (every earlier
   * holder's writes are refused from now on). A holder declared dead is taken over at once.
   */
  async take(): Promise<boolean> {
    const s = this.#s;
    // Standing by is a read while another live runner's lease lasts (by this node's clock: a skew
    // only moves the attempt; the store's acquire decides).
    const current = await s.store.lease(this.#id);
    if (
      current !== undefined &&
      current.owner !== s.owner &&
      current.expiresAt > Date.now() &&
      !(await this.#confirmedGone(current.owner))
    )
      return false;
    const sent = performance.now();
    const request = { ...this.#id, owner: s.owner, ttlMs: s.ttlMs };
    let r = await s.store.acquire(request);
    if (!r.acquired && r.holder !== '' && r.holder !== s.owner && (await this.#confirmedGone(r.holder))) {
      const holder = r.holder;
      r = await s.store.acquire({ ...request, takeOverFrom: holder });
      if (r.acquired) s.log.info('projection %s: took over from %s (its node is down)', s.name, holder);
    }
    if (!r.acquired) return false;
    this.#token = r.token;
    this.#validUntil = sent + s.ttlMs;
    this.#held = true;
    return true;
  }

  /** Whether `holder` is declared dead and the store confirms it is gone; false when asking fails. */
  async #confirmedGone(holder: string): Promise<boolean> {
    const s = this.#s;
    if (!s.dead(holder)) return false;
    try {
      return await s.gone(holder);
    } catch (err) {
      s.log.warning('projection %s: asking the store whether %s is gone failed (%s)', s.name, holder, errorCode(err));
      return false;
    }
  }

  /** Renews the lease held (nothing when none is): a lease found taken over is lost. Never rejects. */
  async renew(): Promise<void> {
    if (!this.#held) return;
    const s = this.#s;
    const token = this.#token;
    const sent = performance.now();
    try {
      const lost = await s.store.renew(PROJECTION_LEASE_KIND, s.owner, new Map([[s.name, token]]), s.ttlMs);
      if (token !== this.#token || !this.#held) return;
      if (lost.includes(s.name)) this.lose();
      else this.#validUntil = sent + s.ttlMs;
    } catch (err) {
      // It runs out by the clock unless a later renewal succeeds.
      s.log.warning('projection %s: renewing its lease failed (%s)', s.name, errorCode(err));
    }
  }

  /** Forgets the lease (taken over, or a write under it refused): {@link held} is false from now on. */
  lose(): void {
    this.#held = false;
  }

  /** Gives the lease back if it is still held (the next runner need not wait for it to expire). Never rejects. */
  async release(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    try {
      await this.#s.store.release(this.#id, this.#token);
    } catch (err) {
      this.#s.log.warning('projection %s: releasing its lease failed (%s)', this.#s.name, errorCode(err));
    }
  }

  /**
   * The offset stored under the lease (at-least-once mode), or — never stored there — the one an
   * unfenced projection of the same name stored (`saveOffset`), else 0.
   */
  async loadOffset(): Promise<number> {
    const s = await this.#s.store.load(this.#id);
    this.#version = s.version;
    const offset = (s.state as StoredOffset | undefined)?.offset;
    if (typeof offset === 'number') return offset;
    return (await this.#s.store.loadOffset(this.#s.name)) ?? 0;
  }

  /**
   * Stores `offset` as the lease key's state, under this runner's token: rejects with
   * ERR_ENTITY_STALE_TOKEN (and the lease is lost) when another runner took the lease since.
   */
  async saveOffset(offset: number): Promise<void> {
    try {
      this.#version = await this.#s.store.write({
        ...this.#id,
        token: this.#token,
        expectedVersion: this.#version,
        state: { offset } satisfies StoredOffset,
      });
    } catch (err) {
      this.lose();
      throw err;
    }
  }
}
