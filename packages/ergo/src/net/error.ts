// Errors of the wire codecs (handshake, ENP, registrar). One class with stable codes; `fatal`
// says whether the TCP link the bytes came from must be closed (framing broken, limit crossed,
// handshake check failed) or only the one packet is dropped (Ergo logs and drops packets it
// cannot decode and keeps the link). EDF failures inside a packet keep their EdfError as cause.

import { ErgoError } from '../gen/errors.js';

/**
 * Stable codes of {@link WireError}.
 *
 * Handshake (all fatal: the connection is closed, nothing is sent to the peer, as Ergo does):
 * - `ERR_HANDSHAKE_FRAME` — bad magic (0x57) or version (1) in a handshake frame header.
 * - `ERR_HANDSHAKE_TOO_LARGE` — a frame longer than `maxHandshakeFrame` (Ergo: 65535).
 * - `ERR_HANDSHAKE_MESSAGE` — the payload does not decode, or is not the message expected at this step.
 * - `ERR_HANDSHAKE_DIGEST` — a cookie digest does not match (wrong cookie).
 * - `ERR_HANDSHAKE_CERT` — the TLS certificate digest does not match (cookie not bound to this certificate).
 * - `ERR_HANDSHAKE_NAME` — the peer has our own node name, or is not the node we dialed.
 * - `ERR_HANDSHAKE_TIMEOUT` — a step took longer than the per-read timeout (Ergo: 1 s).
 * - `ERR_HANDSHAKE_CLOSED` — the socket closed or failed during the handshake.
 * - `ERR_HANDSHAKE_REFUSED` — the acceptor refused the peer by name after its Introduce (a
 *   crossing dial: both nodes dialled each other and the other connection is kept; or a
 *   connection with it is up already). Initiator: the acceptor closed the socket at that step.
 *
 * ENP:
 * - `ERR_ENP_FRAME` (fatal) — bad magic (0x4e), version (1) or a length below the 8-byte header.
 * - `ERR_ENP_TOO_LARGE` (fatal) — a packet longer than this side's `maxMessageSize` (Ergo closes the link).
 * - `ERR_ENP_MALFORMED` — a packet too short for its type's fixed fields, or a bad field (code byte, name length).
 * - `ERR_ENP_UNKNOWN_TYPE` — a packet type ENP:R1 does not define (or reserved: 201–203).
 * - `ERR_ENP_COMPRESSION` — unknown algorithm, corrupt stream, or a length other than announced.
 * - `ERR_ENP_DECOMPRESSED_TOO_LARGE` — a compressed packet announcing or inflating past
 *   `maxDecompressedSize` (zip-bomb protection, Ergo 3.2.0).
 * - `ERR_ENP_PAYLOAD` — the EDF payload does not decode (the EdfError is the cause).
 * - `ERR_ENP_ENCODE` — a packet cannot be built (value not encodable, field out of range).
 *
 * Registrar:
 * - `ERR_REGISTRAR_PACKET` — bad version/type/length in a registrar packet, or an undecodable payload.
 */
export type WireErrorCode =
  | 'ERR_HANDSHAKE_FRAME'
  | 'ERR_HANDSHAKE_TOO_LARGE'
  | 'ERR_HANDSHAKE_MESSAGE'
  | 'ERR_HANDSHAKE_DIGEST'
  | 'ERR_HANDSHAKE_CERT'
  | 'ERR_HANDSHAKE_NAME'
  | 'ERR_HANDSHAKE_TIMEOUT'
  | 'ERR_HANDSHAKE_CLOSED'
  | 'ERR_HANDSHAKE_REFUSED'
  | 'ERR_ENP_FRAME'
  | 'ERR_ENP_TOO_LARGE'
  | 'ERR_ENP_MALFORMED'
  | 'ERR_ENP_UNKNOWN_TYPE'
  | 'ERR_ENP_COMPRESSION'
  | 'ERR_ENP_DECOMPRESSED_TOO_LARGE'
  | 'ERR_ENP_PAYLOAD'
  | 'ERR_ENP_ENCODE'
  | 'ERR_REGISTRAR_PACKET';

const FATAL = new Set<WireErrorCode>(['ERR_ENP_FRAME', 'ERR_ENP_TOO_LARGE']);

/** The error every wire codec throws; `code` is stable (see {@link WireErrorCode}). */
export class WireError extends ErgoError {
  declare readonly code: WireErrorCode;
  /** True when the link must be closed; false when only this packet is dropped. */
  readonly fatal: boolean;

  constructor(code: WireErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.fatal = FATAL.has(code) || code.startsWith('ERR_HANDSHAKE_');
  }
}
WireError.prototype.name = 'WireError';
