// SSE server side: SSEHandler is a request listener and a meta; every client that opens the
// stream gets its own connection meta (SSEConnection) whose alias processes send MessageSSE to.
// One shared timer writes heartbeat comments to every open stream, so idle proxies keep them.

import type { IncomingMessage, ServerResponse } from 'node:http';
import zlib from 'node:zlib';

import { ErrIncorrect, ErrTooLarge, ErrUnsupported, toError } from '../gen/errors.js';
import type { MetaProcess } from '../gen/meta.js';
import type { PID } from '../gen/pid.js';
import type { SendTarget } from '../gen/process.js';
import type { Alias, Ref } from '../gen/ref.js';
import { MetaBase } from './base.js';
import { answer, type WebRequestListener } from './web_handler.js';
import {
  MessageSSE,
  MessageSSEConnect,
  MessageSSEDisconnect,
  MessageSSELastEventID,
  formatSSEEvent,
} from './sse_types.js';

/** Default interval of heartbeat comments (ms). */
export const DEFAULT_SSE_HEARTBEAT = 30_000;
/** Default limit of bytes queued for one slow client before its stream is closed. */
export const DEFAULT_SSE_MAX_BUFFERED = 1 << 20;

/** Options of {@link SSEHandler}. */
export interface SSEHandlerOptions {
  /**
   * Processes that get the connections' messages, round-robin per connection (names, PIDs...).
   * Empty (default): the process that spawned the handler.
   */
  processPool?: SendTarget[];
  /** Milliseconds between `: heartbeat` comments on every stream; 0 = none (default 30 000). */
  heartbeat?: number;
  /** Bytes queued for one client before it is cut off as too slow (default 1 MiB). */
  maxBuffered?: number;
  /** Gzip the stream (fastest level, flushed after every event) for clients that accept it (default false). */
  compression?: boolean;
}

/**
 * Ergo's `sse.CreateHandler`: spawn it with `spawnMeta`, serve `handler.listener` (alone or
 * under a WebMux path). Per request: not spawned or terminated → 503; an `Accept` other than
 * empty, `text/event-stream` or `*\/*` → 406; otherwise the response becomes an event stream
 * (`: connected` first) owned by a new connection meta, a sibling spawned by this handler.
 *
 * Each connection meta sends to its process MessageSSEConnect, then MessageSSELastEventID when
 * the request carries `Last-Event-ID`, and MessageSSEDisconnect when the stream closes. Send
 * MessageSSE to its alias to push an event; `sendExitMeta` on it closes the stream.
 * Terminating the handler closes no stream (they are metas of their own). With `compression`,
 * clients sending `Accept-Encoding: gzip` get a gzip stream flushed after every write.
 */
export class SSEHandler extends MetaBase {
  /** The request listener to serve (directly or under a WebMux path); 503 before spawn. */
  readonly listener: WebRequestListener;
  readonly #pool: SendTarget[];
  readonly #heartbeat: number;
  readonly #maxBuffered: number;
  readonly #compression: boolean;
  #live = false;
  #next = 0;
  #timer: ReturnType<typeof setInterval> | null = null;
  /** Open streams of this handler (its connections add and remove themselves; read-only for others). */
  readonly streams = new Set<SSEConnection>();
  #connections = 0;
  /** Bytes of the events written by its streams that have ended (the open ones count their own). */
  #endedBytesOut = 0;

  /** ErrIncorrect for a negative `heartbeat`, a bad `maxBuffered` or a `processPool` that is not an array. */
  constructor(options: SSEHandlerOptions = {}) {
    super();
    const hb = options.heartbeat ?? DEFAULT_SSE_HEARTBEAT;
    if (!Number.isFinite(hb) || hb < 0) throw ErrIncorrect.with(`SSE heartbeat ${String(hb)}`);
    const mb = options.maxBuffered ?? DEFAULT_SSE_MAX_BUFFERED;
    if (!Number.isInteger(mb) || mb < 1) throw ErrIncorrect.with(`SSE maxBuffered ${String(mb)}`);
    if (options.processPool !== undefined && !Array.isArray(options.processPool))
      throw ErrIncorrect.with('SSE processPool (an array)');
    this.#pool = options.processPool ?? [];
    this.#heartbeat = hb;
    this.#maxBuffered = mb;
    this.#compression = options.compression ?? false;
    this.listener = (req, res) => this.#serve(req, res);
  }

  override init(meta: MetaProcess): unknown {
    super.init(meta);
    this.#live = true;
    if (this.#heartbeat > 0) {
      this.#timer = setInterval(() => this.#beat(), this.#heartbeat);
      this.#timer.unref();
    }
    return undefined;
  }

  override handleInspect(_from: PID, ..._items: string[]): Record<string, string> {
    return {
      process_pool: this.#pool.map(String).join(','),
      heartbeat_ms: String(this.#heartbeat),
      compression: String(this.#compression),
      streams: String(this.streams.size),
      connections: String(this.#connections),
      // A stream takes nothing in after its request (the web server counts the request's bytes).
      bytes_in: '0',
      bytes_out: String(this.#bytesOut()),
    };
  }

  override terminate(_reason: Error): unknown {
    this.#live = false;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    return undefined;
  }

  /** Event bytes its streams wrote (before compression), ended ones included. */
  #bytesOut(): number {
    let n = this.#endedBytesOut;
    for (const s of this.streams) n += s.bytesOut;
    return n;
  }

  /** From a stream of this handler that ended: its bytes stay in the handler's total. */
  streamEnded(bytesOut: number): void {
    this.#endedBytesOut += bytesOut;
  }

  #beat(): void {
    for (const s of this.streams) s.write(': heartbeat\n\n');
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    if (!this.#live) {
      answer(res, 503, 'Service Unavailable');
      return;
    }
    const accept = req.headers.accept;
    if (accept !== undefined && accept !== '' && !accept.includes('text/event-stream') && !accept.includes('*/*')) {
      answer(res, 406, 'Not Acceptable');
      return;
    }
    const pool = this.#pool;
    const target = pool.length === 0 ? this.meta.parent : pool[this.#next++ % pool.length]!;
    const gzip = this.#compression && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const conn = new SSEConnection(this, target, req, res, this.#maxBuffered, gzip);
    try {
      this.meta.spawn(conn);
    } catch (e) {
      this.log.error('sse handler: unable to spawn a connection meta: %s', toError(e).message);
      answer(res, 503, 'Service Unavailable');
      return;
    }
    this.#connections++;
  }
}

/**
 * One client's event stream, as a meta. Created by {@link SSEHandler}; you only talk to its
 * alias: MessageSSE pushes an event (a bad one is logged and dropped), `sendExitMeta` closes the
 * stream. Calls get ErrUnsupported. The meta ends (normal) when the client goes away, and cuts
 * the stream when more than `maxBuffered` bytes wait for a slow client (ErrTooLarge, logged).
 */
export class SSEConnection extends MetaBase {
  readonly #handler: SSEHandler;
  readonly #target: SendTarget;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #maxBuffered: number;
  readonly #gzip: zlib.Gzip | null;
  #ended = false;
  #connected = false;
  #finish: ((r: Error | undefined) => void) | null = null;
  #bytesOut = 0;
  #events = 0;

  /** Bytes of the events written to this stream so far (before compression). */
  get bytesOut(): number {
    return this.#bytesOut;
  }

  /** Made by SSEHandler for each accepted request (not meant to be built by hand). */
  constructor(
    handler: SSEHandler,
    target: SendTarget,
    req: IncomingMessage,
    res: ServerResponse,
    maxBuffered: number,
    gzip = false,
  ) {
    super();
    this.#handler = handler;
    this.#target = target;
    this.#req = req;
    this.#res = res;
    this.#maxBuffered = maxBuffered;
    this.#gzip = gzip ? zlib.createGzip({ level: zlib.constants.Z_BEST_SPEED }) : null;
  }

  override start(): Promise<Error | undefined> {
    const req = this.#req;
    const res = this.#res;
    if (this.#ended) return Promise.resolve(undefined);
    const closed = new Promise<Error | undefined>((resolve) => (this.#finish = resolve));
    res.on('close', () => this.#end(undefined));
    // A write racing the client's departure (a heartbeat, the gzip pipe) reports here, not as an
    // unhandled 'error' that would end the OS process.
    res.on('error', (e: Error) => this.log.debug('sse connection: %s', e.message));
    if (res.destroyed) {
      this.#end(undefined);
      return closed;
    }
    const headers: Record<string, string> = {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    };
    const gz = this.#gzip;
    if (gz !== null) {
      headers['content-encoding'] = 'gzip';
      headers['vary'] = 'accept-encoding';
      gz.pipe(res);
      gz.on('error', (e) => this.log.debug('sse connection: gzip: %s', e.message));
    }
    res.writeHead(200, headers);
    res.flushHeaders();
    this.write(': connected\n\n');
    const s = req.socket;
    this.#handler.streams.add(this);
    try {
      this.send(
        this.#target,
        new MessageSSEConnect(
          this.id,
          s.remoteAddress ?? '',
          s.remotePort ?? 0,
          s.localAddress ?? '',
          s.localPort ?? 0,
          req,
        ),
      );
      this.#connected = true;
      const last = req.headers['last-event-id'];
      if (typeof last === 'string' && last !== '') this.send(this.#target, new MessageSSELastEventID(this.id, last));
    } catch (e) {
      this.log.error('sse connection: unable to deliver to %s: %s', String(this.#target), toError(e).message);
      this.#end(toError(e));
    }
    return closed;
  }

  /** Writes raw stream text (already formatted). Cuts a client that lets too much pile up. */
  write(text: string): void {
    const res = this.#res;
    if (res.writableEnded || res.destroyed) return;
    const gz = this.#gzip;
    if (res.writableLength + (gz === null ? 0 : gz.writableLength) > this.#maxBuffered) {
      this.log.warning(
        'sse connection: %s',
        ErrTooLarge.with(`more than ${this.#maxBuffered} bytes wait for a slow client`).message,
      );
      this.#end(ErrTooLarge);
      return;
    }
    this.#bytesOut += Buffer.byteLength(text);
    if (gz === null) {
      res.write(text);
    } else {
      gz.write(text);
      gz.flush(zlib.constants.Z_SYNC_FLUSH);
    }
  }

  override handleMessage(_from: PID, message: unknown): unknown {
    if (!(message instanceof MessageSSE)) {
      this.log.warning('sse connection: ignored a message that is not a MessageSSE');
      return undefined;
    }
    let text: string;
    try {
      text = formatSSEEvent(message);
    } catch (e) {
      this.log.error('sse connection: event dropped: %s', toError(e).message);
      return undefined;
    }
    this.#events++;
    this.write(text);
    return undefined;
  }

  override handleCall(from: PID, ref: Ref, _request: unknown): unknown {
    this.meta.sendResponseError(from, ref, ErrUnsupported.with('an SSE connection answers no calls; send MessageSSE'));
    return undefined;
  }

  override handleInspect(_from: PID, ..._items: string[]): Record<string, string> {
    const s = this.#req.socket;
    return {
      remote: `${s.remoteAddress ?? ''}:${s.remotePort ?? 0}`,
      local: `${s.localAddress ?? ''}:${s.localPort ?? 0}`,
      process: String(this.#target),
      events: String(this.#events),
      bytes_in: '0',
      bytes_out: String(this.#bytesOut),
    };
  }

  override terminate(_reason: Error): unknown {
    this.#end(undefined);
    return undefined;
  }

  #end(reason: Error | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    const finish = this.#finish;
    this.#finish = null;
    if (this.#handler.streams.delete(this)) this.#handler.streamEnded(this.#bytesOut);
    const res = this.#res;
    const gz = this.#gzip;
    if (reason !== undefined || res.destroyed) {
      gz?.destroy();
      res.destroy();
    } else if (gz !== null && res.headersSent) {
      if (!gz.writableEnded) gz.end(); // ends res through the pipe
    } else if (!res.writableEnded) {
      res.end();
    }
    if (this.#connected) {
      try {
        this.send(this.#target, new MessageSSEDisconnect(this.id as Alias));
      } catch (e) {
        this.log.debug('sse connection: disconnect not delivered: %s', toError(e).message);
      }
    }
    if (finish !== null) finish(reason);
  }
}
