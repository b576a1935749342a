// Messages of the Server-Sent Events metas (Ergo's extra library `meta/sse`), and the wire
// format of one event. A server-side connection meta sends MessageSSEConnect, then
// MessageSSELastEventID when the client resumes, and MessageSSEDisconnect last; processes send
// MessageSSE to the connection's alias to push an event. The client meta delivers each event it
// reads as a MessageSSE.

import type { IncomingMessage } from 'node:http';

import { ErrIncorrect } from '../gen/errors.js';
import type { Alias } from '../gen/ref.js';

/** Fields of an event, for the {@link MessageSSE} constructor. */
export interface SSEEventInit {
  /** Connection alias (filled in by the metas; ignored when you send to an alias). */
  id?: Alias | null;
  /** Event type (`event:` field); '' = the default type "message". */
  event?: string;
  /** Payload; each line becomes one `data:` field (LF, CRLF and CR all split lines). */
  data?: string;
  /** Event id (`id:` field) the client echoes as Last-Event-ID when it reconnects; '' = none. */
  eventId?: string;
  /** Reconnection delay the client should use, in ms (`retry:` field); 0 = not sent. */
  retry?: number;
}

/**
 * One server-sent event (Ergo's `sse.Message{ID, Event, Data, MsgID, Retry}`): send it to a
 * connection's alias to push it, or receive it from a client meta.
 */
export class MessageSSE {
  id: Alias | null;
  event: string;
  data: string;
  eventId: string;
  retry: number;
  constructor(init: SSEEventInit = {}) {
    this.id = init.id ?? null;
    this.event = init.event ?? '';
    this.data = init.data ?? '';
    this.eventId = init.eventId ?? '';
    this.retry = init.retry ?? 0;
  }
}

/** A client connected (server side) or the client meta connected to its endpoint. */
export class MessageSSEConnect {
  constructor(
    /** The connection meta's alias: send MessageSSE here. */
    readonly id: Alias,
    readonly remoteAddress: string,
    readonly remotePort: number,
    readonly localAddress: string,
    readonly localPort: number,
    /** The HTTP request that opened the stream (server side) or null (client side). */
    readonly request: IncomingMessage | null,
  ) {}
}

/** The client resumed a stream: its `Last-Event-ID` header (server side, right after connect). */
export class MessageSSELastEventID {
  constructor(
    readonly id: Alias,
    readonly lastEventId: string,
  ) {}
}

/** The stream closed (either side), or its meta ended. Last message of a connection. */
export class MessageSSEDisconnect {
  constructor(readonly id: Alias) {}
}

const LINE_BREAK = /\r\n|\r|\n/;

/**
 * The wire text of one event: `event:`, `id:`, `retry:` when set, one `data:` per line (an
 * empty `data:` for empty data), then a blank line. ErrIncorrect when `event` or `eventId` holds
 * a line break (it would forge fields) or `retry` is not a non-negative integer.
 */
export function formatSSEEvent(m: MessageSSE): string {
  let out = '';
  if (m.event !== '') {
    if (LINE_BREAK.test(m.event)) throw ErrIncorrect.with('SSE event type with a line break');
    out += `event: ${m.event}\n`;
  }
  if (m.eventId !== '') {
    if (LINE_BREAK.test(m.eventId) || m.eventId.includes('\0'))
      throw ErrIncorrect.with('SSE event id with a line break or NUL');
    out += `id: ${m.eventId}\n`;
  }
  if (m.retry !== 0) {
    if (!Number.isInteger(m.retry) || m.retry < 0) throw ErrIncorrect.with(`SSE retry ${String(m.retry)}`);
    out += `retry: ${m.retry}\n`;
  }
  const data = typeof m.data === 'string' ? m.data : String(m.data);
  if (data === '') return out + 'data:\n\n';
  const lines = data.split(LINE_BREAK);
  for (let i = 0; i < lines.length; i++) out += `data: ${lines[i]}\n`;
  return out + '\n';
}
