// ergo-ts/net: the network stack's public surface: the EDF codec, and the message types of the
// EHS:R1 handshake, the ENP:R1 protocol and the ESRD:R1 registrar (importing this module
// registers them in the default registry, as Go's packages do in their init).

export * from './edf/index.js';
export * from './handshake/index.js';
export * from './proto/index.js';
export * from './registrar/index.js';
export * from './tls/index.js';
export { WireError, type WireErrorCode } from './error.js';
export {
  startNetworkEndpoint,
  type EndpointCore,
  type NetworkEndpoint,
  type NetworkEndpointOptions,
  type RelationTarget,
} from './network/endpoint.js';
