// ESRD:R1 — the embedded registrar (WIRE.md §4).

export {
  RegistrarTypeName,
  MessageRegisterRoutes,
  MessageRegisterReply,
  MessageResolveRoutes,
  MessageResolveReply,
  registerRegistrarTypes,
} from './messages.js';
export { RegistrarCodec, RegistrarPacketType, DEFAULT_REGISTRAR_PORT, type RegistrarMessage } from './packet.js';
