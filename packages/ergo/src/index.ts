// ergo-ts: the Ergo Framework for TypeScript on Node.js.
export * from './gen/index.js';
export { startNode } from './node/start.js';
export { attachProtocol } from './node/protocols.js';
export { DIAGNOSTICS } from './node/diagnostics.js';
export * from './act/index.js';
