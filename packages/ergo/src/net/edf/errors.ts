// Errors of the EDF codec. One class with stable codes: encode errors name the path to the
// offending value (`Order.tags[2]`), decode errors name the byte offset where the input went
// wrong. Limit violations carry the name of the limit option they hit. None of these codes is a
// registered sentinel: codec errors are local and never cross the wire as themselves.

import { ErgoError } from '../../gen/errors.js';
import type { EdfLimits } from './limit_options.js';

/**
 * Stable codes of {@link EdfError}.
 *
 * - `ERR_EDF_ENCODE` — a value does not fit the slot's type (wrong JS type, array length, …),
 *   or there is nothing to encode (top-level `null`/`undefined`), or a custom marshaler failed.
 * - `ERR_EDF_RANGE` — a number does not fit the Go type (fraction in an int slot, int8 300, …).
 * - `ERR_EDF_UNREGISTERED` — encode: a class/value with no EDF mapping; decode: a registered
 *   type name this registry does not know (Ergo drops such messages).
 * - `ERR_EDF_DECODE` — malformed input: truncated, unknown tag, bad marker or descriptor.
 * - `ERR_EDF_CACHE` — a cache id that the connection's caches do not hold (or no cache at all),
 *   or a cache map with ids outside the id range of its kind.
 * - `ERR_EDF_REGISTER` — an invalid type registration (bad name, schema, duplicate), or a class
 *   whose instances do not have exactly the fields given to `registerStruct`.
 * - `ERR_EDF_FIELD_MISSING` — encode: a value of a struct registered with `registerStruct` lacks
 *   one of its fields (the path names it, e.g. `Order.note`).
 * - limit codes (`ERR_EDF_MESSAGE_TOO_LARGE`, `ERR_EDF_TOO_DEEP`, `ERR_EDF_ATOM_TOO_LONG`,
 *   `ERR_EDF_STRING_TOO_LONG`, `ERR_EDF_ERROR_TOO_LONG`, `ERR_EDF_BINARY_TOO_LONG`,
 *   `ERR_EDF_ZERO_SIZE_ELEMENTS`, `ERR_EDF_TYPE_NAME_TOO_LONG`, `ERR_EDF_DESCRIPTOR_TOO_LONG`)
 *   — one per limit; {@link EdfError.limit} names the option.
 */
export type EdfErrorCode =
  | 'ERR_EDF_ENCODE'
  | 'ERR_EDF_RANGE'
  | 'ERR_EDF_UNREGISTERED'
  | 'ERR_EDF_DECODE'
  | 'ERR_EDF_CACHE'
  | 'ERR_EDF_REGISTER'
  | 'ERR_EDF_FIELD_MISSING'
  | 'ERR_EDF_MESSAGE_TOO_LARGE'
  | 'ERR_EDF_TOO_DEEP'
  | 'ERR_EDF_ATOM_TOO_LONG'
  | 'ERR_EDF_STRING_TOO_LONG'
  | 'ERR_EDF_ERROR_TOO_LONG'
  | 'ERR_EDF_BINARY_TOO_LONG'
  | 'ERR_EDF_ZERO_SIZE_ELEMENTS'
  | 'ERR_EDF_TYPE_NAME_TOO_LONG'
  | 'ERR_EDF_DESCRIPTOR_TOO_LONG';

/** Which limit option each limit code enforces (protocol maxima have no option). */
const LIMIT_OF: Partial<Record<EdfErrorCode, keyof EdfLimits>> = {
  ERR_EDF_MESSAGE_TOO_LARGE: 'maxMessageSize',
  ERR_EDF_TOO_DEEP: 'maxDepth',
  ERR_EDF_ATOM_TOO_LONG: 'maxAtomBytes',
  ERR_EDF_STRING_TOO_LONG: 'maxStringBytes',
  ERR_EDF_ERROR_TOO_LONG: 'maxErrorBytes',
  ERR_EDF_BINARY_TOO_LONG: 'maxBinaryBytes',
  ERR_EDF_ZERO_SIZE_ELEMENTS: 'maxZeroSizeElements',
};

/**
 * The only error the codec throws. `code` is stable (see {@link EdfErrorCode}); `reason` is the
 * message without location; `path` (encode) names the offending value from the root, e.g.
 * `Order.tags[2]` or `value["k"]`; `offset` (decode) is the byte offset in the input where the
 * problem was found (-1 when not applicable). `cause` holds the original error when a user
 * callback (marshal, unmarshal, create) threw.
 */
export class EdfError extends ErgoError {
  declare readonly code: EdfErrorCode;
  /** The problem, without location. */
  readonly reason: string;
  /** Encode: path from the root to the offending value ('' until known). */
  path = '';
  /** Decode: byte offset of the problem in the input; -1 otherwise. */
  offset = -1;
  /** For limit violations: the {@link EdfLimits} option that was exceeded. */
  readonly limit: keyof EdfLimits | undefined;
  /** @internal Path segments collected while unwinding, innermost first. */
  segments: string[] | undefined;

  constructor(code: EdfErrorCode, reason: string, options?: { cause?: unknown }) {
    super(code, `edf: ${reason}`, options);
    this.reason = reason;
    this.limit = LIMIT_OF[code];
  }

  /** @internal Records one path segment (`.field`, `[3]`, `["key"]`) while unwinding. */
  at(segment: string): this {
    (this.segments ??= []).push(segment);
    return this;
  }

  /** @internal Fixes the path once the error reached the top of an encode. */
  finishEncode(root: string): this {
    let p = root;
    const s = this.segments;
    if (s !== undefined) for (let i = s.length - 1; i >= 0; i--) p += s[i];
    this.segments = undefined;
    this.path = p;
    this.message = `edf: ${this.reason} (at ${p})`;
    return this;
  }

  /** @internal Fixes the byte offset of a decode error. */
  finishDecode(offset: number): this {
    if (this.offset < 0) {
      this.offset = offset;
      this.message = `edf: ${this.reason} (at byte ${offset})`;
    }
    return this;
  }
}
EdfError.prototype.name = 'EdfError';

/** @internal Encode-side path segment for an object field. */
export function fieldSegment(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}

/** @internal Encode-side path segment for a map key or value. */
export function keySegment(key: unknown): string {
  if (typeof key === 'string') return `[${JSON.stringify(key.length > 40 ? key.slice(0, 40) + '…' : key)}]`;
  if (typeof key === 'number' || typeof key === 'bigint' || typeof key === 'boolean') return `[${String(key)}]`;
  if (key !== null && typeof key === 'object' && typeof (key as object).toString === 'function') {
    try {
      return `[${String(key)}]`;
    } catch {
      /* fall through */
    }
  }
  return '[?]';
}

/** @internal Wraps anything a user callback threw into an EdfError of `code`. */
export function wrapForeign(code: EdfErrorCode, what: string, err: unknown): EdfError {
  if (err instanceof EdfError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new EdfError(code, `${what}: ${msg}`, { cause: err });
}

/** @internal Adds one path segment to an error unwinding out of a container. */
export function atPath(err: unknown, segment: string): EdfError {
  const x = err instanceof EdfError ? err : wrapForeign('ERR_EDF_ENCODE', 'failed', err);
  return x.at(segment);
}

/** @internal A short human description of a JS value's kind for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  const t = typeof v;
  if (t === 'string') {
    const s = v as string;
    return `string ${JSON.stringify(s.length > 20 ? s.slice(0, 20) + '…' : s)}`;
  }
  if (t === 'number' || t === 'boolean') return `${t} ${String(v)}`;
  if (t === 'bigint') return `bigint ${String(v)}n`;
  if (t !== 'object') return t;
  const ctor = (v as { constructor?: { name?: string } }).constructor;
  return ctor && typeof ctor.name === 'string' && ctor.name !== '' ? `instance of ${ctor.name}` : 'object';
}
