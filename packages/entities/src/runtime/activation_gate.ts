// Which activations an entities runtime admits on its node, and how one starts: the manager's and
// the routing's activation of a key lands here (runtime.ts's `activateLocal`). A key activates
// only on a member that owns its shard (by that member's view of the live members), never while the
// runtime drains, never on a client-only runtime (`role: 'client'`: ERR_ENTITY_CLIENT_ONLY, it owns
// no shard and the member that asked counts it by mistake); one activation runs per key at a time (a second request joins the first), keys activate side by
// side. A refusal is an answer the caller routes by (manager_protocol.ts), not an error.
// An activation that failed because the store could not be reached waits for it to answer again,
// within what its caller gave it to wait (`holdMs`), and is tried again then (store_health.ts).

import { ErrTaken, type Node } from 'ergo-ts';

import { storeUnreachable } from '../contract/codes.js';
import { ErrEntityClientOnly, ErrEntityIncorrect, ErrLeaseHeld } from '../contract/errors.js';
import { checkKey, hostName } from '../contract/ids.js';
import type { EntityId, EntityStore } from '../contract/store.js';
import type { EntityKind } from '../kinds/entity.js';
import { EntityHost } from './host.js';
import { ACTIVATED, heldLeaseOf, type HostRuntime } from './host_runtime.js';
import type { ActivateReply } from './manager_protocol.js';
import type { StoreHealth } from './store_health.js';

/** What the gate asks of its runtime (runtime.ts). */
export interface GateRuntime {
  readonly node: Node;
  /** The store, each operation timed (read for the holder of a lease held elsewhere). */
  readonly measuredStore: EntityStore;
  /** The runtime every host of this node runs under. */
  readonly host: HostRuntime;
  /** The kinds this node hosts, by name (none on a client). */
  readonly kinds: ReadonlyMap<string, EntityKind>;
  /** Whether this runtime is a client (`role: 'client'`): it activates nothing. */
  readonly client: boolean;
  /** Whether the runtime drains (it takes no activation). */
  draining(): boolean;
  /** Whether (kind, key) runs on this node now. */
  running(kind: string, key: string): boolean;
  /** Whether this node owns `key`'s shard by its view of the members now. */
  ownsShardOf(key: string): boolean;
  /** The lease (kind, key) activations write under. */
  leaseId(kind: string, key: string): EntityId;
  /** Whether the store answers, as the member's operations see it (absent: a failed activation is not held). */
  readonly health?: StoreHealth;
}

/** The activations a runtime admits (see the top of this file). */
export class ActivationGate {
  readonly #rt: GateRuntime;
  /** Activations in progress on this node, by `kind/key`: a second request for a key joins the first. */
  readonly #activating = new Map<string, Promise<ActivateReply>>();

  constructor(rt: GateRuntime) {
    this.#rt = rt;
  }

  /** The activations in progress (a drain waits for them). */
  pending(): IterableIterator<Promise<ActivateReply>> {
    return this.#activating.values();
  }

  /**
   * Activates (kind, key) on this node, or answers why not: `leaving` (draining), `moved` (another
   * member owns the key's shard: the caller routes by its own view),
   * or the lease's holder (held elsewhere). Rejects with ERR_ENTITY_INCORRECT for a kind this node
   * does not host or a bad key, ERR_ENTITY_CLIENT_ONLY on a client (the promise is marked handled
   * by its caller: the manager answers with it, routing fails with it). An activation that failed
   * because the store could not be reached is tried again once the store answers, for up to
   * `holdMs` (its caller's wait); past it, it rejects with the store's error.
   */
  activate(kind: string, key: string, holdMs = 0): Promise<ActivateReply> {
    const rt = this.#rt;
    if (rt.client)
      return Promise.reject(
        ErrEntityClientOnly.with(
          `${rt.node.name} was asked to activate ${kind}/${key}: a member's members list names it (remove it there)`,
        ),
      );
    if (rt.draining()) return Promise.resolve({ ok: false, holder: '', expiresAt: 0, leaving: true });
    const id = `${kind}/${key}`;
    let p = this.#activating.get(id);
    if (p === undefined) {
      // A key activates only where its shard is owned. A caller follows a lease's holder here (the
      // node the key's shard just moved from keeps the shard's lease until its keys have handed
      // off): activated here, the key would stay on a node that no longer owns it, keeping the
      // lease, and every later call would follow it back (a join left keys stuck for good). One
      // running here still answers: its hand-off is under way, and the call reaches it by name.
      if (!rt.running(kind, key) && !rt.ownsShardOf(key))
        return Promise.resolve({ ok: false, holder: '', expiresAt: 0, moved: true });
      p = this.#activateHeld(kind, key, performance.now() + holdMs).finally(() => this.#activating.delete(id));
      this.#activating.set(id, p);
    }
    return p;
  }

  /** {@link activate}'s attempts: again each time the store answers after failing so, until `until` (performance.now()). */
  async #activateHeld(kind: string, key: string, until: number): Promise<ActivateReply> {
    const health = this.#rt.health;
    for (;;) {
      const seen = health?.answeredAgain;
      try {
        return await this.#activateNow(kind, key);
      } catch (err) {
        const left = until - performance.now();
        if (health === undefined || left <= 0 || !storeUnreachable(err)) throw err;
        // Not seen by the member's operations as an outage (and not answered since): not held.
        if (!health.down && seen === health.answeredAgain) throw err;
        if ((await health.answered(left)) === 'timeout') throw err;
        // The key's shard moved meanwhile: the caller routes by its own view.
        if (!this.#rt.running(kind, key) && !this.#rt.ownsShardOf(key))
          return { ok: false, holder: '', expiresAt: 0, moved: true };
      }
    }
  }

  async #activateNow(kind: string, key: string): Promise<ActivateReply> {
    const rt = this.#rt;
    const k = rt.kinds.get(kind);
    if (k === undefined) throw ErrEntityIncorrect.with(`node ${rt.node.name} hosts no entity kind ${kind}`);
    checkKey(key);
    try {
      const pid = await rt.node.spawnRegister(hostName(kind, key), EntityHost, {}, rt.host, k, key);
      try {
        rt.node.send(pid, ACTIVATED);
      } catch {
        // Ended already (a hand-off, a lost lease): nothing to tell.
      }
      return { ok: true };
    } catch (err) {
      if (ErrTaken.is(err)) return { ok: true }; // active, or being activated: the caller retries the name
      if (ErrLeaseHeld.is(err)) {
        // The holder and end the store answered the refusal with: a second read could find the
        // lease released meanwhile and name no holder (the caller would wait on nothing).
        const held = heldLeaseOf(err);
        if (held !== undefined) return { ok: false, holder: held.holder, expiresAt: held.expiresAt };
        const lease = await rt.measuredStore.lease(rt.leaseId(kind, key));
        return { ok: false, holder: lease?.owner ?? '', expiresAt: lease?.expiresAt ?? 0 };
      }
      throw err;
    }
  }
}
