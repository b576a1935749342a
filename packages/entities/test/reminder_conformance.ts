// The reminder store conformance suite (reminder_store.ts's rules), run against each store beside
// the entity store suite (store.sqlite.test.ts, store.postgres.test.ts): fenced puts and cancels
// (a stale token writes nothing), a new generation per put, due reads by time and shard, oldest
// first and bounded, the next due time, the conditional advance, thousands per key, 10^5 pending
// with the due ones still read at once, and coded errors for bad input.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { ignoredThenAwaited } from '@ergo-ts/test-support';

import type { EntityId, EntityStore, NewReminder, ReminderStore } from '../src/index.js';
import type { Fresh } from './store_conformance.js';

type Both = EntityStore & ReminderStore;

/** Registers the reminder conformance tests; `fresh` gives each test an empty store of its own. */
export function reminderConformance(fresh: () => Promise<Fresh>): void {
  const id: EntityId = { kind: 'timer', key: 'k1' };
  const open = async (t: { after(fn: () => Promise<void>): void }): Promise<Both> => {
    const { store } = await fresh();
    t.after(() => store.close());
    return store as Both;
  };
  const lease = async (s: Both, key = 'k1', owner = 'a'): Promise<number> => {
    const l = await s.acquire({ kind: 'timer', key, owner, ttlMs: 60_000 });
    assert.ok(l.acquired);
    return l.token;
  };
  const r = (name: string, dueAt: number, extra: Partial<NewReminder> = {}): NewReminder => ({
    name,
    shard: 3,
    dueAt,
    payload: { n: name },
    ...extra,
  });

  test('reminders: a fenced put and cancel; a stale token is refused with ERR_ENTITY_STALE_TOKEN and writes nothing', async (t) => {
    const s = await open(t);
    const token = await lease(s);
    await s.putReminders(id, { token }, [
      r('a', 1000),
      r('b', 2000, { everyMs: 500 }),
      r('c', 3000, { cron: '* * * * *', location: 'UTC' }),
    ]);
    const rows = await s.reminders(id);
    assert.deepEqual(
      rows.map(({ gen: _g, ...x }) => x),
      [
        { kind: 'timer', key: 'k1', name: 'a', shard: 3, dueAt: 1000, payload: { n: 'a' } },
        { kind: 'timer', key: 'k1', name: 'b', shard: 3, dueAt: 2000, everyMs: 500, payload: { n: 'b' } },
        {
          kind: 'timer',
          key: 'k1',
          name: 'c',
          shard: 3,
          dueAt: 3000,
          cron: '* * * * *',
          location: 'UTC',
          payload: { n: 'c' },
        },
      ],
    );
    // A newer activation takes the key: the older token writes nothing.
    const newer = await s.acquire({ ...id, owner: 'a', ttlMs: 60_000 });
    assert.ok(newer.acquired);
    await assert.rejects(s.putReminders(id, { token }, [r('d', 1)]), { code: 'ERR_ENTITY_STALE_TOKEN' });
    await assert.rejects(s.cancelReminder(id, { token }, 'a'), { code: 'ERR_ENTITY_STALE_TOKEN' });
    assert.deepEqual(
      (await s.reminders(id)).map((x) => x.name),
      ['a', 'b', 'c'],
    );
    // No lease at all: refused too.
    await assert.rejects(s.putReminders({ kind: 'timer', key: 'none' }, { token: 1 }, [r('x', 1)]), {
      code: 'ERR_ENTITY_STALE_TOKEN',
    });
    assert.equal(await s.cancelReminder(id, { token: newer.token }, 'a'), true);
    assert.equal(await s.cancelReminder(id, { token: newer.token }, 'a'), false);
    assert.deepEqual(
      (await s.reminders(id)).map((x) => x.name),
      ['b', 'c'],
    );
    assert.equal(await s.reminderCount(), 2);
  });

  test('reminders: a put under a shard lease is fenced by that lease; putting a name again gives a new generation', async (t) => {
    const s = await open(t);
    const shardLease = { kind: '~shard', key: '3' };
    const l = await s.acquire({ ...shardLease, owner: 'node', ttlMs: 60_000 });
    assert.ok(l.acquired);
    await s.putReminders(id, { token: l.token, lease: shardLease }, [r('a', 1000)]);
    const [first] = await s.reminders(id);
    await s.putReminders(id, { token: l.token, lease: shardLease }, [r('a', 1000, { payload: 2 })]);
    const [second] = await s.reminders(id);
    assert.notEqual(first!.gen, second!.gen);
    assert.equal(second!.payload, 2);
    // The key's own lease does not fence it.
    await assert.rejects(s.putReminders(id, { token: l.token + 1, lease: shardLease }, [r('b', 1)]), {
      code: 'ERR_ENTITY_STALE_TOKEN',
    });
  });

  test('reminders: due reads are by time and shard, oldest first, bounded; the next due time after an instant', async (t) => {
    const s = await open(t);
    const token = await lease(s);
    await s.putReminders(id, { token }, [
      r('late', 300),
      r('early', 100),
      r('other-shard', 50, { shard: 9 }),
      r('future', 10_000),
      r('mid', 200),
    ]);
    assert.deepEqual(
      (await s.dueReminders([3], 300, 10)).map((x) => x.name),
      ['early', 'mid', 'late'],
    );
    assert.deepEqual(
      (await s.dueReminders([3], 300, 2)).map((x) => x.name),
      ['early', 'mid'],
    );
    assert.deepEqual(
      (await s.dueReminders([3, 9], 150, 10)).map((x) => x.name),
      ['other-shard', 'early'],
    );
    assert.deepEqual(await s.dueReminders([4], 1e12, 10), []);
    assert.deepEqual(await s.dueReminders([], 1e12, 10), []);
    // Due exactly at `until` counts; one ms before does not.
    assert.deepEqual(
      (await s.dueReminders([3], 99, 10)).map((x) => x.name),
      [],
    );
    assert.equal(await s.nextReminderDue([3], 200), 300);
    assert.equal(await s.nextReminderDue([3], 300), 10_000);
    assert.equal(await s.nextReminderDue([3], 10_000), undefined);
    assert.equal(await s.nextReminderDue([9], 0), 50);
  });

  test('reminders: advance moves or removes a row only while its generation and due time are the ones read', async (t) => {
    const s = await open(t);
    const token = await lease(s);
    await s.putReminders(id, { token }, [r('once', 100), r('every', 100, { everyMs: 50 })]);
    const [every, once] = await s
      .dueReminders([3], 100, 10)
      .then((x) => x.sort((a, b) => a.name.localeCompare(b.name)));
    assert.equal(await s.advanceReminder(every!, 150), true);
    assert.equal(
      await s.advanceReminder(every!, 200),
      false,
      'its due time moved: a second advance of the same fire changes nothing',
    );
    assert.equal(await s.advanceReminder(once!, undefined), true);
    assert.deepEqual(
      (await s.reminders(id)).map((x) => [x.name, x.dueAt]),
      [['every', 150]],
    );
    // Put again meanwhile (a new generation): the old fire's advance leaves it alone.
    const [moved] = await s.reminders(id);
    await s.putReminders(id, { token }, [r('every', 150, { everyMs: 50 })]);
    assert.equal(await s.advanceReminder(moved!, undefined), false);
    assert.equal((await s.reminders(id)).length, 1);
  });

  test('reminders: thousands on one key, and 10^5 pending in the store with the due ones read first', async (t) => {
    const s = await open(t);
    const token = await lease(s);
    const many = Array.from({ length: 5000 }, (_, i) => r(`t/${i}`, 1000 + i));
    await s.putReminders(id, { token }, many);
    assert.equal((await s.reminders(id)).length, 5000);
    // 10^5 pending: 19 more keys of 5000 each (one batch per key), far in the future, on 8 shards.
    for (let k = 0; k < 19; k++) {
      const key = `bulk${k}`;
      const tok = await lease(s, key);
      await s.putReminders(
        { kind: 'timer', key },
        { token: tok },
        Array.from({ length: 5000 }, (_, i) => r(`t/${i}`, 1e12 + i, { shard: k % 8 })),
      );
    }
    assert.equal(await s.reminderCount(), 100_000);
    const due = await s.dueReminders([0, 1, 2, 3, 4, 5, 6, 7], 1100, 50);
    assert.equal(due.length, 50);
    assert.deepEqual(
      due.map((x) => x.dueAt),
      Array.from({ length: 50 }, (_, i) => 1000 + i),
    );
    assert.equal(await s.nextReminderDue([3], 6000), 1e12 + 0);
  });

  test('reminders: bad input gets ERR_ENTITY_INCORRECT and writes nothing; none of it leaks', async (t) => {
    const s = await open(t);
    const token = await lease(s);
    await ignoredThenAwaited(() => s.putReminders(id, { token }, [r('x'.repeat(201), 1)]), 'ERR_ENTITY_INCORRECT');
    await ignoredThenAwaited(() => s.putReminders(id, { token }, [r('', 1)]), 'ERR_ENTITY_INCORRECT');
    await ignoredThenAwaited(
      () => s.putReminders(id, { token }, [r('ok', 1), r('bad', Number.NaN)]),
      'ERR_ENTITY_INCORRECT',
    );
    await ignoredThenAwaited(() => s.putReminders(id, { token: 0 }, [r('a', 1)]), 'ERR_ENTITY_INCORRECT');
    await ignoredThenAwaited(
      () => s.putReminders({ kind: '', key: 'k' }, { token }, [r('a', 1)]),
      'ERR_ENTITY_INCORRECT',
    );
    await ignoredThenAwaited(() => s.dueReminders([-1], 1, 1), 'ERR_ENTITY_INCORRECT');
    await ignoredThenAwaited(() => s.dueReminders([1], 1, 0), 'ERR_ENTITY_INCORRECT');
    await ignoredThenAwaited(() => s.cancelReminder(id, { token }, ''), 'ERR_ENTITY_INCORRECT');
    await ignoredThenAwaited(
      () => s.putReminders(id, { token }, [r('a', 1, { payload: () => 10 })]),
      'ERR_ENTITY_UNSTORABLE',
    );
    assert.equal(await s.reminderCount(), 0);
    await s.close();
    await ignoredThenAwaited(() => s.reminderCount(), 'ERR_ENTITY_STORE_CLOSED');
  });
}
