// WebsocketConnection: one open WebSocket (either side) as a meta process. Frames read become
// MessageWebsocket messages to its process; MessageWebsocket sent to its alias become frames.
// Frames that arrive before the meta started (between the upgrade and spawnMeta) are kept in
// order, up to a limit, and delivered first.

import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

import { ErrTooLarge, ErrUnsupported, toError, type MetaProcess, type PID, type Ref, type SendTarget } from 'ergo-ts';
import { MetaBase } from 'ergo-ts/meta';
import type { RawData, WebSocket } from 'ws';

import {
  MessageWebsocket,
  MessageWebsocketConnect,
  MessageWebsocketDisconnect,
  WebsocketMessageType,
} from './messages.js';

/** Default limit of bytes queued for a slow peer before the connection is closed. */
export const DEFAULT_WEBSOCKET_MAX_BUFFERED = 4 << 20;
/** Default limit of frames kept while a connection waits for its meta to start. */
export const DEFAULT_WEBSOCKET_MAX_EARLY_FRAMES = 1024;
/** Milliseconds a closing handshake may take before the socket is cut. */
export const WEBSOCKET_CLOSE_TIMEOUT = 5000;

/** Limits of one connection. */
export interface WebsocketConnectionLimits {
  /** Bytes waiting to be sent to the peer before the connection is closed (default 4 MiB). */
  maxBuffered?: number;
  /** Frames read before the meta starts, kept for delivery (default 1024); more closes the connection. */
  maxEarlyFrames?: number;
}

/**
 * A WebSocket as a meta process (Ergo's websocket connection meta). Made by a
 * {@link WebsocketHandler} per upgraded request, or by {@link createWebsocketConnection}.
 *
 * Sends its process (`process` option, else the meta's parent) MessageWebsocketConnect, a
 * MessageWebsocket per message read (Text with a string body, Binary with a Buffer), and
 * MessageWebsocketDisconnect when the socket closes; a failed delivery ends the meta with that
 * error. Handles MessageWebsocket sent to its alias: Text/Binary write a message, Ping/Pong write
 * a control frame, Close starts the closing handshake (1000 and the body as reason); anything
 * else is logged and ignored; calls get ErrUnsupported. A peer that lets more than `maxBuffered`
 * bytes pile up is cut (ErrTooLarge, logged). `sendExitMeta` (or the parent ending) closes the
 * socket (1001 going away). Inspect: local, remote, process, bytes and messages each way.
 */
export class WebsocketConnection extends MetaBase {
  readonly #ws: WebSocket;
  readonly #request: IncomingMessage | null;
  readonly #socket: Socket | null;
  readonly #maxBuffered: number;
  readonly #maxEarly: number;
  #target: SendTarget | undefined;
  #early: MessageWebsocket[] | null = [];
  #started = false;
  #connected = false;
  #ended = false;
  #finish: ((r: Error | undefined) => void) | null = null;
  #closeCode = 1006;
  #closeReason = '';
  #errorCode = 0;
  #errorText = '';
  #bytesIn = 0;
  #bytesOut = 0;
  #messagesIn = 0;
  #messagesOut = 0;

  /**
   * Wraps an open `ws` socket. `target` null = the parent that spawns the meta. Frames are
   * listened to from here on (kept until `start`).
   */
  constructor(
    ws: WebSocket,
    target: SendTarget | null,
    request: IncomingMessage | null,
    socket: Socket | null,
    limits: WebsocketConnectionLimits = {},
  ) {
    super();
    this.#ws = ws;
    this.#target = target ?? undefined;
    this.#request = request;
    this.#socket = socket;
    this.#maxBuffered = limits.maxBuffered ?? DEFAULT_WEBSOCKET_MAX_BUFFERED;
    this.#maxEarly = limits.maxEarlyFrames ?? DEFAULT_WEBSOCKET_MAX_EARLY_FRAMES;
    ws.on('message', (data: RawData, isBinary: boolean) => this.#read(data, isBinary));
    ws.on('close', (code: number, reason: Buffer) => {
      // A frame this side refused (too large, bad UTF-8...) is closed by ws with a status code
      // but reported as 1006; report the code that was actually sent.
      if (code === 1006 && this.#errorCode !== 0) {
        this.#closeCode = this.#errorCode;
        this.#closeReason = this.#errorText;
      } else {
        this.#closeCode = code;
        this.#closeReason = reason.toString('utf8');
      }
      this.#end(undefined);
    });
    ws.on('error', (e: Error & { code?: string }) => {
      this.#errorCode = closeCodeOf(e.code);
      this.#errorText = e.message;
      if (this.#started) this.log.debug('websocket: %s', e.message);
    });
  }

  /** The underlying `ws` socket. */
  get socket(): WebSocket {
    return this.#ws;
  }

  /** Closes the socket of a connection that was never spawned. */
  close(): void {
    this.#ws.terminate();
  }

  override init(meta: MetaProcess): unknown {
    super.init(meta);
    if (this.#target === undefined) this.#target = meta.parent;
    return undefined;
  }

  override start(): Promise<Error | undefined> {
    const done = new Promise<Error | undefined>((resolve) => (this.#finish = resolve));
    this.#started = true;
    const s = this.#socket;
    if (
      !this.#deliver(
        new MessageWebsocketConnect(
          this.id,
          s?.remoteAddress ?? '',
          s?.remotePort ?? 0,
          s?.localAddress ?? '',
          s?.localPort ?? 0,
          this.#request,
        ),
      )
    )
      return done;
    this.#connected = true;
    const early = this.#early;
    this.#early = null;
    if (early !== null) {
      for (let i = 0; i < early.length; i++) {
        const m = early[i]!;
        if (!this.#deliver(new MessageWebsocket(m.body, m.type, this.id))) return done;
      }
    }
    if (this.#ended) this.#finishNow(undefined);
    return done;
  }

  #read(data: RawData, isBinary: boolean): void {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    this.#bytesIn += buf.length;
    this.#messagesIn++;
    const early = this.#early;
    if (early !== null) {
      if (early.length >= this.#maxEarly) {
        this.#ws.close(1008, 'too many messages before the connection was ready');
        return;
      }
      early.push(
        new MessageWebsocket(
          isBinary ? buf : buf.toString('utf8'),
          isBinary ? WebsocketMessageType.Binary : WebsocketMessageType.Text,
        ),
      );
      return;
    }
    if (this.#ended) return;
    this.#deliver(
      new MessageWebsocket(
        isBinary ? buf : buf.toString('utf8'),
        isBinary ? WebsocketMessageType.Binary : WebsocketMessageType.Text,
        this.id,
      ),
    );
  }

  override handleMessage(from: PID, message: unknown): unknown {
    if (!(message instanceof MessageWebsocket)) {
      this.log.warning('websocket: ignored a message from %s that is not a MessageWebsocket', from.toString());
      return undefined;
    }
    const ws = this.#ws;
    if (ws.readyState !== ws.OPEN) return undefined;
    const body = message.body;
    switch (message.type) {
      case WebsocketMessageType.Text:
      case WebsocketMessageType.Binary: {
        if (ws.bufferedAmount > this.#maxBuffered) {
          this.log.warning(
            'websocket: %s',
            ErrTooLarge.with(`more than ${this.#maxBuffered} bytes wait for a slow peer`).message,
          );
          ws.terminate();
          return ErrTooLarge;
        }
        const len = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
        this.#bytesOut += len;
        this.#messagesOut++;
        ws.send(body, { binary: message.type === WebsocketMessageType.Binary });
        return undefined;
      }
      case WebsocketMessageType.Ping:
      case WebsocketMessageType.Pong:
        // A control frame body over 125 bytes: ws throws. One bad message is dropped (logged),
        // it does not end the connection.
        try {
          if (message.type === WebsocketMessageType.Ping) ws.ping(body);
          else ws.pong(body);
        } catch (e) {
          this.log.warning('websocket: control frame dropped: %s', toError(e).message);
        }
        return undefined;
      case WebsocketMessageType.Close:
        try {
          ws.close(1000, message.text());
        } catch (e) {
          // A reason over 123 bytes: ws throws. Close without it rather than end the meta.
          this.log.warning('websocket: close reason dropped: %s', toError(e).message);
          ws.close(1000);
        }
        return undefined;
    }
    this.log.warning('websocket: ignored a message of unknown type %d', message.type);
    return undefined;
  }

  override handleCall(from: PID, ref: Ref, _request: unknown): unknown {
    this.meta.sendResponseError(
      from,
      ref,
      ErrUnsupported.with('a websocket connection answers no calls; send MessageWebsocket'),
    );
    return undefined;
  }

  override handleInspect(_from: PID, ..._items: string[]): Record<string, string> {
    const s = this.#socket;
    return {
      local: `${s?.localAddress ?? ''}:${s?.localPort ?? 0}`,
      remote: `${s?.remoteAddress ?? ''}:${s?.remotePort ?? 0}`,
      process: String(this.#target),
      bytes_in: String(this.#bytesIn),
      bytes_out: String(this.#bytesOut),
      messages_in: String(this.#messagesIn),
      messages_out: String(this.#messagesOut),
    };
  }

  override terminate(_reason: Error): unknown {
    const ws = this.#ws;
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
      ws.close(1001, 'going away');
      const t = setTimeout(() => ws.terminate(), WEBSOCKET_CLOSE_TIMEOUT);
      t.unref();
      ws.once('close', () => clearTimeout(t));
      this.#closeCode = 1001;
      this.#closeReason = 'going away';
    }
    this.#end(undefined);
    return undefined;
  }

  /** Sends to the process; a failure ends the meta. */
  #deliver(message: unknown): boolean {
    try {
      this.send(this.#target!, message);
      return true;
    } catch (e) {
      this.log.error('websocket: unable to deliver to %s: %s', String(this.#target), toError(e).message);
      this.#ws.terminate();
      this.#finishNow(toError(e));
      return false;
    }
  }

  #end(reason: Error | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    if (!this.#started) return; // start() finishes at once
    this.#finishNow(reason);
  }

  #finishNow(reason: Error | undefined): void {
    this.#ended = true;
    if (this.#connected) {
      this.#connected = false;
      try {
        this.send(this.#target!, new MessageWebsocketDisconnect(this.id, this.#closeCode, this.#closeReason));
      } catch (e) {
        this.log.debug('websocket: disconnect not delivered: %s', toError(e).message);
      }
    }
    const f = this.#finish;
    this.#finish = null;
    if (f !== null) f(reason);
  }
}

/** The close code ws sends for a frame error it raised (RFC 6455 §7.4.1). */
function closeCodeOf(code: string | undefined): number {
  if (code === undefined || !code.startsWith('WS_ERR_')) return 0;
  if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return 1009;
  if (code === 'WS_ERR_INVALID_UTF8') return 1007;
  return 1002;
}
