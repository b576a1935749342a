// EHS:R1 — Ergo's handshake (WIRE.md §2). The handshake functions and the frame codec are used
// by the network stack inside the package; users see the message types and the defaults.

export {
  HandshakeTypeName,
  MessageHello,
  MessageJoin,
  MessageIntroduce,
  MessageAccept,
  registerHandshakeTypes,
} from './messages.js';
export { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_POOL_SIZE } from './handshake.js';
export { DEFAULT_MAX_HANDSHAKE_FRAME } from './frame.js';
