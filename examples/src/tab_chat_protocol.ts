// The protocols of the tab chat (tab_chat.ts): the server's room and each tab's member. This file
// runs on both sides: the server imports it from `ergo-ts`, the page from the browser bundle (the
// page's import map sends `ergo-ts` to /tab.js), so both check the same schemas.

import { defineProtocol, MessageDownPID, PID, schema } from 'ergo-ts';

/** One line of the chat as the room sends it to every member. */
export const ChatLine = schema.object({
  kind: schema.enum(['said', 'joined', 'left']),
  nick: schema.string(),
  text: schema.string(),
});

/** The room (a registered process on the server node): join with a nick and a member process, then say lines. */
export const Room = defineProtocol('chat_room', {
  messages: {
    say: schema.string(),
    /** A member's process ended (the room monitors each): it left. */
    down: schema.instance(MessageDownPID),
  },
  calls: {
    join: {
      request: schema.object({ nick: schema.string(), member: schema.instance(PID) }),
      reply: schema.array(schema.string()),
    },
  },
});

/** A tab's member process: the room's lines. */
export const Member = defineProtocol('chat_member', {
  messages: { line: ChatLine },
});
