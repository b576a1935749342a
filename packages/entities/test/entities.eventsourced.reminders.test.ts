// Durable reminders on an event-sourced kind (docs/entities.md, "Reminders" and "Event-sourced
// entities"), on the test kit (the real runtime and scheduler, a MemoryStore, the test clock): an
// `EventSourcedEntity` schedules with `remind`, cancels with `cancelReminder`, and persists events
// in `handleReminder`; a fire is stored as its events exactly once (a fire delivered twice is a
// duplicate, its id recorded with its events), never before its due time, also after the entity
// was passivated or the runtime restarted; reminder writes are fenced by the activation's token;
// bad input is refused with ERR_ENTITY_INCORRECT and writes nothing. The first test fails without
// reminders on event-sourced kinds: the fire was dropped with a warning (no `rang` event).

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { UnhandledWatch } from '@ergo-ts/test-support';
import { defineProtocol, schema } from 'ergo-ts';

import { EventSourcedEntity, defineEventSourcedEntity, type ReminderFire } from '../src/index.js';
import { startTestEntities, type TestEntities } from '../src/testing/index.js';

const watch = new UnhandledWatch('event-sourced reminders');
before(() => watch.start());
after(() => watch.stop());

const BellProtocol = defineProtocol('bell', {
  messages: {
    arm: schema.object({ arm: schema.string(), afterMs: schema.integer() }),
    disarm: schema.object({ disarm: schema.string() }),
  },
  calls: {
    raw: {
      request: schema.object({ name: schema.string(), when: schema.unknown(), payload: schema.unknown() }),
      reply: schema.unknown(),
    },
  },
});

const BellReminders = { ring: schema.object({ label: schema.string() }) };

const BellEvents = {
  armed: schema.object({ type: schema.literal('armed'), name: schema.string() }),
  rang: schema.object({
    type: schema.literal('rang'),
    name: schema.string(),
    label: schema.string(),
    fireId: schema.string(),
    scheduledAt: schema.number(),
    firedAt: schema.number(),
  }),
};

interface BellState {
  readonly armed: readonly string[];
  readonly rang: readonly { name: string; label: string; fireId: string; scheduledAt: number; firedAt: number }[];
}

class BellEntity extends EventSourcedEntity<typeof BellProtocol, BellState, typeof BellEvents, typeof BellReminders> {
  override async handleMessage(m: { arm: string; afterMs: number } | { disarm: string }): Promise<void> {
    if ('disarm' in m) {
      await this.cancelReminder(`ring/${m.disarm}`);
      return;
    }
    // Scheduled before the event: a crash between the two re-runs the handler, never losing it.
    await this.remind(`ring/${m.arm}`, { afterMs: m.afterMs }, { label: m.arm });
    await this.persist({ type: 'armed', name: m.arm });
  }
  override async handleReminder(fire: ReminderFire<typeof BellReminders>): Promise<void> {
    const { name, fireId, scheduledAt, firedAt } = fire;
    await this.persist({ type: 'rang', name, label: fire.payload.label, fireId, scheduledAt, firedAt });
  }
  override async handleCall(req: { name: string; when: unknown; payload: unknown }): Promise<unknown> {
    try {
      await this.remind(req.name as 'ring', req.when as { afterMs: number }, req.payload as { label: string });
      return 'ok';
    } catch (e) {
      return (e as { code?: unknown }).code;
    }
  }
}

const Bell = defineEventSourcedEntity('bell', {
  protocol: BellProtocol,
  events: BellEvents,
  entity: BellEntity,
  reminders: BellReminders,
  initialState: (): BellState => ({ armed: [], rang: [] }),
  applyEvent: (s, e) => {
    switch (e.type) {
      case 'armed':
        return { ...s, armed: [...s.armed, e.name] };
      case 'rang': {
        const { type: _type, ...r } = e;
        return { ...s, rang: [...s.rang, r] };
      }
    }
  },
  passivateAfterMs: 60_000,
});

async function kit(t: { after(fn: () => Promise<void>): void }): Promise<TestEntities> {
  const k = await startTestEntities({ leaseScope: 'key', kinds: [Bell] });
  t.after(() => k.stop());
  return k;
}

test('an event-sourced entity reminds, and persists events when the reminder fires: at its time, once', async (t) => {
  const k = await kit(t);
  const bell = k.entity(Bell, 'b1');
  const start = k.clock.now();
  await bell.send({ arm: 'tea', afterMs: 60_000 });
  assert.deepEqual(
    (await bell.reminders()).map((r) => [r.name, r.dueAt, r.payload]),
    [['ring/tea', start + 60_000, { label: 'tea' }]],
  );
  k.advanceTime(59_999);
  assert.deepEqual(await k.fireDueReminders(), []);
  k.advanceTime(1);
  const [fire] = await k.fireDueReminders();
  assert.equal(fire?.name, 'ring/tea');
  const events = (await bell.storedEvents()).map((e) => e.event);
  assert.deepEqual(events, [
    { type: 'armed', name: 'tea' },
    {
      type: 'rang',
      name: 'ring/tea',
      label: 'tea',
      fireId: fire.fireId,
      scheduledAt: start + 60_000,
      firedAt: start + 60_000,
    },
  ]);
  assert.equal(await bell.processed(fire.fireId), true, 'the fire id is recorded with its event');
  // The same fire delivered again (a member died between delivering and moving the row on).
  const again = {
    '~entity': 'reminder',
    name: 'ring/tea',
    payload: { label: 'tea' },
    fireId: fire.fireId,
    scheduledAt: start + 60_000,
  };
  assert.equal(await bell.sendDurable(again as never, fire.fireId), 'duplicate');
  assert.equal((await bell.storedEvents()).length, 2, 'its events are stored once');
  assert.deepEqual(await bell.reminders(), []);
  // Rebuilt from the journal, the state holds the fire once.
  assert.equal((await bell.restart()).state.rang.length, 1);
});

test('a passivated event-sourced entity is activated by its reminder; a restart of the runtime keeps it', async (t) => {
  const k = await kit(t);
  const bell = k.entity(Bell, 'b2');
  await bell.send({ arm: 'late', afterMs: 3_600_000 });
  await bell.passivate();
  await k.restart();
  k.advanceTime(3_600_000);
  const fired = await k.fireDueReminders();
  assert.deepEqual(
    fired.map((f) => f.name),
    ['ring/late'],
  );
  const events = await bell.storedEvents();
  assert.deepEqual(
    events.map((e) => e.type),
    ['armed', 'rang'],
  );
});

test('cancelReminder removes it; a cancelled reminder never fires', async (t) => {
  const k = await kit(t);
  const bell = k.entity(Bell, 'b3');
  await bell.send({ arm: 'x', afterMs: 1000 });
  await bell.send({ disarm: 'x' });
  assert.deepEqual(await bell.reminders(), []);
  k.advanceTime(10_000);
  assert.deepEqual(await k.fireDueReminders(), []);
  assert.deepEqual(
    (await bell.storedEvents()).map((e) => e.type),
    ['armed'],
  );
});

test('reminder writes are fenced: after another activation took the key, remind is refused and the activation ends', async (t) => {
  const k = await kit(t);
  const bell = k.entity(Bell, 'b4');
  await bell.activate();
  await bell.takeOver();
  await assert.rejects(bell.send({ arm: 'stale', afterMs: 1000 }), { code: 'ERR_ENTITY_TEST_ENDED' });
  assert.deepEqual(await bell.reminders(), [], 'the stale activation stored no reminder');
  assert.deepEqual(await bell.storedEvents(), []);
});

test('bad input is refused with ERR_ENTITY_INCORRECT and writes nothing', async (t) => {
  const k = await kit(t);
  const bell = k.entity(Bell, 'b5');
  const cases: [string, unknown, unknown][] = [
    ['nope', { afterMs: 10 }, { label: 'x' }], // an undeclared type
    ['ring', { afterMs: 10 }, { label: 1 }], // a payload its schema refuses
    ['ring', { at: k.clock.now() - 1 }, { label: 'x' }], // a time in the past
    ['ring', { cron: 'not a cron' }, { label: 'x' }], // a bad cron spec
    ['ring', { everyMs: 0 }, { label: 'x' }], // a bad interval
  ];
  for (const [name, when, payload] of cases)
    assert.equal(await bell.call({ name, when, payload }), 'ERR_ENTITY_INCORRECT', `${name} ${JSON.stringify(when)}`);
  assert.deepEqual(await bell.reminders(), []);
  assert.deepEqual(await bell.storedEvents(), []);
});
