// `@ergo-ts/temporal/common/lib/proto-utils`, the path of `@temporalio/common/lib/proto-utils`: a
// payload's proto3 JSON form and back (the feature suite reads expected payloads this way).

export { JSONToPayload, payloadToJSON } from '../../proto/index.js';
