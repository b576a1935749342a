// @ergo-ts/saturn — a Saturn registrar client for ergo-ts (Saturn protocol R1, EXTRAS.md §4),
// written from the protocol facts: pass `createSaturnRegistrar({ host, token, cluster })` as
// `network.registrar`.

export { SaturnRegistrar, createSaturnRegistrar, SATURN_REGISTRAR_VERSION } from './registrar.js';
export { SATURN_REGISTRAR_DEFAULTS, type SaturnRegistrarOptions } from './options.js';
export {
  EventNodeJoined,
  EventNodeLeft,
  EventApplicationLoaded,
  EventApplicationStarted,
  EventApplicationStopping,
  EventApplicationStopped,
  EventConfigUpdate,
} from 'ergo-ts/net';
export { EventApplicationUnloaded, type SaturnRegistrarEvent } from './events.js';
export {
  SATURN_PROTO,
  SATURN_PROTO_VERSION,
  MAX_PAYLOAD,
  SaturnTypeName,
  saturnRegistry,
  encodeFrame,
  decodePayload,
  FrameReader,
  WireApplicationRoute,
  WireProxyRoute,
  WireRegisterRoutes,
  MessageHandshake,
  MessageHandshakeResult,
  MessageRegister,
  MessageRegisterResult,
  MessageResolve,
  MessageResolveResult,
  MessageResolveProxy,
  MessageResolveProxyResult,
  MessageNodeJoined,
  MessageNodeLeft,
  MessageRegisterApplicationRoute,
  MessageUnregisterApplicationRoute,
  MessageConfigUpdate,
  type SaturnMessage,
} from './messages.js';
export { SATURN_REGISTER_MARGIN, SATURN_REGISTER_WINDOW, tokenDigest } from './session.js';
