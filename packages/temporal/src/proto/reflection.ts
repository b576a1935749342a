// The reflection of this package's proto classes: each message class's `$type` names the message
// and lists its fields (name, number, type) as its `.proto` declares them, the part of
// protobufjs's `Type` that a proto3 JSON mapping reads (proto3_json.ts). Written from the
// `.proto` definitions of Temporal's API; only the scalar, enum and map fields those use.

/** The scalar types a field of these messages has (proto3's names). */
export type ScalarKind = 'string' | 'bytes' | 'bool' | 'int32' | 'uint32' | 'double';

/** A proto enum: its full name and its values by name. */
export interface EnumType {
  /** The enum's full name, with a leading dot (`.temporal.api.enums.v1.EncodingType`). */
  readonly fullName: string;
  /** Its values by name. */
  readonly values: Readonly<Record<string, number>>;
}

/** One field of a message, as its `.proto` declares it. */
export interface FieldDescriptor {
  /** Its name in code and in proto3 JSON: lowerCamelCase (`encodingType`). */
  readonly name: string;
  /** Its name in the `.proto` (`encoding_type`), which proto3 JSON parsers also accept. */
  readonly protoName: string;
  /** Its field number. */
  readonly id: number;
  /** Its type: a scalar, or an enum. For a map, the type of its values. */
  readonly type: ScalarKind | EnumType;
  /** Whether it is `map<string, type>`. */
  readonly map?: boolean;
}

/** A message class's type (protobufjs's `$type`, the part read here): its name, fields and codec. */
export interface MessageType<M = object> {
  /** The message's full name, with a leading dot (`.temporal.api.common.v1.DataBlob`). */
  readonly fullName: string;
  /** Its fields, by field number. */
  readonly fields?: readonly FieldDescriptor[];
  encode(m: M): { finish(): Uint8Array };
  decode(bytes: Uint8Array): M;
  /** A message from its fields' values (protobufjs's `Type.create`). */
  create?(props?: object): M;
}

/** A message type with its fields listed: what {@link MessageType} is for this package's classes. */
export interface ReflectionType<M = object> extends MessageType<M> {
  readonly fields: readonly FieldDescriptor[];
  create(props?: object): M;
}

/** A field descriptor; `protoName` from `name` (lowerCamelCase → snake_case). */
export function field(id: number, name: string, type: ScalarKind | EnumType, map = false): FieldDescriptor {
  const protoName = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return Object.freeze(map ? { name, protoName, id, type, map } : { name, protoName, id, type });
}

/** Whether `t` is a reflection type: a message type with its fields listed and a `create`. */
export function isReflectionType(t: unknown): t is ReflectionType {
  const r = t as ReflectionType | null | undefined;
  return (
    r != null &&
    typeof r.fullName === 'string' &&
    Array.isArray(r.fields) &&
    typeof r.create === 'function' &&
    typeof r.encode === 'function'
  );
}
