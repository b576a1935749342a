// Slices, arrays and maps. Unregistered ones are described by a `0x82` descriptor when they
// travel as tagged values and mark their bodies with 0x9d/0x9f; registered named slices and maps
// reuse the same codecs with 0x83 as the non-nil marker (WIRE.md §6 gotcha 2). Counts read from
// the wire are checked against the remaining bytes (times the element's minimum size) before
// anything is allocated.

import { SparseHole } from './jsvalues.js';
import { atPath, EdfError, keySegment } from './errors.js';
import { DESCRIPTOR_MAX_BYTES, Tag } from './tags.js';
import {
  EdfType,
  Kind,
  TagForm,
  Typed,
  concatBytes,
  mismatch,
  unwrapTyped,
  type BodyDecoder,
  type BodyEncoder,
} from './type.js';
import type { EdfEncoder } from './encoder.js';

function hex(b: number): string {
  return '0x' + b.toString(16).padStart(2, '0');
}

function isArrayLike(v: object): v is ArrayLike<unknown> {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

/** Values a slice slot accepts besides a plain Array: nil, Typed of the type, typed arrays. */
function sliceSlow(t: EdfType, v: unknown): ArrayLike<unknown> | null {
  if (v === undefined || v === null) return null;
  if (v instanceof Typed) {
    const u = unwrapTyped(t, v);
    return Array.isArray(u) ? u : sliceSlow(t, u);
  }
  if (typeof v === 'object' && isArrayLike(v)) return v;
  throw mismatch(t, v);
}

/** @internal Body codec of a slice whose non-nil marker is `marker` (0x9d, or 0x83 when registered). */
export function sliceCodec(self: () => EdfType, elem: EdfType, marker: number): { enc: BodyEncoder; dec: BodyDecoder } {
  const ee = elem.enc;
  const de = elem.dec;
  const min = elem.minSize;
  const enc: BodyEncoder = (e, v) => {
    let a: ArrayLike<unknown>;
    if (Array.isArray(v)) a = v;
    else {
      const s = sliceSlow(self(), v);
      if (s === null) {
        e.u8(Tag.Nil);
        return;
      }
      a = s;
    }
    const n = a.length;
    e.u8(marker);
    e.u32(n);
    let i = 0;
    try {
      for (; i < n; i++) {
        const x = a[i];
        // A hole (not an undefined element): between ergo-ts nodes the array goes as Sparse.
        if (x === undefined && e.jsValues && !(i in a)) throw new SparseHole(a);
        ee(e, x);
      }
    } catch (err) {
      if (err instanceof SparseHole) throw err;
      throw atPath(err, `[${i}]`);
    }
  };
  const dec: BodyDecoder = (d) => {
    const m = d.u8();
    if (m === Tag.Nil) return null;
    if (m !== marker) {
      d.pos--;
      throw d.fail('ERR_EDF_DECODE', `expected ${hex(marker)} or 0xff before ${self().name}, got ${hex(m)}`);
    }
    const n = d.u32();
    d.count(n, min);
    const a: unknown[] = [];
    for (let i = 0; i < n; i++) a.push(de(d));
    return a;
  };
  return { enc, dec };
}

/** @internal Body codec of an array of `n` elements (no marker, no count). */
export function arrayCodec(self: () => EdfType, n: number, elem: EdfType): { enc: BodyEncoder; dec: BodyDecoder } {
  const ee = elem.enc;
  const de = elem.dec;
  const min = elem.minSize;
  const enc: BodyEncoder = (e, v) => {
    let a: ArrayLike<unknown> | null;
    if (Array.isArray(v)) a = v;
    else a = sliceSlow(self(), v); // nil → the zero array
    if (a !== null && a.length !== n) {
      throw new EdfError('ERR_EDF_ENCODE', `${self().name} needs exactly ${n} elements, got ${a.length}`);
    }
    let i = 0;
    try {
      if (a === null) for (; i < n; i++) ee(e, undefined);
      else for (; i < n; i++) ee(e, a[i]);
    } catch (err) {
      throw atPath(err, `[${i}]`);
    }
  };
  const dec: BodyDecoder = (d) => {
    d.count(n, min);
    const a: unknown[] = [];
    for (let i = 0; i < n; i++) a.push(de(d));
    return a;
  };
  return { enc, dec };
}

const INTEGER_KINDS = new Set<number>([
  Kind.Int8,
  Kind.Int16,
  Kind.Int32,
  Kind.Int64,
  Kind.Int,
  Kind.Uint8,
  Kind.Uint16,
  Kind.Uint32,
  Kind.Uint64,
  Kind.Uint,
]);

/** Plain-object keys are strings; give integer/bool/float key slots the value they spell. */
function objectKey(keyKind: number, k: string): unknown {
  if (INTEGER_KINDS.has(keyKind) || keyKind === Kind.Float32 || keyKind === Kind.Float64) {
    const n = Number(k);
    return k !== '' && String(n) === k ? n : k;
  }
  if (keyKind === Kind.Bool) return k === 'true' ? true : k === 'false' ? false : k;
  return k;
}

function isPlainObject(v: object): boolean {
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

/** @internal Body codec of a map whose non-nil marker is `marker` (0x9f, or 0x83 when registered). */
export function mapCodec(
  self: () => EdfType,
  kt: EdfType,
  vt: EdfType,
  marker: number,
): { enc: BodyEncoder; dec: BodyDecoder } {
  const ke = kt.enc;
  const ve = vt.enc;
  const kd = kt.dec;
  const vd = vt.dec;
  const min = kt.minSize + vt.minSize;
  const keyKind =
    kt.kind === Kind.Registered ? ((kt as { underlyingKind?: number }).underlyingKind ?? kt.kind) : kt.kind;
  const fromMap = (e: EdfEncoder, m: Map<unknown, unknown>): void => {
    e.u8(marker);
    e.u32(m.size);
    for (const [k, val] of m) {
      try {
        ke(e, k);
        ve(e, val);
      } catch (err) {
        throw atPath(err, keySegment(k));
      }
    }
  };
  const fromObject = (e: EdfEncoder, o: Record<string, unknown>): void => {
    const keys = Object.keys(o);
    e.u8(marker);
    e.u32(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!;
      try {
        ke(e, objectKey(keyKind, k));
        ve(e, o[k]);
      } catch (err) {
        throw atPath(err, keySegment(k));
      }
    }
  };
  const enc: BodyEncoder = (e, v) => {
    if (v instanceof Map) return fromMap(e, v);
    if (v === undefined || v === null) {
      e.u8(Tag.Nil);
      return;
    }
    if (v instanceof Typed) return enc(e, unwrapTyped(self(), v));
    if (typeof v === 'object' && isPlainObject(v)) return fromObject(e, v as Record<string, unknown>);
    throw mismatch(self(), v);
  };
  const dec: BodyDecoder = (d) => {
    const m = d.u8();
    if (m === Tag.Nil) return null;
    if (m !== marker) {
      d.pos--;
      throw d.fail('ERR_EDF_DECODE', `expected ${hex(marker)} or 0xff before ${self().name}, got ${hex(m)}`);
    }
    const n = d.u32();
    d.count(n, min);
    const out = new Map<unknown, unknown>();
    for (let i = 0; i < n; i++) {
      const k = kd(d);
      out.set(k, vd(d));
    }
    return out;
  };
  return { enc, dec };
}

function u32be(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

function checkDesc(desc: Uint8Array, name: string): Uint8Array {
  if (desc.length > DESCRIPTOR_MAX_BYTES) {
    throw new EdfError(
      'ERR_EDF_DESCRIPTOR_TOO_LONG',
      `descriptor of ${name} is ${desc.length} bytes (max ${DESCRIPTOR_MAX_BYTES})`,
    );
  }
  return desc;
}

/** User-built types get their descriptor (and its length check) now; decoded ones on first use. */
function descOf(eager: boolean, name: string, build: () => Uint8Array): Uint8Array | (() => Uint8Array) {
  return eager ? checkDesc(build(), name) : () => checkDesc(build(), name);
}

function checkType(t: unknown, what: string): EdfType {
  if (!(t instanceof EdfType)) throw new EdfError('ERR_EDF_REGISTER', `${what} must be an EdfType, got ${typeof t}`);
  return t;
}

const sliceMemo = new WeakMap<EdfType, EdfType>();
const arrayMemo = new WeakMap<EdfType, Map<number, EdfType>>();
const mapMemo = new WeakMap<EdfType, WeakMap<EdfType, EdfType>>();

/**
 * The unregistered slice type `[]elem`. With `memo` (the default, for user code) the same
 * element type gives the same EdfType object; decoders build fresh ones.
 * @throws EdfError `ERR_EDF_REGISTER` if `elem` is not an EdfType; `ERR_EDF_DESCRIPTOR_TOO_LONG`.
 */
export function makeSlice(elem: EdfType, memo = true): EdfType {
  checkType(elem, 'slice element type');
  if (memo) {
    const m = sliceMemo.get(elem);
    if (m !== undefined) return m;
  }
  const name = `[]${elem.name}`;
  const codec = sliceCodec(() => t, elem, Tag.Slice);
  const t: EdfType = new EdfType({
    kind: Kind.Slice,
    name,
    tag: Tag.Type,
    tagForm: TagForm.Descriptor,
    desc: descOf(memo, name, () => concatBytes([Tag.Slice], elem.desc)),
    hasReg: elem.hasReg,
    minSize: 1,
    nillable: true,
    comparable: false,
    elem,
    enc: codec.enc,
    dec: codec.dec,
  });
  if (memo) sliceMemo.set(elem, t);
  return t;
}

/**
 * The unregistered array type `[n]elem` (`n` in 0..2^32-1).
 * @throws EdfError `ERR_EDF_REGISTER` on a bad length or element type.
 */
export function makeArray(n: number, elem: EdfType, memo = true): EdfType {
  checkType(elem, 'array element type');
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
    throw new EdfError('ERR_EDF_REGISTER', `array length must be in 0..2^32-1, got ${n}`);
  if (memo) {
    const m = arrayMemo.get(elem)?.get(n);
    if (m !== undefined) return m;
  }
  const name = `[${n}]${elem.name}`;
  const codec = arrayCodec(() => t, n, elem);
  const t: EdfType = new EdfType({
    kind: Kind.Array,
    name,
    tag: Tag.Type,
    tagForm: TagForm.Descriptor,
    desc: descOf(memo, name, () => concatBytes([Tag.Array], u32be(n), elem.desc)),
    hasReg: elem.hasReg,
    minSize: n * elem.minSize,
    nillable: false,
    comparable: elem.comparable,
    elem,
    length: n,
    enc: codec.enc,
    dec: codec.dec,
  });
  if (memo) {
    let m = arrayMemo.get(elem);
    if (m === undefined) arrayMemo.set(elem, (m = new Map()));
    m.set(n, t);
  }
  return t;
}

/**
 * The unregistered map type `map[key]value`. The key type must be comparable in Go (not a
 * slice, map or []byte).
 * @throws EdfError `ERR_EDF_REGISTER` on a non-comparable key or a non-type argument.
 */
export function makeMap(key: EdfType, value: EdfType, memo = true): EdfType {
  checkType(key, 'map key type');
  checkType(value, 'map value type');
  if (!key.comparable)
    throw new EdfError('ERR_EDF_REGISTER', `invalid map key type ${key.name} (not comparable in Go)`);
  if (memo) {
    const m = mapMemo.get(key)?.get(value);
    if (m !== undefined) return m;
  }
  const name = `map[${key.name}]${value.name}`;
  const codec = mapCodec(() => t, key, value, Tag.Map);
  const t: EdfType = new EdfType({
    kind: Kind.Map,
    name,
    tag: Tag.Type,
    tagForm: TagForm.Descriptor,
    desc: descOf(memo, name, () => concatBytes([Tag.Map], key.desc, value.desc)),
    hasReg: key.hasReg || value.hasReg,
    minSize: 1,
    nillable: true,
    comparable: false,
    keyType: key,
    valueType: value,
    enc: codec.enc,
    dec: codec.dec,
  });
  if (memo) {
    let m = mapMemo.get(key);
    if (m === undefined) mapMemo.set(key, (m = new WeakMap()));
    m.set(value, t);
  }
  return t;
}
