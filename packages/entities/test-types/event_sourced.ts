// Type-level tests of event-sourced entities, compiled by `npm run check:types` (scripts/check-types.mjs) (tsc -p
// test-types). Each `@ts-expect-error` line must be an error: tsc reports an unused one (TS2578),
// failing the test. Nothing here runs.

import { defineProtocol, schema, type Node } from 'ergo-ts';
import {
  EventSourcedEntity,
  defineEventSourcedEntity,
  entity,
  readEvents,
  startProjection,
  type Entities,
  type EntityStore,
  type ReminderFire,
} from '@ergo-ts/entities';

const Protocol = defineProtocol('cart', {
  messages: { add: schema.object({ add: schema.string() }) },
  calls: { items: { request: schema.literal('items'), reply: schema.array(schema.string()) } },
});

const Events = {
  added: schema.object({ type: schema.literal('added'), sku: schema.string() }),
  removed: schema.object({ type: schema.literal('removed'), sku: schema.string() }),
};

interface State {
  readonly items: readonly string[];
}

class Cart extends EventSourcedEntity<typeof Protocol, State, typeof Events> {
  override async handleMessage(m: { add: string }): Promise<void> {
    await this.persist({ type: 'added', sku: m.add });
    await this.persist([
      { type: 'added', sku: m.add },
      { type: 'removed', sku: m.add },
    ]);
    // @ts-expect-error a wrong event type (sku must be a string)
    await this.persist({ type: 'added', sku: 1 });
    // @ts-expect-error an event type the kind does not declare
    await this.persist({ type: 'cleared' });
    // @ts-expect-error not an event at all
    await this.persist('added');
    // @ts-expect-error one bad event in a batch
    await this.persist([{ type: 'added', sku: 'a' }, { type: 'added' }]);
    // @ts-expect-error the state changes only through persist
    this.state = { items: [] };
    const n: number = this.version;
    void n;
  }
  override handleCall(_req: 'items'): string[] {
    return [...this.state.items];
  }
}

const apply = (state: State, event: { type: 'added'; sku: string } | { type: 'removed'; sku: string }): State => {
  switch (event.type) {
    case 'added':
      return { items: [...state.items, event.sku] };
    case 'removed':
      return { items: state.items.filter((s) => s !== event.sku) };
  }
};

export const CartKind = defineEventSourcedEntity('cart', {
  protocol: Protocol,
  events: Events,
  entity: Cart,
  initialState: (): State => ({ items: [] }),
  applyEvent: apply,
  tagger: (e) => [e.sku],
});

defineEventSourcedEntity('cart', {
  protocol: Protocol,
  events: Events,
  entity: Cart,
  initialState: (): State => ({ items: [] }),
  // @ts-expect-error a fold that misses an event type (`removed`) may return undefined
  applyEvent: (state, event) => {
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- the case under test
    switch (event.type) {
      case 'added':
        return { items: [...state.items, event.sku] };
    }
  },
});

defineEventSourcedEntity('cart', {
  protocol: Protocol,
  events: Events,
  entity: Cart,
  initialState: (): State => ({ items: [] }),
  // @ts-expect-error a fold must return the state
  applyEvent: (_state, event) => event.sku,
});

defineEventSourcedEntity('cart', {
  protocol: Protocol,
  events: Events,
  entity: Cart,
  initialState: (): State => ({ items: [] }),
  applyEvent: apply,
  // @ts-expect-error versions only of declared event types
  eventVersions: { cleared: 2 },
});

declare const entities: Entities;
declare const store: EntityStore;
declare const node: Node;
export async function use(): Promise<void> {
  const c = entity(CartKind, 'c1');
  const items: string[] = await entities.call(c, 'items');
  void items;
  await entities.send(c, { add: 'apple' });
  // @ts-expect-error not a message of the protocol
  await entities.send(c, { remove: 'apple' });
  for (const e of await readEvents(store, CartKind, { after: 0 })) {
    if (e.event.type === 'added') {
      const sku: string = e.event.sku;
      void sku;
    }
    // @ts-expect-error the events union has no such field
    void e.event.qty;
  }
  await startProjection(node, {
    name: 'p',
    store,
    kind: CartKind,
    handler: (e) => {
      const t: 'added' | 'removed' = e.event.type;
      void t;
    },
  });
}

// Reminders on an event-sourced kind: the kind declares them (`reminders`), the entity names them
// as its fourth type argument.
const Reminders = { expire: schema.object({ sku: schema.string() }) };

class TimedCart extends EventSourcedEntity<typeof Protocol, State, typeof Events, typeof Reminders> {
  override async handleMessage(m: { add: string }): Promise<void> {
    await this.remind('expire', { afterMs: 1000 }, { sku: m.add });
    await this.remind(`expire/${m.add}`, { at: new Date() }, { sku: m.add });
    await this.cancelReminder(`expire/${m.add}`);
    // @ts-expect-error a reminder payload of the wrong type (sku must be a string)
    await this.remind('expire', { afterMs: 1000 }, { sku: 1 });
    // @ts-expect-error a reminder payload missing its field
    await this.remind('expire', { afterMs: 1000 }, {});
    // @ts-expect-error a reminder type the kind does not declare
    await this.remind('renew', { afterMs: 1000 }, { sku: m.add });
    // @ts-expect-error not a schedule
    await this.remind('expire', { inMs: 1000 }, { sku: m.add });
    // @ts-expect-error cancels only reminders of a declared type
    await this.cancelReminder('renew');
  }
  override async handleReminder(fire: ReminderFire<typeof Reminders>): Promise<void> {
    const sku: string = fire.payload.sku;
    await this.persist({ type: 'removed', sku });
    // @ts-expect-error the payload has no such field
    void fire.payload.qty;
  }
}

defineEventSourcedEntity('timed-cart', {
  protocol: Protocol,
  events: Events,
  entity: TimedCart,
  reminders: Reminders,
  initialState: (): State => ({ items: [] }),
  applyEvent: apply,
});

class NoReminderCart extends EventSourcedEntity<typeof Protocol, State, typeof Events> {
  override async handleMessage(m: { add: string }): Promise<void> {
    // @ts-expect-error a kind without reminders cannot remind
    await this.remind('expire', { afterMs: 1000 }, { sku: m.add });
  }
}
void NoReminderCart;

defineEventSourcedEntity('timed-cart', {
  protocol: Protocol,
  events: Events,
  entity: TimedCart,
  // @ts-expect-error reminder types must be schemas
  reminders: { expire: 'not a schema' },
  initialState: (): State => ({ items: [] }),
  applyEvent: apply,
});
