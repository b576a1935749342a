// The table of a node's network connections (Ergo's `gen.Network` keeps one per remote node) and
// the state the network's parts share: the settings it was started with, the connections up and
// those being dialled or admitted, and what happens when one comes up (registered, the node told,
// the dial queue of that node sent on it) or goes down (forgotten, the node told, what it held
// undelivered counted). Dialling (dialler.ts), admitting inbound links (admission.ts) and the
// network's lifecycle and API (network.ts) build on it.

import diagnostics from 'node:diagnostics_channel';
import type net from 'node:net';
import type { InHostTransport } from '../inhost/transport.js';
import type { Atom } from '../../gen/atom.js';
import type { Core } from '../../gen/core.js';
import { ErrIncorrect, ErrNetworkStopped } from '../../gen/errors.js';
import type { Log } from '../../gen/log.js';
import type {
  ApplicationRoute,
  Connection,
  NetworkMode,
  NetworkOptions,
  NodeRegistrar,
  Registrar,
  RemoteNode,
} from '../../gen/network.js';
import type { Version } from '../../gen/node.js';
import type { ProcessFactory } from '../../gen/process.js';
import type { NetworkFlags } from '../edf/framework.js';
import type { HandshakeOptions } from '../handshake/handshake.js';
import type { EnpConnection } from '../proto/connection.js';
import type { ConnectionHost } from '../proto/connection_terms.js';
import type { AcceptorImpl } from './acceptor.js';
import { Crossings, Introductions } from './crossing.js';
import { dialWindow } from './establish.js';
import type { PendingConnection } from './pending.js';
import { Undelivered } from './undelivered.js';
import { Redialer } from './redial.js';
import type { HandshakeRefusals } from './refusals.js';
import { RemoteNodeImpl } from './remote_node.js';
import { RouteTable } from './routes.js';
import { networkSettings } from './settings.js';

/** diagnostics_channel names of the network (stable). */
export const NETWORK_CHANNELS = {
  /** `{ node, peer, connectionID, initiator, poolSize }` — a connection is up. */
  connect: 'ergo-ts:network:connect',
  /** `{ node, peer, reason }` — a connection went down. */
  disconnect: 'ergo-ts:network:disconnect',
  /** `{ node, peer, remote, error }` — a handshake failed (peer '' when unknown: an inbound one). */
  handshakeFailed: 'ergo-ts:network:handshake-failed',
} as const;

const connectChannel = diagnostics.channel(NETWORK_CHANNELS.connect);
const disconnectChannel = diagnostics.channel(NETWORK_CHANNELS.disconnect);
export const handshakeChannel = diagnostics.channel(NETWORK_CHANNELS.handshakeFailed);

/** The node as the network needs it: its Core plus the remote spawn/start permissions. */
export interface NetworkCore extends Core {
  enableSpawn(name: Atom, factory: ProcessFactory, nodes: Atom[]): void;
  disableSpawn(name: Atom, nodes: Atom[]): void;
  enableApplicationStart(name: Atom, nodes: Atom[]): void;
  disableApplicationStart(name: Atom, nodes: Atom[]): void;
  enabledSpawns(): { name: Atom; behavior: string; nodes: Atom[] }[];
  enabledApplicationStarts(): { name: Atom; nodes: Atom[] }[];
}

/** What the engine hands the network when it starts it. */
export interface NetworkEnv {
  core: NetworkCore;
  log: Log;
  version: Version;
  /** Installs (or removes) the router's connector. */
  setConnector(connector: ((node: Atom) => Connection) | null): void;
  /** The node's own events, for a registrar that tells local subscribers (NodeRegistrar). */
  events?: Pick<NodeRegistrar, 'registerEvent' | 'unregisterEvent' | 'sendEvent'>;
  /** Routes of the applications loaded when the network starts (registered with the node). */
  applicationRoutes?: () => ApplicationRoute[];
}

/** What an accepted link was accepted with: an acceptor, or the in-host transport's terms. */
export type AcceptTerms = Pick<AcceptorImpl, 'networkFlags' | 'maxMessageSize' | 'interface'>;

export interface Dialling {
  pending: PendingConnection;
  promise: Promise<EnpConnection>;
}

export function atomOf(name: Atom | string): Atom {
  if (typeof name !== 'string' || !/^[^@]+@[^@]+$/.test(name))
    throw ErrIncorrect.with(`node name must be name@host, got ${JSON.stringify(String(name))}`);
  return name as Atom;
}

/**
 * The connections of one node's network and the state its parts share (see the module comment).
 * Lifecycle: that of NetworkImpl (network.ts), the only class built on it.
 */
export abstract class NetworkConnections implements ConnectionHost<EnpConnection> {
  protected readonly connections = new Map<Atom, EnpConnection>();
  /** The connector's last answer (always an entry of `connections`; cleared when that map changes). */
  protected lastPeer: Atom | null = null;
  protected lastConn: EnpConnection | null = null;
  protected readonly dialling = new Map<Atom, Dialling>();
  /** Inbound connections admitted and not registered yet (crossing dials). */
  protected readonly crossings = new Crossings();
  /** Dials past their Introduce, per peer (crossing dials with Go peers, crossing.ts). */
  protected readonly introductions = new Introductions();
  /** Inbound sockets of a Go peer whose crossing this node's dial won: closed once accepted. */
  protected readonly crossingLost = new WeakSet<net.Socket>();
  protected readonly routes = new RouteTable();
  protected readonly acceptorList: AcceptorImpl[] = [];
  protected running = false;
  protected cookieValue: string;
  protected flags: NetworkFlags;
  protected maxSize: number;
  protected readonly modeValue: NetworkMode;
  protected readonly dialQueueLimit: number;
  protected readonly dialTimeout: number;
  /** See NetworkOptions.handshakeTimeout: each handshake step's wait for the peer. */
  protected readonly handshakeTimeout: number;
  /** See NetworkOptions.peerStallTimeout. */
  protected readonly stallTimeout: number;
  /** See NetworkOptions.peerBufferLimit. */
  protected readonly bufferLimit: number;
  protected readonly registrarValue: Registrar | null;
  readonly log: Log;
  protected readonly core: NetworkCore;
  /** Re-dials the lost links of connections this node dialled. */
  protected readonly redials: Redialer;
  /** Plain sends and unwritten bytes accepted for a peer and dropped (counted, summed in warnings). */
  protected readonly undelivered: Undelivered;
  /** Nodes whose last dial failed and was logged as a warning (cleared when they connect). */
  protected readonly dialFailed = new Set<Atom>();
  /** Failed inbound handshakes, one warning per source per window (refusals.ts). */
  protected refusals: HandshakeRefusals | null = null;
  /** The in-host transport of a cluster node, when one is attached. */
  protected inHost: InHostTransport | null = null;

  constructor(
    protected readonly env: NetworkEnv,
    protected readonly options: NetworkOptions,
  ) {
    this.core = env.core;
    this.log = env.log;
    this.redials = new Redialer(env.log);
    this.undelivered = new Undelivered(env.log);
    const v = networkSettings(options);
    this.modeValue = v.mode;
    this.cookieValue = v.cookie;
    this.flags = v.flags;
    this.maxSize = v.maxSize;
    this.dialQueueLimit = v.dialQueueLimit;
    this.dialTimeout = v.dialTimeout;
    this.handshakeTimeout = v.handshakeTimeout;
    this.stallTimeout = v.stallTimeout;
    this.bufferLimit = v.bufferLimit;
    this.registrarValue = v.registrar;
    for (const r of options.routes ?? []) this.routes.add(r.match, r.route, r.weight ?? 0);
  }

  /** Connections up (for nodeInfo). */
  get connectionCount(): number {
    return this.connections.size;
  }

  protected checkRunning(): void {
    if (!this.running) throw ErrNetworkStopped.with(`network of ${this.core.name()} is not running`);
  }

  protected register(conn: EnpConnection, initiator: boolean): void {
    const peer = conn.peer;
    this.connections.set(peer, conn);
    this.lastPeer = this.lastConn = null;
    const d = this.dialling.get(peer);
    if (d !== undefined && !initiator) {
      // Dialling that node while it connected to us: its queue goes out on this connection.
      this.dialling.delete(peer);
      d.pending.ready(conn);
    }
    this.log.info('connected to %s (%s, %d links)', peer, initiator ? 'outgoing' : 'incoming', conn.links.length);
    this.dialFailed.delete(peer);
    this.core.routeNodeUp(peer);
    if (connectChannel.hasSubscribers) {
      connectChannel.publish({
        node: this.core.name(),
        peer,
        connectionID: conn.connectionID,
        initiator,
        poolSize: conn.links.length,
      });
    }
  }

  linkLost(conn: EnpConnection): void {
    if (this.running) this.redials.linkLost(conn);
  }

  // --- ConnectionHost -------------------------------------------------------------

  connectionDown(conn: EnpConnection, reason: Error, lost: boolean): void {
    const peer = conn.peer;
    this.redials.forget(conn);
    if (this.connections.get(peer) !== conn) return;
    this.connections.delete(peer);
    this.lastPeer = this.lastConn = null;
    // What user packets it still held is never written: not carried to the next connection (the
    // important sends and calls among them fail with the connection; plain sends are counted).
    const undelivered = conn.userLedger.atDown;
    if (undelivered.packets > 0 || undelivered.bytes > 0)
      this.undelivered.lostAtDown(peer, undelivered.packets, undelivered.bytes);
    const lostBytes = undelivered.packets === 0 ? undelivered.bytes : 0;
    // One warning per lost peer (the closed links and failed re-dials behind it log at debug);
    // a disconnect or stop of this side, or a stall (already warned of), is no news.
    if (lost && lostBytes > 0)
      this.log.warning(
        'lost the connection to %s: %s (%d bytes of user packets unwritten)',
        peer,
        reason.message,
        lostBytes,
      );
    else if (lost) this.log.warning('lost the connection to %s: %s', peer, reason.message);
    else this.log.info('disconnected from %s: %s', peer, reason.message);
    if (disconnectChannel.hasSubscribers) disconnectChannel.publish({ node: this.core.name(), peer, reason });
    this.core.routeNodeDown(peer, reason);
  }

  remoteNode(conn: EnpConnection): RemoteNode {
    return new RemoteNodeImpl(conn, this.core);
  }

  nodeName(): Atom {
    return this.core.name();
  }

  creation(): number {
    return this.core.creation();
  }

  handshakeBase(): Omit<HandshakeOptions, 'cookie' | 'flags' | 'maxMessageSize' | 'poolSize'> {
    return {
      node: this.core.name(),
      creation: this.core.creation(),
      version: this.env.version,
      timeout: this.handshakeTimeout,
      patience: dialWindow(this.dialTimeout, this.handshakeTimeout),
    };
  }
}
