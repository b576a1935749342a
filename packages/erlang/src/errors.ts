// Errors of the EPMD client/server and the distribution handshake: one class each, stable codes.

import { ErgoError } from 'ergo-ts';

/**
 * Codes of {@link EpmdError}:
 * - `ERR_EPMD_CONNECT` — EPMD could not be reached (connection refused, reset, closed early).
 * - `ERR_EPMD_NOT_FOUND` — `resolve` of a node EPMD does not know.
 * - `ERR_EPMD_TIMEOUT` — no complete answer within the request's timeout.
 * - `ERR_EPMD_ABORTED` — the request's AbortSignal fired.
 * - `ERR_EPMD_TAKEN` — ALIVE2 refused: the name is registered already (result 1).
 * - `ERR_EPMD_PROTOCOL` — an answer that is not what the protocol allows.
 * - `ERR_EPMD_INCORRECT` — a bad argument (empty or over-long name, port out of range...).
 * - `ERR_EPMD_CLOSED` — the registration or server was closed.
 */
export type EpmdErrorCode =
  | 'ERR_EPMD_CONNECT'
  | 'ERR_EPMD_NOT_FOUND'
  | 'ERR_EPMD_TIMEOUT'
  | 'ERR_EPMD_ABORTED'
  | 'ERR_EPMD_TAKEN'
  | 'ERR_EPMD_PROTOCOL'
  | 'ERR_EPMD_INCORRECT'
  | 'ERR_EPMD_CLOSED';

/** The error of the EPMD client and server. */
export class EpmdError extends ErgoError {
  declare readonly code: EpmdErrorCode;
  constructor(code: EpmdErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, `epmd: ${message}`, options);
  }
}
EpmdError.prototype.name = 'EpmdError';

/**
 * Codes of {@link HandshakeError}:
 * - `ERR_HANDSHAKE_TIMEOUT` — a handshake step took longer than the set-up timeout.
 * - `ERR_HANDSHAKE_ABORTED` — the AbortSignal fired.
 * - `ERR_HANDSHAKE_CLOSED` — the peer closed the socket (OTP does so on a wrong cookie or an
 *   unacceptable name without a status).
 * - `ERR_HANDSHAKE_COOKIE` — the peer's digest does not match our cookie.
 * - `ERR_HANDSHAKE_NOT_ALLOWED` — the peer answered `not_allowed` (name refused or a mandatory
 *   flag missing), or we refused the peer for the same reasons.
 * - `ERR_HANDSHAKE_NOK` — the peer answered `nok`: it is connecting to us at the same time and
 *   its attempt wins; wait for its connection.
 * - `ERR_HANDSHAKE_ALIVE` — the peer answered `alive` and the connection it has was kept.
 * - `ERR_HANDSHAKE_NAME` — the peer presented another name than the one dialled, or a bad name.
 * - `ERR_HANDSHAKE_FLAGS` — the peer lacks a flag we require (our mandatory set).
 * - `ERR_HANDSHAKE_PROTOCOL` — a message the protocol does not allow at this point (version 5
 *   `'n'` names included: OTP 23+ peers speak version 6).
 * - `ERR_HANDSHAKE_INCORRECT` — a bad option (name, cookie, creation...).
 */
export type HandshakeErrorCode =
  | 'ERR_HANDSHAKE_TIMEOUT'
  | 'ERR_HANDSHAKE_ABORTED'
  | 'ERR_HANDSHAKE_CLOSED'
  | 'ERR_HANDSHAKE_COOKIE'
  | 'ERR_HANDSHAKE_NOT_ALLOWED'
  | 'ERR_HANDSHAKE_NOK'
  | 'ERR_HANDSHAKE_ALIVE'
  | 'ERR_HANDSHAKE_NAME'
  | 'ERR_HANDSHAKE_FLAGS'
  | 'ERR_HANDSHAKE_PROTOCOL'
  | 'ERR_HANDSHAKE_INCORRECT';

/** The error of the distribution handshake. */
export class HandshakeError extends ErgoError {
  declare readonly code: HandshakeErrorCode;
  constructor(code: HandshakeErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, `handshake: ${message}`, options);
  }
}
HandshakeError.prototype.name = 'HandshakeError';

/**
 * Codes of {@link DistError} (the connection phase):
 * - `ERR_DIST_CLOSED` — the connection was closed (by us or the peer).
 * - `ERR_DIST_TIMEOUT` — nothing arrived from the peer within `peerTimeout` (no ticks either).
 * - `ERR_DIST_PROTOCOL` — a packet that is not a distribution message, a broken fragment sequence,
 *   or a packet above the size limit; the connection is closed, as OTP does.
 */
export type DistErrorCode = 'ERR_DIST_CLOSED' | 'ERR_DIST_TIMEOUT' | 'ERR_DIST_PROTOCOL';

/** The error of a distribution connection. */
export class DistError extends ErgoError {
  declare readonly code: DistErrorCode;
  constructor(code: DistErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, `dist: ${message}`, options);
  }
}
DistError.prototype.name = 'DistError';
