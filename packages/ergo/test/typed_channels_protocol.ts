// The protocol shared by test/typed.channels.remote.test.ts and its fixture (a second OS process).

import { defineProtocol, schema } from '../src/index.js';
import { Go, registerType } from '../src/net/index.js';

/** A registered class: crosses the wire as itself. */
export class Put {
  key = '';
}
registerType({ name: '#ergo-ts/test/typed-channels/Put', class: Put, fields: { key: Go.string } });

/** A bank: withdraw answers the new balance or an expected, typed failure. */
export const Bank = defineProtocol('bank', {
  calls: {
    withdraw: {
      request: schema.object({ withdraw: schema.number() }),
      reply: schema.number(),
      errors: { insufficient: schema.object({ kind: schema.literal('insufficient'), balance: schema.number() }) },
    },
    balance: { request: schema.literal('balance'), reply: schema.number() },
  },
});
