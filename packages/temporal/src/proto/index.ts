// `@ergo-ts/temporal/proto`: the few messages and enums of Temporal's API (`@temporalio/proto`)
// that code around payloads uses — `temporal.api.common.v1.Payload` with protobuf's binary
// encoding (`encode(…).finish()`, `decode(bytes)`, `toJSON()`, as protobufjs's generated classes
// give them), the proto3 JSON form of a payload (`JSONToPayload`, `payloadToJSON`), and the
// `WorkflowExecutionStatus` enum, `temporal.api.common.v1.DataBlob` and the `EncodingType` enum
// (messages of this namespace carry a `$type`, which `ProtobufBinaryPayloadConverter` reads).
// Each message class's `$type` is its reflection (reflection.ts), which proto3_json.ts maps to
// proto3 JSON. Written from the `.proto` definitions; not the whole API (no history events).

import { field, type MessageType, type ReflectionType } from './reflection.js';

export type { EnumType, FieldDescriptor, MessageType, ReflectionType, ScalarKind } from './reflection.js';

/** Builds protobuf's wire format: varints and length-delimited fields. */
class Writer {
  readonly #parts: number[] = [];

  varint(n: number): this {
    let v = n >>> 0;
    while (v > 0x7f) {
      this.#parts.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    this.#parts.push(v);
    return this;
  }

  /** A varint field (an enum, an integer): `tag`, then the value. */
  uint(field: number, n: number): this {
    return this.varint(field << 3).varint(n);
  }

  /** A length-delimited field: `tag`, then the length, then the bytes. */
  bytes(field: number, b: Uint8Array): this {
    this.varint((field << 3) | 2).varint(b.length);
    for (const x of b) this.#parts.push(x);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.#parts);
  }
}

/** Reads protobuf's wire format. */
class Reader {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  varint(): number {
    let out = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.pos >= this.buf.length) throw new RangeError('protobuf: a varint runs past the end');
      const b = this.buf[this.pos++]!;
      out |= (b & 0x7f) << shift;
      if (b < 0x80) return out >>> 0;
    }
    throw new RangeError('protobuf: a varint is too long');
  }

  bytes(): Buffer {
    const n = this.varint();
    if (this.pos + n > this.buf.length) throw new RangeError('protobuf: a field runs past the end');
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  /** Skips a field of wire type `type` (an unknown field). */
  skip(type: number): void {
    if (type === 0) this.varint();
    else if (type === 1) this.pos += 8;
    else if (type === 2) this.bytes();
    else if (type === 5) this.pos += 4;
    else throw new RangeError(`protobuf: wire type ${type} is not read`);
  }
}

const utf8 = new TextEncoder();

/**
 * A payload's fields as plain data (protobufjs' `IPayload`): metadata (`encoding` first) and data
 * bytes. `@ergo-ts/temporal/common`'s `Payload`, what converters make and codecs take, is this
 * shape, as `@temporalio/common`'s is `temporal.api.common.v1.IPayload`.
 */
export interface IPayload {
  metadata?: Record<string, Uint8Array> | null;
  data?: Uint8Array | null;
}

/**
 * `temporal.api.common.v1.Payload`: `map<string, bytes> metadata = 1; bytes data = 2;`, as a
 * protobufjs class (`create`, `encode`, `decode`, `toJSON`). Decoded bytes are Buffers.
 */
export class Payload implements IPayload {
  metadata: Record<string, Uint8Array> = {};
  declare data?: Uint8Array;

  constructor(props?: IPayload) {
    for (const [k, v] of Object.entries(props?.metadata ?? {})) this.metadata[k] = v;
    if (props?.data != null) this.data = props.data;
  }

  /** A message from its fields. */
  static create(props?: IPayload): Payload {
    return new Payload(props);
  }

  /** `m` in protobuf's binary form: `Payload.encode(m).finish()`. */
  static encode(m: IPayload): { finish(): Uint8Array } {
    const w = new Writer();
    for (const [k, v] of Object.entries(m.metadata ?? {})) {
      const entry = new Writer().bytes(1, utf8.encode(k)).bytes(2, v).finish();
      w.bytes(1, entry);
    }
    if (m.data != null && m.data.length > 0) w.bytes(2, m.data);
    return w;
  }

  /** The message `bytes` hold; RangeError when they are not a payload's. */
  static decode(bytes: Uint8Array): Payload {
    const r = new Reader(bytes);
    const out = new Payload();
    while (!r.done) {
      const tag = r.varint();
      const field = tag >>> 3;
      const type = tag & 7;
      if (field === 1 && type === 2) {
        const entry = new Reader(r.bytes());
        let key = '';
        let value: Uint8Array = Buffer.alloc(0);
        while (!entry.done) {
          const t = entry.varint();
          if (t >>> 3 === 1 && (t & 7) === 2) key = entry.bytes().toString('utf8');
          else if (t >>> 3 === 2 && (t & 7) === 2) value = entry.bytes();
          else entry.skip(t & 7);
        }
        out.metadata[key] = value;
      } else if (field === 2 && type === 2) out.data = r.bytes();
      else r.skip(type);
    }
    return out;
  }

  /** Its type (protobufjs's `$type`): name, fields and codec. */
  static readonly $type: ReflectionType<Payload> = Object.freeze({
    fullName: '.temporal.api.common.v1.Payload',
    fields: Object.freeze([field(1, 'metadata', 'bytes', true), field(2, 'data', 'bytes')]),
    encode: (m: Payload) => Payload.encode(m),
    decode: (b: Uint8Array) => Payload.decode(b),
    create: (props?: object) => Payload.create(props as IPayload),
  });

  /** The proto3 JSON form: bytes as base64 (protobufjs's `toJSON`). */
  toJSON(): { metadata?: Record<string, string>; data?: string } {
    return payloadToJSON(this);
  }
}

function base64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

/** A payload in proto3 JSON: metadata and data as base64 (`@temporalio/common/lib/proto-utils`). */
export function payloadToJSON(p: IPayload): { metadata?: Record<string, string>; data?: string } {
  const metadata = Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, base64(v)]));
  return {
    ...(Object.keys(metadata).length === 0 ? {} : { metadata }),
    ...(p.data == null || p.data.length === 0 ? {} : { data: base64(p.data) }),
  };
}

/** A payload from its proto3 JSON form (`@temporalio/common/lib/proto-utils`'s `JSONToPayload`): bytes as Buffers. */
export function JSONToPayload(json: { metadata?: Record<string, string> | null; data?: string | null }): Payload {
  const out = new Payload();
  for (const [k, v] of Object.entries(json?.metadata ?? {})) out.metadata[k] = Buffer.from(v, 'base64');
  if (json?.data != null) out.data = Buffer.from(json.data, 'base64');
  return out;
}

/** Temporal's `EncodingType` enum, by its numbers. */
export const EncodingType = Object.freeze({
  ENCODING_TYPE_UNSPECIFIED: 0,
  ENCODING_TYPE_PROTO3: 1,
  ENCODING_TYPE_JSON: 2,
} as const);

const EncodingTypeEnum = Object.freeze({ fullName: '.temporal.api.enums.v1.EncodingType', values: EncodingType });

/** What {@link DataBlob.create} takes. */
export interface IDataBlob {
  encodingType?: number | null;
  data?: Uint8Array | null;
}

/**
 * `temporal.api.common.v1.DataBlob`: `EncodingType encoding_type = 1; bytes data = 2;`, as a
 * protobufjs class; decoded bytes are Buffers, absent fields their defaults (0, empty).
 */
export class DataBlob {
  encodingType = 0;
  data: Uint8Array = new Uint8Array();

  constructor(props?: IDataBlob) {
    if (props?.encodingType != null) this.encodingType = props.encodingType;
    if (props?.data != null) this.data = props.data;
  }

  /** A message from its fields. */
  static create(props?: IDataBlob): DataBlob {
    return new DataBlob(props);
  }

  /** `m` in protobuf's binary form (proto3: fields at their default are not written). */
  static encode(m: IDataBlob): { finish(): Uint8Array } {
    const w = new Writer();
    if (m.encodingType != null && m.encodingType !== 0) w.uint(1, m.encodingType);
    if (m.data != null && m.data.length > 0) w.bytes(2, m.data);
    return w;
  }

  /** The message `bytes` hold; RangeError when they are not a DataBlob's. */
  static decode(bytes: Uint8Array): DataBlob {
    const r = new Reader(bytes);
    const out = new DataBlob();
    while (!r.done) {
      const tag = r.varint();
      if (tag === ((1 << 3) | 0)) out.encodingType = r.varint();
      else if (tag === ((2 << 3) | 2)) out.data = r.bytes();
      else r.skip(tag & 7);
    }
    return out;
  }

  /** Its type (protobufjs's `$type`): name, fields and codec. */
  static readonly $type: ReflectionType<DataBlob> = Object.freeze({
    fullName: '.temporal.api.common.v1.DataBlob',
    fields: Object.freeze([field(1, 'encodingType', EncodingTypeEnum), field(2, 'data', 'bytes')]),
    encode: (m: DataBlob) => DataBlob.encode(m),
    decode: (b: Uint8Array) => DataBlob.decode(b),
    create: (props?: object) => DataBlob.create(props as IDataBlob),
  });

  get $type(): ReflectionType<DataBlob> {
    return DataBlob.$type;
  }
}

/** Temporal's `WorkflowExecutionStatus` enum, by its numbers. */
export const WorkflowExecutionStatus = Object.freeze({
  WORKFLOW_EXECUTION_STATUS_UNSPECIFIED: 0,
  WORKFLOW_EXECUTION_STATUS_RUNNING: 1,
  WORKFLOW_EXECUTION_STATUS_COMPLETED: 2,
  WORKFLOW_EXECUTION_STATUS_FAILED: 3,
  WORKFLOW_EXECUTION_STATUS_CANCELED: 4,
  WORKFLOW_EXECUTION_STATUS_TERMINATED: 5,
  WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW: 6,
  WORKFLOW_EXECUTION_STATUS_TIMED_OUT: 7,
} as const);

/** The namespace `@temporalio/proto` exports: `temporal.api.common.v1.Payload` and `DataBlob`, `temporal.api.enums.v1.WorkflowExecutionStatus` and `EncodingType`. */
export const temporal = Object.freeze({
  api: Object.freeze({
    common: Object.freeze({ v1: Object.freeze({ Payload, DataBlob }) }),
    enums: Object.freeze({ v1: Object.freeze({ WorkflowExecutionStatus, EncodingType }) }),
  }),
});

/** The message class named `fullName` (with or without its leading dot) under `root`, or undefined. */
export function lookupMessage(root: object, fullName: string): { $type: MessageType } | undefined {
  let at: unknown = root;
  for (const part of fullName.replace(/^\./, '').split('.')) {
    if (at === null || (typeof at !== 'object' && typeof at !== 'function')) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  const t = (at as { $type?: MessageType } | undefined)?.$type;
  return t !== undefined && typeof t.decode === 'function' ? (at as { $type: MessageType }) : undefined;
}
