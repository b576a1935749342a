// Errors of the ETF codec: one class with stable codes. Decode errors carry the byte offset where
// the input went wrong; limit violations name the limit option they hit. Codec errors are local:
// they never cross the wire as themselves.

import { ErgoError } from 'ergo-ts';

/**
 * Stable codes of {@link EtfError}.
 *
 * - `ERR_ETF_DECODE` — malformed input: truncated, unknown or unsupported tag (FUN_EXT, LOCAL_EXT),
 *   bad version byte, invalid field (a 6-word ref, a non-atom node name, a duplicate map key).
 * - `ERR_ETF_ENCODE` — a JS value with no Erlang term (undefined, null, NaN, a plain function…).
 * - `ERR_ETF_ATOM_CACHE` — an ATOM_CACHE_REF outside the message's ref list, a cache slot the
 *   connection's table does not hold, or a header that is not well formed.
 * - `ERR_ETF_COMPRESSED` — a compressed term whose zlib stream is broken or whose size differs from
 *   the announced one.
 * - limit codes, one per {@link EtfLimits} option: `ERR_ETF_MESSAGE_TOO_LARGE` (maxMessageSize),
 *   `ERR_ETF_TOO_DEEP` (maxDepth), `ERR_ETF_ATOM_TOO_LONG` (maxAtomChars),
 *   `ERR_ETF_BINARY_TOO_LONG` (maxBinaryBytes), `ERR_ETF_BIG_TOO_LARGE` (maxBigBytes),
 *   `ERR_ETF_DECOMPRESSED_TOO_LARGE` (maxDecompressedBytes).
 */
export type EtfErrorCode =
  | 'ERR_ETF_DECODE'
  | 'ERR_ETF_ENCODE'
  | 'ERR_ETF_ATOM_CACHE'
  | 'ERR_ETF_COMPRESSED'
  | 'ERR_ETF_MESSAGE_TOO_LARGE'
  | 'ERR_ETF_TOO_DEEP'
  | 'ERR_ETF_ATOM_TOO_LONG'
  | 'ERR_ETF_BINARY_TOO_LONG'
  | 'ERR_ETF_BIG_TOO_LARGE'
  | 'ERR_ETF_DECOMPRESSED_TOO_LARGE';

/**
 * The name of an EtfLimits option (limits.ts checks at compile time that these are exactly its
 * keys; named here so that the error does not import the limits, which throw it).
 */
export type EtfLimitName =
  'maxMessageSize' | 'maxDepth' | 'maxAtomChars' | 'maxBinaryBytes' | 'maxBigBytes' | 'maxDecompressedBytes';

const LIMIT_OF: Partial<Record<EtfErrorCode, EtfLimitName>> = {
  ERR_ETF_MESSAGE_TOO_LARGE: 'maxMessageSize',
  ERR_ETF_TOO_DEEP: 'maxDepth',
  ERR_ETF_ATOM_TOO_LONG: 'maxAtomChars',
  ERR_ETF_BINARY_TOO_LONG: 'maxBinaryBytes',
  ERR_ETF_BIG_TOO_LARGE: 'maxBigBytes',
  ERR_ETF_DECOMPRESSED_TOO_LARGE: 'maxDecompressedBytes',
};

/**
 * The only error the ETF codec throws. `code` is stable ({@link EtfErrorCode}); `reason` is the
 * message without location; `offset` is the byte offset of a decode problem (-1 otherwise);
 * `limit` names the exceeded {@link EtfLimits} option for limit codes.
 */
export class EtfError extends ErgoError {
  declare readonly code: EtfErrorCode;
  readonly reason: string;
  offset = -1;
  readonly limit: EtfLimitName | undefined;

  constructor(code: EtfErrorCode, reason: string, offset = -1, options?: { cause?: unknown }) {
    super(code, offset >= 0 ? `etf: ${reason} (at byte ${offset})` : `etf: ${reason}`, options);
    this.reason = reason;
    this.offset = offset;
    this.limit = LIMIT_OF[code];
  }
}
EtfError.prototype.name = 'EtfError';
