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
export {
  EmbeddedRegistrar,
  createEmbeddedRegistrar,
  EMBEDDED_REGISTRAR_DEFAULTS,
  EMBEDDED_REGISTRAR_VERSION,
  type EmbeddedRegistrarOptions,
  type EmbeddedRegistrarEvents,
  type RegistrarRole,
} from './embedded.js';
export {
  EmbeddedResolver,
  ErrRegistrarUnavailable,
  RegistrarUnansweredError,
  isRegistrarUnanswered,
  splitNodeName,
  toWireRoute,
  fromWireRoute,
  MAX_NODE_NAME,
  type EmbeddedResolverOptions,
} from './resolver.js';
export * from './client.js';
