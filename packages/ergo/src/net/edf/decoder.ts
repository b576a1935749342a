// The decoder: reads one EDF tagged value. It trusts nothing: every length and count is checked
// against the bytes left (counts times the element's minimum size) before anything is
// allocated, nesting is bounded, unknown tags/types/cache ids fail with a located EdfError.
// One decoder per connection and direction holds the caches the peer announced (§1.6).

import {
  ALIAS_T,
  ATOM,
  EVENT_T,
  FLOAT32,
  FLOAT64,
  INT,
  INT16,
  INT32,
  INT8,
  PID_T,
  PROCESSID_T,
  REF_T,
  SCALAR_BY_TAG,
  UINT,
  UINT16,
  UINT32,
  UINT64,
  UINT8,
} from './builtin.js';
import { makeArray, makeMap, makeSlice } from './composite.js';
import { stackless } from '../../lib/stackless.js';
import { EdfError, wrapForeign } from './errors.js';
import { resolveLimits, type EdfLimits } from './limits.js';
import { EdfReader } from './reader.js';
import type { EdfRegistry, RegisteredType } from './registry.js';
import { ATOM_CACHE_MIN_ID, ERROR_CACHE_MIN_ID, ERROR_NIL, TYPE_CACHE_MIN_ID, Tag } from './tags.js';
import { decodeTime } from './time.js';
import { Kind, Typed, type EdfType } from './type.js';
import { defaultRegistry } from './default.js';
import { JsTag, decodeJs } from './jsvalues.js';

/** Options of an {@link EdfDecoder}. Caches map the ids the *peer* announced to values. */
export interface EdfDecodeOptions {
  /** Where registered type names are looked up. Default: `defaultRegistry`. */
  registry?: EdfRegistry;
  /** Peer's atom cache: id (256..65535) → atom. */
  atomCache?: ReadonlyMap<number, string>;
  /** Peer's type cache: id (4096..65535) → registered type name. */
  typeCache?: ReadonlyMap<number, string>;
  /** Peer's error cache: id (32768..65534) → error (use this side's sentinels for known texts). */
  errorCache?: ReadonlyMap<number, Error>;
  /** Wire atom → local atom, applied after the cache (the inverse of the sender's mapping). */
  atomMapping?: ReadonlyMap<string, string>;
  /**
   * Exact mode: values whose default JS mapping would re-encode as another Go type come back
   * as {@link Typed} (int8…uint64, int, uint, float32, integral float64, atom, typed
   * slices/maps/arrays) and time as GoTime, so that encoding the result gives the same bytes.
   * Default false (plain JS values).
   */
  exact?: boolean;
  /** Limits; see {@link EdfLimits}. */
  limits?: Partial<EdfLimits>;
}

const DESC_CACHE_MAX_ENTRIES = 512;
const DESC_CACHE_MAX_KEY = 256;

function hex(b: number): string {
  return '0x' + b.toString(16).padStart(2, '0');
}

/**
 * Decodes EDF values. Not re-entrant (an unmarshal callback must not use the same decoder).
 * Lifecycle: create one per connection and direction (or use the module function `decode`),
 * call {@link EdfDecoder.decode} per message. Keeps a reference to the last input until the
 * next call.
 *
 * Every method throws only {@link EdfError}; decode errors carry the byte offset.
 */
export class EdfDecoder extends EdfReader {
  /** Registry of user and framework types. */
  readonly registry: EdfRegistry;
  /** Limits in force. */
  readonly limits: Readonly<EdfLimits>;
  /** @internal Exact mode (see {@link EdfDecodeOptions.exact}). */
  exact: boolean;
  /** @internal */ atomCache: ReadonlyMap<number, string> | undefined;
  /** @internal */ typeCache: ReadonlyMap<number, string> | undefined;
  /** @internal */ errorCache: ReadonlyMap<number, Error> | undefined;
  /** @internal */ atomMapping: ReadonlyMap<string, string> | undefined;
  /** @internal */ depth = 0;
  /** @internal */ zeroBudget = 0;
  readonly #maxDepth: number;
  readonly #maxAtom: number;
  readonly #maxString: number;
  readonly #maxError: number;
  readonly #maxBinary: number;
  readonly #descCache = new Map<string, EdfType>();
  #busy = false;

  /** @throws EdfError `ERR_EDF_CACHE` if a cache is not a Map; `ERR_EDF_ENCODE` for bad limits. */
  constructor(options: EdfDecodeOptions = {}) {
    super();
    const limits = resolveLimits(options.limits);
    this.limits = limits;
    this.registry = options.registry ?? defaultRegistry;
    this.exact = options.exact === true;
    for (const k of ['atomCache', 'typeCache', 'errorCache', 'atomMapping'] as const) {
      const m = options[k];
      if (m !== undefined && !(m instanceof Map)) throw new EdfError('ERR_EDF_CACHE', `${k} must be a Map`);
    }
    this.atomCache = options.atomCache;
    this.typeCache = options.typeCache;
    this.errorCache = options.errorCache;
    this.atomMapping = options.atomMapping?.size ? options.atomMapping : undefined;
    this.#maxDepth = limits.maxDepth;
    this.#maxAtom = limits.maxAtomBytes;
    this.#maxString = limits.maxStringBytes;
    this.#maxError = limits.maxErrorBytes;
    this.#maxBinary = limits.maxBinaryBytes;
  }

  /**
   * Decodes the tagged value at `bytes[start]`. Bytes after the value are allowed (Ergo
   * tolerates them); afterwards {@link EdfReader.pos} is where the value ended.
   * @throws EdfError with the byte offset: truncated or malformed input (`ERR_EDF_DECODE`),
   *   unknown registered type (`ERR_EDF_UNREGISTERED`), unknown cache id (`ERR_EDF_CACHE`),
   *   a limit exceeded (its own code).
   */
  decode(bytes: Uint8Array, start = 0, end: number = bytes?.length ?? 0): unknown {
    if (this.#busy) throw new EdfError('ERR_EDF_DECODE', 'decoder is busy (re-entrant use from a callback)');
    this.setInput(bytes, start, end);
    if (end - start > this.limits.maxMessageSize) {
      throw this.fail(
        'ERR_EDF_MESSAGE_TOO_LARGE',
        `message of ${end - start} bytes exceeds maxMessageSize (${this.limits.maxMessageSize})`,
      );
    }
    this.depth = 0;
    this.trying = 0;
    this.zeroBudget = this.limits.maxZeroSizeElements;
    this.#busy = true;
    try {
      return this.tagged();
    } catch (err) {
      const e = err instanceof EdfError ? err : wrapForeign('ERR_EDF_DECODE', 'unexpected failure', err);
      throw e.finishDecode(this.pos);
    } finally {
      this.#busy = false;
    }
  }

  /**
   * @internal The tagged string at `bytes[start]` (tag {@link Tag.String}) as `decode` would
   * return it, without its set-up; undefined when anything is off (too long, truncated, busy):
   * then `decode` reports it.
   */
  stringAt(bytes: Uint8Array, start: number, end: number): string | undefined {
    if (this.#busy || end - start > this.limits.maxMessageSize || end - start < 3) return undefined;
    const n = (bytes[start + 1]! << 8) | bytes[start + 2]!;
    if (n > this.#maxString || start + 3 + n > end) return undefined;
    this.setInput(bytes, start + 3, end);
    return this.utf8(n);
  }

  /** @internal Reads a tagged value (what an `any` slot holds). */
  tagged(): unknown {
    if (this.pos >= this.end) throw this.eod(1);
    const t = this.buf[this.pos++]!;
    switch (t) {
      case Tag.String:
        return this.str();
      case Tag.Int64:
        return this.i64();
      case Tag.Int:
        return this.exact ? new Typed(INT, this.i64()) : this.i64();
      case Tag.Float64: {
        const v = this.f64();
        return this.exact && Number.isSafeInteger(v) && (v !== 0 || 1 / v > 0) ? new Typed(FLOAT64, v) : v;
      }
      case Tag.Bool:
        return this.u8() === 1;
      case Tag.Nil:
        return null;
      case Tag.Atom:
        return this.exact ? new Typed(ATOM, this.atom()) : this.atom();
      case Tag.Binary:
        return this.binary();
      case Tag.PID:
        return PID_T.dec(this);
      case Tag.ProcessID:
        return PROCESSID_T.dec(this);
      case Tag.Ref:
        return REF_T.dec(this);
      case Tag.Alias:
        return ALIAS_T.dec(this);
      case Tag.Event:
        return EVENT_T.dec(this);
      case Tag.Error:
        return this.errBody();
      case Tag.Time:
        return decodeTime(this);
      case Tag.Reg:
        return this.#registered();
      case Tag.Type:
        return this.#described();
      case Tag.Any: {
        this.#enter();
        const v = this.tagged();
        this.depth--;
        return v;
      }
      case Tag.Int8:
        return this.exact ? new Typed(INT8, this.i8()) : this.i8();
      case Tag.Int16:
        return this.exact ? new Typed(INT16, this.i16()) : this.i16();
      case Tag.Int32:
        return this.exact ? new Typed(INT32, this.i32()) : this.i32();
      case Tag.Uint8:
        return this.exact ? new Typed(UINT8, this.u8()) : this.u8();
      case Tag.Uint16:
        return this.exact ? new Typed(UINT16, this.u16()) : this.u16();
      case Tag.Uint32:
        return this.exact ? new Typed(UINT32, this.u32()) : this.u32();
      case Tag.Uint64:
        return this.exact ? new Typed(UINT64, this.u64()) : this.u64();
      case Tag.Uint:
        return this.exact ? new Typed(UINT, this.u64()) : this.u64();
      case Tag.Float32:
        return this.exact ? new Typed(FLOAT32, this.f32()) : this.f32();
      default:
        // The ergo-ts JS-value extension (JsTag, 0xe0..0xe9): only ergo-ts peers send it.
        if (t >= JsTag.Undefined && t <= JsTag.Sparse) return decodeJs(this, t);
        this.pos--;
        throw this.fail('ERR_EDF_DECODE', `unknown type tag ${hex(t)}`);
    }
  }

  #enter(): void {
    if (++this.depth > this.#maxDepth) {
      throw this.fail('ERR_EDF_TOO_DEEP', `nesting deeper than maxDepth (${this.#maxDepth})`);
    }
  }

  #registered(): unknown {
    this.#enter();
    const rt = this.regType();
    const v = rt.dec(this);
    this.depth--;
    return rt.wrapInAny ? new Typed(rt, v) : v;
  }

  #described(): unknown {
    this.#enter();
    const t = this.#descriptorBlock();
    const v = t.dec(this);
    this.depth--;
    return this.exact ? new Typed(t, v) : v;
  }

  /** @internal Reads a registered type reference (`u16` name length + name, or a cache id). */
  regType(limit = this.end): RegisteredType {
    if (limit - this.pos < 2) throw this.eod(2);
    const at = this.pos;
    const n = this.u16();
    if (n >= TYPE_CACHE_MIN_ID) {
      const tc = this.typeCache;
      if (tc === undefined) {
        this.pos = at;
        throw this.fail('ERR_EDF_CACHE', `type cache id ${n} without a type cache`);
      }
      const name = tc.get(n);
      if (name === undefined) {
        this.pos = at;
        throw this.fail('ERR_EDF_CACHE', `unknown type cache id ${n}`);
      }
      const t = this.registry.type(name);
      if (t === undefined) {
        this.pos = at;
        throw this.fail('ERR_EDF_UNREGISTERED', `unknown registered type ${name} (type cache id ${n})`);
      }
      return t;
    }
    if (limit - this.pos < n) throw this.eod(n);
    const t = this.registry.typeByBytes(this.buf, this.pos, n);
    if (t === undefined) {
      const name = this.utf8(n);
      this.pos = at;
      throw this.fail('ERR_EDF_UNREGISTERED', `unknown registered type ${JSON.stringify(name)}`);
    }
    this.pos += n;
    return t;
  }

  /** `u16 len` + descriptor; the described type must be a slice, map or array. */
  #descriptorBlock(): EdfType {
    const m = this.u16();
    if (this.end - this.pos < m) throw this.eod(m);
    if (m === 0) throw this.fail('ERR_EDF_DECODE', 'empty type descriptor');
    const start = this.pos;
    const end = start + m;
    let key: string | undefined;
    if (m <= DESC_CACHE_MAX_KEY) {
      key = '';
      const b = this.buf;
      for (let i = start; i < end; i++) key += String.fromCharCode(b[i]!);
      const hit = this.#descCache.get(key);
      if (hit !== undefined) {
        this.pos = end;
        return hit;
      }
    }
    const t = this.descType(end);
    if (this.pos !== end) throw this.fail('ERR_EDF_DECODE', `${end - this.pos} extra bytes in type descriptor`);
    if (t.kind !== Kind.Slice && t.kind !== Kind.Map && t.kind !== Kind.Array) {
      this.pos = start;
      throw this.fail('ERR_EDF_DECODE', `a type descriptor block must describe a slice, map or array, not ${t.name}`);
    }
    if (key !== undefined) {
      if (this.#descCache.size >= DESC_CACHE_MAX_ENTRIES) this.#descCache.clear();
      this.#descCache.set(key, t);
    }
    return t;
  }

  /** @internal Parses one type from a descriptor ending at `end`. */
  descType(end: number): EdfType {
    if (this.pos >= end) throw this.fail('ERR_EDF_DECODE', 'truncated type descriptor');
    this.#enter();
    const b = this.buf[this.pos++]!;
    let t: EdfType;
    switch (b) {
      case Tag.Slice:
        t = makeSlice(this.descType(end), false);
        break;
      case Tag.Map: {
        const at = this.pos;
        const k = this.descType(end);
        if (!k.comparable) {
          this.pos = at;
          throw this.fail('ERR_EDF_DECODE', `invalid map key type ${k.name}`);
        }
        t = makeMap(k, this.descType(end), false);
        break;
      }
      case Tag.Array: {
        if (end - this.pos < 4) throw this.fail('ERR_EDF_DECODE', 'truncated array length in type descriptor');
        const n = this.u32();
        t = makeArray(n, this.descType(end), false);
        break;
      }
      case Tag.Reg:
        t = this.regType(end);
        break;
      default: {
        const s = SCALAR_BY_TAG[b];
        if (s === undefined) {
          this.pos--;
          throw this.fail('ERR_EDF_DECODE', `unknown type tag ${hex(b)} in type descriptor`);
        }
        t = s;
      }
    }
    this.depth--;
    return t;
  }

  /**
   * @internal Checks a count read from the wire before allocating: `n` elements of at least
   * `min` bytes must fit in what is left; zero-size elements draw on maxZeroSizeElements.
   */
  count(n: number, min: number): void {
    if (min > 0) {
      if (n * min > this.end - this.pos) {
        throw this.fail('ERR_EDF_DECODE', `count ${n} needs at least ${n * min} bytes, ${this.end - this.pos} left`);
      }
    } else if (n > 0) {
      this.zeroBudget -= n;
      if (this.zeroBudget < 0) {
        throw this.fail(
          'ERR_EDF_ZERO_SIZE_ELEMENTS',
          `more zero-size elements than maxZeroSizeElements (${this.limits.maxZeroSizeElements})`,
        );
      }
    }
  }

  /** @internal String body. */
  str(): string {
    const n = this.u16();
    if (n > this.#maxString) {
      this.pos -= 2;
      throw this.fail('ERR_EDF_STRING_TOO_LONG', `string of ${n} bytes exceeds maxStringBytes (${this.#maxString})`);
    }
    return this.utf8(n);
  }

  /** @internal Atom body (cache id or inline), then the atom mapping. */
  atom(): string {
    const n = this.u16();
    let a: string;
    if (n >= ATOM_CACHE_MIN_ID) {
      const ac = this.atomCache;
      const x = ac?.get(n);
      if (x === undefined) {
        this.pos -= 2;
        throw this.fail(
          'ERR_EDF_CACHE',
          ac === undefined ? `atom cache id ${n} without an atom cache` : `unknown atom cache id ${n}`,
        );
      }
      a = x;
    } else {
      if (n > this.#maxAtom) {
        this.pos -= 2;
        throw this.fail('ERR_EDF_ATOM_TOO_LONG', `atom of ${n} bytes exceeds maxAtomBytes (${this.#maxAtom})`);
      }
      a = this.atomText(n);
    }
    const am = this.atomMapping;
    if (am !== undefined) {
      const m = am.get(a);
      if (m !== undefined) return m;
    }
    return a;
  }

  /** @internal Error body: nil, cached id, or text (registered texts give their error object). */
  errBody(): Error | null {
    const x = this.u16();
    if (x === ERROR_NIL) return null;
    if (x >= ERROR_CACHE_MIN_ID) {
      const ec = this.errorCache;
      const e = ec?.get(x);
      if (e === undefined) {
        this.pos -= 2;
        throw this.fail(
          'ERR_EDF_CACHE',
          ec === undefined ? `error cache id ${x} without an error cache` : `unknown error cache id ${x}`,
        );
      }
      return e;
    }
    if (x > this.#maxError) {
      this.pos -= 2;
      throw this.fail('ERR_EDF_ERROR_TOO_LONG', `error text of ${x} bytes exceeds maxErrorBytes (${this.#maxError})`);
    }
    const text = this.utf8(x);
    // A peer's error text: its stack here would show the decoder only (see stackless).
    return this.registry.errorFor(text) ?? stackless(() => new Error(text));
  }

  /**
   * @internal Set while decoding an input nobody else holds (an inflated packet): binaries of at
   * least 64 KiB are then views into it instead of copies (a large copy would hold the event loop
   * for as long as the inflation it follows).
   */
  ownsInput = false;

  /** @internal Binary body (a copy, pooled when small: bytesPooled; or a view of an owned input). */
  binary(): Uint8Array {
    const n = this.u32();
    if (n > this.#maxBinary) {
      this.pos -= 4;
      throw this.fail('ERR_EDF_BINARY_TOO_LONG', `binary of ${n} bytes exceeds maxBinaryBytes (${this.#maxBinary})`);
    }
    return this.ownsInput && n >= 65536 ? this.bytesView(n) : this.bytesPooled(n);
  }
}
