// The encoder: turns one JS value into one EDF tagged value in a reusable buffer. Values in
// `any` slots find their Go type from their JS type (numbers, strings, …), their class
// (framework identifiers, registered classes) or a Typed wrapper; typed slots use the body
// encoders compiled into each EdfType. One encoder per connection and direction holds that
// direction's caches (WIRE.md §1.6).

import { ErgoError, sentinelByCode } from '../../gen/errors.js';
import { ERROR } from './builtin.js';
import { EdfError, wrapForeign } from './errors.js';
import { resolveLimits, type EdfLimits } from './limits.js';
import { MAP_STRING_ANY, RegisteredType, type EdfRegistry } from './registry.js';
import { ATOM_CACHE_MIN_ID, DESCRIPTOR_MAX_BYTES, ERROR_CACHE_MIN_ID, TYPE_CACHE_MIN_ID, Tag } from './tags.js';
import { type EdfType, Kind, TagForm, Typed, mismatch, unwrapTyped } from './type.js';
import { EdfWriter } from './writer.js';
import {
  SHORT_STRING_UNITS,
  SparseHole,
  encodeJsBigInt,
  encodeJsLongString,
  encodeJsObject,
  encodeJsSparse,
  encodeJsTypedArray,
  JsTag,
} from './jsvalues.js';
import { defaultRegistry } from './default.js';

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

/** Options of an {@link EdfEncoder}. Caches map values to the ids this side announced. */
export interface EdfEncodeOptions {
  /** Where registered types and classes are looked up. Default: `defaultRegistry`. */
  registry?: EdfRegistry;
  /** Atom → id (256..65535) announced by this side; atoms found here are written as ids. */
  atomCache?: ReadonlyMap<string, number>;
  /** Registered type name (`#…`) → id (4096..65535) announced by this side. */
  typeCache?: ReadonlyMap<string, number>;
  /** Error text → id (32768..65534) announced by this side. */
  errorCache?: ReadonlyMap<string, number>;
  /** Local atom → name used on the wire, applied before the atom cache (not negotiated). */
  atomMapping?: ReadonlyMap<string, string>;
  /** Limits; see {@link EdfLimits}. */
  limits?: Partial<EdfLimits>;
  /**
   * Encode JS values Go has no type for with the ergo-ts extension tags ({@link JsTag}): plain
   * objects as objects (not `map[string]any`), `undefined`, every bigint, Sets, Dates to the
   * millisecond (invalid ones too), strings over 65535 bytes. Only for a peer that decodes them
   * (an ergo-ts node: the connection turns it on when the peer's handshake flags announce it).
   * Default false: the Go mapping.
   */
  jsValues?: boolean;
}

function checkCache(m: ReadonlyMap<unknown, number> | undefined, min: number, max: number, what: string): void {
  if (m === undefined) return;
  if (!(m instanceof Map)) throw new EdfError('ERR_EDF_CACHE', `${what} must be a Map`);
  for (const id of m.values()) {
    if (!Number.isInteger(id) || id < min || id > max)
      throw new EdfError('ERR_EDF_CACHE', `${what} id ${String(id)} outside ${min}..${max}`);
  }
}

/** Name of the root of an encode path, for error messages. */
function rootName(v: unknown): string {
  if (v instanceof Typed) return v.type instanceof RegisteredType ? v.type.shortName : 'value';
  if (v !== null && typeof v === 'object') {
    const c = (v as { constructor?: { name?: unknown } }).constructor;
    if (c !== undefined && c !== Object && c !== Array && c !== Map && typeof c.name === 'string' && c.name !== '')
      return c.name;
  }
  return 'value';
}

/**
 * Encodes values to EDF. Holds one reusable output buffer and one direction's caches; not
 * re-entrant (a marshal callback must not use the same encoder). Lifecycle: create one per
 * connection and direction (or use the module functions `encode`/`roundTrip`), call
 * {@link EdfEncoder.encode} per message.
 *
 * Every method throws only {@link EdfError}; encode errors name the path to the offending value.
 */
export class EdfEncoder extends EdfWriter {
  /** Registry of user and framework types. */
  readonly registry: EdfRegistry;
  /** Limits in force. */
  readonly limits: Readonly<EdfLimits>;
  /** @internal */ atomCache: ReadonlyMap<string, number> | undefined;
  /** @internal */ typeCache: ReadonlyMap<string, number> | undefined;
  /** @internal */ errorCache: ReadonlyMap<string, number> | undefined;
  /** @internal */ atomMapping: ReadonlyMap<string, string> | undefined;
  /** @internal */ depth = 0;
  /** The JS-value extension is on (see {@link EdfEncodeOptions.jsValues}); may be switched between messages. */
  jsValues: boolean;
  readonly #maxDepth: number;
  readonly #maxAtom: number;
  readonly #maxString: number;
  readonly #maxError: number;
  readonly #maxBinary: number;
  #busy = false;

  /** @throws EdfError `ERR_EDF_CACHE` if a cache holds ids outside its range; `ERR_EDF_ENCODE` for bad limits. */
  constructor(options: EdfEncodeOptions = {}) {
    const limits = resolveLimits(options.limits);
    super(limits.maxMessageSize);
    this.limits = limits;
    this.registry = options.registry ?? defaultRegistry;
    checkCache(options.atomCache, ATOM_CACHE_MIN_ID, 0xffff, 'atomCache');
    checkCache(options.typeCache, TYPE_CACHE_MIN_ID, 0xffff, 'typeCache');
    checkCache(options.errorCache, ERROR_CACHE_MIN_ID, 0xfffe, 'errorCache');
    if (options.atomMapping !== undefined && !(options.atomMapping instanceof Map))
      throw new EdfError('ERR_EDF_CACHE', 'atomMapping must be a Map');
    this.atomCache = options.atomCache?.size ? options.atomCache : undefined;
    this.typeCache = options.typeCache?.size ? options.typeCache : undefined;
    this.errorCache = options.errorCache?.size ? options.errorCache : undefined;
    this.atomMapping = options.atomMapping?.size ? options.atomMapping : undefined;
    this.jsValues = options.jsValues === true;
    this.#maxDepth = limits.maxDepth;
    this.#maxAtom = limits.maxAtomBytes;
    this.#maxString = limits.maxStringBytes;
    this.#maxError = limits.maxErrorBytes;
    this.#maxBinary = limits.maxBinaryBytes;
  }

  /**
   * Encodes `value` as one tagged EDF value and returns a copy the caller owns.
   * @throws EdfError — nothing to encode (`null`/`undefined`), unregistered class, value out of
   *   range, limit exceeded; the message names the path (`Order.tags[2]`).
   */
  encode(value: unknown): Uint8Array {
    this.pos = 0;
    this.encodeTo(value);
    return this.copy();
  }

  /** Like {@link EdfEncoder.encode} but returns a view of the internal buffer, valid until the next call. */
  encodeView(value: unknown): Uint8Array {
    this.pos = 0;
    this.encodeTo(value);
    return this.view();
  }

  /**
   * Appends `value` at the current position (after bytes the caller wrote, e.g. a packet
   * header). On error the position is restored and the error thrown.
   */
  encodeTo(value: unknown): void {
    if (this.#busy)
      throw new EdfError('ERR_EDF_ENCODE', 'encoder is busy (re-entrant use from a callback)').finishEncode('value');
    if (value === null || value === undefined) {
      throw new EdfError('ERR_EDF_ENCODE', 'nothing to encode: a message cannot be nil').finishEncode('value');
    }
    this.#busy = true;
    const start = this.pos;
    this.depth = 0;
    try {
      this.tagged(value);
      this.checkSize();
    } catch (err) {
      this.pos = start;
      const e = err instanceof EdfError ? err : wrapForeign('ERR_EDF_ENCODE', 'unexpected failure', err);
      throw e.path === '' ? e.finishEncode(rootName(value)) : e;
    } finally {
      this.#busy = false;
    }
  }

  /** @internal Writes `v` as a tagged value (what an `any` slot holds). */
  tagged(v: unknown): void {
    switch (typeof v) {
      case 'string':
        if (v.length > SHORT_STRING_UNITS && this.jsValues) return encodeJsLongString(this, v);
        this.u8(Tag.String);
        this.str(v);
        return;
      case 'number':
        if (Number.isSafeInteger(v) && (v !== 0 || 1 / v > 0)) {
          this.u8(Tag.Int64);
          this.i64n(v);
        } else {
          this.u8(Tag.Float64);
          this.f64(v);
        }
        return;
      case 'boolean':
        this.u8(Tag.Bool);
        this.u8(v ? 1 : 0);
        return;
      case 'object':
        if (v === null) this.u8(Tag.Nil);
        else this.taggedObject(v);
        return;
      case 'undefined':
        this.u8(this.jsValues ? JsTag.Undefined : Tag.Nil);
        return;
      case 'bigint':
        if (this.jsValues) encodeJsBigInt(this, v);
        else if (v >= I64_MIN && v <= I64_MAX) {
          this.u8(Tag.Int64);
          this.b64(v, true);
        } else if (v > I64_MAX && v <= U64_MAX) {
          this.u8(Tag.Uint64);
          this.b64(v, false);
        } else throw new EdfError('ERR_EDF_RANGE', `${v}n is outside int64 and uint64`);
        return;
      case 'function':
      case 'symbol':
        throw new EdfError('ERR_EDF_UNREGISTERED', `${typeof v} values cannot be encoded`);
    }
  }

  private taggedObject(v: object): void {
    if (++this.depth > this.#maxDepth) {
      throw new EdfError('ERR_EDF_TOO_DEEP', `nesting deeper than maxDepth (${this.#maxDepth}); cyclic value?`);
    }
    if (v instanceof Typed) this.typedValue(v.type, v.value);
    else {
      const ctor = v.constructor;
      if (this.jsValues) {
        // Registered classes and builtins keep their EDF type; what Go cannot carry gets a JS tag.
        const t = ctor === Object || ctor === Date || ctor === Set ? undefined : this.registry.ctorType(ctor);
        if (t === undefined) {
          if (encodeJsObject(this, v) || encodeJsTypedArray(this, v)) {
            this.depth--;
            return;
          }
        } else if (ctor === Array) {
          // Holes stay holes: the slice encoder signals the first one, and the array is written
          // again with the Sparse tag (a dense array pays nothing but its elements' own checks).
          const start = this.pos;
          try {
            this.typedValue(t, v);
          } catch (err) {
            if (!(err instanceof SparseHole) || err.array !== v) throw err;
            this.pos = start;
            encodeJsSparse(this, v as unknown[]);
          }
          this.depth--;
          return;
        } else if (t.kind === Kind.Slice && encodeJsTypedArray(this, v)) {
          this.depth--;
          return;
        }
        this.typedValue(t ?? this.registry.inferObject(v), v);
      } else {
        const t = ctor === Object ? MAP_STRING_ANY : (this.registry.ctorType(ctor) ?? this.registry.inferObject(v));
        this.typedValue(t, v);
      }
    }
    this.depth--;
  }

  /** @internal Writes `v` tagged as exactly type `t`. */
  typedValue(t: EdfType, v: unknown): void {
    if (t.kind === Kind.Any) return this.tagged(v); // `any` has no value tag of its own
    if (t.tagForm === TagForm.Scalar) this.u8(t.tag);
    else if (t.tagForm === TagForm.Registered) this.regHeader(t as RegisteredType);
    else this.descBlock(t);
    t.enc(this, v);
  }

  /** @internal `0x83` + name, or the cached id. */
  regHeader(t: RegisteredType): void {
    if (t.registry !== this.registry) {
      throw new EdfError('ERR_EDF_UNREGISTERED', `type ${t.regName} belongs to another registry`);
    }
    const tc = this.typeCache;
    if (tc !== undefined) {
      const id = tc.get(t.regName);
      if (id !== undefined) {
        this.u8u16(Tag.Reg, id);
        return;
      }
    }
    this.bytes(t.header);
  }

  /** @internal `0x82 u16 len desc`, with cached type ids where this side announced them. */
  descBlock(t: EdfType): void {
    if (t.hasReg && this.typeCache !== undefined) {
      const start = this.pos;
      this.u8u16(Tag.Type, 0);
      this.descCached(t);
      const n = this.pos - start - 3;
      if (n > DESCRIPTOR_MAX_BYTES)
        throw new EdfError('ERR_EDF_DESCRIPTOR_TOO_LONG', `descriptor of ${t.name} is ${n} bytes`);
      this.buf[start + 1] = n >>> 8;
      this.buf[start + 2] = n;
      return;
    }
    const d = t.desc;
    if (d.length > DESCRIPTOR_MAX_BYTES)
      throw new EdfError('ERR_EDF_DESCRIPTOR_TOO_LONG', `descriptor of ${t.name} is ${d.length} bytes`);
    this.u8u16(Tag.Type, d.length);
    this.bytes(d);
  }

  private descCached(t: EdfType): void {
    switch (t.kind) {
      case Kind.Registered:
        this.regHeader(t as RegisteredType);
        return;
      case Kind.Slice:
        this.u8(Tag.Slice);
        this.descCached(t.elem!);
        return;
      case Kind.Map:
        this.u8(Tag.Map);
        this.descCached(t.keyType!);
        this.descCached(t.valueType!);
        return;
      case Kind.Array:
        this.u8(Tag.Array);
        this.u32(t.length!);
        this.descCached(t.elem!);
        return;
      // Scalars, framework identifiers and `any`: the tag alone describes them.
      case Kind.Bool:
      case Kind.Int8:
      case Kind.Int16:
      case Kind.Int32:
      case Kind.Int64:
      case Kind.Int:
      case Kind.Uint8:
      case Kind.Uint16:
      case Kind.Uint32:
      case Kind.Uint64:
      case Kind.Uint:
      case Kind.Float32:
      case Kind.Float64:
      case Kind.String:
      case Kind.Binary:
      case Kind.Atom:
      case Kind.Error:
      case Kind.PID:
      case Kind.ProcessID:
      case Kind.Ref:
      case Kind.Alias:
      case Kind.Event:
      case Kind.Time:
      case Kind.Any:
        this.u8(t.tag);
        return;
      default: {
        const unknownKind: never = t.kind;
        throw new EdfError('ERR_EDF_ENCODE', `type ${t.name} has an unknown kind ${String(unknownKind)}`);
      }
    }
  }

  /** @internal String body: u16 length + UTF-8. */
  str(s: string): void {
    if (s.length > this.#maxString) throw this.#tooLong('ERR_EDF_STRING_TOO_LONG', 'string', s.length, this.#maxString);
    const start = this.pos;
    this.ensure(2);
    this.pos = start + 2;
    const n = this.utf8(s);
    if (n > this.#maxString) throw this.#tooLong('ERR_EDF_STRING_TOO_LONG', 'string', n, this.#maxString);
    this.buf[start] = n >>> 8;
    this.buf[start + 1] = n;
  }

  /** @internal Atom body: mapping, then cache id or u16 length + UTF-8. */
  atom(s: string): void {
    const am = this.atomMapping;
    if (am !== undefined) {
      const m = am.get(s);
      if (m !== undefined) s = m;
    }
    const ac = this.atomCache;
    if (ac !== undefined) {
      const id = ac.get(s);
      if (id !== undefined) {
        this.u16(id);
        return;
      }
    }
    if (s.length > this.#maxAtom) throw this.#tooLong('ERR_EDF_ATOM_TOO_LONG', 'atom', s.length, this.#maxAtom);
    const start = this.pos;
    this.ensure(2);
    this.pos = start + 2;
    const n = this.utf8(s);
    if (n > this.#maxAtom) throw this.#tooLong('ERR_EDF_ATOM_TOO_LONG', 'atom', n, this.#maxAtom);
    this.buf[start] = 0;
    this.buf[start + 1] = n;
  }

  /** @internal Error body: 0xffff (nil), cached id, or u16 length + text. */
  errBody(v: unknown): void {
    if (v === null || v === undefined) {
      this.u16(0xffff);
      return;
    }
    if (!(v instanceof Error)) {
      if (v instanceof Typed) return this.errBody(unwrapTyped(ERROR, v));
      throw mismatch(ERROR, v);
    }
    let text = typeof v.message === 'string' ? v.message : String(v.message);
    if (v instanceof ErgoError) {
      // Variants of a sentinel (`ErrTimeout.with(...)`) travel as the sentinel's text.
      const s = sentinelByCode(v.code);
      if (s !== undefined) text = s.message;
    }
    const ec = this.errorCache;
    if (ec !== undefined) {
      const id = ec.get(text);
      if (id !== undefined) {
        this.u16(id);
        return;
      }
    }
    if (text.length > this.#maxError)
      throw this.#tooLong('ERR_EDF_ERROR_TOO_LONG', 'error text', text.length, this.#maxError);
    const start = this.pos;
    this.ensure(2);
    this.pos = start + 2;
    const n = this.utf8(text);
    if (n > this.#maxError) throw this.#tooLong('ERR_EDF_ERROR_TOO_LONG', 'error text', n, this.#maxError);
    this.buf[start] = n >>> 8;
    this.buf[start + 1] = n;
  }

  /** @internal Binary body: u32 length + bytes. */
  binary(b: Uint8Array): void {
    if (b.length > this.#maxBinary) throw this.#tooLong('ERR_EDF_BINARY_TOO_LONG', 'binary', b.length, this.#maxBinary);
    this.u32(b.length);
    this.bytes(b);
  }

  #tooLong(
    code: 'ERR_EDF_STRING_TOO_LONG' | 'ERR_EDF_ATOM_TOO_LONG' | 'ERR_EDF_ERROR_TOO_LONG' | 'ERR_EDF_BINARY_TOO_LONG',
    what: string,
    n: number,
    max: number,
  ): EdfError {
    return new EdfError(code, `${what} of ${n} bytes or more exceeds the limit of ${max}`);
  }
}
