// How an entities runtime reaches a key's activation (runtime.ts's call, send and sendDurable go
// through here): to the owner of the key's shard by this node's view of the live members, straight
// to the entity's registered name; when nothing answers to it, the owner's manager activates it
// (or this node's runtime, when it is the owner). A lease held elsewhere is followed to its holder
// or waited out; a target that moved, drains or went down is routed again after a pause; a target
// that leaves an attempt unanswered while its own member lease ended (paused past its lease, the
// heartbeat not yet declaring it down: ended_lease_watch.ts) is counted as leaving and the key
// routed to its next owner; all within the operation's timeout. Safety does not rest on any of this: the store's fencing token refuses
// every write of an activation that is no longer the key's newest.

import { setTimeout as delay } from 'node:timers/promises';

import {
  ErrNameUnknown,
  ErrNoRoute,
  ErrProcessUnknown,
  ErrTimeout,
  ProcessID,
  ignorable,
  rejected,
  type Atom,
  type Node,
} from 'ergo-ts';

import {
  ErrEntityIncorrect,
  ErrEntityOverloaded,
  ErrEntityStopped,
  ErrEntityUnavailable,
  ErrLeaseHeld,
} from '../contract/errors.js';
import { checkKey } from '../contract/ids.js';
import { markUndelivered } from '../contract/undelivered.js';
import { errorFromWire } from '../contract/wire_errors.js';
import type { EntityAddress } from '../kinds/entity.js';
import {
  ownerNode,
  retryable,
  toReply,
  within,
  type ActivateReply,
  type ActivateRequest,
  type SendRequest,
} from './manager_protocol.js';
import { EndedLeaseWatch, MemberLeaseEnded } from './ended_lease_watch.js';
import { unreachedOwner } from './unreached.js';
import type { Membership } from './membership.js';
import { ENTITIES_DEFAULTS, positive, type EntityCallOptions } from './options.js';

/** What routing asks of its runtime (runtime.ts implements it). */
export interface RoutedRuntime {
  /** The node the runtime runs on: calls leave from it. */
  readonly node: Node;
  /** The node that owns `to`'s key now (by this node's view of the live members). */
  ownerOf(to: EntityAddress<unknown>): string;
  /** The live members by this node's view. */
  members(): string[];
  /** Who the members are: a target that drains, or whose member lease ended, counts as leaving there. */
  readonly membership: Pick<Membership, 'heardLeaving' | 'leaseEnded' | 'holding'>;
  /** Activates (kind, key) on this node (the manager's activation, without the manager). */
  activateLocal(kind: string, key: string, shed?: boolean, waitMs?: number, leftMs?: number): Promise<ActivateReply>;
  /** Whether (kind, key) has an activation on this node now (one still starting may not count yet). */
  activeHere(kind: string, key: string): boolean;
}

/**
 * What a first attempt to this node's own key that has no activation here would have met: made
 * once, so the common case — a workflow's start, an entity's first call — activates at once
 * instead of calling a process that is not there and building its error (a stack) each time.
 */
const NOT_ACTIVE_HERE = ErrProcessUnknown.with('no activation on this node yet (routing activates it first)');

/**
 * Why a call timed out: the owner did not answer (the core's timeout text suggests a handleCall
 * returning undefined, which an entity's host never does: it always answers).
 */
function noAnswer(target: string): string {
  return `no answer from the owner node ${target}: paused, overloaded or cut off, or the entity still busy with an earlier message`;
}

/** Routes one runtime's operations to the owners of their keys (see the top of this file). */
export class Router {
  readonly #rt: RoutedRuntime;
  /** The pause before a routing retry, ms (`probeIntervalMs`). */
  readonly #probeMs: number;
  /** The managers' registered name (the same on every member). */
  readonly #name: string;
  /** Fails attempts to a member whose own lease ended (absent: attempts wait for their answer or timeout). */
  readonly #watch: EndedLeaseWatch | undefined;
  /** The rejects of the operations in flight, told when the runtime stops (see {@link stop}). */
  readonly #inFlight = new Set<(err: Error) => void>();
  #stopped = false;

  /** `ended`: whether a node's member lease ended, read from the store (absent: nothing is watched). */
  constructor(rt: RoutedRuntime, probeMs: number, name: string, ended?: (node: string) => Promise<boolean>) {
    this.#rt = rt;
    this.#probeMs = probeMs;
    this.#name = name;
    this.#watch = ended === undefined ? undefined : new EndedLeaseWatch(ended, probeMs);
  }

  /**
   * Stops watching (the runtime stops): the operations in flight reject with ERR_ENTITY_STOPPED,
   * and every later one at once. Their answers would come to a runtime that is gone (a workflow's
   * `result()` waited for ever after `entities.stop()`), or only at their timeouts.
   */
  stop(): void {
    this.#watch?.stop();
    this.#stopped = true;
    const err = this.#stoppedError();
    for (const reject of [...this.#inFlight]) reject(err);
    this.#inFlight.clear();
  }

  #stoppedError(): Error {
    return ErrEntityStopped.with(`the entities runtime of ${this.#rt.node.name} stopped`);
  }

  /** `p`, unless the runtime stops first (ERR_ENTITY_STOPPED; `p`'s outcome is then dropped). */
  #untilStopped<T>(p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#inFlight.add(reject);
      p.then(
        (v) => {
          this.#inFlight.delete(reject);
          resolve(v);
        },
        (e: unknown) => {
          this.#inFlight.delete(reject);
          reject(e as Error);
        },
      );
    });
  }

  /** `p`, an attempt to `target`, watched when `target` is another node (see the top of this file). */
  #watched<T>(p: Promise<T>, target: string): Promise<T> {
    return this.#watch === undefined || target === this.#rt.node.name ? p : this.#watch.watch(p, target);
  }

  /** Routes one operation to the owner, activating and re-routing until it succeeds or the deadline. */
  guard(
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
      if (this.#stopped) throw this.#stoppedError();
    } catch (e) {
      return rejected(e, this.#rt.node.log, `entities.${what}`);
    }
    const shed = options.shed === true;
    return ignorable(
      this.#untilStopped(this.#route(to, timeout, attempt, shed)),
      this.#rt.node.log,
      `entities.${what}`,
    );
  }

  async #route(
    to: EntityAddress<unknown>,
    timeout: number,
    attempt: (target: string, left: number) => Promise<unknown>,
    shed = false,
  ): Promise<unknown> {
    const deadline = Date.now() + timeout;
    let target = this.#rt.ownerOf(to);
    let last = 'no attempt';
    /** The pause before routing again after a `moved` answer, ms. */
    let pause = 5;
    /** The last activation answered ok: a process unknown again means it ended under us. */
    let activated = false;
    /** The pause before activating again after an activation that ended at once, ms. */
    let again = 5;
    /** The last attempt never reached its target: why (unreached.ts). */
    let unreached: Error | undefined;
    /**
     * Some attempt may have run the operation: it was in flight when its answer failed to come,
     * or it reached a live activation that ended before it answered (a start may have been
     * written). Until one did, what this call gives up with is marked undelivered
     * (contract/undelivered.ts). Once one did, the call is no new work any more: no later
     * activation of it is refused as an overloaded owner's (shed), a refusal that says nothing
     * was done.
     */
    let handed = false;
    const gaveUp = <E>(e: E): E => (handed ? e : markUndelivered(e));
    for (;;) {
      if (this.#stopped) throw this.#stoppedError(); // its caller was told already: no more retries
      const left = deadline - Date.now();
      if (left <= 0)
        throw gaveUp(ErrEntityUnavailable.with(`${to.kind}/${to.key} within ${timeout} ms (${last})`, unreached));
      try {
        if (!activated && target === this.#rt.node.name && !this.#rt.activeHere(to.kind, to.key)) throw NOT_ACTIVE_HERE;
        return await this.#watched(attempt(target, left), target);
      } catch (err) {
        // Never reached (its dial failed or is under way): said so, not "no answer" (unreached.ts).
        unreached = unreachedOwner(this.#rt.node, target, err, timeout);
        // No process (but for one just activated, which may have taken it and ended), no route, a
        // lease held elsewhere, an owner never reached: nothing ran. Any other failure (no answer
        // in time, a connection or an owner lost under it) may have run it.
        const notThere = ErrProcessUnknown.is(err) || ErrNameUnknown.is(err);
        if (unreached === undefined && (!notThere || activated) && !ErrNoRoute.is(err) && !ErrLeaseHeld.is(err))
          handed = true;
        last =
          unreached?.message ??
          (ErrTimeout.is(err) ? noAnswer(target) : err instanceof Error ? err.message : String(err));
        if (err instanceof MemberLeaseEnded) {
          // Paused past its lease (or cut off from the store): its keys are free; route by the members without it.
          this.#rt.membership.leaseEnded(target);
          target = this.#rt.ownerOf(to);
          continue;
        }
        if (ErrProcessUnknown.is(err) || ErrNameUnknown.is(err)) {
          if (activated) {
            // Activated, and gone again before it answered (it handed off at once: the members
            // changed while it activated; or its lease or store failed): not a spin of attempt
            // and activation until the deadline, but a pause, doubling, and the owner read again.
            activated = false;
            await delay(Math.max(1, Math.min(again, this.#probeMs, deadline - Date.now())));
            again *= 2;
            target = this.#rt.ownerOf(to);
            last = 'activated, then ended before it answered';
            unreached = undefined;
            continue;
          }
          // A local activation waits on the store, which may not answer (cut off, a key locked
          // by a stalled member): the caller's timeout bounds it as it bounds a remote one.
          let r: ActivateReply;
          try {
            r = await within(
              this.#watched(this.#activate(target, to, Math.max(1, deadline - Date.now()), shed && !handed), target),
              Math.max(1, deadline - Date.now()),
              () =>
                gaveUp(
                  ErrEntityUnavailable.with(
                    `${to.kind}/${to.key} within ${timeout} ms (its activation on ${target} still pending; before it: ${last})`,
                  ),
                ),
            );
          } catch (e) {
            if (e instanceof MemberLeaseEnded) {
              this.#rt.membership.leaseEnded(target);
              target = this.#rt.ownerOf(to);
              continue;
            }
            // The target went down meanwhile (it drained and stopped, or died): route again.
            if (ErrTimeout.is(e)) {
              const u = unreachedOwner(this.#rt.node, target, e, timeout);
              const why = u?.message ?? noAnswer(target);
              throw gaveUp(ErrEntityUnavailable.with(`${to.kind}/${to.key} within ${timeout} ms (${why})`, u ?? e));
            }
            // The activation failed (the store, the runtime stopping): nothing ran. A refusal of the
            // request itself (an unknown kind, bad input) is no failure to wait out: unmarked.
            if (!retryable(e)) throw ErrEntityIncorrect.is(e) ? e : gaveUp(e);
            unreached = unreachedOwner(this.#rt.node, target, e, timeout);
            last = unreached?.message ?? (e instanceof Error ? e.message : String(e));
            await delay(Math.max(1, Math.min(this.#probeMs, deadline - Date.now())));
            target = this.#rt.ownerOf(to);
            continue;
          }
          if (r.ok) {
            activated = true;
            continue;
          }
          if (r.overloaded !== undefined)
            // New work refused at once by an overloaded owner (EntityCallOptions.shed): nothing was
            // activated or written; asking again before `retryAfterMs` would only add load.
            throw gaveUp(
              Object.assign(
                ErrEntityOverloaded.with(
                  `${to.kind}/${to.key}: ${target} is overloaded and took no new work; ask again after ${r.overloaded} ms`,
                ),
                { retryAfterMs: r.overloaded },
              ),
            );
          if (r.moved === true) {
            // The target owns the key no more (its view), and runs none of it: route by ours
            // again. Paused, doubling: the owner by our view may refuse for a lease the target
            // still holds until its own keys of the shard have handed off, and send us back.
            await delay(Math.max(1, Math.min(pause, this.#probeMs, deadline - Date.now())));
            pause *= 2;
            target = this.#rt.ownerOf(to);
            continue;
          }
          if (r.leaving === true) {
            // The target drains: route to the owner among the members that stay.
            this.#rt.membership.heardLeaving(target);
            const next = this.#rt.ownerOf(to);
            if (next === target) await delay(Math.max(1, Math.min(this.#probeMs, deadline - Date.now())));
            target = next;
            continue;
          }
          const holder = ownerNode(r.holder);
          // A holder counted out for its lease but holding this one (renewed: it is back, waiting
          // out rejoinStableMs) serves its keys meanwhile: its shards that did not move stay there.
          if (holder !== target && (this.#rt.members().includes(holder) || this.#rt.membership.holding(holder))) {
            target = holder;
            continue;
          }
          // The holder is gone (or is us, ending): wait for its lease to end, then re-route.
          await delay(Math.max(1, Math.min(r.expiresAt - Date.now() + 1, this.#probeMs, deadline - Date.now())));
          target = this.#rt.ownerOf(to);
          continue;
        }
        if (retryable(err)) {
          await delay(Math.max(1, Math.min(this.#probeMs, deadline - Date.now())));
          target = this.#rt.ownerOf(to);
          continue;
        }
        if (ErrTimeout.is(err))
          throw gaveUp(
            ErrEntityUnavailable.with(`${to.kind}/${to.key} within ${timeout} ms (${last})`, unreached ?? err),
          );
        // A workflow refusal from another node: its code back, its detail kept.
        throw errorFromWire(err);
      }
    }
  }

  #activate(target: string, to: EntityAddress<unknown>, left: number, shed = false): Promise<ActivateReply> {
    // The owner may hold the activation — new work for room (a line of starts), any for a store
    // that could not be reached to answer again (activation_gate.ts) — for up to what is left of
    // the call, less a margin for its answer to come back in time.
    const wait = Math.max(0, Math.floor(Math.min(left / 2, left - 250)));
    // And what is left of the call: room kept for the work outlives no caller (run_load.ts).
    const leftMs = Math.max(0, Math.floor(left));
    if (target === this.#rt.node.name) return this.#rt.activateLocal(to.kind, to.key, shed, wait, leftMs);
    return this.managerCall(
      target,
      { '~entity': 'activate', kind: to.kind, key: to.key, wait, ...(shed ? { shed, left: leftMs } : {}) },
      left,
    );
  }

  /** Asks `target`'s manager to activate a key or hand it a message (this node's runtime, when it is the target and only activation is asked). */
  async managerCall(target: string, req: ActivateRequest | SendRequest, left: number): Promise<ActivateReply> {
    if (target === this.#rt.node.name && req['~entity'] === 'activate')
      return this.#rt.activateLocal(req.kind, req.key, req.shed === true, req.wait ?? 0, req.left);
    const r = await this.#rt.node.call(new ProcessID(this.#name as Atom, target as Atom), req, { timeout: left });
    return toReply(r);
  }
}
