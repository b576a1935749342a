// Event-sourced entity kinds (Akka Persistence Typed's EventSourcedBehavior, as an entity kind):
// a kind declares its events, each a schema under a type name, and a pure fold
// `applyEvent(state, event) => state`. Its entities change state only by persisting events
// (`await this.persist(event)`): the events are checked against their schemas, written with the
// activation's fencing token, and then folded into the state. An activation rebuilds the state
// from the latest snapshot plus the events after it, upcasting events stored with an older
// schema version. The store keeps each event's type and schema version; the journal (contract/journal.ts)
// lets projections read them all, in order, from an offset.

import {
  parseValue,
  type Actor,
  type AnyProtocol,
  type AnyReplyOf,
  type Infer,
  type InferInput,
  type Log,
  type MessageOf,
  type RequestOf,
  type StandardSchemaV1,
} from 'ergo-ts';

import { ENTITY_KIND_DEFAULTS, MAX_KIND_LENGTH } from './entity.js';
import { ErrEntityIncorrect, ErrEventInvalid } from '../contract/errors.js';
import { checkReminderSchemas } from '../contract/reminder_store.js';
import type { CheckStorable } from '../contract/storable.js';
import { cancelReminderOf, remindOf } from './reminders.js';
import { type ReminderFire, type ReminderName, type ReminderSchemas, type ReminderWhen } from './reminder_types.js';

/** The events of a kind: a schema per event type name (`{ added: schema.object(...), ... }`). */
export type EventSchemas = Readonly<Record<string, StandardSchemaV1>>;

/** The union of a kind's event types (each schema's output). */
export type EventOf<E> = { [K in keyof E]: Infer<E[K]> }[keyof E];

/**
 * Upcasters of one event type: `{ 1: (v1) => v2, 2: (v2) => v3 }`. Step `n` turns a payload
 * stored at schema version `n` into version `n + 1`; the last step's result must match the
 * type's current schema (it is checked when it is loaded).
 */
export type Upcasters = Readonly<Record<number, (old: any) => unknown>>;

/** The reminder types of an event-sourced kind that declares none: `remind` does not compile. */
export type NoReminders = Readonly<Record<never, StandardSchemaV1>>;

/** The default of {@link EventSourcedKindOptions.snapshotEvery}. */
export const EVENT_SOURCED_DEFAULTS = Object.freeze({ snapshotEvery: 100 });

/** What {@link defineEventSourcedEntity} takes. */
export interface EventSourcedKindOptions<
  P extends AnyProtocol,
  S,
  E extends EventSchemas,
  R extends ReminderSchemas = NoReminders,
> {
  /** The typed protocol (messages and calls), as for a state-mode kind. */
  readonly protocol: P;
  /** The events, each a schema (the built-in `schema`, zod, valibot...) under its type name. */
  readonly events: E;
  /**
   * The entity class (`extends EventSourcedEntity<typeof Protocol, State, typeof Events>`, with
   * `typeof Reminders` as a fourth type argument when the kind declares reminders).
   */
  readonly entity: new () => EventSourcedEntity<P, S, E, R>;
  /**
   * The kind's durable reminder types, a payload schema each (as `defineEntity`'s): its entities
   * `remind` and `cancelReminder`, and persist events in `handleReminder`. Default: none.
   */
  readonly reminders?: R;
  /** The state of a key with no snapshot and no event. */
  readonly initialState: (key: string) => S;
  /**
   * The fold: the state after `event`. Pure (no I/O, no clock): it runs when an event is
   * persisted and again on every rebuild. A `switch` over the events' discriminant that misses
   * an event type does not compile (its result would include `undefined`).
   */
  readonly applyEvent: (state: NoInfer<S>, event: EventOf<E>) => NoInfer<S>;
  /** The current schema version of each event type (default 1): stored with each event. */
  readonly eventVersions?: { readonly [K in keyof E]?: number };
  /** Upcasters per event type, for events stored with an older schema version. */
  readonly upcast?: { readonly [K in keyof E]?: Upcasters };
  /** Tags a projection may select events by (default: none). */
  readonly tagger?: (event: EventOf<E>) => readonly string[];
  /**
   * Write a snapshot of the state (with the events, in the same transaction) once this many
   * events were written since the last one; an activation also writes one when it passivates or
   * hands off with events after its last snapshot. Default {@link EVENT_SOURCED_DEFAULTS}
   * (100); 0 snapshots only on passivation and hand-off.
   */
  readonly snapshotEvery?: number;
  /** Passivate an entity idle this long, in ms (default 60 000; 0 never passivates). */
  readonly passivateAfterMs?: number;
}

/** The journal part of an event-sourced kind (what the host and the projections use). */
export interface EventJournalSpec {
  readonly events: EventSchemas;
  readonly applyEvent: (state: unknown, event: unknown) => unknown;
  readonly versions: ReadonlyMap<string, number>;
  readonly upcast: ReadonlyMap<string, Upcasters>;
  readonly tagger: ((event: unknown) => readonly string[]) | undefined;
  readonly snapshotEvery: number;
}

/** A declared event-sourced kind (from {@link defineEventSourcedEntity}); give it to `startEntities`. */
export interface EventSourcedKind<
  P extends AnyProtocol = AnyProtocol,
  S = unknown,
  E extends EventSchemas = EventSchemas,
> {
  readonly name: string;
  readonly protocol: P;
  readonly entity: new () => EventSourcedEntity<P, S, E, any>;
  readonly initialState: (key: string) => S;
  readonly passivateAfterMs: number;
  /** The kind's durable reminder types (none: its entities cannot `remind`). */
  readonly reminders?: ReminderSchemas;
  /** The events, fold, versions, upcasters, tagger and snapshot interval. */
  readonly journal: EventJournalSpec;
  /** Phantom: the events union. */
  readonly '~events'?: EventOf<E>;
}

/** True when `kind` is event-sourced. */
export function isEventSourced(kind: unknown): kind is EventSourcedKind {
  return typeof kind === 'object' && kind !== null && typeof (kind as { journal?: unknown }).journal === 'object';
}

const encoder = new TextEncoder();

function count(v: unknown, what: string, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || (n as number) < 0 || (n as number) > 2 ** 31 - 1)
    throw ErrEntityIncorrect.with(`${what} must be an integer in 0..2^31-1, got ${String(v)}`);
  return n as number;
}

/**
 * Declares an event-sourced entity kind. Throws ERR_ENTITY_INCORRECT for a bad name or option,
 * an event schema that is not a Standard Schema, a schema version below 1, or a missing upcaster
 * (every version below an event type's current one needs its step).
 */
export function defineEventSourcedEntity<
  P extends AnyProtocol,
  S,
  const E extends EventSchemas,
  const R extends ReminderSchemas = NoReminders,
>(
  name: string,
  options: EventSourcedKindOptions<P, S, E, R> & CheckStorable<S, 'state'> & CheckStorable<EventOf<E>, 'events'>,
): EventSourcedKind<P, S, E> {
  if (typeof name !== 'string' || name === '' || name.includes('/') || encoder.encode(name).length > MAX_KIND_LENGTH)
    throw ErrEntityIncorrect.with(
      `an entity kind name must be 1..${MAX_KIND_LENGTH} bytes without '/', got ${JSON.stringify(name)}`,
    );
  const passivateAfterMs = count(options.passivateAfterMs, 'passivateAfterMs', ENTITY_KIND_DEFAULTS.passivateAfterMs);
  const snapshotEvery = count(options.snapshotEvery, 'snapshotEvery', EVENT_SOURCED_DEFAULTS.snapshotEvery);
  if (typeof options.entity !== 'function') throw ErrEntityIncorrect.with(`kind ${name}: entity must be a class`);
  if (typeof options.initialState !== 'function')
    throw ErrEntityIncorrect.with(`kind ${name}: initialState must be a function`);
  if (typeof options.applyEvent !== 'function')
    throw ErrEntityIncorrect.with(`kind ${name}: applyEvent must be a function`);
  checkReminderSchemas(name, options.reminders);
  const events = options.events;
  if (typeof events !== 'object' || events === null || Object.keys(events).length === 0)
    throw ErrEntityIncorrect.with(`kind ${name}: events must name at least one event schema`);
  const versions = new Map<string, number>();
  const upcast = new Map<string, Upcasters>();
  for (const [type, s] of Object.entries(events)) {
    if (typeof (s as { '~standard'?: unknown })?.['~standard'] !== 'object')
      throw ErrEntityIncorrect.with(`kind ${name}: event ${type} is not a schema (Standard Schema v1)`);
    const v = (options.eventVersions as Record<string, number | undefined> | undefined)?.[type] ?? 1;
    if (!Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1)
      throw ErrEntityIncorrect.with(`kind ${name}: event ${type}'s version must be an integer ≥ 1, got ${String(v)}`);
    const steps = (options.upcast as Record<string, Upcasters | undefined> | undefined)?.[type] ?? {};
    for (let from = 1; from < v; from++)
      if (typeof steps[from] !== 'function')
        throw ErrEntityIncorrect.with(
          `kind ${name}: event ${type} is at version ${v} but has no upcaster from ${from}`,
        );
    versions.set(type, v);
    upcast.set(type, steps);
  }
  for (const type of Object.keys(options.eventVersions ?? {}))
    if (!versions.has(type)) throw ErrEntityIncorrect.with(`kind ${name}: eventVersions names no event ${type}`);
  for (const type of Object.keys(options.upcast ?? {}))
    if (!versions.has(type)) throw ErrEntityIncorrect.with(`kind ${name}: upcast names no event ${type}`);
  return Object.freeze({
    name,
    protocol: options.protocol,
    entity: options.entity,
    initialState: options.initialState,
    passivateAfterMs,
    ...(options.reminders === undefined ? {} : { reminders: options.reminders }),
    journal: Object.freeze({
      events,
      applyEvent: options.applyEvent as (state: unknown, event: unknown) => unknown,
      versions,
      upcast,
      tagger: options.tagger as ((event: unknown) => readonly string[]) | undefined,
      snapshotEvery,
    }),
  });
}

/**
 * The type name of an event to persist: the first event schema (in declaration order) it
 * matches. Throws ERR_ENTITY_EVENT_INVALID, naming the closest issue, when it matches none.
 */
export function eventType(kind: string, spec: EventJournalSpec, event: unknown): string {
  const issues: string[] = [];
  for (const [type, s] of Object.entries(spec.events)) {
    const r = parseValue(s, event);
    if (r.issue === undefined) return type;
    const path = r.issue.path.length > 0 ? `${r.issue.path.map(String).join('.')}: ` : '';
    issues.push(`${type}: ${path}${r.issue.message}`);
  }
  throw ErrEventInvalid.with(`kind ${kind}: the event matches none of its event schemas (${issues.join('; ')})`);
}

/**
 * A stored event brought to its type's current schema: upcast step by step from the version it
 * was stored with, then checked against the schema. Throws ERR_ENTITY_EVENT_INVALID for an
 * unknown type, a version newer than the kind knows, or a result that fails the schema.
 */
export function upcastEvent(
  kind: string,
  spec: EventJournalSpec,
  stored: { type: string; schemaVersion: number; event: unknown; version: number },
): unknown {
  const current = spec.versions.get(stored.type);
  const where = `kind ${kind}: stored event ${JSON.stringify(stored.type)} (version ${stored.version})`;
  if (current === undefined) throw ErrEventInvalid.with(`${where}: not an event type of the kind`);
  if (stored.schemaVersion > current)
    throw ErrEventInvalid.with(`${where}: schema version ${stored.schemaVersion}, newer than this kind's ${current}`);
  let value = stored.event;
  const steps = spec.upcast.get(stored.type)!;
  for (let v = stored.schemaVersion; v < current; v++) value = steps[v]!(value);
  const r = parseValue(spec.events[stored.type]!, value);
  if (r.issue !== undefined)
    throw ErrEventInvalid.with(`${where}: after upcasting to version ${current}: ${r.issue.message}`);
  return value;
}

/** What the host tells an event-sourced entity when it binds it (internal to this package). */
export interface EventSourcedBinding {
  readonly key: string;
  readonly actor: Actor;
  readonly state: () => unknown;
  readonly version: () => number;
  readonly token: () => number;
  readonly persist: (events: readonly unknown[]) => Promise<void>;
}

const bindings = new WeakMap<object, EventSourcedBinding>();

/** Internal: the host binds an entity object to its activation's journal. */
export function bindEventSourced(e: object, b: EventSourcedBinding): void {
  bindings.set(e, b);
}

function bound(e: object): EventSourcedBinding {
  const b = bindings.get(e);
  if (b === undefined) throw ErrEntityIncorrect.with('this entity is not activated (it was made outside its host)');
  return b;
}

/**
 * The base class of an event-sourced entity:
 * `class Cart extends EventSourcedEntity<typeof CartProtocol, CartState, typeof CartEvents>`.
 *
 * Lifecycle: created on activation after the key's lease was taken and its state rebuilt (the
 * latest snapshot, then every later event folded with the kind's `applyEvent`). Each message and
 * call of the protocol reaches {@link handleMessage} / {@link handleCall} in arrival order, one at
 * a time. A handler changes the state only by {@link persist}: `state` is read-only (assigning it
 * does not compile, and throws ERR_ENTITY_INCORRECT at run time). A call's reply is sent after the
 * handler returned, so after every event it persisted is stored.
 */
export abstract class EventSourcedEntity<
  P = unknown,
  S = unknown,
  E = EventSchemas,
  R extends ReminderSchemas = NoReminders,
> {
  /** Phantom: the protocol this entity speaks. */
  declare readonly '~protocol'?: P;
  /** Phantom: the events this entity persists. */
  declare readonly '~events'?: E;
  /** Phantom: the kind's reminder types. */
  declare readonly '~reminders'?: R;

  /** The state: the fold of every persisted event (read-only; change it with {@link persist}). */
  get state(): S {
    return bound(this).state() as S;
  }
  /** The key this entity is addressed by. */
  get key(): string {
    return bound(this).key;
  }
  /** The process hosting this entity. */
  get actor(): Actor {
    return bound(this).actor;
  }
  /** The host process's logger. */
  get log(): Log {
    return this.actor.log;
  }
  /** How many events the key has (the version of its state). */
  get version(): number {
    return bound(this).version();
  }
  /** This activation's fencing token. */
  get token(): number {
    return bound(this).token();
  }

  /**
   * Persists one event, or several atomically (all or none), then folds them into `state`.
   * Resolves once they are stored. Rejects with ERR_ENTITY_EVENT_INVALID when one matches no
   * event schema (nothing is written, the state is unchanged), ERR_ENTITY_STALE_TOKEN when
   * another activation took the key over, or the store's error; after a refusal by the store
   * this activation ends when the handler returns. In the handler of a durable message, persist
   * once (every event of the message in one call): its id is recorded with those events.
   */
  persist(events: EventOf<E> | readonly EventOf<E>[]): Promise<void> {
    return bound(this).persist(Array.isArray(events) ? (events as readonly unknown[]) : [events]);
  }

  /**
   * Stores a durable reminder named `name` (a declared type, or `type/anything`), firing `when`
   * with `payload`, as `ReminderEntity.remind` does: stored before it resolves, written under this
   * activation's fencing token (ERR_ENTITY_STALE_TOKEN when another activation took the key, and
   * this activation ends); ERR_ENTITY_INCORRECT, nothing written, for an undeclared type, a name
   * longer than 200 bytes, a payload its schema refuses, a time in the past, a bad interval or cron
   * spec. A reminder is not an event: it is written when `remind` runs, not with the next persist.
   */
  remind<T extends keyof R & string>(
    name: T | `${T}/${string}`,
    when: ReminderWhen,
    payload: InferInput<R[T]>,
  ): Promise<void> {
    return remindOf(this, name, when, payload);
  }

  /** Removes the reminder `name` (fenced as {@link remind}); resolves true when there was one. */
  cancelReminder(name: ReminderName<R>): Promise<boolean> {
    return cancelReminderOf(this, name);
  }

  /**
   * A reminder fired: persist events to change the state (give them to one `persist`). The fire
   * travels as a durable message whose id is the fire's id, recorded with the events it persists
   * in one transaction: a fire delivered twice has its events stored once.
   */
  handleReminder(fire: ReminderFire<R>): unknown {
    this.log.warning('entity %s: unhandled reminder %s', this.key, (fire as { name: string }).name);
    return undefined;
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

// `state` is read-only in the types; at run time an assignment gets a coded error rather than
// the engine's bare TypeError.
{
  const getter = Object.getOwnPropertyDescriptor(EventSourcedEntity.prototype, 'state')!.get!;
  Object.defineProperty(EventSourcedEntity.prototype, 'state', {
    configurable: true,
    get: getter,
    set(this: EventSourcedEntity) {
      throw ErrEntityIncorrect.with(
        `entity ${bindings.get(this)?.key ?? '?'}: an event-sourced entity's state changes only by persist(event)`,
      );
    },
  });
}
