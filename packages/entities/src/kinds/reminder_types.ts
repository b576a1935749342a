// What a reminder is, as a kind declares it and its entity receives it (reminders.ts is the API an
// entity calls): the reminder types of a kind (a payload schema each), when one fires, its name
// and its fire as `handleReminder` sees them, the envelope a fire travels in to its entity's host,
// and the operations the host binds to an activation (the runtime's scheduler makes them). Types
// and two small helpers only, so the entity base class (entity.ts) names a kind's reminders
// without importing the reminders API that extends it.

import type { Infer, StandardSchemaV1 } from 'ergo-ts';

import type { ReminderChanges } from '../contract/reminder_store.js';

/** The reminder types of a kind: a schema of the payload per type name (`defineEntity`'s `reminders`). */
export type ReminderSchemas = Readonly<Record<string, StandardSchemaV1>>;

/**
 * When a reminder fires. `at`: once, at that time (now or later: a time in the past is refused).
 * `afterMs`: once, that long from now. `everyMs`: every that many ms, the first one that long from
 * now. `cron`: at each minute a cron spec selects (docs/cron.md), in `location`'s time zone (an IANA
 * name; default the local zone of the member that computes the next run).
 */
export type ReminderWhen =
  | { readonly at: Date | number }
  | { readonly afterMs: number }
  | { readonly everyMs: number }
  | { readonly cron: string; readonly location?: string };

/** A reminder name of a kind with reminders `R`: a declared type, or `type/anything` for many of one type. */
export type ReminderName<R> = (keyof R & string) | `${keyof R & string}/${string}`;

/** One fire of a reminder, as `handleReminder` receives it: narrow on `type` to type the payload. */
export type ReminderFire<R> = {
  [T in keyof R & string]: {
    /** The reminder's type: its name up to the first `/`. */
    readonly type: T;
    /** The reminder's name, as given to `remind`. */
    readonly name: string;
    /** The payload given to `remind`. */
    readonly payload: Infer<R[T]>;
    /** Unique per fire (name, generation, due time): the runtime de-duplicates by it already. */
    readonly fireId: string;
    /** When this fire was due, epoch ms (a fire is never delivered before it). */
    readonly scheduledAt: number;
    /** When it reached the entity, epoch ms on the runtime's clock (the test kit's clock in tests). */
    readonly firedAt: number;
  };
}[keyof R & string];

/** A fire as it travels to the host: a durable message of the runtime's own (internal). */
export interface ReminderEnvelope {
  readonly '~entity': 'reminder';
  readonly name: string;
  readonly payload: unknown;
  readonly fireId: string;
  readonly scheduledAt: number;
}

/** True when `v` is a {@link ReminderEnvelope}. */
export function isReminderFire(v: unknown): v is ReminderEnvelope {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as { '~entity'?: unknown })['~entity'] === 'reminder' &&
    typeof (v as { name?: unknown }).name === 'string' &&
    typeof (v as { fireId?: unknown }).fireId === 'string'
  );
}

/** The type of a reminder name: up to its first `/`. */
export function reminderType(name: string): string {
  const i = name.indexOf('/');
  return i < 0 ? name : name.slice(0, i);
}

/** What the host gives an entity for its reminders (internal: the runtime's scheduler makes it). */
export interface ReminderBinding {
  /** Writes a reminder now (fenced by the activation's token). */
  remind(name: string, when: ReminderWhen, payload: unknown): Promise<void>;
  /** Removes a reminder now (fenced by the activation's token). */
  cancel(name: string): Promise<boolean>;
  /** Checks a reminder now and keeps it for the activation's next save (written in its transaction). */
  stage(name: string, when: ReminderWhen, payload: unknown): Promise<void>;
  /** Keeps the removal of a reminder for the activation's next save. */
  stageCancel(name: string): void;
  /** True when changes are kept for the next save. */
  staged(): boolean;
  /** The kept changes, handed to the save about to be written (and forgotten here). */
  takeStaged(): ReminderChanges | undefined;
  /** The save carrying `changes` was accepted. */
  written(changes: ReminderChanges): void;
}
