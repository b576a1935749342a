// How users name Go types and pick them for values. `Go` is the catalogue of builtin types and
// type constructors (for schemas and Typed values); the shorthands wrap one value in the exact
// Go type a peer's type switch expects (`int(5)` for a Go `int`, `asAtom('x')` for gen.Atom).

import * as B from './builtin.js';
import { makeArray, makeMap, makeSlice } from './composite.js';
import { type EdfType, Typed } from './type.js';

/**
 * The builtin EDF/Go types and constructors of composite ones. Use them in registered schemas
 * (`fields: { id: Go.int64, tags: Go.slice(Go.string) }`) and to type values
 * (`Go.map(Go.string, Go.int).of({ a: 1 })`). Composite constructors return the same object for
 * the same arguments.
 */
export const Go = Object.freeze({
  bool: B.BOOL as EdfType<boolean>,
  int8: B.INT8 as EdfType<number | bigint>,
  int16: B.INT16 as EdfType<number | bigint>,
  int32: B.INT32 as EdfType<number | bigint>,
  int64: B.INT64 as EdfType<number | bigint>,
  int: B.INT as EdfType<number | bigint>,
  uint8: B.UINT8 as EdfType<number | bigint>,
  /** Alias of uint8. */
  byte: B.UINT8 as EdfType<number | bigint>,
  uint16: B.UINT16 as EdfType<number | bigint>,
  uint32: B.UINT32 as EdfType<number | bigint>,
  uint64: B.UINT64 as EdfType<number | bigint>,
  uint: B.UINT as EdfType<number | bigint>,
  float32: B.FLOAT32 as EdfType<number>,
  float64: B.FLOAT64 as EdfType<number>,
  string: B.STRING as EdfType<string>,
  /** `[]byte` (EDF binary). */
  binary: B.BINARY as EdfType<Uint8Array | null>,
  atom: B.ATOM as EdfType<string>,
  error: B.ERROR as EdfType<Error | null>,
  pid: B.PID_T,
  processID: B.PROCESSID_T,
  ref: B.REF_T,
  alias: B.ALIAS_T,
  event: B.EVENT_T,
  /** `time.Time` (Date or GoTime). */
  time: B.TIME,
  any: B.ANY,
  /** `[]elem`. */
  slice<T>(elem: EdfType<T>): EdfType<readonly T[] | null> {
    return makeSlice(elem) as EdfType<readonly T[] | null>;
  },
  /** `[length]elem`. */
  array<T>(length: number, elem: EdfType<T>): EdfType<readonly T[]> {
    return makeArray(length, elem) as EdfType<readonly T[]>;
  },
  /** `map[key]value`; values are a Map or a plain object (keys are converted for number/bool key types). */
  map<K, V>(key: EdfType<K>, value: EdfType<V>): EdfType<ReadonlyMap<K, V> | Readonly<Record<string, V>> | null> {
    return makeMap(key, value) as EdfType<ReadonlyMap<K, V> | Readonly<Record<string, V>> | null>;
  },
});

/** `value` as a Go `int8`. */
export function int8(value: number | bigint): Typed<number | bigint> {
  return new Typed(Go.int8, value);
}
/** `value` as a Go `int16`. */
export function int16(value: number | bigint): Typed<number | bigint> {
  return new Typed(Go.int16, value);
}
/** `value` as a Go `int32`. */
export function int32(value: number | bigint): Typed<number | bigint> {
  return new Typed(Go.int32, value);
}
/** `value` as a Go `int64` (what plain integral numbers and int64-range bigints default to). */
export function int64(value: number | bigint): Typed<number | bigint> {
  return new Typed(Go.int64, value);
}
/** `value` as a Go `int` (8 bytes on the wire; what Go code usually switches on). */
export function int(value: number | bigint): Typed<number | bigint> {
  return new Typed(Go.int, value);
}
/** `value` as a Go `uint8`. */
export function uint8(value: number | bigint): Typed<number | bigint> {
  return new Typed(Go.uint8, value);
}
/** `value` as a Go `uint16`. */
export function uint16(value: number | bigint): Typed<number | bigint> {
  return new Typed(Go.uint16, value);
}
/** `value` as a Go `uint32`. */
export function uint32(value: number | bigint): Typed<number | bigint> {
  return new Typed(Go.uint32, value);
}
/** `value` as a Go `uint64`. */
export function uint64(value: number | bigint): Typed<number | bigint> {
  return new Typed(Go.uint64, value);
}
/** `value` as a Go `uint` (8 bytes on the wire). */
export function uint(value: number | bigint): Typed<number | bigint> {
  return new Typed(Go.uint, value);
}
/** `value` as a Go `float32` (rounded to single precision when encoded). */
export function float32(value: number): Typed<number> {
  return new Typed(Go.float32, value);
}
/** `value` as a Go `float64` (for integral values, which would otherwise travel as int64). */
export function float64(value: number): Typed<number> {
  return new Typed(Go.float64, value);
}
/** `name` as a `gen.Atom` (a plain string travels as a Go `string`). */
export function asAtom(name: string): Typed<string> {
  return new Typed(Go.atom, name);
}
/** `value` as exactly `type` (same as `type.of(value)`). */
export function typed<T>(type: EdfType<T>, value: T): Typed<T> {
  return new Typed(type, value);
}
