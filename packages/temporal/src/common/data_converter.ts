// Temporal's `DataConverter` (`@temporalio/common`): the payload converter and the failure
// converter named by module paths (each module exports `payloadConverter` / `failureConverter`,
// as Temporal's do), and payload codecs — asynchronous transforms of payloads on their way to the
// journal (encoding: from the first codec to the last) and back (the last first). A Client and a
// Worker each load the one they are given; give both the same, as with Temporal. What is kept as
// payloads: a workflow's arguments and result, an activity's input and result, and failures
// (their encoded attributes and details); signals, queries, updates and the memo keep their values
// in the store's codec.

import { pathToFileURL } from 'node:url';

import { ErrTemporalIncorrect } from './errors.js';
import {
  DefaultFailureConverter,
  type FailureConverter,
  type ProtoFailure,
  type ProtoPayloads,
} from './failure_converter.js';
import { defaultPayloadConverter, type Payload, type PayloadConverter } from './payload_converter.js';

/** Encodes and decodes payloads, for compression or encryption (Temporal's `PayloadCodec`). */
export interface PayloadCodec {
  /** Payloads on their way to the journal. */
  encode(payloads: Payload[]): Promise<Payload[]>;
  /** Payloads read back; a payload the codec did not write passes as it is. */
  decode(payloads: Payload[]): Promise<Payload[]>;
}

/** What a Client and a Worker take as `dataConverter` (Temporal's `DataConverter`). */
export interface DataConverter {
  /** A module exporting `payloadConverter` (default: undefined, bytes, JSON). */
  payloadConverterPath?: string;
  /** A module exporting `failureConverter` (default: `new DefaultFailureConverter()`). */
  failureConverterPath?: string;
  /** Codecs, applied in order on the way out, in reverse on the way in. */
  payloadCodecs?: PayloadCodec[];
}

/** A data converter with its modules loaded (Temporal's `LoadedDataConverter`). */
export interface LoadedDataConverter {
  readonly payloadConverter: PayloadConverter;
  readonly failureConverter: FailureConverter;
  readonly payloadCodecs: readonly PayloadCodec[];
}

/** Temporal's defaults: undefined, bytes and JSON; the default failure converter; no codec. */
export const defaultDataConverter: LoadedDataConverter = Object.freeze({
  payloadConverter: defaultPayloadConverter,
  failureConverter: new DefaultFailureConverter(),
  payloadCodecs: Object.freeze([]),
});

async function exported<T>(path: string, name: string, what: string): Promise<T> {
  if (typeof path !== 'string' || path === '')
    throw ErrTemporalIncorrect.with(`dataConverter.${what} is a module path`);
  const url = /^[a-z]+:/.test(path) ? path : pathToFileURL(path).href;
  const m = (await import(url)) as Record<string, unknown>;
  const v = m[name];
  if (v === null || typeof v !== 'object')
    throw ErrTemporalIncorrect.with(`dataConverter.${what}: ${path} exports no ${name}`);
  return v as T;
}

/** `dc` with its modules imported; checked: converters with their methods, codecs with encode and decode. */
export async function loadDataConverter(dc?: DataConverter | null): Promise<LoadedDataConverter> {
  if (dc == null) return defaultDataConverter;
  if (typeof dc !== 'object') throw ErrTemporalIncorrect.with('dataConverter is an object');
  const payloadConverter =
    dc.payloadConverterPath === undefined
      ? defaultPayloadConverter
      : await exported<PayloadConverter>(dc.payloadConverterPath, 'payloadConverter', 'payloadConverterPath');
  if (typeof payloadConverter.toPayload !== 'function' || typeof payloadConverter.fromPayload !== 'function')
    throw ErrTemporalIncorrect.with('dataConverter: payloadConverter has no toPayload/fromPayload');
  const failureConverter =
    dc.failureConverterPath === undefined
      ? defaultDataConverter.failureConverter
      : await exported<FailureConverter>(dc.failureConverterPath, 'failureConverter', 'failureConverterPath');
  if (typeof failureConverter.errorToFailure !== 'function' || typeof failureConverter.failureToError !== 'function')
    throw ErrTemporalIncorrect.with('dataConverter: failureConverter has no errorToFailure/failureToError');
  const payloadCodecs = dc.payloadCodecs ?? [];
  if (
    !Array.isArray(payloadCodecs) ||
    payloadCodecs.some((c) => typeof c?.encode !== 'function' || typeof c?.decode !== 'function')
  )
    throw ErrTemporalIncorrect.with('dataConverter.payloadCodecs: an array of codecs with encode and decode');
  return Object.freeze({ payloadConverter, failureConverter, payloadCodecs: Object.freeze([...payloadCodecs]) });
}

/** `payloads` through the codecs, first to last. */
export async function encodePayloads(dc: LoadedDataConverter, payloads: Payload[]): Promise<Payload[]> {
  let out = payloads;
  for (const c of dc.payloadCodecs) out = await c.encode(out);
  return out;
}

/** `payloads` back through the codecs, last to first. */
export async function decodePayloads(dc: LoadedDataConverter, payloads: Payload[]): Promise<Payload[]> {
  let out = payloads;
  for (let i = dc.payloadCodecs.length - 1; i >= 0; i--) out = await dc.payloadCodecs[i]!.decode(out);
  return out;
}

/** Each value as a payload, encoded. */
export async function toEncoded(dc: LoadedDataConverter, values: readonly unknown[]): Promise<Payload[]> {
  return encodePayloads(
    dc,
    values.map((v) => dc.payloadConverter.toPayload(v)),
  );
}

/** The values of encoded payloads. */
export async function fromEncoded(dc: LoadedDataConverter, payloads: readonly Payload[]): Promise<unknown[]> {
  return (await decodePayloads(dc, [...payloads])).map((p) => dc.payloadConverter.fromPayload(p));
}

async function mapPayloads(
  p: ProtoPayloads | null | undefined,
  f: (payloads: Payload[]) => Promise<Payload[]>,
): Promise<ProtoPayloads | undefined> {
  return p?.payloads == null ? (p ?? undefined) : { payloads: await f(p.payloads) };
}

/** `failure`'s payloads (encoded attributes, details, heartbeat details) through `f`, each cause's too. */
async function mapFailure(
  failure: ProtoFailure,
  f: (payloads: Payload[]) => Promise<Payload[]>,
  depth = 0,
): Promise<ProtoFailure> {
  const out: ProtoFailure = { ...failure };
  if (failure.encodedAttributes != null) out.encodedAttributes = (await f([failure.encodedAttributes]))[0] ?? null;
  if (failure.applicationFailureInfo?.details != null)
    out.applicationFailureInfo = {
      ...failure.applicationFailureInfo,
      details: (await mapPayloads(failure.applicationFailureInfo.details, f)) ?? null,
    };
  if (failure.canceledFailureInfo?.details != null)
    out.canceledFailureInfo = { details: (await mapPayloads(failure.canceledFailureInfo.details, f)) ?? null };
  if (failure.timeoutFailureInfo?.lastHeartbeatDetails != null)
    out.timeoutFailureInfo = {
      ...failure.timeoutFailureInfo,
      lastHeartbeatDetails: (await mapPayloads(failure.timeoutFailureInfo.lastHeartbeatDetails, f)) ?? null,
    };
  if (failure.cause != null && depth < 8) out.cause = await mapFailure(failure.cause, f, depth + 1);
  return out;
}

/** `failure` with its payloads encoded by the codecs (Temporal's `encodeFailure`). */
export function encodeFailure(dc: LoadedDataConverter, failure: ProtoFailure): Promise<ProtoFailure> {
  return dc.payloadCodecs.length === 0 ? Promise.resolve(failure) : mapFailure(failure, (p) => encodePayloads(dc, p));
}

/** `failure` with its payloads decoded by the codecs (Temporal's `decodeFailure`). */
export function decodeFailure(dc: LoadedDataConverter, failure: ProtoFailure): Promise<ProtoFailure> {
  return dc.payloadCodecs.length === 0 ? Promise.resolve(failure) : mapFailure(failure, (p) => decodePayloads(dc, p));
}
