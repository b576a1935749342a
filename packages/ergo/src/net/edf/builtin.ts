// The builtin EDF types: Go's scalars, the framework identifiers (PID, ProcessID, Ref, Alias,
// Event), time, error and `any`. Each body encoder has a fast path for the JS value a user
// normally passes (a number that already fits, a string, a PID instance) and one slow path that
// handles everything else: null/undefined as Go's zero value, bigint, a Typed wrapper of the
// same type, or an error naming what was expected.

import { PID } from '../../gen/pid.js';
import { ProcessID } from '../../gen/processid.js';
import { Alias, Ref } from '../../gen/ref.js';
import { Event } from '../../gen/event.js';
import { EdfError, describe } from './errors.js';
import { Tag } from './tags.js';
import { decodeTime, encodeTime, GoTime } from './time.js';
import { EdfType, Kind, TagForm, Typed, mismatch, unwrapTyped, type BodyDecoder, type BodyEncoder } from './type.js';
import type { EdfDecoder } from './decoder.js';
import type { EdfEncoder } from './encoder.js';

const TWO63 = 2 ** 63;
const TWO64 = 2 ** 64;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

function scalar(
  kind: Kind,
  name: string,
  tag: number,
  minSize: number,
  enc: BodyEncoder,
  dec: BodyDecoder,
  comparable = true,
  nillable = false,
): EdfType {
  return new EdfType({
    kind,
    name,
    tag,
    tagForm: TagForm.Scalar,
    desc: Uint8Array.of(tag),
    hasReg: false,
    minSize,
    nillable,
    comparable,
    enc,
    dec,
  });
}

function rangeError(reason: string): EdfError {
  return new EdfError('ERR_EDF_RANGE', reason);
}

// ---- integers up to 32 bits ----

/** @internal Integer for a slot of type `t` in [min, max] from anything but the fast-path number. */
export function intSlow(t: EdfType, v: unknown, min: number, max: number): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw rangeError(`${t.name} needs an integer, got ${v}`);
    if (v >= min && v <= max) return v;
    throw rangeError(`${v} overflows ${t.name}`);
  }
  if (typeof v === 'bigint') {
    if (v >= BigInt(min) && v <= BigInt(max)) return Number(v);
    throw rangeError(`${v} overflows ${t.name}`);
  }
  if (v instanceof Typed) return intSlow(t, unwrapTyped(t, v), min, max);
  throw mismatch(t, v);
}

const encInt8: BodyEncoder = (e, v) => {
  e.u8((typeof v === 'number' && (v << 24) >> 24 === v ? v : intSlow(INT8, v, -128, 127)) & 0xff);
};
const encInt16: BodyEncoder = (e, v) => {
  e.u16((typeof v === 'number' && (v << 16) >> 16 === v ? v : intSlow(INT16, v, -32768, 32767)) & 0xffff);
};
const encInt32: BodyEncoder = (e, v) => {
  e.i32(typeof v === 'number' && (v | 0) === v ? v : intSlow(INT32, v, -2147483648, 2147483647));
};
const encUint8: BodyEncoder = (e, v) => {
  e.u8(typeof v === 'number' && (v & 0xff) === v ? v : intSlow(UINT8, v, 0, 255));
};
const encUint16: BodyEncoder = (e, v) => {
  e.u16(typeof v === 'number' && (v & 0xffff) === v ? v : intSlow(UINT16, v, 0, 65535));
};
const encUint32: BodyEncoder = (e, v) => {
  e.u32(typeof v === 'number' && v >>> 0 === v ? v : intSlow(UINT32, v, 0, 4294967295));
};

// ---- 64-bit integers ----

function enc64Slow(e: EdfEncoder, t: EdfType, v: unknown, signed: boolean): void {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw rangeError(`${t.name} needs an integer, got ${v}`);
    if (signed ? v >= -TWO63 && v < TWO63 : v >= 0 && v < TWO64) {
      if (signed) e.i64n(v);
      else e.u64n(v);
      return;
    }
    throw rangeError(`${v} overflows ${t.name}`);
  }
  if (typeof v === 'bigint') {
    if (signed ? v >= I64_MIN && v <= I64_MAX : v >= 0n && v <= U64_MAX) {
      e.b64(v, signed);
      return;
    }
    throw rangeError(`${v}n overflows ${t.name}`);
  }
  if (v === undefined || v === null) {
    e.i64n(0);
    return;
  }
  if (v instanceof Typed) return enc64Slow(e, t, unwrapTyped(t, v), signed);
  throw mismatch(t, v);
}

function signed64(t: () => EdfType): BodyEncoder {
  return (e, v) => {
    if (typeof v === 'number' && Number.isSafeInteger(v)) e.i64n(v);
    else enc64Slow(e, t(), v, true);
  };
}

function unsigned64(t: () => EdfType): BodyEncoder {
  return (e, v) => {
    if (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) e.u64n(v);
    else enc64Slow(e, t(), v, false);
  };
}

// ---- floats, bool, strings, binary ----

function floatSlow(t: EdfType, v: unknown): number {
  if (v === undefined || v === null) return 0;
  if (v instanceof Typed) {
    const u = unwrapTyped(t, v);
    return typeof u === 'number' ? u : floatSlow(t, u);
  }
  throw mismatch(t, v);
}

const encFloat32: BodyEncoder = (e, v) => e.f32(typeof v === 'number' ? v : floatSlow(FLOAT32, v));
const encFloat64: BodyEncoder = (e, v) => e.f64(typeof v === 'number' ? v : floatSlow(FLOAT64, v));

function boolSlow(v: unknown): number {
  if (v === undefined || v === null || v === false) return 0;
  if (v === true) return 1;
  if (v instanceof Typed) return boolSlow(unwrapTyped(BOOL, v));
  throw mismatch(BOOL, v);
}
const encBool: BodyEncoder = (e, v) => e.u8(v === true ? 1 : v === false ? 0 : boolSlow(v));

/** @internal String for a string-kinded slot from anything but a string. */
export function stringSlow(t: EdfType, v: unknown): string {
  if (v === undefined || v === null) return '';
  if (v instanceof Typed) {
    const u = unwrapTyped(t, v);
    if (typeof u === 'string') return u;
    return stringSlow(t, u);
  }
  throw mismatch(t, v);
}
const encString: BodyEncoder = (e, v) => e.str(typeof v === 'string' ? v : stringSlow(STRING, v));
const encAtom: BodyEncoder = (e, v) => e.atom(typeof v === 'string' ? v : stringSlow(ATOM, v));

const EMPTY_BYTES = new Uint8Array(0);
function binarySlow(v: unknown): Uint8Array {
  if (v === undefined || v === null) return EMPTY_BYTES;
  if (v instanceof Typed) {
    const u = unwrapTyped(BINARY, v);
    return u instanceof Uint8Array ? u : binarySlow(u);
  }
  throw mismatch(BINARY, v);
}
const encBinary: BodyEncoder = (e, v) => e.binary(v instanceof Uint8Array ? v : binarySlow(v));

// ---- identifiers ----

function u64Field(e: EdfEncoder, v: unknown, what: string): void {
  if (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) e.u64n(v);
  else if (typeof v === 'bigint' && v >= 0n && v <= U64_MAX) e.b64(v, false);
  else if (v === undefined || v === null) e.u64n(0);
  else throw rangeError(`${what} must be an integer in 0..2^64-1, got ${describe(v)}`);
}

function i64Field(e: EdfEncoder, v: unknown, what: string): void {
  if (typeof v === 'number' && Number.isSafeInteger(v)) e.i64n(v);
  else if (typeof v === 'bigint' && v >= I64_MIN && v <= I64_MAX) e.b64(v, true);
  else if (v === undefined || v === null) e.i64n(0);
  else throw rangeError(`${what} must be an int64, got ${describe(v)}`);
}

function atomField(e: EdfEncoder, v: unknown, what: string): void {
  if (typeof v === 'string') e.atom(v);
  else if (v === undefined || v === null) e.atom('');
  else throw new EdfError('ERR_EDF_ENCODE', `${what} must be a string, got ${describe(v)}`);
}

/** Identifier-like slot: instance, Typed of the same type, duck-typed object, or nil → zero. */
function identSlow(t: EdfType, v: unknown, zero: object, keys: readonly string[]): Record<string, unknown> {
  if (v === undefined || v === null) return zero as Record<string, unknown>;
  if (v instanceof Typed) return identSlow(t, unwrapTyped(t, v), zero, keys);
  if (typeof v === 'object' && keys.every((k) => k in (v as object))) return v as Record<string, unknown>;
  throw mismatch(t, v);
}

const ZERO_PID = new PID('', 0, 0);
const ZERO_REF = { node: '', creation: 0, id: [0, 0, 0] };
const ZERO_NAMED = { node: '', name: '' };

const encPID: BodyEncoder = (e, v) => {
  const p = (v instanceof PID ? v : identSlow(PID_T, v, ZERO_PID, ['node', 'id', 'creation'])) as Record<
    string,
    unknown
  >;
  atomField(e, p.node, 'PID node');
  u64Field(e, p.id, 'PID id');
  i64Field(e, p.creation, 'PID creation');
};

const encProcessID: BodyEncoder = (e, v) => {
  const p = (v instanceof ProcessID ? v : identSlow(PROCESSID_T, v, ZERO_NAMED, ['name'])) as Record<string, unknown>;
  atomField(e, p.node, 'ProcessID node');
  atomField(e, p.name, 'ProcessID name');
};

const encEvent: BodyEncoder = (e, v) => {
  const p = (v instanceof Event ? v : identSlow(EVENT_T, v, ZERO_NAMED, ['name', 'node'])) as Record<string, unknown>;
  atomField(e, p.node, 'Event node');
  atomField(e, p.name, 'Event name');
};

function encRefLike(t: () => EdfType, cls: typeof Ref | typeof Alias, what: string): BodyEncoder {
  return (e, v) => {
    const r = (v instanceof cls ? v : identSlow(t(), v, ZERO_REF, ['node', 'creation', 'id'])) as Record<
      string,
      unknown
    >;
    atomField(e, r.node, `${what} node`);
    i64Field(e, r.creation, `${what} creation`);
    const id = r.id as ArrayLike<unknown> | undefined;
    if (id === undefined || id === null || typeof id !== 'object' || id.length !== 3) {
      throw new EdfError('ERR_EDF_ENCODE', `${what} id must be an array of 3 integers, got ${describe(id)}`);
    }
    u64Field(e, id[0], `${what} id[0]`);
    u64Field(e, id[1], `${what} id[1]`);
    u64Field(e, id[2], `${what} id[2]`);
  };
}

function safeId(d: EdfDecoder, v: number | bigint, what: string): number {
  if (typeof v === 'number') return v;
  d.pos -= 8;
  throw d.fail('ERR_EDF_DECODE', `${what} ${v} exceeds 2^53 (not representable)`);
}

const decPID: BodyDecoder = (d) => {
  const node = d.atom();
  const id = safeId(d, d.u64(), 'PID id');
  const creation = safeId(d, d.i64(), 'PID creation');
  return new PID(node, id, creation);
};

const decProcessID: BodyDecoder = (d) => {
  const node = d.atom();
  return new ProcessID(d.atom(), node);
};

const decEvent: BodyDecoder = (d) => {
  const node = d.atom();
  return new Event(d.atom(), node);
};

function decRefLike(cls: typeof Ref | typeof Alias, what: string): BodyDecoder {
  return (d) => {
    const node = d.atom();
    const creation = safeId(d, d.i64(), `${what} creation`);
    const a = safeId(d, d.u64(), `${what} id[0]`);
    const b = safeId(d, d.u64(), `${what} id[1]`);
    const c = safeId(d, d.u64(), `${what} id[2]`);
    return new cls(node, creation, [a, b, c]);
  };
}

const encTime: BodyEncoder = (e, v) => {
  if (v instanceof Typed) v = unwrapTyped(TIME, v);
  encodeTime(e, v);
};

// ---- the types ----

/** Go `bool`. Encodes booleans (nil → false); decodes `0x01` as true, any other byte as false. */
export const BOOL = scalar(Kind.Bool, 'bool', Tag.Bool, 1, encBool, (d) => d.u8() === 1);
/** Go `int8`: integers in -128..127 (number or bigint). */
export const INT8 = scalar(Kind.Int8, 'int8', Tag.Int8, 1, encInt8, (d) => d.i8());
/** Go `int16`. */
export const INT16 = scalar(Kind.Int16, 'int16', Tag.Int16, 2, encInt16, (d) => d.i16());
/** Go `int32`. */
export const INT32 = scalar(Kind.Int32, 'int32', Tag.Int32, 4, encInt32, (d) => d.i32());
/** Go `int64`. Decodes to a number when safe, else a bigint. */
export const INT64: EdfType = scalar(
  Kind.Int64,
  'int64',
  Tag.Int64,
  8,
  signed64(() => INT64),
  (d) => d.i64(),
);
/** Go `int` (8 bytes on the wire). Decodes to a number when safe, else a bigint. */
export const INT: EdfType = scalar(
  Kind.Int,
  'int',
  Tag.Int,
  8,
  signed64(() => INT),
  (d) => d.i64(),
);
/** Go `uint8` (= `byte`). */
export const UINT8 = scalar(Kind.Uint8, 'uint8', Tag.Uint8, 1, encUint8, (d) => d.u8());
/** Go `uint16`. */
export const UINT16 = scalar(Kind.Uint16, 'uint16', Tag.Uint16, 2, encUint16, (d) => d.u16());
/** Go `uint32`. */
export const UINT32 = scalar(Kind.Uint32, 'uint32', Tag.Uint32, 4, encUint32, (d) => d.u32());
/** Go `uint64`. Decodes to a number when safe, else a bigint. */
export const UINT64: EdfType = scalar(
  Kind.Uint64,
  'uint64',
  Tag.Uint64,
  8,
  unsigned64(() => UINT64),
  (d) => d.u64(),
);
/** Go `uint` (8 bytes on the wire). */
export const UINT: EdfType = scalar(
  Kind.Uint,
  'uint',
  Tag.Uint,
  8,
  unsigned64(() => UINT),
  (d) => d.u64(),
);
/** Go `float32` (numbers are rounded to single precision). */
export const FLOAT32 = scalar(Kind.Float32, 'float32', Tag.Float32, 4, encFloat32, (d) => d.f32());
/** Go `float64`. NaN is written with Go's bit pattern `7ff8000000000001`. */
export const FLOAT64 = scalar(Kind.Float64, 'float64', Tag.Float64, 8, encFloat64, (d) => d.f64());
/** Go `string` (at most 65535 UTF-8 bytes). */
export const STRING = scalar(Kind.String, 'string', Tag.String, 2, encString, (d) => d.str());
/** Go `[]byte`: Uint8Array (nil → empty). Decodes to a fresh Uint8Array. */
export const BINARY = scalar(Kind.Binary, '[]byte', Tag.Binary, 4, encBinary, (d) => d.binary(), false);
/** `gen.Atom`: a string of at most 255 bytes; subject to the atom cache and mapping. */
export const ATOM = scalar(Kind.Atom, 'gen.Atom', Tag.Atom, 2, encAtom, (d) => d.atom());
/** Go `error`: an Error (only its text travels) or nil. Registered texts decode to their sentinel. */
export const ERROR = scalar(
  Kind.Error,
  'error',
  Tag.Error,
  2,
  (e, v) => e.errBody(v),
  (d) => d.errBody(),
  true,
  true,
);
/** `gen.PID`. */
export const PID_T = scalar(Kind.PID, 'gen.PID', Tag.PID, 18, encPID, decPID);
/** `gen.ProcessID` (node before name on the wire). */
export const PROCESSID_T = scalar(Kind.ProcessID, 'gen.ProcessID', Tag.ProcessID, 4, encProcessID, decProcessID);
/** `gen.Ref` (creation before the ids on the wire). */
export const REF_T: EdfType = scalar(
  Kind.Ref,
  'gen.Ref',
  Tag.Ref,
  34,
  encRefLike(() => REF_T, Ref, 'Ref'),
  decRefLike(Ref, 'Ref'),
);
/** `gen.Alias`. */
export const ALIAS_T: EdfType = scalar(
  Kind.Alias,
  'gen.Alias',
  Tag.Alias,
  34,
  encRefLike(() => ALIAS_T, Alias, 'Alias'),
  decRefLike(Alias, 'Alias'),
);
/** `gen.Event` (node before name on the wire). */
export const EVENT_T = scalar(Kind.Event, 'gen.Event', Tag.Event, 4, encEvent, decEvent);
/** `time.Time`: Date or GoTime (nil → Go's zero time). Decodes to Date (GoTime in exact mode). */
export const TIME = scalar(Kind.Time, 'time.Time', Tag.Time, 16, encTime, decodeTime);
/** `any`: every value is written tagged; nil → `0xff`. */
export const ANY = new EdfType({
  kind: Kind.Any,
  name: 'any',
  tag: Tag.Any,
  tagForm: TagForm.Scalar,
  desc: Uint8Array.of(Tag.Any),
  hasReg: false,
  minSize: 1,
  nillable: true,
  comparable: true,
  enc: (e, v) => e.tagged(v),
  dec: (d) => d.tagged(),
});

/** @internal Builtin scalar types by tag byte (for descriptors). */
export const SCALAR_BY_TAG: readonly (EdfType | undefined)[] = (() => {
  const t: (EdfType | undefined)[] = new Array(256).fill(undefined);
  for (const x of [BOOL, INT8, INT16, INT32, INT64, INT, UINT8, UINT16, UINT32, UINT64, UINT, FLOAT32, FLOAT64, STRING])
    t[x.tag] = x;
  for (const x of [BINARY, ATOM, ERROR, PID_T, PROCESSID_T, REF_T, ALIAS_T, EVENT_T, TIME, ANY]) t[x.tag] = x;
  return t;
})();

export { GoTime };
