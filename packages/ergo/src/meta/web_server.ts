// WebServer: an HTTP or HTTPS server (node:http / node:https) owned by a process as a meta. It
// listens when created (so a busy port fails at once, as in Ergo), serves any Node request
// listener (a WebHandler's, a WebMux's, your own), and closes with its meta: `sendExitMeta`
// or the parent's end stops listening and closes every open connection.

import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { ErrIncorrect, ErrUnsupported, toError } from '../gen/errors.js';
import type { PID } from '../gen/pid.js';
import type { Ref } from '../gen/ref.js';
import { MetaBase } from './base.js';
import { secureContextOptions, type CertManager } from './cert.js';
import { answer, type WebRequestListener } from './web_handler.js';
import { ignorable } from '../gen/ignorable.js';

/** Default host a web server binds (Ergo's). */
export const DEFAULT_WEB_HOST = 'localhost';

/** Something that serves requests: a listener function or an object holding one (WebHandler, WebMux). */
export type WebRequestHandler = WebRequestListener | { readonly listener: WebRequestListener };

/** Options of {@link createWebServer}. */
export interface WebServerOptions {
  /** Host or address to bind (default 'localhost'). */
  host?: string;
  /** TCP port; 0 picks a free one (read it from `server.port`). Required. */
  port: number;
  /** What answers the requests. */
  handler: WebRequestHandler;
  /**
   * TLS material (key, cert, ca, ... as node:https takes): when given, the server speaks HTTPS.
   * Reload certificates with `server.setSecureContext(...)`, or use `certManager`.
   */
  tls?: https.ServerOptions;
  /**
   * HTTPS with the manager's certificate (Ergo's CertManager); `update` on the manager swaps it
   * for new connections. Combined with `tls`, the manager's certificate wins.
   */
  certManager?: CertManager;
  /** Passed to node:http(s) as is (timeouts, header limits...). */
  serverOptions?: http.ServerOptions;
}

/**
 * Creates a web server and waits until it listens. Rejects with the listen error (e.g.
 * EADDRINUSE) or ErrIncorrect for bad options. Spawn the result with `spawnMeta` to tie its
 * life to a process; an unspawned server is stopped with `close()`.
 */
export function createWebServer(options: WebServerOptions): Promise<WebServer> {
  // Safe to leave un-awaited (docs/actors.md, Returned Promises are safe to ignore).
  return ignorable(listenWeb(options), undefined, 'createWebServer');
}

async function listenWeb(options: WebServerOptions): Promise<WebServer> {
  if (options === null || typeof options !== 'object') throw ErrIncorrect.with('web server options');
  const port = options.port;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw ErrIncorrect.with(`web server port ${String(port)}`);
  const h = options.handler;
  const listener =
    typeof h === 'function'
      ? h
      : h !== null && typeof h === 'object' && typeof h.listener === 'function'
        ? h.listener
        : null;
  if (listener === null) throw ErrIncorrect.with('web server handler (a request listener or an object with one)');
  const host = options.host ?? DEFAULT_WEB_HOST;
  const cm = options.certManager;
  const secure = options.tls !== undefined || cm !== undefined;
  const server = secure
    ? https.createServer({
        ...options.serverOptions,
        ...options.tls,
        ...(cm === undefined ? {} : secureContextOptions(cm.certificate())),
      })
    : http.createServer(options.serverOptions ?? {});
  // Built before listening, so its listeners (request, error) are in place for the first client.
  const web = new WebServer(server, host, secure, listener);
  const unsubscribe =
    cm === undefined ? null : cm.subscribe((c) => (server as https.Server).setSecureContext(secureContextOptions(c)));
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => {
      unsubscribe?.();
      reject(e);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  if (unsubscribe !== null) server.once('close', unsubscribe);
  return web;
}

/**
 * Ergo's meta.WebServer. Created listening by {@link createWebServer}. As a meta: `start`
 * returns a promise that settles when the server closes (the meta then ends normally); its
 * `terminate` closes the server and every connection. Server errors go to the meta's log, as do
 * request listeners that throw or reject (those requests get 500). Inspect reports address, port,
 * tls, open connections, the bytes its connections read and wrote, and listener errors.
 */
export class WebServer extends MetaBase {
  readonly #server: http.Server | https.Server;
  readonly #host: string;
  readonly #secure: boolean;
  #closed: Promise<void>;
  #connections = 0;
  /** Its open connections' sockets, whose byte counts go on growing. */
  readonly #open = new Set<{ bytesRead: number; bytesWritten: number }>();
  /** Bytes read and written on its connections that have closed. */
  #closedIn = 0;
  #closedOut = 0;
  #listenerErrors = 0;
  #spawned = false;

  /**
   * Wraps a server; use {@link createWebServer}. With `listener`, it serves the server's
   * requests: a listener that throws (or whose promise rejects) — a user callback run outside
   * any actor — is logged and answered 500 (the connection is cut when the answer had started),
   * and nothing else ends.
   */
  constructor(server: http.Server | https.Server, host: string, secure: boolean, listener?: WebRequestListener) {
    super();
    this.#server = server;
    this.#host = host;
    this.#secure = secure;
    if (listener !== undefined) server.on('request', (req, res) => this.#serve(listener, req, res));
    this.#closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
    server.on('connection', (socket) => {
      this.#connections++;
      this.#open.add(socket);
      socket.once('close', () => {
        this.#connections--;
        this.#open.delete(socket);
        this.#closedIn += socket.bytesRead;
        this.#closedOut += socket.bytesWritten;
      });
    });
    // Listeners from the start, so an error before spawnMeta cannot crash the process.
    server.on('error', (e: Error) => this.#logged('error', 'web server: %s', toError(e).message));
    server.on('clientError', (e: Error, socket) => {
      if (!socket.destroyed) socket.destroy();
      this.#logged('debug', 'web server: client error: %s', e.message);
    });
  }

  #serve(listener: WebRequestListener, req: IncomingMessage, res: ServerResponse): void {
    // Whoever writes this response after its end (a late worker, a listener's stray write) gets
    // 'write after end' as an 'error' event: logged here, never an uncaught exception.
    res.on('error', this.#responseError);
    let r: unknown;
    try {
      r = listener(req, res);
    } catch (e) {
      this.#listenerFailed(e, req, res);
      return;
    }
    if (r !== null && typeof r === 'object' && typeof (r as { then?: unknown }).then === 'function')
      (r as PromiseLike<unknown>).then(undefined, (e: unknown) => this.#listenerFailed(e, req, res));
  }

  readonly #responseError = (e: Error): void => this.#logged('debug', 'web server: response: %s', e.message);

  #listenerFailed(e: unknown, req: IncomingMessage, res: ServerResponse): void {
    this.#listenerErrors++;
    const err = toError(e);
    if (this.#spawned)
      this.log.error(
        'web server: %s %s: the request listener failed: %s',
        req.method ?? '',
        req.url ?? '',
        err.message,
      );
    answer(res, 500, 'Internal Server Error');
  }

  #logged(level: 'error' | 'debug', format: string, arg: string): void {
    if (this.#spawned) this.log[level](format, arg);
  }

  /** The node:http(s) server (for upgrade listeners, timeouts, setSecureContext...). */
  get server(): http.Server | https.Server {
    return this.#server;
  }

  /** The bound port (the real one when created with port 0). */
  get port(): number {
    const a = this.#server.address();
    return a !== null && typeof a === 'object' ? (a as AddressInfo).port : 0;
  }

  /** The host it was asked to bind. */
  get host(): string {
    return this.#host;
  }

  /** True for HTTPS. */
  get secure(): boolean {
    return this.#secure;
  }

  /** Base URL, e.g. `http://localhost:8080`. */
  get url(): string {
    const a = this.#server.address();
    const addr = a !== null && typeof a === 'object' ? (a as AddressInfo).address : this.#host;
    const host = addr.includes(':') ? `[${addr}]` : addr;
    return `${this.#secure ? 'https' : 'http'}://${host}:${this.port}`;
  }

  override start(): Promise<void> {
    this.#spawned = true;
    return this.#closed;
  }

  override handleMessage(from: PID, message: unknown): unknown {
    this.log.warning('web server: unhandled message from %s: %s', from.toString(), typeof message);
    return undefined;
  }

  override handleCall(from: PID, ref: Ref, _request: unknown): unknown {
    this.meta.sendResponseError(from, ref, ErrUnsupported.with('a web server meta answers no calls'));
    return undefined;
  }

  override handleInspect(_from: PID, ..._items: string[]): Record<string, string> {
    return {
      url: this.url,
      host: this.#host,
      port: String(this.port),
      tls: String(this.#secure),
      connections: String(this.#connections),
      'bytes in': String(this.#bytes('bytesRead')),
      'bytes out': String(this.#bytes('bytesWritten')),
      listener_errors: String(this.#listenerErrors),
    };
  }

  /** Bytes its connections have read or written on the wire (TLS included), closed ones too. */
  #bytes(which: 'bytesRead' | 'bytesWritten'): number {
    let n = which === 'bytesRead' ? this.#closedIn : this.#closedOut;
    for (const s of this.#open) n += s[which];
    return n;
  }

  override terminate(_reason: Error): unknown {
    this.#shutdown();
    return undefined;
  }

  /** Stops listening and closes every connection; resolves once the server closed. Idempotent. */
  close(): Promise<void> {
    this.#shutdown();
    return this.#closed;
  }

  #shutdown(): void {
    const s = this.#server;
    if (s.listening) s.close();
    s.closeAllConnections();
  }
}
