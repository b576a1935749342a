// The inbox sweeper of one member (one per entities runtime whose store lists pending inboxes:
// `EntityStore.pendingInbox`). A durable message is acknowledged once it is in its key's inbox;
// the activation that accepted it handles it, and if that activation dies first (its node was
// killed, paused past its lease, or the whole cluster went down) the message waits in the inbox
// until the key activates again. Without this sweeper only a call or send to the key activated
// it: an acknowledged reminder fire or saga step could wait until something touched the key.
//
// The sweeper reads the keys with unprocessed inbox messages (oldest first, a bounded batch),
// keeps those of the shards this member owns that are not active here, and activates each the way
// a call would (`Entities.activateLocal`): the activation replays its inbox. It scans when the
// runtime starts, when the members change (the shards of a dead member are picked up as soon as
// membership says it is gone), and at least every `pollMs`. A failed activation is logged once
// per key (until one succeeds) and tried again with capped exponential backoff: after its n-th
// failure in a row, not before pollMs · 2^(n−1) (at most `retryCapMs`), so a poison message (a
// handler that always throws as the inbox replays) costs an activation a minute, not one a
// scan; each such failure is counted against the message in the store (host.ts), which moves it
// to the dead letters at `maxAttempts` — then the key is tried again at once, without it. A key
// whose lease another member still holds (a paused or killed owner, before its lease ends) is
// not failing: it is tried again when that lease ends by the store's answer (its `expiresAt`,
// plus {@link LEASE_END_MARGIN_MS}), not on the backoff, which would overshoot the lease's end.
// Nor is a key whose activation failed because the store could not be reached (a failover): it is
// tried again at the next scan that reads the store, not after a backoff grown through the outage.

import type { Log } from 'ergo-ts';

import type { EntitiesClock } from '../contract/clock.js';
import { DEFAULT_MAX_ATTEMPTS } from '../contract/dead_letters.js';
import { storeUnreachable } from '../contract/codes.js';
import { ErrEntityIncorrect } from '../contract/errors.js';
import { shardOf } from '../contract/placement.js';
import type { PendingInbox } from '../contract/store.js';
import type { InboxStats } from '../inspect/stats.js';
import { isDeadLettered } from './host_runtime.js';
import type { ActivateReply } from './manager_protocol.js';
import { ScanLoop } from './scan_loop.js';

/** Options of the inbox sweeper (`startEntities`' `inbox`). */
export interface InboxOptions {
  /** The longest wait between two scans of the store's inboxes, in ms. Default 1000. */
  readonly pollMs?: number;
  /** The most keys read per scan. Default 256. */
  readonly batch?: number;
  /** The most keys being activated by the sweeper at once. Default 32. */
  readonly maxInFlight?: number;
  /**
   * The longest wait before a key whose activation keeps failing is tried again, in ms: after
   * its n-th failure in a row the sweeper waits pollMs · 2^(n−1), at most this. Default 60 000.
   */
  readonly retryCapMs?: number;
  /**
   * The failed attempts at handling one durable message (its handler threw, on any member) after
   * which the store moves it from the key's inbox to its dead letters (`entities.deadLetters`),
   * so the key handles the messages after it. Default 10 (with the sweeper's backoff, about four
   * minutes of a key no call touches; sooner when calls activate it).
   */
  readonly maxAttempts?: number;
}

/** Defaults of {@link InboxOptions}. */
export const INBOX_DEFAULTS = Object.freeze({
  pollMs: 1000,
  batch: 256,
  maxInFlight: 32,
  retryCapMs: 60_000,
  maxAttempts: DEFAULT_MAX_ATTEMPTS,
});

/**
 * How long after a held lease's recorded end the sweeper tries its key again, in ms: the holder's
 * clock and ours may differ a little (one host's for SQLite, the database's for PostgreSQL).
 */
export const LEASE_END_MARGIN_MS = 50;

/** The `inbox.maxAttempts` of a runtime's options, checked (ERR_ENTITY_INCORRECT). */
export function inboxMaxAttempts(options: InboxOptions | undefined): number {
  return option('maxAttempts', options?.maxAttempts, INBOX_DEFAULTS.maxAttempts);
}

/** What the sweeper needs from its runtime (runtime.ts). */
export interface SweeperHost {
  /** The store's pending-inbox listing (the runtime's measured store). */
  pendingInbox(limit: number): Promise<PendingInbox[]>;
  readonly log: Log;
  /** The runtime's clock: the scan timer runs on it (the test kit's TestClock moves it). */
  readonly clock: EntitiesClock;
  /** The shard count (the same on every member). */
  readonly shards: number;
  /** Whether this node hosts the kind. */
  hosts(kind: string): boolean;
  /** The shards this node owns now. */
  owned(): ReadonlySet<number>;
  /** Whether the key is active (or being activated) on this node. */
  active(kind: string, key: string): boolean;
  /** Activates the key here, as a call's routing does (its inbox is replayed). */
  activate(kind: string, key: string): Promise<ActivateReply>;
}

function option(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < 1 || n > 2 ** 31 - 1)
    throw ErrEntityIncorrect.with(`inbox.${name} must be an integer in 1..2^31-1, got ${String(v)}`);
  return n;
}

/** @internal The sweeper of one runtime (see the file's comment). */
export class InboxSweeper {
  readonly #h: SweeperHost;
  readonly #pollMs: number;
  readonly #batch: number;
  readonly #maxInFlight: number;
  /** Keys (`kind/key`) being activated by the sweeper. */
  readonly #inFlight = new Set<string>();
  /**
   * Keys whose last activation failed (logged once until one succeeds): how many times in a row,
   * and the clock's time before which the key is not tried again.
   */
  readonly #failing = new Map<string, { failures: number; notBefore: number; held?: true }>();
  readonly #retryCapMs: number;
  /** Scans one at a time; the timer of `pollMs` is armed after each run of scans. */
  readonly #loop: ScanLoop;
  /** The last scan left keys unstarted for want of room: a scan runs once the activations end. */
  #starved = false;
  #activated = 0;
  #failed = 0;
  /** The last scan's figures: keys of this node's shards with pending messages, and the oldest acceptance. */
  #pendingKeys = 0;
  #oldestAt: number | undefined;

  constructor(host: SweeperHost, options: InboxOptions = {}) {
    this.#h = host;
    this.#pollMs = option('pollMs', options.pollMs, INBOX_DEFAULTS.pollMs);
    this.#batch = option('batch', options.batch, INBOX_DEFAULTS.batch);
    this.#maxInFlight = option('maxInFlight', options.maxInFlight, INBOX_DEFAULTS.maxInFlight);
    this.#retryCapMs = option('retryCapMs', options.retryCapMs, INBOX_DEFAULTS.retryCapMs);
    inboxMaxAttempts(options);
    this.#loop = new ScanLoop(host.clock, {
      scan: () => this.#scan(),
      failed: (e) =>
        this.#h.log.warning(
          'entities: reading pending inboxes failed (%s); retrying in %d ms',
          (e as Error)?.message ?? String(e),
          this.#pollMs,
        ),
      ended: () => this.#loop.arm(this.#nextScanIn()),
    });
  }

  /** Starts scanning (the runtime started and knows its shards). */
  start(): void {
    this.#loop.start();
  }

  /** Stops scanning; activations under way finish on their own. */
  stop(): void {
    this.#loop.stop();
  }

  /** Scans now (the members changed, or the runtime started). */
  kick(): void {
    this.#loop.kick();
  }

  /** The figures of {@link InboxStats}. */
  stats(): InboxStats {
    return {
      pendingKeys: this.#pendingKeys,
      oldestPendingAgeMs: this.#oldestAt === undefined ? 0 : Math.max(0, this.#h.clock.now() - this.#oldestAt),
      activated: this.#activated,
      failed: this.#failed,
      inFlight: this.#inFlight.size,
    };
  }

  async #scan(): Promise<void> {
    const owned = this.#h.owned();
    if (owned.size === 0) {
      this.#pendingKeys = 0;
      this.#oldestAt = undefined;
      return;
    }
    // Keys this scan will pass over (being activated, or failing) do not take a batch's room.
    const limit = Math.min(2 ** 31 - 1, this.#batch + this.#inFlight.size + this.#failing.size);
    const pending = await this.#h.pendingInbox(limit);
    let mine = 0;
    let oldest: number | undefined;
    let started = 0;
    this.#starved = false;
    const listed = new Set<string>();
    for (const p of pending) {
      listed.add(`${p.kind}/${p.key}`);
      if (!this.#h.hosts(p.kind) || !owned.has(shardOf(p.key, this.#h.shards))) continue;
      mine++;
      // 0: a row an earlier version wrote without its time (not counted in the age).
      if (p.oldestAcceptedAt > 0 && (oldest === undefined || p.oldestAcceptedAt < oldest)) oldest = p.oldestAcceptedAt;
      const id = `${p.kind}/${p.key}`;
      if (this.#inFlight.has(id) || this.#h.active(p.kind, p.key)) continue;
      // Backing off after failures in a row (a poison message): a later scan tries it.
      if ((this.#failing.get(id)?.notBefore ?? 0) > this.#h.clock.now()) continue;
      if (this.#inFlight.size >= this.#maxInFlight) {
        this.#starved = true;
        continue;
      }
      this.#activate(p.kind, p.key, id);
      started++;
    }
    this.#pendingKeys = mine;
    this.#oldestAt = oldest;
    // The whole list read: a failing key no longer in it was handled elsewhere (or moved away).
    if (pending.length < limit) for (const id of this.#failing.keys()) if (!listed.has(id)) this.#failing.delete(id);
    // A full batch of which some started: more may wait behind it (the next read passes over these).
    if (pending.length === limit && started > 0 && !this.#starved) this.#loop.again();
  }

  #activate(kind: string, key: string, id: string): void {
    this.#inFlight.add(id);
    let activation: Promise<ActivateReply>;
    try {
      activation = this.#h.activate(kind, key);
    } catch (e) {
      activation = Promise.reject(e as Error);
    }
    let again = false;
    activation
      .then(
        (r) => {
          if (r.ok) {
            this.#activated++;
            this.#failing.delete(id);
          } else if (r.leaving !== true && r.moved !== true) this.#held(id, r.holder, r.expiresAt);
          // leaving / moved: this node drains, or the shard moved; its new owner's sweeper takes the key.
        },
        (e: unknown) => {
          // Its poison message was set aside: the key activates without it now.
          if (isDeadLettered(e)) {
            this.#failing.delete(id);
            again = true;
          } else if (storeUnreachable(e))
            this.#failed++; // not the key's: its backoff stays as it was
          else this.#failedOnce(id, describe(e));
        },
      )
      .finally(() => {
        this.#inFlight.delete(id);
        // Keys waited for room: scan again once half of it is free.
        if (again || (this.#starved && this.#inFlight.size <= this.#maxInFlight / 2)) this.kick();
      });
  }

  /**
   * The key's lease is held by another owner until `expiresAt` (the store's answer): tried again
   * then (plus a margin), whatever failures came before; not counted as a failure.
   */
  #held(id: string, holder: string, expiresAt: number): void {
    const now = this.#h.clock.now();
    // Bounded by the cap: a clock far off, or a holder that renews, is asked again no later.
    const wait = Math.min(Math.max(0, expiresAt - now) + LEASE_END_MARGIN_MS, this.#retryCapMs);
    const f = this.#failing.get(id);
    this.#failing.set(id, { failures: f?.failures ?? 0, notBefore: now + wait, held: true });
    // The scan timer wakes at the lease's end (a run of scans under way arms it as it ends).
    if (!this.#loop.scanning && now + wait < this.#loop.armedFor) this.#loop.arm(wait);
    if (f !== undefined) return;
    this.#h.log.warning(
      'entities: activating %s for its pending inbox: its lease is held by %s; trying again when that lease ends (in %d ms)',
      id,
      holder === '' ? '(released)' : holder,
      wait,
    );
  }

  /** The wait before the next scan: pollMs, or less when a held lease ends sooner. */
  #nextScanIn(): number {
    const now = this.#h.clock.now();
    let wait = this.#pollMs;
    // Only ends still ahead: a key due now is being tried (or waits for room), not a reason to spin.
    for (const f of this.#failing.values())
      if (f.held === true && f.notBefore > now) wait = Math.min(wait, f.notBefore - now);
    return wait;
  }

  #failedOnce(id: string, why: string): void {
    this.#failed++;
    const f = this.#failing.get(id);
    const failures = (f?.failures ?? 0) + 1;
    // 2^(n−1) scans' time, capped (the exponent bounded so the product stays finite).
    const wait = Math.min(this.#pollMs * 2 ** Math.min(failures - 1, 30), this.#retryCapMs);
    this.#failing.set(id, { failures, notBefore: this.#h.clock.now() + wait });
    if (f !== undefined) return;
    this.#h.log.warning(
      'entities: activating %s for its pending inbox failed (%s); retrying with backoff (%d ms, doubling up to %d ms)',
      id,
      why,
      wait,
      this.#retryCapMs,
    );
  }
}

/** An activation's failure as text (any thrown value, even one whose conversion throws). */
function describe(e: unknown): string {
  try {
    return e instanceof Error ? e.message : String(e);
  } catch {
    return 'an unprintable value';
  }
}
