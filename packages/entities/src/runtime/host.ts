// The process that hosts one activated entity (internal). Its init takes the key's lease (a new
// fencing token), loads the state, and replays the inbox's accepted messages; then it serves the
// protocol one message at a time, saving the state with its token after each handler that
// replaced it (a call is answered only after that save). A save refused as stale ends the process
// with ERR_ENTITY_STALE_TOKEN. When idle for the kind's passivation time with an empty mailbox it
// stops normally; its terminate releases the lease so the next activation need not wait for expiry.

import {
  Actor,
  ErrProcessTerminated,
  ErrProtocolViolation,
  ExitReason,
  TerminateReasonNormal,
  type PID,
  type Ref,
} from 'ergo-ts';

import { errorCode } from '../contract/codes.js';
import { errorForWire } from '../contract/wire_errors.js';
import { describeThrown, thrownError } from '../contract/thrown.js';
import { ErrEventInvalid, ErrEventPoison, ErrStaleToken, ErrStoreWentBack } from '../contract/errors.js';
import type { ActivationLoad, EntityId, EntityStore, StoredState } from '../contract/store.js';
import { hostInspect, trackHost, untrackHost, type HostView } from '../inspect/inspector.js';
import { PendingRemindersView } from '../inspect/pending_reminders.js';
import {
  Answer,
  DeferredReply,
  answerWhenSettled,
  bindEntity,
  entityActivated,
  entityBusy,
  entityHandingOff,
  entityEnded,
  entityReminderStandby,
  entityStoreWentBack,
  isRefusal,
  type Entity,
  type EntityKind,
} from '../kinds/entity.js';
import { isEventSourced, type EventSourcedKind as EventSourcedKindOf } from '../kinds/event_sourced.js';
import { isReminderFire, type ReminderBinding } from '../kinds/reminder_types.js';
import { bindReminders, deliverReminder } from '../kinds/reminders.js';
import {
  ACTIVATED,
  HANDOFF,
  HANDOFF_AGAIN,
  HANDOFF_REASON,
  SETTLE,
  fromStore,
  isDurable,
  isStoreError,
  leaseHeldError,
  markDeadLettered,
  type ActivationView,
  type DurableEnvelope,
  type EntityEvent,
  type HostRuntime,
} from './host_runtime.js';
import { JournalActivation, journalInspect } from './event_sourced_host.js';
import { leaseLost, lostLeaseDetail } from './leases.js';
import { refusalWentBack } from './store_watermark.js';

/** How often a hand-off waiting for effects in flight looks again, in ms. */
const HAND_OFF_RECHECK_MS = 20;

// Local-only markers (local messages travel by reference, so identity is enough).
const TICK = Object.freeze({ '~entity': 'tick' });

/** A deferred reply that settled: answered from inside a handler. */
class Drain {
  constructor(
    readonly id: string,
    readonly message: unknown,
  ) {}
}

/** A key's state and inbox in one store operation when the store has one (`loadActivation`), else two reads at once. */
function readActivation(store: EntityStore, id: EntityId): Promise<ActivationLoad> {
  if (store.loadActivation !== undefined) return store.loadActivation(id);
  return Promise.all([store.load(id), store.inbox(id)]).then(([state, inbox]) => ({ state, inbox }));
}

/** The host actor (one per activation). */
export class EntityHost extends Actor {
  #rt!: HostRuntime;
  #kind!: EntityKind;
  #key = '';
  #token = 0;
  #version = 0;
  #entity!: Entity<unknown, unknown>;
  #saved: unknown;
  /**
   * The search row this activation last wrote (its JSON): a save whose row is the same sends none,
   * so the store skips its upsert (a workflow's step results change no status or attribute; the
   * upsert was the costliest statement of PostgreSQL's write). Unknown after a load: sent once.
   */
  #savedIndex: string | undefined;
  #lastActive = 0;
  #stale = false;
  /** What inspection shows of this activation (inspect/inspector.ts). */
  #view: HostView | undefined;
  #handingOff = false;
  /** performance.now() past which a hand-off no longer waits for effects in flight. */
  #handOffUntil: number | undefined;
  #handOffTimer: ReturnType<typeof setTimeout> | undefined;
  /** The passivation timer on the runtime's clock. */
  #tickTimer: unknown;
  /** The lease the token belongs to when it is not the key's own (a shard lease). */
  #lease: EntityId | undefined;
  /** The journal of an event-sourced kind's activation (event_sourced_host.ts). */
  #journal: JournalActivation | undefined;
  /** This activation's reminder operations (undefined: the store keeps none); a save writes what it staged. */
  #reminders: ReminderBinding | undefined;
  /** The pending reminders inspection shows (read from the store in the background). */
  #pendingReminders: PendingRemindersView | undefined;
  /**
   * Durable messages this activation accepted (or adopted from the inbox) and has not handled yet,
   * by id: each has a Drain queued. Sent again to the key if the activation ends before them.
   */
  readonly #pending = new Map<string, unknown>();
  /** Duplicates whose inbox entry is being read ({@link #adopt}). */
  readonly #adopting = new Set<string>();
  /**
   * Calls whose reply is deferred (a workflow's result) and not answered yet, by ref: the node
   * fails them only when the host ends abnormally, so a normal end answers them first itself.
   */
  readonly #deferredCalls = new Map<Ref, PID>();

  /**
   * Before a side effect of the entity (a workflow's step attempt, compensation, outbox delivery):
   * whether the lease is confirmed fresh (runtime.ts `confirmLease`). When it is not, this
   * activation ends (logged once as a lost lease): it may no longer be the key's only one.
   */
  async #confirmLease(): Promise<boolean> {
    if (this.#stale) return false;
    const rt = this.#rt;
    let ok: boolean;
    try {
      ok = (await rt.confirmLease?.(this.#kind.name, this.#key, this.#token)) ?? true;
    } catch {
      ok = false;
    }
    if (ok) return true;
    try {
      this.node.sendExit(this.pid, leaseLost('not confirmed before a side effect (a pause, or the store unreachable)'));
    } catch {
      // Already ending.
    }
    return false;
  }

  override async init(rt: HostRuntime, kind: EntityKind, key: string): Promise<Error | undefined> {
    this.#rt = rt;
    this.#kind = kind;
    this.#key = key;
    const id = { kind: kind.name, key };
    let opened;
    try {
      opened = await fromStore(rt.openLease(kind.name, key));
    } catch (err) {
      return this.#storeFailed('activation', err);
    }
    const lease = opened.lease;
    if (!lease.acquired) return leaseHeldError(lease.holder, lease.expiresAt);
    this.#token = lease.token;
    this.#lease = lease.lease;
    try {
      // The state and the inbox: read with the lease (one store operation), or now in one read.
      // While we hold the lease only this activation adds to or takes from the inbox.
      const loaded = opened.load ?? (await fromStore(readActivation(rt.measuredStore, id)));
      if (isEventSourced(kind)) await this.#restoreJournal(kind, key, loaded.state);
      else {
        const stored = loaded.state;
        this.#version = stored.version;
        const e = new (kind.entity as new () => Entity<unknown, unknown>)();
        e.state = stored.version === 0 && stored.state === undefined ? kind.initialState(key) : stored.state;
        this.#saved = e.state;
        this.#entity = e;
        bindEntity(e, {
          key,
          actor: this,
          save: () => this.#save(undefined),
          version: () => this.#version,
          token: () => this.#token,
          confirmLease: () => this.#confirmLease(),
          leaseFresh: () => !this.#stale && (rt.leaseFresh?.(kind.name, key, this.#token) ?? true),
          entities: rt,
          clock: rt.clock,
        });
      }
      const lease = this.#lease;
      const fence = () => ({ token: this.#token, ...(lease === undefined ? {} : { lease }) });
      if (rt.reminders !== undefined) {
        this.#reminders = rt.reminders.binding(kind, key, fence);
        bindReminders(this.#entity, this.#reminders);
      }
      await this.#checkWatermark();
      // Accepted messages a previous activation did not process: in the order they were accepted.
      for (const m of loaded.inbox) await this.#durableCounted(m.id, m.message);
    } catch (err) {
      // A stale activation leaves the lease alone: it is another activation's now.
      if (!ErrStaleToken.is(err)) void rt.releaseLease(kind.name, key, this.#token);
      if (isStoreError(err) && !ErrStaleToken.is(err)) return this.#storeFailed('activation', err);
      // The key stays unusable until the event or the fold is repaired: the operator must hear it.
      if (ErrEventPoison.is(err)) this.log.error('%s', (err as Error).message);
      return err as Error;
    }
    const journal = this.#journal;
    rt.activated(
      kind.name,
      key,
      this.#token,
      this.pid,
      journal === undefined ? undefined : () => journal.eventsSinceSnapshot,
      (name) => entityReminderStandby(this.#entity, name),
    );
    this.#view = {
      kind: kind.name,
      key,
      pid: this.pid,
      token: () => this.#token,
      version: () => this.#version,
      lastActive: () => this.#lastActive,
      state: () => this.#entity.state,
    };
    trackHost(rt, this.#view);
    rt.publish(this.#event('activated'));
    this.#lastActive = rt.clock.now();
    if (kind.passivateAfterMs > 0) this.#armTick(kind.passivateAfterMs);
    return undefined;
  }

  override async handleMessage(from: PID, message: unknown): Promise<Error | undefined> {
    if (message === TICK) {
      const passivate = this.#tick();
      if (passivate !== undefined && this.#journal !== undefined) await this.#snapshotBeforeStop(this.#journal);
      if (passivate !== undefined) this.#routeDeferredAgain('passivated');
      return passivate;
    }
    if (message === ACTIVATED) {
      try {
        entityActivated(this.#entity);
      } catch (err) {
        this.log.error('entity %s/%s: its activation hook failed: %s', this.#kind.name, this.#key, describeThrown(err));
      }
      return undefined;
    }
    if (message === HANDOFF || message === HANDOFF_AGAIN) {
      if (message === HANDOFF) this.#handOffUntil ??= performance.now() + (this.#rt.handOffTimeoutMs ?? 10_000);
      this.#handingOff = true;
      // Effects in flight (a workflow's step running): their outcome is journaled here first, so
      // the next owner replays it instead of running it again under a changed body (a deploy).
      if (entityHandingOff(this.#entity) && performance.now() < (this.#handOffUntil ?? 0)) {
        this.#handOffTimer ??= setTimeout(() => {
          this.#handOffTimer = undefined;
          try {
            this.node.send(this.pid, HANDOFF_AGAIN);
          } catch {
            // Ended meanwhile.
          }
        }, HAND_OFF_RECHECK_MS);
        return undefined;
      }
      if (this.#journal !== undefined) await this.#snapshotBeforeStop(this.#journal);
      this.#routeDeferredAgain('handed off');
      return TerminateReasonNormal;
    }
    if (message instanceof Answer) {
      if (!this.#deferredCalls.delete(message.ref)) return undefined; // answered on the way out
      message.give(this);
      return undefined;
    }
    this.#lastActive = this.#rt.clock.now();
    try {
      if (message instanceof Drain) {
        await this.#durableCounted(message.id, message.message);
        this.#pending.delete(message.id);
        return undefined;
      }
      if (from.node !== this.pid.node) {
        const issue = this.#kind.protocol.checkMessage(message);
        if (issue !== undefined) {
          this.log.warning(
            'entity %s/%s: refused a message from %s: %s',
            this.#kind.name,
            this.#key,
            from.node,
            issue.message,
          );
          return undefined;
        }
      }
      await this.#entity.handleMessage(message as never);
      await this.#saveIfChanged(undefined);
    } catch (err) {
      if (ErrStaleToken.is(err)) return leaseLost((err as Error).message);
      if (ErrEventInvalid.is(err) && !this.#journalFailed()) {
        this.log.warning('entity %s/%s: %s', this.#kind.name, this.#key, (err as Error).message);
        return undefined;
      }
      // The state in memory may be ahead of the store's: this activation ends, the next reloads.
      if (isStoreError(err)) return this.#storeFailed('message', err);
      throw err;
    }
    return undefined;
  }

  /** To a caller on another node, a workflow refusal keeps its detail (contract/wire_errors.ts). */
  override sendResponseError(to: PID, ref: Ref, error: Error): void {
    super.sendResponseError(to, ref, to.node === this.pid.node ? error : errorForWire(error));
  }

  override handleCall(from: PID, ref: Ref, request: unknown): unknown {
    if (request === SETTLE) return this.#settled();
    this.#lastActive = this.#rt.clock.now();
    if (isDurable(request)) return this.#accept(from, ref, request);
    if (from.node !== this.pid.node) {
      const issue = this.#kind.protocol.checkRequest(request);
      if (issue !== undefined) {
        this.sendResponseError(from, ref, ErrProtocolViolation.with(`entity ${this.#kind.name}: ${issue.message}`));
        return undefined;
      }
    }
    return this.#call(from, ref, request);
  }

  override handleInspect(): Record<string, string> {
    if (this.#view === undefined) return {};
    const items = hostInspect(this.#view);
    if (this.#journal !== undefined && 'state' in items) items.recent_events = journalInspect(this.#journal);
    if (this.#rt.reminders !== undefined) {
      const { kind, key } = this.#view;
      this.#pendingReminders ??= new PendingRemindersView(
        () => this.#rt.readReminders(kind, key) ?? Promise.resolve([]),
      );
      this.#pendingReminders.inspect(items);
    }
    return items;
  }

  override terminate(exit: Error): void {
    if (this.#handOffTimer !== undefined) clearTimeout(this.#handOffTimer);
    if (this.#tickTimer !== undefined) this.#rt.clock.clearTimeout(this.#tickTimer);
    if (this.#view !== undefined) untrackHost(this.#rt, this.#view);
    if (this.#token === 0 || this.#entity === undefined) return;
    entityEnded(this.#entity, exit);
    // Accepted, not handled (a refused write ended this activation): to the key's owner now.
    if (this.#pending.size > 0) this.#rt.redeliver(this.#kind.name, this.#key, new Map(this.#pending));
    const reason = exit instanceof ExitReason ? exit.reason : exit;
    const lost = lostLeaseDetail(reason);
    if (lost !== undefined) {
      this.#stale = true;
      this.#rt.leaseRefused?.(this.#kind.name, this.#key, this.#token);
      this.#rt.log(
        'entity %s/%s: lease lost (token %d): %s; this activation ended',
        this.#kind.name,
        this.#key,
        this.#token,
        lost,
      );
    }
    this.#rt.ended(this.#kind.name, this.#key, this.#token);
    // A stale activation must not touch the lease: it is another activation's now.
    const release = this.#stale
      ? Promise.resolve()
      : this.#rt.releaseLease(this.#kind.name, this.#key, this.#token).catch((e: unknown) => {
          this.#rt.log(
            'entity %s/%s: releasing its lease failed (%s): %s',
            this.#kind.name,
            this.#key,
            errorCode(e),
            e,
          );
        });
    const normal = TerminateReasonNormal.is(reason);
    if (normal && this.#handingOff) {
      // Published once the lease is free: the next owner activates at once, without waiting for its expiry.
      const event = this.#event('passivated', HANDOFF_REASON);
      this.#rt.track(release.then(() => this.#rt.publish(event)));
      return;
    }
    // Published once the lease is released (a store may commit the release a turn later: SQLite's
    // group commit), so whoever hears 'passivated' finds the key free.
    const event = this.#event(normal ? 'passivated' : 'stopped', normal ? undefined : reason.message);
    this.#rt.track(release.then(() => this.#rt.publish(event)));
  }

  /**
   * A store older than what this member was told (store_watermark.ts): the key halts, loudly. An
   * entity that halts itself (a workflow instance) records why at once, at the store's version,
   * which then counts as the present; any other activation is refused with ERR_ENTITY_STORE_WENT_BACK.
   */
  async #checkWatermark(): Promise<void> {
    const w = this.#rt.watermark;
    if (w === undefined) return;
    const kind = this.#kind.name;
    const key = this.#key;
    const shard = this.#lease;
    const shardBack = shard === undefined ? undefined : w.shardWentBack(shard, this.#token);
    if (shardBack !== undefined) this.log.error('entities: the store went back in time: %s', shardBack);
    const read = { kind, key, version: this.#version, lease: shard ?? { kind, key }, token: this.#token };
    const why = w.check({ ...read, keyLease: shard === undefined });
    if (why === undefined) return;
    const err = ErrStoreWentBack.with(why);
    this.log.error(
      'entity %s/%s: the store went back in time (%s): %s; the key halts, nothing of it runs again until an operator decides',
      kind,
      key,
      err.code,
      why,
    );
    if (this.#journal !== undefined || !entityStoreWentBack(this.#entity, err)) throw err;
    await this.#save(undefined);
    w.accept({ ...read, version: this.#version, keyLease: shard === undefined });
  }

  /** A store operation failed (its connection dropped, a timeout...): a warning, and this activation ends. */
  #storeFailed(what: string, err: unknown): Error {
    this.#rt.log(
      'entity %s/%s: store failed during %s (%s): %s; this activation ends (the next message re-activates it)',
      this.#kind.name,
      this.#key,
      what,
      errorCode(err),
      err instanceof Error ? err.message : describeThrown(err),
    );
    return thrownError(err);
  }

  async #call(from: PID, ref: Ref, request: unknown): Promise<unknown> {
    try {
      const reply = await this.#entity.handleCall(request as never);
      if (reply instanceof DeferredReply) return this.#deferred(from, ref, reply);
      await this.#saveIfChanged(undefined);
      return reply;
    } catch (err) {
      if (ErrStaleToken.is(err)) {
        this.sendResponseError(from, ref, err as Error);
        return leaseLost((err as Error).message);
      }
      if (ErrEventInvalid.is(err) && !this.#journalFailed()) {
        // Refused before anything was written: the caller gets the error, the activation goes on.
        this.sendResponseError(from, ref, err as Error);
        return undefined;
      }
      if (err instanceof Error && isRefusal(err)) return this.#refused(from, ref, err);
      if (!isStoreError(err)) throw err;
      this.sendResponseError(from, ref, err);
      return this.#storeFailed('call', err);
    }
  }

  /**
   * A reply given later (a workflow's result): when it settles it comes back to this process as a
   * local message (a process acts only inside its handlers), whose handler answers the caller.
   */
  #deferred(from: PID, ref: Ref, d: DeferredReply): undefined {
    this.#deferredCalls.set(ref, from);
    answerWhenSettled(this.node, this.pid, from, ref, d.reply);
    return undefined;
  }

  /**
   * Before a normal end (a hand-off, a passivation): the deferred calls get ERR_PROCESS_TERMINATED,
   * which routing takes to the key's next owner at once. Unanswered, they waited out their timeout
   * (a `result()` its 30 s) after the key moved: the node fails a departed process's calls only
   * when it ended abnormally, and the entity's own last answers come back to a process gone.
   */
  #routeDeferredAgain(why: string): void {
    // Most activations end with no call deferred: no error (its message, its stack) made for none.
    if (this.#deferredCalls.size === 0) return;
    const err = ErrProcessTerminated.with(
      `entity ${this.#kind.name}/${this.#key}: its activation on ${this.pid.node} ${why}`,
    );
    for (const [ref, from] of this.#deferredCalls)
      try {
        this.sendResponseError(from, ref, err);
      } catch {
        // The caller is gone (its node went down): nothing waits for this answer.
      }
    this.#deferredCalls.clear();
  }

  /** A refused call: what the handler changed before refusing is saved, then the caller gets the refusal. */
  async #refused(from: PID, ref: Ref, err: Error): Promise<unknown> {
    try {
      await this.#saveIfChanged(undefined);
    } catch (e) {
      this.sendResponseError(from, ref, e as Error);
      if (ErrStaleToken.is(e)) return leaseLost((e as Error).message);
      if (isStoreError(e)) return this.#storeFailed('call', e);
      throw e;
    }
    this.sendResponseError(from, ref, err);
    return undefined;
  }

  /** A durable message: accepted into the store's inbox, acknowledged, then processed. */
  async #accept(from: PID, ref: Ref, env: DurableEnvelope): Promise<unknown> {
    if (from.node !== this.pid.node) {
      // A reminder's fire comes from the scheduler of the member that owns the key's shard.
      const issue = isReminderFire(env.message) ? undefined : this.#kind.protocol.checkMessage(env.message);
      if (issue !== undefined) {
        this.sendResponseError(from, ref, ErrProtocolViolation.with(`entity ${this.#kind.name}: ${issue.message}`));
        return undefined;
      }
    }
    let r: 'accepted' | 'duplicate';
    try {
      r = await fromStore(
        this.#rt.measuredStore.enqueue({ kind: this.#kind.name, key: this.#key }, env.id, env.message),
      );
    } catch (err) {
      // Not accepted, nothing changed: the sender sends again with the same id.
      this.sendResponseError(from, ref, thrownError(err));
      this.#rt.log(
        'entity %s/%s: store failed accepting message %s (%s): %s',
        this.#kind.name,
        this.#key,
        env.id,
        errorCode(err),
        err instanceof Error ? err.message : describeThrown(err),
      );
      return undefined;
    }
    if (r === 'accepted') {
      this.#pending.set(env.id, env.message);
      this.send(this.pid, new Drain(env.id, env.message));
    } else if (!this.#pending.has(env.id) && !this.#adopting.has(env.id)) await this.#adopt(env.id);
    return r;
  }

  /**
   * A durable message the store already holds ('duplicate'): when it is still in the inbox, not
   * processed, and not queued here, an activation that lost the key accepted it (or one that ended
   * did) after this one had read the inbox; this one, which holds the key, handles it. A read of
   * the processed ids and the inbox, only on duplicates.
   */
  async #adopt(id: string): Promise<void> {
    const entity = { kind: this.#kind.name, key: this.#key };
    this.#adopting.add(id);
    try {
      const store = this.#rt.measuredStore;
      const entry = (await store.processed(entity, id))
        ? undefined
        : (await store.inbox(entity)).find((m) => m.id === id);
      if (entry === undefined || this.#pending.has(id)) return;
      this.#pending.set(id, entry.message);
      this.send(this.pid, new Drain(id, entry.message));
    } catch (err) {
      this.#rt.log(
        'entity %s/%s: reading the inbox for duplicate %s failed (%s): %s',
        this.#kind.name,
        this.#key,
        id,
        errorCode(err),
        err instanceof Error ? err.message : describeThrown(err),
      );
    } finally {
      this.#adopting.delete(id);
    }
  }

  /** {@link #durable}; a failure of the entity's own (not the store's) is counted against the message first. */
  async #durableCounted(id: string, message: unknown): Promise<void> {
    try {
      await this.#durable(id, message);
    } catch (err) {
      throw await this.#countFailure(id, err);
    }
  }

  /**
   * Counts a handler's failure on durable message `id` in the store (a poison message moves to the
   * dead letters at the runtime's `inbox.maxAttempts`); answers the error to end with, marked when
   * the message was moved (the key may activate again at once, without it).
   */
  async #countFailure(id: string, err: unknown): Promise<unknown> {
    if (isStoreError(err) || ErrStaleToken.is(err)) return err;
    const fence = { token: this.#token, lease: this.#lease };
    let r;
    try {
      r = await this.#rt.inboxFailed(this.#kind.name, this.#key, fence, id, err);
    } catch (e) {
      this.#rt.log(
        'entity %s/%s: counting the failure of message %s failed (%s)',
        this.#kind.name,
        this.#key,
        id,
        errorCode(e),
      );
      return err;
    }
    if (r?.deadLettered !== true) return err;
    this.#pending.delete(id);
    this.#rt.log(
      'entity %s/%s: message %s failed %d times; moved to the dead letters (entities.deadLetters)',
      this.#kind.name,
      this.#key,
      id,
      r.attempts,
    );
    return markDeadLettered(err);
  }

  async #durable(id: string, message: unknown): Promise<void> {
    // No processed() read first: an inbox row is removed in the transaction that processes it, a
    // Drain is sent once per 'accepted' enqueue, and the store itself refuses an id processed twice.
    if (this.#journal !== undefined) return this.#durableEvents(this.#journal, id, message);
    if (isReminderFire(message)) await deliverReminder(this.#entity, this.#kind, message, this.#rt.clock.now());
    else await this.#entity.handleMessage(message as never);
    await this.#save(id);
  }

  #saveIfChanged(processed: string | undefined): Promise<void> | undefined {
    if (this.#journal !== undefined) {
      this.#journal.afterHandler();
      return undefined;
    }
    if (this.#entity.state === this.#saved && processed === undefined && this.#reminders?.staged() !== true)
      return undefined;
    return this.#save(processed);
  }

  async #save(processed: string | undefined): Promise<void> {
    const state = this.#entity.state;
    // Reminder changes kept for this save (a durable machine's timeouts): written in its transaction,
    // under its token, so a refused save changes none. Taken now: a later save has its own.
    const reminders = this.#reminders?.takeStaged();
    const fresh = this.#kind.index?.(state);
    const indexJson = fresh === undefined ? undefined : JSON.stringify(fresh);
    const index = indexJson !== undefined && indexJson === this.#savedIndex ? undefined : fresh;
    try {
      this.#version = await fromStore(
        this.#rt.measuredStore.write({
          kind: this.#kind.name,
          key: this.#key,
          token: this.#token,
          expectedVersion: this.#version,
          state,
          ...(this.#lease === undefined ? {} : { lease: this.#lease }),
          ...(processed === undefined ? {} : { processed }),
          ...(reminders === undefined ? {} : { reminders }),
          ...(index === undefined ? {} : { index }),
        }),
      );
      if (reminders !== undefined) this.#reminders!.written(reminders);
      this.#rt.watermark?.wrote(this.#kind.name, this.#key, this.#version);
      this.#saved = state;
      if (indexJson !== undefined) this.#savedIndex = indexJson;
      this.#rt.publish(this.#event('written'));
    } catch (err) {
      const back = refusalWentBack(err);
      if (back !== undefined)
        this.log.error(
          'entity %s/%s: the store went back in time (ERR_ENTITY_STORE_WENT_BACK): %s; this activation ends',
          this.#kind.name,
          this.#key,
          back,
        );
      if (ErrStaleToken.is(err)) this.#publishRefused(err as Error);
      throw err;
    }
  }

  #publishRefused(err: Error): void {
    this.#stale = true;
    this.#rt.publish(this.#event('refused', err.message));
  }

  /** Rebuilds an event-sourced activation (snapshot + later events) and binds its entity. */
  async #restoreJournal(kind: EventSourcedKindOf, key: string, snapshot: StoredState): Promise<void> {
    const j = await JournalActivation.restore(kind, key, snapshot, {
      store: this.#rt.measuredStore,
      actor: this,
      token: () => this.#token,
      lease: this.#lease,
      fromStore,
      written: (version, events, snapshot) => {
        this.#version = version;
        this.#rt.watermark?.wrote(this.#kind.name, this.#key, version);
        this.#rt.journaled(this.#kind.name, events, snapshot);
        this.#rt.publish(this.#event('written'));
      },
      refused: (err) => {
        if (ErrStaleToken.is(err)) this.#publishRefused(err);
      },
    });
    this.#journal = j;
    this.#version = j.version;
    // The host reads `state` for inspection only: the journal's, read-only.
    this.#entity = j.entity as unknown as Entity<unknown, unknown>;
  }

  /** A durable message of an event-sourced entity: its id is written with the events it persists. */
  async #durableEvents(j: JournalActivation, id: string, message: unknown): Promise<void> {
    j.beginDurable(id);
    try {
      if (isReminderFire(message)) await deliverReminder(this.#entity, this.#kind, message, this.#rt.clock.now());
      else await this.#entity.handleMessage(message as never);
      await j.endDurable();
    } finally {
      j.resetDurable();
    }
  }

  /** True once a write of this event-sourced activation was refused (it ends). */
  #journalFailed(): boolean {
    try {
      this.#journal?.afterHandler();
      return false;
    } catch {
      return true;
    }
  }

  /** An event-sourced activation that stops normally writes a snapshot first (a failure is only logged). */
  async #snapshotBeforeStop(j: JournalActivation): Promise<void> {
    try {
      await j.snapshotIfBehind();
    } catch (err) {
      this.#rt.log(
        'entity %s/%s: snapshot before stopping failed (%s): %s',
        this.#kind.name,
        this.#key,
        errorCode(err),
        err instanceof Error ? err.message : describeThrown(err),
      );
    }
  }

  #tick(): Error | undefined {
    this.#tickTimer = undefined;
    const idle = this.#rt.clock.now() - this.#lastActive;
    const ms = this.#kind.passivateAfterMs;
    const l = this.process.mailbox().lengths();
    if (idle >= ms && l.urgent + l.system + l.main === 0 && !entityBusy(this.#entity)) return TerminateReasonNormal;
    this.#armTick(Math.max(1, ms - idle));
    return undefined;
  }

  /** Sends this host a passivation tick after `ms` of the runtime's clock (cancelled by terminate). */
  #armTick(ms: number): void {
    const rt = this.#rt;
    const pid = this.pid;
    this.#tickTimer = rt.clock.setTimeout(() => {
      try {
        rt.node.send(pid, TICK);
      } catch {
        // The host ended meanwhile (its terminate cancels the timer; a race with it lands here).
      }
    }, ms);
  }

  #settled(): ActivationView {
    return { pid: this.pid, token: this.#token, version: this.#version, state: this.#entity.state };
  }

  #event(event: EntityEvent['event'], reason?: string): EntityEvent {
    return {
      event,
      node: this.pid.node,
      kind: this.#kind.name,
      key: this.#key,
      token: this.#token,
      version: this.#version,
      ...(reason === undefined ? {} : { reason }),
    };
  }
}
