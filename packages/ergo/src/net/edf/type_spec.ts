// The shapes a registration takes (what EdfRegistry's register* methods accept): struct, named and
// custom type specs, struct field lists and options. Declarations only; registry.ts compiles them.

import type { EdfType } from './type.js';

/** A class whose instances are values of a registered type (decoding calls `new C()` for structs). */

export type EdfClass<T = unknown> = new (...args: any[]) => T;

/** Ordered struct fields: an object (key order = Go declaration order) or `[name, type]` pairs. */
export type FieldList = Readonly<Record<string, EdfType>> | ReadonlyArray<readonly [string, EdfType]>;

/**
 * A registered struct. Fields are listed in Go declaration order with JS property names (the
 * wire is positional, names never travel). Decoding builds the value with `create(fields)` if
 * given, else `new class()` followed by one assignment per field; without `class` a class named
 * after the Go type is generated (see {@link RegisteredType.cls}).
 */
export interface StructTypeSpec<T> {
  /** Go registration name: `#<import path>/<Type>`, e.g. `#github.com/me/app/msgs/Order`. */
  name: string;
  fields: FieldList;
  class?: EdfClass<T>;

  create?: (fields: Record<string, any>) => T;
  /**
   * Field lists of earlier versions of the Go struct, newest first: each names fields of
   * `fields` in their order, fewer of them (Ergo 3.2.0's `gen.ApplicationInfo` gained `Tags`
   * and `Map`; the 3.1 list lacks both). EDF has no struct length, so decoding tries `fields`
   * first, then each list here, and takes the first that decodes. Fields a list lacks keep what
   * `new class()` gives them (framework classes start at Go's zero values); with `create` or a
   * generated class they are absent. Encoding always writes `fields`.
   *
   * An older list is recognised only where the current one fails on its bytes within the
   * struct: true when the added fields start with a marker the old bytes cannot have (a slice,
   * map or `any` before a string or number, as in ApplicationInfo). Fields added at the end are
   * recognised only where the struct ends the message.
   */
  olderLayouts?: ReadonlyArray<ReadonlyArray<string>>;
}

/**
 * A registered named type (`type MyString string`, `type Points []Point`, `type Counters
 * map[string]int32`, `type Triple [3]int16`). `type` is the underlying builtin scalar, slice,
 * map or array. With `class`, instances encode as the underlying `value.valueOf()` and decode as
 * `create(value)` (default `new class(value)`); without it the value decodes as the plain
 * underlying value in typed slots and as `Typed(type, value)` in `any` slots.
 */
export interface NamedTypeSpec<T> {
  name: string;
  type: EdfType;
  class?: EdfClass<T>;

  create?: (value: any) => T;
}

/**
 * A registered type with its own byte format (Go's `MarshalEDF`/`UnmarshalEDF` or
 * `MarshalBinary`/`UnmarshalBinary`; both travel as `u32 length + bytes`). Exceptions thrown by
 * the callbacks become EdfErrors (`ERR_EDF_ENCODE` / `ERR_EDF_DECODE`) with the original as cause.
 */
export interface CustomTypeSpec<T> {
  name: string;
  marshal: (value: T) => Uint8Array;
  unmarshal: (bytes: Uint8Array) => T;
  class?: EdfClass<T>;
}

/** Any registration. */
export type TypeSpec<T> = StructTypeSpec<T> | NamedTypeSpec<T> | CustomTypeSpec<T>;

/** The data properties of `T` (methods left out). */
type DataKeys<T> = { [K in keyof T]-?: T[K] extends (...a: never[]) => unknown ? never : K }[keyof T] & string;

/**
 * The schema {@link EdfRegistry.registerStruct} takes: every data field of `T`, named, with its
 * Go type, in Go declaration order (the key order of the object). When `T` is known (from
 * `options.class` or a type argument) the compiler checks that no field is left out or
 * misspelt. The `[name, type]` list form is for field names JS would reorder (`"0"`, `"1"`).
 */
export type StructFields<T> = { readonly [K in DataKeys<T>]: EdfType } | ReadonlyArray<readonly [DataKeys<T>, EdfType]>;

/** Options of {@link EdfRegistry.registerStruct}. */
export interface StructOptions<T> {
  /**
   * Class of the values: instances encode as this struct wherever they appear, decoding builds
   * one with `new class()` (or `create`). Without it a class named after the Go type is
   * generated, and values are sent as the struct with `type.of(value)` or in typed slots.
   */
  class?: EdfClass<T>;
  /** Builds a decoded value from its fields (e.g. `(f) => f` for plain objects). */
  create?: (fields: Record<string, any>) => T;
  /**
   * Field lists of earlier versions of the Go struct, newest first, each a subset of the
   * fields in their order: received values in any of these layouts decode too (see
   * {@link StructTypeSpec.olderLayouts} for how and when a layout is recognised).
   */
  olderLayouts?: ReadonlyArray<ReadonlyArray<DataKeys<T>>>;
}
