// Damping membership changes after a lapsed lease (issue 89): a member whose event loop stood
// still past its lease was counted out by its peers (its shards moved to them) and, as soon as it
// renewed, counted in again (its shards moved back): under load, members whose loops stand still
// for about a lease's ttl now and then passed their shards back and forth every few seconds, each
// pass a re-activation of every instance on them. Akka waits for membership to be `stable-after`,
// Kafka's cooperative sticky assignor keeps partitions where they are: here a member that lapsed
// takes its shards back only once it has been stable for `rejoinStableMs`.
//
// The member itself decides when ({@link RejoinWindow}): told it was counted out, it renews its
// leases and waits before it says hello. A loop gap that could have cost a lease again starts the
// wait anew; a member that lapses again soon after coming back waits twice as long (up to four
// times). Meanwhile its peers keep it out of their placement: the shards whose leases they took
// while it stood still stay with them, and it keeps serving the keys of the shards whose leases it
// kept (a caller follows a lease's holder that is counted out but connected, routing.ts). When the
// wait is over it takes its member lease again — a new fencing token — and says hello; the shards
// that moved come back once. The peers ({@link RejoinWatch}) count it in on that hello, or when
// they read its member lease current under another token than the one they saw when they counted
// it out; one renewed under the same token all along (its hello lost) after four waits and two
// ttls. A client owns nothing: it counts a member in as soon as its lease is current, as before.

/** How often a member's wait doubles at most (one lapsing in a row waits up to 4 × `rejoinStableMs`). */
const WINDOW_DOUBLINGS = 2;

/** How long a member that came back must stay in, as a multiple of its last wait, before a lapse starts the count of doublings anew. */
const DECAY_WINDOWS = 4;

/**
 * The member's own side: whether it waits after a lapse before it says hello, and until when (see the top of
 * this file). Times are `performance.now()` values passed in, so the rules test without a clock.
 */
export class RejoinWindow {
  readonly #stableMs: number;
  /** A loop gap at least this long may have cost the lease again (the ttl less the renewal period). */
  readonly #lapseGapMs: number;
  /** When the current wait began (undefined: not waiting, the member counts itself). */
  #since: number | undefined;
  /** How long the current wait lasts. */
  #windowMs = 0;
  /** Lapses in a row (each soon after the wait before it ended): the wait doubles with each. */
  #lapses = 0;
  /** When the member last counted itself in again (-Infinity: never out). */
  #inAt = Number.NEGATIVE_INFINITY;

  /** `stableMs`: the base wait (0: no damping); `lapseGapMs`: a loop gap that may have cost the lease. */
  constructor(stableMs: number, lapseGapMs: number) {
    this.#stableMs = stableMs;
    this.#lapseGapMs = lapseGapMs;
  }

  /** Whether the member waits to be stable before it says hello (its peers keep it out meanwhile). */
  get waiting(): boolean {
    return this.#since !== undefined;
  }

  /** How long the current (or last) wait lasts, in ms. */
  get windowMs(): number {
    return this.#windowMs;
  }

  /** Whether damping is on (`rejoinStableMs` > 0). */
  get on(): boolean {
    return this.#stableMs > 0;
  }

  /**
   * Another member counted this one out (its member lease ended): starts the wait, and resolves
   * with true, unless damping is off or a wait is under way (the notice is of the same lapse).
   */
  enter(now: number): boolean {
    if (!this.on || this.#since !== undefined) return false;
    this.#lapses = now - this.#inAt < this.#windowMs * DECAY_WINDOWS ? this.#lapses + 1 : 1;
    this.#windowMs = this.#stableMs * 2 ** Math.min(this.#lapses - 1, WINDOW_DOUBLINGS);
    this.#since = now;
    return true;
  }

  /** The member's loop stood still `gapMs`: a gap that may have cost the lease starts the wait anew (true). */
  away(gapMs: number, now: number): boolean {
    if (this.#since === undefined || gapMs < this.#lapseGapMs) return false;
    this.#since = now;
    return true;
  }

  /** Whether the wait is over: the member may take its member lease again and say hello. */
  due(now: number): boolean {
    return this.#since !== undefined && now - this.#since >= this.#windowMs;
  }

  /** The wait ended (its member lease taken again, its hello sent). */
  done(now: number): void {
    this.#since = undefined;
    this.#inAt = now;
  }
}

/** What one node saw of a member it counts out for its lease. */
interface Out {
  /** The member lease's token at the first read after it was counted out. */
  token?: number;
  /** Since when each read found its member lease current under that same token. */
  currentSince?: number;
}

/**
 * Another node's side: when a member counted out for its lease counts again, read from its member
 * lease (see the top of this file). Times are `performance.now()` values passed in.
 */
export class RejoinWatch {
  readonly #on: boolean;
  /** How long a member lease must stay current under the token it had when counted out. */
  readonly #fallbackMs: number;
  readonly #out = new Map<string, Out>();

  /**
   * `stableMs`: the members' `rejoinStableMs` (0: a member counts again as soon as its lease is
   * current); `ttlMs`: the lease's ttl (the fallback waits the longest wait, four of `stableMs`,
   * and two ttls).
   */
  constructor(stableMs: number, ttlMs: number) {
    this.#on = stableMs > 0;
    this.#fallbackMs = stableMs * 2 ** WINDOW_DOUBLINGS + 2 * ttlMs;
  }

  /** `node` is counted out (again): what was read of it before is forgotten. */
  out(node: string): void {
    this.#out.set(node, {});
  }

  /** `node` counts again (its hello, its connection lost): forgotten. */
  forget(node: string): void {
    this.#out.delete(node);
  }

  /**
   * A read of `node`'s member lease: `ended` (past its grace), and its token (undefined: no row).
   * Whether it counts again now.
   */
  read(node: string, ended: boolean, token: number | undefined, now: number): boolean {
    if (!this.#on) return !ended;
    let o = this.#out.get(node);
    if (o === undefined) this.#out.set(node, (o = {}));
    if (o.token === undefined) o.token = token;
    if (ended) {
      o.currentSince = undefined;
      return false;
    }
    // Taken again (a new token): the member's wait is over. Renewed under the same token: only the
    // fallback counts it again (its hello is what ends its wait).
    if (token !== undefined && token !== o.token) return true;
    o.currentSince ??= now;
    return now - o.currentSince >= this.#fallbackMs;
  }
}
