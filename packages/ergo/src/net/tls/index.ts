// TLS for the network stack: certificate managers (Ergo's CertManager, and CertAuthManager for
// mutual TLS), node:tls options and socket upgrades for acceptors and dialers, and a
// certificate generator for tests and development.

export {
  CertificateManager,
  CertAuthManager,
  ClientAuth,
  createCertManager,
  createCertAuthManager,
  tlsBytes,
  type KeyPair,
  type TlsKeyPair,
} from './manager.js';
export {
  TlsAcceptContext,
  tlsServerOptions,
  tlsClientOptions,
  checkClientAuth,
  dialTls,
  DEFAULT_TLS_HANDSHAKE_TIMEOUT,
  type TlsAcceptOptions,
  type TlsDialOptions,
} from './socket.js';
export { generateCertificate, selfSigned, type CertificateOptions, type GeneratedCertificate } from './selfsigned.js';
