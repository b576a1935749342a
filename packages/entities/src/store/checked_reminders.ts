// The ReminderStore operations as every store runs them (memory_store.ts, sqlite.ts, postgres.ts):
// each one's argument checks (contract/reminder_store.ts), then its rows in the store's own reminder
// table (memory_reminders.ts, sqlite_reminders.ts, postgres_reminders.ts), inside the store's own
// operation wrapper (closed store, busy retries, a Promise safe to leave un-awaited). Written once
// here; a store's methods hand their arguments on.

import type { EntityId } from '../contract/ids.js';
import {
  checkCancel,
  checkPut,
  checkShards,
  type NewReminder,
  type ReminderFence,
  type ReminderStore,
  type StoredReminder,
} from '../contract/reminder_store.js';
import { checkId } from '../contract/ids.js';

/** A value, or a Promise of it: the memory and SQLite tables answer at once, PostgreSQL's later. */
type Answer<T> = T | Promise<T>;

/**
 * The rows of one store's reminders, its arguments already checked: the {@link ReminderStore}
 * operations, each answering at once or later.
 */
export type ReminderTable = {
  readonly [K in keyof ReminderStore]: (
    ...args: Parameters<ReminderStore[K]>
  ) => Answer<Awaited<ReturnType<ReminderStore[K]>>>;
};

/**
 * A store's operation wrapper: runs `fn` as the store's operation `what` and answers a Promise
 * safe to leave un-awaited. `writes`: the operation writes (SQLite queues it behind earlier writes
 * waiting for the lock); the other stores ignore it.
 */
export type StoreOperation = <T>(what: string, fn: () => Answer<T>, writes: boolean) => Promise<T>;

/** @internal The {@link ReminderStore} of one store: checks, then its {@link ReminderTable} through its {@link StoreOperation}. */
export class CheckedReminders implements ReminderStore {
  readonly #op: StoreOperation;
  readonly #table: ReminderTable;

  constructor(op: StoreOperation, table: ReminderTable) {
    this.#op = op;
    this.#table = table;
  }

  putReminders(id: EntityId, fence: ReminderFence, reminders: readonly NewReminder[]): Promise<void> {
    return this.#op(
      'putReminders',
      () => {
        checkPut(id, fence, reminders);
        return this.#table.putReminders(id, fence, reminders);
      },
      true,
    );
  }

  cancelReminder(id: EntityId, fence: ReminderFence, name: string): Promise<boolean> {
    return this.#op(
      'cancelReminder',
      () => {
        checkCancel(id, fence, name);
        return this.#table.cancelReminder(id, fence, name);
      },
      true,
    );
  }

  dueReminders(shards: readonly number[], until: number, limit: number): Promise<StoredReminder[]> {
    return this.#op(
      'dueReminders',
      () => {
        checkShards(shards, limit);
        return this.#table.dueReminders(shards, until, limit);
      },
      false,
    );
  }

  nextReminderDue(shards: readonly number[], after: number): Promise<number | undefined> {
    return this.#op(
      'nextReminderDue',
      () => {
        checkShards(shards);
        return this.#table.nextReminderDue(shards, after);
      },
      false,
    );
  }

  advanceReminder(
    r: Pick<StoredReminder, 'kind' | 'key' | 'name' | 'gen' | 'dueAt'>,
    nextDueAt: number | undefined,
  ): Promise<boolean> {
    return this.#op('advanceReminder', () => this.#table.advanceReminder(r, nextDueAt), true);
  }

  reminders(id: EntityId): Promise<StoredReminder[]> {
    return this.#op(
      'reminders',
      () => {
        checkId(id);
        return this.#table.reminders(id);
      },
      false,
    );
  }

  reminderCount(): Promise<number> {
    return this.#op('reminderCount', () => this.#table.reminderCount(), false);
  }
}
