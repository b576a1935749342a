// ergo-ts/net: the network stack's public surface. For now the EDF codec (issue 5); the
// handshake, ENP protocol and registrar join it as they land.

export * from './edf/index.js';
