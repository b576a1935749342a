// The reminder scheduler of one member (one per entities runtime whose store keeps reminders). It
// reads, by the store's index on due time, the due reminders of the shards this member owns (a
// bounded batch), delivers each as a durable message to its entity (routed to the key's owner and
// activating it, like any `sendDurable`), then moves the row to its next time (a periodic one) or
// removes it. One timer for the earliest next due time, not one per reminder; it is re-armed when
// an entity of this node schedules an earlier reminder, and a scan runs at once when the members
// change (the shards of a dead member are picked up as soon as membership says it is gone) and
// at least every `pollMs` (reminders written by another member meanwhile).
//
// Warm-up: a scan also reads the reminders due within the next `warmUpMs` and activates, ahead of
// their time, the keys not active here (the lease, the state, the inbox: what a fire on a cold key
// would wait for). A member that took over a dead member's shards so has the keys of its upcoming
// reminders running before they are due (a workflow's body resumes on activation and wakes from
// its own timer), and the fire itself finds a warm key. Only the activation is early, never a fire.
//
// Never early: a row is read only once its due time is at or before this member's clock. At least
// once: a row is moved on only after the entity's inbox accepted the fire; a fire delivered twice
// (this member died between the two steps, or two members briefly both owned the shard) carries
// the same id and the inbox de-duplicates it.
//
// After the store could not be reached (a failover: the scan or a delivery failed so), the due
// reminders of keys active on this member are held for {@link OUTAGE_HOLD_MS} once the store
// answers again. An active key writes its own reminders again with its next save (a workflow's
// keep-alive wake: due a second after its last write, so every running instance's came due in the
// outage), and a fire of each at once cost three writes (the fire's enqueue, the handler's save,
// the row moved on) to a store just back, beside the work held through the outage (issue 89).
// A key not active here is fired at once: its fire is what activates it.
//
// Stand-by: a due reminder whose key is active here and says it only stands by for that
// activation's end (kinds/entity.ts' ENTITY_REMINDER_STANDBY: a workflow's keep-alive wake while
// its body runs here; the wake exists to resume the instance on another member if this one dies)
// is not fired while the activation runs: its fire would cost the store three writes (the enqueue,
// the handler's save writing the wake again, the row moved on) to change nothing. The row stays
// due: another member that takes the shard over fires it at once, the key's next save writes it
// again, and this member fires it once the activation ends here (the runtime tells {@link ended}).
// Under host load a step outlasts resumeAfterMs and every running instance's wake came due: up to
// 98 fires a second on instances alive on their own member, against a store that was the
// bottleneck (issue 89).

import { cronNextRun, type Log } from 'ergo-ts';

import type { EntitiesClock } from '../contract/clock.js';
import { REMINDER_LATENESS_BUCKETS, type ReminderStats } from '../inspect/stats.js';
import { storeUnreachable } from '../contract/codes.js';
import { ErrEntityIncorrect } from '../contract/errors.js';
import type { EntityKind } from '../kinds/entity.js';
import { shardOf } from '../contract/placement.js';
import {
  checkReminderName,
  type NewReminder,
  type ReminderFence,
  type ReminderStore,
  type StoredReminder,
} from '../contract/reminder_store.js';
import {
  reminderType,
  type ReminderBinding,
  type ReminderEnvelope,
  type ReminderWhen,
} from '../kinds/reminder_types.js';
import { ScanLoop } from './scan_loop.js';

/** Options of the reminder scheduler (`startEntities`' `reminders`). */
export interface ReminderOptions {
  /** The longest wait between two scans of the store, in ms. Default 1000. */
  readonly pollMs?: number;
  /** The most due reminders read per scan. Default 256. */
  readonly batch?: number;
  /** The most fires being delivered at once. Default 64. */
  readonly maxInFlight?: number;
  /** How long one delivery may take (activation and re-routing included), in ms. Default 30 000. */
  readonly deliveryTimeoutMs?: number;
  /**
   * How long before a reminder is due its key is activated here when it is not active (its fire
   * then finds it warm), in ms; 0: keys activate when their fire comes. Default 1000.
   */
  readonly warmUpMs?: number;
}

/** Defaults of {@link ReminderOptions}. */
export const REMINDER_DEFAULTS = Object.freeze({
  pollMs: 1000,
  batch: 256,
  maxInFlight: 64,
  deliveryTimeoutMs: 30_000,
  warmUpMs: 1000,
});

/** What the scheduler needs from its runtime (runtime.ts). */
export interface SchedulerHost {
  readonly store: ReminderStore;
  readonly log: Log;
  /**
   * The runtime's clock (contract/clock.ts): due times, lateness and the scan timer are read on it. The
   * wall clock in production; the test kit's TestClock, so a reminder fires when a test moves time.
   */
  readonly clock: EntitiesClock;
  /** The shard count (the same on every member). */
  readonly shards: number;
  /** The kinds this node hosts. */
  kind(name: string): EntityKind | undefined;
  /** The shards this node owns now. */
  owned(): ReadonlySet<number>;
  /** Delivers a fire durably to its entity (routed to the key's owner, activating it). */
  deliver(kind: string, key: string, fire: ReminderEnvelope, timeoutMs: number): Promise<unknown>;
  /** Whether (kind, key) is active on this node. */
  active(kind: string, key: string): boolean;
  /** Whether (kind, key) is active on this node and its reminder `name`, due now, stands by for its end. */
  standsBy?(kind: string, key: string, name: string): boolean;
  /** Activates (kind, key) on this node ahead of a fire (a refusal or failure is the fire's to meet). */
  warm(kind: string, key: string): Promise<unknown>;
}

function option(name: string, v: number | undefined, dflt: number, min = 1): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < min || n > 2 ** 31 - 1)
    throw ErrEntityIncorrect.with(`reminders.${name} must be an integer in ${min}..2^31-1, got ${String(v)}`);
  return n;
}

/**
 * How long after the store answers again, following a failure to reach it, the due reminders of
 * keys active on this member are held (ms; see the file's comment).
 */
export const OUTAGE_HOLD_MS = 1000;

/** The id of one fire: the reminder's name, generation and due time. */
export function fireId(r: Pick<StoredReminder, 'name' | 'gen' | 'dueAt'>): string {
  return `~reminder/${r.gen}/${r.dueAt}/${r.name}`;
}

/** A schedule as stored: its first due time and its period. Throws ERR_ENTITY_INCORRECT for a bad one. */
export function firstDue(
  when: ReminderWhen,
  now: number,
): Pick<NewReminder, 'dueAt' | 'everyMs' | 'cron' | 'location'> {
  if (typeof when !== 'object' || when === null) throw ErrEntityIncorrect.with('a reminder needs a schedule object');
  const w = when as Partial<Record<'at' | 'afterMs' | 'everyMs' | 'cron' | 'location', unknown>>;
  const given = (['at', 'afterMs', 'everyMs', 'cron'] as const).filter((k) => w[k] !== undefined);
  if (given.length !== 1)
    throw ErrEntityIncorrect.with(
      `a reminder schedule has exactly one of at, afterMs, everyMs, cron (got ${given.join(', ') || 'none'})`,
    );
  if (w.at !== undefined) {
    const at = w.at instanceof Date ? w.at.getTime() : w.at;
    if (typeof at !== 'number' || !Number.isFinite(at)) throw ErrEntityIncorrect.with('reminder at: not a valid time');
    // Refused rather than fired at once (Orleans would): a time already past is a caller's bug
    // (a stale computation, a wrong unit) that firing would hide.
    if (at < now)
      throw ErrEntityIncorrect.with(
        `reminder at ${new Date(at).toISOString()} is in the past (now ${new Date(now).toISOString()})`,
      );
    return { dueAt: Math.ceil(at) };
  }
  if (w.afterMs !== undefined) {
    if (!Number.isSafeInteger(w.afterMs) || (w.afterMs as number) < 0)
      throw ErrEntityIncorrect.with(`reminder afterMs must be a non-negative integer, got ${String(w.afterMs)}`);
    return { dueAt: now + (w.afterMs as number) };
  }
  if (w.everyMs !== undefined) {
    if (!Number.isSafeInteger(w.everyMs) || (w.everyMs as number) < 1)
      throw ErrEntityIncorrect.with(`reminder everyMs must be a positive integer, got ${String(w.everyMs)}`);
    return { dueAt: now + (w.everyMs as number), everyMs: w.everyMs as number };
  }
  const spec = w.cron;
  const location = w.location;
  if (typeof spec !== 'string') throw ErrEntityIncorrect.with('reminder cron must be a string');
  if (location !== undefined && typeof location !== 'string')
    throw ErrEntityIncorrect.with('reminder location must be a string');
  let next: Date | null;
  try {
    next = cronNextRun(spec, now, location);
  } catch (e) {
    throw ErrEntityIncorrect.with(`reminder cron ${JSON.stringify(spec)}: ${(e as Error).message}`, e);
  }
  if (next === null) throw ErrEntityIncorrect.with(`reminder cron ${JSON.stringify(spec)} never runs`);
  return { dueAt: next.getTime(), cron: spec, ...(location === undefined ? {} : { location }) };
}

/** A periodic reminder's next due time after a fire (undefined: a one-shot, removed). Missed periods are skipped. */
export function nextDue(r: StoredReminder, now: number): number | undefined {
  if (r.everyMs !== undefined && r.everyMs > 0)
    return r.dueAt + Math.max(1, Math.floor((now - r.dueAt) / r.everyMs) + 1) * r.everyMs;
  if (r.cron !== undefined) {
    try {
      return cronNextRun(r.cron, Math.max(now, r.dueAt), r.location)?.getTime();
    } catch {
      return undefined; // a zone this member does not know: the reminder ends (logged by the caller)
    }
  }
  return undefined;
}

class Lateness {
  readonly counts = new Array<number>(REMINDER_LATENESS_BUCKETS.length).fill(0);
  count = 0;
  sum = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < REMINDER_LATENESS_BUCKETS.length && seconds > REMINDER_LATENESS_BUCKETS[i]!) i++;
    if (i < this.counts.length) this.counts[i]!++;
    this.count++;
    this.sum += seconds;
  }

  read(): ReminderStats['lateness'] {
    let acc = 0;
    return {
      buckets: REMINDER_LATENESS_BUCKETS,
      counts: this.counts.map((c) => (acc += c)),
      count: this.count,
      sum: this.sum,
    };
  }
}

/** @internal The scheduler of one runtime (see the file's comment). */
export class ReminderScheduler {
  readonly #h: SchedulerHost;
  readonly #pollMs: number;
  readonly #batch: number;
  readonly #maxInFlight: number;
  readonly #deliveryMs: number;
  readonly #warmUpMs: number;
  /** Keys being activated ahead of their reminders (`kind/key`). */
  readonly #warming = new Set<string>();
  /** Fires being delivered, by fire id. */
  readonly #inFlight = new Map<string, StoredReminder>();
  /** Fires whose delivery failed: not retried before this time. */
  readonly #retryAt = new Map<string, number>();
  /** Scans one at a time; each scan arms the timer for the next due time (at most `pollMs`). */
  readonly #loop: ScanLoop;
  /** The last scan left due fires unstarted for want of room: a scan runs once half the room is free. */
  #starved = false;
  /** A scan or a delivery failed because the store could not be reached, and no scan read it since. */
  #outage = false;
  /** Until when (clock ms) due reminders of keys active here are held after an outage. */
  #holdActiveUntil = -Infinity;
  /** The keys (`kind/key`) of the due rows the last scan left standing by, and how many rows. */
  #standingKeys = new Set<string>();
  #standing = 0;
  #stoodBy = 0;
  #fired = 0;
  #failed = 0;
  /** Waiters of {@link idle}. */
  #idleWaiters: (() => void)[] = [];
  readonly #lateness = new Lateness();

  constructor(host: SchedulerHost, options: ReminderOptions = {}) {
    this.#h = host;
    this.#pollMs = option('pollMs', options.pollMs, REMINDER_DEFAULTS.pollMs);
    this.#batch = option('batch', options.batch, REMINDER_DEFAULTS.batch);
    this.#maxInFlight = option('maxInFlight', options.maxInFlight, REMINDER_DEFAULTS.maxInFlight);
    this.#deliveryMs = option('deliveryTimeoutMs', options.deliveryTimeoutMs, REMINDER_DEFAULTS.deliveryTimeoutMs);
    this.#warmUpMs = option('warmUpMs', options.warmUpMs, REMINDER_DEFAULTS.warmUpMs, 0);
    this.#loop = new ScanLoop(host.clock, {
      scan: () => this.#scan(),
      failed: (e) => {
        if (storeUnreachable(e)) this.#outage = true;
        this.#h.log.warning(
          'entities: reading due reminders failed (%s); retrying in %d ms',
          (e as Error).message,
          this.#pollMs,
        );
        this.#arm(this.#pollMs);
      },
      ended: () => this.#wakeIdle(),
    });
  }

  /** Starts scanning (the runtime started and knows its shards). */
  start(): void {
    this.#loop.start();
  }

  /** Stops scanning; fires being delivered finish on their own. */
  stop(): void {
    this.#loop.stop();
  }

  /** Scans now (the members changed, or a delivery ended). */
  kick(): void {
    this.#loop.kick();
  }

  /** The activation of (kind, key) here ended: a reminder of it left standing by is due now. */
  ended(kind: string, key: string): void {
    if (this.#standingKeys.delete(`${kind}/${key}`)) this.kick();
  }

  /**
   * @internal Resolves once no scan runs and no fire is being delivered (at once when so now): the
   * test kit's `fireDueReminders` waits on it after a scan it asked for.
   */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #isIdle(): boolean {
    return !this.#loop.scanning && this.#inFlight.size === 0 && this.#warming.size === 0;
  }

  #wakeIdle(): void {
    if (this.#idleWaiters.length === 0 || !this.#isIdle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  /** The figures of {@link ReminderStats}. */
  stats(): ReminderStats {
    return {
      fired: this.#fired,
      failed: this.#failed,
      inFlight: this.#inFlight.size,
      standingBy: this.#standing,
      stoodBy: this.#stoodBy,
      lateness: this.#lateness.read(),
    };
  }

  /** The reminder operations of one activation (its fence read at each call: the token it holds then). */
  binding(kind: EntityKind, key: string, fence: () => ReminderFence): ReminderBinding {
    const id = { kind: kind.name, key };
    // Changes kept for the next save, by name: the last one of a name wins (a put, or null: removed).
    let staged = new Map<string, NewReminder | null>();
    return {
      remind: async (name, when, payload) => {
        const r = await this.#prepare(kind, key, name, when, payload);
        await this.#h.store.putReminders(id, fence(), [r]);
        this.#wake(r.dueAt);
      },
      cancel: async (name) => {
        checkReminderName(name);
        return this.#h.store.cancelReminder(id, fence(), name);
      },
      stage: async (name, when, payload) => {
        staged.set(name, await this.#prepare(kind, key, name, when, payload));
      },
      stageCancel: (name) => {
        checkReminderName(name);
        staged.set(name, null);
      },
      staged: () => staged.size > 0,
      takeStaged: () => {
        if (staged.size === 0) return undefined;
        const put: NewReminder[] = [];
        const cancel: string[] = [];
        for (const [name, r] of staged)
          if (r === null) cancel.push(name);
          else put.push(r);
        staged = new Map();
        return { put, cancel };
      },
      written: (changes) => {
        for (const r of changes.put ?? []) this.#wake(r.dueAt);
      },
    };
  }

  /** Checks a reminder against its kind and turns its schedule into a row. */
  async #prepare(
    kind: EntityKind,
    key: string,
    name: string,
    when: ReminderWhen,
    payload: unknown,
  ): Promise<NewReminder> {
    checkReminderName(name);
    const type = reminderType(name);
    const schema = kind.reminders?.[type];
    if (schema === undefined)
      throw ErrEntityIncorrect.with(`kind ${kind.name} declares no reminder ${JSON.stringify(type)}`);
    const due = firstDue(when, this.#h.clock.now());
    let result = schema['~standard'].validate(payload);
    if (result instanceof Promise) result = await result;
    if (result.issues !== undefined && result.issues.length > 0)
      throw ErrEntityIncorrect.with(`reminder ${name}: payload refused by its schema: ${result.issues[0]!.message}`);
    return { name, shard: shardOf(key, this.#h.shards), payload, ...due };
  }

  /** An entity of this node scheduled a reminder due at `dueAt`: re-arm when it is earlier than the timer. */
  #wake(dueAt: number): void {
    if (this.#loop.stopped || dueAt >= this.#loop.armedFor) return;
    this.#arm(dueAt - this.#h.clock.now());
  }

  /** Arms the scan timer in `ms` (at least 1 ms, at most `pollMs`). */
  #arm(ms: number): void {
    this.#loop.arm(Math.min(Math.max(1, Math.ceil(ms)), this.#pollMs));
  }

  async #scan(): Promise<void> {
    const shards = [...this.#h.owned()].sort((a, b) => a - b);
    const now = this.#h.clock.now();
    let wait = this.#pollMs;
    if (shards.length > 0) {
      const skipped = this.#inFlight.size + Math.min(this.#retryAt.size, 10_000) + this.#standing;
      const limit = this.#batch + skipped;
      // Oldest first: the rows due now come before those read for their warm-up.
      const read = await this.#h.store.dueReminders(shards, now + this.#warmUpMs, limit);
      // Due by the clock after the read (time moved meanwhile): a row due now is fired, not armed for.
      const readAt = this.#h.clock.now();
      if (this.#outage) {
        this.#outage = false;
        this.#holdActiveUntil = readAt + OUTAGE_HOLD_MS;
      }
      const due: StoredReminder[] = [];
      for (const r of read)
        if (r.dueAt <= readAt) due.push(r);
        else {
          wait = Math.min(wait, r.dueAt - readAt);
          this.#warm(r);
        }
      let started = 0;
      this.#starved = false;
      const standingBefore = this.#standing;
      const standing = new Set<string>();
      let stand = 0;
      for (const r of due) {
        if (this.#inFlight.size >= this.#maxInFlight) {
          this.#starved = true;
          break;
        }
        const id = fireId(r);
        if (this.#inFlight.has(id)) continue;
        const retry = this.#retryAt.get(id);
        if (retry !== undefined && retry > readAt) continue;
        if (this.#h.standsBy?.(r.kind, r.key, r.name) === true) {
          // Left due while its activation runs here (see the file's comment).
          standing.add(`${r.kind}/${r.key}`);
          stand++;
          continue;
        }
        if (readAt < this.#holdActiveUntil && this.#h.active(r.kind, r.key)) {
          // Held: the key's own next save most likely writes it again (see the file's comment).
          wait = Math.min(wait, this.#holdActiveUntil - readAt);
          continue;
        }
        this.#fire(r, id);
        started++;
      }
      this.#standingKeys = standing;
      this.#standing = stand;
      this.#stoodBy += stand;
      // More due than one batch: scan again at once (deliveries ending also kick a scan), or when
      // more rows than before stood by (the next read makes room for them).
      if (read.length === limit && (started > 0 || stand > standingBefore)) this.#loop.again();
      // The next row past the warm-up window: scanned again when it enters it.
      const horizon = now + this.#warmUpMs;
      const next = read.length === limit ? undefined : await this.#h.store.nextReminderDue(shards, horizon);
      if (next !== undefined) wait = Math.min(wait, next - this.#warmUpMs - this.#h.clock.now());
    }
    const at = this.#h.clock.now();
    for (const [id, t] of this.#retryAt) {
      // Past retry times are picked by the scans; one long past belongs to a row gone meanwhile.
      if (t <= at) {
        if (t < at - 60_000) this.#retryAt.delete(id);
      } else if (t - at < wait) wait = t - at;
    }
    this.#arm(wait);
  }

  /** Activates the key of a reminder due soon when it is not active here (once at a time per key). */
  #warm(r: StoredReminder): void {
    const k = `${r.kind}/${r.key}`;
    if (this.#warming.has(k) || this.#warming.size >= this.#maxInFlight || this.#h.active(r.kind, r.key)) return;
    this.#warming.add(k);
    this.#h
      .warm(r.kind, r.key)
      .catch(() => undefined) // the fire activates it, or meets the failure and retries
      .finally(() => {
        this.#warming.delete(k);
        this.#wakeIdle();
      });
  }

  #fire(r: StoredReminder, id: string): void {
    this.#inFlight.set(id, r);
    const fire: ReminderEnvelope = {
      '~entity': 'reminder',
      name: r.name,
      payload: r.payload,
      fireId: id,
      scheduledAt: r.dueAt,
    };
    const delivered = this.#h.deliver(r.kind, r.key, fire, this.#deliveryMs).then(async () => {
      const at = this.#h.clock.now();
      this.#fired++;
      this.#lateness.observe(Math.max(0, at - r.dueAt) / 1000);
      this.#retryAt.delete(id);
      const next = nextDue(r, at);
      if (next === undefined && r.cron !== undefined)
        this.#h.log.warning('entities: reminder %s of %s/%s has no next run; removed', r.name, r.kind, r.key);
      await this.#h.store.advanceReminder(r, next);
    });
    delivered
      .catch((e: unknown) => {
        this.#failed++;
        if (storeUnreachable(e)) this.#outage = true;
        if (!this.#retryAt.has(id))
          this.#h.log.warning(
            'entities: delivering reminder %s of %s/%s failed (%s); retrying',
            r.name,
            r.kind,
            r.key,
            (e as Error)?.message ?? String(e),
          );
        this.#retryAt.set(id, this.#h.clock.now() + Math.min(this.#pollMs, 500));
      })
      .finally(() => {
        this.#inFlight.delete(id);
        // Not one scan per fire: once half the room is free when fires wait for it, or when the last one ends.
        if ((this.#starved && this.#inFlight.size <= this.#maxInFlight / 2) || this.#inFlight.size === 0) this.kick();
        this.#wakeIdle();
      });
  }
}
