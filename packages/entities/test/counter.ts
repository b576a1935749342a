// The entity kind the tests use: a counter with a history of the message ids it applied, so a
// test can tell "processed once" from "processed twice".

import { defineProtocol, schema } from 'ergo-ts';

import { Entity, defineEntity } from '../src/index.js';

export const CounterProtocol = defineProtocol('counter', {
  messages: { add: schema.object({ add: schema.integer() }) },
  calls: {
    get: { request: schema.literal('get'), reply: schema.number() },
    set: { request: schema.object({ set: schema.integer() }), reply: schema.number() },
    where: { request: schema.literal('where'), reply: schema.string() },
  },
});

export interface CounterState {
  n: number;
  adds: number;
}

export class CounterEntity extends Entity<typeof CounterProtocol, CounterState> {
  override handleMessage(m: { add: number }): void {
    this.state = { n: this.state.n + m.add, adds: this.state.adds + 1 };
  }
  override handleCall(req: 'get' | 'where' | { set: number }): number | string {
    if (req === 'get') return this.state.n;
    if (req === 'where') return `${this.actor.pid.node} ${this.token}`;
    this.state = { n: req.set, adds: this.state.adds };
    return this.state.n;
  }
}

/** A counter kind; `passivateAfterMs` as given (0: never). */
export function counterKind(passivateAfterMs = 0) {
  return defineEntity('counter', {
    protocol: CounterProtocol,
    entity: CounterEntity,
    initialState: (): CounterState => ({ n: 0, adds: 0 }),
    passivateAfterMs,
  });
}
