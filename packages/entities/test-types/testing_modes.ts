// Type-level tests of the entities test kit with the other modes (compiled by
// `npm run check:types` beside testing.ts): an event-sourced kind's handle types its stored
// events and its protocol, a durable state machine's handle types its stored record, and the
// reminder reads are typed. Each `@ts-expect-error` line must be an error. Nothing here runs.

import { StateTimeout, defineProtocol, schema } from 'ergo-ts';
import {
  EventSourcedEntity,
  defineDurableStateMachine,
  defineEventSourcedEntity,
  durableSpec,
  type StoredReminder,
} from '@ergo-ts/entities';
import { startTestEntities, type TestEntity, type TestReminderFire } from '@ergo-ts/entities/testing';

const CartProtocol = defineProtocol('cart', {
  messages: { add: schema.object({ add: schema.string() }) },
  calls: { items: { request: schema.literal('items'), reply: schema.array(schema.string()) } },
});

const CartEvents = {
  added: schema.object({ type: schema.literal('added'), sku: schema.string() }),
  removed: schema.object({ type: schema.literal('removed'), sku: schema.string() }),
};

interface CartState {
  readonly items: readonly string[];
}

class CartEntity extends EventSourcedEntity<typeof CartProtocol, CartState, typeof CartEvents> {
  override async handleMessage(m: { add: string }): Promise<void> {
    await this.persist({ type: 'added', sku: m.add });
  }
  override handleCall(_req: 'items'): string[] {
    return [...this.state.items];
  }
}

const Cart = defineEventSourcedEntity('cart', {
  protocol: CartProtocol,
  events: CartEvents,
  entity: CartEntity,
  initialState: (): CartState => ({ items: [] }),
  applyEvent: (state, event) =>
    event.type === 'added'
      ? { items: [...state.items, event.sku] }
      : { items: state.items.filter((i) => i !== event.sku) },
});

const OrderProtocol = defineProtocol('order', {
  messages: { place: schema.literal('place'), expire: schema.literal('expire') },
  calls: { status: { request: schema.literal('status'), reply: schema.string() } },
});

const Order = defineDurableStateMachine('order', {
  protocol: OrderProtocol,
  spec: () =>
    durableSpec<typeof OrderProtocol, 'new' | 'placed' | 'cancelled', { n: number }>(OrderProtocol, 'new', { n: 0 })
      .stateMessageHandler('new', 'place', () => ({
        state: 'placed',
        actions: [new StateTimeout(60_000, 'expire' as const)],
      }))
      .stateMessageHandler('placed', 'expire', () => ({ state: 'cancelled' }))
      .stateCallHandler(['new', 'placed', 'cancelled'], 'status', (_f, state) => ({ reply: state })),
});

export async function modes(): Promise<void> {
  await using kit = await startTestEntities({ kinds: [Cart, Order] });

  // An event-sourced kind: its protocol checks sends and calls, its stored events are its events.
  const cart = kit.entity(Cart, 'c1');
  await cart.send({ add: 'book' });
  const items: string[] = await cart.call('items');
  const [first] = await cart.storedEvents();
  const sku: string | undefined = first?.event.sku;
  const type: 'added' | 'removed' | undefined = first?.event.type;
  const version: number | undefined = first?.version;
  const state: CartState | undefined = (await cart.stored()).state;
  // @ts-expect-error a message the cart's protocol does not have
  await cart.send({ remove: 'book' });
  // @ts-expect-error the stored events have no `qty`
  const qty: number | undefined = first?.event.qty;
  // @ts-expect-error an event type the kind does not declare
  const cleared: boolean = first?.event.type === 'cleared';

  // A durable state machine: its stored state is the machine's record.
  const order: TestEntity<typeof OrderProtocol, { state: 'new' | 'placed' | 'cancelled' }> = kit.entity(Order, 'o1');
  await order.send('place');
  const status: string = await order.call('status');
  const machine = (await kit.entity(Order, 'o1').stored()).state;
  const at: 'new' | 'placed' | 'cancelled' | undefined = machine?.state;
  const n: number | undefined = machine?.data.n;
  // @ts-expect-error a state the machine does not have
  const shipped: boolean = machine?.state === 'shipped';
  // @ts-expect-error a message the order's protocol does not have
  await order.send('ship');

  // Reminders: the pending rows of a key and the fires the kit delivered are typed.
  const pending: StoredReminder[] = await order.reminders();
  const due: number | undefined = pending[0]?.dueAt;
  kit.advanceTime(60_000);
  const fires: TestReminderFire[] = await kit.fireDueReminders();
  const fireId: string | undefined = fires[0]?.fireId;
  // @ts-expect-error a due time is a number (epoch ms on the test clock)
  const dueText: string | undefined = pending[0]?.dueAt;
  // @ts-expect-error advanceTime takes milliseconds
  kit.advanceTime('1m');

  void [items, sku, type, version, state, qty, cleared, status, at, n, shipped, due, fireId, dueText];
}
