// `@ergo-ts/temporal/common/lib/protobufs`, the path of `@temporalio/common/lib/protobufs`: the
// protobuf payload converter (binary only: no `ProtobufJsonPayloadConverter`, whose proto3 JSON
// form needs a reflection of the messages this package does not have).

export {
  ProtobufBinaryPayloadConverter,
  type DefaultPayloadConverterWithProtobufsOptions,
} from '../payload_converter.js';
