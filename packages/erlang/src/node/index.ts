// The node integration: an ergo-ts node speaking Erlang distribution.

export { attachErlang, ErlangNode, type AttachErlangOptions, type ErlangGlobal, type ErlangPg } from './erlang_node.js';
export { PgScope } from './pg.js';
export { GlobalNameServer, GlobalRegistrar, RANDOM_EXIT_NAME, type GlobalName } from './global.js';
export { ErlangConnection, type ErlangConnectionOptions } from './connection.js';
export { startErlangEndpoint, type ErlangEndpoint, type ErlangEndpointOptions } from './endpoint.js';
export { OP, erlangCallTag } from './control.js';
export { ErlangReason, reasonFromTerm, reasonToTerm } from './reasons.js';
export {
  GenServer,
  NetKernel,
  Rex,
  genServerCall,
  genServerCast,
  type CastOf,
  type CastFor,
  type InfoOf,
  type TypedGenServerClass,
  type ServerC,
  type ServerI,
  type ServerK,
  type ServerCI,
  type ServerCK,
  type ServerIK,
  type ServerCIK,
} from './compat.js';
