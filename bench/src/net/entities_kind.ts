// The entity kind of the entities bench (suites/entities.ts, net/entities_peer.ts): a counter;
// `get` changes nothing (no write), `add` is the durable message (one write each); and an
// event-sourced ledger (one event per deposit) for the event-sourced rows.

import { defineProtocol, schema } from 'ergo-ts';
import { Entity, EventSourcedEntity, defineEntity, defineEventSourcedEntity } from '@ergo-ts/entities';

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

const LedgerProtocol = defineProtocol('bench-ledger', {
  messages: {},
  calls: {
    deposit: { request: schema.object({ deposit: schema.integer() }), reply: schema.number() },
    balance: { request: schema.literal('balance'), reply: schema.number() },
  },
});

/** The bench ledger's one event type. */
export const LedgerEvents = {
  deposited: schema.object({ deposited: schema.integer() }),
};

class LedgerEntity extends EventSourcedEntity<typeof LedgerProtocol, number, typeof LedgerEvents> {
  override async handleCall(req: { deposit: number } | 'balance'): Promise<number> {
    if (req !== 'balance') await this.persist({ deposited: req.deposit });
    return this.state;
  }
}

/** The bench's event-sourced kind: a balance, one `deposited` event per deposit; a snapshot every 100 events. */
export const BenchLedger = defineEventSourcedEntity('bledger', {
  protocol: LedgerProtocol,
  events: LedgerEvents,
  entity: LedgerEntity,
  initialState: () => 0,
  applyEvent: (balance, e) => balance + e.deposited,
  snapshotEvery: 100,
  passivateAfterMs: 0,
});
