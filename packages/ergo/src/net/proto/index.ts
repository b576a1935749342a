// ENP:R1 — the Ergo Network Protocol (WIRE.md §3). The packet codec is used by the network stack
// inside the package; users see the control message types and the defaults.

export {
  protoTypeName,
  registerProtoTypes,
  type ControlFields,
  ControlMessage,
  MessageLinkPID,
  MessageUnlinkPID,
  MessageMonitorPID,
  MessageDemonitorPID,
  MessageLinkProcessID,
  MessageUnlinkProcessID,
  MessageMonitorProcessID,
  MessageDemonitorProcessID,
  MessageLinkAlias,
  MessageUnlinkAlias,
  MessageMonitorAlias,
  MessageDemonitorAlias,
  MessageLinkEvent,
  MessageUnlinkEvent,
  MessageMonitorEvent,
  MessageDemonitorEvent,
  MessageSpawn,
  MessageApplicationStart,
  MessageUpdateCache,
  MessageResult,
} from './messages.js';
export { DEFAULT_MAX_DECOMPRESSED_SIZE, DEFAULT_COMPRESSION_THRESHOLD } from './compression.js';
export { DEFAULT_PEER_BUFFER_LIMIT, ERR_PEER_BUSY, ErrPeerBusy } from './flow.js';
