// The event-sourced kind the tests use: a cart whose state is the fold of `added` / `removed`
// events. `added` is at schema version 2 (version 1 had no `qty`: its upcaster gives qty 1).

import { defineProtocol, schema } from 'ergo-ts';

import { EventSourcedEntity, defineEventSourcedEntity } from '../src/index.js';

export const CartProtocol = defineProtocol('cart', {
  messages: {
    add: schema.object({ add: schema.string(), qty: schema.integer() }),
    // Persists twice in one handler: as a durable message, the second persist is refused.
    addTwice: schema.object({ addTwice: schema.string() }),
  },
  calls: {
    items: { request: schema.literal('items'), reply: schema.type<Record<string, number>>() },
    put: { request: schema.object({ put: schema.string(), qty: schema.integer() }), reply: schema.number() },
    putTwo: { request: schema.object({ putTwo: schema.string() }), reply: schema.number() },
    remove: { request: schema.object({ remove: schema.string() }), reply: schema.number() },
    bad: { request: schema.literal('bad'), reply: schema.number() },
    assign: { request: schema.literal('assign'), reply: schema.string() },
    where: { request: schema.literal('where'), reply: schema.string() },
  },
});

export const CartEvents = {
  added: schema.object({ type: schema.literal('added'), sku: schema.string(), qty: schema.integer() }),
  removed: schema.object({ type: schema.literal('removed'), sku: schema.string() }),
};

export interface CartState {
  readonly items: Readonly<Record<string, number>>;
}

export class CartEntity extends EventSourcedEntity<typeof CartProtocol, CartState, typeof CartEvents> {
  override async handleMessage(m: { add: string; qty: number } | { addTwice: string }): Promise<void> {
    if ('add' in m) return this.persist({ type: 'added', sku: m.add, qty: m.qty });
    await this.persist({ type: 'added', sku: m.addTwice, qty: 1 });
    await this.persist({ type: 'added', sku: m.addTwice, qty: 1 });
  }
  override async handleCall(
    req: 'items' | 'bad' | 'assign' | 'where' | { put: string; qty: number } | { putTwo: string } | { remove: string },
  ): Promise<Record<string, number> | number | string> {
    if (req === 'items') return { ...this.state.items };
    if (req === 'where') return `${this.actor.pid.node} ${this.token}`;
    if (req === 'bad') {
      // Not an event of the kind (qty is no integer): refused before anything is written.
      await this.persist({ type: 'added', sku: 'x', qty: 0.5 });
      return this.version;
    }
    if (req === 'assign') {
      try {
        (this as unknown as { state: CartState }).state = { items: {} };
        return 'assigned';
      } catch (e) {
        return String((e as { code?: string }).code);
      }
    }
    if ('put' in req) await this.persist({ type: 'added', sku: req.put, qty: req.qty });
    else if ('putTwo' in req)
      await this.persist([
        { type: 'added', sku: req.putTwo, qty: 1 },
        { type: 'added', sku: req.putTwo, qty: 1 },
      ]);
    else await this.persist({ type: 'removed', sku: req.remove });
    return this.version;
  }
}

/** The cart kind; options as given. */
export function cartKind(options: { passivateAfterMs?: number; snapshotEvery?: number } = {}) {
  return defineEventSourcedEntity('cart', {
    protocol: CartProtocol,
    events: CartEvents,
    entity: CartEntity,
    initialState: (): CartState => ({ items: {} }),
    applyEvent: (state, event) => {
      switch (event.type) {
        case 'added':
          return { items: { ...state.items, [event.sku]: (state.items[event.sku] ?? 0) + event.qty } };
        case 'removed': {
          const { [event.sku]: _gone, ...rest } = state.items;
          return { items: rest };
        }
      }
    },
    eventVersions: { added: 2 },
    upcast: { added: { 1: (old: { type: 'added'; sku: string }) => ({ ...old, qty: 1 }) } },
    tagger: (event) => (event.sku.startsWith('gift') ? ['gift'] : []),
    passivateAfterMs: options.passivateAfterMs ?? 0,
    ...(options.snapshotEvery === undefined ? {} : { snapshotEvery: options.snapshotEvery }),
  });
}
