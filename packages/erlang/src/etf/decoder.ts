// ETF decoder: bytes → the term model of terms.ts. Decodes every tag OTP can produce (the legacy
// ones included) except FUN_EXT (obsolete) and LOCAL_EXT (node-local by definition). Lengths and
// counts are checked against the bytes left before anything is allocated, recursion is bounded
// by maxDepth, and every failure is an EtfError carrying the byte offset.

import { EtfError } from './errors.js';
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
  ErlPort,
  ErlRef,
  ErlTuple,
  type Term,
} from './terms.js';

/** Options of {@link decodeTerm}. */
export interface DecodeOptions {
  /** Limits (defaults: {@link DEFAULT_ETF_LIMITS}). */
  limits?: Partial<EtfLimits>;
  /** The atoms of this message's distribution header, for ATOM_CACHE_REF (tag 82). */
  atomRefs?: readonly string[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** @internal The decoder state for one input. */
export class TermReader {
  readonly buf: Buffer;
  pos: number;
  readonly end: number;
  readonly limits: Readonly<EtfLimits>;
  readonly atomRefs: readonly string[] | undefined;
  /** What a pid term becomes (undefined: an ErlPid); funs keep their ErlPid. */
  mapPid: ((p: ErlPid) => Term) | undefined = undefined;

  constructor(
    input: Uint8Array,
    offset: number,
    end: number,
    limits: Readonly<EtfLimits>,
    atomRefs?: readonly string[],
  ) {
    this.buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    this.pos = offset;
    this.end = end;
    this.limits = limits;
    this.atomRefs = atomRefs;
  }

  fail(reason: string, at = this.pos): EtfError {
    return new EtfError('ERR_ETF_DECODE', reason, at);
  }

  need(n: number): void {
    if (n > this.end - this.pos) throw this.fail(`truncated: need ${n} bytes, ${this.end - this.pos} left`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** Checks that `count` elements of at least `minBytes` each can still follow. */
  count(count: number, minBytes: number, what: string): void {
    if (count * minBytes > this.end - this.pos)
      throw this.fail(`${what} count ${count} exceeds the ${this.end - this.pos} bytes left`);
  }

  /**
   * Reads one term. Nesting is bounded by `maxDepth` and by the JavaScript stack: a term nested
   * deeper than the stack allows fails with `ERR_ETF_TOO_DEEP` too (never a RangeError).
   */
  term(depth: number): Term {
    try {
      return this.value(depth);
    } catch (e) {
      if (e instanceof RangeError) throw stackExhausted(this.pos);
      throw e;
    }
  }

  private value(depth: number): Term {
    const at = this.pos;
    const tag = this.u8();
    switch (tag) {
      case T.SMALL_INTEGER_EXT:
        return this.u8();
      case T.INTEGER_EXT:
        return this.i32();
      case T.SMALL_BIG_EXT:
        return this.big(this.u8(), at);
      case T.LARGE_BIG_EXT:
        return this.big(this.u32(), at);
      case T.NEW_FLOAT_EXT: {
        this.need(8);
        const v = this.buf.readDoubleBE(this.pos);
        this.pos += 8;
        return this.float(v, at);
      }
      case T.FLOAT_EXT: {
        const text = this.bytes(31).toString('latin1');
        const nul = text.indexOf('\0');
        const s = (nul < 0 ? text : text.slice(0, nul)).trim();
        if (!/^[-+]?\d+(\.\d*)?([eE][-+]?\d+)?$/.test(s))
          throw this.fail(`FLOAT_EXT text ${JSON.stringify(s)} is not a number`, at);
        return this.float(Number(s), at);
      }
      case T.ATOM_EXT:
      case T.SMALL_ATOM_EXT:
      case T.ATOM_UTF8_EXT:
      case T.SMALL_ATOM_UTF8_EXT:
      case T.ATOM_CACHE_REF: {
        this.pos = at;
        const name = this.atomName();
        return name === 'true' ? true : name === 'false' ? false : new ErlAtom(name);
      }
      case T.SMALL_TUPLE_EXT:
        return this.tuple(this.u8(), depth, at);
      case T.LARGE_TUPLE_EXT:
        return this.tuple(this.u32(), depth, at);
      case T.NIL_EXT:
        return [];
      case T.STRING_EXT: {
        const n = this.u16();
        const b = this.bytes(n);
        const out = new Array<number>(n);
        for (let i = 0; i < n; i++) out[i] = b[i]!;
        return out;
      }
      case T.LIST_EXT:
        return this.list(depth, at);
      case T.BINARY_EXT: {
        const n = this.u32();
        this.binaryLimit(n, at);
        return Buffer.from(this.bytes(n));
      }
      case T.BIT_BINARY_EXT: {
        const n = this.u32();
        const bits = this.u8();
        this.binaryLimit(n, at);
        if (n === 0 ? bits !== 0 : bits < 1 || bits > 8)
          throw this.fail(`BIT_BINARY_EXT with ${n} bytes cannot use ${bits} bits of the last byte`, at);
        const data = Buffer.from(this.bytes(n));
        if (n === 0 || bits === 8) return data;
        data[n - 1] = data[n - 1]! & ((0xff << (8 - bits)) & 0xff);
        return new ErlBitString(data, bits);
      }
      case T.MAP_EXT:
        return this.map(depth, at);
      case T.NEW_PID_EXT:
      case T.PID_EXT: {
        this.pos = at;
        const p = this.pid();
        return this.mapPid === undefined ? p : this.mapPid(p);
      }
      case T.NEWER_REFERENCE_EXT:
      case T.NEW_REFERENCE_EXT: {
        const len = this.u16();
        if (len < 1 || len > 5) throw this.fail(`reference with ${len} words (1..5 allowed)`, at);
        const node = this.atomName();
        const creation = tag === T.NEWER_REFERENCE_EXT ? this.u32() : this.u8();
        const ids = new Array<number>(len);
        for (let i = 0; i < len; i++) ids[i] = this.u32();
        return new ErlRef(node, creation, ids);
      }
      case T.REFERENCE_EXT: {
        const node = this.atomName();
        const id = this.u32();
        return new ErlRef(node, this.u8(), [id]);
      }
      case T.NEW_PORT_EXT: {
        const node = this.atomName();
        const id = this.u32();
        return new ErlPort(node, BigInt(id), this.u32());
      }
      case T.V4_PORT_EXT: {
        const node = this.atomName();
        this.need(8);
        const id = this.buf.readBigUInt64BE(this.pos);
        this.pos += 8;
        return new ErlPort(node, id, this.u32());
      }
      case T.PORT_EXT: {
        const node = this.atomName();
        const id = this.u32();
        return new ErlPort(node, BigInt(id), this.u8());
      }
      case T.EXPORT_EXT: {
        const module = this.atomName();
        const fun = this.atomName();
        const aAt = this.pos;
        if (this.u8() !== T.SMALL_INTEGER_EXT) throw this.fail('EXPORT_EXT arity is not a SMALL_INTEGER_EXT', aAt);
        return new ErlExport(module, fun, this.u8());
      }
      case T.NEW_FUN_EXT:
        return this.fun(depth, at);
      case T.FUN_EXT:
        throw this.fail('FUN_EXT (pre-R8 funs) is not supported', at);
      case T.LOCAL_EXT:
        throw this.fail('LOCAL_EXT is node-local and cannot be decoded here', at);
      default:
        throw this.fail(`unknown term tag ${tag}`, at);
    }
  }

  /** Reads an atom (any atom tag or a cache ref) and returns its text. */
  atomName(): string {
    const at = this.pos;
    const tag = this.u8();
    let name: string;
    switch (tag) {
      case T.ATOM_EXT:
        name = this.bytes(this.u16()).toString('latin1');
        break;
      case T.SMALL_ATOM_EXT:
        name = this.bytes(this.u8()).toString('latin1');
        break;
      case T.ATOM_UTF8_EXT:
      case T.SMALL_ATOM_UTF8_EXT: {
        const b = this.bytes(tag === T.ATOM_UTF8_EXT ? this.u16() : this.u8());
        if (isAscii(b)) {
          name = b.toString('latin1');
          break;
        }
        try {
          name = utf8.decode(b);
        } catch {
          throw this.fail('atom is not valid UTF-8', at);
        }
        break;
      }
      case T.ATOM_CACHE_REF: {
        const i = this.u8();
        const refs = this.atomRefs;
        if (refs === undefined || i >= refs.length) {
          throw new EtfError(
            'ERR_ETF_ATOM_CACHE',
            `ATOM_CACHE_REF ${i} outside the message's ${refs?.length ?? 0} atom refs`,
            at,
          );
        }
        return refs[i]!;
      }
      default:
        throw this.fail(`expected an atom, got tag ${tag}`, at);
    }
    if (name.length > this.limits.maxAtomChars && countCodePoints(name) > this.limits.maxAtomChars) {
      throw new EtfError(
        'ERR_ETF_ATOM_TOO_LONG',
        `atom of ${countCodePoints(name)} characters (maxAtomChars ${this.limits.maxAtomChars})`,
        at,
      );
    }
    return name;
  }

  private float(v: number, at: number): number | ErlFloat {
    if (!Number.isFinite(v)) throw this.fail('float is not finite', at);
    return Number.isInteger(v) ? new ErlFloat(v) : v;
  }

  private big(n: number, at: number): number | bigint {
    if (n > this.limits.maxBigBytes)
      throw new EtfError(
        'ERR_ETF_BIG_TOO_LARGE',
        `big integer of ${n} bytes (maxBigBytes ${this.limits.maxBigBytes})`,
        at,
      );
    const sign = this.u8();
    const digits = this.bytes(n);
    let v: bigint;
    if (n <= 6) {
      let x = 0;
      for (let i = n - 1; i >= 0; i--) x = x * 256 + digits[i]!;
      return sign === 0 ? x : x === 0 ? 0 : -x;
    }
    const hex = Buffer.from(digits).reverse().toString('hex');
    v = BigInt('0x' + hex);
    if (sign !== 0) v = -v;
    return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v;
  }

  private binaryLimit(n: number, at: number): void {
    if (n > this.limits.maxBinaryBytes)
      throw new EtfError(
        'ERR_ETF_BINARY_TOO_LONG',
        `binary of ${n} bytes (maxBinaryBytes ${this.limits.maxBinaryBytes})`,
        at,
      );
  }

  private deeper(depth: number, at: number): number {
    if (depth >= this.limits.maxDepth)
      throw new EtfError('ERR_ETF_TOO_DEEP', `nesting deeper than maxDepth ${this.limits.maxDepth}`, at);
    return depth + 1;
  }

  private tuple(arity: number, depth: number, at: number): ErlTuple {
    const d = this.deeper(depth, at);
    this.count(arity, 1, 'tuple element');
    const els = new Array<Term>(arity);
    for (let i = 0; i < arity; i++) els[i] = this.value(d);
    return new ErlTuple(els);
  }

  private list(depth: number, at: number): Term {
    const n = this.u32();
    const d = this.deeper(depth, at);
    this.count(n + 1, 1, 'list element');
    const els = new Array<Term>(n);
    for (let i = 0; i < n; i++) els[i] = this.value(d);
    const tail = this.value(d);
    if (n === 0) return tail;
    if (Array.isArray(tail)) return tail.length === 0 ? els : els.concat(tail as Term[]);
    if (tail instanceof ErlImproperList) return new ErlImproperList(els.concat(tail.elements as Term[]), tail.tail);
    return new ErlImproperList(els, tail);
  }

  private map(depth: number, at: number): ErlMap {
    const n = this.u32();
    const d = this.deeper(depth, at);
    this.count(n, 2, 'map entry');
    const m = new ErlMap();
    for (let i = 0; i < n; i++) {
      const kAt = this.pos;
      const k = this.value(d);
      const v = this.value(d);
      if (!m.addNew(k, v)) throw this.fail('duplicate map key', kAt);
    }
    return m;
  }

  pid(): ErlPid {
    const at = this.pos;
    const tag = this.u8();
    if (tag !== T.NEW_PID_EXT && tag !== T.PID_EXT) throw this.fail(`expected a pid, got tag ${tag}`, at);
    const node = this.atomName();
    const id = this.u32();
    const serial = this.u32();
    return new ErlPid(node, id, serial, tag === T.NEW_PID_EXT ? this.u32() : this.u8());
  }

  private integer(what: string): number {
    const at = this.pos;
    const tag = this.u8();
    if (tag === T.SMALL_INTEGER_EXT) return this.u8();
    if (tag === T.INTEGER_EXT) return this.i32();
    throw this.fail(`${what} is not an integer (tag ${tag})`, at);
  }

  private fun(depth: number, at: number): ErlFun {
    const d = this.deeper(depth, at);
    const sizeAt = this.pos;
    const size = this.u32();
    if (size < 4 || size > this.end - sizeAt)
      throw this.fail(`NEW_FUN_EXT size ${size} does not fit the ${this.end - sizeAt} bytes left`, at);
    const stop = sizeAt + size;
    const arity = this.u8();
    const uniq = Buffer.from(this.bytes(16));
    const index = this.u32();
    const numFree = this.u32();
    const module = this.atomName();
    const oldIndex = this.integer('NEW_FUN_EXT OldIndex');
    const oldUniq = this.integer('NEW_FUN_EXT OldUniq');
    const pid = this.pid();
    this.count(numFree, 1, 'fun free variable');
    const free = new Array<Term>(numFree);
    for (let i = 0; i < numFree; i++) free[i] = this.value(d);
    if (this.pos !== stop)
      throw this.fail(`NEW_FUN_EXT size ${size} does not match its content (${this.pos - sizeAt} bytes)`, at);
    return new ErlFun(arity, uniq, index, module, oldIndex, oldUniq, pid, free);
  }
}

/** The error of a term nested deeper than the JavaScript stack allows (a RangeError caught). */
export function stackExhausted(at = -1): EtfError {
  return new EtfError('ERR_ETF_TOO_DEEP', 'nesting deeper than the JavaScript stack allows (node --stack-size)', at);
}

function isAscii(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i]! >= 0x80) return false;
  return true;
}

function countCodePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) i++;
    n++;
  }
  return n;
}

/** @internal Code-point length, for the encoder's atom check. */
export const atomChars = countCodePoints;

/**
 * Decodes one term (without the 131 version byte) starting at `offset`.
 * @returns the term and the offset just after it.
 * @throws EtfError `ERR_ETF_DECODE` for malformed input, `ERR_ETF_ATOM_CACHE` for a cache ref
 *   without `atomRefs`, or a limit code.
 */
export function decodeTerm(input: Uint8Array, offset = 0, options?: DecodeOptions): { term: Term; end: number } {
  const limits = resolveEtfLimits(options?.limits);
  if (input.length > limits.maxMessageSize) {
    throw new EtfError(
      'ERR_ETF_MESSAGE_TOO_LARGE',
      `input of ${input.length} bytes (maxMessageSize ${limits.maxMessageSize})`,
    );
  }
  const r = new TermReader(input, offset, input.length, limits, options?.atomRefs);
  const term = r.term(0);
  return { term, end: r.pos };
}
