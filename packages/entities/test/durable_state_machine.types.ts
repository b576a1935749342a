// Compile-time checks of durable state machines (type-checked by the build, never run): the core's
// spec typing holds in durableSpec — a handler for a message or call the protocol lacks, for a
// state outside the machine's states, or replying with the wrong type is a compile error.

import { defineProtocol, schema } from 'ergo-ts';

import { defineDurableStateMachine, durableSpec } from '../src/index.js';

const P = defineProtocol('typed-machine', {
  messages: { go: schema.object({ go: schema.integer() }) },
  calls: { count: { request: schema.literal('count'), reply: schema.integer() } },
});

export const Typed = defineDurableStateMachine('typed-machine', {
  protocol: P,
  spec: () =>
    durableSpec<typeof P, 'a' | 'b', { n: number }>(P, 'a', { n: 0 })
      .stateMessageHandler('a', 'go', (_f, _s, data, m) => ({ state: 'b', data: { n: data.n + m.go } }))
      .stateCallHandler(['a', 'b'], 'count', (_f, _s, data) => ({ reply: data.n })),
});

export const wrong = () => {
  const s = durableSpec<typeof P, 'a' | 'b', { n: number }>(P, 'a', { n: 0 });
  // @ts-expect-error a message type the protocol lacks
  s.stateMessageHandler('a', 'stop', () => undefined);
  // @ts-expect-error a state outside the machine's states
  s.stateMessageHandler('c', 'go', () => undefined);
  // @ts-expect-error a reply of the wrong type
  s.stateCallHandler('a', 'count', () => ({ reply: 'many' }));
  // @ts-expect-error a transition to a state outside the machine's states
  s.stateMessageHandler('b', 'go', () => ({ state: 'z' }));
  // @ts-expect-error the data's type
  s.stateMessageHandler('b', 'go', () => ({ data: { n: 'x' } }));
};
