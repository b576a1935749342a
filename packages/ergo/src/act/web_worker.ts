// WebWorker: an actor that answers HTTP requests. A web handler meta turns each request into a
// MessageWebRequest; the worker dispatches it by method to handleGet/handlePost/... and
// finishes the request (`done()`) when the callback returns or its promise settles. Run it
// behind a Pool to answer several requests at once.

import type { IncomingMessage, ServerResponse } from 'node:http';

import { ErgoError, isNormalReason } from '../gen/errors.js';
import type { MessageEvent } from '../gen/messages.js';
import type { PID } from '../gen/pid.js';
import { ProcessState } from '../gen/priority.js';
import {
  ExitIgnoredUnlessTrapped,
  MailboxKind,
  Stop,
  type InheritedInit,
  type Process,
  type ProcessMailbox,
} from '../gen/process.js';
import type { Ref } from '../gen/ref.js';
import { MessageWebRequest } from '../meta/web_request.js';
import type { HandlerResult } from './actor.js';
import { BehaviorBase } from './base.js';
import { answerInspect, exitReason, finishCall } from './handling.js';
import { isThenable } from '../lib/thenable.js';

/** Messages a web worker handles per scheduling turn before others get theirs. */
export const WEB_WORKER_BATCH = 64;

/**
 * Signature of the per-method callbacks: the sender (the handler meta's parent), Node's request
 * and response, and the message itself (for `timedOut`, `reply`, or to finish it early).
 */
export type WebMethodHandler = (
  from: PID,
  request: IncomingMessage,
  response: ServerResponse,
  message: MessageWebRequest,
) => HandlerResult;

/**
 * Ergo's act.WebWorker. Override the callbacks for the methods you serve; the others answer
 * 501 Not Implemented (as does a method outside the seven).
 *
 * Per request: the callback writes the response; when it returns (or its promise settles) the
 * request is finished for it — an open response is ended — so the handler stops waiting. A
 * callback may also call `message.done()` itself, earlier.
 *
 * Results: nothing carries on; an Error (or `new Stop(reason)`) ends the worker with that reason
 * after the request was finished. Throwing or rejecting answers 500 (when nothing was sent yet)
 * and is a panic: the worker terminates with TerminateReasonPanic and a Pool starts a new one.
 *
 * Other mail goes to the usual callbacks: `handleMessage`, `handleCall`, `handleEvent`,
 * `handleInspect`, and `terminate` at the end. Exit signals always terminate the worker (no
 * trap-exit, no split handling). A web worker cannot be a logger.
 */
export class WebWorker extends BehaviorBase {
  #mb!: ProcessMailbox;

  /**
   * Called with the spawn arguments. Return an Error (or throw) to fail the spawn. This default
   * takes none: override it with the parameters your spawns pass (a subclass that does not is
   * spawned with no arguments; see {@link InheritedInit}).
   */
  init(this: InheritedInit, ..._args: unknown[]): unknown {
    return undefined;
  }

  /** GET (default 501). */
  handleGet(
    _from: PID,
    _request: IncomingMessage,
    response: ServerResponse,
    _message: MessageWebRequest,
  ): HandlerResult {
    notImplemented(response);
  }
  /** POST (default 501). */
  handlePost(
    _from: PID,
    _request: IncomingMessage,
    response: ServerResponse,
    _message: MessageWebRequest,
  ): HandlerResult {
    notImplemented(response);
  }
  /** PUT (default 501). */
  handlePut(
    _from: PID,
    _request: IncomingMessage,
    response: ServerResponse,
    _message: MessageWebRequest,
  ): HandlerResult {
    notImplemented(response);
  }
  /** PATCH (default 501). */
  handlePatch(
    _from: PID,
    _request: IncomingMessage,
    response: ServerResponse,
    _message: MessageWebRequest,
  ): HandlerResult {
    notImplemented(response);
  }
  /** DELETE (default 501). */
  handleDelete(
    _from: PID,
    _request: IncomingMessage,
    response: ServerResponse,
    _message: MessageWebRequest,
  ): HandlerResult {
    notImplemented(response);
  }
  /** HEAD (default 501). */
  handleHead(
    _from: PID,
    _request: IncomingMessage,
    response: ServerResponse,
    _message: MessageWebRequest,
  ): HandlerResult {
    notImplemented(response);
  }
  /** OPTIONS (default 501). */
  handleOptions(
    _from: PID,
    _request: IncomingMessage,
    response: ServerResponse,
    _message: MessageWebRequest,
  ): HandlerResult {
    notImplemented(response);
  }

  /** Any other asynchronous message. */
  handleMessage(from: PID, _message: unknown): HandlerResult {
    this.log.warning('WebWorker.handleMessage: unhandled message from %s', from.toString());
  }
  /** A synchronous request: return the reply, `undefined` to answer later, a Stop or an Error to end. */
  handleCall(from: PID, _ref: Ref, _request: unknown): unknown {
    this.log.warning('WebWorker.handleCall: unhandled request from %s', from.toString());
    return undefined;
  }
  /** An event this worker subscribed to. */
  handleEvent(message: MessageEvent): HandlerResult {
    this.log.warning('WebWorker.handleEvent: unhandled event message %s', message.event.toString());
  }
  /** Answer to `inspect`. */
  handleInspect(_from: PID, ..._items: string[]): Record<string, string> | Promise<Record<string, string>> {
    return {};
  }
  /** Runs once after the worker left the node. */
  terminate(_reason: Error): unknown {
    return undefined;
  }

  // --- ProcessBehavior ------------------------------------------------------------------------

  processInit(process: Process, args: unknown[]): unknown {
    this.bind(process);
    this.#mb = process.mailbox();
    return this.init(...args);
  }

  processTerminate(reason: Error): unknown {
    return this.terminate(reason);
  }

  processRun(): unknown {
    const mb = this.#mb;
    for (let i = 0; i < WEB_WORKER_BATCH; i++) {
      if (!mb.take()) return undefined;
      const kind = mb.kind;
      const from = mb.from as PID;
      const message = mb.message;
      const extra = mb.extra;
      const fromLog = mb.queue === 'log';
      mb.release();
      let r: unknown;
      try {
        r = this.#handle(kind, from, message, extra, fromLog);
      } catch (e) {
        this.#failQueued();
        throw e;
      }
      if (r === undefined || r === null) {
        if (this.process.state() === ProcessState.Zombee) return undefined;
        continue;
      }
      if (isThenable(r)) {
        return Promise.resolve(r).then(
          (v) => {
            if (ends(v)) this.#failQueued();
            return v;
          },
          (e: unknown) => {
            this.#failQueued();
            throw e;
          },
        );
      }
      if (r instanceof Error || r instanceof Stop) {
        if (ends(r)) this.#failQueued();
        return r;
      }
      if (this.process.state() === ProcessState.Zombee) return undefined;
    }
    return undefined;
  }

  /** One mailbox record to its callback; returns what the callback returned. */
  #handle(kind: MailboxKind, from: PID, message: unknown, extra: unknown, fromLog: boolean): unknown {
    let r: unknown;
    switch (kind) {
      case MailboxKind.Regular:
        if (fromLog) return new ErgoError('ERR_NOT_ALLOWED', 'web worker process can not be a logger');
        r = message instanceof MessageWebRequest ? this.#web(from, message) : this.handleMessage(from, message);
        break;
      case MailboxKind.Request: {
        const ref = (Array.isArray(extra) ? extra[0] : extra) as Ref;
        r = this.handleCall(from, ref, message);
        if (isThenable(r)) r = Promise.resolve(r).then((v) => finishCall(this, from, ref, v));
        else r = finishCall(this, from, ref, r);
        break;
      }
      case MailboxKind.Event:
        r = this.handleEvent(message as MessageEvent);
        break;
      case MailboxKind.Exit:
        // Erlang's exit(Pid, normal) does not end a process that does not trap exits
        r = extra === ExitIgnoredUnlessTrapped ? undefined : exitReason(message);
        break;
      case MailboxKind.Inspect:
        r = answerInspect(this, from, extra as Ref, this.handleInspect(from, ...(message as string[])));
        break;
    }
    return r;
  }

  /**
   * The worker is about to end abnormally (a callback threw or rejected, returned an abnormal
   * Error or Stop, or an exit signal came): the requests still queued here would only get 504
   * after `requestTimeout`; they get 503 now. Everything else queued is dropped as the engine
   * would drop it (the calls among it fail, the worker ending abnormally).
   */
  #failQueued(): void {
    const mb = this.#mb;
    while (mb.take()) {
      const m = mb.kind === MailboxKind.Regular ? mb.message : undefined;
      mb.release();
      if (m instanceof MessageWebRequest && !m.finished) m.reply(503, 'Service Unavailable');
    }
  }

  #web(from: PID, m: MessageWebRequest): unknown {
    if (m.finished) return undefined; // timed out while it waited in the mailbox
    let r: HandlerResult;
    try {
      r = this.#dispatch(from, m);
    } catch (e) {
      failed(m);
      throw e;
    }
    if (isThenable(r)) {
      return Promise.resolve(r).then(
        (v) => {
          m.done();
          return v;
        },
        (e: unknown) => {
          failed(m);
          throw e;
        },
      );
    }
    m.done();
    return r;
  }

  #dispatch(from: PID, m: MessageWebRequest): HandlerResult {
    const req = m.request;
    const res = m.response;
    switch (req.method) {
      case 'GET':
        return this.handleGet(from, req, res, m);
      case 'POST':
        return this.handlePost(from, req, res, m);
      case 'PUT':
        return this.handlePut(from, req, res, m);
      case 'PATCH':
        return this.handlePatch(from, req, res, m);
      case 'DELETE':
        return this.handleDelete(from, req, res, m);
      case 'HEAD':
        return this.handleHead(from, req, res, m);
      case 'OPTIONS':
        return this.handleOptions(from, req, res, m);
      case undefined: // a request without a method (Node gives every HTTP request one)
      default:
        notImplemented(res);
        return undefined;
    }
  }
}

/** True for a callback result that ends the worker abnormally (an Error or Stop, not normal/shutdown). */
function ends(r: unknown): boolean {
  if (r instanceof Stop) return !isNormalReason(r.reason);
  return r instanceof Error && !isNormalReason(r);
}

function notImplemented(res: ServerResponse): void {
  if (res.headersSent || res.writableEnded) return;
  res.statusCode = 501;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end('Not Implemented');
}

/** A callback threw: answer 500 if nothing went out yet, else cut the response; finish it. */
function failed(m: MessageWebRequest): void {
  const res = m.response;
  if (!res.headersSent && !res.writableEnded) {
    res.statusCode = 500;
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.end('Internal Server Error');
  } else if (!res.writableEnded) {
    res.destroy();
  }
  m.done();
}
