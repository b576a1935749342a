// The safety checker's rules for reminders and durable state machines (faults_workflows.ts) fail
// on each kind of violation planted in a run's outcome: a reminder that never fired, fired before
// its due time, was due too early, or had one fire applied twice; an order whose history is no
// path of its transitions, that is in a state other than its history's last, was cancelled before
// its window or after it was paid, waits in 'new' past its window, or lost or doubled a message.
// The checker's long run is scripts/entities-faults.mjs; its short run entities.faults.test.ts.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import type { FireRecord, FlowData } from './faults_kinds.js';
import { checkOrders, checkReminders, type OrderOutcome, type RemindedMessage } from './faults_workflows.js';

const msg = (firstSentAt: number, remindAfterMs: number): RemindedMessage => ({
  where: 'ledger/k0',
  firstSentAt,
  remindAfterMs,
});
const fire = (id: string, fireId: string, scheduledAt: number, firedAt: number): FireRecord => ({
  id,
  fireId,
  scheduledAt,
  firedAt,
});

test('reminders: the checker fails on a fire missing, early, due too early, or applied twice', () => {
  const reminded = new Map([
    ['m1', msg(1000, 500)],
    ['m2', msg(1000, 500)],
  ]);
  const ok = checkReminders(
    reminded,
    new Map([
      ['m1', [fire('m1', 'f1', 1600, 1700)]],
      // Put again after a crash: a second fire with another id is fine.
      ['m2', [fire('m2', 'f2', 1500, 1500), fire('m2', 'f3', 2500, 2600)]],
    ]),
  );
  assert.deepEqual(ok, { violations: [], fires: 3, lateness: [100, 0, 100] });
  const never = checkReminders(reminded, new Map([['m1', [fire('m1', 'f1', 1600, 1700)]]]), new Set(['m2']));
  assert.deepEqual(never.violations, [
    'ledger/k0: the reminder of acknowledged message m2 never fired (its fire waits in the inbox, accepted and never handled)',
  ]);
  const early = checkReminders(new Map([['m1', msg(1000, 500)]]), new Map([['m1', [fire('m1', 'f1', 1600, 1599)]]]));
  assert.match(early.violations.join(), /fired at 1599, before its due time 1600/);
  const dueEarly = checkReminders(new Map([['m1', msg(1000, 500)]]), new Map([['m1', [fire('m1', 'f1', 1400, 1400)]]]));
  assert.match(dueEarly.violations.join(), /was due at 1400, before its message was sent \(1000\) plus 500 ms/);
  const twice = checkReminders(
    new Map([['m1', msg(1000, 500)]]),
    new Map([['m1', [fire('m1', 'f1', 1600, 1600), fire('m1', 'f1', 1600, 1700)]]]),
  );
  assert.deepEqual(twice.violations, ['ledger/k0: reminder fire f1 was applied twice']);
});

const data = (over: Partial<FlowData>): FlowData => ({
  placedAt: 1000,
  windowMs: 2000,
  history: ['new'],
  seen: ['o/place'],
  ...over,
});
const order = (state: string, d: FlowData, acked: string[] = ['o/place']): OrderOutcome => ({
  key: 'o',
  acked,
  status: { state, data: d },
});

test('orders: the checker fails on an unreachable state, an early or paid cancellation, a timeout that never fired, a lost or doubled message', () => {
  const now = 100_000;
  const good = [
    order('shipped', data({ history: ['new', 'paid', 'shipped'], seen: ['o/place', 'o/pay', 'o/ship'] }), [
      'o/place',
      'o/pay',
      'o/ship',
    ]),
    order('cancelled', data({ history: ['new', 'cancelled'], cancelledAt: 3000 })),
  ];
  assert.deepEqual(checkOrders(good, now, 30_000), { violations: [], finished: { shipped: 1, cancelled: 1 } });
  const v = (o: OrderOutcome): string => checkOrders([o], now, 30_000).violations.join('; ');
  assert.match(v(order('shipped', data({ history: ['new', 'shipped'] }))), /new → shipped is no transition/);
  assert.match(v(order('paid', data({ history: ['new'] }))), /in state paid, but its history ends in new/);
  assert.match(v(order('new', data({ history: ['paid'] }))), /does not start in 'new'/);
  assert.match(
    v(order('cancelled', data({ history: ['new', 'cancelled'], cancelledAt: 2999 }))),
    /cancelled 1999 ms after it was placed, before its 2000 ms window ended/,
  );
  assert.match(
    v(order('cancelled', data({ history: ['new', 'paid', 'cancelled'], cancelledAt: 5000 }))),
    /cancelled after it was paid/,
  );
  assert.match(
    v(order('new', data({}))),
    /still 'new' 99000 ms after it was placed with a 2000 ms window \(its timeout never fired\)/,
  );
  assert.match(v(order('new', data({ seen: [] }))), /acknowledged message o\/place was lost/);
  assert.match(v(order('new', data({ seen: ['o/place', 'o/place'], placedAt: now }))), /o\/place was handled 2 times/);
  assert.deepEqual(checkOrders([{ key: 'o', acked: ['o/place'], status: undefined }], now, 30_000).violations, [
    'order o: its status could not be read',
  ]);
});
