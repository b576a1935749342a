// The protocol shared by test/typed.remote.test.ts and its child-process fixture: a counter whose
// messages are a registered EDF struct (Inc) and a plain string, with two calls.

import { Go } from '../src/net/index.js';
import { z } from 'zod';
import { defineProtocol, schema } from '../src/index.js';

/** A Go-shaped struct; `by` is an `any` field, so a peer can put anything in it. */
export class Inc {
  by: unknown = 0;
}

export const TypedCounter = defineProtocol('typed-counter', {
  messages: {
    inc: schema.instance(Inc, { by: schema.number() }),
    reset: schema.literal('reset'),
  },
  calls: {
    get: { request: schema.literal('get'), reply: schema.number() },
    add: { request: schema.instance(Inc, { by: schema.integer() }), reply: schema.number() },
  },
  types: [{ name: '#ergo-ts/test/typed/Inc', class: Inc, fields: { by: Go.any } }],
});

/** A protocol whose schemas transform (zod): senders give `{ s: string }`, handlers get `{ s: number }`. */
export const Lengths = defineProtocol('lengths', {
  messages: { note: z.object({ s: z.string().transform((s) => s.length) }) },
  calls: {
    len: { request: z.object({ s: z.string().transform((s) => s.length) }), reply: z.number() },
    last: { request: z.literal('last'), reply: z.number() },
  },
});
