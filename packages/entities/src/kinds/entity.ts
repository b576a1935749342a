// Declaring an entity kind: its name, its typed protocol (a core `defineProtocol`), the class of
// its entities and its initial state. An entity is an object of that class living inside a host
// process (one per activated key); it sees its key and its state, answers the protocol's messages
// and calls, and its state is saved with the activation's fencing token after each handler that
// replaced it. `entity(kind, key)` is the typed address of one entity, usable from any node.

import type { Actor, AnyProtocol, AnyReplyOf, Log, MessageOf, Node, PID, Ref, ReplyOf, RequestOf } from 'ergo-ts';

import type { EntityCallOptions } from '../contract/call_options.js';

import { ErrEntityIncorrect } from '../contract/errors.js';
import { checkKey } from '../contract/ids.js';
import { thrownError } from '../contract/thrown.js';
import type { CheckStorable } from '../contract/storable.js';
import type { StateIndexEntry } from '../contract/state_index.js';
import { checkReminderSchemas } from '../contract/reminder_store.js';
import type { EntitiesClock } from '../contract/clock.js';
import type { ReminderSchemas } from './reminder_types.js';

/** Longest kind name, in UTF-8 bytes (a kind and a key make a process name, an atom ≤ 255 bytes). */
export const MAX_KIND_LENGTH = 40;

/** What the host tells its entity when it binds it (internal to this package). */
export interface EntityBinding {
  readonly key: string;
  readonly actor: Actor;
  readonly save: () => Promise<void>;
  readonly version: () => number;
  readonly token: () => number;
  /**
   * Resolves true once the activation's lease is confirmed fresh (runtime/leases.ts `confirm`),
   * false when it may be lost: no side effect may run.
   */
  readonly confirmLease: () => Promise<boolean>;
  /** Whether the activation's lease is confirmed fresh now (runtime/leases.ts `fresh`): no store asked. */
  readonly leaseFresh: () => boolean;
  /** The runtime of the node hosting the activation. */
  readonly entities: EntitiesClient;
  /** The runtime's clock (the test kit's TestClock in tests). */
  readonly clock: EntitiesClock;
}

const bindings = new WeakMap<Entity<unknown, unknown>, EntityBinding>();

/** Internal: the host binds an entity object to its key, process and store writes. */
export function bindEntity(e: Entity<unknown, unknown>, b: EntityBinding): void {
  bindings.set(e, b);
}

function bound(e: Entity<unknown, unknown>): EntityBinding {
  const b = bindings.get(e);
  if (b === undefined) throw ErrEntityIncorrect.with('this entity is not activated (it was made outside its host)');
  return b;
}

/**
 * Internal: resolves true once `e`'s activation holds a lease confirmed within its ttl less the
 * margin (asking the store when it was not), false when the lease may be lost: the workflow
 * engine runs no step attempt, compensation or outbox delivery then.
 */
export function leaseConfirmed(e: Entity<unknown, unknown>): Promise<boolean> {
  return bound(e).confirmLease();
}

/**
 * Internal: whether `e`'s activation holds a lease confirmed within its ttl less the margin at
 * this very moment, asking nothing: the check made in the same turn as a side effect's call.
 */
export function leaseFreshNow(e: Entity<unknown, unknown>): boolean {
  return bound(e).leaseFresh();
}

/** Internal: the runtime clock of an activated entity (the workflow engine keeps its time on it). */
export function clockOf(e: Entity<unknown, unknown>): EntitiesClock {
  return bound(e).clock;
}

/** Errors a call handler threw to refuse the call (see {@link refuseCall}). */
const refusals = new WeakSet<Error>();

/**
 * Marks `err` as a refusal of the call being handled: the host answers the caller with it and the
 * activation goes on (another error thrown by a call handler ends the activation). For refusals
 * decided before any state change (a durable state machine's call in a state without a handler).
 */
export function refuseCall<E extends Error>(err: E): E {
  refusals.add(err);
  return err;
}

/** A reply a call handler gives later (see {@link deferReply}). */
export class DeferredReply {
  constructor(readonly reply: Promise<unknown>) {}
}

/**
 * Internal: a call handler returns `deferReply(p)` to answer its caller when `p` settles, without
 * holding its entity's mailbox meanwhile (a workflow's `result`). Nothing is saved for such a call:
 * the handler must not change `state`.
 */
export function deferReply(reply: Promise<unknown>): DeferredReply {
  return new DeferredReply(reply);
}

/**
 * Internal: the outcome of a call answered later, come back to the process that owes the answer as
 * a local message — a process answers only inside its handlers. Made by {@link answerWhenSettled},
 * answered by {@link Answer.give} from that process's handleMessage.
 */
export class Answer {
  constructor(
    readonly from: PID,
    readonly ref: Ref,
    readonly value: unknown,
    readonly error: boolean,
  ) {}

  /** Answers the caller from inside a handler of `process`. */
  give(process: Pick<Actor, 'sendResponse' | 'sendResponseError'>): void {
    if (this.error) process.sendResponseError(this.from, this.ref, this.value as Error);
    else process.sendResponse(this.from, this.ref, this.value);
  }
}

/**
 * Internal: when `reply` settles, its outcome goes to `self` on `node` as an {@link Answer} for call
 * `ref` of `from`. Never rejects: if `self` has ended meanwhile, the caller's own timeout answers it.
 */
export function answerWhenSettled(node: Node, self: PID, from: PID, ref: Ref, reply: Promise<unknown>): void {
  const back = (a: Answer): void => {
    try {
      node.send(self, a);
    } catch {
      // `self` ended: nothing to answer from; the caller times out.
    }
  };
  reply.then(
    (v) => back(new Answer(from, ref, v, false)),
    // Any thrown value (a query handler's Object.create(null) has no String()): never a rejection here.
    (e: unknown) => back(new Answer(from, ref, thrownError(e), true)),
  );
}

/**
 * Internal hooks an entity class may implement, by symbol (the workflow engine's): `busy` keeps an
 * idle activation from passivating while work runs outside its handlers; `ended` is told when its
 * activation ends, before its process stops (it stops that work and answers deferred callers);
 * `activated` is told once its activation is ready, whatever activated it (a workflow resumes its
 * body then, not at the next message); `handOff` is told its activation is asked to hand off and
 * answers whether effects it started are still in flight (the host then waits for them, up to the
 * runtime's handOffTimeoutMs, before it stops: the next owner replays what they journaled).
 */
export const ENTITY_BUSY = Symbol('ergo-ts.entities.busy');
export const ENTITY_HAND_OFF = Symbol('ergo-ts.entities.handOff');
export const ENTITY_ENDED = Symbol('ergo-ts.entities.ended');
export const ENTITY_ACTIVATED = Symbol('ergo-ts.entities.activated');
/**
 * Internal hook: the key's store went back in time (runtime/store_watermark.ts). The entity
 * halts itself, changing its `state` to record why (the host saves it at once), and answers true;
 * without the hook (or answering false) the activation is refused with the error.
 */
export const ENTITY_STORE_WENT_BACK = Symbol('ergo-ts.entities.storeWentBack');

/**
 * Internal hook: whether the reminder `name`, due now, only stands by for this activation's end —
 * its fire would do nothing here but write it again (a workflow's keep-alive wake while its body
 * runs: it exists to resume the instance on another member if this one dies). While the hook
 * answers true, the reminder scheduler of this member leaves the row due and fires it once the
 * activation ended (runtime/reminder_scheduler.ts). Called synchronously; it must not change state.
 */
export const ENTITY_REMINDER_STANDBY = Symbol('ergo-ts.entities.reminderStandby');

/** Internal: whether `e` says the reminder `name` due now stands by (see {@link ENTITY_REMINDER_STANDBY}); never throws. */
export function entityReminderStandby(e: object, name: string): boolean {
  const f = (e as { [ENTITY_REMINDER_STANDBY]?: (name: string) => boolean })[ENTITY_REMINDER_STANDBY];
  try {
    return typeof f === 'function' && f.call(e, name) === true;
  } catch {
    return false; // a hook that fails fires the reminder, as without one
  }
}

/** Internal: tells `e` its store went back (see {@link ENTITY_STORE_WENT_BACK}); whether it halted itself. */
export function entityStoreWentBack(e: object, err: Error): boolean {
  const f = (e as { [ENTITY_STORE_WENT_BACK]?: (err: Error) => boolean })[ENTITY_STORE_WENT_BACK];
  return typeof f === 'function' && f.call(e, err) === true;
}

/** Internal: whether `e` says it is busy (see {@link ENTITY_BUSY}). */
export function entityBusy(e: object): boolean {
  const f = (e as { [ENTITY_BUSY]?: () => boolean })[ENTITY_BUSY];
  return typeof f === 'function' && f.call(e) === true;
}

/** Internal: tells `e` it hands off; true while effects it started are in flight (see {@link ENTITY_HAND_OFF}). */
export function entityHandingOff(e: object): boolean {
  const f = (e as { [ENTITY_HAND_OFF]?: () => boolean })[ENTITY_HAND_OFF];
  try {
    return typeof f === 'function' && f.call(e) === true;
  } catch {
    return false;
  }
}

/** Internal: tells `e` its activation ended (see {@link ENTITY_ENDED}); never throws. */
export function entityEnded(e: object, reason: Error): void {
  const f = (e as { [ENTITY_ENDED]?: (reason: Error) => void })[ENTITY_ENDED];
  if (typeof f !== 'function') return;
  try {
    f.call(e, reason);
  } catch {
    // An entity's own hook failing must not stop its host's terminate.
  }
}

/** Internal: tells `e` its activation is ready (see {@link ENTITY_ACTIVATED}); a throw is logged by the caller. */
export function entityActivated(e: object): void {
  const f = (e as { [ENTITY_ACTIVATED]?: () => void })[ENTITY_ACTIVATED];
  if (typeof f === 'function') f.call(e);
}

/** True when `err` was marked by {@link refuseCall} (the host answers the caller with it and goes on). */
export function isRefusal(err: Error): boolean {
  return refusals.has(err);
}

/**
 * The base class of an entity: `class Cart extends Entity<typeof CartProtocol, CartState>`.
 *
 * Lifecycle: the runtime creates it on activation (the first message to its key on the node that
 * owns the key), after the key's lease was taken and its state loaded into {@link state}; then
 * each message and call of the protocol reaches {@link handleMessage} / {@link handleCall} in
 * arrival order, one at a time (a handler may be async). Assign a new value to `state` (do not
 * mutate it in place) and it is saved after the handler, with the activation's fencing token,
 * before a call's reply is sent; or call {@link save} yourself. A save refused because another
 * activation took the key over (ERR_ENTITY_STALE_TOKEN) ends this activation. Idle entities are
 * passivated (their process stops, their state stays in the store).
 */
export abstract class Entity<P = unknown, S = unknown> {
  /** Phantom: the protocol this entity speaks. */
  declare readonly '~protocol'?: P;
  /** The current state (loaded at activation; the kind's initial state for a new key). */
  state!: S;

  /** The key this entity is addressed by. */
  get key(): string {
    return bound(this as Entity<unknown, unknown>).key;
  }
  /** The process hosting this entity (send, call, monitor, spawn... as any actor does). */
  get actor(): Actor {
    return bound(this as Entity<unknown, unknown>).actor;
  }
  /**
   * The entities runtime of the node hosting this activation: call, send and send durably to
   * other entities from a handler (no module global needed).
   */
  get entities(): EntitiesClient {
    return bound(this as Entity<unknown, unknown>).entities;
  }
  /** The host process's logger. */
  get log(): Log {
    return this.actor.log;
  }
  /** The stored version of the state (0 for a key never written). */
  get version(): number {
    return bound(this as Entity<unknown, unknown>).version();
  }
  /** This activation's fencing token. */
  get token(): number {
    return bound(this as Entity<unknown, unknown>).token();
  }
  /**
   * Saves `state` now (the runtime also saves after each handler that replaced it). Rejects with
   * ERR_ENTITY_STALE_TOKEN when another activation took the key (this activation then ends).
   */
  save(): Promise<void> {
    return bound(this as Entity<unknown, unknown>).save();
  }

  /** A message of the protocol (sent plainly or durably). */
  handleMessage(_message: MessageOf<P>): unknown {
    this.log.warning('entity %s: unhandled message', this.key);
    return undefined;
  }

  /** A call of the protocol: return the reply (or a Promise of it). */
  handleCall(_request: RequestOf<P>): AnyReplyOf<P> | Promise<AnyReplyOf<P>> {
    throw ErrEntityIncorrect.with(`entity ${this.key}: no handleCall`);
  }
}

/** What {@link defineEntity} takes. */
export interface EntityKindOptions<P extends AnyProtocol, S> {
  /** The typed protocol (`defineProtocol(...)` of ergo-ts): remote messages are checked against it. */
  readonly protocol: P;
  /** The entity class. */
  readonly entity: new () => Entity<P, S>;
  /** The state of a key never written. */
  readonly initialState: (key: string) => S;
  /** Passivate an entity idle this long, in ms (default 60 000; 0 never passivates). */
  readonly passivateAfterMs?: number;
  /** The kind's durable reminder types, a payload schema each (its entity extends `ReminderEntity`). */
  readonly reminders?: ReminderSchemas;
  /**
   * Derives a key's state index row from its state (contract/state_index.ts): every save writes
   * it in the same transaction, for a store with a `stateIndex`. Undefined: the key has no row
   * (yet). Must be a pure function of the state. Workflows set it; searches read it.
   */
  readonly index?: (state: S) => StateIndexEntry | undefined;
}

/** Defaults of {@link EntityKindOptions}. */
export const ENTITY_KIND_DEFAULTS = Object.freeze({ passivateAfterMs: 60_000 });

/** A declared entity kind (from {@link defineEntity}). */
export interface EntityKind<P extends AnyProtocol = AnyProtocol, S = unknown> {
  /** The kind's name: unique in the cluster, the same on every node. */
  readonly name: string;
  /** The kind's typed protocol. */
  readonly protocol: P;
  /** The entity class. */
  readonly entity: new () => Entity<P, S>;
  /** The state of a key never written. */
  readonly initialState: (key: string) => S;
  /** Idle time before passivation, in ms (0: never). */
  readonly passivateAfterMs: number;
  /** The kind's durable reminder types (none: its entities cannot `remind`). */
  readonly reminders?: ReminderSchemas;
  /**
   * Derives a key's state index row from its state ({@link EntityKindOptions.index}). A method
   * (bivariant in `S`), so a kind still widens to one of a looser state type, as before it.
   */
  index?(state: S): StateIndexEntry | undefined;
}

const encoder = new TextEncoder();

/**
 * Declares an entity kind. Throws ERR_ENTITY_INCORRECT for a name that is empty, longer than
 * {@link MAX_KIND_LENGTH} bytes or holds `/`, or a bad `passivateAfterMs`.
 *
 * @example
 * const CounterProtocol = defineProtocol('counter', {
 *   messages: { add: schema.object({ add: schema.integer() }) },
 *   calls: { get: { request: schema.literal('get'), reply: schema.number() } },
 * });
 * class CounterEntity extends Entity<typeof CounterProtocol, number> {
 *   override handleMessage(m: { add: number }) { this.state += m.add; }
 *   override handleCall(_req: 'get') { return this.state; }
 * }
 * const Counter = defineEntity('counter', {
 *   protocol: CounterProtocol,
 *   entity: CounterEntity,
 *   initialState: () => 0,
 * });
 */
export function defineEntity<P extends AnyProtocol, S>(
  name: string,
  options: EntityKindOptions<P, S> & CheckStorable<S, 'state'>,
): EntityKind<P, S> {
  if (typeof name !== 'string' || name === '' || name.includes('/') || encoder.encode(name).length > MAX_KIND_LENGTH)
    throw ErrEntityIncorrect.with(
      `an entity kind name must be 1..${MAX_KIND_LENGTH} bytes without '/', got ${JSON.stringify(name)}`,
    );
  const passivateAfterMs = options.passivateAfterMs ?? ENTITY_KIND_DEFAULTS.passivateAfterMs;
  if (!Number.isInteger(passivateAfterMs) || passivateAfterMs < 0 || passivateAfterMs > 2 ** 31 - 1)
    throw ErrEntityIncorrect.with(`passivateAfterMs must be an integer in 0..2^31-1, got ${String(passivateAfterMs)}`);
  if (typeof options.entity !== 'function') throw ErrEntityIncorrect.with(`kind ${name}: entity must be a class`);
  if (typeof options.initialState !== 'function')
    throw ErrEntityIncorrect.with(`kind ${name}: initialState must be a function`);
  checkReminderSchemas(name, options.reminders);
  return Object.freeze({
    name,
    protocol: options.protocol,
    entity: options.entity,
    initialState: options.initialState,
    passivateAfterMs,
    ...(options.reminders === undefined ? {} : { reminders: options.reminders }),
    ...(options.index === undefined ? {} : { index: options.index }),
  });
}

/** The typed address of one entity: its kind's name and its key. A plain value: it can travel. */
export interface EntityAddress<P = unknown> {
  /** The kind's name. */
  readonly kind: string;
  /** The entity's key. */
  readonly key: string;
  /** Phantom: the protocol of the entity. */
  readonly '~protocol'?: P;
}

/**
 * The typed address of the entity of `kind` with `key`, for `Entities.call` / `send` /
 * `sendDurable` on any node of the cluster. Throws ERR_ENTITY_INCORRECT for a bad key.
 */
export function entity<P extends AnyProtocol>(
  kind: { readonly name: string; readonly protocol: P },
  key: string,
): EntityAddress<P> {
  checkKey(key);
  return Object.freeze({ kind: kind.name, key });
}

/** The protocol type of an entity kind. */
export type KindProtocol<K> = K extends EntityKind<infer P, unknown> ? P : never;

/**
 * The entities runtime as its entities see it (`this.entities` in an entity, `ctx.entities` in a
 * workflow): the same calls as on `Entities`, routed to each key's owner. Valid while the
 * activation lives; a call made after the runtime stopped rejects (ERR_ENTITY_UNAVAILABLE).
 */
export interface EntitiesClient {
  /** The node the runtime runs on. */
  readonly node: Node;
  /** Calls the entity at `to` (see `Entities.call`): at least once when its owner dies meanwhile. */
  call<P extends AnyProtocol, const R extends RequestOf<P>>(
    to: EntityAddress<P>,
    request: R,
    options?: EntityCallOptions,
  ): Promise<ReplyOf<P, R>>;
  /** Sends to the entity at `to`, at most once (see `Entities.send`). */
  send<P extends AnyProtocol>(to: EntityAddress<P>, message: MessageOf<P>, options?: EntityCallOptions): Promise<void>;
  /** Sends durably with `id`: handled exactly once per id (see `Entities.sendDurable`). */
  sendDurable<P extends AnyProtocol>(
    to: EntityAddress<P>,
    message: MessageOf<P>,
    id: string,
    options?: EntityCallOptions,
  ): Promise<'accepted' | 'duplicate'>;
}
