// Values for the JS-value property tests: the classes both OS processes register (by field
// names) and the fast-check generators of nested values — every kind ergo-ts nodes carry as sent
// (plain and null-prototype objects, arrays, Map, Set, Date, bigint, Uint8Array, undefined,
// -0/NaN/±Infinity, registered classes) and the subset a Go node carries (for ergo-peer).

import fc from 'fast-check';
import { Go, registerStruct, defaultRegistry } from '../src/net/index.js';

/** A registered struct with an `any` field, so class instances nest values and vice versa. */
export class Sample {
  x = 0;
  label = '';
  extra: unknown = null;
}
export const SampleT =
  defaultRegistry.typeOf(Sample) ??
  registerStruct(
    '#ergo-ts.test/jsvalues/Sample',
    { x: Go.float64, label: Go.string, extra: Go.any },
    { class: Sample },
  );

/** ergo-peer's `#main/Point` (X int64, Y int64, Label string). */
export class Point {
  x: number | bigint = 0;
  y: number | bigint = 0;
  label = '';
}
export const PointT =
  defaultRegistry.type('#main/Point') ??
  registerStruct('#main/Point', { x: Go.int64, y: Go.int64, label: Go.string }, { class: Point });

/** Strings over EDF's 65535-byte string limit (and one over 21845 units that fits it). */
const LONG_ASCII = 'a'.repeat(70_000);
const LONG_UTF8 = 'é€😀'.repeat(6000);

const text = fc.string({ unit: 'grapheme', maxLength: 12 });
const key = fc.oneof(text, fc.constantFrom('__proto__', 'constructor', '0', '10', 'toString'));

/** Nested values of every kind that ergo-ts nodes carry as sent. */
export function jsValue(opts: { classes?: boolean } = {}): fc.Arbitrary<unknown> {
  const classes = opts.classes !== false;
  const { tree } = fc.letrec<{ tree: unknown; leaf: unknown; node: unknown }>((tie) => ({
    leaf: fc.oneof(
      text,
      fc.constantFrom(LONG_ASCII, LONG_UTF8),
      fc.integer(),
      fc.double(),
      fc.constantFrom(-0, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER, 2 ** 60),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.bigInt(),
      fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }),
      fc.date(),
      fc.uint8Array({ maxLength: 16 }),
    ),
    node: fc.oneof(
      { depthSize: 'small' },
      tie('leaf'),
      fc.array(tie('tree'), { maxLength: 5 }),
      fc.dictionary(key, tie('tree'), { maxKeys: 5 }),
      fc.array(fc.tuple(fc.oneof(text, fc.integer()), tie('tree')), { maxLength: 4 }).map((e) => new Map(e)),
      fc.array(fc.oneof(text, fc.integer(), tie('tree')), { maxLength: 4 }).map((e) => new Set(e)),
      ...(classes
        ? [fc.record({ x: fc.double(), label: text, extra: tie('tree') }).map((r) => Object.assign(new Sample(), r))]
        : []),
    ),
    tree: tie('node'),
  }));
  return tree;
}

/** Top-level messages: a container (a message cannot be nil), holding any value. */
export function jsMessage(opts: { classes?: boolean } = {}): fc.Arbitrary<unknown> {
  const v = jsValue(opts);
  return fc.oneof(
    fc.array(v, { maxLength: 4 }),
    fc.dictionary(key, v, { maxKeys: 4 }),
    v.filter((x) => x !== null && x !== undefined),
  );
}

const I64_MIN = -(2n ** 63n);
const U64_MAX = 2n ** 64n - 1n;

/** Nested values a Go node decodes (Go's mapping: objects → map[string]any, Map → map[any]any, …). */
export function goValue(): fc.Arbitrary<unknown> {
  const { tree } = fc.letrec<{ tree: unknown; leaf: unknown }>((tie) => ({
    leaf: fc.oneof(
      text,
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.bigInt({ min: I64_MIN, max: U64_MAX }),
      fc.date({ noInvalidDate: true, min: new Date(-62135596800000), max: new Date(253402300799000) }),
      fc.uint8Array({ maxLength: 16 }),
      fc.record({ x: fc.integer(), y: fc.integer(), label: text }).map((r) => Object.assign(new Point(), r)),
    ),
    tree: fc.oneof(
      { depthSize: 'small' },
      tie('leaf'),
      fc.array(tie('tree'), { maxLength: 4 }),
      fc.dictionary(text, tie('tree'), { maxKeys: 4 }),
      fc.array(fc.tuple(fc.oneof(text, fc.integer()), tie('tree')), { maxLength: 3 }).map((e) => new Map(e)),
    ),
  }));
  return fc.oneof(fc.array(tree, { maxLength: 4 }), fc.dictionary(text, tree, { maxKeys: 4 }));
}
