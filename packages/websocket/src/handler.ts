// WebsocketHandler: the server side. A meta that upgrades HTTP requests (the server's 'upgrade'
// event) and spawns a WebsocketConnection meta for each, bound round-robin to a process pool or
// to the handler's parent. Plain (non-upgrade) requests to its listener get 426.

import type http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

import { ErrIncorrect, toError, type MetaProcess, type PID, type SendTarget } from 'ergo-ts';
import { MetaBase } from 'ergo-ts/meta';
import { WebSocketServer, type WebSocket } from 'ws';

import {
  DEFAULT_WEBSOCKET_MAX_BUFFERED,
  DEFAULT_WEBSOCKET_MAX_EARLY_FRAMES,
  WebsocketConnection,
} from './connection.js';

/** Default largest message accepted from a peer (bytes); over it the connection closes with 1009. */
export const DEFAULT_WEBSOCKET_MAX_PAYLOAD = 16 << 20;

/** Options of {@link WebsocketHandler}. */
export interface WebsocketHandlerOptions {
  /** Processes that get the connections' messages, round-robin per connection. Empty: the parent. */
  processPool?: SendTarget[];
  /** Negotiate permessage-deflate (default false). */
  enableCompression?: boolean;
  /**
   * Accept or refuse a handshake by its Origin header (default: accept all). Refused → 403. Called
   * outside any actor, so a throw is contained: logged, the upgrade refused with 403. `origin` is
   * undefined when the client sent no Origin header (any non-browser client can omit it).
   */
  checkOrigin?: (origin: string | undefined, request: IncomingMessage) => boolean;
  /** Largest message accepted (default 16 MiB); over it the connection closes with 1009. */
  maxPayload?: number;
  /** Bytes queued for a slow peer before its connection is closed (default 4 MiB). */
  maxBuffered?: number;
  /** Frames kept while a new connection's meta starts (default 1024). */
  maxEarlyFrames?: number;
}

/** A server the handler can attach to: node:http(s), or anything holding one (a WebServer meta). */
export type UpgradeSource = http.Server | { readonly server: http.Server };

/**
 * Ergo's `websocket.CreateHandler`: spawn it with `spawnMeta`, then `attach(server, path)` (or
 * call `upgrade` from your own 'upgrade' listener). Per upgrade request: handler not spawned or
 * terminated → 503; Origin refused (or `checkOrigin` threw) → 403; otherwise the handshake completes and a
 * {@link WebsocketConnection} meta (a sibling, owned by the same parent) carries the socket.
 * Terminating the handler refuses new upgrades; open connections live on (they are metas of
 * their own, ended with their parent). Inspect: process pool, connections made, refused.
 */
export class WebsocketHandler extends MetaBase {
  /** A request listener for plain HTTP requests on the WebSocket path: 426 Upgrade Required. */
  readonly listener: (req: IncomingMessage, res: ServerResponse) => void;
  readonly #pool: SendTarget[];
  readonly #wss: WebSocketServer;
  readonly #checkOrigin: WebsocketHandlerOptions['checkOrigin'];
  readonly #limits: { maxBuffered: number; maxEarlyFrames: number };
  #live = false;
  #next = 0;
  #connections = 0;
  #refused = 0;
  #detach: (() => void)[] = [];

  /** ErrIncorrect for a bad `processPool`, `maxPayload`, `maxBuffered` or `maxEarlyFrames`. */
  constructor(options: WebsocketHandlerOptions = {}) {
    super();
    if (options.processPool !== undefined && !Array.isArray(options.processPool))
      throw ErrIncorrect.with('websocket processPool (an array)');
    const maxPayload = options.maxPayload ?? DEFAULT_WEBSOCKET_MAX_PAYLOAD;
    if (!Number.isInteger(maxPayload) || maxPayload < 1)
      throw ErrIncorrect.with(`websocket maxPayload ${String(maxPayload)}`);
    const maxBuffered = options.maxBuffered ?? DEFAULT_WEBSOCKET_MAX_BUFFERED;
    if (!Number.isInteger(maxBuffered) || maxBuffered < 1)
      throw ErrIncorrect.with(`websocket maxBuffered ${String(maxBuffered)}`);
    const maxEarlyFrames = options.maxEarlyFrames ?? DEFAULT_WEBSOCKET_MAX_EARLY_FRAMES;
    if (!Number.isInteger(maxEarlyFrames) || maxEarlyFrames < 0)
      throw ErrIncorrect.with(`websocket maxEarlyFrames ${String(maxEarlyFrames)}`);
    this.#pool = options.processPool ?? [];
    this.#checkOrigin = options.checkOrigin;
    this.#limits = { maxBuffered, maxEarlyFrames };
    this.#wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: options.enableCompression ?? false,
      maxPayload,
      clientTracking: false,
    });
    this.listener = (_req, res) => {
      res.statusCode = 426;
      res.setHeader('upgrade', 'websocket');
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end('Upgrade Required');
    };
  }

  override init(meta: MetaProcess): unknown {
    super.init(meta);
    this.#live = true;
    return undefined;
  }

  /**
   * Serves WebSocket upgrades of `server` whose path is `path` (exactly, query ignored), or all
   * of them when `path` is omitted. Upgrades for other paths are left to other listeners; when
   * no other listener exists they are refused with 404. Removed when the handler terminates.
   */
  attach(source: UpgradeSource, path?: string): this {
    const server = 'server' in source && !('listen' in source) ? source.server : (source as http.Server);
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      if (path !== undefined) {
        const url = req.url ?? '/';
        const q = url.indexOf('?');
        if ((q === -1 ? url : url.slice(0, q)) !== path) {
          if (server.listenerCount('upgrade') === 1) refuse(socket, 404, 'Not Found');
          return;
        }
      }
      // Runs in Node's 'upgrade' emit, outside any actor: nothing may escape to it.
      try {
        this.upgrade(req, socket, head);
      } catch (e) {
        this.#report('websocket handler: upgrade failed: %s', toError(e).message);
        refuse(socket, 500, 'Internal Server Error');
      }
    };
    server.on('upgrade', onUpgrade);
    this.#detach.push(() => server.off('upgrade', onUpgrade));
    return this;
  }

  /** Handles one upgrade request (from a server's 'upgrade' event). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!this.#live) {
      this.#refused++;
      refuse(socket, 503, 'Service Unavailable');
      return;
    }
    const check = this.#checkOrigin;
    if (check !== undefined) {
      // A user callback called outside any actor: a throw refuses this upgrade, nothing more.
      let ok: boolean;
      try {
        ok = check(req.headers.origin, req);
      } catch (e) {
        ok = false;
        this.#report('websocket handler: checkOrigin threw (upgrade refused): %s', toError(e).message);
      }
      if (!ok) {
        this.#refused++;
        refuse(socket, 403, 'Forbidden');
        return;
      }
    }
    this.#wss.handleUpgrade(req, socket, head, (ws: WebSocket) => this.#accepted(ws, req, socket as Socket));
  }

  /** Logs an error when spawned (before, there is no log to write to; the refusal still happens). */
  #report(format: string, arg: string): void {
    if (this.#live) this.log.error(format, arg);
  }

  #accepted(ws: WebSocket, req: IncomingMessage, socket: Socket): void {
    const pool = this.#pool;
    const target = pool.length === 0 ? null : pool[this.#next++ % pool.length]!;
    const conn = new WebsocketConnection(ws, target, req, socket, this.#limits);
    if (!this.#live) {
      conn.close();
      return;
    }
    try {
      this.meta.spawn(conn);
      this.#connections++;
    } catch (e) {
      this.log.error('websocket handler: unable to spawn a connection meta: %s', toError(e).message);
      conn.close();
    }
  }

  override handleInspect(_from: PID, ..._items: string[]): Record<string, string> {
    return {
      process_pool: this.#pool.map(String).join(','),
      connections: String(this.#connections),
      refused: String(this.#refused),
    };
  }

  override terminate(_reason: Error): unknown {
    this.#live = false;
    for (const d of this.#detach) d();
    this.#detach = [];
    this.#wss.close();
    return undefined;
  }
}

const ignore = (): void => undefined;

/**
 * Answers an upgrade request with a plain HTTP status and closes the socket. Node's server leaves
 * an upgrade socket without an 'error' listener: one is added first, so a client that resets
 * while the answer is written cannot end the OS process.
 */
function refuse(socket: Duplex, status: number, text: string): void {
  if (socket.listenerCount('error') === 0) socket.on('error', ignore);
  if (socket.destroyed) return;
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}
