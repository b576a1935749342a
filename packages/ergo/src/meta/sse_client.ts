// SSE client: a meta that reads an external text/event-stream endpoint (node:http / node:https)
// and delivers each event as a MessageSSE to a process. The first request is made by
// createSSEConnection (a refused or wrong answer fails there, as Ergo's CreateConnection does);
// with `reconnect` on, the meta dials again after a drop, sending Last-Event-ID.

import http from 'node:http';
import https from 'node:https';

import { ErrIncorrect, ErrMalformed, ErrTimeout, ErrUnsupported, toError } from '../gen/errors.js';
import type { MetaProcess } from '../gen/meta.js';
import type { PID } from '../gen/pid.js';
import type { SendTarget } from '../gen/process.js';
import type { Ref } from '../gen/ref.js';
import { MetaBase } from './base.js';
import { DEFAULT_SSE_MAX_EVENT, SSEParser, type SSEParsedEvent } from './sse_parser.js';
import { MessageSSE, MessageSSEConnect, MessageSSEDisconnect } from './sse_types.js';
import { ignorable } from '../gen/ignorable.js';

/** Default delay before reconnecting when the server did not send `retry:` (Ergo's 3 s). */
export const DEFAULT_SSE_RECONNECT_INTERVAL = 3000;
/** Default time to get the response headers (ms). */
export const DEFAULT_SSE_CONNECT_TIMEOUT = 15_000;

/** Options of {@link createSSEConnection}. */
export interface SSEClientOptions {
  /** The endpoint (http: or https:). */
  url: string | URL;
  /** Who gets the messages (default: the process that spawns the meta). */
  process?: SendTarget;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Sent as Last-Event-ID on the first request (resume an earlier stream). */
  lastEventId?: string;
  /** Dial again after the stream drops (default false, as Ergo). */
  reconnect?: boolean;
  /** Delay before a reconnection, unless the server sent `retry:` (default 3000 ms). */
  reconnectInterval?: number;
  /** Time to get the response headers, per attempt (default 15 000 ms): ErrTimeout. */
  connectTimeout?: number;
  /** Largest event accepted, in characters (default 1 MiB): over it the stream is closed. */
  maxEventSize?: number;
  /** TLS options for https: endpoints (ca, rejectUnauthorized, ...). */
  tls?: https.RequestOptions;
}

/**
 * Opens the stream: a GET with `Accept: text/event-stream` that must answer 200 with a
 * text/event-stream content type. Rejects with ErrIncorrect (bad options), ErrMalformed (wrong
 * status or type), ErrTimeout, or the socket error. Spawn the result with `spawnMeta`; if you do
 * not, call `close()`.
 */
export function createSSEConnection(options: SSEClientOptions): Promise<SSEClient> {
  // Safe to leave un-awaited (docs/actors.md, Returned Promises are safe to ignore).
  return ignorable(openSSE(options), undefined, 'createSSEConnection');
}

async function openSSE(options: SSEClientOptions): Promise<SSEClient> {
  if (options === null || typeof options !== 'object') throw ErrIncorrect.with('SSE connection options');
  let url: URL;
  try {
    url = new URL(String(options.url));
  } catch (e) {
    throw ErrIncorrect.with(`SSE url ${String(options.url)}`, e);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw ErrIncorrect.with(`SSE url protocol ${url.protocol}`);
  const interval = options.reconnectInterval ?? DEFAULT_SSE_RECONNECT_INTERVAL;
  if (!Number.isFinite(interval) || interval < 0) throw ErrIncorrect.with(`SSE reconnectInterval ${String(interval)}`);
  const client = new SSEClient(url, options, interval);
  await client.dial();
  return client;
}

/**
 * Ergo's `sse.CreateConnection` meta, read-only: it sends MessageSSEConnect (request null),
 * one MessageSSE per event (its `eventId` is the stream's last event id), and
 * MessageSSEDisconnect when the stream ends. With `reconnect`, a drop sends MessageSSEDisconnect,
 * and each successful reconnection MessageSSEConnect again; the meta lives until it is told to
 * exit. Without it the meta ends (normal) with the stream. Messages to its alias are ignored
 * (logged); calls get ErrUnsupported. Inspect: url, process, bytes in, events, last event id,
 * reconnect delay.
 */
export class SSEClient extends MetaBase {
  readonly #url: URL;
  readonly #opts: SSEClientOptions;
  readonly #parser: SSEParser;
  #interval: number;
  #target: SendTarget | undefined;
  #res: http.IncomingMessage | null = null;
  #req: http.ClientRequest | null = null;
  #stopped = false;
  #connected = false;
  #finish: ((r: Error | undefined) => void) | null = null;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #bytesIn = 0;
  #events = 0;
  #reconnects = 0;

  /** Use {@link createSSEConnection}, which validates the options and makes the first request. */
  constructor(url: URL, options: SSEClientOptions, interval: number) {
    super();
    this.#url = url;
    this.#opts = options;
    this.#interval = interval;
    this.#parser = new SSEParser((e) => this.#deliver(e), options.maxEventSize ?? DEFAULT_SSE_MAX_EVENT);
    this.#parser.lastEventId = options.lastEventId ?? '';
  }

  /** The last event id seen (what a reconnection sends as Last-Event-ID). */
  get lastEventId(): string {
    return this.#parser.lastEventId;
  }

  /** Makes one request; resolves when a valid stream answered. Used by createSSEConnection. */
  dial(): Promise<void> {
    const url = this.#url;
    const headers: Record<string, string> = {
      accept: 'text/event-stream',
      'cache-control': 'no-cache',
      ...this.#opts.headers,
    };
    if (this.#parser.lastEventId !== '') headers['last-event-id'] = this.#parser.lastEventId;
    const timeout = this.#opts.connectTimeout ?? DEFAULT_SSE_CONNECT_TIMEOUT;
    return new Promise<void>((resolve, reject) => {
      const onResponse = (res: http.IncomingMessage): void => {
        clearTimeout(timer);
        const type = res.headers['content-type'] ?? '';
        if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
          res.resume();
          req.destroy();
          reject(ErrMalformed.with(`SSE endpoint ${url.href} answered ${String(res.statusCode)} ${type}`));
          return;
        }
        this.#res = res;
        resolve();
      };
      const req =
        url.protocol === 'https:'
          ? https.get(url, { ...this.#opts.tls, headers }, onResponse)
          : http.get(url, { headers }, onResponse);
      this.#req = req;
      const timer = setTimeout(() => {
        req.destroy(ErrTimeout.with(`SSE endpoint ${url.href}: no answer in ${timeout} ms`));
      }, timeout);
      timer.unref();
      // 'on': the request reports a later socket error (a reset mid-stream) here too.
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  /** Closes the stream of an unspawned client. */
  close(): void {
    this.#stopped = true;
    this.#req?.destroy();
  }

  override init(meta: MetaProcess): unknown {
    super.init(meta);
    this.#target = this.#opts.process ?? meta.parent;
    return undefined;
  }

  override start(): Promise<Error | undefined> {
    const done = new Promise<Error | undefined>((resolve) => (this.#finish = resolve));
    this.#attach();
    return done;
  }

  #attach(): void {
    const res = this.#res;
    if (res === null || this.#stopped) {
      this.#stop(undefined);
      return;
    }
    const s = res.socket;
    if (
      !this.#send(
        new MessageSSEConnect(
          this.id,
          s?.remoteAddress ?? '',
          s?.remotePort ?? 0,
          s?.localAddress ?? '',
          s?.localPort ?? 0,
          null,
        ),
      )
    )
      return;
    this.#connected = true;
    res.on('data', (chunk: Buffer) => {
      this.#bytesIn += chunk.length;
      try {
        this.#parser.feed(chunk);
      } catch (e) {
        this.log.error('sse client: %s', toError(e).message);
        this.#stop(toError(e));
      }
    });
    res.once('close', () => this.#dropped(res));
  }

  #dropped(res: http.IncomingMessage): void {
    if (this.#res !== res) return;
    this.#res = null;
    this.#parser.end();
    this.#disconnected();
    if (this.#stopped) return;
    if (!(this.#opts.reconnect ?? false)) {
      this.#stop(undefined);
      return;
    }
    this.#scheduleDial();
  }

  #scheduleDial(): void {
    const delay = this.#parser.retry >= 0 ? this.#parser.retry : this.#interval;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (this.#stopped) return;
      this.dial().then(
        () => {
          this.#reconnects++;
          this.#attach();
        },
        (e: unknown) => {
          this.log.warning('sse client: reconnecting to %s failed: %s', this.#url.href, toError(e).message);
          if (!this.#stopped) this.#scheduleDial();
        },
      );
    }, delay);
    this.#retryTimer.unref();
  }

  #deliver(e: SSEParsedEvent): void {
    this.#events++;
    this.#send(new MessageSSE({ id: this.id, event: e.event, data: e.data, eventId: e.lastEventId }));
  }

  /** Sends to the target; a failed delivery ends the meta (logged). */
  #send(message: unknown): boolean {
    try {
      this.send(this.#target!, message);
      return true;
    } catch (e) {
      this.log.error('sse client: unable to deliver to %s: %s', String(this.#target), toError(e).message);
      this.#stop(toError(e));
      return false;
    }
  }

  #stop(reason: Error | undefined): void {
    this.#stopped = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#req?.destroy();
    const f = this.#finish;
    this.#finish = null;
    if (f !== null) f(reason);
  }

  override handleMessage(from: PID, _message: unknown): unknown {
    this.log.warning('sse client: read-only, ignored a message from %s', from.toString());
    return undefined;
  }

  override handleCall(from: PID, ref: Ref, _request: unknown): unknown {
    this.meta.sendResponseError(from, ref, ErrUnsupported.with('an SSE client answers no calls'));
    return undefined;
  }

  override handleInspect(_from: PID, ..._items: string[]): Record<string, string> {
    return {
      url: this.#url.href,
      process: String(this.#target),
      bytes_in: String(this.#bytesIn),
      events: String(this.#events),
      last_event_id: this.#parser.lastEventId,
      reconnect_delay_ms: String(this.#parser.retry >= 0 ? this.#parser.retry : this.#interval),
      reconnects: String(this.#reconnects),
    };
  }

  override terminate(_reason: Error): unknown {
    this.#res = null;
    this.#disconnected();
    this.#stop(undefined);
    return undefined;
  }

  /** Tells the target the stream is gone, once per connection. */
  #disconnected(): void {
    if (!this.#connected) return;
    this.#connected = false;
    try {
      this.send(this.#target!, new MessageSSEDisconnect(this.id));
    } catch (e) {
      this.log.debug('sse client: disconnect not delivered: %s', toError(e).message);
    }
  }
}
