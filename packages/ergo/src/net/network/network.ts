// The network of a node (Ergo's `gen.Network`): acceptors, the table of connections (one per
// remote node, connection_table.ts), static routes and the registrar, and the connector the
// router asks for a Connection on every remote operation. A node that is not connected yet is
// dialled on demand (dialler.ts: static routes first, then the registrar, WIRE.md §4.3); while it
// is being dialled its operations queue in a PendingConnection and are replayed once the
// handshake is done. Inbound links are admitted by admission.ts.

import { nodeCrypto } from '../../lib/builtin.js';
import type { Atom } from '../../gen/atom.js';
import {
  ErrIncorrect,
  ErrNetworkStopped,
  ErrNoConnection,
  ErrNodeTerminated,
  ErrUnsupported,
  toError,
} from '../../gen/errors.js';
import { ignorable } from '../../gen/ignorable.js';
import {
  NetworkMode,
  staticRouteInfo,
  type Acceptor,
  type Connection,
  type Handshake,
  type NetworkFlags as GenNetworkFlags,
  type Network,
  type NetworkInfo,
  type NetworkProxyRoute,
  type NetworkRoute,
  type Proto,
  type Registrar,
  type RemoteNode,
} from '../../gen/network.js';
import type { Version } from '../../gen/node.js';
import type { ProcessFactory } from '../../gen/process.js';
import { type NetworkFlags } from '../edf/framework.js';
import { AcceptorImpl, wireFlags } from './acceptor.js';
import { NetworkAdmission } from './admission.js';
import { atomOf } from './connection_table.js';
import { HANDSHAKE_VERSION, NO_REGISTRAR_VERSION, PROTO_VERSION } from './versions.js';

export { NETWORK_CHANNELS, type NetworkCore, type NetworkEnv } from './connection_table.js';

/**
 * The network stack of one node. Lifecycle: {@link NetworkImpl.start} once (acceptors listen,
 * the node registers, the connector is installed), {@link NetworkImpl.stop} once (connections
 * close after what they hold is written). Methods throw ErrNetworkStopped after stop.
 */
export class NetworkImpl extends NetworkAdmission implements Network {
  // --- lifecycle --------------------------------------------------------------------------------

  /** Starts acceptors (mode Enabled), registers with the registrar, installs the connector. */
  async start(): Promise<void> {
    if (this.modeValue === NetworkMode.Disabled) return;
    if (this.cookieValue === '') {
      this.cookieValue = nodeCrypto().randomBytes(16).toString('hex');
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

  // --- gen.Network ------------------------------------------------------------------------------

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
