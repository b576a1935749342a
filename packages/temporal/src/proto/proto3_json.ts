// Proto3's JSON mapping over a message's reflection (reflection.ts), both ways: field names in
// lowerCamelCase, bytes as base64, enums by name, fields at their default value left out
// (https://protobuf.dev/programming-guides/json/). `fromProto3JSON` and `toProto3JSON` have the
// signatures of the npm package `proto3-json-serializer`, which Temporal's features import; the
// feature runner maps that import here (`@ergo-ts/temporal/proto3-json-serializer`).

import {
  isReflectionType,
  type EnumType,
  type FieldDescriptor,
  type ReflectionType,
  type ScalarKind,
} from './reflection.js';

/** A value in JSON. */
export type JSONValue = string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue };

/** Input that is not the proto3 JSON of the message (code `ERR_PROTO3_JSON`). */
export class Proto3JsonError extends TypeError {
  /** Stable code: `ERR_PROTO3_JSON`. */
  readonly code = 'ERR_PROTO3_JSON';
  constructor(message: string) {
    super(message);
    this.name = 'Proto3JsonError';
  }
}

function checkType(type: unknown, fn: string): asserts type is ReflectionType {
  if (!isReflectionType(type))
    throw new Proto3JsonError(`${fn}: the type is not a message type with its fields (lookupType's result)`);
}

const typeName = (t: ScalarKind | EnumType): string => (typeof t === 'string' ? t : t.fullName.replace(/^\./, ''));

function isDefault(t: ScalarKind | EnumType, v: unknown): boolean {
  if (v == null) return true;
  if (t === 'bytes') return (v as Uint8Array).length === 0;
  return v === 0 || v === '' || v === false;
}

function scalarToJSON(t: ScalarKind | EnumType, v: unknown, where: string): JSONValue {
  if (typeof t !== 'string') {
    if (typeof v !== 'number') throw new Proto3JsonError(`${where}: an enum value must be a number, got ${typeof v}`);
    const name = Object.keys(t.values).find((k) => t.values[k] === v);
    return name ?? v; // a number the enum does not name stays a number, as proto3 JSON asks
  }
  switch (t) {
    case 'bytes':
      if (!(v instanceof Uint8Array)) throw new Proto3JsonError(`${where}: bytes must be a Uint8Array`);
      return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
    case 'double':
      if (typeof v !== 'number') throw new Proto3JsonError(`${where}: a double must be a number`);
      return Number.isFinite(v) ? v : String(v); // NaN, Infinity, -Infinity as strings
    case 'string':
    case 'bool':
    case 'int32':
    case 'uint32':
      if (typeof v !== (t === 'string' ? 'string' : t === 'bool' ? 'boolean' : 'number'))
        throw new Proto3JsonError(`${where}: a ${t} field holds a ${typeof v}`);
      return v as JSONValue;
  }
}

/**
 * `message` of `type` in proto3 JSON: fields at their default value (0, '', false, empty bytes,
 * an empty map, an enum's zero) are left out. Throws Proto3JsonError (`ERR_PROTO3_JSON`) when a
 * field holds a value of the wrong type.
 */
export function toProto3JSON(message: object, type?: ReflectionType): JSONValue {
  const t = type ?? (message as { $type?: unknown }).$type;
  checkType(t, 'toProto3JSON');
  const out: Record<string, JSONValue> = {};
  for (const f of t.fields) {
    const v = (message as Record<string, unknown>)[f.name];
    const where = `${t.fullName.replace(/^\./, '')}.${f.name}`;
    if (f.map === true) {
      if (v == null) continue;
      const entries = Object.entries(v as Record<string, unknown>);
      if (entries.length > 0)
        out[f.name] = Object.fromEntries(entries.map(([k, x]) => [k, scalarToJSON(f.type, x, `${where}[${k}]`)]));
    } else if (!isDefault(f.type, v)) out[f.name] = scalarToJSON(f.type, v, where);
  }
  return out;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

function scalarFromJSON(f: FieldDescriptor, v: JSONValue, where: string): unknown {
  const t = f.type;
  const bad = (): never => {
    throw new Proto3JsonError(`${where}: ${JSON.stringify(v)} is not a ${typeName(t)}`);
  };
  if (typeof t !== 'string') {
    if (typeof v === 'string') return t.values[v] ?? bad();
    return typeof v === 'number' && Number.isInteger(v) ? v : bad();
  }
  switch (t) {
    case 'bytes': // base64, standard or URL-safe, padded or not
      return typeof v === 'string' && BASE64.test(v) ? Buffer.from(v, 'base64') : bad();
    case 'string':
      return typeof v === 'string' ? v : bad();
    case 'bool':
      return typeof v === 'boolean' ? v : bad();
    case 'double':
      if (typeof v === 'number') return v;
      return v === 'NaN' || v === 'Infinity' || v === '-Infinity' ? Number(v) : bad();
    case 'int32':
    case 'uint32': {
      // proto3 JSON takes integers as numbers or as strings
      const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
      const [lo, hi] = t === 'int32' ? [-(2 ** 31), 2 ** 31 - 1] : [0, 2 ** 32 - 1];
      return typeof n === 'number' && Number.isInteger(n) && n >= lo && n <= hi ? n : bad();
    }
  }
}

/**
 * The message of `type` that `json` (its proto3 JSON) holds, made by the type's `create`: fields
 * by their lowerCamelCase or `.proto` name, bytes from base64, enums by name or number, null or
 * absent fields at their default. Throws Proto3JsonError (`ERR_PROTO3_JSON`) on a field the
 * message has not, one given twice (by both names) or a value of the wrong type.
 */
export function fromProto3JSON<M = object>(type: ReflectionType<M>, json: JSONValue): M {
  checkType(type, 'fromProto3JSON');
  const name = type.fullName.replace(/^\./, '');
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new Proto3JsonError(`fromProto3JSON: ${name} must be a JSON object, got ${JSON.stringify(json)}`);
  const props: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(json)) {
    const f = type.fields.find((x) => x.name === key || x.protoName === key);
    if (f === undefined) throw new Proto3JsonError(`fromProto3JSON: ${name} has no field ${key}`);
    if (f.name in props) throw new Proto3JsonError(`fromProto3JSON: ${name}.${f.name} is given twice`);
    if (v === null) continue; // null is the field's default
    const where = `${name}.${f.name}`;
    if (f.map === true) {
      if (typeof v !== 'object' || Array.isArray(v)) throw new Proto3JsonError(`${where}: a map must be a JSON object`);
      props[f.name] = Object.fromEntries(
        Object.entries(v).map(([k, x]) => [k, scalarFromJSON(f, x, `${where}[${k}]`)]),
      );
    } else props[f.name] = scalarFromJSON(f, v, where);
  }
  return type.create(props);
}
