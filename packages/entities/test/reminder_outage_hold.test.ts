// After the store could not be reached (a failover), the reminder scheduler holds the due
// reminders of keys active on its member for OUTAGE_HOLD_MS once the store answers again: an active
// key writes its own reminders again with its next save (a workflow's keep-alive wake came due for
// every running instance during the outage), and firing them all at once cost a store just back
// three writes each (issue 89). A key not active here fires at once (its fire activates it); a
// scan failure that is not the store's unreachability holds nothing. The scheduler runs on a test
// clock with a host whose store fails the first read as a failover does.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { TestClock } from 'ergo-ts/testing';
import type { Log } from 'ergo-ts';

import { ErrStoreUnavailable } from '../src/contract/errors.js';
import type { ReminderStore, StoredReminder } from '../src/contract/reminder_store.js';
import { OUTAGE_HOLD_MS, ReminderScheduler, type SchedulerHost } from '../src/runtime/reminder_scheduler.js';

/** A scheduler over two due reminders (`active` on this member, `cold` not), its first read failing with `firstError`. */
function scheduler(firstError: Error): {
  s: ReminderScheduler;
  clock: TestClock;
  fired: { key: string; at: number }[];
  reads: () => number;
} {
  const clock = new TestClock(10_000);
  const rows: StoredReminder[] = ['active', 'cold'].map((key) => ({
    kind: 'k',
    key,
    shard: 0,
    name: 'wake',
    gen: 1,
    dueAt: 5_000,
    payload: null,
  }));
  let reads = 0;
  const fired: { key: string; at: number }[] = [];
  const store = {
    dueReminders: () => (++reads === 1 ? Promise.reject(firstError) : Promise.resolve([...rows])),
    nextReminderDue: () => Promise.resolve(undefined),
    advanceReminder: (r: StoredReminder) => {
      // Fired: the row is gone (a one-shot).
      rows.splice(
        rows.findIndex((x) => x.key === r.key),
        1,
      );
      return Promise.resolve();
    },
  } as unknown as ReminderStore;
  const host: SchedulerHost = {
    store,
    log: { warning: () => undefined } as unknown as Log,
    clock,
    shards: 1,
    kind: () => undefined,
    owned: () => new Set([0]),
    deliver: (_kind, key) => {
      fired.push({ key, at: clock.now() });
      return Promise.resolve();
    },
    active: (_kind, key) => key === 'active',
    warm: () => Promise.resolve(),
  };
  const s = new ReminderScheduler(host, { pollMs: 1000 });
  return { s, clock, fired, reads: () => reads };
}

test('after the store was unreachable, a due reminder of a key active here waits OUTAGE_HOLD_MS; one of a key not active fires at once', async () => {
  const { s, clock, fired, reads } = scheduler(ErrStoreUnavailable.with('postgres: connection terminated'));
  s.start();
  await eventually(() => reads() === 1, 'the first read');
  await s.idle(); // it failed, and the retry is armed
  // The store is back: the retry scan after pollMs reads both rows.
  clock.advance(1000);
  await eventually(() => fired.length === 1, 'the cold key fired');
  assert.deepEqual(fired, [{ key: 'cold', at: 11_000 }], 'only the cold key at once');
  // Just short of the hold: still held.
  clock.advance(OUTAGE_HOLD_MS - 1);
  await s.idle();
  assert.equal(fired.length, 1, 'the active key is held');
  clock.advance(1);
  await eventually(() => fired.length === 2, 'the active key fired after the hold');
  assert.deepEqual(fired[1], { key: 'active', at: 11_000 + OUTAGE_HOLD_MS });
  s.stop();
});

test('a scan that failed for another reason holds nothing: both keys fire at the next scan', async () => {
  const { s, clock, fired, reads } = scheduler(new Error('a bug in a query'));
  s.start();
  await eventually(() => reads() === 1, 'the first read');
  await s.idle();
  clock.advance(1000);
  await eventually(() => fired.length === 2, 'both fired');
  assert.deepEqual(
    fired.map((f) => f.at),
    [11_000, 11_000],
  );
  s.stop();
});
