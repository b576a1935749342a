// The event-sourced kind the projection tests follow (a tally of numbers per key), and how the
// tests write its events: straight into the store under a key lease of the test's own, so the
// journal grows without any member activating a key (the members only run projections).

import { defineProtocol, schema } from 'ergo-ts';

import { EventSourcedEntity, defineEventSourcedEntity, type EntityStore } from '../src/index.js';

const TallyProtocol = defineProtocol('tally', {
  messages: {},
  calls: { total: { request: schema.literal('total'), reply: schema.number() } },
});

const TallyEvents = {
  added: schema.object({ type: schema.literal('added'), n: schema.integer() }),
};

class TallyEntity extends EventSourcedEntity<typeof TallyProtocol, number, typeof TallyEvents> {
  override handleCall(): number {
    return this.state;
  }
}

/** The tally kind: its state is the sum of its `added` events. */
export const Tally = defineEventSourcedEntity('tally', {
  protocol: TallyProtocol,
  events: TallyEvents,
  entity: TallyEntity,
  initialState: () => 0,
  applyEvent: (state, e) => state + e.n,
});

/** Writes events to the tally keys of a test (owner `writer`), each key's lease taken once. */
export class TallyWriter {
  readonly #store: EntityStore;
  readonly #keys = new Map<string, { token: number; version: number }>();
  #n = 0;

  constructor(store: EntityStore) {
    this.#store = store;
  }

  /** Appends `count` events spread over `keys` keys (`t0`...), in writes of up to 5 events; resolves with how many were written in all. */
  async write(count: number, keys = 4): Promise<number> {
    for (let i = 0; i < count;) {
      const key = `t${i % keys}`;
      let k = this.#keys.get(key);
      if (k === undefined) {
        const lease = await this.#store.acquire({ kind: Tally.name, key, owner: 'writer', ttlMs: 600_000 });
        if (!lease.acquired) throw new Error(`tally ${key}: lease held by ${lease.holder}`);
        k = { token: lease.token, version: (await this.#store.load({ kind: Tally.name, key })).version };
        this.#keys.set(key, k);
      }
      const events = Array.from({ length: Math.min(5, count - i) }, () => ({ type: 'added', n: ++this.#n }));
      k.version = await this.#store.write({
        kind: Tally.name,
        key,
        token: k.token,
        expectedVersion: k.version,
        events,
        eventMeta: events.map(() => ({ type: 'added', schemaVersion: 1 })),
      });
      i += events.length;
    }
    return this.#n;
  }
}
