// The connection's contract with its surroundings: what the network provides to an ENP
// connection (ConnectionHost, generic in the connection so this file names neither side) and
// this side's terms it was made with (ConnectionTerms). Types only.

import type { RemoteNode } from '../../gen/network.js';
import type { NetworkFlags } from '../edf/framework.js';

/** What the connection needs from its network besides the Core. */
export interface ConnectionHost<C> {
  /**
   * The connection ended (the network forgets it; the node hears it via Core.routeNodeDown).
   * `lost`: its last link closed under it (the peer went away), not this side's decision.
   */
  connectionDown(conn: C, reason: Error, lost: boolean): void;
  /** Builds the RemoteNode view of a connection. */
  remoteNode(conn: C): RemoteNode;
  /** One link of a live connection closed (the dialling side re-dials it, WIRE §3.8). */
  linkLost(conn: C): void;
}

/** This side's terms of a connection. */
export interface ConnectionTerms {
  /** Flags this node announced. */
  flags: NetworkFlags;
  /** This node's incoming limit (0 = none). */
  maxMessageSize: number;
  /** Heartbeat timeout in ms (NetworkOptions.peerStallTimeout; 0 = off; default 15000). */
  stallTimeout?: number;
  /** Bytes held for the peer before sends are refused (NetworkOptions.peerBufferLimit; default 8 MiB). */
  bufferLimit?: number;
}
