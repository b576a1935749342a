// The stores' default codec: values come back exactly as they were written, or the write is
// refused. JSON alone turns a Map into `{}` and a Date into a string without a word; this codec
// keeps Map, Set, Date, bigint, RegExp, typed arrays and ArrayBuffer, `undefined` (in objects,
// arrays, Maps, Sets and alone), array holes, null-prototype objects, and -0, NaN and ±Infinity,
// at any depth in plain objects and arrays; anything else (a function, a symbol, a class instance,
// an Error, a Promise, a WeakMap, a cycle) is refused with ERR_ENTITY_UNSTORABLE, naming where.
//
// Text format. A value that JSON keeps exactly (plain objects and arrays of strings, finite
// numbers, booleans and null: most states) is stored as plain JSON, byte for byte what `jsonCodec`
// writes; one walk decides it, then `JSON.stringify`. Any other value is stored as `~1` followed
// by tagged JSON, where a special value is an object `{"~t": tag, "v": payload}` and a user
// object that has its own `~t` key is escaped as `{"~t": "Object", "v": {...}}`. No JSON text
// starts with `~`, so decoding reads plain JSON with `JSON.parse` alone — rows written by
// `jsonCodec` decode exactly as before, a `~t` key in them included — and revives tags only in
// text that starts with the marker.

import { ErrEntityUnstorable } from './errors.js';
import type { StoreCodec } from './store.js';

/** What starts the text of a value stored with tags (never the first character of JSON). */
const TAGGED = '~1';
/** The key that marks a tag object in tagged text. */
const TAG = '~t';
/** Deeper than this, the fast walk leaves the value to the tagged walk (which finds cycles). */
const FAST_DEPTH = 64;

/** The typed arrays (and Buffer) kept, by their prototype: a subclass of one is refused. */
const viewTags = new Map<object, { readonly tag: string; readonly make: (bytes: ArrayBuffer) => ArrayBufferView }>();
const viewMakers = new Map<string, (bytes: ArrayBuffer) => ArrayBufferView>();
function keepView(ctor: unknown, tag: string, make: (bytes: ArrayBuffer) => ArrayBufferView): void {
  if (typeof ctor !== 'function') return; // Float16Array: only where this Node has it
  viewTags.set((ctor as { prototype: object }).prototype, { tag, make });
  viewMakers.set(tag, make);
}
for (const ctor of [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  (globalThis as { Float16Array?: unknown }).Float16Array,
] as (new (b: ArrayBuffer) => ArrayBufferView)[])
  keepView(ctor, ctor?.name, (b) => new ctor(b));
keepView(DataView, 'DataView', (b) => new DataView(b));
keepView(Buffer, 'Buffer', (b) => Buffer.from(b));

/**
 * True when `JSON.stringify` keeps `v` exactly: strings, finite numbers other than -0, booleans,
 * null, and plain objects and arrays of them (not deeper than {@link FAST_DEPTH}). No allocation.
 */
function plainJson(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return v - v === 0 && (v !== 0 || 1 / v > 0);
    case 'object': {
      if (v === null) return true;
      if (depth > FAST_DEPTH) return false;
      if (Array.isArray(v)) {
        if (Object.getPrototypeOf(v) !== Array.prototype) return false;
        // An undefined element (or a hole) is not plain: the tagged walk keeps it.
        for (let i = 0; i < v.length; i++) if (!plainJson(v[i], depth + 1)) return false;
        return true;
      }
      if (Object.getPrototypeOf(v) !== Object.prototype) return false;
      for (const k in v) if (!plainJson((v as Record<string, unknown>)[k], depth + 1)) return false;
      return true;
    }
    case 'undefined':
    case 'bigint':
    case 'function':
    case 'symbol':
      return false;
  }
}

/** Where the tagged walk is: a step per level, read only to name the place of a refusal. */
type Step = string | number | { readonly mapKey: unknown; readonly index: number } | { readonly entry: string };

/** Thrown inside the walk; {@link structuredCodec} turns it into ERR_ENTITY_UNSTORABLE with the path. */
class Refusal {
  constructor(
    readonly reason: string,
    readonly path: readonly Step[],
  ) {}
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function mapKeyText(k: unknown, index: number): string {
  switch (typeof k) {
    case 'string':
      return JSON.stringify(k);
    case 'number':
    case 'boolean':
      return String(k);
    case 'bigint':
      return `${k}n`;
    case 'undefined':
      return 'undefined';
    case 'object':
      return k === null ? 'null' : `<key ${index}>`;
    case 'function':
    case 'symbol':
      return `<key ${index}>`;
  }
}

/** `state.items.get("a").when`: the readable place of a refused value. */
function pathText(root: string, path: readonly Step[]): string {
  let s = root;
  for (const step of path) {
    if (typeof step === 'number') s += `[${step}]`;
    else if (typeof step === 'string') s += IDENTIFIER.test(step) ? `.${step}` : `[${JSON.stringify(step)}]`;
    else if ('entry' in step) s += step.entry;
    else s += `.get(${mapKeyText(step.mapKey, step.index)})`;
  }
  return s;
}

function describe(v: unknown): string {
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return 'a symbol';
  if (v instanceof Error) return `an Error (${v.name}; store its name, message and code as plain fields)`;
  if (v instanceof Promise) return 'a Promise';
  const proto = Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null;
  const name = proto?.constructor?.name;
  const which = typeof name === 'string' && name !== '' ? name : 'an anonymous class';
  return `an instance of ${which} (only plain objects, arrays, Map, Set, Date, RegExp, typed arrays and ArrayBuffer are kept)`;
}

function bytes(view: ArrayBufferView | ArrayBuffer): string {
  return ArrayBuffer.isView(view)
    ? Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64')
    : Buffer.from(view).toString('base64');
}

function unbytes(text: string): ArrayBuffer {
  const b = Buffer.from(text, 'base64');
  const out = new ArrayBuffer(b.length);
  new Uint8Array(out).set(b);
  return out;
}

/** Defines `key` on `o` as a plain data property (an own `__proto__` key stays a key). */
function put(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

/** The tagged walk: a JSON-able copy of `v` with its special values as tag objects. */
class Tagger {
  readonly #path: Step[] = [];
  /** The objects on the way down from the root (a cycle comes back to one of them). */
  readonly #open = new Set<object>();

  tag(v: unknown): unknown {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        if (v - v === 0) return v === 0 && 1 / v < 0 ? { [TAG]: 'Number', v: '-0' } : v;
        return { [TAG]: 'Number', v: String(v) };
      case 'bigint':
        return { [TAG]: 'BigInt', v: v.toString() };
      case 'undefined':
        return { [TAG]: 'undefined' };
      case 'object':
        if (v === null) return null;
        if (this.#open.has(v)) throw this.#refuse('a cycle (the value contains itself here)');
        this.#open.add(v);
        try {
          return this.#object(v);
        } finally {
          this.#open.delete(v);
        }
      case 'function':
      case 'symbol':
        throw this.#refuse(describe(v));
    }
  }

  #refuse(reason: string): Refusal {
    return new Refusal(reason, [...this.#path]);
  }

  #at(step: Step, v: unknown): unknown {
    this.#path.push(step);
    const out = this.tag(v);
    this.#path.pop();
    return out;
  }

  #object(v: object): unknown {
    const proto = Object.getPrototypeOf(v) as object | null;
    if (proto === Object.prototype || proto === null) return this.#plain(v as Record<string, unknown>, proto === null);
    if (proto === Array.prototype) {
      const a = v as unknown[];
      const out = new Array<unknown>(a.length);
      for (let i = 0; i < a.length; i++) out[i] = i in a ? this.#at(i, a[i]) : { [TAG]: 'hole' };
      return out;
    }
    if (proto === Map.prototype) {
      const out: unknown[] = [];
      let i = 0;
      for (const [k, x] of v as Map<unknown, unknown>) {
        out.push([this.#at({ entry: `.keys()[${i}]` }, k), this.#at({ mapKey: k, index: i }, x)]);
        i++;
      }
      return { [TAG]: 'Map', v: out };
    }
    if (proto === Set.prototype) {
      const out: unknown[] = [];
      let i = 0;
      for (const x of v as Set<unknown>) out.push(this.#at({ entry: `.values()[${i++}]` }, x));
      return { [TAG]: 'Set', v: out };
    }
    if (proto === Date.prototype) {
      const t = (v as Date).getTime();
      return { [TAG]: 'Date', v: Number.isNaN(t) ? null : t };
    }
    if (proto === RegExp.prototype) return { [TAG]: 'RegExp', v: [(v as RegExp).source, (v as RegExp).flags] };
    if (proto === ArrayBuffer.prototype) return { [TAG]: 'ArrayBuffer', v: bytes(v as ArrayBuffer) };
    const view = viewTags.get(proto);
    if (view !== undefined) return { [TAG]: view.tag, v: bytes(v as ArrayBufferView) };
    throw this.#refuse(describe(v));
  }

  #plain(o: Record<string, unknown>, nullProto: boolean): unknown {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o)) put(out, k, this.#at(k, o[k]));
    if (nullProto) return { [TAG]: 'NullObject', v: out };
    return Object.hasOwn(o, TAG) ? { [TAG]: 'Object', v: out } : out;
  }
}

const HOLE = Symbol('hole');

/** Revives tagged JSON (parsed, so every object is fresh and may be changed in place). */
function revive(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    let holes = false;
    for (let i = 0; i < v.length; i++) {
      const x = revive(v[i]);
      if (x === HOLE) holes = true;
      v[i] = x;
    }
    if (holes) for (let i = 0; i < v.length; i++) if (v[i] === HOLE) delete v[i];
    return v;
  }
  const o = v as Record<string, unknown>;
  const tag = o[TAG];
  if (tag === undefined) {
    for (const k of Object.keys(o)) put(o, k, revive(o[k]));
    return o;
  }
  const x = o.v;
  switch (tag as string) {
    case 'undefined':
      return undefined;
    case 'hole':
      return HOLE;
    case 'Number':
      return x === '-0' ? -0 : Number(x);
    case 'BigInt':
      return BigInt(x as string);
    case 'Date':
      return new Date(x === null ? Number.NaN : (x as number));
    case 'RegExp':
      return new RegExp((x as string[])[0]!, (x as string[])[1]);
    case 'Map':
      return new Map((x as [unknown, unknown][]).map(([k, y]) => [revive(k), revive(y)]));
    case 'Set':
      return new Set((x as unknown[]).map(revive));
    case 'Object':
      return reviveFields(x as Record<string, unknown>);
    case 'NullObject': {
      const out = Object.create(null) as Record<string, unknown>;
      for (const k of Object.keys(x as object)) out[k] = revive((x as Record<string, unknown>)[k]);
      return out;
    }
    case 'ArrayBuffer':
      return unbytes(x as string);
    default: {
      const make = viewMakers.get(tag as string);
      if (make === undefined) throw new TypeError(`unknown tag ${JSON.stringify(tag)} in stored text`);
      return make(unbytes(x as string));
    }
  }
}

/** An escaped object's own fields revived (its `~t` key is a key, not a tag). */
function reviveFields(o: Record<string, unknown>): Record<string, unknown> {
  for (const k of Object.keys(o)) put(o, k, revive(o[k]));
  return o;
}

/**
 * The default codec of every store (memory, SQLite, PostgreSQL): a value is read back exactly as
 * it was written, or refused when written.
 *
 * Kept: plain objects (own enumerable string keys, as JSON; a null-prototype object stays one),
 * arrays (holes included), strings, numbers (-0, NaN, ±Infinity included), booleans, null,
 * `undefined` (a property whose value is undefined stays, with its key), bigint, Map, Set, Date
 * (an invalid one too), RegExp (source and flags; `lastIndex` restarts at 0), ArrayBuffer, Buffer,
 * DataView and every typed array, nested in any way. An object reached twice is stored twice (it
 * comes back as two equal copies).
 *
 * Refused with ERR_ENTITY_UNSTORABLE, naming the place (`state.items.get("a").when: a function`),
 * and nothing is written: functions, symbols, instances of any other class (an Error, a Promise,
 * a WeakMap, a class of yours), and a value that contains itself.
 *
 * Text: a value JSON keeps exactly is plain JSON (what {@link jsonCodec} writes); any other is
 * `~1` and tagged JSON. Text written by `jsonCodec` decodes exactly as `jsonCodec` decodes it.
 */
export const structuredCodec: StoreCodec = Object.freeze({
  encode(value: unknown, root = 'value'): string {
    if (plainJson(value, 0)) return JSON.stringify(value);
    try {
      return TAGGED + JSON.stringify(new Tagger().tag(value));
    } catch (e) {
      if (e instanceof Refusal) throw ErrEntityUnstorable.with(`${pathText(root, e.path)}: ${e.reason}`);
      throw e;
    }
  },
  decode(text: string): unknown {
    if (text.charCodeAt(0) !== 126) return JSON.parse(text) as unknown; // '~'
    if (!text.startsWith(TAGGED)) throw new TypeError(`unknown stored format ${JSON.stringify(text.slice(0, 8))}`);
    return revive(JSON.parse(text.slice(TAGGED.length)) as unknown);
  },
});
