// The entities test kit with the runtime's other modes, as a user tests them: a reminder fires when
// the test moves the kit's clock (never before, exactly at its due time on the test clock, once,
// its fire id de-duplicated; a periodic one once per period), an event-sourced kind's stored events
// and its state rebuilt after a restart, and a durable state machine whose state timeout is a
// reminder that fires on advanceTime and whose state survives a restart. No database, no sleeps.
// The first test fails without the scheduler on the runtime's clock: on the wall clock the
// reminder (due at a 2025 test-clock time) fires at once, before the test moves time.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { UnhandledWatch } from '@ergo-ts/test-support';
import { StateTimeout, defineProtocol, schema } from 'ergo-ts';

import {
  ReminderEntity,
  defineDurableStateMachine,
  defineEntity,
  durableSpec,
  type ReminderFire,
} from '../src/index.js';
import { startTestEntities, type TestEntities } from '../src/testing/index.js';
import { cartKind } from './cart.js';

const watch = new UnhandledWatch('@ergo-ts/entities/testing modes');
before(() => watch.start());
after(() => watch.stop());

const AlarmReminders = { ring: schema.object({ n: schema.integer() }) };

const AlarmProtocol = defineProtocol('alarm', {
  messages: {
    once: schema.object({ once: schema.integer() }),
    every: schema.object({ every: schema.integer() }),
  },
  calls: {},
});

interface AlarmState {
  readonly fires: readonly { name: string; fireId: string; scheduledAt: number; firedAt: number; n: number }[];
}

class AlarmEntity extends ReminderEntity<typeof AlarmProtocol, AlarmState, typeof AlarmReminders> {
  override async handleMessage(m: { once: number } | { every: number }): Promise<void> {
    if ('once' in m) await this.remind('ring', { afterMs: m.once }, { n: 1 });
    else await this.remind('ring/every', { everyMs: m.every }, { n: 2 });
  }
  override handleReminder(fire: ReminderFire<typeof AlarmReminders>): void {
    const { name, fireId, scheduledAt, firedAt } = fire;
    this.state = { fires: [...this.state.fires, { name, fireId, scheduledAt, firedAt, n: fire.payload.n }] };
  }
}

const Alarm = defineEntity('alarm', {
  protocol: AlarmProtocol,
  entity: AlarmEntity,
  initialState: (): AlarmState => ({ fires: [] }),
  passivateAfterMs: 0,
  reminders: AlarmReminders,
});

const OrderProtocol = defineProtocol('order', {
  messages: {
    place: schema.literal('place'),
    pay: schema.literal('pay'),
    expire: schema.literal('expire'),
  },
  calls: { status: { request: schema.literal('status'), reply: schema.string() } },
});

type OrderStatus = 'new' | 'placed' | 'paid' | 'cancelled';

const Order = defineDurableStateMachine('order', {
  protocol: OrderProtocol,
  passivateAfterMs: 0,
  spec: () =>
    durableSpec<typeof OrderProtocol, OrderStatus, { placedAt: number }>(OrderProtocol, 'new', { placedAt: 0 })
      .stateMessageHandler('new', 'place', () => ({
        state: 'placed',
        actions: [new StateTimeout(30 * 60_000, 'expire' as const)],
      }))
      .stateMessageHandler('placed', 'pay', () => ({ state: 'paid' }))
      .stateMessageHandler('placed', 'expire', () => ({ state: 'cancelled' }))
      .stateCallHandler(['new', 'placed', 'paid', 'cancelled'], 'status', (_f, state) => ({ reply: state })),
});

const Cart = cartKind();

async function kit(t: { after(fn: () => Promise<void>): void }): Promise<TestEntities> {
  const k = await startTestEntities({ kinds: [Alarm, Order, Cart] });
  t.after(() => k.stop());
  return k;
}

test('a reminder fires when the test clock reaches its due time, not before, once; its fire id is de-duplicated', async (t) => {
  const k = await kit(t);
  const alarm = k.entity(Alarm, 'a1');
  const start = k.clock.now();
  await alarm.send({ once: 60_000 });
  const [pending] = await alarm.reminders();
  assert.equal(pending?.name, 'ring');
  assert.equal(pending?.dueAt, start + 60_000);
  k.advanceTime(59_999);
  assert.deepEqual(await k.fireDueReminders(), []);
  assert.deepEqual((await alarm.stored()).state, undefined, 'nothing fired a millisecond early');
  k.advanceTime(1);
  const fired = await k.fireDueReminders();
  assert.deepEqual(
    fired.map((f) => [f.kind, f.key, f.name, f.scheduledAt]),
    [['alarm', 'a1', 'ring', start + 60_000]],
  );
  const state = (await alarm.stored()).state!;
  assert.deepEqual(state.fires, [
    { name: 'ring', fireId: fired[0]!.fireId, scheduledAt: start + 60_000, firedAt: start + 60_000, n: 1 },
  ]);
  assert.deepEqual(await alarm.reminders(), [], 'a one-shot reminder is removed once handled');
  assert.equal(await alarm.processed(fired[0]!.fireId), true);
  // The same fire delivered again (a member died between delivering and moving the row): a duplicate.
  const again = {
    '~entity': 'reminder',
    name: 'ring',
    payload: { n: 1 },
    fireId: fired[0]!.fireId,
    scheduledAt: start + 60_000,
  };
  assert.equal(await alarm.sendDurable(again as never, fired[0]!.fireId), 'duplicate');
  assert.equal((await alarm.stored()).state!.fires.length, 1);
  // Nothing more is due, however far time moves (an hour: each lease renewal meanwhile runs too).
  k.advanceTime(3_600_000);
  assert.deepEqual(await k.fireDueReminders(), []);
});

test('the scheduler’s timer is on the test clock: advanceTime alone fires a reminder at its due time', async (t) => {
  const k = await kit(t);
  const alarm = k.entity(Alarm, 'a2');
  await alarm.send({ once: 5000 });
  const mark = k.events().length;
  k.advanceTime(5000);
  await k.waitForEvent({ event: 'written', kind: 'alarm', key: 'a2' }, { since: mark });
  assert.equal((await alarm.stored()).state!.fires.length, 1);
});

test('a periodic reminder fires once per period the clock passes; missed periods give one fire', async (t) => {
  const k = await kit(t);
  const alarm = k.entity(Alarm, 'p1');
  const start = k.clock.now();
  await alarm.send({ every: 1000 });
  for (let i = 1; i <= 3; i++) {
    k.advanceTime(1000);
    assert.deepEqual(
      (await k.fireDueReminders()).map((f) => f.scheduledAt),
      [start + i * 1000],
    );
  }
  // 5.5 periods at once: one fire (the one due first), then the next time after now.
  k.advanceTime(5500);
  assert.equal((await k.fireDueReminders()).length, 1);
  assert.equal((await alarm.stored()).state!.fires.length, 4);
  const [next] = await alarm.reminders();
  assert.equal(next?.dueAt, start + 9000);
  assert.equal(next?.everyMs, 1000);
});

test('an event-sourced kind: the stored events and the state rebuilt from them after a restart', async (t) => {
  const k = await kit(t);
  const cart = k.entity(Cart, 'c1');
  assert.equal(await cart.call({ put: 'apple', qty: 2 }), 1);
  assert.equal(await cart.call({ putTwo: 'pear' }), 3);
  assert.equal(await cart.call({ remove: 'apple' }), 4);
  const events = await cart.storedEvents();
  assert.deepEqual(
    events.map((e) => [e.version, e.type, e.event.type]),
    [
      [1, 'added', 'added'],
      [2, 'added', 'added'],
      [3, 'added', 'added'],
      [4, 'removed', 'removed'],
    ],
  );
  const a = await cart.restart();
  assert.deepEqual(a.state, { items: { pear: 2 } });
  assert.equal(a.version, 4);
  // The whole runtime restarted: the next call rebuilds the state from the stored events.
  await k.restart();
  assert.deepEqual(await cart.call('items'), { pear: 2 });
});

test('a durable state machine: its state timeout is a reminder fired by advanceTime; its state survives restarts', async (t) => {
  const k = await kit(t);
  const order = k.entity(Order, 'o1');
  const paid = k.entity(Order, 'o2');
  await order.send('place');
  await paid.send('place');
  await paid.send('pay');
  assert.deepEqual(
    (await order.reminders()).map((r) => r.name),
    ['timeout/state'],
  );
  assert.deepEqual(await paid.reminders(), [], 'a state change cancels the state timeout');
  await order.restart();
  await k.restart();
  assert.equal(await order.call('status'), 'placed');
  k.advanceTime(30 * 60_000 - 1);
  assert.deepEqual(await k.fireDueReminders(), []);
  k.advanceTime(1);
  assert.deepEqual(
    (await k.fireDueReminders()).map((f) => [f.key, f.name]),
    [['o1', 'timeout/state']],
  );
  assert.equal((await order.stored()).state?.state, 'cancelled');
  assert.equal(await order.call('status'), 'cancelled');
  assert.equal(await paid.call('status'), 'paid');
});
