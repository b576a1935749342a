// ESRD:R1 — the embedded registrar (WIRE.md §4).

export {
  RegistrarTypeName,
  MessageRegisterRoutes,
  MessageRegisterReply,
  MessageResolveRoutes,
  MessageResolveReply,
  registerRegistrarTypes,
} from './messages.js';
export { DEFAULT_REGISTRAR_PORT } from './packet.js';
