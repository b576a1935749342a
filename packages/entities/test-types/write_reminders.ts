// Type-level tests of a write's reminder changes (`WriteRequest.reminders`, the store seam a
// durable state machine's save uses), compiled by `npm run check:types` (scripts/check-types.mjs,
// tsc -p test-types) against the built package. Each `@ts-expect-error` line must be an error: tsc
// reports an unused one (TS2578), failing the test. Nothing here runs.

import type { EntityStore, NewReminder, ReminderChanges, WriteRequest } from '@ergo-ts/entities';

declare const store: EntityStore;
const id = { kind: 'order', key: 'o-1' };
const window: NewReminder = { name: 'timeout/state', shard: 3, dueAt: 1_735_689_660_000, payload: { gen: 1 } };

const changes: ReminderChanges = { put: [window], cancel: ['timeout/message'] };
const write: WriteRequest = { ...id, token: 2, expectedVersion: 4, state: { state: 'new' }, reminders: changes };
void store.write(write);
void store.write({ ...id, token: 2, expectedVersion: 5, state: 1, reminders: { cancel: ['timeout/state'] } });

// @ts-expect-error a cancel names reminders by name, not rows
void store.write({ ...id, token: 2, expectedVersion: 5, state: 1, reminders: { cancel: [window] } });
// @ts-expect-error a put needs its shard and due time (a row as the runtime computes it)
void store.write({ ...id, token: 2, expectedVersion: 5, state: 1, reminders: { put: [{ name: 'x', payload: 1 }] } });
// @ts-expect-error the changes are an object of lists, not one list
void store.write({ ...id, token: 2, expectedVersion: 5, state: 1, reminders: [window] });
