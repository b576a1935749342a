// One entity under test: a typed handle on (kind, key) inside a TestEntities kit. Its driving
// methods go through the real runtime (Entities.send / call / sendDurable, the manager's
// activation) and then wait, with an internal call the host answers after everything queued before
// it, until the entity has handled what was sent and saved it: when a method resolves, the store
// holds what the handler wrote. Time-driven steps (passivation) move the kit's test clock; the
// store is read through the EntityStore interface, as the runtime reads it.

import {
  ErrNameUnknown,
  ErrProcessTerminated,
  ErrProcessUnknown,
  ProcessID,
  TerminateReasonShutdown,
  defineError,
  type AnyProtocol,
  type Atom,
  type MessageOf,
  type Node,
  type PID,
  type ReplyOf,
  type RequestOf,
} from 'ergo-ts';
import type { TestClock } from 'ergo-ts/testing';

import { entity as address, type EntityAddress, type EntityKind } from '../kinds/entity.js';
import type { EventSourcedKind } from '../kinds/event_sourced.js';
import { ErrEntityIncorrect, ErrLeaseHeld } from '../contract/errors.js';
import { SETTLE, type ActivationView, type EntityEvent } from '../runtime/host_runtime.js';
import { hostName } from '../contract/ids.js';
import type { MemoryStore } from '../store/memory_store.js';
import type { Entities } from '../entities.js';
import type { EntityCallOptions } from '../runtime/options.js';
import type { StoredReminder } from '../contract/reminder_store.js';
import type { InboxEntry, StoredEvent } from '../contract/store.js';
import { eventMatches, showEvent, type EntityEventMatch, type EventRecorder } from './event_recorder.js';

/**
 * What a test step sent ended the activation instead of being handled: the handler threw (a
 * panic), or its write was refused as stale. The error's message names the kind, key and the
 * reason the runtime published; `cause` is the failure the kit saw, when there was one.
 */
export const ErrEntityEnded = defineError('ERR_ENTITY_TEST_ENDED', 'entity test: the activation ended');

/** An activation as the test kit sees it. */
export interface TestActivation<S> {
  /** The host process. */
  readonly pid: PID;
  /** The activation's fencing token. */
  readonly token: number;
  /** The state's stored version (the last write this activation made, or what it loaded). */
  readonly version: number;
  /** The state in memory (by reference: read it, do not change it). */
  readonly state: S;
}

/** What {@link TestEntity.takeOver} gives: the lease another (simulated) activation now holds. */
export interface LeaseTakeOver {
  /** The newer fencing token the taker holds: every write of the entity's older activation is stale. */
  readonly token: number;
  /** The owner string the lease is held by. */
  readonly owner: string;
  /** Gives the taken lease back (the key may then activate here again, with a newer token still). */
  release(): Promise<void>;
}

/** @internal What a {@link TestEntity} uses of its kit (test_entities.ts provides it). */
export interface TestKitContext {
  readonly node: Node;
  readonly entities: Entities;
  readonly store: MemoryStore;
  readonly clock: TestClock;
  readonly recorder: EventRecorder;
  /** Real-time bound of the kit's own waits, in ms. */
  readonly timeoutMs: number;
  /** The lease a key's activations write under: its own, or its shard's (the runtime's `leaseScope`). */
  leaseId(kind: string, key: string): { kind: string; key: string };
}

/** A kind the test kit drives: a state-mode kind (durable state machines are ones) or an event-sourced kind. */
export type TestableKind<P extends AnyProtocol, S> = EntityKind<P, S> | EventSourcedKind<P, S, any>;

/** One stored event of a key as {@link TestEntity.storedEvents} reads it: `event` typed as the kind's events. */
export interface TestStoredEvent<E> extends StoredEvent {
  /** The event as stored (decoded by the store's codec; not upcast). */
  readonly event: E;
}

const ENDS = (e: EntityEvent): boolean => e.event === 'stopped' || e.event === 'refused';

let takers = 0;

/**
 * A typed handle on the entity of `kind` with `key` inside a TestEntities kit (from
 * `kit.entity(kind, key)`): `send` and `call` are checked against the kind's protocol, the stored
 * state is typed as the kind's state. Handles are cheap and hold nothing: two handles on one key
 * drive the same entity.
 *
 * Lifecycle: the entity is activated by its first message (or {@link activate}); every driving
 * method resolves once the entity handled what was sent and saved what it changed, and rejects
 * with ERR_ENTITY_TEST_ENDED when that ended the activation instead (a throw in the handler, a
 * write refused as stale). After the kit stopped, every method rejects (the store is closed).
 */
export class TestEntity<P extends AnyProtocol, S, E = unknown> {
  /** Phantom: the kind's event type (an event-sourced kind's events; unknown otherwise). */
  declare readonly '~events'?: E;
  /** The entity's typed address (what `entities.call` takes). */
  readonly address: EntityAddress<P>;
  /** The entity's kind. */
  readonly kind: TestableKind<P, S>;
  /** The entity's key. */
  readonly key: string;
  readonly #kit: TestKitContext;

  /** @internal use `kit.entity(kind, key)`. */
  constructor(kit: TestKitContext, kind: TestableKind<P, S>, key: string) {
    this.address = address(kind, key);
    this.kind = kind;
    this.key = key;
    this.#kit = kit;
  }

  /**
   * Activates the entity here if it is not active (taking its lease, loading its state, replaying
   * its inbox) and resolves with the activation. Rejects with ERR_ENTITY_LEASE_HELD when another
   * owner holds the key's lease (after {@link takeOver}).
   */
  async activate(): Promise<TestActivation<S>> {
    const r = await this.#kit.entities.activateLocal(this.kind.name, this.key);
    if (!r.ok) throw ErrLeaseHeld.with(`${this.kind.name}/${this.key}: held by ${r.holder} until ${r.expiresAt}`);
    const a = await this.activation();
    if (a === undefined) throw ErrEntityEnded.with(`${this.#id()}: ended right after its activation`);
    return a;
  }

  /**
   * Resolves with the live activation once it handled everything sent to it before (and saved
   * it), or undefined when the key is not active on the kit's node.
   */
  async activation(): Promise<TestActivation<S> | undefined> {
    try {
      const view = (await this.#kit.node.call(new ProcessID(this.#name(), this.#kit.node.name as Atom), SETTLE, {
        timeout: this.#kit.timeoutMs,
      })) as ActivationView;
      return view as TestActivation<S>;
    } catch (err) {
      if (ErrNameUnknown.is(err) || ErrProcessUnknown.is(err)) return undefined;
      throw err;
    }
  }

  /** True when the key is active on the kit's node now. */
  isActive(): boolean {
    return this.#kit.entities.active().some((a) => a.kind === this.kind.name && a.key === this.key);
  }

  /**
   * Sends `message` (`entities.send`: activating the entity when needed) and resolves once the
   * entity handled it and saved what it changed. Rejects with ERR_ENTITY_TEST_ENDED when handling it
   * ended the activation.
   */
  async send(message: MessageOf<P>, options: EntityCallOptions = {}): Promise<void> {
    const mark = this.#kit.recorder.length;
    await this.#kit.entities.send(this.address, message, options);
    await this.#settle(mark, 'send');
  }

  /**
   * Calls the entity (`entities.call`) and resolves with its reply, sent after the state the call
   * changed was saved. Rejects as `entities.call` does (the entity's own error, ERR_ENTITY_STALE_TOKEN
   * when its write was refused, ERR_ENTITY_UNAVAILABLE when no activation was reached in time).
   */
  call<const R extends RequestOf<P>>(request: R, options: EntityCallOptions = {}): Promise<ReplyOf<P, R>> {
    return this.#kit.entities.call(this.address, request, options);
  }

  /**
   * Sends `message` durably with `id` (`entities.sendDurable`): resolves with 'accepted' (stored in
   * the inbox, then handled: when this resolves the entity has processed it and recorded `id`) or
   * 'duplicate' (that id was accepted before: nothing new happens).
   */
  async sendDurable(
    message: MessageOf<P>,
    id: string,
    options: EntityCallOptions = {},
  ): Promise<'accepted' | 'duplicate'> {
    const mark = this.#kit.recorder.length;
    const r = await this.#kit.entities.sendDurable(this.address, message, id, options);
    await this.#settle(mark, 'sendDurable');
    return r;
  }

  /**
   * Passivates the entity the way idleness does: moves the kit's test clock by the kind's
   * `passivateAfterMs`, so its passivation timer fires, and resolves with the 'passivated' event
   * (the state stays in the store; the lease was released). Everything sent before is handled
   * first. Rejects with ERR_ENTITY_INCORRECT when the kind never passivates (`passivateAfterMs: 0`)
   * or the entity is not active; with ERR_TIMEOUT when it did not passivate (its mailbox is never
   * empty).
   */
  async passivate(): Promise<EntityEvent> {
    const ms = this.kind.passivateAfterMs;
    if (ms === 0) throw ErrEntityIncorrect.with(`kind ${this.kind.name} never passivates (passivateAfterMs 0)`);
    const a = await this.activation();
    if (a === undefined) throw ErrEntityIncorrect.with(`${this.#id()} is not active`);
    const mark = this.#kit.recorder.length;
    this.#kit.clock.advance(ms);
    return this.#kit.recorder.next(
      mark,
      { event: 'passivated', kind: this.kind.name, key: this.key, token: a.token },
      `${this.#id()} passivates after ${ms} ms idle`,
      this.#kit.timeoutMs,
    );
  }

  /**
   * Ends the live activation abruptly (a shutdown exit: no handler runs, nothing more is saved,
   * what it held only in memory is lost) and activates the key again, which loads the state from
   * the store and replays the inbox: what the new activation holds is what was saved. Resolves
   * with the new activation (a newer token). Activates the entity first when it is not active.
   */
  async restart(): Promise<TestActivation<S>> {
    const a = (await this.activation()) ?? (await this.activate());
    const mark = this.#kit.recorder.length;
    try {
      this.#kit.node.sendExit(a.pid, TerminateReasonShutdown);
    } catch {
      // It ended meanwhile: its end event is recorded all the same.
    }
    await this.#kit.recorder.next(
      mark,
      (e) => e.kind === this.kind.name && e.key === this.key && e.token === a.token && e.event !== 'written',
      `${this.#id()} (token ${a.token}) ends`,
      this.#kit.timeoutMs,
    );
    return this.activate();
  }

  /**
   * Another owner takes the lease the key's activations write under, as a node that took the key
   * over would: the key's own lease with `leaseScope: 'key'`, its shard's lease with shard leases
   * (the default; then every active key of that shard is fenced, as when a node takes a shard).
   * The store gives the taker the next fencing token at once, so the entity's next write is
   * refused as stale (ERR_ENTITY_STALE_TOKEN: a call rejects with it, the 'refused' event is
   * published, and the activation ends). Reads from memory keep answering until then, as in
   * production. The taker's lease lasts `ttlMs` of the test clock (default a day) unless released.
   */
  async takeOver(options: { readonly ttlMs?: number } = {}): Promise<LeaseTakeOver> {
    const id = this.#kit.leaseId(this.kind.name, this.key);
    const owner = `test-taker-${++takers}`;
    const store = this.#kit.store;
    const held = store.data.lease(id);
    // Release and acquire in one JS turn: the memory store runs each operation inside its call, so
    // no activation can take the freed lease in between.
    const released = held === undefined ? Promise.resolve() : store.release(id, held.token);
    const taking = store.acquire({ ...id, owner, ttlMs: options.ttlMs ?? 86_400_000 });
    await released;
    const r = await taking;
    if (!r.acquired) throw ErrLeaseHeld.with(`${this.#id()}: held by ${r.holder}`);
    return { token: r.token, owner, release: () => store.release(id, r.token) };
  }

  /** The key's stored state and version, as the next activation would load them. */
  async stored(): Promise<{ readonly state: S | undefined; readonly version: number }> {
    const s = await this.#kit.store.load({ kind: this.kind.name, key: this.key });
    return s as { state: S | undefined; version: number };
  }

  /**
   * The key's stored events, oldest first (an event-sourced kind's journal of this key: what the
   * next activation folds after its snapshot), each with its version, type and schema version.
   * Empty for a state-mode kind.
   */
  async storedEvents(): Promise<TestStoredEvent<E>[]> {
    return (await this.#kit.store.events({ kind: this.kind.name, key: this.key }, 0)) as TestStoredEvent<E>[];
  }

  /**
   * The key's pending durable reminders, by name (each with its next due time on the test clock,
   * its period and payload). A one-shot reminder leaves this list once fired; a periodic one moves
   * to its next time. A durable state machine's running timeouts are here, named after their slot:
   * `timeout/state`, `timeout/message`, `timeout/generic:<name>`.
   */
  reminders(): Promise<StoredReminder[]> {
    return this.#kit.store.reminders({ kind: this.kind.name, key: this.key });
  }

  /** The key's accepted durable messages not processed yet, in the order they were accepted. */
  inbox(): Promise<InboxEntry[]> {
    return this.#kit.store.inbox({ kind: this.kind.name, key: this.key });
  }

  /** Whether the durable message `id` was processed (recorded with a state write). */
  processed(id: string): Promise<boolean> {
    return this.#kit.store.processed({ kind: this.kind.name, key: this.key }, id);
  }

  /**
   * The lease the key's activations write under, as the store holds it (token, owner, expiry on
   * the test clock): the key's own with `leaseScope: 'key'`, its shard's with shard leases (the
   * default); undefined if never taken.
   */
  lease(): Promise<{ token: number; owner: string; expiresAt: number } | undefined> {
    return this.#kit.store.lease(this.#kit.leaseId(this.kind.name, this.key));
  }

  /** The events the runtime published for this key (activated, written, passivated, stopped, refused), oldest first. */
  events(match?: EntityEventMatch): EntityEvent[] {
    return this.#kit.recorder.since(
      0,
      (e) => e.kind === this.kind.name && e.key === this.key && (match === undefined || eventMatches(e, match)),
    );
  }

  /** Waits for the activation to handle what was sent since `mark`; an end meanwhile rejects. */
  async #settle(mark: number, what: string): Promise<void> {
    let failure: unknown;
    try {
      await this.activation();
    } catch (err) {
      failure = err;
    }
    const ends = (e: EntityEvent): boolean => e.kind === this.kind.name && e.key === this.key && ENDS(e);
    // The host ended while settling (ERR_PROCESS_TERMINATED): the runtime records why a moment
    // later, after the process is gone; wait for that record rather than reading too early.
    if (ErrProcessTerminated.is(failure))
      await this.#kit.recorder.next(mark, ends, `${this.#id()}: its end`, this.#kit.timeoutMs).catch(() => undefined);
    const ended = this.#kit.recorder.since(mark, ends);
    if (ended.length > 0)
      throw ErrEntityEnded.with(
        `${this.#id()}: ${what} ended the activation: ${ended.map(showEvent).join('; ')}`,
        failure,
      );
    if (failure !== undefined) throw failure;
  }

  #name(): Atom {
    return hostName(this.kind.name, this.key) as Atom;
  }

  #id(): string {
    return `${this.kind.name}/${this.key}`;
  }
}
