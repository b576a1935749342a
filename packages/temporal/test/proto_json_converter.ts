// The payload converter module the proto3 JSON test names by `payloadConverterPath`
// (temporal.proto_json.test.ts): protobuf messages as json/protobuf, then the default converters.

import { CompositePayloadConverter, defaultPayloadConverter } from '../src/common/index.js';
import { ProtobufJsonPayloadConverter } from '../src/common/lib/protobufs.js';
import * as proto from '../src/proto/index.js';

/** json/protobuf first, then binary/null, binary/plain, json/plain. */
export const payloadConverter = new CompositePayloadConverter(
  new ProtobufJsonPayloadConverter(proto),
  ...(defaultPayloadConverter as CompositePayloadConverter).converters,
);
