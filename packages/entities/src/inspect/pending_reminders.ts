// The pending reminders of one activation as its host's inspection shows them (inspector.ts shows
// the rest of the activation): read from the store in the background, never waited on.

import type { StoredReminder } from '../contract/reminder_store.js';
import { INSPECT_DEFAULTS } from './inspector.js';

/** One pending reminder as an entity's inspection lists it (its payload left out: it may hold secrets). */
export interface PendingReminderInfo {
  readonly name: string;
  /** When it is due next, ISO 8601. */
  readonly dueAt: string;
  /** Its period in ms (interval reminders). */
  readonly everyMs?: number;
  /** Its cron spec (cron reminders), with its time zone when one was given. */
  readonly cron?: string;
  readonly location?: string;
}

/**
 * @internal The pending reminders of one activation for its host's `handleInspect`: an inspection
 * never waits on the store. Each inspection starts a read in the background (one at a time, at
 * most every `remindersReadMs`) and shows the last read's rows, with when it was read, or its
 * error. Before the first read settles the items are absent.
 */
export class PendingRemindersView {
  #rows: PendingReminderInfo[] | undefined;
  #readAt = 0;
  #error: string | undefined;
  #reading = false;

  constructor(readonly read: () => Promise<readonly StoredReminder[]>) {}

  /** Adds `reminders` (JSON text), `reminders_read_at` and `reminders_error` to `items`, and refreshes. */
  inspect(items: Record<string, string>): void {
    if (!this.#reading && Date.now() - this.#readAt >= INSPECT_DEFAULTS.remindersReadMs) this.#refresh();
    if (this.#rows !== undefined) {
      items.reminders = JSON.stringify(this.#rows);
      items.reminders_read_at = new Date(this.#readAt).toISOString();
    }
    if (this.#error !== undefined) items.reminders_error = this.#error;
  }

  #refresh(): void {
    this.#reading = true;
    let p: Promise<readonly StoredReminder[]>;
    try {
      p = this.read();
    } catch (err) {
      p = Promise.reject(err as Error);
    }
    p.then(
      (rows) => {
        this.#rows = [...rows]
          .sort((a, b) => a.dueAt - b.dueAt)
          .slice(0, INSPECT_DEFAULTS.reminders)
          .map((r) => ({
            name: r.name,
            dueAt: new Date(r.dueAt).toISOString(),
            ...(r.everyMs !== undefined && r.everyMs > 0 ? { everyMs: r.everyMs } : {}),
            ...(r.cron === undefined ? {} : { cron: r.cron }),
            ...(r.location === undefined ? {} : { location: r.location }),
          }));
        this.#error = undefined;
        this.#settled();
      },
      (err: unknown) => {
        this.#error = err instanceof Error ? err.message : String(err);
        this.#settled();
      },
    );
  }

  /** In the same turn as the rows or error: an inspection never sees rows without their read time. */
  #settled(): void {
    this.#reading = false;
    this.#readAt = Date.now();
  }
}
