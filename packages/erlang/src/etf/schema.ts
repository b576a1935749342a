// Schema builders for Erlang terms, so a process facing Erlang nodes can declare a typed protocol
// (`defineProtocol`) over what this package decodes: atoms, tuples, proper and improper lists,
// binaries, charlists, integers (number or bigint), floats. Each builder makes a Standard Schema
// v1 (vendor "ergo-ts/erlang") usable wherever the core's `schema.*` are (inside `schema.object`,
// `schema.union`, a protocol's messages and calls) and the core's schemas (or zod's) fit inside
// these. Like the core builder they never transform: what is checked is delivered as decoded.

import { PID, firstIssue, type Infer, type Schema, type SchemaIssue, type StandardSchemaV1 } from 'ergo-ts';
import { ErlAtom, ErlFloat, ErlImproperList, ErlTuple } from './terms.js';

type Check = (value: unknown, path: PropertyKey[]) => SchemaIssue | undefined;

/** The name a refused value is described by (its Erlang kind where it has one). */
function kind(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'boolean') return `atom ${String(v)}`;
  if (v instanceof ErlAtom) return `atom ${v.toString()}`;
  if (v instanceof ErlTuple) return `tuple of ${v.length}`;
  if (Array.isArray(v)) return 'list';
  if (v instanceof ErlImproperList) return 'improper list';
  if (v instanceof Uint8Array) return 'binary';
  if (typeof v === 'object') return v.constructor?.name ?? 'object';
  return typeof v;
}

function issue(path: PropertyKey[], message: string): SchemaIssue {
  return { path: path.slice(), message };
}

function make<T>(check: Check): Schema<T> {
  return {
    check: (value) => check(value, []),
    '~standard': {
      version: 1,
      vendor: 'ergo-ts/erlang',
      validate(value: unknown): StandardSchemaV1.Result<T> {
        const found = check(value, []);
        return found === undefined ? { value: value as T } : { issues: [found] };
      },
    },
  };
}

/** The check of any Standard Schema under `path` (the core's `firstIssue`, re-rooted). */
function checkOf(s: StandardSchemaV1): Check {
  return (value, path) => {
    const found = firstIssue(s, value);
    return found === undefined ? undefined : { path: [...path, ...found.path], message: found.message };
  };
}

function expected(what: string): Check {
  return (v, path) => issue(path, `expected ${what}, got ${kind(v)}`);
}

/**
 * An atom's value as this package decodes it: `true`/`false` arrive as JS booleans (a sender may
 * also give `atom('true')`), every other atom as an `ErlAtom<N>`.
 */
export type AtomValue<N extends string> = N extends 'true'
  ? true | ErlAtom<'true'>
  : N extends 'false'
    ? false | ErlAtom<'false'>
    : ErlAtom<N>;

/** Any atom: an `ErlAtom`, or a boolean (`true`/`false` are atoms). */
export type AnyAtom = ErlAtom | boolean;

/** The elements' types of a tuple schema's element schemas. */
export type TupleOf<S extends readonly StandardSchemaV1[]> = { readonly [K in keyof S]: Infer<S[K]> };

/** A `gen_server:cast` message: `{'$gen_cast', Message}`. */
export type GenCast<T> = ErlTuple<readonly [ErlAtom<'$gen_cast'>, T]>;

/**
 * Schema builders for Erlang terms, as `@ergo-ts/erlang` decodes them (see `Term`). Each gives a
 * Standard Schema v1, usable in a protocol and inside the core's `schema` builders, and the core's
 * schemas (or zod, valibot) fit inside these: `erlangSchema.tuple(erlangSchema.atom('add'),
 * schema.integer(), schema.integer())` is `{add, A, B}` with two integers.
 *
 * @example
 * const Calc = defineProtocol('calc', {
 *   messages: { reset: erlangSchema.cast(erlangSchema.atom('reset')) },
 *   calls: {
 *     add: { request: erlangSchema.tuple(erlangSchema.atom('add'), schema.integer(), schema.integer()), reply: schema.integer() },
 *   },
 * });
 */
export const erlangSchema = {
  /**
   * `atom()`: any atom. `atom('ok')`: that atom (an `ErlAtom<'ok'>`); `atom('ok', 'error')`: one
   * of them. `true` and `false` are atoms this package decodes as booleans: `atom('true')`
   * accepts `true` (and `atom('true')`).
   */
  atom: <const N extends readonly string[]>(
    ...names: N
  ): Schema<N extends readonly [] ? AnyAtom : AtomValue<N[number]>> => {
    const listed = names.length === 0 ? undefined : new Set<string>(names);
    const what =
      listed === undefined ? 'an atom' : names.length === 1 ? `atom ${names[0]!}` : `one of atoms ${names.join(', ')}`;
    return make((v, path) => {
      const name = typeof v === 'boolean' ? String(v) : v instanceof ErlAtom ? v.name : undefined;
      if (name !== undefined && (listed === undefined || listed.has(name))) return undefined;
      return expected(what)(v, path);
    });
  },
  /**
   * A tuple of exactly these elements (its arity is their number), each checked by its schema:
   * `tuple(atom('ok'), schema.string())` is `{ok, Value}`. Typed `ErlTuple<readonly [...]>`, what
   * `tuple(atom('ok'), 'x')` of this package makes for a sender.
   */
  tuple: <const S extends readonly StandardSchemaV1[]>(...elements: S): Schema<ErlTuple<TupleOf<S>>> => {
    const checks = elements.map(checkOf);
    return make((v, path) => {
      if (!(v instanceof ErlTuple)) return expected(`a tuple of ${checks.length}`)(v, path);
      if (v.length !== checks.length) return expected(`a tuple of ${checks.length}`)(v, path);
      for (let i = 0; i < checks.length; i++) {
        path.push(i);
        const found = checks[i]!(v.elements[i], path);
        path.pop();
        if (found !== undefined) return found;
      }
      return undefined;
    });
  },
  /** A proper list (a JS array; `[]` too) whose every element matches `item`. */
  list: <T>(item: StandardSchemaV1<T, T>): Schema<T[]> => {
    const c = checkOf(item);
    return make((v, path) => {
      if (!Array.isArray(v)) return expected('a list')(v, path);
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        const found = c(v[i], path);
        path.pop();
        if (found !== undefined) return found;
      }
      return undefined;
    });
  },
  /**
   * An improper list `[E1, E2 | Tail]` (an `ErlImproperList`): every element matches `item`, the
   * tail matches `tail` (a proper list is refused: use {@link erlangSchema.list} or a union).
   */
  improperList: <E, U>(item: StandardSchemaV1<E, E>, tail: StandardSchemaV1<U, U>): Schema<ErlImproperList<E, U>> => {
    const ci = checkOf(item);
    const ct = checkOf(tail);
    return make((v, path) => {
      if (!(v instanceof ErlImproperList)) return expected('an improper list')(v, path);
      for (let i = 0; i < v.elements.length; i++) {
        path.push(i);
        const found = ci(v.elements[i], path);
        path.pop();
        if (found !== undefined) return found;
      }
      path.push('tail');
      const found = ct(v.tail, path);
      path.pop();
      return found;
    });
  },
  /** A binary (`<<...>>`), which this package decodes as a `Uint8Array`. */
  binary: (): Schema<Uint8Array> =>
    make((v, path) => (v instanceof Uint8Array ? undefined : expected('a binary')(v, path))),
  /**
   * A binary holding valid UTF-8 (Elixir strings, `<<"text"/utf8>>`): a `Uint8Array`, decode it
   * with `new TextDecoder().decode(b)`.
   */
  utf8: (): Schema<Uint8Array> => {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    return make((v, path) => {
      if (!(v instanceof Uint8Array)) return expected('a UTF-8 binary')(v, path);
      try {
        decoder.decode(v);
        return undefined;
      } catch {
        return issue(path, 'expected a UTF-8 binary, got bytes that are not UTF-8');
      }
    });
  },
  /**
   * An Erlang string (`"abc"`): a list of Unicode code points, which this package decodes as an
   * array of numbers (`String.fromCodePoint(...s)` makes the text).
   */
  charlist: (): Schema<number[]> =>
    make((v, path) => {
      if (!Array.isArray(v)) return expected('a string (a list of code points)')(v, path);
      for (let i = 0; i < v.length; i++) {
        const c: unknown = v[i];
        if (typeof c !== 'number' || !Number.isInteger(c) || c < 0 || c > 0x10ffff)
          return issue([...path, i], `expected a code point, got ${kind(c)}`);
      }
      return undefined;
    }),
  /** An integer: a number, or a bigint beyond 2^53 (how this package decodes big integers). */
  integer: (): Schema<number | bigint> =>
    make((v, path) => (Number.isSafeInteger(v) || typeof v === 'bigint' ? undefined : expected('an integer')(v, path))),
  /** A float: a number, or an `ErlFloat` for an integral float (`1.0`). An integer is refused. */
  float: (): Schema<number | ErlFloat> =>
    make((v, path) =>
      v instanceof ErlFloat || (typeof v === 'number' && !Number.isInteger(v))
        ? undefined
        : expected('a float')(v, path),
    ),
  /** A pid: an Erlang node's pids arrive as ergo-ts `PID`s. */
  pid: (): Schema<PID> => make((v, path) => (v instanceof PID ? undefined : expected('a pid')(v, path))),
  /**
   * A `gen_server:cast` of a message `inner` matches: `{'$gen_cast', Message}`. List it in a
   * protocol's `messages`; a typed `GenServer` gets `Message` in `handleCast`.
   */
  cast: <T>(inner: StandardSchemaV1<T, T>): Schema<GenCast<T>> =>
    erlangSchema.tuple(erlangSchema.atom('$gen_cast'), inner) as unknown as Schema<GenCast<T>>,
};

/**
 * Whether `term` is a tuple whose first element is the atom `tag` (`{tag, ...}`, Erlang's tagged
 * tuple), narrowing a union of typed tuples to that one: in a typed handler,
 * `if (isTagged(req, 'get')) return this.reply(req, ...)` answers the `get` call.
 */
export function isTagged<T, const N extends string>(
  term: T,
  tag: N,
): term is Extract<T, ErlTuple<readonly [ErlAtom<N>, ...unknown[]]>> {
  return (
    term instanceof ErlTuple && term.length > 0 && term.elements[0] instanceof ErlAtom && term.elements[0].name === tag
  );
}
