// WebHandler: a Node request listener that is also a meta process. Each HTTP request becomes a
// MessageWebRequest sent to a worker process (a WebWorker, a Pool of them, or any actor); the
// handler waits for the worker's `done()` and answers 504 itself when `requestTimeout` passes.
// All requests share one timer: their deadlines grow in arrival order, so the oldest waiting
// request is always the next to expire.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';

import { ErrIncorrect, defineError, toError } from '../gen/errors.js';
import type { MetaProcess } from '../gen/meta.js';
import type { PID } from '../gen/pid.js';
import type { SendTarget } from '../gen/process.js';
import { Ring } from '../lib/ring.js';
import { MetaBase } from './base.js';
import { MessageWebRequest, type WebRequestWaiter } from './web_request.js';

/** A Node request listener (what `http.createServer` takes). */
export type WebRequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/** Default time a worker has to finish a request before the handler answers 504 (Ergo's 5 s). */
export const DEFAULT_WEB_REQUEST_TIMEOUT = 5000;
/** Default limit of requests waiting for a worker at once, per handler. */
export const DEFAULT_WEB_MAX_PENDING = 65536;

/** More requests in flight than `maxPending`: the handler answered 503. */
export const ErrWebTooManyRequests = defineError('ERR_WEB_TOO_MANY_REQUESTS', 'too many requests in flight');

/** Options of {@link WebHandler}. */
export interface WebHandlerOptions {
  /**
   * Who gets each MessageWebRequest: a name (e.g. a Pool of WebWorkers), a PID, a ProcessID or
   * an Alias. Default: the process that spawned the handler meta.
   */
  worker?: SendTarget;
  /** Milliseconds a worker has to call `done()` before the client gets 504 (default 5000). */
  requestTimeout?: number;
  /** Requests waiting for workers at once; over it the client gets 503 (default 65536). */
  maxPending?: number;
}

/**
 * Ergo's meta.WebHandler: spawn it with `spawnMeta`, then serve `handler.listener` (directly, or
 * under a path prefix of a {@link WebMux}) from a web server meta.
 *
 * Per request: not spawned yet or terminated → 503; the send to the worker fails (unknown
 * process, full mailbox) → 502; `maxPending` requests already waiting → 503; no `done()` within
 * `requestTimeout` → 504 (the request is marked `timedOut`; a worker that picks it up later
 * skips it when it is a WebWorker). Messages go out with the parent's PID as sender.
 *
 * Terminating the meta answers every waiting request 503. Inspect reports worker, requests,
 * pending, timeouts, send errors and rejections.
 */
export class WebHandler extends MetaBase implements WebRequestWaiter {
  /** The request listener to give to a server or a mux (bound once, usable before spawn: 503). */
  readonly listener: WebRequestListener;
  readonly #worker: SendTarget | undefined;
  readonly #timeout: number;
  readonly #maxPending: number;
  #target: SendTarget | undefined;
  #live = false;
  #pending = new Ring<MessageWebRequest>(1, 64);
  #inFlight = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #requests = 0;
  #timeouts = 0;
  #sendErrors = 0;
  #rejected = 0;

  /** ErrIncorrect for a non-positive `requestTimeout` or `maxPending`. Spawn it with `spawnMeta`. */
  constructor(options: WebHandlerOptions = {}) {
    super();
    const t = options.requestTimeout ?? DEFAULT_WEB_REQUEST_TIMEOUT;
    if (!Number.isFinite(t) || t <= 0) throw ErrIncorrect.with(`requestTimeout ${String(t)} (a positive number of ms)`);
    const p = options.maxPending ?? DEFAULT_WEB_MAX_PENDING;
    if (!Number.isInteger(p) || p < 1) throw ErrIncorrect.with(`maxPending ${String(p)} (a positive integer)`);
    this.#worker = options.worker;
    this.#timeout = t;
    this.#maxPending = p;
    this.listener = (req, res) => this.#serve(req, res);
  }

  override init(meta: MetaProcess): unknown {
    super.init(meta);
    this.#target = this.#worker ?? meta.parent;
    this.#live = true;
    return undefined;
  }

  /** Requests sent to the worker and not finished yet. */
  get pending(): number {
    return this.#inFlight;
  }

  override handleInspect(_from: PID, ..._items: string[]): Record<string, string> {
    return {
      worker: this.#target === undefined ? '' : String(this.#target),
      request_timeout_ms: String(this.#timeout),
      requests: String(this.#requests),
      pending: String(this.#inFlight),
      timeouts: String(this.#timeouts),
      send_errors: String(this.#sendErrors),
      rejected: String(this.#rejected),
    };
  }

  override terminate(_reason: Error): unknown {
    this.#live = false;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    for (let m = this.#pending.shift(); m !== undefined; m = this.#pending.shift()) {
      if (m.finished) continue;
      m.abandon();
      answer(m.response, 503, 'Service Unavailable');
    }
    this.#inFlight = 0;
    return undefined;
  }

  /** From MessageWebRequest.done(): one request less to wait for. */
  requestDone(_m: MessageWebRequest): void {
    this.#inFlight--;
    // Finished requests leave the ring lazily (at the head), so the ring stays a FIFO.
    const ring = this.#pending;
    while (ring.length > 0 && ring.peek().finished) ring.drop();
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    // The worker may write after this handler answered 503/504 (a response still queued behind a
    // pipelined one is ended but not finished): Node then emits 'write after end' as an 'error'
    // on the response, which without a listener would end the OS process.
    res.on('error', this.#responseError);
    if (!this.#live) {
      answer(res, 503, 'Service Unavailable');
      return;
    }
    if (this.#inFlight >= this.#maxPending) {
      this.#rejected++;
      this.log.warning(
        'web handler: %s; %s %s answered 503',
        ErrWebTooManyRequests.with(`maxPending ${this.#maxPending}`).message,
        req.method ?? '',
        req.url ?? '',
      );
      answer(res, 503, 'Service Unavailable');
      return;
    }
    const m = new MessageWebRequest(req, res, this);
    this.#requests++;
    try {
      this.meta.send(this.#target!, m);
    } catch (e) {
      m.abandon();
      this.#sendErrors++;
      this.log.error('web handler: unable to send a request to %s: %s', String(this.#target), toError(e).message);
      answer(res, 502, 'Bad Gateway');
      return;
    }
    if (m.finished) return; // answered synchronously (cannot happen with a process, kept safe)
    m.deadline = performance.now() + this.#timeout;
    this.#inFlight++;
    this.#pending.push(m);
    if (this.#timer === null) this.#arm(m.deadline);
  }

  readonly #responseError = (e: Error): void => {
    if (this.#live) this.log.debug('web handler: response: %s', e.message);
  };

  #arm(at: number): void {
    const t = setTimeout(this.#expire, Math.max(1, Math.ceil(at - performance.now())));
    t.unref();
    this.#timer = t;
  }

  readonly #expire = (): void => {
    this.#timer = null;
    const now = performance.now();
    const ring = this.#pending;
    while (ring.length > 0) {
      const m = ring.peek();
      if (m.finished) {
        ring.drop();
        continue;
      }
      if (m.deadline > now) break;
      ring.drop();
      m.abandon();
      m.timedOut = true;
      this.#inFlight--;
      this.#timeouts++;
      answer(m.response, 504, 'Gateway Timeout');
    }
    if (ring.length > 0 && this.#live) this.#arm(ring.peek().deadline);
  };
}

const ignore = (): void => undefined;

/**
 * Writes a short plain-text status answer unless the response already started. Makes sure the
 * response has an 'error' listener first: whoever else still holds it (a late worker) may write
 * after this end, and Node reports that as an 'error' event.
 */
export function answer(res: ServerResponse, status: number, text: string): void {
  if (res.listenerCount('error') === 0) res.on('error', ignore);
  if (res.headersSent || res.writableEnded) {
    if (!res.writableEnded) res.destroy();
    return;
  }
  res.statusCode = status;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}
