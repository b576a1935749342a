// Temporal's payload converters (`@temporalio/common`), written from its public types: a value
// becomes a Payload — metadata (its `encoding`) and data bytes — by the first converter of a
// composite that takes it: `binary/null` for undefined, `binary/plain` for a Uint8Array, `json/plain`
// for anything JSON keeps. The workflow's arguments and result and an activity's input and result
// are kept in the journal as these payloads (data_converter.ts runs them through the codecs).

import { lookupMessage, type IPayload, type MessageType } from '../proto/index.js';
import { fromProto3JSON, toProto3JSON, type JSONValue } from '../proto/proto3_json.js';
import { isReflectionType } from '../proto/reflection.js';
import { ValueError } from './failures.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `s` as UTF-8 bytes (`@temporalio/common/lib/encoding`'s `encode`). */
export function encode(s: string): Uint8Array {
  return encoder.encode(s);
}

/** UTF-8 bytes as text (`@temporalio/common/lib/encoding`'s `decode`). */
export function decode(a: Uint8Array): string {
  return decoder.decode(a);
}

/**
 * A value as Temporal keeps it: metadata (`encoding` first) and data bytes. The message's plain
 * shape, `IPayload` of `@ergo-ts/temporal/proto` (defined there with the message, which the
 * protobuf converters read).
 */
export type Payload = IPayload;

/** The metadata key naming a payload's encoding. */
export const METADATA_ENCODING_KEY = 'encoding';
/** The metadata key naming a protobuf payload's message type. */
export const METADATA_MESSAGE_TYPE_KEY = 'messageType';

/** The encodings Temporal's default converters write. */
export const encodingTypes = Object.freeze({
  METADATA_ENCODING_NULL: 'binary/null',
  METADATA_ENCODING_RAW: 'binary/plain',
  METADATA_ENCODING_JSON: 'json/plain',
  METADATA_ENCODING_PROTOBUF_JSON: 'json/protobuf',
  METADATA_ENCODING_PROTOBUF: 'binary/protobuf',
} as const);

/** {@link encodingTypes} as bytes, as they stand in a payload's metadata. */
export const encodingKeys = Object.freeze({
  METADATA_ENCODING_NULL: encode(encodingTypes.METADATA_ENCODING_NULL),
  METADATA_ENCODING_RAW: encode(encodingTypes.METADATA_ENCODING_RAW),
  METADATA_ENCODING_JSON: encode(encodingTypes.METADATA_ENCODING_JSON),
  METADATA_ENCODING_PROTOBUF_JSON: encode(encodingTypes.METADATA_ENCODING_PROTOBUF_JSON),
  METADATA_ENCODING_PROTOBUF: encode(encodingTypes.METADATA_ENCODING_PROTOBUF),
});

/** Converts values to payloads and back (Temporal's `PayloadConverter`). */
export interface PayloadConverter {
  /** `value` as a payload; throws ValueError when it cannot. */
  toPayload<T>(value: T): Payload;
  /** The value `payload` holds. */
  fromPayload<T>(payload: Payload): T;
}

/** One converter of a composite (Temporal's `PayloadConverterWithEncoding`): undefined when it does not take the value. */
export interface PayloadConverterWithEncoding {
  readonly encodingType: string;
  toPayload<T>(value: T): Payload | undefined;
  fromPayload<T>(payload: Payload): T;
}

/** The encoding a payload names, or undefined. */
export function encodingOf(payload: Payload): string | undefined {
  const e = payload.metadata?.[METADATA_ENCODING_KEY];
  return e == null ? undefined : decode(e);
}

/** Tries each converter in order on the way out, the one its encoding names on the way in (Temporal's `CompositePayloadConverter`). */
export class CompositePayloadConverter implements PayloadConverter {
  readonly converters: PayloadConverterWithEncoding[];
  readonly converterByEncoding = new Map<string, PayloadConverterWithEncoding>();

  constructor(...converters: PayloadConverterWithEncoding[]) {
    if (converters.length === 0) throw new ValueError('Must provide at least one PayloadConverterWithEncoding');
    this.converters = converters;
    for (const c of converters) this.converterByEncoding.set(c.encodingType, c);
  }

  toPayload<T>(value: T): Payload {
    for (const c of this.converters) {
      const p = c.toPayload(value);
      if (p !== undefined) return p;
    }
    throw new ValueError(`Unable to convert ${String(value)} to payload`);
  }

  fromPayload<T>(payload: Payload): T {
    const encoding = encodingOf(payload);
    if (encoding === undefined) throw new ValueError('Unknown payload encoding');
    const c = this.converterByEncoding.get(encoding);
    if (c === undefined) throw new ValueError(`Unknown encoding: ${encoding}`);
    return c.fromPayload(payload);
  }
}

/** `undefined` as `binary/null`, a payload without data (Temporal's `UndefinedPayloadConverter`). */
export class UndefinedPayloadConverter implements PayloadConverterWithEncoding {
  readonly encodingType = encodingTypes.METADATA_ENCODING_NULL;

  toPayload<T>(value: T): Payload | undefined {
    if (value !== undefined) return undefined;
    return { metadata: { [METADATA_ENCODING_KEY]: encodingKeys.METADATA_ENCODING_NULL } };
  }

  fromPayload<T>(_payload: Payload): T {
    return undefined as T;
  }
}

/** A Uint8Array as `binary/plain`, its bytes as the data (Temporal's `BinaryPayloadConverter`). */
export class BinaryPayloadConverter implements PayloadConverterWithEncoding {
  readonly encodingType = encodingTypes.METADATA_ENCODING_RAW;

  toPayload<T>(value: T): Payload | undefined {
    if (!(value instanceof Uint8Array)) return undefined;
    return { metadata: { [METADATA_ENCODING_KEY]: encodingKeys.METADATA_ENCODING_RAW }, data: value };
  }

  fromPayload<T>(payload: Payload): T {
    // A plain Uint8Array (not a Buffer): what the caller gave is what comes back.
    const d = payload.data ?? new Uint8Array();
    return new Uint8Array(d.buffer, d.byteOffset, d.byteLength) as T;
  }
}

/** A JSON value as `json/plain`, its JSON text as UTF-8 data (Temporal's `JsonPayloadConverter`). */
export class JsonPayloadConverter implements PayloadConverterWithEncoding {
  readonly encodingType = encodingTypes.METADATA_ENCODING_JSON;

  toPayload<T>(value: T): Payload | undefined {
    if (value === undefined) return undefined;
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch (err) {
      throw new ValueError(`Unable to serialize value as JSON: ${(err as Error).message}`, err);
    }
    if (json === undefined) return undefined; // a function, a symbol: JSON has no form for it
    return { metadata: { [METADATA_ENCODING_KEY]: encodingKeys.METADATA_ENCODING_JSON }, data: encode(json) };
  }

  fromPayload<T>(payload: Payload): T {
    if (payload.data == null) throw new ValueError('Got payload with no data');
    return JSON.parse(decode(payload.data)) as T;
  }
}

/** undefined, bytes, then JSON (Temporal's `DefaultPayloadConverter`). */
export class DefaultPayloadConverter extends CompositePayloadConverter {
  constructor() {
    super(new UndefinedPayloadConverter(), new BinaryPayloadConverter(), new JsonPayloadConverter());
  }
}

/** The default converter (Temporal's `defaultPayloadConverter`). */
export const defaultPayloadConverter: PayloadConverter = new DefaultPayloadConverter();

/** Each value as a payload (Temporal's `toPayloads`). */
export function toPayloads(converter: PayloadConverter, ...values: unknown[]): Payload[] | undefined {
  if (values.length === 0) return undefined;
  return values.map((v) => converter.toPayload(v));
}

/** The value of the `index`th payload, undefined past the end (Temporal's `fromPayloadsAtIndex`). */
export function fromPayloadsAtIndex<T>(converter: PayloadConverter, index: number, payloads?: Payload[] | null): T {
  if (payloads == null || index >= payloads.length) return undefined as T;
  return converter.fromPayload(payloads[index]!);
}

/** Every payload's value (Temporal's `arrayFromPayloads`). */
export function arrayFromPayloads(converter: PayloadConverter, payloads?: Payload[] | null): unknown[] {
  return (payloads ?? []).map((p) => converter.fromPayload(p));
}

/** Whether `v` has a payload's shape: metadata bytes naming an encoding. */
export function isPayload(v: unknown): v is Payload {
  if (v === null || typeof v !== 'object') return false;
  const m = (v as Payload).metadata;
  return (
    m !== null &&
    typeof m === 'object' &&
    m[METADATA_ENCODING_KEY] instanceof Uint8Array &&
    ((v as Payload).data == null || (v as Payload).data instanceof Uint8Array)
  );
}

/** What the protobuf converters take (Temporal's `DefaultPayloadConverterWithProtobufsOptions`). */
export interface DefaultPayloadConverterWithProtobufsOptions {
  /** The namespace of message classes (`@ergo-ts/temporal/proto`, or one of yours whose classes carry a `$type`). */
  readonly protobufRoot: Record<string, unknown>;
}

/**
 * A protobuf message as `binary/protobuf` — its type's full name in the `messageType` metadata, its
 * protobuf bytes as the data — read back by looking the name up under the root (Temporal's
 * `ProtobufBinaryPayloadConverter`). A message is a value whose `$type` names it and encodes it,
 * as protobufjs's classes and this package's `proto` classes have.
 */
export class ProtobufBinaryPayloadConverter implements PayloadConverterWithEncoding {
  readonly encodingType = encodingTypes.METADATA_ENCODING_PROTOBUF;
  readonly #root: Record<string, unknown>;

  constructor(root?: Record<string, unknown>) {
    if (root === null || typeof root !== 'object')
      throw new ValueError(
        'ProtobufBinaryPayloadConverter: a protobufRoot (the namespace of message classes) is required',
      );
    this.#root = root;
  }

  toPayload<T>(value: T): Payload | undefined {
    const type = (value as { $type?: MessageType } | null | undefined)?.$type;
    if (typeof type?.fullName !== 'string' || typeof type.encode !== 'function') return undefined;
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: encodingKeys.METADATA_ENCODING_PROTOBUF,
        [METADATA_MESSAGE_TYPE_KEY]: encode(type.fullName.replace(/^\./, '')),
      },
      data: type.encode(value as object).finish(),
    };
  }

  fromPayload<T>(payload: Payload): T {
    const name = payload.metadata?.[METADATA_MESSAGE_TYPE_KEY];
    if (name == null) throw new ValueError('Got protobuf payload without messageType');
    const cls = lookupMessage(this.#root, decode(name));
    if (cls === undefined) throw new ValueError(`Unknown protobuf message type ${decode(name)}`);
    return cls.$type.decode(payload.data ?? new Uint8Array()) as T;
  }
}

/**
 * Protobuf messages in proto3 JSON (Temporal's `ProtobufJsonPayloadConverter`): encoding
 * `json/protobuf`, the message's full name under `messageType`, the data its proto3 JSON
 * (lowerCamelCase names, bytes as base64, enums by name, defaults left out). A message is a value
 * whose `$type` lists its fields, as this package's `proto` classes have; decoding finds the class
 * by `messageType` under the root.
 */
export class ProtobufJsonPayloadConverter implements PayloadConverterWithEncoding {
  readonly encodingType = encodingTypes.METADATA_ENCODING_PROTOBUF_JSON;
  readonly #root: Record<string, unknown>;

  constructor(root?: Record<string, unknown>) {
    if (root === null || typeof root !== 'object')
      throw new ValueError(
        'ProtobufJsonPayloadConverter: a protobufRoot (the namespace of message classes) is required',
      );
    this.#root = root;
  }

  toPayload<T>(value: T): Payload | undefined {
    const type = (value as { $type?: unknown } | null | undefined)?.$type;
    if (!isReflectionType(type)) return undefined;
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: encodingKeys.METADATA_ENCODING_PROTOBUF_JSON,
        [METADATA_MESSAGE_TYPE_KEY]: encode(type.fullName.replace(/^\./, '')),
      },
      data: encode(JSON.stringify(toProto3JSON(value as object, type))),
    };
  }

  fromPayload<T>(payload: Payload): T {
    const name = payload.metadata?.[METADATA_MESSAGE_TYPE_KEY];
    if (name == null) throw new ValueError('Got protobuf payload without messageType');
    const type = lookupMessage(this.#root, decode(name))?.$type;
    if (!isReflectionType(type)) throw new ValueError(`Unknown protobuf message type ${decode(name)}`);
    let json: JSONValue;
    try {
      json = JSON.parse(decode(payload.data ?? new Uint8Array())) as JSONValue;
    } catch (err) {
      throw new ValueError(`json/protobuf payload of ${decode(name)} is not JSON`, err);
    }
    return fromProto3JSON(type, json) as T;
  }
}
