// Type-level tests of the entities test kit, compiled by `npm run check:types` (scripts/check-types.mjs, tsc -p
// test-types) against the built package, as a user imports it. Each `@ts-expect-error` line must be
// an error: tsc reports an unused one (TS2578), failing the test. Nothing here runs.

import { defineProtocol, schema } from 'ergo-ts';
import { Entity, defineEntity } from '@ergo-ts/entities';
import { startTestEntities, type TestActivation, type TestEntity } from '@ergo-ts/entities/testing';

const CounterProtocol = defineProtocol('counter', {
  messages: { add: schema.object({ add: schema.integer() }) },
  calls: {
    get: { request: schema.literal('get'), reply: schema.number() },
    name: { request: schema.object({ name: schema.string() }), reply: schema.string() },
  },
});

class CounterEntity extends Entity<typeof CounterProtocol, number> {
  override handleMessage(m: { add: number }) {
    this.state += m.add;
  }
  override handleCall(req: 'get' | { name: string }) {
    return req === 'get' ? this.state : req.name;
  }
}

const Counter = defineEntity('counter', {
  protocol: CounterProtocol,
  entity: CounterEntity,
  initialState: () => 0,
});

export async function typed(): Promise<void> {
  await using kit = await startTestEntities({ kinds: [Counter] });
  const c: TestEntity<typeof CounterProtocol, number> = kit.entity(Counter, 'c1');

  // Messages and calls of the protocol compile, and replies are typed per request.
  await c.send({ add: 1 });
  await c.sendDurable({ add: 2 }, 'id-1');
  const n: number = await c.call('get');
  const s: string = await c.call({ name: 'x' });
  // The stored state is the kind's state type.
  const stored: number | undefined = (await c.stored()).state;
  const a: TestActivation<number> = await c.activate();
  const token: number = a.token;

  // @ts-expect-error a message the protocol does not have
  await c.send({ add: 'one' });
  // @ts-expect-error a message the protocol does not have
  await c.send('reset');
  // @ts-expect-error a durable message the protocol does not have
  await c.sendDurable({ sub: 1 }, 'id-2');
  // @ts-expect-error a durable message needs an id
  await c.sendDurable({ add: 1 });
  // @ts-expect-error a call the protocol does not have
  await c.call('set');
  // @ts-expect-error the reply of 'get' is a number, not a string
  const wrong: string = await c.call('get');
  // @ts-expect-error the stored state is a number
  const notState: string | undefined = (await c.stored()).state;
  // @ts-expect-error an entity's kind must be a declared kind
  kit.entity('counter', 'c2');

  void [n, s, stored, token, wrong, notState];
}
