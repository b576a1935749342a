// What one member remembers of what its store acknowledged, to notice a store that went back in
// time: a failover to a replica that missed acknowledged commits (an asynchronous replica, a
// mis-configured cluster), a backup restored under live members. Per key: the highest state
// version this member wrote or read, and per lease (a key's, or a shard's) the highest fencing
// token it was granted. An activation that reads less — a state at a lower version, a key lease
// granted with a token not above one this member held before — is reading a store older than
// what it was told: the host (host.ts) halts the key loudly with ERR_ENTITY_STORE_WENT_BACK
// instead of running it on the older state (a workflow would run again steps whose outcome the
// store forgot). A write refused for a token or an expected version newer than the store's is
// the same proof ({@link refusalWentBack}): logged as such; the next activation here halts.
//
// What it does not see: it is memory, per member. A member that restarted, or that never touched
// the key, has nothing to compare with (a watermark kept outside the store would be needed); a
// store that lost writes of a key no surviving member remembers goes unnoticed. It remembers the
// most recent MAX_KEYS keys and leases (the oldest forgotten first).

import type { EntityId } from '../contract/ids.js';

/** How many keys (and leases) a member remembers at most; the least recently touched are forgotten first. */
export const MAX_KEYS = 200_000;

function idKey(kind: string, key: string): string {
  return `${kind}\u0000${key}`;
}

/** A map that keeps its most recently set `limit` entries (insertion order is recency). */
class Recent {
  readonly #m = new Map<string, number>();
  constructor(readonly limit: number) {}

  get(k: string): number | undefined {
    return this.#m.get(k);
  }

  set(k: string, v: number): void {
    this.#m.delete(k);
    this.#m.set(k, v);
    if (this.#m.size > this.limit) this.#m.delete(this.#m.keys().next().value!);
  }

  /** Raises the entry to `v` (never lowers it). */
  raise(k: string, v: number): void {
    const was = this.#m.get(k);
    this.set(k, was === undefined ? v : Math.max(was, v));
  }
}

/** What an activation read: its key, its stored version, and the lease it writes under. */
export interface ActivationRead {
  readonly kind: string;
  readonly key: string;
  readonly version: number;
  readonly lease: EntityId;
  readonly token: number;
  /** The lease is the key's own (each activation takes it anew: its token must rise). */
  readonly keyLease: boolean;
}

/** The member's watermark of its store (see the top of this file). */
export class StoreWatermark {
  readonly #versions: Recent;
  readonly #tokens: Recent;

  constructor(limit = MAX_KEYS) {
    this.#versions = new Recent(limit);
    this.#tokens = new Recent(limit);
  }

  /**
   * Why activation `a` reads a store older than this member was told (undefined: it does not):
   * a state version below one written or read here, or a key lease's token not above one held
   * here. A shard lease's lower token (shared by many keys) is answered separately by
   * {@link shardWentBack}. Remembers what `a` read when it is not older.
   */
  check(a: ActivationRead): string | undefined {
    const k = idKey(a.kind, a.key);
    const seen = this.#versions.get(k);
    const held = this.#tokens.get(idKey(a.lease.kind, a.lease.key));
    if (seen !== undefined && a.version < seen)
      return `${a.kind}/${a.key}: the store holds version ${a.version}, this member wrote or read version ${seen}`;
    if (a.keyLease && held !== undefined && a.token <= held)
      return `${a.kind}/${a.key}: the store granted lease token ${a.token}, this member held token ${held} before`;
    this.accept(a);
    return undefined;
  }

  /**
   * Whether a shard lease was granted with a token below one this member held (the store went
   * back): the detail, or undefined. Remembers the token otherwise.
   */
  shardWentBack(lease: EntityId, token: number): string | undefined {
    const k = idKey(lease.kind, lease.key);
    const held = this.#tokens.get(k);
    if (held !== undefined && token < held) {
      this.#tokens.set(k, token);
      return `shard lease ${lease.key}: the store granted token ${token}, this member held token ${held} before`;
    }
    this.#tokens.raise(k, token);
    return undefined;
  }

  /** The store's present for `a`'s key and lease becomes what later reads are compared with (after a halt was recorded). */
  accept(a: ActivationRead): void {
    this.#versions.set(idKey(a.kind, a.key), a.version);
    this.#tokens.set(idKey(a.lease.kind, a.lease.key), a.token);
  }

  /** A write of (kind, key) was acknowledged at `version`. */
  wrote(kind: string, key: string, version: number): void {
    this.#versions.raise(idKey(kind, key), version);
  }
}

/**
 * Whether a write's refusal proves the store went back: refused for a token above the lease's
 * current one (tokens only rise, and this one came from the store) or for an expected version
 * above the stored one (the writer read or wrote it there). The stores' refusal details read
 * `token T, current C` and `expected version E, stored S` (sql_store.ts, postgres_setup.ts).
 */
export function refusalWentBack(err: unknown): string | undefined {
  const message = err instanceof Error ? err.message : '';
  const t = /token (\d+), current (\d+)/.exec(message);
  if (t !== null && Number(t[1]) > Number(t[2])) return `a write's token ${t[1]} is above the store's ${t[2]}`;
  const v = /expected version (\d+), stored (\d+)/.exec(message);
  if (v !== null && Number(v[1]) > Number(v[2])) return `a write expected version ${v[1]}, the store holds ${v[2]}`;
  return undefined;
}
