// The order lifecycle of the entities suite's workflow row, as a durable state machine (the shape
// of examples/src/durable_order.ts): placed in 'new' with a payment window (a state timeout, kept
// as a durable reminder), 'paid' on payment, 'shipped' on shipment (a shipment before the payment
// is postponed); no payment in time cancels it. Every transition is written to the store. ResumeOrder
// is the same lifecycle with each step stamped (when, on which node) for the kill -9 resume row.

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

const ResumeProtocol = defineProtocol('bench-resume-order', {
  messages: {
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

/**
 * What the resume row reads back: the states entered in order, when the payment window is due,
 * and when and on which node the last step ran (wall-clock ms, comparable across the processes
 * of one machine).
 */
export interface ResumeOrderData {
  placed: boolean;
  history: string[];
  dueAt: number;
  at: number;
  by: string;
}

/** A step: the state entered, stamped with the time and the node that ran it. */
const step = (data: ResumeOrderData, state: string, node: string): ResumeOrderData => ({
  ...data,
  history: [...data.history, state],
  at: Date.now(),
  by: node,
});

/**
 * The resume row's order kind (bench/src/lib/entities_resume.ts): the same lifecycle as
 * {@link BenchOrder}, each step recording itself, so the bench can tell when (and where) an order
 * resumed after its owner was killed and that no step ran twice.
 */
export const ResumeOrder = defineDurableStateMachine('rorder', {
  protocol: ResumeProtocol,
  passivateAfterMs: 0,
  spec: () =>
    durableSpec<typeof ResumeProtocol, OrderState, ResumeOrderData>(ResumeProtocol, 'new', {
      placed: false,
      history: ['new'],
      dueAt: 0,
      at: 0,
      by: '',
    })
      .stateMessageHandler('new', 'place', (_from, _state, data, m) =>
        data.placed
          ? undefined
          : {
              data: { ...data, placed: true, dueAt: Date.now() + m.place },
              actions: [new StateTimeout(m.place, 'payment-timeout' as const)],
            },
      )
      .stateMessageHandler('new', 'pay', (from, _state, data) => ({
        state: 'paid',
        data: step(data, 'paid', from.node),
      }))
      .stateMessageHandler('new', 'ship', () => ({ postpone: true }))
      .stateMessageHandler('new', 'paymentTimeout', (from, _state, data) => ({
        state: 'cancelled',
        data: step(data, 'cancelled', from.node),
      }))
      .stateMessageHandler('paid', 'ship', (from, _state, data) => ({
        state: 'shipped',
        data: step(data, 'shipped', from.node),
      }))
      .stateMessageHandler(['paid', 'shipped', 'cancelled'], 'place', () => undefined)
      .stateMessageHandler(['paid', 'shipped', 'cancelled'], 'pay', () => undefined)
      .stateMessageHandler(['shipped', 'cancelled'], 'ship', () => undefined)
      .stateCallHandler(['new', 'paid', 'shipped', 'cancelled'], 'status', (_from, state, data) => ({
        reply: { state, data },
      })),
});
