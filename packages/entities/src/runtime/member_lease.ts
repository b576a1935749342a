// A member's own lease: one row per member in the store's lease table (kind MEMBER_LEASE_KIND, key
// the node's name), taken when its runtime starts and renewed with its other leases. Its end says
// what the heartbeat cannot say yet: the member stopped renewing (paused, stalled, cut off from
// the store), so the leases of its keys and shards have ended too and their next owners may take
// them — the fencing token refuses every later write of the paused member. Routing reads it when a
// call to a member stays unanswered (ended_lease_watch.ts); a client, or a node with no other
// member, takes none. Its operations are not in the runtime's store figures (`stats().store`).

import type { Node } from 'ergo-ts';

import { errorCode } from '../contract/codes.js';
import type { EntityStore } from '../contract/store.js';
import { ownerNode } from './manager_protocol.js';

/** The kind under which members' own leases are kept in the store's lease table. */
export const MEMBER_LEASE_KIND = '~member';

/** One member's own lease (see the top of this file). */
export class MemberLease {
  readonly #node: Node;
  readonly #store: EntityStore;
  readonly #owner: string;
  readonly #ttlMs: number;
  #token: number | undefined;
  #taking: Promise<boolean> | undefined;

  /** `owner`: the runtime's lease owner string; `ttlMs`: how long the lease lasts unless renewed. */
  constructor(node: Node, store: EntityStore, owner: string, ttlMs: number) {
    this.#node = node;
    this.#store = store;
    this.#owner = owner;
    this.#ttlMs = ttlMs;
  }

  /**
   * Takes the lease when the runtime starts (an earlier runtime of this node, killed and started
   * again, holds it under another owner string: taken over). Resolves with whether it is held; a
   * failure is logged (the member's keys then move only when the heartbeat declares it down).
   */
  take(): Promise<boolean> {
    return this.#acquire(true);
  }

  /** Takes the lease, over an earlier runtime of this node's only at the start (`takeOver`). */
  #acquire(takeOver: boolean): Promise<boolean> {
    this.#taking ??= this.#take(takeOver).finally(() => (this.#taking = undefined));
    return this.#taking;
  }

  async #take(takeOver: boolean): Promise<boolean> {
    const id = { kind: MEMBER_LEASE_KIND, key: this.#node.name };
    try {
      let r = await this.#store.acquire({ ...id, owner: this.#owner, ttlMs: this.#ttlMs });
      if (!r.acquired && takeOver && ownerNode(r.holder) === this.#node.name)
        r = await this.#store.acquire({ ...id, owner: this.#owner, ttlMs: this.#ttlMs, takeOverFrom: r.holder });
      this.#token = r.acquired ? r.token : undefined;
      return r.acquired;
    } catch (e) {
      this.#node.log.warning('entities: taking the member lease failed (%s): %s', errorCode(e), String(e));
      return false;
    }
  }

  /**
   * Takes the lease again under a new fencing token (the end of a wait after a lapse: the others
   * count this member again on reading the new token, rejoin.ts). Resolves with whether it is held
   * (false: the store failed; asked again later).
   */
  async retake(): Promise<boolean> {
    await this.#taking;
    return this.#acquire(false);
  }

  /** Renews the lease (taken again when it was not held); resolves with whether it is held now. */
  async renew(): Promise<boolean> {
    const token = this.#token;
    if (token === undefined) return this.#acquire(false);
    try {
      const lost = await this.#store.renew(
        MEMBER_LEASE_KIND,
        this.#owner,
        new Map([[this.#node.name, token]]),
        this.#ttlMs,
      );
      return lost.length === 0 || this.#acquire(false);
    } catch (e) {
      this.#node.log.warning('entities: renewing the member lease failed (%s): %s', errorCode(e), String(e));
      return false;
    }
  }

  /** Gives the lease back (the runtime stops). */
  async release(): Promise<void> {
    const token = this.#token;
    this.#token = undefined;
    if (token === undefined) return;
    await this.#store.release({ kind: MEMBER_LEASE_KIND, key: this.#node.name }, token).catch((e: unknown) => {
      this.#node.log.warning('entities: releasing the member lease failed (%s): %s', errorCode(e), String(e));
    });
  }
}

/**
 * Whether `node`'s member lease has ended by the store's row (read now), at least `graceMs` ago:
 * false when the row is absent (a runtime that keeps none) or still current, or ended more
 * recently. The grace (the runtime passes its lease's margin, a fifth of the ttl) keeps a loaded
 * member whose renewal comes a little late from being counted as leaving: its peers then moved its
 * shards, took its leases as they lapsed and moved them back once it renewed — a hand-off
 * ping-pong, each move a re-activation of its instances (the fault checker at 3× overload, issue
 * 89). Compared with this node's clock: a clock far ahead of the store's sees leases end early,
 * which costs a needless move, never a double write.
 */
export async function memberLeaseEnded(store: EntityStore, node: string, graceMs = 0): Promise<boolean> {
  return (await readMemberLease(store, node, graceMs)).ended;
}

/** What a read of a member's lease found: whether it ended (as {@link memberLeaseEnded}) and its token (none: no row). */
export interface MemberLeaseRead {
  readonly ended: boolean;
  readonly token?: number;
}

/** Reads `node`'s member lease: whether it ended at least `graceMs` ago ({@link memberLeaseEnded}), and its fencing token. */
export async function readMemberLease(store: EntityStore, node: string, graceMs = 0): Promise<MemberLeaseRead> {
  const lease = await store.lease({ kind: MEMBER_LEASE_KIND, key: node });
  if (lease === undefined) return { ended: false };
  return {
    ended: ownerNode(lease.owner) === node && lease.expiresAt + graceMs < Date.now(),
    token: lease.token,
  };
}
