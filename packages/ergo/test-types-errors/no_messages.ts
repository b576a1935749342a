// Deliberate compile errors, checked by scripts/check-types.mjs (a step of `npm run check`): each
// `@expect-error` names the text tsc must give for the next line (the readable names instead of
// "parameter of type 'never'").

// @never-error: parameter of type 'never'
import { defineProtocol, schema, type Node, type PID } from 'ergo-ts';

declare const node: Node;
export const OnlyCalls = defineProtocol('only-calls', {
  calls: { get: { request: schema.literal('get'), reply: schema.number() } },
});
declare const onlyCalls: PID<typeof OnlyCalls>;
// @expect-error: ProtocolDeclaresNoMessages
node.send(onlyCalls, 'get');
export const OnlyMessages = defineProtocol('only-messages', { messages: { ping: schema.literal('ping') } });
declare const onlyMessages: PID<typeof OnlyMessages>;
// @expect-error: ProtocolDeclaresNoCalls
void node.call(onlyMessages, 'ping');
