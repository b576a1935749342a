// The network of a node (Ergo's `gen.Network`): acceptors, the table of connections (one per
// remote node), static routes and the registrar, and the connector the router asks for a
// Connection on every remote operation. A node that is not connected yet is dialled on demand
// (static routes first, then the registrar, WIRE.md §4.3); while it is being dialled its
// operations queue in a PendingConnection and are replayed once the handshake is done.

import diagnostics from 'node:diagnostics_channel';
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import type { InHostTransport } from '../inhost/transport.js';
import { WireError } from '../error.js';
import type { Atom } from '../../gen/atom.js';
import type { Core } from '../../gen/core.js';
import {
  ErrIncorrect,
  ErrNetworkStopped,
  ErrNoConnection,
  ErrNodeTerminated,
  ErrUnsupported,
  toError,
} from '../../gen/errors.js';
import { ignorable } from '../../gen/ignorable.js';
import type { Log } from '../../gen/log.js';
import {
  NetworkMode,
  staticRouteInfo,
  type Acceptor,
  type ApplicationRoute,
  type Connection,
  type Handshake,
  type NetworkFlags as GenNetworkFlags,
  type Network,
  type NetworkInfo,
  type NetworkOptions,
  type NetworkProxyRoute,
  type NetworkRoute,
  type NodeRegistrar,
  type Proto,
  type Registrar,
  type RemoteNode,
} from '../../gen/network.js';
import type { Version } from '../../gen/node.js';
import type { ProcessFactory } from '../../gen/process.js';
import { type NetworkFlags } from '../edf/framework.js';
import {
  acceptHandshake,
  joinHandshake,
  startHandshake,
  type HandshakeOptions,
  type HandshakeResult,
} from '../handshake/handshake.js';
import { EnpConnection } from '../proto/connection.js';
import type { ConnectionHost } from '../proto/connection_terms.js';
import { AcceptorImpl, wireFlags, type AcceptorHost } from './acceptor.js';
import { candidates, hostOf, openSocket, splitDSN, type Candidate } from './candidates.js';
import { Crossings, followsGoOrder, Introductions, isRefusal, refusal } from './crossing.js';
import { establish, type EstablishHost } from './establish.js';
import { PendingConnection } from './pending.js';
import { Undelivered } from './undelivered.js';
import { Redialer } from './redial.js';
import { HandshakeRefusals } from './refusals.js';
import { RemoteNodeImpl } from './remote_node.js';
import { RouteTable } from './routes.js';
import { networkSettings } from './settings.js';
import { HANDSHAKE_VERSION, NO_REGISTRAR_VERSION, PROTO_VERSION } from './versions.js';

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
const handshakeChannel = diagnostics.channel(NETWORK_CHANNELS.handshakeFailed);

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
type AcceptTerms = Pick<AcceptorImpl, 'networkFlags' | 'maxMessageSize' | 'interface'>;

interface Dialling {
  pending: PendingConnection;
  promise: Promise<EnpConnection>;
}

function atomOf(name: Atom | string): Atom {
  if (typeof name !== 'string' || !/^[^@]+@[^@]+$/.test(name))
    throw ErrIncorrect.with(`node name must be name@host, got ${JSON.stringify(String(name))}`);
  return name as Atom;
}

/**
 * The network stack of one node. Lifecycle: {@link NetworkImpl.start} once (acceptors listen,
 * the node registers, the connector is installed), {@link NetworkImpl.stop} once (connections
 * close after what they hold is written). Methods throw ErrNetworkStopped after stop.
 */
export class NetworkImpl implements Network, ConnectionHost<EnpConnection>, AcceptorHost {
  private readonly connections = new Map<Atom, EnpConnection>();
  /** The connector's last answer (always an entry of `connections`; cleared when that map changes). */
  private lastPeer: Atom | null = null;
  private lastConn: EnpConnection | null = null;
  private readonly dialling = new Map<Atom, Dialling>();
  /** Inbound connections admitted and not registered yet (crossing dials). */
  private readonly crossings = new Crossings();
  /** Dials past their Introduce, per peer (crossing dials with Go peers, crossing.ts). */
  private readonly introductions = new Introductions();
  /** Inbound sockets of a Go peer whose crossing this node's dial won: closed once accepted. */
  private readonly crossingLost = new WeakSet<net.Socket>();
  private readonly routes = new RouteTable();
  private readonly acceptorList: AcceptorImpl[] = [];
  private running = false;
  private cookieValue: string;
  private flags: NetworkFlags;
  private maxSize: number;
  private readonly modeValue: NetworkMode;
  private readonly dialQueueLimit: number;
  private readonly dialTimeout: number;
  /** See NetworkOptions.handshakeTimeout: each handshake step's wait for the peer. */
  private readonly handshakeTimeout: number;
  /** See NetworkOptions.peerStallTimeout. */
  private readonly stallTimeout: number;
  /** See NetworkOptions.peerBufferLimit. */
  private readonly bufferLimit: number;
  private readonly registrarValue: Registrar | null;
  readonly log: Log;
  private readonly core: NetworkCore;
  /** Re-dials the lost links of connections this node dialled. */
  private readonly redials: Redialer;
  /** Plain sends and unwritten bytes accepted for a peer and dropped (counted, summed in warnings). */
  private readonly undelivered: Undelivered;

  constructor(
    private readonly env: NetworkEnv,
    private readonly options: NetworkOptions,
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

  // --- lifecycle --------------------------------------------------------------------------------

  /** Starts acceptors (mode Enabled), registers with the registrar, installs the connector. */
  async start(): Promise<void> {
    if (this.modeValue === NetworkMode.Disabled) return;
    if (this.cookieValue === '') {
      this.cookieValue = randomBytes(16).toString('hex');
      this.log.warning('no network cookie given: a random one is used (other nodes cannot connect)');
    }
    if (this.modeValue === NetworkMode.Enabled) {
      const list = this.options.acceptors ?? [{}];
      try {
        for (const o of list) {
          const a = new AcceptorImpl(this, o, {
            cookie: this.cookieValue,
            flags: this.flags,
            maxMessageSize: this.maxSize,
          });
          await a.listen();
          this.acceptorList.push(a);
          this.log.info('acceptor listens on %s%s', a.interface(), a.tls ? ' (TLS)' : '');
        }
      } catch (e) {
        await Promise.all(this.acceptorList.map((a) => a.close()));
        this.acceptorList.length = 0;
        throw e;
      }
    }
    this.running = true;
    this.env.setConnector(this.connector);
    if (this.registrarValue !== null) {
      const name = this.core.name();
      const ev = this.env.events;
      const noEvents = (): never => {
        throw ErrUnsupported.with('this network gives its registrar no events');
      };
      await this.registrarValue.register(
        {
          name: () => name,
          log: () => this.log,
          registerEvent: ev !== undefined ? (n, o) => ev.registerEvent(n, o) : noEvents,
          unregisterEvent: ev !== undefined ? (n) => ev.unregisterEvent(n) : noEvents,
          sendEvent: ev !== undefined ? (n, t, m) => ev.sendEvent(n, t, m) : noEvents,
        },
        {
          routes: this.acceptorList.map((a) => a.route()),
          // Hidden nodes publish no application routes (Ergo: only NetworkModeEnabled does).
          applicationRoutes: this.modeValue === NetworkMode.Enabled ? (this.env.applicationRoutes?.() ?? []) : [],
          proxies: [],
        },
      );
    }
  }

  /** Closes acceptors and every connection (pending writes first). Idempotent. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.env.setConnector(null);
    this.refusals?.stop();
    this.refusals = null;
    this.redials.stop();
    this.inHost?.close();
    this.inHost = null;
    // A server's close waits for its connections: close them in the same turn, await both.
    const closing: Promise<unknown>[] = this.acceptorList.map((a) => a.close());
    this.acceptorList.length = 0;
    const reason = ErrNodeTerminated.with(this.core.name());
    for (const d of this.dialling.values()) d.pending.fail(reason);
    this.dialling.clear();
    this.undelivered.stop();
    this.crossings.clear();
    for (const c of [...this.connections.values()]) {
      // A socket that closed already emits no second 'close': waiting for one would hang stop.
      for (const l of c.links) if (!l.socket.closed) closing.push(new Promise((r) => l.socket.once('close', r)));
      c.terminate(reason);
    }
    try {
      this.registrarValue?.terminate();
    } catch (e) {
      this.log.warning('registrar terminate failed: %s', toError(e).message);
    }
    await Promise.all(closing);
  }

  /** Connections up (for nodeInfo). */
  get connectionCount(): number {
    return this.connections.size;
  }

  // --- the connector ------------------------------------------------------------------------------

  /** The router's connector: the connection to `node`, dialling it on first use. */
  readonly connector = (node: Atom): Connection => {
    // A stream of sends to one node asks with the same name string each time: one compare
    // instead of a map lookup (whose key compare reads the characters: the map's key is the
    // name the handshake decoded, another string).
    if (node === this.lastPeer) return this.lastConn!;
    const c = this.connections.get(node);
    if (c !== undefined) {
      this.lastPeer = node;
      this.lastConn = c;
      return c;
    }
    if (!this.running) throw ErrNetworkStopped.with(`network of ${this.core.name()} is stopped`);
    return this.dial(atomOf(node)).pending;
  };

  private dial(name: Atom): Dialling {
    let d = this.dialling.get(name);
    if (d !== undefined) return d;
    const pending = new PendingConnection(
      name,
      this.dialQueueLimit,
      this.log,
      (caller, options, err) => this.core.routeSendResponse(caller, caller, options, err, false),
      this.bufferLimit,
      (peer, sends, reason) => this.undelivered.dropped(peer, sends, 0, reason),
    );
    const promise = this.establish(name).then(
      (conn) => {
        if (this.dialling.get(name)?.pending === pending) this.dialling.delete(name);
        pending.ready(conn);
        return conn;
      },
      (err: unknown) => {
        const e = toError(err);
        if (this.dialling.get(name)?.pending === pending) this.dialling.delete(name);
        // The peer's own connection came up meanwhile (a crossing dial): the queue went out on it.
        const up = this.connections.get(name);
        if (up !== undefined && this.running) {
          pending.ready(up);
          return up;
        }
        // Once per node until it connects: a caller polling getNode (or a leader actor sending
        // heartbeats to a member that is down) must not flood the log.
        // A dial the network's stop cut short is no news.
        const quiet = this.dialFailed.has(name) || !this.running;
        pending.fail(e, quiet);
        if (quiet) this.log.debug('cannot connect to %s (again or stopping): %s', name, e.message);
        else {
          this.dialFailed.add(name);
          this.log.warning(
            'cannot connect to %s: %s (repeats are logged at debug level until it connects)',
            name,
            e.message,
          );
        }
        // Calls and watchers waiting for that node fail now rather than at their timeouts.
        if (this.running) this.core.routeNodeDown(name, e);
        throw e;
      },
    );
    promise.catch(() => undefined);
    d = { pending, promise };
    this.dialling.set(name, d);
    return d;
  }

  /** Routes to try for `name` (candidates.ts). */
  private candidates(name: Atom, only?: NetworkRoute): Promise<Candidate[]> {
    return candidates(
      {
        log: this.log,
        inHost: this.inHost,
        routes: this.routes,
        registrar: this.registrarValue,
        cookie: this.cookieValue,
        flags: this.flags,
        insecureSkipVerify: this.options.insecureSkipVerify ?? false,
        dialTimeout: this.dialTimeout,
      },
      name,
      only,
    );
  }

  /** The connection to `name` for a dial, tried again on a late handshake or a crossing (establish.ts). */
  private establish(name: Atom): Promise<EnpConnection> {
    const host: EstablishHost = {
      log: this.log,
      localName: () => this.core.name(),
      isRunning: () => this.running,
      connected: (n) => this.connections.get(n),
      inbound: (n) => this.crossings.wait(n),
      connectTo: (n) => this.connectTo(n),
    };
    return establish(host, name, this.dialTimeout, this.handshakeTimeout);
  }

  private async connectTo(name: Atom, only?: NetworkRoute): Promise<EnpConnection> {
    if (name === this.core.name()) throw ErrIncorrect.with('a node cannot connect to itself');
    const list = await this.candidates(name, only);
    let last: Error | null = null;
    for (const c of list) {
      try {
        return await this.dialRoute(name, c);
      } catch (e) {
        last = toError(e);
        // A refusal by name is the crossing rule at work (crossing.ts), not a failed handshake.
        if (isRefusal(last)) break;
        if (handshakeChannel.hasSubscribers)
          handshakeChannel.publish({
            node: this.core.name(),
            peer: name,
            remote: `${c.route.host || hostOf(name)}:${c.route.port}`,
            error: last,
          });
      }
    }
    throw ErrNoConnection.with(`${name}: ${last?.message ?? 'no route worked'}`, last ?? undefined);
  }

  private handshakeOptions(c: Candidate): HandshakeOptions {
    return { ...this.handshakeBase(), cookie: c.cookie, flags: c.flags, maxMessageSize: this.maxSize };
  }

  private async dialRoute(name: Atom, c: Candidate): Promise<EnpConnection> {
    const attempt = this.introductions.attempt(name);
    const beforeIntroduce = (): void => {
      // A Go peer's own connection is admitted (or up) here: the peer must not register this one.
      const up = this.connections.get(name);
      if (this.crossings.acceptingGo(name) || (up !== undefined && followsGoOrder(up.peerFlags)))
        throw new WireError('ERR_HANDSHAKE_REFUSED', `dial of ${name} given up: its own connection came first`);
      attempt.introduce();
    };
    try {
      return await this.dialRouteOnce(name, c, beforeIntroduce);
    } finally {
      attempt.settle();
    }
  }

  private async dialRouteOnce(name: Atom, c: Candidate, beforeIntroduce: () => void): Promise<EnpConnection> {
    const host = c.route.host || hostOf(name);
    const opts = { ...this.handshakeOptions(c), beforeIntroduce };
    const socket = c.open !== undefined ? c.open() : await this.openSocket(host, c.route.port, c);
    const hs = await startHandshake(socket, opts, name);
    if (!this.running) {
      socket.destroy();
      throw ErrNetworkStopped.with(`network of ${this.core.name()} stopped while dialling ${name}`);
    }
    const existing = this.connections.get(name);
    if (existing !== undefined) {
      // The peer admitted this connection while one with it was up here (not a crossing: the
      // acceptor refuses those before its Accept). Keep the older one, one per pair.
      this.log.debug('dial of %s completed while connected to it: the new connection is closed', name);
      socket.destroy();
      return existing;
    }
    const conn = new EnpConnection(this.core, this, this.log, hs, {
      flags: c.flags,
      maxMessageSize: this.maxSize,
      stallTimeout: this.stallTimeout,
      bufferLimit: this.bufferLimit,
    });
    conn.addLink(socket, hs.tail);
    // The rest of the pool joins before the connection is used, so link selection is stable.
    const join = async (i: number): Promise<void> => {
      const dsn = hs.poolDSN.length > 0 ? splitDSN(hs.poolDSN[i % hs.poolDSN.length]!) : { host, port: c.route.port };
      const s = c.open !== undefined ? c.open() : await this.openSocket(dsn.host, dsn.port, c);
      const j = await joinHandshake(s, opts, hs.connectionID, name);
      conn.confirmJoin(conn.addLink(s, j.tail));
    };
    // The first join that fails ends the joins of this dial: the others would fail the same way
    // (a peer that still holds the connection a cut left it, a listener that went away), each
    // with its own warning. The connection goes on with the links it has; the re-dialler tries
    // the missing ones later, and the one warning below (or the dial's own failure) tells it.
    let joinFailure: Error | null = null;
    for (let i = 1; i < hs.poolSize && joinFailure === null; i++) {
      try {
        await join(i);
      } catch (e) {
        joinFailure = toError(e);
      }
    }
    if (!conn.isAlive) throw ErrNoConnection.with(`${name} closed the connection`, joinFailure ?? undefined);
    if (!this.running) {
      conn.terminate(ErrNodeTerminated.with(this.core.name()));
      throw ErrNetworkStopped.with(`network of ${this.core.name()} stopped while dialling ${name}`);
    }
    this.redials.add(conn, join);
    this.register(conn, true);
    if (joinFailure !== null) {
      const missing = hs.poolSize - conn.links.length;
      this.log.warning(
        'connected to %s with %d of %d pool links (the others are re-dialled): %s',
        name,
        conn.links.length,
        hs.poolSize,
        joinFailure.message,
      );
      for (let k = 0; k < missing; k++) this.redials.linkLost(conn);
    }
    return conn;
  }

  /** Nodes whose last dial failed and was logged as a warning (cleared when they connect). */
  private readonly dialFailed = new Set<Atom>();

  linkLost(conn: EnpConnection): void {
    if (this.running) this.redials.linkLost(conn);
  }

  private openSocket(host: string, port: number, c: Candidate): Promise<net.Socket> {
    return openSocket(host, port, c, this.dialTimeout, this.options.certManager);
  }

  private register(conn: EnpConnection, initiator: boolean): void {
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

  // --- ConnectionHost / AcceptorHost -------------------------------------------------------------

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
    };
  }

  /**
   * The crossing rule (crossing.ts): throws ERR_HANDSHAKE_REFUSED, or records the admission. A
   * peer that does not announce `ergoPool` (a Go node) gets Go's rule: an inbound arriving once
   * this node's dial of it sent its Introduce waits for that dial (a promise).
   */
  admit(peer: string, socket: net.Socket, flags: { ergoPool?: boolean }): void | Promise<void> {
    const name = peer as Atom;
    if (followsGoOrder(flags) && this.running && !this.crossings.accepting(name)) {
      if (this.connections.has(name)) {
        // A Go peer whose dial crossed ours and lost the race here: refused, it would fail its
        // dial; accepted, it finds our connection registered and uses it (as from a Go node).
        this.crossingLost.add(socket);
        return;
      }
      const dial = this.introductions.settled(name);
      if (dial !== undefined) return this.afterOwnDial(name, socket, dial);
      this.crossings.admitted(name, socket, true);
      return;
    }
    const why = this.running
      ? refusal(this.core.name(), name, {
          connected: this.connections.has(name),
          dialling: this.dialling.has(name),
          accepting: this.crossings.accepting(name),
        })
      : refusal(this.core.name(), name, { connected: true, dialling: false, accepting: false });
    if (why !== null) throw why;
    this.crossings.admitted(name, socket);
  }

  /**
   * An inbound of a Go peer that crossed this node's dial after its Introduce (crossing.ts): once
   * the dial is up the peer uses it, so this one gets its Accept and is closed quietly; when the
   * dial failed it is refused.
   */
  private async afterOwnDial(name: Atom, socket: net.Socket, dial: Promise<void>): Promise<void> {
    await dial;
    if (this.running && this.connections.has(name) && !socket.destroyed) {
      this.crossingLost.add(socket);
      return;
    }
    throw new WireError(
      'ERR_HANDSHAKE_REFUSED',
      `connection from ${name} refused: it crossed a dial of it that failed`,
    );
  }

  /** A Join for a connection this node does not have is refused before the Accept (ERR_HANDSHAKE_REFUSED). */
  admitJoin(peer: string, connectionID: string): void {
    const existing = this.running ? this.connections.get(peer as Atom) : undefined;
    if (existing === undefined || existing.connectionID !== connectionID)
      throw new WireError('ERR_HANDSHAKE_REFUSED', `join from ${peer} refused: no such connection with it here`);
  }

  accepted(socket: net.Socket, hs: HandshakeResult, acceptor: AcceptTerms): void {
    const peer = hs.peer as Atom;
    const existing = this.connections.get(peer);
    if (hs.join) {
      if (existing === undefined || existing.connectionID !== hs.connectionID) {
        this.log.warning('join from %s for an unknown connection refused', peer);
        socket.destroy();
        return;
      }
      existing.addLink(socket, hs.tail, true);
      return;
    }
    if (existing !== undefined && this.crossingLost.has(socket)) {
      // A Go peer's side of a crossing this node's dial won: the peer uses that one (crossing.ts).
      this.log.debug('connection from %s closed: it crossed our dial, which the peer uses', peer);
      socket.destroy();
      return;
    }
    if (!this.running || existing !== undefined) {
      // Ergo's rule: one connection per pair; a restarted peer waits until the old one is gone.
      this.log.warning('connection from %s refused: %s', peer, this.running ? 'already connected' : 'network stopped');
      socket.destroy();
      return;
    }
    const conn = new EnpConnection(this.core, this, this.log, hs, {
      flags: acceptor.networkFlags(),
      maxMessageSize: acceptor.maxMessageSize(),
      stallTimeout: this.stallTimeout,
      bufferLimit: this.bufferLimit,
    });
    conn.addLink(socket, hs.tail);
    this.register(conn, false);
    this.crossings.settle(peer, socket, conn);
  }

  refused(remote: string, err: Error, acceptor: AcceptTerms): void {
    // The crossing rule refused it by name (crossing.ts): no failure, nothing to count.
    if (isRefusal(err)) {
      this.log.debug('%s', err.message);
      return;
    }
    // One line per source per window, not one per attempt (refusals.ts).
    (this.refusals ??= new HandshakeRefusals(this.log)).failed(
      remote.slice(0, Math.max(0, remote.lastIndexOf(':'))),
      remote,
      acceptor.interface(),
      err,
    );
    if (handshakeChannel.hasSubscribers)
      handshakeChannel.publish({ node: this.core.name(), peer: '', remote, error: err });
  }

  private refusals: HandshakeRefusals | null = null;

  // --- the in-host transport (cluster nodes of one OS process) -----------------------------------

  private inHost: InHostTransport | null = null;

  /** The terms of links accepted in-host: this network's cookie, flags and size limit. */
  private readonly inHostTerms: AcceptTerms = {
    networkFlags: () => this.inHost?.flags(this.flags) ?? this.flags,
    maxMessageSize: () => this.maxSize,
    interface: () => 'inhost',
  };

  /**
   * Attaches the in-host transport of a cluster node (`ergo-ts/cluster`): nodes it knows are
   * dialled through it (one link, no TCP) and links it accepts run the usual handshake with this
   * network's cookie. Replaces an earlier one. ErrNetworkStopped when the network is not running.
   */
  attachInHost(transport: InHostTransport): void {
    this.checkRunning();
    if (this.inHost !== null && this.inHost !== transport) this.inHost.close();
    this.inHost = transport;
    transport.onAccept((s) => {
      const socket = s as unknown as net.Socket;
      if (!this.running) {
        socket.destroy();
        return;
      }
      const options: HandshakeOptions = {
        ...this.handshakeBase(),
        cookie: this.cookieValue,
        flags: transport.flags(this.flags),
        maxMessageSize: this.maxSize,
        poolSize: 1, // one ordered port is the whole pool: no kernel queue to spread over
        admit: (peer, flags) => this.admit(peer, socket, flags),
        admitJoin: (peer, id) => this.admitJoin(peer, id),
      };
      acceptHandshake(socket, options).then(
        (hs) => this.accepted(socket, hs, this.inHostTerms),
        (err: unknown) => this.refused('inhost:0', toError(err), this.inHostTerms),
      );
    });
  }

  throttled(address: string): boolean {
    return this.refusals !== null && this.refusals.blocked(address);
  }

  // --- gen.Network ------------------------------------------------------------------------------

  private checkRunning(): void {
    if (!this.running) throw ErrNetworkStopped.with(`network of ${this.core.name()} is not running`);
  }

  /** The registrar. ErrUnsupported in "no registrar" mode. */
  registrar(): Registrar {
    if (this.registrarValue === null) throw ErrUnsupported.with('this node runs without a registrar');
    return this.registrarValue;
  }
  cookie(): string {
    return this.cookieValue;
  }
  /** Changes the cookie for connections made from now on (acceptors without their own cookie too). */
  setCookie(cookie: string): void {
    if (typeof cookie !== 'string' || cookie === '') throw ErrIncorrect.with('cookie must be a non-empty string');
    for (const a of this.acceptorList) if (a.options.cookie === undefined) a.setCookie(cookie);
    this.cookieValue = cookie;
  }
  maxMessageSize(): number {
    return this.maxSize;
  }
  setMaxMessageSize(size: number): void {
    if (!Number.isInteger(size) || size < 0) throw ErrIncorrect.with(`maxMessageSize ${String(size)} (an integer ≥ 0)`);
    this.maxSize = size;
  }
  networkFlags(): NetworkFlags {
    return this.flags;
  }
  setNetworkFlags(flags: GenNetworkFlags): void {
    this.flags = wireFlags(flags, this.flags);
    for (const a of this.acceptorList) if (a.options.flags === undefined) a.setNetworkFlags(this.flags);
  }
  acceptors(): Acceptor[] {
    return [...this.acceptorList];
  }
  /** The RemoteNode of an existing connection. ErrNoConnection when there is none (never dials). */
  node(name: Atom | string): RemoteNode {
    const c = this.connections.get(name as Atom);
    if (c === undefined) throw ErrNoConnection.with(String(name));
    return c.node();
  }
  /** The RemoteNode of `name`, connecting when needed. Rejects with ErrNoRoute / ErrNoConnection. */
  getNode(name: Atom | string, signal?: AbortSignal): Promise<RemoteNode> {
    return ignorable(this.getNodeAsync(name, signal), this.log, `getNode ${String(name)}`);
  }
  private async getNodeAsync(name: Atom | string, signal: AbortSignal | undefined): Promise<RemoteNode> {
    this.checkRunning();
    const n = atomOf(name);
    const c = this.connections.get(n);
    if (c !== undefined) return c.node();
    const p = this.dial(n).promise;
    const conn = signal === undefined ? await p : await abortable(p, signal);
    return conn.node();
  }
  getNodeWithRoute(name: Atom | string, route: NetworkRoute): Promise<RemoteNode> {
    return ignorable(this.getNodeWithRouteAsync(name, route), this.log, `getNodeWithRoute ${String(name)}`);
  }
  private async getNodeWithRouteAsync(name: Atom | string, route: NetworkRoute): Promise<RemoteNode> {
    this.checkRunning();
    const n = atomOf(name);
    const c = this.connections.get(n);
    if (c !== undefined) return c.node();
    return (await this.connectTo(n, route)).node();
  }
  nodes(): Atom[] {
    return [...this.connections.keys()];
  }
  addRoute(match: string, route: NetworkRoute, weight: number): void {
    this.routes.add(match, route, weight);
  }
  removeRoute(match: string): void {
    this.routes.remove(match);
  }
  route(name: Atom | string): NetworkRoute[] {
    return this.routes.lookup(String(name)).map((r) => r.route);
  }
  addProxyRoute(_match: string, _route: NetworkProxyRoute, _weight: number): void {
    throw ErrUnsupported.with('proxy routes (not implemented by Ergo 3.2 either)');
  }
  removeProxyRoute(_match: string): void {
    throw ErrUnsupported.with('proxy routes');
  }
  proxyRoute(_name: Atom | string): NetworkProxyRoute[] {
    return [];
  }
  registerProto(_proto: Proto): void {
    throw ErrUnsupported.with('custom protos: only ENP:R1 is built in');
  }
  registerHandshake(_handshake: Handshake): void {
    throw ErrUnsupported.with('custom handshakes: only EHS:R1 is built in');
  }
  enableSpawn(name: Atom | string, factory: ProcessFactory, ...nodes: (Atom | string)[]): void {
    if (typeof name !== 'string' || name === '') throw ErrIncorrect.with('spawn name must be a non-empty string');
    if (typeof factory !== 'function') throw ErrIncorrect.with('factory must be a process factory');
    this.core.enableSpawn(name as Atom, factory, nodes as Atom[]);
  }
  disableSpawn(name: Atom | string, ...nodes: (Atom | string)[]): void {
    this.core.disableSpawn(name as Atom, nodes as Atom[]);
  }
  enableApplicationStart(name: Atom | string, ...nodes: (Atom | string)[]): void {
    if (typeof name !== 'string' || name === '') throw ErrIncorrect.with('application name must be a non-empty string');
    this.core.enableApplicationStart(name as Atom, nodes as Atom[]);
  }
  disableApplicationStart(name: Atom | string, ...nodes: (Atom | string)[]): void {
    this.core.disableApplicationStart(name as Atom, nodes as Atom[]);
  }
  info(): NetworkInfo {
    return {
      mode: this.modeValue,
      registrar: this.registrarValue?.info() ?? null,
      acceptors: this.acceptorList.map((a) => a.info()),
      maxMessageSize: this.maxSize,
      handshakeVersion: HANDSHAKE_VERSION,
      protoVersion: PROTO_VERSION,
      nodes: this.nodes(),
      routes: this.routes.all().map((r) => staticRouteInfo(r.match, r.route, r.weight)),
      proxyRoutes: [],
      flags: this.flags,
      enabledSpawn: this.core.enabledSpawns(),
      enabledApplicationStart: this.core.enabledApplicationStarts(),
      undelivered: this.undelivered.info(),
    };
  }
  mode(): NetworkMode {
    return this.modeValue;
  }
  /** The registrar's version, or "none:R0" without one. */
  registrarVersion(): Version {
    return this.registrarValue?.version() ?? NO_REGISTRAR_VERSION;
  }
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
