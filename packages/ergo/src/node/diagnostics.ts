// diagnostics_channel events, for tracing and APM tools that should not need a logger. Publishing
// costs one `hasSubscribers` check when nobody listens.

import diagnostics from 'node:diagnostics_channel';

/** Channel names (stable). Messages are plain objects described on each channel. */
export const DIAGNOSTICS = {
  /** `{ node, pid, name, behavior, parent }` — a process finished init and entered the table. */
  spawn: 'ergo-ts:process:spawn',
  /** `{ node, pid, name, reason }` — a process left the table (reason unwrapped one level). */
  terminate: 'ergo-ts:process:terminate',
  /** `{ node, pid, error }` — a callback threw or rejected. */
  panic: 'ergo-ts:process:panic',
  /** `{ node }` — a node started. */
  nodeStart: 'ergo-ts:node:start',
  /** `{ node, forced }` — a node stopped. */
  nodeStop: 'ergo-ts:node:stop',
  /** `{ node, peer, connectionID, initiator, poolSize }` — a network connection is up. */
  networkConnect: 'ergo-ts:network:connect',
  /** `{ node, peer, reason }` — a network connection went down. */
  networkDisconnect: 'ergo-ts:network:disconnect',
  /** `{ node, peer, remote, error }` — a handshake failed (peer '' for an inbound one). */
  networkHandshakeFailed: 'ergo-ts:network:handshake-failed',
} as const;

export const spawnChannel = diagnostics.channel(DIAGNOSTICS.spawn);
export const terminateChannel = diagnostics.channel(DIAGNOSTICS.terminate);
export const panicChannel = diagnostics.channel(DIAGNOSTICS.panic);
export const nodeStartChannel = diagnostics.channel(DIAGNOSTICS.nodeStart);
export const nodeStopChannel = diagnostics.channel(DIAGNOSTICS.nodeStop);
