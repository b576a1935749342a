// Durable reminders from inside an entity (Orleans' reminders, Temporal's durable timers): an
// entity of a kind that declares its reminders (a schema per reminder type, like protocol
// messages) schedules `this.remind(name, when, payload)` and cancels by name; the reminder is
// stored (fenced by the activation's token), survives passivation, node death and a restart of the
// whole cluster, and fires on the key's current owner, activating the entity there: its
// `handleReminder(fire)` receives it, never before its time, at least once. A fire travels as a
// durable message whose id is the fire's id, so the entity's inbox de-duplicates it and the id is
// recorded as processed in the same transaction as the state the handler wrote: effectively once.
// The scheduling is runtime/reminder_scheduler.ts; the rows are contract/reminder_store.ts.

import { ignorable, type InferInput } from 'ergo-ts';

import { Entity } from './entity.js';
import { ErrEntityIncorrect } from '../contract/errors.js';
import {
  reminderType,
  type ReminderBinding,
  type ReminderEnvelope,
  type ReminderFire,
  type ReminderName,
  type ReminderSchemas,
  type ReminderWhen,
} from './reminder_types.js';

// Keyed by the entity object: a state-mode `ReminderEntity` or an `EventSourcedEntity`.
const bindings = new WeakMap<object, ReminderBinding>();

/** Internal: the host binds an activation's reminder operations to its entity. */
export function bindReminders(e: object, b: ReminderBinding): void {
  bindings.set(e, b);
}

function binding(e: object): ReminderBinding {
  const b = bindings.get(e);
  if (b === undefined)
    throw ErrEntityIncorrect.with('this entity has no reminders (not activated, or its store keeps no reminders)');
  return b;
}

/** Internal: `remind` of an entity object (both entity base classes call it). */
export function remindOf(e: object, name: string, when: ReminderWhen, payload: unknown): Promise<void> {
  let b: ReminderBinding;
  try {
    b = binding(e);
  } catch (err) {
    return ignorable(Promise.reject(err as Error), undefined, 'remind');
  }
  return ignorable(b.remind(name, when, payload), undefined, 'remind');
}

/**
 * Internal: a reminder of an entity object kept for its activation's next save, which writes it in
 * its own transaction under its token (a durable state machine's timeouts: a refused save then
 * arms nothing). Checked now: rejects with ERR_ENTITY_INCORRECT as `remind` does.
 */
export async function stageReminderOf(e: object, name: string, when: ReminderWhen, payload: unknown): Promise<void> {
  await binding(e).stage(name, when, payload);
}

/** Internal: the removal of a reminder kept for the next save, as {@link stageReminderOf}. */
export function stageCancelOf(e: object, name: string): void {
  binding(e).stageCancel(name);
}

/** Internal: `cancelReminder` of an entity object (both entity base classes call it). */
export function cancelReminderOf(e: object, name: string): Promise<boolean> {
  let b: ReminderBinding;
  try {
    b = binding(e);
  } catch (err) {
    return ignorable(Promise.reject(err as Error), undefined, 'cancelReminder');
  }
  return ignorable(b.cancel(name), undefined, 'cancelReminder');
}

/**
 * The base class of an entity with durable reminders:
 * `class Order extends ReminderEntity<typeof OrderProtocol, OrderState, typeof OrderReminders>`,
 * its kind declared with `defineEntity(name, { ..., reminders: OrderReminders })`.
 *
 * Lifecycle: {@link remind} stores the reminder before it resolves (await it in the handler: a
 * refusal is thrown there, and ERR_ENTITY_STALE_TOKEN ends this activation as a stale save does).
 * At its time the scheduler of the member owning the key delivers it as a durable message:
 * {@link handleReminder} runs in the entity's message order, and the state it sets is saved with
 * the fire's id recorded as processed in the same transaction, so a fire is handled once even
 * when its delivery is repeated (a node died after delivering it). A one-shot reminder is removed
 * once delivered; a periodic one moves to its next time (missed periods are skipped: one fire,
 * then the next time after now). Putting a name again replaces that reminder.
 */
export abstract class ReminderEntity<
  P = unknown,
  S = unknown,
  R extends ReminderSchemas = ReminderSchemas,
> extends Entity<P, S> {
  /** Phantom: the kind's reminder types. */
  declare readonly '~reminders'?: R;

  /**
   * Stores a reminder named `name` (a declared type, or `type/anything`), firing `when` with
   * `payload`. Rejects with ERR_ENTITY_INCORRECT (nothing written) for an undeclared type, a name
   * longer than 200 bytes, a payload its schema refuses, a time in the past, a bad interval or
   * cron spec; with ERR_ENTITY_STALE_TOKEN when another activation took the key.
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

  /** A reminder fired: replace `state` to have it saved (with the fire's id, atomically). */
  handleReminder(fire: ReminderFire<R>): unknown {
    this.log.warning('entity %s: unhandled reminder %s', this.key, (fire as { name: string }).name);
    return undefined;
  }
}

/**
 * Internal: the host hands a fire to its entity (`now`: the runtime's clock, its `firedAt`): a
 * `ReminderEntity` or an `EventSourcedEntity` (both have `handleReminder`). A fire of a type the
 * kind no longer declares, or to an entity class without reminders, is logged and dropped
 * (recorded as processed).
 */
export function deliverReminder(
  e: { readonly key: string; readonly log: { warning(format: string, ...args: unknown[]): void } },
  kind: { readonly name: string; readonly reminders?: ReminderSchemas },
  fire: ReminderEnvelope,
  now: number,
): unknown {
  const type = reminderType(fire.name);
  const handle = (e as { handleReminder?: unknown }).handleReminder;
  if (typeof handle !== 'function' || kind.reminders?.[type] === undefined) {
    e.log.warning(
      'entity %s/%s: dropped reminder %s (the kind declares no such reminder)',
      kind.name,
      e.key,
      fire.name,
    );
    return undefined;
  }
  const f: ReminderFire<ReminderSchemas> = {
    type,
    name: fire.name,
    payload: fire.payload as never,
    fireId: fire.fireId,
    scheduledAt: fire.scheduledAt,
    firedAt: now,
  };
  return (handle as (fire: ReminderFire<ReminderSchemas>) => unknown).call(e, f);
}
