// MessageWebRequest: one HTTP request handed from a web handler meta to a worker process. The
// worker writes the response on `response` and calls `done()` (WebWorker does it for you); the
// handler then stops waiting. A request nobody finishes in time gets 504 from the handler.
// readRequestBody reads a body under a size limit without spoiling the connection it came on.

import type { IncomingMessage, ServerResponse } from 'node:http';

/** Who waits for a request to be finished (the web handler meta). Internal seam. */
export interface WebRequestWaiter {
  /** Called once, by `done()`. */
  requestDone(request: MessageWebRequest): void;
}

/**
 * An HTTP request turned into a message (Ergo's `meta.MessageWebRequest`). Sent by a
 * {@link WebHandler} to its worker; the receiver owns the response until it calls `done()`.
 *
 * Rules: write the status, headers and body on `response`, then call `done()` exactly once
 * (extra calls are ignored). `done()` ends the response if the worker left it open. After the
 * handler's `requestTimeout` the handler answers 504 itself and marks the request `timedOut`;
 * writing afterwards is harmless (the handler listens for the response's 'write after end'
 * error and logs it at debug level) but useless.
 */
export class MessageWebRequest {
  /** The incoming request (method, url, headers; the body is a readable stream). */
  readonly request: IncomingMessage;
  /** Where the answer goes. */
  readonly response: ServerResponse;
  /** Set when `done()` was called or the handler gave up on the request. */
  finished = false;
  /** Set when the handler answered 504 because the worker was too slow. */
  timedOut = false;
  /** Deadline (ms, monotonic clock) after which the handler answers 504. */
  deadline = 0;
  #waiter: WebRequestWaiter | null;

  /** Made by WebHandler per request; `waiter` is told when `done()` is called. */
  constructor(request: IncomingMessage, response: ServerResponse, waiter: WebRequestWaiter | null = null) {
    this.request = request;
    this.response = response;
    this.#waiter = waiter;
  }

  /** HTTP method, upper case ('GET' when Node did not parse one). */
  get method(): string {
    return this.request.method ?? 'GET';
  }

  /** Request target (path and query) as sent by the client. */
  get url(): string {
    return this.request.url ?? '/';
  }

  /**
   * Marks the request as answered: ends the response if it is still open and releases the
   * handler's wait. Idempotent; safe after a timeout.
   */
  done(): void {
    if (this.finished) return;
    this.finished = true;
    const res = this.response;
    if (!res.writableEnded) res.end();
    const w = this.#waiter;
    this.#waiter = null;
    if (w !== null) w.requestDone(this);
  }

  /**
   * Answers with a status and an optional plain-text body, then `done()`. Does nothing when the
   * response was already started (headers sent) except finishing the request.
   */
  reply(status: number, body?: string | Uint8Array, contentType = 'text/plain; charset=utf-8'): void {
    const res = this.response;
    if (!res.headersSent && !res.writableEnded) {
      res.statusCode = status;
      if (body !== undefined) {
        res.setHeader('content-type', contentType);
        res.setHeader('content-length', typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
        res.end(body);
      } else {
        res.end();
      }
    }
    this.done();
  }

  /** Called by the handler when it gives up waiting: no `requestDone` callback afterwards. */
  abandon(): void {
    this.finished = true;
    this.#waiter = null;
  }
}

// Leaving a `for await` over the request early destroys the request and so its socket: the answer
// then goes out as `keep-alive` on a socket that is already gone, and the client's next request on
// it is reset. Over the limit the rest of the body is read and dropped instead, so a 413 is
// answered after the whole request and the connection stays usable (the server's own request
// timeout still bounds a body that never ends).

/**
 * The body of `req` when it is at most `limit` bytes, else null once the whole body has been read
 * (and dropped): answer 413 then, and the connection stays usable for the client's next request.
 * Rejects when the client goes away before the body ends. Call it once per request, before
 * anything else consumes the request stream.
 */
export function readRequestBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] | null = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (chunks === null) return;
      if (size > limit) chunks = null;
      else chunks.push(chunk);
    };
    const onEnd = (): void => {
      off();
      resolve(chunks === null ? null : Buffer.concat(chunks));
    };
    const onAbort = (err?: Error): void => {
      off();
      reject(err ?? new Error('request body aborted'));
    };
    const onClose = (): void => {
      if (!req.complete) onAbort();
    };
    const off = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onClose);
  });
}
