// A minimal built-in schema builder implementing Standard Schema v1, for protocols written
// without a schema library (zod, valibot and arktype schemas work the same way). Validation is
// synchronous, stops at the first issue and reports its path; it never copies or transforms the
// value (the output is the input), so a validated message is delivered as it arrived — except
// `object(shape, { fromMap: true })`, which delivers a Go map (a `Map`) as a plain object.

import type { StandardSchemaV1 } from './standard_schema.js';

/** A schema made by {@link schema}: a Standard Schema v1 whose input and output types are `T`. */
export interface Schema<T> extends StandardSchemaV1<T, T> {
  /** The first problem with `value` (path, message), or undefined when it matches. */
  check(value: unknown): SchemaIssue | undefined;
}

/** A problem found by a {@link Schema}: where and what. */
export interface SchemaIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/**
 * The type a schema (built-in or any Standard Schema) describes: its output, what a handler
 * receives (a transforming schema's output differs from its input).
 */
export type Infer<S> = S extends StandardSchemaV1<unknown, infer O> ? O : never;

/** The input type of a schema: what a sender may give (see {@link Infer} for the output). */
export type InferInput<S> = S extends StandardSchemaV1<infer I, unknown> ? I : never;

type Check = (value: unknown, path: PropertyKey[]) => SchemaIssue | undefined;

function issue(path: PropertyKey[], message: string): SchemaIssue {
  return { path: path.slice(), message };
}

/**
 * The issue for a value that none of several schemas (a protocol's messages, a union's options)
 * accepts: the deepest issue when one got further than the root (the most telling), else every
 * option's expectation at once (one option's "expected Put, got string" would wrongly suggest a
 * string is never valid when another option is a string literal).
 */
export function noneMatched(issues: readonly SchemaIssue[], value: unknown): SchemaIssue {
  let best = issues[0]!;
  for (const i of issues) if (i.path.length > best.path.length) best = i;
  if (issues.length === 1 || best.path.length > 0) return best;
  const wanted = issues.map((i) => i.message.replace(/^expected /, '').replace(/, got [^,]*$/, ''));
  return { path: [], message: `expected one of: ${wanted.join(' | ')}; got ${describe(value)}` };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return v.constructor?.name ?? 'object';
  return typeof v;
}

/** Turns a checked value into the value delivered (only `object({ fromMap })` and its parents have one). */
type Convert = (value: unknown) => unknown;

function make<T>(check: Check, convert?: Convert): Schema<T> {
  const schema: Schema<T> = {
    check: (value) => check(value, []),
    '~standard': {
      version: 1,
      vendor: 'ergo-ts',
      validate(value: unknown): StandardSchemaV1.Result<T> {
        const found = check(value, []);
        if (found !== undefined) return { issues: [found] };
        return { value: (convert === undefined ? value : convert(value)) as T };
      },
    },
  };
  checks.set(schema, check);
  if (convert !== undefined) converts.set(schema, convert);
  return schema;
}

/** The check function of each built-in schema, so composites call it directly with their path. */
const checks = new WeakMap<object, Check>();
/** The conversion of the built-in schemas that convert (a Go map read as an object). */
const converts = new WeakMap<object, Convert>();

/** The check of any Standard Schema: built-in ones directly, others through `~standard.validate`. */
function checkOf(schema: StandardSchemaV1): Check {
  const own = checks.get(schema);
  if (own !== undefined) return own;
  return (value, path) => {
    const r = schema['~standard'].validate(value);
    if (r instanceof Promise) return issue(path, 'asynchronous schema (not allowed in a protocol)');
    if (r.issues === undefined) return undefined;
    const first = r.issues[0];
    const sub = (first?.path ?? []).map((p) => (typeof p === 'object' ? p.key : p));
    return { path: [...path, ...sub], message: first?.message ?? 'invalid' };
  };
}

function primitive<T>(name: string, test: (v: unknown) => boolean): Schema<T> {
  return make<T>((v, path) => (test(v) ? undefined : issue(path, `expected ${name}, got ${describe(v)}`)));
}

type Shape = Record<string, StandardSchemaV1>;
type OptionalKeys<S extends Shape> = {
  [K in keyof S]: undefined extends Infer<S[K]> ? K : never;
}[keyof S];
type ObjectOf<S extends Shape> = { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & {
  [K in OptionalKeys<S>]?: Infer<S[K]>;
};
/** Flattens an intersection for readable hover types. */
type Flat<T> = { [K in keyof T]: T[K] } & {};

/** How a Map entry is named in an issue's path: its key when that is a string or number. */
function entryKey(k: unknown): PropertyKey {
  return typeof k === 'string' || typeof k === 'number' || typeof k === 'symbol' ? k : String(k);
}

/** Whether `v` is an object a record may be: not an array, Map or other collection, nor null. */
function isDictionary(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Set) && !ArrayBuffer.isView(v);
}

function recordSchema<V>(value: StandardSchemaV1<V, V>): Schema<Record<string, V>>;
function recordSchema<K extends string, V>(
  key: StandardSchemaV1<K, K>,
  value: StandardSchemaV1<V, V>,
): Schema<Record<K, V>>;
function recordSchema(a: StandardSchemaV1, b?: StandardSchemaV1): Schema<Record<string, unknown>> {
  const key = b === undefined ? undefined : a;
  const value = b === undefined ? a : b;
  const kc = key === undefined ? undefined : checkOf(key);
  const vc = checkOf(value);
  const vconv = converts.get(value);
  const entries = (v: object): Iterable<readonly [unknown, unknown]> =>
    v instanceof Map ? (v as Map<unknown, unknown>) : Object.entries(v);
  return make<Record<string, unknown>>(
    (v, path) => {
      if (!isDictionary(v)) return issue(path, `expected object, got ${describe(v)}`);
      for (const [k, item] of entries(v)) {
        if (typeof k !== 'string') return issue(path, `expected a Map with string keys, got a ${describe(k)} key`);
        path.push(k);
        const found = (kc === undefined ? undefined : kc(k, path)) ?? vc(item, path);
        path.pop();
        if (found !== undefined) return found;
      }
      return undefined;
    },
    (v) => {
      // A Map becomes a plain object (own data properties: a key "__proto__" stays a key).
      if (!(v instanceof Map) && vconv === undefined) return v;
      const o: Record<string, unknown> = {};
      for (const [k, item] of entries(v as object))
        Object.defineProperty(o, k as string, {
          value: vconv === undefined ? item : vconv(item),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      return o;
    },
  );
}

/**
 * The built-in schema builder. Every schema it makes is a Standard Schema v1 (vendor "ergo-ts"),
 * validated synchronously with the path of the first failing field. `schema.object` checks the named
 * properties of any object (a plain object or a class instance, such as a registered EDF struct)
 * and ignores others.
 */
export const schema = {
  /** Any string. */
  string: (): Schema<string> => primitive('string', (v) => typeof v === 'string'),
  /** Any finite number. */
  number: (): Schema<number> => primitive('number', (v) => typeof v === 'number' && Number.isFinite(v)),
  /** An integer number (a safe integer). */
  integer: (): Schema<number> => primitive('integer', (v) => Number.isSafeInteger(v)),
  /** A boolean. */
  boolean: (): Schema<boolean> => primitive('boolean', (v) => typeof v === 'boolean'),
  /** A bigint. */
  bigint: (): Schema<bigint> => primitive('bigint', (v) => typeof v === 'bigint'),
  /** A Uint8Array (EDF binary). */
  bytes: (): Schema<Uint8Array> => primitive('Uint8Array', (v) => v instanceof Uint8Array),
  /** A valid Date. */
  date: (): Schema<Date> => primitive('Date', (v) => v instanceof Date && !Number.isNaN(v.getTime())),
  /** Anything (no check): for a field whose type you do not constrain. */
  unknown: (): Schema<unknown> => make<unknown>(() => undefined),
  /** Anything, typed as `T`: a type-only declaration (nothing is checked at run time). */
  type: <T>(): Schema<T> => make<T>(() => undefined),
  /** Exactly `value` (compared with ===). */
  literal: <const L extends string | number | boolean | null>(value: L): Schema<L> =>
    make<L>((v, path) => (v === value ? undefined : issue(path, `expected ${JSON.stringify(value)}`))),
  /** One of the given literals. */
  enum: <const L extends readonly (string | number)[]>(values: L): Schema<L[number]> =>
    make<L[number]>((v, path) =>
      values.includes(v as L[number]) ? undefined : issue(path, `expected one of ${JSON.stringify(values)}`),
    ),
  /** `undefined` or the inner schema's type (as an object field: an optional property). */
  optional: <T>(inner: StandardSchemaV1<T, T>): Schema<T | undefined> => {
    const c = checkOf(inner);
    return make<T | undefined>((v, path) => (v === undefined ? undefined : c(v, path)));
  },
  /** `null` or the inner schema's type. */
  nullable: <T>(inner: StandardSchemaV1<T, T>): Schema<T | null> => {
    const c = checkOf(inner);
    return make<T | null>((v, path) => (v === null ? undefined : c(v, path)));
  },
  /** An array whose every element matches `item`. */
  array: <T>(item: StandardSchemaV1<T, T>): Schema<T[]> => {
    const c = checkOf(item);
    const ic = converts.get(item);
    return make<T[]>(
      (v, path) => {
        if (!Array.isArray(v)) return issue(path, `expected array, got ${describe(v)}`);
        for (let i = 0; i < v.length; i++) {
          path.push(i);
          const found = c(v[i], path);
          path.pop();
          if (found !== undefined) return found;
        }
        return undefined;
      },
      ic === undefined ? undefined : (v) => (v as unknown[]).map(ic),
    );
  },
  /**
   * An object with these properties (others are ignored). With `{ fromMap: true }` a `Map` whose
   * keys are strings is accepted too and delivered as a plain object of its entries: what a Go
   * peer's `map[string]any` arrives as. The conversion happens where the schema's output is
   * delivered (the boundary check, `parse`), also for such objects nested in this one.
   */
  object: <S extends Shape>(shape: S, options?: { readonly fromMap?: boolean }): Schema<Flat<ObjectOf<S>>> => {
    const fromMap = options?.fromMap === true;
    const keys = Object.keys(shape);
    const fields = keys.map((k) => [k, checkOf(shape[k] as StandardSchemaV1)] as const);
    const inner = keys.flatMap((k) => {
      const c = converts.get(shape[k] as object);
      return c === undefined ? [] : [[k, c] as const];
    });
    const convert: Convert | undefined =
      !fromMap && inner.length === 0
        ? undefined
        : (v) => {
            const o: Record<string, unknown> = v instanceof Map ? Object.fromEntries(v) : { ...(v as object) };
            for (const [k, c] of inner) if (o[k] !== undefined) o[k] = c(o[k]);
            return o;
          };
    return make<Flat<ObjectOf<S>>>((v, path) => {
      const isMap = fromMap && v instanceof Map;
      if (!isMap && (typeof v !== 'object' || v === null || Array.isArray(v)))
        return issue(path, `expected object, got ${describe(v)}`);
      if (isMap) {
        for (const key of (v as Map<unknown, unknown>).keys())
          if (typeof key !== 'string')
            return issue(path, `expected a Map with string keys, got a ${describe(key)} key`);
      }
      for (const [k, c] of fields) {
        path.push(k);
        const found = c(isMap ? (v as Map<string, unknown>).get(k) : (v as Record<string, unknown>)[k], path);
        path.pop();
        if (found !== undefined) return found;
      }
      return undefined;
    }, convert);
  },
  /**
   * An object used as a dictionary: every own property's value matches `value` (and its key
   * `key`, when given: e.g. an `enum` of the allowed keys). A `Map` whose keys are strings is
   * accepted too and delivered as a plain object of its entries: what a Go peer's
   * `map[string]T` arrives as. A record travels as a plain object (to a Go peer:
   * `map[string]any`; `Go.map(Go.string, Go.int64).of(record)` sends a typed Go map).
   */
  record: recordSchema,
  /**
   * A `Map` whose every key matches `key` and every value `value` (a Go `map[K]V` of any key
   * type arrives as a `Map`; one sent travels as `map[any]any` to a Go peer). The issue's path
   * names the failing entry by its key.
   */
  map: <K, V>(key: StandardSchemaV1<K, K>, value: StandardSchemaV1<V, V>): Schema<Map<K, V>> => {
    const kc = checkOf(key);
    const vc = checkOf(value);
    const kconv = converts.get(key);
    const vconv = converts.get(value);
    return make<Map<K, V>>(
      (v, path) => {
        if (!(v instanceof Map)) return issue(path, `expected Map, got ${describe(v)}`);
        for (const [k, item] of v as Map<unknown, unknown>) {
          path.push(entryKey(k));
          const found = kc(k, path) ?? vc(item, path);
          path.pop();
          if (found !== undefined) return found;
        }
        return undefined;
      },
      kconv === undefined && vconv === undefined
        ? undefined
        : (v) => {
            const out = new Map<unknown, unknown>();
            for (const [k, item] of v as Map<unknown, unknown>)
              out.set(kconv === undefined ? k : kconv(k), vconv === undefined ? item : vconv(item));
            return out;
          },
    );
  },
  /** An instance of `cls` (instanceof), optionally with its fields checked by `shape`. */
  instance: <C extends abstract new (...args: never[]) => unknown>(cls: C, shape?: Shape): Schema<InstanceType<C>> => {
    const fields = shape === undefined ? undefined : checkOf(schema.object(shape));
    return make<InstanceType<C>>((v, path) => {
      if (!(v instanceof cls)) return issue(path, `expected ${cls.name}, got ${describe(v)}`);
      return fields === undefined ? undefined : fields(v, path);
    });
  },
  /**
   * Any of the given schemas (the first that matches). When none does, the issue is the one
   * that got deepest, or every option's expectation when all fail at the union itself.
   */
  union: <const A extends readonly StandardSchemaV1[]>(...options: A): Schema<Infer<A[number]>> => {
    const cs = options.map(checkOf);
    return make<Infer<A[number]>>((v, path) => {
      if (cs.length === 0) return issue(path, 'no option matched');
      const issues: SchemaIssue[] = [];
      for (const c of cs) {
        const found = c(v, path);
        if (found === undefined) return undefined;
        issues.push(found);
      }
      const at = path.length;
      // Compare depths below this union's own path.
      const rel = issues.map((i) => ({ path: i.path.slice(at), message: i.message }));
      const r = noneMatched(rel, v);
      return { path: [...path, ...r.path], message: r.message };
    });
  },
};

/**
 * Validates `value` against any Standard Schema synchronously: the first issue (with its path as
 * property keys), or undefined when valid. A schema that answers with a Promise is refused with
 * an issue at the root: an asynchronous check cannot run before delivery without reordering the
 * mailbox, so protocols accept synchronous schemas only.
 */
export function firstIssue(schema: StandardSchemaV1, value: unknown): SchemaIssue | undefined {
  return checkOf(schema)(value, []);
}

/** What {@link parseValue} gives: the schema's output value, or the first issue. */
export type Parsed = { readonly value: unknown; readonly issue?: undefined } | { readonly issue: SchemaIssue };

/**
 * Validates `value` against any Standard Schema synchronously and gives the value to deliver: the
 * schema's output (a transforming zod or valibot schema gives its transformed value; a built-in
 * schema gives `value` itself), or the first issue (see {@link firstIssue}).
 */
export function parseValue(schema: StandardSchemaV1, value: unknown): Parsed {
  const own = checks.get(schema);
  if (own !== undefined) {
    const found = own(value, []);
    if (found !== undefined) return { issue: found };
    const convert = converts.get(schema);
    return { value: convert === undefined ? value : convert(value) };
  }
  const r = schema['~standard'].validate(value);
  if (r instanceof Promise) return { issue: issue([], 'asynchronous schema (not allowed in a protocol)') };
  if (r.issues === undefined) return { value: r.value };
  const first = r.issues[0];
  const path = (first?.path ?? []).map((p) => (typeof p === 'object' ? p.key : p));
  return { issue: { path, message: first?.message ?? 'invalid' } };
}
