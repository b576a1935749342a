// The distribution handshake (version 6) and the distribution flags.

export { DFLAG, DEFAULT_FLAGS, MANDATORY_OTP25, MANDATORY_OTP26, expandFlags, flagNames } from './flags.js';
export {
  initiateHandshake,
  acceptHandshake,
  connectNode,
  cookieDigest,
  resolveSimultaneous,
  isNodeName,
  MAX_NODE_NAME_CHARS,
  type HandshakeStatus,
  type HandshakeOptions,
  type InitiatorOptions,
  type AcceptorOptions,
  type HandshakeResult,
  type ConnectNodeOptions,
} from './handshake.js';
