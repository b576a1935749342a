// EHS:R1 — Ergo's handshake (WIRE.md §2).

export { HandshakeTypeName, MessageHello, MessageJoin, MessageIntroduce, MessageAccept, registerHandshakeTypes } from './messages.js';
