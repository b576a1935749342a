// JS values: the ergo-ts extension of EDF used only on connections whose peer announced it in
// its handshake flags (both ends are ergo-ts). Go's type model has no plain object, `undefined`,
// arbitrary bigint, Set or invalid Date, so the Go mapping turns them into maps, nil or errors;
// between two ergo-ts nodes these tags carry them as they were sent. The tags sit in a range
// EDF 3.2 does not use (0xe0..0xe6); an encoder writes them only when its `jsValues` is on, and
// every decoder reads them, so a Go peer never sees one and an ergo-ts peer accepts both forms.

import { CallFailure } from '../../gen/failure.js';
import { atPath, EdfError, fieldSegment } from './errors.js';
import type { EdfDecoder } from './decoder.js';
import type { EdfEncoder } from './encoder.js';
import { JsTag } from './tags.js';

export { JsTag };

/** The typed arrays the `TypedArray` tag carries, by kind (Uint8Array stays an EDF binary). */
export const TYPED_ARRAYS = [
  Int8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
] as const;
const typedKind = new Map<unknown, number>(TYPED_ARRAYS.map((c, i) => [c, i]));
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * @internal Thrown by a slice encoder in JS-value mode at a hole of array `array`: the encoder
 * that began that array rewinds and writes it with the `Sparse` tag.
 */
export class SparseHole extends EdfError {
  constructor(readonly array: unknown) {
    super('ERR_EDF_ENCODE', 'array with holes');
  }
}

/** @internal Writes a typed array (not Uint8Array) with the `TypedArray` tag; false if `v` is none. */
export function encodeJsTypedArray(e: EdfEncoder, v: object): boolean {
  const kind = typedKind.get(v.constructor);
  if (kind === undefined) return false;
  if (!littleEndian) throw new EdfError('ERR_EDF_ENCODE', 'typed arrays need a little-endian host');
  const a = v as ArrayBufferView;
  if (a.byteLength > e.limits.maxBinaryBytes)
    throw new EdfError('ERR_EDF_BINARY_TOO_LONG', `typed array of ${a.byteLength} bytes exceeds maxBinaryBytes`);
  e.u8(JsTag.TypedArray);
  e.u8(kind);
  e.u32(a.byteLength);
  e.bytes(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return true;
}

/** @internal Writes an array with holes with the `Sparse` tag (own indexes only). */
export function encodeJsSparse(e: EdfEncoder, a: readonly unknown[]): void {
  e.u8(JsTag.Sparse);
  e.u32(a.length);
  const at = e.pos;
  e.u32(0);
  let count = 0;
  for (const k in a) {
    const i = Number(k);
    if (!Number.isInteger(i) || i < 0 || String(i) !== k) continue;
    e.u32(i);
    try {
      e.tagged(a[i]);
    } catch (err) {
      throw atPath(err, `[${i}]`);
    }
    count++;
  }
  const b = e.buf;
  b[at] = count >>> 24;
  b[at + 1] = count >>> 16;
  b[at + 2] = count >>> 8;
  b[at + 3] = count;
}

/** @internal Writes a CallFailure with the `Failure` tag. */
export function encodeJsFailure(e: EdfEncoder, f: CallFailure): void {
  e.u8(JsTag.Failure);
  try {
    e.tagged(f.error);
  } catch (err) {
    throw atPath(err, '.error');
  }
}

/** Longest string (UTF-16 units) that always fits an EDF string body (3 bytes per unit at most). */
export const SHORT_STRING_UNITS = 21845;
/** Largest bigint magnitude in bytes (a decoder refuses more: parsing is not linear). */
export const MAX_BIGINT_BYTES = 65536;

/**
 * @internal Writes `v` with a JS-value tag if it is a plain or null-prototype object, a Set or a
 * Date; returns false (nothing written) for anything else.
 */
export function encodeJsObject(e: EdfEncoder, v: object): boolean {
  if (v instanceof Date) {
    e.u8(JsTag.Date);
    e.f64(v.getTime());
    return true;
  }
  if (v instanceof CallFailure) {
    encodeJsFailure(e, v);
    return true;
  }
  if (v instanceof Set) {
    e.u8(JsTag.Set);
    e.u32(v.size);
    let i = 0;
    try {
      for (const x of v) {
        e.tagged(x);
        i++;
      }
    } catch (err) {
      throw atPath(err, `[${i}]`);
    }
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  e.u8(proto === null ? JsTag.NullObject : JsTag.Object);
  e.u32(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    try {
      e.str(k);
      e.tagged(o[k]);
    } catch (err) {
      throw atPath(err, fieldSegment(k));
    }
  }
  return true;
}

/** @internal Writes a bigint of any size. @throws EdfError `ERR_EDF_RANGE` beyond MAX_BIGINT_BYTES. */
export function encodeJsBigInt(e: EdfEncoder, v: bigint): void {
  const neg = v < 0n;
  let hex = (neg ? -v : v).toString(16);
  if (hex.length & 1) hex = '0' + hex;
  const n = hex.length >>> 1;
  if (n > MAX_BIGINT_BYTES) throw new EdfError('ERR_EDF_RANGE', `bigint of ${n} bytes exceeds ${MAX_BIGINT_BYTES}`);
  e.u8(JsTag.BigInt);
  e.u8(neg ? 1 : 0);
  e.u32(n);
  e.ensure(n);
  const b = e.buf;
  let p = e.pos;
  for (let i = 0; i < hex.length; i += 2) b[p++] = parseInt(hex.slice(i, i + 2), 16);
  e.pos = p;
}

/** @internal Writes a string too long for an EDF string body (`u32` length). */
export function encodeJsLongString(e: EdfEncoder, s: string): void {
  e.u8(JsTag.String);
  const start = e.pos;
  e.ensure(4);
  e.pos = start + 4;
  const n = e.utf8(s);
  const b = e.buf;
  b[start] = n >>> 24;
  b[start + 1] = n >>> 16;
  b[start + 2] = n >>> 8;
  b[start + 3] = n;
}

function enter(d: EdfDecoder): void {
  if (++d.depth > d.limits.maxDepth)
    throw d.fail('ERR_EDF_TOO_DEEP', `nesting deeper than maxDepth (${d.limits.maxDepth})`);
}

/** @internal Reads the body of JS-value tag `tag` (the tag byte is consumed). */
export function decodeJs(d: EdfDecoder, tag: number): unknown {
  switch (tag) {
    case JsTag.Undefined:
      return undefined;
    case JsTag.Date:
      return new Date(d.f64());
    case JsTag.String: {
      const n = d.u32();
      if (n > d.limits.maxBinaryBytes) {
        d.pos -= 4;
        throw d.fail(
          'ERR_EDF_STRING_TOO_LONG',
          `string of ${n} bytes exceeds maxBinaryBytes (${d.limits.maxBinaryBytes})`,
        );
      }
      return d.utf8(n);
    }
    case JsTag.BigInt: {
      const sign = d.u8();
      if (sign > 1) {
        d.pos--;
        throw d.fail('ERR_EDF_DECODE', `bigint sign byte ${sign}`);
      }
      const n = d.u32();
      if (n > MAX_BIGINT_BYTES) {
        d.pos -= 4;
        throw d.fail('ERR_EDF_DECODE', `bigint of ${n} bytes exceeds ${MAX_BIGINT_BYTES}`);
      }
      d.need(n);
      const b = d.buf;
      let hex = '0x0';
      for (let i = d.pos, end = d.pos + n; i < end; i++) hex += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
      d.pos += n;
      const m = BigInt(hex);
      return sign === 1 ? -m : m;
    }
    case JsTag.Failure: {
      enter(d);
      const f = new CallFailure(d.tagged());
      d.depth--;
      return f;
    }
    case JsTag.TypedArray: {
      const kind = d.u8();
      const C = TYPED_ARRAYS[kind];
      if (C === undefined) {
        d.pos--;
        throw d.fail('ERR_EDF_DECODE', `typed array kind ${kind}`);
      }
      const n = d.u32();
      if (n > d.limits.maxBinaryBytes || n % C.BYTES_PER_ELEMENT !== 0) {
        d.pos -= 4;
        throw d.fail('ERR_EDF_DECODE', `typed array of ${n} bytes (${C.name})`);
      }
      d.need(n);
      // A copy: the input buffer is reused, and the element type needs an aligned offset.
      // (Not `buf.slice`: on a Buffer that is a view of a shared pool, not a copy.)
      const bytes = new Uint8Array(n);
      bytes.set(d.buf.subarray(d.pos, d.pos + n));
      d.pos += n;
      if (!littleEndian) throw d.fail('ERR_EDF_DECODE', 'typed arrays need a little-endian host');
      return new C(bytes.buffer, 0, n / C.BYTES_PER_ELEMENT);
    }
    case JsTag.Sparse: {
      const len = d.u32();
      const n = d.u32();
      d.count(n, 5);
      if (n > len) throw d.fail('ERR_EDF_DECODE', `sparse array of length ${len} with ${n} elements`);
      enter(d);
      const a: unknown[] = new Array<unknown>(len);
      let last = -1;
      for (let i = 0; i < n; i++) {
        const at = d.u32();
        if (at <= last || at >= len) throw d.fail('ERR_EDF_DECODE', `sparse array index ${at} out of order`);
        a[at] = d.tagged();
        last = at;
      }
      d.depth--;
      return a;
    }
    case JsTag.Set: {
      const n = d.u32();
      d.count(n, 1);
      enter(d);
      const s = new Set<unknown>();
      for (let i = 0; i < n; i++) s.add(d.tagged());
      d.depth--;
      return s;
    }
    default: {
      // JsTag.Object or NullObject (the caller only passes JS tags)
      const n = d.u32();
      d.count(n, 3);
      enter(d);
      const o: Record<string, unknown> =
        tag === JsTag.NullObject ? (Object.create(null) as Record<string, unknown>) : {};
      for (let i = 0; i < n; i++) {
        const k = d.str();
        const v = d.tagged();
        // `__proto__` is an own data property on the sender; an assignment would set the prototype.
        if (k === '__proto__')
          Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
        else o[k] = v;
      }
      d.depth--;
      return o;
    }
  }
}
