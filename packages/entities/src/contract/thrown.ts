// Any value user code may throw (a step, a compensation, an outbox or query handler, a payload's
// getter), made safe to log, journal and answer with. `String(v)` itself throws for
// `Object.create(null)` or an object whose `toString` throws; such a throw inside a rejection
// handler was an unhandled rejection, which ended the node's OS process (issue 71 item 11).

import { ErgoError, boundText, toError } from 'ergo-ts';

/** The code of the error that stands for a thrown value that is not a readable Error. */
export const THROWN_VALUE_CODE = 'ERR_THROWN_VALUE';

/** Text for any thrown value (a log line, an error's detail), bounded by `boundText`; never throws. */
export function describeThrown(v: unknown): string {
  try {
    return boundText(String(v));
  } catch {
    // Object.create(null), a toString or message getter that throws: fall through.
  }
  try {
    return Object.prototype.toString.call(v);
  } catch {
    return `[${typeof v}]`; // a revoked Proxy
  }
}

/**
 * An Error for any thrown value: the value itself when it is an Error whose name, message and
 * text can be read; otherwise an ErgoError `ERR_THROWN_VALUE` describing it (the value its
 * `cause`), the same one `toError` of ergo-ts makes for a non-error. Never throws.
 */
export function thrownError(v: unknown): Error {
  try {
    if (!(v instanceof Error)) return toError(v);
    const { name, message, code: _code } = v as Error & { code?: unknown }; // each a getter that may throw
    if (typeof name === 'string' && typeof message === 'string' && typeof String(v) === 'string') return v;
  } catch {
    // An Error whose name, message or toString throws, or a Proxy that refuses instanceof.
  }
  return new ErgoError(THROWN_VALUE_CODE, `an error that cannot be read was thrown: ${describeThrown(v)}`, {
    cause: v,
  });
}

/** `JSON.stringify(v)` for an error's detail (a name a caller gave); never throws (a BigInt, a cycle). */
export function quoted(v: unknown): string {
  try {
    const s = JSON.stringify(v);
    if (typeof s === 'string') return boundText(s);
  } catch {
    // A BigInt, a cycle, a toJSON that throws.
  }
  return describeThrown(v);
}
