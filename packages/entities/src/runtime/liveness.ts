// A member's liveness in the store (contract/liveness.ts) and its own sense of having been away.
//
// The claim: taken when the runtime starts, before any lease, released when it stops. Another
// member takes this one's leases over before they expire only when the store says the claim is
// released (the process died), never on a closed connection alone. A claim lost while the
// process lives (the store's session ended) is claimed again at once, and every second while the
// store cannot be reached (a failover); meanwhile this member may be read as gone, so it renews
// before its activations run another side effect.
//
// Away: a member whose event loop stood still (a GC stall, a frozen VM, SIGSTOP) learns it from
// the gap between two ticks of a timer. It logs how long it was away and renews its leases at
// once: those its peers took meanwhile end their activations here; the rest are confirmed again
// before any side effect (leases.ts, `confirm`). While it was away its peers may have declared it
// down; the connections it sees closed on waking are theirs to it, not their deaths — it takes
// nothing over on them (the store is asked, `gone`).

import type { Node } from 'ergo-ts';

import { errorCode } from '../contract/codes.js';
import { hasLiveness, type LivenessClaim, type LivenessStore } from '../contract/liveness.js';
import type { EntityStore } from '../contract/store.js';
import { holdLoopLag, type LoopLagHold } from './loop_lag.js';

/** How often the away watch ticks, in ms. */
const AWAY_TICK_MS = 100;

/** How long after a failed claim it is tried again, in ms (the store unreachable: a failover, a restart). */
const CLAIM_RETRY_MS = 1000;

/** What a {@link MemberLiveness} asks of its runtime. */
export interface LivenessHooks {
  /** This member was away (its loop stood still) or its claim was lost: renew every lease now. */
  readonly renewNow: () => void;
  /** Whether the runtime stopped (no claim is taken again). */
  readonly stopped: () => boolean;
  /** This member's loop stood still `gapMs` (told before {@link renewNow}). */
  readonly away?: (gapMs: number) => void;
}

/** One runtime's liveness claim and away watch (see the top of this file). */
export class MemberLiveness {
  readonly #node: Node;
  readonly #store: (EntityStore & LivenessStore) | undefined;
  readonly #owner: string;
  readonly #hooks: LivenessHooks;
  /** A gap between two ticks this long means the member was away, in ms. */
  readonly #awayMs: number;
  #claim: LivenessClaim | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** The next try of a claim that failed (the store unreachable). */
  #retry: ReturnType<typeof setTimeout> | undefined;
  /** Claims failed since the last one taken. */
  #failures = 0;
  #lastTick = 0;
  /** The process's loop-lag sampler, held while this member runs (a direct stopMember reads it). */
  #lag: LoopLagHold | undefined;
  #awayCount = 0;
  #longestAwayMs = 0;
  /** Holders the store said are gone (while this node still declares them dead: `gone`). */
  readonly #gone = new Set<string>();

  /**
   * `awayMs`: a loop gap at least this long counts as having been away (the runtime passes a
   * share of its lease's ttl: a gap that short cannot have cost a lease).
   */
  constructor(node: Node, store: EntityStore, owner: string, awayMs: number, hooks: LivenessHooks) {
    this.#node = node;
    this.#store = hasLiveness(store) ? store : undefined;
    this.#owner = owner;
    this.#awayMs = Math.max(AWAY_TICK_MS * 3, awayMs);
    this.#hooks = hooks;
  }

  /** Whether the store keeps liveness claims (PostgresStore, SqliteStore). */
  get supported(): boolean {
    return this.#store !== undefined;
  }

  /** How many times this member found it had been away, and the longest gap (ms). */
  get away(): { readonly count: number; readonly longestMs: number } {
    return { count: this.#awayCount, longestMs: Math.round(this.#longestAwayMs) };
  }

  /** Takes the claim and starts the away watch (the runtime's start, before any lease). */
  async start(): Promise<void> {
    this.#lastTick = performance.now();
    this.#lag ??= holdLoopLag();
    this.#timer = setInterval(() => this.#tick(), AWAY_TICK_MS);
    this.#timer.unref();
    await this.#take();
  }

  async #take(): Promise<void> {
    if (this.#store === undefined || this.#hooks.stopped()) return;
    try {
      const claim = await this.#store.claimLiveness(this.#owner);
      if (this.#hooks.stopped()) {
        await claim.release();
        return;
      }
      this.#claim = claim;
      if (this.#failures > 0)
        this.#node.log.info('entities: liveness claim taken again after %d failed tries', this.#failures);
      this.#failures = 0;
      void claim.lost.then(() => {
        if (this.#claim !== claim || this.#hooks.stopped()) return;
        this.#claim = undefined;
        this.#node.log.warning(
          "entities: the store ended this member's liveness claim (its session closed): renewing every lease and claiming again",
        );
        this.#hooks.renewNow();
        void this.#take();
      });
    } catch (e) {
      // Tried again until taken: without a claim, a peer that declares this member down reads it
      // as gone in the store (a claim made and no longer held) and takes its keys over at once.
      if (this.#failures++ === 0)
        this.#node.log.warning(
          'entities: taking the liveness claim failed (%s): %s; trying again every %d ms',
          errorCode(e),
          String(e),
          CLAIM_RETRY_MS,
        );
      if (this.#hooks.stopped()) return;
      this.#retry = setTimeout(() => {
        this.#retry = undefined;
        void this.#take();
      }, CLAIM_RETRY_MS);
      this.#retry.unref();
    }
  }

  #tick(): void {
    const now = performance.now();
    const gap = now - this.#lastTick;
    this.#lastTick = now;
    if (gap < this.#awayMs || this.#hooks.stopped()) return;
    this.#awayCount++;
    this.#longestAwayMs = Math.max(this.#longestAwayMs, gap);
    this.#node.log.warning(
      'entities: this member was away for %d ms (its event loop stood still: a pause, a stall): renewing its leases before anything else',
      Math.round(gap),
    );
    this.#hooks.away?.(gap);
    this.#hooks.renewNow();
  }

  /**
   * The store's word on `holder` (a lease owner this node declares dead): true only when its
   * liveness claim is released. Remembered while `stillDead(holder)`: the next takes of that
   * holder's keys need not ask again.
   */
  async gone(holder: string, stillDead: (holder: string) => boolean): Promise<boolean> {
    for (const h of this.#gone) if (!stillDead(h)) this.#gone.delete(h);
    if (this.#gone.has(holder)) return true;
    if (this.#store === undefined) return false;
    const released = await this.#store.livenessReleased(holder);
    if (released) this.#gone.add(holder);
    return released;
  }

  /** Stops the watch and gives the claim up (the runtime's stop, after its leases). */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#lag?.release();
    this.#lag = undefined;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
    const claim = this.#claim;
    this.#claim = undefined;
    await claim?.release();
  }
}
