// The EDF type model. An EdfType is one Go type as EDF knows it: a scalar, a framework
// identifier, `any`, an unregistered slice/array/map, or a registered type. Each carries its
// descriptor bytes, the fewest bytes its body can take (used to reject lying counts before
// allocating), and the body encoder/decoder compiled once when the type is built. A Typed value
// pairs a JS value with the exact Go type it must travel as.

import { EdfError, describe } from './errors.js';
import type { EdfDecoder } from './decoder.js';
import type { EdfEncoder } from './encoder.js';

/** @internal Writes the body of a value of one type (no tag). Throws EdfError. */
export type BodyEncoder = (e: EdfEncoder, v: unknown) => void;
/** @internal Reads the body of a value of one type (no tag). Throws EdfError. */
export type BodyDecoder = (d: EdfDecoder) => unknown;

/** The kinds of {@link EdfType}. */
export const Kind = {
  Bool: 1,
  Int8: 2,
  Int16: 3,
  Int32: 4,
  Int64: 5,
  Int: 6,
  Uint8: 7,
  Uint16: 8,
  Uint32: 9,
  Uint64: 10,
  Uint: 11,
  Float32: 12,
  Float64: 13,
  String: 14,
  Binary: 15,
  Atom: 16,
  Error: 17,
  PID: 18,
  ProcessID: 19,
  Ref: 20,
  Alias: 21,
  Event: 22,
  Time: 23,
  Any: 24,
  Slice: 25,
  Array: 26,
  Map: 27,
  Registered: 28,
} as const;
/** @see Kind */
export type Kind = (typeof Kind)[keyof typeof Kind];

/** How a type appears as a tagged value: a scalar tag, a `0x82` descriptor block, or `0x83`. */
export const TagForm = { Scalar: 0, Descriptor: 1, Registered: 2 } as const;

/** @internal Construction parameters of an EdfType. */
export interface EdfTypeInit {
  kind: Kind;
  name: string;
  tag: number;
  tagForm: number;
  /** Descriptor bytes, or a thunk computing them on first use (types built while decoding). */
  desc: Uint8Array | (() => Uint8Array);
  hasReg: boolean;
  minSize: number;
  nillable: boolean;
  comparable: boolean;
  elem?: EdfType | undefined;
  keyType?: EdfType | undefined;
  valueType?: EdfType | undefined;
  length?: number | undefined;
  enc: BodyEncoder;
  dec: BodyDecoder;
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/**
 * One Go type as EDF encodes it. Obtain builtin ones from `Go` (`Go.int32`,
 * `Go.slice(Go.string)`, `Go.map(Go.atom, Go.any)`, …) and registered ones from
 * `registry.register(...)`. Types are immutable; two types are the same Go type when their
 * {@link EdfType.key}s are equal. Use {@link EdfType.of} to send a value as exactly this type.
 */
export class EdfType<T = unknown> {
  /** Kind of type (see {@link Kind}). */
  readonly kind: Kind;
  /** Go spelling, e.g. `int32`, `[]string`, `map[gen.Atom]any`, `msgs.Point`. */
  readonly name: string;
  /** Tag byte of the tagged form (scalar tag, `0x82` or `0x83`). */
  readonly tag: number;
  /** @internal How the tagged form is written (TagForm). */
  readonly tagForm: number;
  /** True if the descriptor names a registered type (so a type cache can shorten it). */
  readonly hasReg: boolean;
  /** The fewest bytes a body of this type can take. */
  readonly minSize: number;
  /** True if the type has a nil value (any, error, slices, maps). */
  readonly nillable: boolean;
  /** True if Go allows the type as a map key. */
  readonly comparable: boolean;
  /** Element type of slices and arrays. */
  readonly elem: EdfType | undefined;
  /** Key type of maps. */
  readonly keyType: EdfType | undefined;
  /** Value type of maps. */
  readonly valueType: EdfType | undefined;
  /** Length of arrays. */
  readonly length: number | undefined;
  /** @internal Body encoder (compiled once). */
  enc: BodyEncoder;
  /** @internal Body decoder (compiled once). */
  dec: BodyDecoder;

  /** @internal Use `Go.*` or a registry to obtain types. */
  constructor(init: EdfTypeInit) {
    this.kind = init.kind;
    this.name = init.name;
    this.tag = init.tag;
    this.tagForm = init.tagForm;
    if (typeof init.desc === 'function') this.#descOf = init.desc;
    else this.#desc = init.desc;
    this.hasReg = init.hasReg;
    this.minSize = init.minSize;
    this.nillable = init.nillable;
    this.comparable = init.comparable;
    this.elem = init.elem;
    this.keyType = init.keyType;
    this.valueType = init.valueType;
    this.length = init.length;
    this.enc = init.enc;
    this.dec = init.dec;
  }

  #desc: Uint8Array | undefined;
  #descOf: (() => Uint8Array) | undefined;
  #key: string | undefined;

  /** Descriptor bytes with inline registered names (computed once, on first use). */
  get desc(): Uint8Array {
    let d = this.#desc;
    if (d === undefined) {
      d = this.#desc = this.#descOf!();
      this.#descOf = undefined;
    }
    return d;
  }

  /** Identity: equal keys mean the same Go type (the descriptor bytes as a string). */
  get key(): string {
    return (this.#key ??= latin1(this.desc));
  }

  /** Wraps `value` so it is encoded as exactly this Go type (in `any` slots and at top level). */
  of(value: T): Typed<T> {
    return new Typed(this, value);
  }

  /** True if `other` is the same Go type. */
  equals(other: unknown): boolean {
    return other === this || (other instanceof EdfType && other.key === this.key);
  }

  toString(): string {
    return this.name;
  }
}

/**
 * A value together with the exact Go type it travels as. Created by `type.of(value)` or the
 * shorthands (`int8(5)`, `uint64(7n)`, `asAtom('x')`, …). In an `any` slot (or at top level)
 * it is encoded with its type's tag; in a typed slot it must match the slot's type. Decoding
 * in exact mode returns Typed values wherever the default JS mapping would pick another Go
 * type, so re-encoding gives identical bytes. `valueOf()` returns the plain value.
 */
export class Typed<T = unknown> {
  constructor(
    readonly type: EdfType<T>,
    readonly value: T,
  ) {
    if (!(type instanceof EdfType))
      throw new EdfError('ERR_EDF_ENCODE', `Typed needs an EdfType, got ${describe(type)}`);
  }

  valueOf(): T {
    return this.value;
  }

  toJSON(): unknown {
    return this.value;
  }

  toString(): string {
    return `${this.type.name}(${String(this.value)})`;
  }
}

/**
 * @internal Returns the plain value of `t` for a slot of type `slot`.
 * @throws EdfError `ERR_EDF_ENCODE` if `t` holds another Go type.
 */
export function unwrapTyped(slot: EdfType, t: Typed): unknown {
  if (t.type === slot || t.type.key === slot.key) return t.value;
  throw new EdfError('ERR_EDF_ENCODE', `expected ${slot.name}, got a ${t.type.name} value`);
}

/** @internal The error for a JS value that cannot fill a slot of type `slot`. */
export function mismatch(slot: EdfType | string, v: unknown): EdfError {
  const name = typeof slot === 'string' ? slot : slot.name;
  return new EdfError('ERR_EDF_ENCODE', `expected ${name}, got ${describe(v)}`);
}

/** @internal Concatenates descriptor parts. */
export function concatBytes(...parts: (Uint8Array | number[])[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
