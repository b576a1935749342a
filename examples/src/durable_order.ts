// The order lifecycle as a durable state machine (@ergo-ts/entities, docs/entities.md "Durable
// state machines"): an order is placed in 'new' with its payment window (a state timeout); a
// payment moves it to 'paid', a shipment to 'shipped'; no payment in time cancels it. A shipment that arrives
// before the payment is postponed until the order is paid. State, data, the running timeout and
// postponed messages live in the entity store, so the order carries on after kill -9 of its node
// (durable_order.test.ts kills the owner at each step).

import { StateTimeout, defineProtocol, schema } from 'ergo-ts';
import { defineDurableStateMachine, durableSpec } from '@ergo-ts/entities';

export const OrderProtocol = defineProtocol('order', {
  messages: {
    /** Places the order with its payment window, in ms. */
    place: schema.object({ place: schema.integer() }),
    pay: schema.object({ pay: schema.string() }),
    ship: schema.object({ ship: schema.string() }),
    paymentTimeout: schema.literal('payment-timeout'),
  },
  calls: {
    status: {
      request: schema.literal('status'),
      reply: schema.object({ state: schema.string(), data: schema.unknown() }),
    },
  },
});

export type OrderState = 'new' | 'paid' | 'shipped' | 'cancelled';

export interface OrderData {
  /** When the order was placed, epoch ms (0: not yet). */
  placedAt: number;
  /** Its payment window, in ms. */
  windowMs: number;
  /** When it was cancelled for want of payment, epoch ms. */
  cancelledAt?: number;
  payment?: string;
  tracking?: string;
  /** The states it entered, in order: each once. */
  history: OrderState[];
  /** Payments that came after the cancellation (to refund). */
  late: string[];
}

/** The order kind. */
export function orderKind(passivateAfterMs = 60_000) {
  return defineDurableStateMachine('order', {
    protocol: OrderProtocol,
    passivateAfterMs,
    spec: () =>
      durableSpec<typeof OrderProtocol, OrderState, OrderData>(OrderProtocol, 'new', {
        placedAt: 0,
        windowMs: 0,
        history: [],
        late: [],
      })
        // Each state entered is recorded once.
        .stateEnterCallback((_old, state, data) => ({ data: { ...data, history: [...data.history, state] } }))
        // Placing starts the payment window: a state timeout, kept as a durable reminder.
        .stateMessageHandler('new', 'place', (_from, _state, data, m) =>
          data.placedAt !== 0
            ? undefined // placed already
            : {
                data: { ...data, placedAt: Date.now(), windowMs: m.place },
                actions: [new StateTimeout(m.place, 'payment-timeout' as const)],
              },
        )
        .stateMessageHandler('new', 'pay', (_from, _state, data, m) => ({
          state: 'paid',
          data: { ...data, payment: m.pay },
        }))
        // Shipping waits for the payment: kept (durably) and handled again once paid.
        .stateMessageHandler('new', 'ship', () => ({ postpone: true }))
        .stateMessageHandler('new', 'paymentTimeout', (_from, _state, data) => ({
          state: 'cancelled',
          data: { ...data, cancelledAt: Date.now() },
        }))
        .stateMessageHandler('paid', 'ship', (_from, _state, data, m) => ({
          state: 'shipped',
          data: { ...data, tracking: m.ship },
        }))
        .stateMessageHandler('cancelled', 'pay', (_from, _state, data, m) => ({
          data: { ...data, late: [...data.late, m.pay] },
        }))
        .stateMessageHandler(['paid', 'shipped'], 'pay', () => undefined) // a repeated payment: nothing
        .stateMessageHandler(['paid', 'shipped', 'cancelled'], 'place', () => undefined)
        .stateMessageHandler(['shipped', 'cancelled'], 'ship', () => undefined)
        .stateCallHandler(['new', 'paid', 'shipped', 'cancelled'], 'status', (_from, state, data) => ({
          reply: { state, data },
        })),
  });
}
