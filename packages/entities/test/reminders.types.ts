// Compile-time checks of the reminder API (this file is type-checked by the build, never run):
// a payload of the wrong type for its reminder type, an undeclared reminder type, a bad schedule
// and a fire's payload read as another type's are compile errors.

import { defineProtocol, schema } from 'ergo-ts';

import { ReminderEntity, defineEntity, type ReminderFire } from '../src/index.js';

const Reminders = {
  paymentTimeout: schema.object({ orderId: schema.string() }),
  retry: schema.integer(),
};
const P = defineProtocol('typed-reminders', { messages: { go: schema.literal('go') }, calls: {} });

export class Typed extends ReminderEntity<typeof P, number, typeof Reminders> {
  override async handleMessage(_m: 'go'): Promise<void> {
    await this.remind('paymentTimeout', { afterMs: 1000 }, { orderId: 'o1' });
    await this.remind('retry/attempt-2', { at: new Date() }, 2);
    await this.remind('retry', { everyMs: 500 }, 1);
    await this.remind('paymentTimeout/o1', { cron: '*/5 * * * *', location: 'UTC' }, { orderId: 'o1' });
    // @ts-expect-error a payload of another type's shape
    await this.remind('paymentTimeout', { afterMs: 1000 }, 5);
    // @ts-expect-error a payload missing its field
    await this.remind('retry/x', { afterMs: 1000 }, { orderId: 'o1' });
    // @ts-expect-error a reminder type the kind does not declare
    await this.remind('unknown', { afterMs: 1000 }, 1);
    // @ts-expect-error a schedule with no known field
    await this.remind('retry', { inMs: 5 }, 1);
    await this.cancelReminder('retry/attempt-2');
    // @ts-expect-error cancelling an undeclared type
    await this.cancelReminder('nope');
  }

  override handleReminder(fire: ReminderFire<typeof Reminders>): void {
    if (fire.type === 'paymentTimeout') {
      const id: string = fire.payload.orderId;
      void id;
    } else {
      const attempt: number = fire.payload;
      // @ts-expect-error a retry's payload is a number, not an object
      void fire.payload.orderId;
      void attempt;
    }
  }
}

export const TypedKind = defineEntity('typed-reminders', {
  protocol: P,
  entity: Typed,
  initialState: () => 0,
  reminders: Reminders,
});
