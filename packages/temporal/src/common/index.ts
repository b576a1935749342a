// `@ergo-ts/temporal/common`: the shapes of `@temporalio/common` a Temporal program imports —
// failures, durations, retry policies, payload and failure converters, the data converter — and
// this package's own error codes.

export * from './failures.js';
export { msToNumber, msOptionalToNumber, type Duration, type StringValue } from './duration.js';
export {
  ErrTemporalIncorrect,
  ErrTemporalNoConnection,
  ErrTemporalOutsideActivity,
  ErrTemporalOutsideWorkflow,
  ErrTemporalUnsupported,
} from './errors.js';
export { fromStored, storedFailure, toStorable } from './converter.js';
export {
  BinaryPayloadConverter,
  CompositePayloadConverter,
  DefaultPayloadConverter,
  JsonPayloadConverter,
  METADATA_ENCODING_KEY,
  METADATA_MESSAGE_TYPE_KEY,
  UndefinedPayloadConverter,
  arrayFromPayloads,
  defaultPayloadConverter,
  encodingKeys,
  encodingTypes,
  fromPayloadsAtIndex,
  toPayloads,
  type Payload,
  type PayloadConverter,
  type PayloadConverterWithEncoding,
} from './payload_converter.js';
export {
  DefaultFailureConverter,
  type DefaultFailureConverterOptions,
  type FailureConverter,
  type ProtoFailure,
  type ProtoPayloads,
} from './failure_converter.js';
export {
  decodeFailure,
  decodePayloads,
  defaultDataConverter,
  encodeFailure,
  encodePayloads,
  fromEncoded,
  loadDataConverter,
  toEncoded,
  type DataConverter,
  type LoadedDataConverter,
  type PayloadCodec,
} from './data_converter.js';
export type { RetryPolicy, ActivityOptions } from './options.js';
export { ActivityCancellationType } from './options.js';
