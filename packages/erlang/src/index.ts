// @ergo-ts/erlang: the Erlang distribution protocol for ergo-ts — ETF codec, EPMD client and
// server, and the version 6 distribution handshake.

export * from './etf/index.js';
export * from './epmd/index.js';
export {
  EpmdError,
  HandshakeError,
  DistError,
  type EpmdErrorCode,
  type HandshakeErrorCode,
  type DistErrorCode,
} from './errors.js';
export * from './handshake/index.js';
export { DistConnection, type DistConnectionOptions, type DistConnectionEvents } from './distribution/connection.js';
export * from './node/index.js';
