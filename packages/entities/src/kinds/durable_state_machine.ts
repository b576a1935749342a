// A durable StateMachine: the core's typed StateMachine spec (states, per-(state, message/call)
// handlers, state-enter callbacks, state / message / generic timeouts, postpone) run as an entity
// kind. The machine's state, data, running timeouts and postponed messages are the entity's state,
// saved after each handler with the activation's fencing token; each timeout is a durable reminder
// (so it resumes with its remaining time after passivation, kill -9 or a restart), and a timeout
// fire is handled once (its fire id is recorded with the state it produced). A fire of a timeout
// cancelled or replaced meanwhile is recognised by its generation and ignored. A generation names
// the activation that armed it (its fencing token and host process) as well as its number: an
// activation whose save was refused armed its timer under the last saved number + 1, and its
// successor, handling the same message again, arms that number too; without the activation the
// first one's earlier fire would be taken for the second's timer (an order cancelled before its
// payment window: the safety checker's SQLite runs).
// A timeout's reminder is armed, replaced and cancelled with the record's save, in its
// transaction under its token: a refused save (another member took the key) leaves the stored
// reminders as the stored record names them. Written before the save, a `pay` that cancelled the
// payment window, or a timeout armed again, lost the record's timeout for good when the save was
// then refused (entities.sm.fenced_reminders.test.ts).

import {
  ErrStateMachineResult,
  ErrStateMachineUnhandled,
  GenericTimeout,
  MessageTimeout,
  ReplyLater,
  StateMachineSpec,
  StateTimeout,
  Stop,
  firstIssue,
  schema,
  type AnyProtocol,
  type StandardSchemaV1,
} from 'ergo-ts';

import { defineEntity, type EntitiesClient, type EntityKind, type EntityKindOptions } from './entity.js';
import type { CheckStorable } from '../contract/storable.js';
import { ErrEntityIncorrect } from '../contract/errors.js';
import { refuseCall } from './entity.js';
import { ReminderEntity, stageCancelOf, stageReminderOf } from './reminders.js';
import { type ReminderFire } from './reminder_types.js';

/** The reminder types a durable machine uses for its timeouts (one per running timeout). */
const TIMEOUT_REMINDERS = {
  timeout: schema.object({
    slot: schema.string(),
    gen: schema.integer(),
    // Absent in reminders stored before generations named their activation: matched as such.
    armedBy: schema.optional(schema.string()),
    message: schema.unknown(),
  }),
};
type TimeoutReminders = typeof TIMEOUT_REMINDERS;

/** A running timeout as the machine records it: the generation of its reminder and what it delivers. */
export interface DurableTimer {
  /** The timer's number: the record's `seq` when it was armed. */
  readonly gen: number;
  /**
   * The activation that armed it: `<fencing token>/<host process>`, unique per activation (a
   * token is given to one owner, and a host process runs one activation). A fire is this timer's
   * only when both `gen` and `armedBy` match. Absent in records saved before it existed (such a
   * timer matches a fire without it: what that code stored).
   */
  readonly armedBy?: string;
  readonly message: unknown;
}

/** What a durable machine stores as its entity state (its data must be storable: see `Storable`). */
export interface DurableMachineRecord<S extends string = string, D = unknown> {
  /** The machine's state. */
  readonly state: S;
  /** The machine's data. */
  readonly data: D;
  /** True once the initial state's enter callback ran. */
  readonly entered: boolean;
  /** Messages postponed in this state, oldest first: handled again after the next state change. */
  readonly postponed: readonly unknown[];
  /** Running timeouts by slot: 'state', 'message', 'generic:<name>'. */
  readonly timers: Readonly<Record<string, DurableTimer>>;
  /** The last timer generation given. */
  readonly seq: number;
  /** Why the machine stopped (a handler returned an Error or a Stop): later mail is dropped. */
  readonly stopped?: string;
}

/** What {@link defineDurableStateMachine} takes. */
export interface DurableStateMachineOptions<P extends AnyProtocol, S extends string, D> {
  /** The machine's typed protocol: message and call types are its entry names. */
  readonly protocol: P;
  /**
   * The machine's spec for one key: `durableSpec(protocol, initialState, data)` and its handlers,
   * as a core StateMachine's `init` returns them. Called on each activation: handlers must not
   * keep state outside `data` (it would not survive). Event handlers are not supported here.
   * `entities` is the runtime of the node hosting the activation: handlers close over it to call,
   * send or send durably to other entities (no module global needed).
   */
  readonly spec: (key: string, entities: EntitiesClient) => StateMachineSpec<P, S, D>;
  /** Passivate a machine idle this long, in ms (default 60 000; 0 never). Its timeouts still fire. */
  readonly passivateAfterMs?: number;
}

/**
 * A spec for a durable machine: the core's {@link StateMachineSpec} with its initial state and
 * data, to chain its handlers on (`stateMessageHandler`, `stateCallHandler`, `stateEnterCallback`).
 */
export function durableSpec<P extends AnyProtocol, S extends string, D>(
  protocol: P,
  initialState: S,
  data: D,
): StateMachineSpec<P, S, D> {
  return new StateMachineSpec<P, S, D>(protocol, initialState, data);
}

type Mutable<S extends string, D> = {
  -readonly [K in keyof DurableMachineRecord<S, D>]: DurableMachineRecord<S, D>[K];
};

interface Mail {
  readonly call: boolean;
  readonly message: unknown;
}

/**
 * The entity class of a durable machine (made per kind by {@link defineDurableStateMachine}).
 * One message, call or timeout at a time, in arrival order, as any entity.
 */
abstract class DurableMachineEntity<S extends string, D> extends ReminderEntity<
  AnyProtocol,
  DurableMachineRecord<S, D>,
  TimeoutReminders
> {
  abstract readonly machineSpec: (key: string, entities: EntitiesClient) => StateMachineSpec<AnyProtocol, S, D>;
  #spec: StateMachineSpec<AnyProtocol, S, D> | undefined;
  #messageTypes: (readonly [string, StandardSchemaV1])[] = [];
  #callTypes: (readonly [string, StandardSchemaV1])[] = [];
  /** The record being changed by the current handler (copied from `state`, written back after). */
  #rec!: Mutable<S, D>;

  #load(): StateMachineSpec<AnyProtocol, S, D> {
    if (this.#spec === undefined) {
      const spec = this.machineSpec(this.key, this.entities);
      checkSpec(this.key, spec);
      this.#spec = spec;
      this.#messageTypes = Object.entries(spec.protocol.spec.messages ?? {});
      this.#callTypes = Object.entries(spec.protocol.spec.calls ?? {}).map(
        ([k, c]) => [k, (c as { request: StandardSchemaV1 }).request] as const,
      );
    }
    return this.#spec;
  }

  /** Runs `fn` on a copy of the record, then replaces `state` with it (so the host saves it). */
  async #turn<T>(fn: () => Promise<T>): Promise<T> {
    const spec = this.#load();
    this.#rec = { ...this.state, timers: { ...this.state.timers }, postponed: [...this.state.postponed] };
    try {
      if (!this.#rec.entered && this.#rec.stopped === undefined) {
        this.#rec.entered = true;
        await this.#enter(spec, this.#rec.state, this.#rec.state);
      }
      return await fn();
    } finally {
      this.state = this.#rec;
    }
  }

  override handleMessage(message: unknown): Promise<void> {
    return this.#turn(async () => {
      if (this.#stopped('message')) return;
      this.#cancelMessageTimeout();
      await this.#dispatch({ call: false, message });
    });
  }

  override handleCall(request: unknown): Promise<never> {
    return this.#turn(async () => {
      if (this.#rec.stopped !== undefined)
        throw refuseCall(ErrStateMachineUnhandled.with(`machine ${this.key} stopped: ${this.#rec.stopped}`));
      this.#cancelMessageTimeout();
      return (await this.#dispatchCall(request)) as never;
    });
  }

  override handleReminder(fire: ReminderFire<TimeoutReminders>): Promise<void> {
    return this.#turn(async () => {
      const { slot, gen, armedBy, message } = fire.payload;
      const running = this.#rec.timers[slot];
      // Cancelled or replaced since (its reminder's cancel may have come after the fire was sent),
      // or armed by an activation whose save was refused (its number may be given again).
      if (running === undefined || running.gen !== gen || running.armedBy !== armedBy || this.#stopped('timeout'))
        return;
      const timers = { ...this.#rec.timers };
      delete timers[slot];
      this.#rec.timers = timers;
      if (slot !== 'message') this.#cancelMessageTimeout();
      await this.#dispatch({ call: false, message });
    });
  }

  #stopped(what: string): boolean {
    if (this.#rec.stopped === undefined) return false;
    this.log.warning('durable machine %s stopped (%s): a %s was dropped', this.key, this.#rec.stopped, what);
    return true;
  }

  async #dispatch(mail: Mail): Promise<void> {
    const spec = this.#load();
    const type = typeOf(this.#messageTypes, mail.message);
    const h = type === null ? undefined : spec.messageHandlers.get(this.#rec.state)?.get(type);
    if (h === undefined) {
      this.log.warning(
        'durable machine %s: no handler for %s in state %s; dropped',
        this.key,
        type ?? 'a message',
        this.#rec.state,
      );
      return;
    }
    const r = await h(this.actor.pid, this.#rec.state, this.#rec.data, mail.message);
    if (isTransition(r) && r.postpone === true) this.#rec.postponed = [...this.#rec.postponed, mail.message];
    await this.#apply(spec, r);
  }

  async #dispatchCall(request: unknown): Promise<unknown> {
    const spec = this.#load();
    const type = typeOf(this.#callTypes, request);
    const h = type === null ? undefined : spec.callHandlers.get(this.#rec.state)?.get(type);
    if (h === undefined)
      throw refuseCall(
        ErrStateMachineUnhandled.with(
          `durable machine ${this.key}: no handler for ${type ?? 'the call'} in state ${this.#rec.state}`,
        ),
      );
    const r = await h(this.actor.pid, this.#rec.state, this.#rec.data, request, this.actor.node.makeRef());
    if (r instanceof Stop) {
      await this.#apply(spec, r);
      return r.reply;
    }
    if (r instanceof Error) {
      await this.#apply(spec, r);
      throw refuseCall(r); // the machine stopped (saved): the caller gets the reason
    }
    if (!isTransition(r) || !('reply' in r))
      throw refuseCall(
        ErrStateMachineResult.with(`durable machine ${this.key}: a call handler must return a transition with a reply`),
      );
    if ((r as { postpone?: unknown }).postpone === true || r.reply === ReplyLater)
      throw refuseCall(
        ErrStateMachineResult.with(
          `durable machine ${this.key}: a call cannot be postponed or answered later (the caller is not durable)`,
        ),
      );
    await this.#apply(spec, r);
    return r.reply;
  }

  /** Applies a handler's result: data, a state change (its timeout cancelled, entered, postponed mail replayed), actions. */
  async #apply(spec: StateMachineSpec<AnyProtocol, S, D>, r: unknown): Promise<void> {
    if (r instanceof Stop || r instanceof Error) {
      const reason = r instanceof Stop ? r.reason : r;
      this.#rec.stopped = reason.message || reason.name;
      for (const slot of Object.keys(this.#rec.timers)) this.#cancelSlot(slot);
      return;
    }
    if (r === undefined || r === null) return;
    if (!isTransition(r))
      throw ErrStateMachineResult.with(`durable machine ${this.key}: a handler returned ${typeof r}, not a transition`);
    if (r.data !== undefined) this.#rec.data = r.data as D;
    const old = this.#rec.state;
    const next = r.state as S | undefined;
    const changed = next !== undefined && next !== old;
    if (changed) {
      this.#rec.state = next;
      if (this.#rec.timers.state !== undefined) this.#cancelSlot('state');
    }
    for (const a of r.actions ?? []) await this.#action(a);
    if (!changed) return;
    await this.#enter(spec, old, next);
    if (this.#rec.stopped !== undefined || this.#rec.state !== next) return; // the enter moved on: it replayed
    await this.#replay();
  }

  async #enter(spec: StateMachineSpec<AnyProtocol, S, D>, old: S, state: S): Promise<void> {
    const cb = spec.enterCallbacks.get(state) ?? spec.enterAll;
    if (cb === undefined) return;
    const r = await cb(old, state, this.#rec.data);
    if (isTransition(r) && (r as { postpone?: unknown }).postpone === true)
      throw ErrStateMachineResult.with(`durable machine ${this.key}: a state enter callback cannot postpone`);
    await this.#apply(spec, r);
  }

  /** The postponed messages, handled again in the new state, oldest first, before newer mail. */
  async #replay(): Promise<void> {
    const mail = this.#rec.postponed;
    if (mail.length === 0) return;
    this.#rec.postponed = [];
    for (const m of mail) {
      if (this.#rec.stopped !== undefined) return;
      await this.#dispatch({ call: false, message: m });
    }
  }

  async #action(a: unknown): Promise<void> {
    let slot: string;
    if (a instanceof StateTimeout) slot = 'state';
    else if (a instanceof MessageTimeout) slot = 'message';
    else if (a instanceof GenericTimeout) slot = `generic:${a.name}`;
    else throw ErrStateMachineResult.with(`durable machine ${this.key}: an action must be a timeout`);
    const t = a as StateTimeout | MessageTimeout | GenericTimeout;
    if (t.durationMs === Infinity) {
      this.#cancelSlot(slot);
      return;
    }
    const gen = this.#rec.seq + 1;
    const armedBy = `${this.token}/${this.actor.pid.toString()}`;
    this.#rec.seq = gen;
    this.#rec.timers = { ...this.#rec.timers, [slot]: { gen, armedBy, message: t.message } };
    // Written with the record's save (its transaction, its token): a refused save arms nothing.
    await stageReminderOf(
      this,
      `timeout/${slot}`,
      { afterMs: Math.ceil(t.durationMs) },
      { slot, gen, armedBy, message: t.message },
    );
  }

  #cancelSlot(slot: string): void {
    if (this.#rec.timers[slot] === undefined) return;
    const timers = { ...this.#rec.timers };
    delete timers[slot];
    this.#rec.timers = timers;
    // Removed with the record's save, as an arming is written: a refused save cancels nothing.
    stageCancelOf(this, `timeout/${slot}`);
  }

  /** Any mail cancels the running message timeout (an inactivity timer). */
  #cancelMessageTimeout(): void {
    this.#cancelSlot('message');
  }
}

/**
 * The `entities` a spec is made with outside an activation (its check at definition, its initial
 * state): a handler cannot run there, so any use is a mistake, refused with ERR_ENTITY_INCORRECT.
 */
const notActivated: EntitiesClient = new Proxy({} as EntitiesClient, {
  get: (_t, p) => {
    if (p === 'then') return undefined;
    throw ErrEntityIncorrect.with(`entities.${String(p)}: only inside an activation's handlers`);
  },
});

/** Throws ERR_ENTITY_INCORRECT unless `spec` is a core spec without event handlers. */
function checkSpec(name: string, spec: unknown): void {
  if (!(spec instanceof StateMachineSpec))
    throw ErrEntityIncorrect.with(`durable machine ${name}: the spec must be made by durableSpec(...)`);
  if (spec.eventHandlers.length > 0)
    throw ErrEntityIncorrect.with(`durable machine ${name}: no event handlers (events are not durable)`);
}

function isTransition(r: unknown): r is {
  state?: unknown;
  data?: unknown;
  actions?: readonly unknown[];
  postpone?: boolean;
  reply?: unknown;
} {
  return typeof r === 'object' && r !== null && !(r instanceof Error) && !(r instanceof Stop);
}

function typeOf(entries: readonly (readonly [string, StandardSchemaV1])[], value: unknown): string | null {
  for (const [name, s] of entries) if (firstIssue(s, value) === undefined) return name;
  return null;
}

/**
 * Declares a durable state machine as an entity kind: each key is one machine, addressed with
 * `entity(kind, key)` and driven with `Entities.send` / `sendDurable` / `call` like any entity.
 *
 * Lifecycle: the first mail to a key activates it; a new key starts in the spec's initial state
 * with its data, and the initial state's enter callback runs before the first mail is handled.
 * After each message, call or timeout the machine's record (state, data, running timeouts,
 * postponed messages) is saved with the activation's fencing token (a call is answered after the
 * save). Timeouts are durable reminders: a state timeout is cancelled by a state change, a message
 * timeout by any mail, a generic timeout by its own cancel or replacement; each fires at or after
 * its time, once, on whichever node owns the key then, activating the machine. Postponed
 * messages are kept in the record and handled again after the next state change. Calls cannot be
 * postponed or answered later (`ReplyLater`): the caller waits in memory, which is not durable
 * (ERR_STATEMACHINE_RESULT). A message with no handler in the current state is logged and
 * dropped; a call with none is refused with ERR_STATEMACHINE_UNHANDLED. A handler returning an
 * Error or a Stop stops the machine for good: its timeouts are cancelled, later mail is dropped.
 *
 * Throws ERR_ENTITY_INCORRECT for a bad name or option (as `defineEntity`).
 */
export function defineDurableStateMachine<P extends AnyProtocol, S extends string, D>(
  name: string,
  options: DurableStateMachineOptions<P, S, D> & CheckStorable<D, 'data'>,
): EntityKind<P, DurableMachineRecord<S, D>> {
  if (typeof options?.spec !== 'function')
    throw ErrEntityIncorrect.with(`durable machine ${name}: spec must be a function of the key`);
  const make = options.spec as unknown as (
    key: string,
    entities: EntitiesClient,
  ) => StateMachineSpec<AnyProtocol, S, D>;
  checkSpec(name, make('~define', notActivated));
  class Machine extends DurableMachineEntity<S, D> {
    readonly machineSpec = make;
  }
  // The record is storable when D is: this function's own signature checked D.
  const record: EntityKindOptions<P, DurableMachineRecord<S, D>> = {
    protocol: options.protocol,
    entity: Machine as unknown as new () => ReminderEntity<P, DurableMachineRecord<S, D>, TimeoutReminders>,
    initialState: (key: string): DurableMachineRecord<S, D> => {
      const spec = make(key, notActivated);
      return {
        state: spec.initialState,
        data: spec.data,
        entered: false,
        postponed: [],
        timers: {},
        seq: 0,
      };
    },
    ...(options.passivateAfterMs === undefined ? {} : { passivateAfterMs: options.passivateAfterMs }),
    reminders: TIMEOUT_REMINDERS,
  };
  return defineEntity<P, DurableMachineRecord<S, D>>(
    name,
    record as typeof record & CheckStorable<DurableMachineRecord<S, D>, 'state'>,
  );
}
