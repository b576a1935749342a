// The order lifecycle of the entities suite's workflow row, as a durable state machine (the shape
// of examples/src/durable_order.ts): placed in 'new' with a payment window (a state timeout, kept
// as a durable reminder), 'paid' on payment, 'shipped' on shipment (a shipment before the payment
// is postponed); no payment in time cancels it. Every transition is written to the store.

import { StateTimeout, defineProtocol, schema } from 'ergo-ts';
import { defineDurableStateMachine, durableSpec } from '@ergo-ts/entities';

const OrderProtocol = defineProtocol('bench-order', {
  messages: {
    place: schema.object({ place: schema.integer() }),
    pay: schema.object({ pay: schema.string() }),
    ship: schema.object({ ship: schema.string() }),
    paymentTimeout: schema.literal('payment-timeout'),
  },
  calls: { status: { request: schema.literal('status'), reply: schema.string() } },
});

type OrderState = 'new' | 'paid' | 'shipped' | 'cancelled';

interface OrderData {
  placed: boolean;
  payment?: string;
  tracking?: string;
}

/** The bench's order kind (never passivates during a round). */
export const BenchOrder = defineDurableStateMachine('border', {
  protocol: OrderProtocol,
  passivateAfterMs: 0,
  spec: () =>
    durableSpec<typeof OrderProtocol, OrderState, OrderData>(OrderProtocol, 'new', { placed: false })
      .stateMessageHandler('new', 'place', (_from, _state, data, m) =>
        data.placed
          ? undefined
          : { data: { ...data, placed: true }, actions: [new StateTimeout(m.place, 'payment-timeout' as const)] },
      )
      .stateMessageHandler('new', 'pay', (_from, _state, data, m) => ({
        state: 'paid',
        data: { ...data, payment: m.pay },
      }))
      .stateMessageHandler('new', 'ship', () => ({ postpone: true }))
      .stateMessageHandler('new', 'paymentTimeout', () => ({ state: 'cancelled' }))
      .stateMessageHandler('paid', 'ship', (_from, _state, data, m) => ({
        state: 'shipped',
        data: { ...data, tracking: m.ship },
      }))
      .stateMessageHandler(['paid', 'shipped', 'cancelled'], 'place', () => undefined)
      .stateMessageHandler(['paid', 'shipped', 'cancelled'], 'pay', () => undefined)
      .stateMessageHandler(['shipped', 'cancelled'], 'ship', () => undefined)
      .stateCallHandler(['new', 'paid', 'shipped', 'cancelled'], 'status', (_from, state) => ({ reply: state })),
});
