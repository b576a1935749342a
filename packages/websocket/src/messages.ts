// Messages of the WebSocket metas (Ergo's extra library `meta/websocket`). A connection meta
// sends MessageWebsocketConnect first, one MessageWebsocket per frame it reads, and
// MessageWebsocketDisconnect last; a process writes by sending MessageWebsocket to the
// connection's alias.

import type { IncomingMessage } from 'node:http';

import type { Alias } from 'ergo-ts';

/** Frame types, with Ergo's (and RFC 6455's opcode) numbers. */
export const WebsocketMessageType = {
  /** A UTF-8 text message (also what type 0 means when you send). */
  Text: 1,
  /** A binary message. */
  Binary: 2,
  /** Sending it closes the connection (body: optional reason text). */
  Close: 8,
  /** Sending it writes a ping (body: optional payload, at most 125 bytes). */
  Ping: 9,
  /** Sending it writes a pong. */
  Pong: 10,
} as const;
/** @see WebsocketMessageType */
export type WebsocketMessageType = (typeof WebsocketMessageType)[keyof typeof WebsocketMessageType];

/**
 * One WebSocket message (Ergo's `websocket.Message{ID, Type, Body}`). Received: `type` is Text
 * (body a string) or Binary (body a Buffer), `id` the connection's alias. To send, put it in a
 * message to the connection alias: the type defaults to Text for a string body and Binary for
 * bytes; `id` is ignored.
 */
export class MessageWebsocket {
  readonly type: WebsocketMessageType;
  constructor(
    readonly body: string | Uint8Array,
    type?: WebsocketMessageType | 0,
    readonly id: Alias | null = null,
  ) {
    this.type =
      type === undefined || type === 0
        ? typeof body === 'string'
          ? WebsocketMessageType.Text
          : WebsocketMessageType.Binary
        : type;
  }

  /** The body as text (UTF-8 decoded when binary). */
  text(): string {
    return typeof this.body === 'string'
      ? this.body
      : Buffer.from(this.body.buffer, this.body.byteOffset, this.body.byteLength).toString('utf8');
  }
}

/** A connection is open (server side: upgraded; client side: dialled). First message of a connection. */
export class MessageWebsocketConnect {
  constructor(
    /** The connection meta's alias: send MessageWebsocket here. */
    readonly id: Alias,
    readonly remoteAddress: string,
    readonly remotePort: number,
    readonly localAddress: string,
    readonly localPort: number,
    /** The HTTP request that was upgraded (server side), or null (client side). */
    readonly request: IncomingMessage | null,
  ) {}
}

/** The connection closed (either side, or its meta ended). Last message of a connection. */
export class MessageWebsocketDisconnect {
  constructor(
    readonly id: Alias,
    /** Close code (1000 normal, 1001 going away, 1006 abnormal: no close frame...). */
    readonly code: number,
    /** Close reason sent by the peer, if any. */
    readonly reason: string,
  ) {}
}
