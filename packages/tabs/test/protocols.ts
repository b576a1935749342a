// The typed protocols the tab tests share: Board (server processes: on the gateway node and on
// a server node in another OS process) and TabView (processes of a tab).

import { defineProtocol, PID, schema } from 'ergo-ts';

/** A server's board: notes, a counter to add to, its own PID on request, and a change event. */
export const Board = defineProtocol('board', {
  messages: { note: schema.string() },
  calls: {
    add: { request: schema.number(), reply: schema.number() },
    self: { request: schema.literal('self'), reply: schema.instance(PID) },
  },
  events: { changed: schema.number() },
});

/** A tab's view: shows a line, renders on request. */
export const TabView = defineProtocol('tabview', {
  messages: { show: schema.string() },
  calls: { render: { request: schema.string(), reply: schema.string() } },
});
