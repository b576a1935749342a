// The Erlang term model. JS has natural values for numbers, binaries, lists and booleans; for
// everything else (atoms, tuples, improper lists, bit strings, funs, pids, refs, ports, maps with
// arbitrary keys, floats that look like integers) this file defines small explicit classes, so a
// term decoded from the wire re-encodes to the same term. Mapping in one place:
//
//   integer      → number (|n| ≤ 2^53-1) or bigint (beyond); both encode back as integers
//   float        → number when it has a fraction, ErlFloat when integral (1.0, -0.0, 1e300)
//   atom         → ErlAtom, except true/false → boolean
//   binary       → Uint8Array (a JS string encodes as a UTF-8 binary too)
//   bit string   → ErlBitString (bytes + bit count of the last byte)
//   [] / list    → Array (proper); ErlImproperList (non-[] tail); "abc" → [97, 98, 99]
//   tuple        → ErlTuple
//   map          → ErlMap (any keys: tuples, lists, maps, pids...)
//   pid/ref/port → ErlPid / ErlRef / ErlPort (a connection of a node decodes pids as ergo-ts
//                  PIDs; ergo-ts PID, Ref and Alias values encode as pids and refs)
//   fun M:F/A    → ErlExport; closures → ErlFun (kept whole so it can be sent back)

import { Alias, PID, Ref, type Atom } from 'ergo-ts';
import { EtfError } from './errors.js';

/** Any value this package encodes or decodes as an Erlang term. */
export type Term =
  | number
  | bigint
  | boolean
  | string
  | Uint8Array
  | ErlFloat
  | ErlAtom
  | ErlTuple
  | ErlImproperList
  | ErlBitString
  | ErlMap
  | ErlPid
  | ErlRef
  | ErlPort
  | ErlExport
  | ErlFun
  | PID
  | Ref
  | Alias
  | readonly Term[]
  | ReadonlyMap<Term, Term>
  | TermObject;

/** A plain object encodes as a map with atom keys (`{a: 1}` → `#{a => 1}`); decoding gives an ErlMap. */
export interface TermObject {
  readonly [key: string]: Term;
}

/**
 * An Erlang atom. At most 255 characters. Compare with {@link isAtom} or `.name`. `N` is the
 * name as a type (`ErlAtom<'ok'>`, what `atom('ok')` gives), for typed protocols (`erlangSchema`).
 */
export class ErlAtom<N extends string = string> {
  constructor(readonly name: N) {}
  toString(): string {
    return /^[a-z][A-Za-z0-9_@]*$/.test(this.name) ? this.name : `'${this.name.replace(/['\\]/g, '\\$&')}'`;
  }
}

/** Shorthand for `new ErlAtom(name)`, typed by the name (`atom('ok')` is an `ErlAtom<'ok'>`). */
export function atom<const N extends string>(name: N): ErlAtom<N> {
  return new ErlAtom(name);
}

/** True if `t` is an atom (named `name`, when given). */
export function isAtom(t: unknown, name?: string): t is ErlAtom {
  return t instanceof ErlAtom && (name === undefined || t.name === name);
}

/** A float whose value is integral (`1.0`, `-0.0`): a plain JS number would encode as an integer. */
export class ErlFloat {
  constructor(readonly value: number) {}
  toString(): string {
    return Object.is(this.value, -0)
      ? '-0.0'
      : Number.isFinite(this.value) && Number.isInteger(this.value)
        ? `${this.value}.0`
        : String(this.value);
  }
}

/**
 * An Erlang tuple. Iterable, so `const [tag, value] = t` works. `T` types the elements
 * (`tuple(atom('ok'), 1)` is an `ErlTuple<readonly [ErlAtom<'ok'>, 1]>`), for typed protocols.
 */
export class ErlTuple<T extends readonly unknown[] = readonly Term[]> {
  readonly elements: T;
  constructor(elements: T) {
    this.elements = elements;
  }
  get length(): number {
    return this.elements.length;
  }
  /** The element at 0-based `i` (Erlang's `element(i+1, T)`). */
  get(i: number): T[number] | undefined {
    return this.elements[i];
  }
  [Symbol.iterator](): Iterator<T[number]> {
    return this.elements[Symbol.iterator]();
  }
  /** Erlang's notation, e.g. `{shutdown,x}` (see {@link formatTerm}). */
  toString(): string {
    return formatTerm(this as unknown as Term);
  }
}

/** Shorthand for `new ErlTuple([...elements])`, typed by its elements. */
export function tuple<const T extends readonly Term[]>(...elements: T): ErlTuple<T> {
  return new ErlTuple(elements);
}

/**
 * A list whose tail is not `[]`: `[1, 2 | 3]` is `new ErlImproperList([1, 2], 3)`. `E` and `U`
 * type the elements and the tail (for typed protocols).
 */
export class ErlImproperList<E = Term, U = Term> {
  constructor(
    /** At least one element. */
    readonly elements: readonly E[],
    /** Anything but a proper list (`[]` or an array). */
    readonly tail: U,
  ) {}
  /** Erlang's notation, e.g. `[alias|#Ref<...>]`. */
  toString(): string {
    return formatTerm(this as unknown as Term);
  }
}

/**
 * A bit string whose length is not a multiple of 8: `<<5:3>>` is `bytes = [0xa0], bits = 3`.
 * `bits` (1..8) counts the used high-order bits of the last byte; the unused low bits are zero.
 */
export class ErlBitString {
  constructor(
    readonly bytes: Uint8Array,
    readonly bits: number,
  ) {}
}

/** A process identifier. `id` and `serial` are 32-bit (with V4_NC they form one 64-bit number). */
export class ErlPid {
  constructor(
    readonly node: string,
    readonly id: number,
    readonly serial: number,
    readonly creation: number,
  ) {}
  toString(): string {
    return `<${this.node}.${this.id}.${this.serial}>`;
  }
}

/** A reference (also what an alias or a monitor ref is): 1..5 32-bit words. */
export class ErlRef {
  constructor(
    readonly node: string,
    readonly creation: number,
    readonly ids: readonly number[],
  ) {}
  toString(): string {
    return `#Ref<${this.node}.${[...this.ids].reverse().join('.')}>`;
  }
}

/** A port identifier. `id` is 64-bit (V4_PORT_EXT above 2^32-1), hence a bigint. */
export class ErlPort {
  constructor(
    readonly node: string,
    readonly id: bigint,
    readonly creation: number,
  ) {}
  toString(): string {
    return `#Port<${this.node}.${this.id}>`;
  }
}

/** An external fun `fun Module:Function/Arity`. */
export class ErlExport {
  constructor(
    readonly module: string,
    readonly fun: string,
    readonly arity: number,
  ) {}
}

/** A local fun (closure), opaque to JS but kept whole so it can be passed back to Erlang. */
export class ErlFun {
  constructor(
    readonly arity: number,
    /** 16 bytes: MD5 of the module's code. */
    readonly uniq: Uint8Array,
    readonly index: number,
    readonly module: string,
    readonly oldIndex: number,
    readonly oldUniq: number,
    readonly pid: ErlPid,
    readonly freeVars: readonly Term[],
  ) {}
}

/**
 * An Erlang map. Keys are any terms and compare by value (`termKey`): `{x, y}` as a key finds
 * an entry stored under another `{x, y}` tuple. Insertion order is kept but means nothing to
 * Erlang.
 */
export class ErlMap {
  readonly #entries = new Map<string, [Term, Term]>();

  constructor(entries?: Iterable<readonly [Term, Term]>) {
    if (entries !== undefined) for (const [k, v] of entries) this.set(k, v);
  }

  /** Number of entries. */
  get size(): number {
    return this.#entries.size;
  }
  /** The value stored under a key equal (`=:=`) to `key`. @throws EtfError if `key` is not a term. */
  get(key: Term): Term | undefined {
    return this.#entries.get(termKey(key))?.[1];
  }
  /** Whether a key equal to `key` is present. @throws EtfError if `key` is not a term. */
  has(key: Term): boolean {
    return this.#entries.has(termKey(key));
  }
  /** Stores `value` under `key`, replacing the entry of an equal key. @throws EtfError if `key` is not a term. */
  set(key: Term, value: Term): this {
    this.#entries.set(termKey(key), [key, value]);
    return this;
  }
  /** Removes the entry of a key equal to `key`. @throws EtfError if `key` is not a term. */
  delete(key: Term): boolean {
    return this.#entries.delete(termKey(key));
  }
  /** @internal Adds unless present; false if the key was there (decoders reject duplicates). */
  addNew(key: Term, value: Term): boolean {
    const k = termKey(key);
    if (this.#entries.has(k)) return false;
    this.#entries.set(k, [key, value]);
    return true;
  }
  /** The entries as `[key, value]` pairs, in insertion order. */
  *entries(): IterableIterator<[Term, Term]> {
    for (const e of this.#entries.values()) yield [e[0], e[1]];
  }
  /** The keys, in insertion order. */
  *keys(): IterableIterator<Term> {
    for (const e of this.#entries.values()) yield e[0];
  }
  /** The values, in insertion order. */
  *values(): IterableIterator<Term> {
    for (const e of this.#entries.values()) yield e[1];
  }
  [Symbol.iterator](): IterableIterator<[Term, Term]> {
    return this.entries();
  }
}

/**
 * A canonical string for a term: equal terms (Erlang `=:=`) give equal keys, so it can key a JS
 * Map. @throws EtfError `ERR_ETF_ENCODE` for a value that is not a term, `ERR_ETF_TOO_DEEP` for a
 * cyclic one.
 */
export function termKey(t: Term): string {
  // The hot case (call and monitor bookkeeping keys every call by its ref): no parts array.
  if (t instanceof ErlRef) return refKey(t);
  const parts: string[] = [];
  keyInto(t, parts, 0);
  return parts.join('');
}

const MAX_KEY_DEPTH = 10000;

/** {@link termKey} of a reference. */
function refKey(r: ErlRef): string {
  const ids = r.ids;
  let k = `R${r.node.length}:${r.node}.${r.creation}.`;
  for (let i = 0; i < ids.length; i++) k += i === 0 ? `${ids[i]}` : `.${ids[i]}`;
  return k + ';';
}

function keyInto(t: Term, out: string[], depth: number): void {
  if (depth > MAX_KEY_DEPTH)
    throw new EtfError('ERR_ETF_TOO_DEEP', `term nested deeper than ${MAX_KEY_DEPTH} (a cyclic value?)`);
  switch (typeof t) {
    case 'number':
      if (Number.isInteger(t)) out.push('i', String(t), ';');
      else out.push('f', String(t), ';');
      return;
    case 'bigint':
      out.push('i', t.toString(), ';');
      return;
    case 'boolean':
      out.push('a', t ? '4:true' : '5:false');
      return;
    case 'string': {
      const b = Buffer.from(t, 'utf8');
      out.push('b', String(b.length), ':', b.toString('latin1'));
      return;
    }
    case 'object':
    case 'undefined':
    case 'function':
    case 'symbol':
      break; // objects below (the rest has no term: refused there)
  }
  if (t instanceof Uint8Array) {
    out.push('b', String(t.length), ':', Buffer.from(t.buffer, t.byteOffset, t.length).toString('latin1'));
  } else if (Array.isArray(t)) {
    out.push('[');
    for (const e of t as readonly Term[]) keyInto(e, out, depth + 1);
    out.push(']');
  } else if (t instanceof ErlAtom) {
    // true/false atoms and booleans are the same term
    out.push('a', String(t.name.length), ':', t.name);
  } else if (t instanceof ErlFloat) {
    out.push('f', Object.is(t.value, -0) ? '-0' : String(t.value), ';');
  } else if (t instanceof ErlTuple) {
    out.push('{');
    for (const e of t.elements) keyInto(e, out, depth + 1);
    out.push('}');
  } else if (t instanceof ErlImproperList) {
    out.push('[');
    for (const e of t.elements) keyInto(e, out, depth + 1);
    out.push('|');
    keyInto(t.tail, out, depth + 1);
    out.push(']');
  } else if (t instanceof ErlBitString) {
    out.push(
      'B',
      String(t.bits),
      '/',
      String(t.bytes.length),
      ':',
      Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.length).toString('latin1'),
    );
  } else if (t instanceof ErlMap || t instanceof Map) {
    const ks: string[] = [];
    for (const [k, v] of t as Iterable<[Term, Term]>) ks.push(termKey(k) + '=>' + termKey(v));
    ks.sort();
    out.push('#{', ks.join(','), '}');
  } else if (t instanceof PID) {
    keyInto(pidToErl(t), out, depth);
  } else if (t instanceof Ref || t instanceof Alias) {
    keyInto(refToErl(t), out, depth);
  } else if (t instanceof ErlPid) {
    out.push(
      'P',
      String(t.node.length),
      ':',
      t.node,
      '.',
      String(t.id),
      '.',
      String(t.serial),
      '.',
      String(t.creation),
      ';',
    );
  } else if (t instanceof ErlRef) {
    out.push(refKey(t));
  } else if (t instanceof ErlPort) {
    out.push('O', String(t.node.length), ':', t.node, '.', t.id.toString(), '.', String(t.creation), ';');
  } else if (t instanceof ErlExport) {
    out.push('E', String(t.module.length), ':', t.module, String(t.fun.length), ':', t.fun, '/', String(t.arity), ';');
  } else if (t instanceof ErlFun) {
    out.push(
      'F',
      Buffer.from(t.uniq).toString('hex'),
      '.',
      String(t.index),
      '.',
      String(t.oldIndex),
      '.',
      String(t.oldUniq),
      '.',
      t.module,
      '.',
    );
    keyInto(t.pid, out, depth + 1);
    out.push('(');
    for (const e of t.freeVars) keyInto(e, out, depth + 1);
    out.push(')');
  } else if (
    t !== null &&
    typeof t === 'object' &&
    (Object.getPrototypeOf(t) === Object.prototype || Object.getPrototypeOf(t) === null)
  ) {
    const ks: string[] = [];
    for (const k of Object.keys(t)) ks.push(`a${k.length}:${k}=>` + termKey((t as TermObject)[k]!));
    ks.sort();
    out.push('#{', ks.join(','), '}');
  } else {
    throw new EtfError('ERR_ETF_ENCODE', `${t === null ? 'null' : typeof t} is not an Erlang term`);
  }
}

/** Erlang's exact equality (`=:=`) over the term model: `1 =/= 1.0`, `true =:= atom('true')`. @throws EtfError as {@link termKey}. */
export function termEqual(a: Term, b: Term): boolean {
  if (a === b) return true;
  return termKey(a) === termKey(b);
}

/** Largest pid serial whose ergo-ts PID id (`id + serial * 2^32`) is still an exact JS number. */
const MAX_SAFE_SERIAL = 0x1fffff;

/**
 * The ergo-ts PID of an Erlang pid: same node and creation, `id + serial * 2^32` as the id (the
 * 64-bit process number of V4_NC), so it converts back exactly ({@link pidToErl}). Undefined when
 * the serial is too large for an exact JS number (beyond 2^21; OTP never gets there in practice).
 */
export function erlToPid(p: ErlPid): PID | undefined {
  if (p.serial > MAX_SAFE_SERIAL) return undefined;
  return new PID(p.node as Atom, p.id + p.serial * 0x100000000, p.creation);
}

/** The Erlang pid of an ergo-ts PID (the inverse of {@link erlToPid}). @throws EtfError when the id or creation does not fit. */
export function pidToErl(p: PID): ErlPid {
  if (!Number.isSafeInteger(p.id) || p.id < 0)
    throw new EtfError('ERR_ETF_ENCODE', `pid id ${p.id} is not a 64-bit process number`);
  if (!Number.isInteger(p.creation) || p.creation < 0 || p.creation > 0xffffffff)
    throw new EtfError('ERR_ETF_ENCODE', `pid creation ${p.creation} is not 32-bit`);
  return new ErlPid(p.node, p.id % 0x100000000, Math.floor(p.id / 0x100000000), p.creation);
}

/**
 * The Erlang reference of an ergo-ts Ref or Alias: its three ids as three 32-bit words.
 * @throws EtfError when an id is not a 32-bit unsigned integer.
 */
export function refToErl(r: Ref | Alias): ErlRef {
  for (const w of r.id) {
    if (!Number.isInteger(w) || w < 0 || w > 0xffffffff)
      throw new EtfError('ERR_ETF_ENCODE', `reference word ${w} of ${r} is not 32-bit`);
  }
  return new ErlRef(r.node, r.creation, [r.id[0], r.id[1], r.id[2]]);
}

/**
 * A term in Erlang's notation (`{shutdown,{badarith,[1,2]}}`, `<<"text">>`, `#{a => 1}`), for
 * logs and error messages. Output longer than `max` characters ends with `...`.
 */
export function formatTerm(t: Term, max = 300): string {
  const out: string[] = [];
  let len = 0;
  const put = (s: string): boolean => {
    out.push(s);
    len += s.length;
    return len < max;
  };
  const seq = (items: readonly Term[], open: string, close: string, tail?: Term): boolean => {
    if (!put(open)) return false;
    for (let i = 0; i < items.length; i++) {
      if (i > 0 && !put(',')) return false;
      if (!walk(items[i]!)) return false;
    }
    if (tail !== undefined && !(put('|') && walk(tail))) return false;
    return put(close);
  };
  const walk = (x: Term): boolean => {
    if (typeof x === 'string') return put(`<<${JSON.stringify(x)}/utf8>>`);
    if (typeof x === 'number' || typeof x === 'bigint' || typeof x === 'boolean') return put(String(x));
    if (x instanceof Uint8Array) {
      const printable = x.every((b) => b >= 0x20 && b < 0x7f);
      return put(printable ? `<<${JSON.stringify(Buffer.from(x).toString('latin1'))}>>` : `<<${[...x].join(',')}>>`);
    }
    if (Array.isArray(x)) return seq(x as readonly Term[], '[', ']');
    if (x instanceof ErlTuple) return seq(x.elements, '{', '}');
    if (x instanceof ErlImproperList) return seq(x.elements, '[', ']', x.tail);
    if (x instanceof ErlMap) {
      if (!put('#{')) return false;
      let first = true;
      for (const [k, v] of x) {
        if (!first && !put(',')) return false;
        first = false;
        if (!(walk(k) && put(' => ') && walk(v))) return false;
      }
      return put('}');
    }
    if (x instanceof ErlExport) return put(`fun ${x.module}:${x.fun}/${x.arity}`);
    if (x instanceof ErlFun) return put(`#Fun<${x.module}.${x.index}>`);
    if (x instanceof ErlBitString) return put(`<<...:${(x.bytes.length - 1) * 8 + x.bits}>>`);
    if (x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype) {
      return walk(new ErlMap(Object.entries(x as TermObject).map(([k, v]) => [atom(k), v] as const)));
    }
    return put(String(x));
  };
  walk(t);
  const s = out.join('');
  return s.length > max ? `${s.slice(0, max)}...` : s;
}
