// EDF wire constants: the one-byte type tags of Ergo's data format (WIRE.md §1.1) and the id
// ranges that tell a cache id from an inline length (§1.6). Kept apart so the protocol layers
// (handshake, ENP) can share them without pulling in the codec, and so a browser-side codec (the
// tab frames of @ergo-ts/tabs) has them too: `ergo-ts` and `ergo-ts/browser` export the tags as
// EdfTag and EdfJsTag (this file reaches no Node module).

/**
 * EDF type tags. A tagged value is one of these bytes followed by a body; inside type
 * descriptors the same bytes name element types. `Reg` doubles as the non-nil marker of
 * registered slices/maps; `Slice`/`Map` double as the non-nil markers of unregistered ones.
 */
export const Tag = {
  /** Descriptor block of an unregistered slice/map/array: `0x82 u16 len desc`. */
  Type: 0x82,
  /** Registered type (name or cache id follows); also the non-nil marker of registered slices/maps. */
  Reg: 0x83,
  /** `any`, only inside descriptors (a decoder also accepts it as a value tag). */
  Any: 0x84,
  Atom: 0x8c,
  String: 0x8d,
  Binary: 0x8e,
  Float32: 0x8f,
  Float64: 0x90,
  Bool: 0x91,
  Int8: 0x92,
  Int16: 0x93,
  Int32: 0x94,
  Int64: 0x95,
  Int: 0x96,
  Uint8: 0x97,
  Uint16: 0x98,
  Uint32: 0x99,
  Uint64: 0x9a,
  Uint: 0x9b,
  Error: 0x9c,
  /** Slice in descriptors; non-nil slice marker in bodies. */
  Slice: 0x9d,
  /** Array, descriptors only (arrays have no marker in bodies). */
  Array: 0x9e,
  /** Map in descriptors; non-nil map marker in bodies. */
  Map: 0x9f,
  PID: 0xaa,
  ProcessID: 0xab,
  Alias: 0xac,
  Event: 0xad,
  Ref: 0xae,
  Time: 0xaf,
  /** nil `any`, nil slice, nil map. */
  Nil: 0xff,
} as const;

/**
 * Tag bytes of the ergo-ts value extension (never sent to a Go peer).
 * - `Undefined` — no body.
 * - `Object` — a plain (or null-prototype) object: `u32 count` + count × (`u16 len` + UTF-8 key
 *   + tagged value), in `Object.keys` order.
 * - `BigInt` — `u8 sign` (0 or 1) + `u32 len` + magnitude, big-endian.
 * - `Set` — `u32 count` + count × tagged value, in insertion order.
 * - `Date` — `f64` milliseconds since the Unix epoch (NaN for an invalid Date).
 * - `String` — `u32 len` + UTF-8: strings of more than 21845 UTF-16 units (EDF strings stop at
 *   65535 bytes).
 * - `NullObject` — as `Object`, for an object with a null prototype.
 * - `TypedArray` — `u8 kind` (index in `TYPED_ARRAYS`) + `u32 byte length` + the elements'
 *   bytes, little-endian: an Int32Array, Float64Array... arrives as its own class (Go mode sends
 *   it as a Go slice, which arrives as an Array).
 * - `Failure` — a tagged value: a {@link CallFailure} (the typed error channel of protocols), in
 *   an error response.
 * - `Sparse` — an array with holes: `u32 length` + `u32 count` + count × (`u32 index` + tagged
 *   value), indexes increasing (holes stay holes instead of becoming `undefined`).
 */
export const JsTag = {
  Undefined: 0xe0,
  Object: 0xe1,
  BigInt: 0xe2,
  Set: 0xe3,
  Date: 0xe4,
  String: 0xe5,
  NullObject: 0xe6,
  TypedArray: 0xe7,
  Failure: 0xe8,
  Sparse: 0xe9,
} as const;

/** Atom bodies: a u16 above this is an atom-cache id, at most this is an inline length. */
export const ATOM_CACHE_MIN_ID = 256;
/** Registered type references: a u16 above 4095 is a type-cache id, else a name length. */
export const TYPE_CACHE_MIN_ID = 4096;
/** Error bodies: a u16 above 32767 (and below 65535) is an error-cache id, else a text length. */
export const ERROR_CACHE_MIN_ID = 32768;
/** Error bodies: `0xffff` is the nil error. */
export const ERROR_NIL = 0xffff;
/** Longest registered type name (the u16 must stay below the cache-id range). */
export const TYPE_NAME_MAX_BYTES = 4095;
/** Longest type descriptor (its length is a u16). */
export const DESCRIPTOR_MAX_BYTES = 65535;

/** Seconds between 0001-01-01T00:00:00Z (Go's time epoch) and the Unix epoch. */
export const GO_UNIX_EPOCH_OFFSET = 62135596800;
