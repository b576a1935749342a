// `@ergo-ts/temporal/common/lib/protobufs`, the path of `@temporalio/common/lib/protobufs`: the
// protobuf payload converters, binary (`binary/protobuf`) and proto3 JSON (`json/protobuf`), over
// this package's proto classes (their `$type` is the reflection the JSON form needs).

export {
  ProtobufBinaryPayloadConverter,
  ProtobufJsonPayloadConverter,
  type DefaultPayloadConverterWithProtobufsOptions,
} from '../payload_converter.js';
