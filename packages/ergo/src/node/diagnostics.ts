// diagnostics_channel events, for tracing and APM tools that should not need a logger. Publishing
// costs one `hasSubscribers` check when nobody listens. In the browser bundle (no
// diagnostics_channel) the channels have no subscribers.

import { channel } from '../lib/host.js';

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

export const spawnChannel = channel(DIAGNOSTICS.spawn);
export const terminateChannel = channel(DIAGNOSTICS.terminate);
export const panicChannel = channel(DIAGNOSTICS.panic);
export const nodeStartChannel = channel(DIAGNOSTICS.nodeStart);
export const nodeStopChannel = channel(DIAGNOSTICS.nodeStop);
