// What every behaviour does the same way with a mailbox record: finish a call from a handler's
// result, answer an inspect, and turn an untrapped exit signal into a termination reason.

import { ReplyLater } from '../gen/protocol.js';
import { CallFailure } from '../gen/failure.js';
import { ErgoError, ErrNoConnection, ExitReason } from '../gen/errors.js';
import { stackless } from '../lib/stackless.js';
import { isThenable } from '../lib/thenable.js';
import {
  MessageExitAlias,
  MessageExitEvent,
  MessageExitNode,
  MessageExitPID,
  MessageExitProcessID,
} from '../gen/messages.js';
import type { PID } from '../gen/pid.js';
import { Stop } from '../gen/process.js';
import type { Ref } from '../gen/ref.js';

/** The Ref of a request record's `extra` slot (`ref` or `[ref, target]`). */
export function requestRef(extra: unknown): Ref {
  return (Array.isArray(extra) ? extra[0] : extra) as Ref;
}

/** Who can answer a call: a behaviour's bound process operations. */
export interface Responder {
  sendResponse(to: PID, ref: Ref, value: unknown): void;
  sendResponseError(to: PID, ref: Ref, error: Error): void;
}

/**
 * Finishes a call from a handler's (settled) result: `undefined` — answered later; `Stop` —
 * reply if it carries one, then return its reason; a CallFailure — answer the caller with it
 * (an error response) and carry on; another Error — return it (the caller stops);
 * anything else — the reply. Returns the termination reason, or undefined to carry on.
 */
export function finishCall(b: Responder, from: PID, ref: Ref, r: unknown): Error | undefined {
  if (r === undefined || r === ReplyLater) return undefined;
  if (r instanceof Stop) {
    if (r.hasReply) answer(b, from, ref, r.reply);
    return r.reason;
  }
  if (r instanceof Error) {
    // An expected failure (the typed error channel) answers the caller; the handler goes on.
    if (r instanceof CallFailure) {
      b.sendResponseError(from, ref, r);
      return undefined;
    }
    return r;
  }
  b.sendResponse(from, ref, r);
  return undefined;
}

function answer(b: Responder, from: PID, ref: Ref, v: unknown): void {
  if (v instanceof CallFailure) b.sendResponseError(from, ref, v);
  else b.sendResponse(from, ref, v);
}

/** Answers an inspect with a handler's map (or a promise of it). Returns a promise when async. */
export function answerInspect(b: Responder, from: PID, ref: Ref, r: unknown): Promise<undefined> | undefined {
  if (isThenable(r)) {
    return Promise.resolve(r).then((v) => {
      b.sendResponse(from, ref, v ?? {});
      return undefined;
    });
  }
  b.sendResponse(from, ref, r ?? {});
  return undefined;
}

/**
 * The reason an untrapped exit signal terminates a behaviour with: Ergo's `"<source>: <reason>"`.
 * Built without a stack trace (see {@link stackless}): it would show the mailbox loop only.
 */
export function exitReason(message: unknown): Error {
  return stackless(() => exitReasonOf(message));
}

function exitReasonOf(message: unknown): Error {
  if (message instanceof MessageExitPID) return new ExitReason(message.pid, message.reason);
  if (message instanceof MessageExitProcessID) return new ExitReason(message.processID, message.reason);
  if (message instanceof MessageExitAlias) return new ExitReason(message.alias, message.reason);
  if (message instanceof MessageExitEvent) return new ExitReason(message.event, message.reason);
  if (message instanceof MessageExitNode) return new ExitReason(message.name, ErrNoConnection);
  return new ErgoError('ERR_UNKNOWN_EXIT', `unknown exit message ${String(message)}`);
}
