// Deliberate compile errors, compiled by test/typed.channels.test.ts, which checks the messages
// tsc gives (the readable names instead of "parameter of type 'never'").

import { defineProtocol, schema, type Node, type PID } from 'ergo-ts';

declare const node: Node;
export const OnlyCalls = defineProtocol('only-calls', {
  calls: { get: { request: schema.literal('get'), reply: schema.number() } },
});
declare const onlyCalls: PID<typeof OnlyCalls>;
node.send(onlyCalls, 'get');
export const OnlyMessages = defineProtocol('only-messages', { messages: { ping: schema.literal('ping') } });
declare const onlyMessages: PID<typeof OnlyMessages>;
void node.call(onlyMessages, 'ping');
