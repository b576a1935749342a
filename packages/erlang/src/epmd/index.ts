// EPMD: client (register, resolve, names) and a built-in server.

export {
  EpmdClient,
  EpmdRegistration,
  type EpmdClientOptions,
  type EpmdRequestOptions,
  type EpmdRegisterOptions,
  type EpmdNames,
  type EpmdRegistrationEvents,
} from './client.js';
export { EpmdServer, type EpmdServerOptions, type EpmdServerEvents } from './server.js';
export { defaultEpmdPort, type EpmdNodeInfo } from './protocol.js';
