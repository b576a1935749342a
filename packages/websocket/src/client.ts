// The client side: dial a WebSocket endpoint and hand the open socket to a WebsocketConnection
// meta, so a process talks to a remote WebSocket server the same way it talks to a server-side
// connection.

import type { Socket } from 'node:net';

import { ErrIncorrect, ErrTimeout, ignorable, type SendTarget } from 'ergo-ts';
import { WebSocket } from 'ws';

import { WebsocketConnection, type WebsocketConnectionLimits } from './connection.js';
import { DEFAULT_WEBSOCKET_MAX_PAYLOAD } from './handler.js';

/** Default time to complete the opening handshake (Ergo's 15 s). */
export const DEFAULT_WEBSOCKET_HANDSHAKE_TIMEOUT = 15_000;

/** Options of {@link createWebsocketConnection}. */
export interface WebsocketConnectionOptions extends WebsocketConnectionLimits {
  /** ws: or wss: URL. */
  url: string | URL;
  /** Who gets the messages (default: the process that spawns the meta). */
  process?: SendTarget;
  /** Milliseconds to complete the handshake (default 15 000): ErrTimeout. */
  handshakeTimeout?: number;
  /** Offer permessage-deflate (default false). */
  enableCompression?: boolean;
  /** Extra handshake headers. */
  headers?: Record<string, string>;
  /** Subprotocols to offer. */
  protocols?: string[];
  /** Largest message accepted (default 16 MiB). */
  maxPayload?: number;
  /** TLS options for wss: (ca, rejectUnauthorized, ...). */
  tls?: {
    ca?: string | Buffer | (string | Buffer)[];
    rejectUnauthorized?: boolean;
    cert?: string | Buffer;
    key?: string | Buffer;
  };
}

/**
 * Dials `url` and resolves once the handshake completed (Ergo's `websocket.CreateConnection`).
 * Rejects with ErrIncorrect (bad options), ErrTimeout, or the handshake/socket error (e.g. an
 * "Unexpected server response: 404"). Spawn the result with `spawnMeta`; if you do not, call
 * `close()` to release the socket.
 */
export function createWebsocketConnection(options: WebsocketConnectionOptions): Promise<WebsocketConnection> {
  // Safe to leave un-awaited (docs/actors.md, Returned Promises are safe to ignore).
  return ignorable(dialWebsocket(options), undefined, 'createWebsocketConnection');
}

function dialWebsocket(options: WebsocketConnectionOptions): Promise<WebsocketConnection> {
  if (options === null || typeof options !== 'object')
    return Promise.reject(ErrIncorrect.with('websocket connection options'));
  let url: URL;
  try {
    url = new URL(String(options.url));
  } catch (e) {
    return Promise.reject(ErrIncorrect.with(`websocket url ${String(options.url)}`, e));
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    return Promise.reject(ErrIncorrect.with(`websocket url protocol ${url.protocol}`));
  const timeout = options.handshakeTimeout ?? DEFAULT_WEBSOCKET_HANDSHAKE_TIMEOUT;
  if (!Number.isFinite(timeout) || timeout <= 0)
    return Promise.reject(ErrIncorrect.with(`websocket handshakeTimeout ${String(timeout)}`));
  return new Promise<WebsocketConnection>((resolve, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], {
      perMessageDeflate: options.enableCompression ?? false,
      maxPayload: options.maxPayload ?? DEFAULT_WEBSOCKET_MAX_PAYLOAD,
      headers: options.headers ?? {},
      ...options.tls,
    });
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      ws.terminate();
      reject(ErrTimeout.with(`websocket handshake with ${url.href} took over ${timeout} ms`));
    }, timeout);
    timer.unref();
    const onError = (e: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(e);
    };
    // 'on', not 'once': a second error before 'open' (after a timeout's terminate) must find a listener too.
    ws.on('error', onError);
    // Build the connection before 'open' fires so no frame sent right after the handshake is missed.
    let conn: WebsocketConnection | null = null;
    ws.once('upgrade', (res) => {
      conn = new WebsocketConnection(ws, options.process ?? null, null, res.socket as Socket, options);
    });
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.off('error', onError);
      resolve(conn ?? new WebsocketConnection(ws, options.process ?? null, null, null, options));
    });
  });
}
