// The codec of tab frames, on Uint8Array, DataView and TextEncoder only, so the same file runs in
// a page, a Web Worker and Node (ergo-ts/net's EDF codec is written on Node's Buffer and is not in
// the browser bundle). Its bytes are EDF (WIRE.md §1) as an ergo-ts node writes it to an ergo-ts
// peer (the JS-value extension on, no caches): an EDF decoder reads every frame this writes, and
// this reads what ergo-ts' EDF encoder writes for the same kinds of value. Both ends of every tab
// link (the tab, the gateway, the relays of other server nodes) use this one codec, so a value a
// tab could not read is refused where it is sent, with a coded error naming its path.
//
// Kinds carried: null, undefined, booleans, numbers, bigints, strings, Uint8Array (binary),
// arrays, Maps, plain objects, Sets, Dates, Errors (their text), CallFailure, and the framework
// identifiers PID, ProcessID, Ref, Alias, Event. Not carried: registered EDF types, Typed
// wrappers, typed arrays other than Uint8Array, class instances (a tab has no type registry).

import {
  Alias,
  CallFailure,
  defineError,
  EdfJsTag,
  EdfTag,
  ErgoError,
  Event,
  PID,
  ProcessID,
  Ref,
  registeredSentinels,
  sentinelByCode,
} from 'ergo-ts';

import { eventOf, knownName, learnName } from './wire_names.js';

/** A value a tab frame cannot carry (its message names the path), or bytes that are no frame. */
export const ErrTabValue = defineError('ERR_TAB_VALUE', 'value a tab frame cannot carry');

// EDF's tags, from the core's browser-safe export (ergo-ts/net, which has them too, is Node's).
const T = EdfTag;
const J = EdfJsTag;

// The descriptor blocks of []any and map[any]any.
const SLICE_ANY = [T.Type, 0, 2, T.Slice, T.Any];
const MAP_ANY = [T.Type, 0, 3, T.Map, T.Any, T.Any];
/** Bytes before an array's first element: its descriptor block, the slice marker, the length. */
export const SLICE_HEAD_BYTES = SLICE_ANY.length + 5;

/** Longest string (UTF-16 units) sure to fit an EDF string's u16 byte length. */
const SHORT_STRING_UNITS = 21845;
/** Deepest nesting either side accepts (a cyclic value is refused by it). */
const MAX_DEPTH = 64;
const TWO32 = 2 ** 32;

const utf8 = new TextEncoder();
// ignoreBOM: a string that starts with U+FEFF keeps it (by default the decoder drops it as a
// byte-order mark, and EDF keeps it).
const utf8in = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strings up to this many units are tried as ASCII by hand: TextEncoder costs more per call. */
const SHORT_ASCII = 64;
/** Strings up to this many bytes are decoded by hand when ASCII: TextDecoder costs more per call. */
const SHORT_TEXT = 16;

/** Writes `s` at `at` if it is all ASCII and answers its length; -1 (nothing counted) if not. */
function ascii(s: string, buf: Uint8Array, at: number): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return -1;
    buf[at + i] = c;
  }
  return s.length;
}

class Writer {
  buf = new Uint8Array(256);
  dv = new DataView(this.buf.buffer);
  pos = 0;
  depth = 0;

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
    this.dv = new DataView(b.buffer);
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  u16(v: number): void {
    this.ensure(2);
    this.dv.setUint16(this.pos, v);
    this.pos += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.dv.setUint32(this.pos, v);
    this.pos += 4;
  }
  raw(b: ArrayLike<number>): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** UTF-8 of `s` after a length of `lenBytes` (2 or 4); `max`: most bytes allowed. */
  text(s: string, lenBytes: 2 | 4, max: number, what: string): void {
    this.ensure(lenBytes + s.length * 3);
    const at = this.pos;
    const written = s.length <= SHORT_ASCII ? ascii(s, this.buf, at + lenBytes) : -1;
    if (written < 0) return this.#utf8(s, at, lenBytes, max, what);
    if (lenBytes === 2) this.dv.setUint16(at, written);
    else this.dv.setUint32(at, written);
    this.pos = at + lenBytes + written;
  }
  #utf8(s: string, at: number, lenBytes: 2 | 4, max: number, what: string): void {
    const { written } = utf8.encodeInto(s, this.buf.subarray(at + lenBytes));
    if (written > max) throw refuse(`${what} of ${written} bytes (at most ${max})`);
    if (lenBytes === 2) this.dv.setUint16(at, written);
    else this.dv.setUint32(at, written);
    this.pos = at + lenBytes + written;
  }
  /** A safe integer as int64 (two's complement, big-endian). */
  i64(v: number): void {
    this.ensure(8);
    const hi = Math.floor(v / TWO32);
    this.dv.setInt32(this.pos, hi);
    this.dv.setUint32(this.pos + 4, v - hi * TWO32);
    this.pos += 8;
  }
  f64(v: number): void {
    this.ensure(8);
    if (v !== v) {
      // Go's math.NaN() bit pattern, as the EDF encoder writes it.
      this.dv.setUint32(this.pos, 0x7ff80000);
      this.dv.setUint32(this.pos + 4, 1);
    } else this.dv.setFloat64(this.pos, v);
    this.pos += 8;
  }
  atom(s: unknown, what: string): void {
    if (typeof s !== 'string') throw refuse(`${what} is not a string`);
    this.text(s, 2, 255, what);
  }
  /** An unsigned integer field of a framework identifier (u64). */
  id(v: unknown, what: string): void {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
      throw refuse(`${what} is not a non-negative integer`);
    this.i64(v);
  }
}

/** A refusal on its way out of a nested value: collects the path, then becomes ErrTabValue. */
class Refused extends Error {
  path = '';
}

function refuse(detail: string): Refused {
  return new Refused(detail);
}

function at(e: unknown, seg: string): unknown {
  if (e instanceof Refused) e.path = seg + e.path;
  return e;
}

function errorText(e: Error): string {
  // A sentinel's variant (`ErrTimeout.with(...)`) travels as the sentinel's text, as EDF does.
  if (e instanceof ErgoError) {
    const s = sentinelByCode(e.code);
    if (s !== undefined) return s.message;
  }
  return typeof e.message === 'string' ? e.message : String(e.message);
}

function tagged(w: Writer, v: unknown): void {
  switch (typeof v) {
    case 'string':
      if (v.length > SHORT_STRING_UNITS) {
        w.u8(J.String);
        w.text(v, 4, 0xffffffff, 'string');
      } else {
        w.u8(T.String);
        w.text(v, 2, 0xffff, 'string');
      }
      return;
    case 'number':
      if (Number.isSafeInteger(v) && (v !== 0 || 1 / v > 0)) {
        w.u8(T.Int64);
        w.i64(v);
      } else {
        w.u8(T.Float64);
        w.f64(v);
      }
      return;
    case 'boolean':
      w.u8(T.Bool);
      w.u8(v ? 1 : 0);
      return;
    case 'undefined':
      w.u8(J.Undefined);
      return;
    case 'bigint': {
      const neg = v < 0n;
      const m = neg ? -v : v;
      w.u8(J.BigInt);
      w.u8(neg ? 1 : 0);
      if (m < 1n << 64n) {
        // The common size (timestamps): eight bytes, leading zeros dropped as EDF does.
        w.ensure(12);
        w.dv.setBigUint64(w.pos + 4, m);
        let skip = 0;
        while (skip < 7 && w.buf[w.pos + 4 + skip] === 0) skip++;
        w.u32(8 - skip);
        w.buf.copyWithin(w.pos, w.pos + skip, w.pos + 8);
        w.pos += 8 - skip;
        return;
      }
      let hex = m.toString(16);
      if (hex.length & 1) hex = '0' + hex;
      w.u32(hex.length >>> 1);
      for (let i = 0; i < hex.length; i += 2) w.u8(parseInt(hex.slice(i, i + 2), 16));
      return;
    }
    case 'object':
      if (v === null) w.u8(T.Nil);
      else {
        if (++w.depth > MAX_DEPTH) throw refuse(`nesting deeper than ${MAX_DEPTH} (a cyclic value?)`);
        object(w, v);
        w.depth--;
      }
      return;
    case 'function':
    case 'symbol':
      throw refuse(`a ${typeof v} cannot be sent`);
  }
}

function object(w: Writer, v: object): void {
  if (v instanceof PID) {
    w.u8(T.PID);
    w.atom(v.node, 'PID node');
    w.id(v.id, 'PID id');
    w.i64(v.creation);
  } else if (v instanceof ProcessID) {
    w.u8(T.ProcessID);
    w.atom(v.node, 'ProcessID node');
    w.atom(v.name, 'ProcessID name');
  } else if (v instanceof Event) {
    w.u8(T.Event);
    w.atom(v.node, 'Event node');
    w.atom(v.name, 'Event name');
  } else if (v instanceof Ref || v instanceof Alias) {
    w.u8(v instanceof Alias ? T.Alias : T.Ref);
    w.atom(v.node, 'Ref node');
    w.i64(v.creation);
    for (const x of v.id) w.id(x, 'Ref id');
  } else if (v instanceof Uint8Array) {
    w.u8(T.Binary);
    w.u32(v.length);
    w.raw(v);
  } else if (Array.isArray(v)) {
    w.raw(SLICE_ANY);
    w.u8(T.Slice);
    w.u32(v.length);
    for (let i = 0; i < v.length; i++) {
      try {
        tagged(w, v[i]);
      } catch (e) {
        throw at(e, `[${i}]`);
      }
    }
  } else if (v instanceof Map) {
    w.raw(MAP_ANY);
    w.u8(T.Map);
    w.u32(v.size);
    for (const [k, x] of v) {
      try {
        tagged(w, k);
        tagged(w, x);
      } catch (e) {
        throw at(e, `[${String(k)}]`);
      }
    }
  } else if (v instanceof CallFailure) {
    w.u8(J.Failure);
    tagged(w, v.error);
  } else if (v instanceof Error) {
    w.u8(T.Error);
    w.text(errorText(v), 2, 0x7fff, 'error text');
  } else if (v instanceof Date) {
    w.u8(J.Date);
    w.f64(v.getTime());
  } else if (v instanceof Set) {
    w.u8(J.Set);
    w.u32(v.size);
    let i = 0;
    for (const x of v) {
      try {
        tagged(w, x);
      } catch (e) {
        throw at(e, `[${i}]`);
      }
      i++;
    }
  } else {
    const proto: unknown = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) {
      const name = (v as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      throw refuse(`a ${name} instance cannot be sent (plain data, or the kinds docs/browser-gateway.md lists)`);
    }
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    w.u8(proto === null ? J.NullObject : J.Object);
    w.u32(keys.length);
    for (const k of keys) {
      try {
        w.text(k, 2, 0xffff, 'key');
        tagged(w, o[k]);
      } catch (e) {
        throw at(e, `.${k}`);
      }
    }
  }
}

const writer = new Writer();
let writing = false;

/**
 * `value` as EDF bytes (a fresh Uint8Array).
 * @throws ErrTabValue for a kind the codec does not carry, naming its path (`at [7].user: ...`).
 */
export function encodeValue(value: unknown): Uint8Array {
  return encode(tagged, value);
}

/**
 * encodeValue for bytes written away at once (a tab's frame into its socket, which copies them):
 * a small value's bytes are a view of a shared slab, not an ArrayBuffer of their own (a fresh
 * one costs more than encoding a call). Kept, such a view keeps its whole slab alive: copy it
 * (`new Uint8Array(view)`) to keep it.
 * @throws ErrTabValue as encodeValue.
 */
export function encodeBrief(value: unknown): Uint8Array {
  return encode(tagged, value, undefined, true);
}

/** The slab brief encodings share (a new one when it is full), and its first free byte. */
const SLAB_BYTES = 16 << 10;
/** Brief encodings above this many bytes get their own buffer (they would waste a slab's rest). */
const SLAB_MAX = 2 << 10;
let slab = new Uint8Array(SLAB_BYTES);
let slabAt = 0;

/** The first `n` bytes of `from` in the slab (followed by `rest`'s, when given). */
function brief(from: Uint8Array, n: number, rest?: Uint8Array): Uint8Array {
  const size = rest === undefined ? n : n + rest.length;
  if (slabAt + size > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabAt = 0;
  }
  const at = slabAt;
  // Views start on 8-byte boundaries, as an allocator's would.
  slabAt = (at + size + 7) & ~7;
  const v = slab.subarray(at, at + size);
  v.set(from.subarray(0, n));
  if (rest !== undefined) v.set(rest, n);
  return v;
}

/**
 * Part of an array's bytes, for an array sent to many peers that differs between them only in its
 * first elements (a tab frame's head): with `count` > 0, the head of an array of `count` elements
 * (descriptor, marker, length) and then `values`; with `count` 0, `values` alone, the rest of such
 * an array, whose first element is element `offset` of the whole (for the paths of errors). A
 * head and its rest, concatenated, are the bytes `encodeValue` writes for the whole array.
 * @throws ErrTabValue as encodeValue.
 */
export function encodeArrayPart(
  count: number,
  values: readonly unknown[],
  offset: number,
  rest?: Uint8Array,
  short = false,
): Uint8Array {
  return encode(
    (w) => {
      // The elements sit inside the array, one level down, as encodeValue counts them.
      w.depth = 1;
      if (count > 0) {
        w.raw(SLICE_ANY);
        w.u8(T.Slice);
        w.u32(count);
      }
      for (let i = 0; i < values.length; i++) {
        try {
          tagged(w, values[i]);
        } catch (e) {
          throw at(e, `[${i + offset}]`);
        }
      }
    },
    undefined,
    rest,
    short,
  );
}

/** What `write` writes for `arg`, as a fresh Uint8Array (followed by `rest`'s bytes, when given). */
function encode<A>(write: (w: Writer, arg: A) => void, arg: A, rest?: Uint8Array, short = false): Uint8Array {
  // Re-entered only if a getter of the value encodes: a fresh writer then.
  const w = writing ? new Writer() : writer;
  writing = true;
  w.pos = 0;
  w.depth = 0;
  try {
    write(w, arg);
    if (rest === undefined) return short && w.pos <= SLAB_MAX ? brief(w.buf, w.pos) : w.buf.slice(0, w.pos);
    if (short && w.pos + rest.length <= SLAB_MAX) return brief(w.buf, w.pos, rest);
    const b = new Uint8Array(w.pos + rest.length);
    b.set(w.buf.subarray(0, w.pos));
    b.set(rest, w.pos);
    return b;
  } catch (e) {
    if (e instanceof Refused) throw ErrTabValue.with(e.path === '' ? e.message : `at ${e.path}: ${e.message}`);
    throw e;
  } finally {
    if (w === writer) writing = false;
  }
}

// --- decoding ------------------------------------------------------------------------------------

class Reader {
  readonly dv: DataView;
  pos = 0;
  depth = 0;
  /** Strings still to read as names (decodeNamed: a routed frame's source and destination). */
  names = 0;
  constructor(readonly buf: Uint8Array) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number): void {
    if (this.pos + n > this.buf.length) throw ErrTabValue.with(`truncated at byte ${this.pos}`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.dv.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  /** A count of elements of at least `min` bytes each: never more than the bytes left allow. */
  count(min: number): number {
    const n = this.u32();
    if (n * min > this.buf.length - this.pos) throw ErrTabValue.with(`a count of ${n} past the frame's end`);
    return n;
  }
  text(n: number): string {
    this.need(n);
    const b = this.buf;
    const p = this.pos;
    const end = p + n;
    if (n <= SHORT_TEXT) {
      // A few characters by hand: below this size a TextDecoder call costs more than the string.
      let s = '';
      let i = p;
      for (; i < end && b[i]! < 0x80; i++) s += String.fromCharCode(b[i]!);
      if (i === end) {
        this.pos = end;
        return s;
      }
    }
    const s = utf8in.decode(b.subarray(p, end));
    this.pos = end;
    return s;
  }
  /** A string of `n` bytes that names something (a node, an event): the one copy of its text. */
  name(n: number): string {
    this.need(n);
    const p = this.pos;
    const s = knownName(this.buf, p, n) ?? learnName(this.buf, p, n, this.text(n));
    this.pos = p + n;
    return s;
  }
  i64(): number | bigint {
    this.need(8);
    const v = (this.dv.getInt32(this.pos) * TWO32 + this.dv.getUint32(this.pos + 4)) as number;
    const b = Number.isSafeInteger(v) ? v : this.dv.getBigInt64(this.pos);
    this.pos += 8;
    return b;
  }
  u64(): number | bigint {
    this.need(8);
    const v = this.dv.getUint32(this.pos) * TWO32 + this.dv.getUint32(this.pos + 4);
    const b = Number.isSafeInteger(v) ? v : this.dv.getBigUint64(this.pos);
    this.pos += 8;
    return b;
  }
  /** An identifier field: must fit a number. */
  id(what: string): number {
    const v = this.u64();
    if (typeof v !== 'number') throw ErrTabValue.with(`${what} ${v} exceeds 2^53`);
    return v;
  }
  atom(): string {
    const n = this.u16();
    if (n > 255) throw ErrTabValue.with(`atom cache id ${n} (a tab link has no atom cache)`);
    return this.name(n);
  }
}

let sentinelTexts: Map<string, Error> | undefined;

/** The error an EDF error text stands for: this side's sentinel with that text, or a plain Error. */
function errorOf(text: string): Error {
  if (sentinelTexts === undefined) {
    sentinelTexts = new Map();
    for (const s of registeredSentinels()) if (!sentinelTexts.has(s.message)) sentinelTexts.set(s.message, s);
  }
  return sentinelTexts.get(text) ?? new Error(text);
}

function read(r: Reader): unknown {
  const t = r.u8();
  switch (t) {
    case T.String: {
      const n = r.u16();
      if (r.names === 0) return r.text(n);
      r.names--;
      return r.name(n);
    }
    case T.Atom:
      return r.atom();
    case T.Int64:
    case T.Int:
      return r.i64();
    case T.Uint64:
    case T.Uint:
      return r.u64();
    case T.Int8:
      return (r.u8() << 24) >> 24;
    case T.Int16:
      return (r.u16() << 16) >> 16;
    case T.Int32:
      return r.u32() | 0;
    case T.Uint8:
      return r.u8();
    case T.Uint16:
      return r.u16();
    case T.Uint32:
      return r.u32();
    case T.Float64: {
      r.need(8);
      const v = r.dv.getFloat64(r.pos);
      r.pos += 8;
      return v;
    }
    case T.Float32: {
      r.need(4);
      const v = r.dv.getFloat32(r.pos);
      r.pos += 4;
      return v;
    }
    case T.Bool:
      return r.u8() === 1;
    case T.Nil:
      return null;
    case J.Undefined:
      return undefined;
    case T.Binary: {
      const n = r.u32();
      r.need(n);
      // A copy, and a plain Uint8Array: a Buffer's slice (Node's `ws` hands Buffers) would be a view.
      const b = new Uint8Array(r.buf.subarray(r.pos, r.pos + n));
      r.pos += n;
      return b;
    }
    case T.PID: {
      const node = r.atom();
      const id = r.id('PID id');
      const creation = r.i64();
      return new PID(node, id, Number(creation));
    }
    case T.ProcessID: {
      const node = r.atom();
      return new ProcessID(r.atom(), node);
    }
    case T.Event: {
      const node = r.atom();
      return eventOf(node, r.atom());
    }
    case T.Ref:
    case T.Alias: {
      const node = r.atom();
      const creation = Number(r.i64());
      const id: [number, number, number] = [r.id('Ref id'), r.id('Ref id'), r.id('Ref id')];
      return t === T.Ref ? new Ref(node, creation, id) : new Alias(node, creation, id);
    }
    case T.Error: {
      const n = r.u16();
      if (n === 0xffff) return null;
      if (n >= 0x8000) throw ErrTabValue.with(`error cache id ${n} (a tab link has no error cache)`);
      return errorOf(r.text(n));
    }
    case J.String:
      return r.text(r.u32());
    case J.BigInt: {
      const sign = r.u8();
      const n = r.u32();
      // As EDF: parsing a bigint is not linear in its size.
      if (sign > 1 || n > 65536) throw ErrTabValue.with(`a bigint of ${n} bytes (sign ${sign})`);
      r.need(n);
      let m = 0n;
      if (n <= 6) {
        // Up to 48 bits: a number, exactly.
        let v = 0;
        for (let i = r.pos; i < r.pos + n; i++) v = v * 256 + r.buf[i]!;
        m = BigInt(v);
      } else if (n <= 8) {
        // A timestamp's size: the two halves, two conversions (not one per byte).
        let hi = 0;
        for (let i = r.pos; i < r.pos + n - 4; i++) hi = hi * 256 + r.buf[i]!;
        m = (BigInt(hi) << 32n) | BigInt(r.dv.getUint32(r.pos + n - 4));
      } else {
        let hex = '0x0';
        for (let i = r.pos; i < r.pos + n; i++) hex += r.buf[i]!.toString(16).padStart(2, '0');
        m = BigInt(hex);
      }
      r.pos += n;
      return sign === 1 ? -m : m;
    }
    case J.Date: {
      r.need(8);
      const v = r.dv.getFloat64(r.pos);
      r.pos += 8;
      return new Date(v);
    }
    case T.Any:
      return nested(r, () => read(r));
    case J.Failure:
      return nested(r, () => new CallFailure(read(r)));
    case J.Set:
      return nested(r, () => {
        const n = r.count(1);
        const s = new Set<unknown>();
        for (let i = 0; i < n; i++) s.add(read(r));
        return s;
      });
    case J.Object:
    case J.NullObject:
      return nested(r, () => {
        const n = r.count(3);
        const o: Record<string, unknown> = t === J.NullObject ? (Object.create(null) as Record<string, unknown>) : {};
        for (let i = 0; i < n; i++) {
          const k = r.text(r.u16());
          const v = read(r);
          // An own `__proto__` on the sender: an assignment would set the prototype instead.
          if (k === '__proto__')
            Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
          else o[k] = v;
        }
        return o;
      });
    case T.Type:
      return nested(r, () => described(r));
    default:
      throw ErrTabValue.with(`EDF tag 0x${t.toString(16)} at byte ${r.pos - 1} is not carried by tab frames`);
  }
}

function nested<V>(r: Reader, f: () => V): V {
  if (++r.depth > MAX_DEPTH) throw ErrTabValue.with(`nesting deeper than ${MAX_DEPTH}`);
  const v = f();
  r.depth--;
  return v;
}

/**
 * A `[]any`, `map[any]any` or `map[string]any` after its descriptor block: what an ergo-ts peer
 * writes for arrays, Maps and (without the JS-value extension) plain objects.
 */
function described(r: Reader, head = Infinity): unknown {
  const n = r.u16();
  r.need(n);
  const b = r.buf;
  const p = r.pos;
  r.pos += n;
  const slice = n === 2 && b[p] === T.Slice && b[p + 1] === T.Any;
  const stringKeys = n === 3 && b[p] === T.Map && b[p + 1] === T.String && b[p + 2] === T.Any;
  const map = stringKeys || (n === 3 && b[p] === T.Map && b[p + 1] === T.Any && b[p + 2] === T.Any);
  if (!slice && !map) {
    const d = Array.from(b.subarray(p, p + n), (x) => x.toString(16)).join(' ');
    throw ErrTabValue.with(`a typed slice or map (descriptor ${d})`);
  }
  const marker = r.u8();
  if (marker === T.Nil) return null;
  if (marker !== (slice ? T.Slice : T.Map)) throw ErrTabValue.with(`marker 0x${marker.toString(16)} of a slice or map`);
  if (slice) {
    const len = Math.min(r.count(1), head);
    const a: unknown[] = [];
    for (let i = 0; i < len; i++) a.push(read(r));
    return a;
  }
  if (head !== Infinity) throw ErrTabValue.with('a map where an array was expected');
  const len = r.count(2);
  const m = new Map<unknown, unknown>();
  for (let i = 0; i < len; i++) {
    const k = stringKeys ? r.text(r.u16()) : read(r);
    m.set(k, read(r));
  }
  return m;
}

/**
 * The value in `bytes` (bytes after it are ignored, as EDF does).
 * @throws ErrTabValue for bytes that are not such a value (truncated, a kind not carried, bad UTF-8).
 */
export function decodeValue(bytes: Uint8Array): unknown {
  return decodeNamed(bytes, 0);
}

/**
 * decodeValue for a value whose first `names` strings name nodes (a routed frame's source and
 * destination): those are read as atoms are, one copy of each name (never a token or a payload:
 * the caller knows which strings come first).
 */
export function decodeNamed(bytes: Uint8Array, names: number): unknown {
  const r = new Reader(bytes);
  r.names = names;
  try {
    return read(r);
  } catch (e) {
    if (e instanceof ErgoError) throw e;
    // TextDecoder's TypeError on bad UTF-8, a RangeError of DataView past the end.
    throw ErrTabValue.with(`undecodable at byte ${r.pos}: ${(e as Error).message}`);
  }
}

/**
 * The first `n` elements of the array in `bytes` (all of them when it has fewer), the rest left
 * unread: the head of a frame refused before it was decoded (a limit), which says what it was.
 * `names`: its first strings read as names, as decodeNamed (a flood's thousands of refused frames
 * then decode no node name twice).
 * @throws ErrTabValue when `bytes` does not start with an array, or its head is undecodable.
 */
export function decodeArrayHead(bytes: Uint8Array, n: number, names = 0): unknown[] {
  const r = new Reader(bytes);
  r.names = names;
  try {
    if (r.u8() !== T.Type) throw ErrTabValue.with('not an array');
    const v = nested(r, () => described(r, n));
    if (!Array.isArray(v)) throw ErrTabValue.with('not an array');
    return v;
  } catch (e) {
    if (e instanceof ErgoError) throw e;
    throw ErrTabValue.with(`undecodable at byte ${r.pos}: ${(e as Error).message}`);
  }
}
