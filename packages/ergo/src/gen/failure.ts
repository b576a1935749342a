// The typed error channel of protocols: a call may declare `errors` (schemas of the expected
// failures it answers with, beside its reply). A typed handler answers one with
// `this.fail(request, error)` and carries on (an Error returned from a handler stops the actor;
// a failure does not). The caller's `call` rejects with a CallFailure holding the value, and
// `tryCall` gives a typed result union: `{ ok: true, value }` or `{ ok: false, error }`, while
// framework errors (`ERR_TIMEOUT`, `ERR_PROTOCOL_VIOLATION`...) still reject. A failure travels as
// an error response: between ergo-ts nodes as its value (the JS-value extension of EDF), to a Go
// caller as the error text.

import type { SendTarget } from './process.js';
import type { CallOptions } from './options.js';
import type { ErrorFor, ReplyFor, RequestFor } from './protocol.js';

/**
 * A failure value as the error text a Go caller (or a log) sees: a string as it is, anything else
 * as JSON (bigints as `12n`, cut after 256 characters), else `String(v)`. Unlike gen/validate's
 * describeValue (a bad argument's kind), it shows the value: the caller needs what failed.
 */
function failureText(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    const s = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
    if (s !== undefined) return s.length > 256 ? `${s.slice(0, 256)}...` : s;
  } catch {
    // A cyclic value: fall back to its type.
  }
  return String(v);
}

/**
 * An expected, typed failure a call answered with (declared in the call's `errors`). A typed
 * handler makes one with `this.fail(request, error)`; a caller's `call` rejects with it. It is
 * not a framework error: it has no `ERR_*` code, and `error` holds the value the handler gave.
 */
export class CallFailure<E = unknown> extends Error {
  /** The failure value the handler answered with (typed by the call's `errors`). */
  readonly error: E;
  constructor(error: E) {
    super(`call failed: ${failureText(error)}`);
    this.name = 'CallFailure';
    this.error = error;
  }
}

/** What `tryCall` resolves to: the reply, or the typed failure the handler answered with. */
export type CallOutcome<Reply, Err> =
  { readonly ok: true; readonly value: Reply } | { readonly ok: false; readonly error: Err };

/** Anything that makes calls: a Node, a Process, an actor (`this`). */
export interface Caller {
  call(to: SendTarget, request: unknown, options?: CallOptions): Promise<unknown>;
}

/**
 * Makes `via.call(to, request, options)` and gives its outcome typed: the reply (`ok: true`) or
 * the failure the handler answered with (`ok: false`, typed by the call's `errors`). Framework
 * errors (timeouts, `ERR_PROTOCOL_VIOLATION`, an unknown process...) still reject, so expected
 * failures and broken calls stay apart.
 *
 * @example
 * const r = await tryCall(node, bank, { withdraw: 5 });
 * if (!r.ok && r.error.kind === 'insufficient') console.log('balance', r.error.balance);
 */
export function tryCall<T extends SendTarget, const R extends RequestFor<T>>(
  via: Caller,
  to: T,
  request: R,
  options?: CallOptions,
): Promise<CallOutcome<ReplyFor<T, R>, ErrorFor<T, R>>> {
  return via.call(to, request, options).then(
    (value) => ({ ok: true as const, value: value as ReplyFor<T, R> }),
    (e: unknown) => {
      if (e instanceof CallFailure) return { ok: false as const, error: e.error as ErrorFor<T, R> };
      throw e;
    },
  );
}
