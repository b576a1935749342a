// `@ergo-ts/temporal/common/lib/encoding`, the path of `@temporalio/common/lib/encoding`: UTF-8
// text to bytes and back, as payload metadata and JSON data are written.

export { decode, encode } from '../payload_converter.js';
