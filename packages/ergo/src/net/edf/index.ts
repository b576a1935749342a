// EDF — the Ergo Data Format codec, byte-compatible with Go Ergo 3.2 (WIRE.md §1).

export {
  Tag,
  ATOM_CACHE_MIN_ID,
  TYPE_CACHE_MIN_ID,
  ERROR_CACHE_MIN_ID,
  ERROR_NIL,
  TYPE_NAME_MAX_BYTES,
  DESCRIPTOR_MAX_BYTES,
} from './tags.js';
export { EdfError, type EdfErrorCode } from './errors.js';
export { DEFAULT_LIMITS, resolveLimits, type EdfLimits } from './limits.js';
export { EdfType, Typed, Kind } from './type.js';
export { GoTime } from './time.js';
export {
  Go,
  int8,
  int16,
  int32,
  int64,
  int,
  uint8,
  uint16,
  uint32,
  uint64,
  uint,
  float32,
  float64,
  asAtom,
  typed,
} from './wrappers.js';
export {
  EdfRegistry,
  RegisteredType,
  type EdfClass,
  type FieldList,
  type StructTypeSpec,
  type NamedTypeSpec,
  type CustomTypeSpec,
  type TypeSpec,
  type StructFields,
  type StructOptions,
} from './registry.js';
export type { StructField } from './struct.js';
export { EdfWriter } from './writer.js';
export { EdfReader } from './reader.js';
export { EdfEncoder, type EdfEncodeOptions } from './encoder.js';
export { EdfDecoder, type EdfDecodeOptions } from './decoder.js';
export { defaultRegistry, registerType, registerStruct, registerError, createRegistry } from './default.js';
export { encode, decode, roundTrip } from './codec.js';
export { JsTag } from './jsvalues.js';
export {
  registerFrameworkTypes,
  FrameworkTypeName,
  type Fields,
  WireVersion,
  WireCompression,
  WireProcessFallback,
  WireProcessOptions,
  ProcessOptionsExtra,
  WireApplicationOptions,
  ApplicationOptionsExtra,
  Route,
  NetworkFlags,
} from './framework.js';
