// The entity kind of the entities bench (suites/entities.ts, net/entities_peer.ts): a counter;
// `get` changes nothing (no write), `add` is the durable message (one write each).

import { defineProtocol, schema } from 'ergo-ts';
import { Entity, defineEntity } from '@ergo-ts/entities';

const P = defineProtocol('bench-counter', {
  messages: { add: schema.object({ add: schema.integer() }) },
  calls: { get: { request: schema.literal('get'), reply: schema.number() } },
});

class CounterEntity extends Entity<typeof P, number> {
  override handleMessage(m: { add: number }): void {
    this.state = this.state + m.add;
  }
  override handleCall(_req: 'get'): number {
    return this.state;
  }
}

/** The bench's entity kind (never passivates during a round). */
export const BenchCounter = defineEntity('bcounter', {
  protocol: P,
  entity: CounterEntity,
  initialState: () => 0,
  passivateAfterMs: 0,
});
