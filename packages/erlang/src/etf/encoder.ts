import { Alias, PID, Ref } from 'ergo-ts';
// ETF encoder: the term model → bytes, choosing the tags OTP 25 itself writes with
// `term_to_binary(T, [{minor_version, 2}])` (UTF-8 atoms, NEW_FLOAT, NEW_PID, NEWER_REFERENCE,
// STRING_EXT for short lists of bytes), so encoded terms are byte-identical to OTP's. Atoms may go
// through a distribution header's atom cache (see atom_cache.ts) instead of being written inline.

import { EtfError } from './errors.js';
import { atomChars, stackExhausted } from './decoder.js';
import { resolveEtfLimits, type EtfLimits } from './limits.js';
import * as T from './tags.js';
import {
  ErlAtom,
  ErlBitString,
  ErlExport,
  ErlFloat,
  ErlFun,
  ErlImproperList,
  ErlMap,
  ErlPid,
  pidToErl,
  refToErl,
  ErlPort,
  ErlRef,
  ErlTuple,
  type Term,
} from './terms.js';

/** Chooses ATOM_CACHE_REF indexes for atoms while a distribution message is encoded. */
export interface AtomRefSink {
  /** The message-local ref index for `name`, or -1 to write the atom inline. */
  ref(name: string): number;
}

/** Options of {@link encodeTerm}. */
export interface EncodeOptions {
  /** Limits (defaults: {@link DEFAULT_ETF_LIMITS}). */
  limits?: Partial<EtfLimits>;
  /** @internal Atom cache refs of the distribution message being written. */
  atomRefs?: AtomRefSink;
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** @internal A growable output buffer. */
export class TermWriter {
  buf: Buffer;
  pos = 0;
  readonly limits: Readonly<EtfLimits>;
  readonly atomRefs: AtomRefSink | undefined;

  constructor(limits: Readonly<EtfLimits>, atomRefs?: AtomRefSink, initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
    this.limits = limits;
    this.atomRefs = atomRefs;
  }

  reserve(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    if (need > this.limits.maxMessageSize) {
      throw new EtfError(
        'ERR_ETF_MESSAGE_TOO_LARGE',
        `encoded term exceeds ${this.limits.maxMessageSize} bytes (maxMessageSize)`,
      );
    }
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(Math.min(size, Math.max(need, this.limits.maxMessageSize)));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  u8(v: number): void {
    this.reserve(1);
    this.buf[this.pos++] = v;
  }
  u16(v: number): void {
    this.reserve(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }
  u32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
  }
  raw(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** The bytes written so far (a view). */
  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Writes one term; nesting deeper than the JavaScript stack allows fails with `ERR_ETF_TOO_DEEP`. */
  term(t: Term, depth: number): void {
    try {
      this.value(t, depth);
    } catch (e) {
      if (e instanceof RangeError) throw stackExhausted();
      throw e;
    }
  }

  private value(t: Term, depth: number): void {
    switch (typeof t) {
      case 'number':
        if (Number.isInteger(t)) this.integer(t);
        else if (Number.isFinite(t)) this.float(t);
        else throw new EtfError('ERR_ETF_ENCODE', `${t} has no Erlang term`);
        return;
      case 'bigint':
        this.bigint(t);
        return;
      case 'boolean':
        this.atom(t ? 'true' : 'false');
        return;
      case 'string': {
        const n = Buffer.byteLength(t, 'utf8');
        this.binaryHeader(n);
        this.reserve(n);
        this.pos += this.buf.write(t, this.pos, 'utf8');
        return;
      }
      case 'object':
      case 'undefined':
      case 'function':
      case 'symbol':
        break; // objects below (the rest has no term: refused there)
    }
    if (t instanceof Uint8Array) {
      this.binaryHeader(t.length);
      this.raw(t);
      return;
    }
    if (depth >= this.limits.maxDepth)
      throw new EtfError('ERR_ETF_TOO_DEEP', `nesting deeper than maxDepth ${this.limits.maxDepth} (a cyclic value?)`);
    const d = depth + 1;
    if (Array.isArray(t)) {
      this.list(t as readonly Term[], d);
    } else if (t instanceof ErlAtom) {
      this.atom(t.name);
    } else if (t instanceof ErlTuple) {
      const n = t.elements.length;
      if (n <= 255) {
        this.u8(T.SMALL_TUPLE_EXT);
        this.u8(n);
      } else {
        this.u8(T.LARGE_TUPLE_EXT);
        this.u32(n);
      }
      for (let i = 0; i < n; i++) this.value(t.elements[i]!, d);
    } else if (t instanceof ErlMap || t instanceof Map) {
      this.u8(T.MAP_EXT);
      this.u32(t.size);
      for (const [k, v] of t as Iterable<[Term, Term]>) {
        this.value(k, d);
        this.value(v, d);
      }
    } else if (t instanceof ErlFloat) {
      if (!Number.isFinite(t.value)) throw new EtfError('ERR_ETF_ENCODE', `${t.value} has no Erlang term`);
      this.float(t.value);
    } else if (t instanceof ErlImproperList) {
      if (t.elements.length === 0) throw new EtfError('ERR_ETF_ENCODE', 'an improper list needs at least one element');
      this.u8(T.LIST_EXT);
      this.u32(t.elements.length);
      for (const e of t.elements) this.value(e, d);
      this.value(t.tail, d);
    } else if (t instanceof ErlBitString) {
      this.bitString(t);
    } else if (t instanceof ErlPid) {
      this.pid(t);
    } else if (t instanceof PID) {
      this.pid(pidToErl(t));
    } else if (t instanceof Ref || t instanceof Alias) {
      this.value(refToErl(t), depth);
    } else if (t instanceof ErlRef) {
      const n = t.ids.length;
      if (n < 1 || n > 5) throw new EtfError('ERR_ETF_ENCODE', `a reference has 1..5 words, not ${n}`);
      this.u8(T.NEWER_REFERENCE_EXT);
      this.u16(n);
      this.atom(t.node);
      this.u32(checkU32(t.creation, 'ref creation'));
      for (const id of t.ids) this.u32(checkU32(id, 'ref word'));
    } else if (t instanceof ErlPort) {
      if (t.id < 0n || t.id > 0xffffffffffffffffn)
        throw new EtfError('ERR_ETF_ENCODE', `port id ${t.id} is not a 64-bit unsigned integer`);
      const v4 = t.id > 0xffffffffn;
      this.u8(v4 ? T.V4_PORT_EXT : T.NEW_PORT_EXT);
      this.atom(t.node);
      if (v4) {
        this.reserve(8);
        this.buf.writeBigUInt64BE(t.id, this.pos);
        this.pos += 8;
      } else this.u32(Number(t.id));
      this.u32(checkU32(t.creation, 'port creation'));
    } else if (t instanceof ErlExport) {
      if (!Number.isInteger(t.arity) || t.arity < 0 || t.arity > 255)
        throw new EtfError('ERR_ETF_ENCODE', `export arity ${t.arity} is not 0..255`);
      this.u8(T.EXPORT_EXT);
      this.atom(t.module);
      this.atom(t.fun);
      this.u8(T.SMALL_INTEGER_EXT);
      this.u8(t.arity);
    } else if (t instanceof ErlFun) {
      this.fun(t, d);
    } else if (isPlainObject(t)) {
      // a plain object is a map with atom keys: {a: 1} → #{a => 1}
      const keys = Object.keys(t);
      this.u8(T.MAP_EXT);
      this.u32(keys.length);
      for (const k of keys) {
        this.atom(k);
        this.value((t as Record<string, Term>)[k]!, d);
      }
    } else {
      throw new EtfError('ERR_ETF_ENCODE', `${describe(t)} has no Erlang term`);
    }
  }

  atom(name: string): void {
    const n = Buffer.byteLength(name, 'utf8');
    if (n > 255 || name.length > this.limits.maxAtomChars) {
      const chars = atomChars(name);
      if (chars > this.limits.maxAtomChars) {
        throw new EtfError(
          'ERR_ETF_ATOM_TOO_LONG',
          `atom of ${chars} characters (maxAtomChars ${this.limits.maxAtomChars})`,
        );
      }
    }
    const sink = this.atomRefs;
    if (sink !== undefined) {
      const i = sink.ref(name);
      if (i >= 0) {
        this.u8(T.ATOM_CACHE_REF);
        this.u8(i);
        return;
      }
    }
    if (n <= 255) {
      this.reserve(2 + n);
      this.buf[this.pos++] = T.SMALL_ATOM_UTF8_EXT;
      this.buf[this.pos++] = n;
    } else {
      this.reserve(3 + n);
      this.buf[this.pos++] = T.ATOM_UTF8_EXT;
      this.buf.writeUInt16BE(n, this.pos);
      this.pos += 2;
    }
    this.pos += this.buf.write(name, this.pos, 'utf8');
  }

  pid(p: ErlPid): void {
    this.u8(T.NEW_PID_EXT);
    this.atom(p.node);
    this.u32(checkU32(p.id, 'pid id'));
    this.u32(checkU32(p.serial, 'pid serial'));
    this.u32(checkU32(p.creation, 'pid creation'));
  }

  private integer(v: number): void {
    if (v >= 0 && v <= 255) {
      this.u8(T.SMALL_INTEGER_EXT);
      this.u8(v);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
      this.u8(T.INTEGER_EXT);
      this.reserve(4);
      this.buf.writeInt32BE(v, this.pos);
      this.pos += 4;
    } else this.bigint(BigInt(v));
  }

  private bigint(v: bigint): void {
    if (v >= INT32_MIN && v <= INT32_MAX) {
      this.integer(Number(v));
      return;
    }
    const neg = v < 0n;
    let hex = (neg ? -v : v).toString(16);
    if (hex.length & 1) hex = '0' + hex;
    const n = hex.length / 2;
    if (n > this.limits.maxBigBytes)
      throw new EtfError('ERR_ETF_BIG_TOO_LARGE', `big integer of ${n} bytes (maxBigBytes ${this.limits.maxBigBytes})`);
    if (n <= 255) {
      this.u8(T.SMALL_BIG_EXT);
      this.u8(n);
    } else {
      this.u8(T.LARGE_BIG_EXT);
      this.u32(n);
    }
    this.u8(neg ? 1 : 0);
    const digits = Buffer.from(hex, 'hex').reverse();
    this.raw(digits);
  }

  private float(v: number): void {
    this.reserve(9);
    this.buf[this.pos++] = T.NEW_FLOAT_EXT;
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  private binaryHeader(n: number): void {
    if (n > this.limits.maxBinaryBytes)
      throw new EtfError(
        'ERR_ETF_BINARY_TOO_LONG',
        `binary of ${n} bytes (maxBinaryBytes ${this.limits.maxBinaryBytes})`,
      );
    this.u8(T.BINARY_EXT);
    this.u32(n);
  }

  private bitString(b: ErlBitString): void {
    const n = b.bytes.length;
    if (!Number.isInteger(b.bits) || b.bits < 1 || b.bits > 8 || n === 0) {
      throw new EtfError(
        'ERR_ETF_ENCODE',
        `a bit string needs at least one byte and 1..8 used bits, got ${n} bytes and ${b.bits} bits`,
      );
    }
    if (b.bits === 8) {
      this.binaryHeader(n);
      this.raw(b.bytes);
      return;
    }
    if (n > this.limits.maxBinaryBytes)
      throw new EtfError(
        'ERR_ETF_BINARY_TOO_LONG',
        `bit string of ${n} bytes (maxBinaryBytes ${this.limits.maxBinaryBytes})`,
      );
    this.u8(T.BIT_BINARY_EXT);
    this.u32(n);
    this.u8(b.bits);
    this.raw(b.bytes);
    this.buf[this.pos - 1] = b.bytes[n - 1]! & ((0xff << (8 - b.bits)) & 0xff);
  }

  private list(t: readonly Term[], d: number): void {
    const n = t.length;
    if (n === 0) {
      this.u8(T.NIL_EXT);
      return;
    }
    if (n <= 0xffff) {
      let bytes = true;
      for (let i = 0; i < n; i++) {
        const e = t[i];
        if (typeof e !== 'number' || !Number.isInteger(e) || e < 0 || e > 255) {
          bytes = false;
          break;
        }
      }
      if (bytes) {
        this.reserve(3 + n);
        this.buf[this.pos++] = T.STRING_EXT;
        this.buf.writeUInt16BE(n, this.pos);
        this.pos += 2;
        for (let i = 0; i < n; i++) this.buf[this.pos++] = t[i] as number;
        return;
      }
    }
    this.u8(T.LIST_EXT);
    this.u32(n);
    for (let i = 0; i < n; i++) this.value(t[i]!, d);
    this.u8(T.NIL_EXT);
  }

  private fun(f: ErlFun, d: number): void {
    if (f.uniq.length !== 16) throw new EtfError('ERR_ETF_ENCODE', `fun uniq must be 16 bytes, got ${f.uniq.length}`);
    this.u8(T.NEW_FUN_EXT);
    const sizeAt = this.pos;
    this.u32(0);
    this.u8(f.arity);
    this.raw(f.uniq);
    this.u32(checkU32(f.index, 'fun index'));
    this.u32(f.freeVars.length);
    this.atom(f.module);
    this.integer(f.oldIndex);
    this.integer(f.oldUniq);
    this.pid(f.pid);
    for (const v of f.freeVars) this.value(v, d);
    this.buf.writeUInt32BE(this.pos - sizeAt, sizeAt);
  }
}

function checkU32(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
    throw new EtfError('ERR_ETF_ENCODE', `${what} ${v} is not a 32-bit unsigned integer`);
  return v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v !== 'object') return typeof v;
  const c = (v as { constructor?: { name?: string } }).constructor?.name;
  return c ? `an instance of ${c}` : 'an object';
}

/**
 * Encodes one term without the 131 version byte.
 * @throws EtfError `ERR_ETF_ENCODE` for a value with no Erlang term, or a limit code.
 */
export function encodeTerm(t: Term, options?: EncodeOptions): Buffer {
  const w = new TermWriter(resolveEtfLimits(options?.limits), options?.atomRefs);
  w.term(t, 0);
  return Buffer.from(w.result());
}
