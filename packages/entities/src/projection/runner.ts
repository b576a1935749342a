// The process of one projection on one node. Unfenced (a projection started on a store), it runs
// from the start. As a singleton (started on a cluster, or exactly-once), it stands by until it
// takes the projection's lease (singleton_lease.ts), then reads the journal from the offset the
// lease's holder left — the lease key's state (at-least-once) or the read model's row
// (exactly-once, read_model_offsets.ts) — and delivers batch after batch while it holds the lease:
// before each event (each batch, exactly-once) it checks the lease by its own clock, and a write
// refused under its token, a lease found taken over or run out, or its runtime draining sends it
// back to standing by. Failures are retried after `retryIntervalMs`; nothing after a failed event
// is delivered first.

import { Actor, type PID, type ProcessID } from 'ergo-ts';
import type { PoolClient } from 'pg';

import { errorCode } from '../contract/codes.js';
import { ErrStaleToken } from '../contract/errors.js';
import type { EntityStore } from '../contract/store.js';
import type { EventSourcedKind } from '../kinds/event_sourced.js';
import { readEvents, type JournalEvent } from './journal_events.js';
import type { ReadModelOffsets } from './read_model_offsets.js';
import type { SingletonLease } from './singleton_lease.js';

/** How a runner hands events over. */
export type Delivery =
  | { readonly kind: 'each'; readonly handler: (event: JournalEvent) => unknown }
  | { readonly kind: 'process'; readonly to: PID | ProcessID; readonly callMs: number }
  | {
      readonly kind: 'batch';
      readonly handler: (events: readonly JournalEvent[], tx: PoolClient) => Promise<unknown>;
      readonly offsets: ReadModelOffsets;
    };

/** What a runner reports to its {@link Projection} handle (shared, read there). */
export interface RunnerStatus {
  offset: number;
  delivered: number;
  /** Whether this runner runs the projection now (always, unfenced). */
  running: boolean;
  /** The fencing token it runs under (0: unfenced, or never ran). */
  token: number;
  /** Whether its last read found less than a batch. */
  caughtUp: boolean;
  /** When it last handled an event (Unix ms; 0: never). */
  lastHandledAt: number;
  /** Reads and deliveries that failed, and the last one's text. */
  failures: number;
  lastError: string | undefined;
  /** Called once, when the process ends, with its lease's release (settled). */
  ended: (released: Promise<void>) => void;
}

/** A runner's settings (projection/start.ts checks and builds them). */
export interface RunnerSettings {
  readonly name: string;
  readonly store: EntityStore;
  readonly kind: EventSourcedKind;
  readonly tag: string | undefined;
  readonly delivery: Delivery;
  readonly batchSize: number;
  readonly pollMs: number;
  readonly retryMs: number;
  readonly standbyMs: number;
  /** The singleton lease (undefined: an unfenced projection). */
  readonly lease: SingletonLease | undefined;
  readonly renewMs: number;
  /** Whether the runtime it runs on drains or stopped: it hands the projection over and stands by. */
  readonly leaving: () => boolean;
  readonly status: RunnerStatus;
}

const POLL = Object.freeze({ '~projection': 'poll' });

/** The projection's process (internal). */
export class ProjectionRunner extends Actor {
  #s!: RunnerSettings;
  #renewTimer: ReturnType<typeof setInterval> | undefined;

  override async init(s: RunnerSettings): Promise<void> {
    this.#s = s;
    if (s.lease === undefined) {
      s.status.offset = (await s.store.loadOffset(s.name)) ?? 0;
      s.status.running = true;
    } else {
      // Renewal runs beside the handler (which may take a while): a timer, not a message.
      const lease = s.lease;
      this.#renewTimer = setInterval(() => void lease.renew(), s.renewMs);
      this.#renewTimer.unref();
    }
    this.send(this.pid, POLL);
  }

  override async handleMessage(_from: PID, message: unknown): Promise<void> {
    if (message !== POLL) return;
    const s = this.#s;
    if (s.lease !== undefined && !(await this.#holding())) {
      this.sendAfter(this.pid, POLL, s.standbyMs);
      return;
    }
    let batch: JournalEvent[];
    try {
      batch = await readEvents(s.store, s.kind, {
        after: s.status.offset,
        limit: s.batchSize,
        ...(s.tag === undefined ? {} : { tag: s.tag }),
      });
    } catch (err) {
      this.#failed('reading the journal', err);
      return;
    }
    if (batch.length > 0) {
      const ok = s.delivery.kind === 'batch' ? await this.#applyBatch(batch) : await this.#deliverEach(batch);
      if (!ok) return; // the next poll is scheduled
    }
    // A full batch: more may be waiting now; otherwise it has caught up and polls.
    s.status.caughtUp = batch.length < s.batchSize;
    if (batch.length === s.batchSize) this.send(this.pid, POLL);
    else this.sendAfter(this.pid, POLL, s.pollMs);
  }

  override terminate(): void {
    const s = this.#s;
    if (s === undefined) return;
    clearInterval(this.#renewTimer);
    const released = s.lease !== undefined && s.status.running ? s.lease.release() : Promise.resolve();
    s.status.running = false;
    s.status.ended(released);
  }

  /** Whether this runner runs the projection now; standing by, it takes the lease when it can. */
  async #holding(): Promise<boolean> {
    const s = this.#s;
    const lease = s.lease!;
    if (s.status.running) {
      if (lease.held() && !s.leaving()) return true;
      await this.#standDown(s.leaving() ? 'its runtime leaves' : 'its lease was taken over or ran out');
      return false;
    }
    if (s.leaving()) return false;
    try {
      if (!(await lease.take())) return false;
      const offset =
        s.delivery.kind === 'batch' ? await s.delivery.offsets.claim(lease.token) : await lease.loadOffset();
      s.status.offset = offset;
      s.status.token = lease.token;
      s.status.running = true;
      this.log.info('projection %s: runs on this node now (token %d, after offset %d)', s.name, lease.token, offset);
    } catch (err) {
      await lease.release();
      this.log.warning('projection %s: taking it over failed (%s): %s', s.name, errorCode(err), messageOf(err));
      return false;
    }
    return lease.held();
  }

  /** Stops running here (the lease given back when the runtime leaves); another member takes over. */
  async #standDown(why: string): Promise<void> {
    const s = this.#s;
    s.status.running = false;
    if (s.leaving()) await s.lease!.release();
    else s.lease!.lose();
    this.log.warning('projection %s: stops running on this node (%s) at offset %d', s.name, why, s.status.offset);
  }

  /** At least once: each event to the function or process, then the offset. False: the next poll is scheduled. */
  async #deliverEach(batch: readonly JournalEvent[]): Promise<boolean> {
    const s = this.#s;
    const d = s.delivery as Exclude<Delivery, { kind: 'batch' }>;
    const start = s.status.offset;
    for (const e of batch) {
      if (s.lease !== undefined && !s.lease.held()) {
        // Paused, or cut off from the store, past its lease: another runner may be at work.
        if (await this.#save(start)) {
          await this.#standDown('its lease ran out');
          this.sendAfter(this.pid, POLL, s.standbyMs);
        }
        return false;
      }
      try {
        if (d.kind === 'each') await d.handler(e);
        else await this.call(d.to, e, { timeout: d.callMs });
      } catch (err) {
        if (await this.#save(start)) this.#failed(`handling event ${e.offset} (${e.kind}/${e.key} v${e.version})`, err);
        return false;
      }
      s.status.offset = e.offset;
      s.status.delivered++;
      s.status.lastHandledAt = Date.now();
    }
    return this.#save(start);
  }

  /**
   * Stores the offset reached when it moved past `from`. Unfenced, a failed write is retried with
   * the next. Fenced, a refused write (another runner took the lease) stops this runner: false,
   * and the next poll is scheduled.
   */
  async #save(from: number): Promise<boolean> {
    const s = this.#s;
    if (s.status.offset === from) return true;
    try {
      if (s.lease === undefined) await s.store.saveOffset(s.name, s.status.offset);
      else await s.lease.saveOffset(s.status.offset);
    } catch (err) {
      this.log.warning('projection %s: storing offset %d failed (%s)', s.name, s.status.offset, errorCode(err));
      if (s.lease === undefined) return true;
      await this.#standDown('its offset could not be stored under its lease');
      this.sendAfter(this.pid, POLL, s.standbyMs);
      return false;
    }
    return true;
  }

  /** Exactly once: the batch and its offset in one transaction of the read model. False: the next poll is scheduled. */
  async #applyBatch(batch: readonly JournalEvent[]): Promise<boolean> {
    const s = this.#s;
    const d = s.delivery as Extract<Delivery, { kind: 'batch' }>;
    const lease = s.lease!;
    const from = s.status.offset;
    const to = batch[batch.length - 1]!.offset;
    try {
      await d.offsets.apply(lease.token, from, to, async (tx) => {
        if (!lease.held()) throw ErrStaleToken.with(`projection ${s.name}: its lease ran out before the batch`);
        await d.handler(batch, tx);
      });
    } catch (err) {
      if (ErrStaleToken.is(err)) {
        await this.#standDown(messageOf(err));
        this.sendAfter(this.pid, POLL, s.standbyMs);
      } else this.#failed(`handling events ${batch[0]!.offset}..${to}`, err);
      return false;
    }
    s.status.offset = to;
    s.status.delivered += batch.length;
    s.status.lastHandledAt = Date.now();
    return true;
  }

  #failed(what: string, err: unknown): void {
    const s = this.#s;
    s.status.failures++;
    s.status.lastError = `${what}: ${errorCode(err)}: ${messageOf(err)}`;
    s.status.caughtUp = false;
    this.log.warning(
      'projection %s: %s failed (%s): %s; again in %d ms',
      s.name,
      what,
      errorCode(err),
      messageOf(err),
      s.retryMs,
    );
    this.sendAfter(this.pid, POLL, s.retryMs);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
