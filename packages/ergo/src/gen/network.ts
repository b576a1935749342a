// The network contracts (Ergo's gen/network.go, in camelCase): what a node's network stack is
// made of — a handshake, a protocol that turns an authenticated socket into a Connection, a
// registrar that resolves node names to routes, and acceptors that listen. The default stack
// (EHS + ENP + EDF + ESRD) and the Erlang distribution package implement these against `gen/`
// only; the engine reaches a remote node solely through a {@link Connection}.
//
// Types only: no engine code lives here.

import type { Atom } from './atom.js';
import type { ApplicationInfo, ApplicationOptions } from './application.js';
import type { Core, RemoteApplicationStart, RemoteSpawnRequest } from './core.js';
import type { Event, EventOptions } from './event.js';
import type { Log, LogLevel } from './log.js';
import type { MessageEvent } from './messages.js';
import type { Version } from './node.js';
import type { MessageOptions, ProcessOptions } from './options.js';
import type { PID } from './pid.js';
import type { ProcessFactory } from './process.js';
import type { ProcessID } from './processid.js';
import type { Alias, Ref } from './ref.js';

/** How a node takes part in the network (Ergo's `gen.NetworkMode`). */
export const NetworkMode = { Enabled: 0, Hidden: 1, Disabled: -1 } as const;
/** @see NetworkMode */
export type NetworkMode = (typeof NetworkMode)[keyof typeof NetworkMode];

/** Capabilities a node announces in the handshake (`gen.NetworkFlags`; `enable` false = all off). */
export interface NetworkFlags {
  enable: boolean;
  enableRemoteSpawn: boolean;
  enableRemoteApplicationStart: boolean;
  enableFragmentation: boolean;
  enableProxyTransit: boolean;
  enableProxyAccept: boolean;
  enableImportantDelivery: boolean;
  /**
   * ergo-ts only: the node decodes the JS-value extension of EDF, so plain objects, `undefined`,
   * bigints, Sets and Dates reach it as sent. Set by every ergo-ts handshake, never by Go (see
   * docs/edf.md §2.1); read it on a peer's `RemoteNodeInfo.networkFlags`.
   */
  jsValues?: boolean;
  /**
   * ergo-ts only: the node takes event batch packets (several events of one publisher in one
   * ENP packet). Sent only between two nodes that both announce it (every ergo-ts handshake
   * does unless it is false); Go peers keep plain event packets.
   */
  eventBatch?: boolean;
  /**
   * ergo-ts only (not part of Go Ergo's flags): the node takes control batch packets — monitor,
   * demonitor and spawn requests by PID and their plain answers, many per packet. Used only when
   * both nodes announce it; Go peers keep the usual Control packets. Announced by default; false
   * turns it off.
   */
  controlBatch?: boolean;
  /**
   * ergo-ts only: on an in-host link (nodes of one cluster in one process), the node reads the
   * in-host private frame. Announced only in in-host handshakes; see docs/cluster.md.
   */
  inHostFrame?: boolean;
  /**
   * ergo-ts only: the node takes part in the ergo-ts link-count agreement. Between two nodes that
   * both announce it, the acceptor offers its `ergoPoolSize` links instead of its `poolSize`; Go
   * peers always get `poolSize`. Announced by default; false makes this node's connections with
   * ergo-ts peers use `poolSize` as with Go (docs/networking.md, "Links per connection").
   */
  ergoPool?: boolean;
  /**
   * ergo-ts only: the node reads the ergo-ts link frames (8 bytes each): the heartbeat's probe
   * and answer instead of an empty `MessageUpdateCache` request, with one side of an idle pair
   * leading the exchange, and the switch that lets a connection join pool links while in use,
   * so its pool starts with one link and grows with its traffic. Used only when both nodes
   * announce it; Go peers keep the request and the pool joined at once. Announced by default;
   * false turns it off (docs/networking.md, "Links per connection", "Stalled peers").
   */
  ergoFrames?: boolean;
}

/** Capabilities of proxy connections (`gen.NetworkProxyFlags`). */
export interface NetworkProxyFlags {
  enable: boolean;
  enableRemoteSpawn: boolean;
  enableRemoteApplicationStart: boolean;
  enableEncryption: boolean;
  enableImportantDelivery: boolean;
}

/** TLS material of a connection or acceptor (`gen.CertManager`). Opaque to the engine. */
export interface CertManager {
  /** PEM key and certificate chain (Node's `tls.SecureContextOptions` accepts them). */
  certificate(): { key: string | Uint8Array; cert: string | Uint8Array };
}

/** One way to reach a node (`gen.Route`). An empty host means the node name's host. */
export interface Route {
  host: string;
  port: number;
  tls: boolean;
  handshakeVersion: Version;
  protoVersion: Version;
}

/** One way to reach a node through proxies (`gen.ProxyRoute`). */
export interface ProxyRoute {
  to: Atom;
  proxy: Atom;
}

/** Resolves node names to routes (`gen.Resolver`); the registrar client provides it. */
export interface Resolver {
  /** Routes to `node`; rejects with ErrNoRoute when the registrar does not know it. */
  resolve(node: Atom): Promise<Route[]>;
  resolveProxy(node: Atom): Promise<ProxyRoute[]>;
  resolveApplication(name: Atom): Promise<ApplicationRoute[]>;
}

/** Where an application runs (`gen.ApplicationRoute`), as a registrar publishes it. */
export interface ApplicationRoute {
  node: Atom;
  name: Atom;
  weight: number;
  mode: number;
  state: number;
}

/**
 * The address of a static route ({@link NetworkRoute.route}): host (empty: the node name's host),
 * port and TLS. The versions are optional because a dial never reads them (the handshake
 * negotiates), as Go leaves them at their zero values.
 */
export type StaticRouteAddress = Pick<Route, 'host' | 'port' | 'tls'> &
  Partial<Pick<Route, 'handshakeVersion' | 'protoVersion'>>;

/** A static route (`gen.NetworkRoute`): how to connect to nodes matching a pattern. */
export interface NetworkRoute {
  resolver?: Resolver;
  route?: StaticRouteAddress;
  cookie?: string;
  cert?: CertManager;
  insecureSkipVerify?: boolean;
  flags?: NetworkFlags;
  atomMapping?: Map<Atom, Atom>;
  logLevel?: LogLevel;
}

/** A static proxy route (`gen.NetworkProxyRoute`); `maxHop` defaults to 8. */
export interface NetworkProxyRoute {
  resolver?: Resolver;
  route: ProxyRoute;
  cookie?: string;
  flags?: NetworkProxyFlags;
  maxHop?: number;
}

/** What a node tells its registrar when it registers (`gen.RegisterRoutes`). */
export interface RegisterRoutes {
  routes: Route[];
  applicationRoutes: ApplicationRoute[];
  proxies: ProxyRoute[];
}

/**
 * What a registrar may ask of its node (`gen.NodeRegistrar`): its name, its network log, and an
 * event the node owns, so a registrar that supports events (etcd) can tell local subscribers
 * what changed in the cluster (`registrar.event()`). The event calls act for the node itself and
 * throw as `Node.registerEvent` / `sendEvent` do (ErrTaken, ErrEventUnknown, ErrNodeTerminated).
 */
export interface NodeRegistrar {
  name(): Atom;
  log(): Log;
  /** Registers an event owned by the node; the token is what {@link NodeRegistrar.sendEvent} needs. */
  registerEvent(name: Atom | string, options?: EventOptions): Ref;
  unregisterEvent(name: Atom | string): void;
  /** Sends `message` to the event's subscribers. */
  sendEvent(name: Atom | string, token: Ref, message: unknown): void;
}

/** Facts about a registrar (`gen.RegistrarInfo`). */
export interface RegistrarInfo {
  server: string;
  embeddedServer: boolean;
  version: Version;
  supportConfig: boolean;
  supportEvent: boolean;
  supportRegisterProxy: boolean;
  supportRegisterApplication: boolean;
}

/**
 * The registrar client (`gen.Registrar`): registers this node and resolves others. The embedded
 * ESRD (port 4499) is the default; etcd and Saturn plug in here.
 */
export interface Registrar {
  /** Registers the node and its routes; resolves to the static routes the registrar hands back. */
  register(node: NodeRegistrar, routes: RegisterRoutes): Promise<void>;
  resolver(): Resolver;
  /**
   * Whether a dial may ask this registrar again, within the dial's window, after a resolve it did
   * not answer in time: no answer within the dial's bound (3 s, or `dialTimeout` when shorter), or
   * its own timeout thrown as a `RegistrarUnansweredError` (`ergo-ts/net`; code
   * ERR_REGISTRAR_UNAVAILABLE, `unanswered: true`). A refusal (its host or port unreachable, any
   * other error) is never asked again.
   *
   * True for the embedded registrar: it runs on the peer's own host, as busy as the peer's
   * handshake would be, so a late answer is that host's load rather than an outage. Absent or
   * false (etcd, Saturn, a registrar of your own): the dial fails at once with
   * ERR_REGISTRAR_UNAVAILABLE naming the registrar and the node, so the calls waiting on it get
   * that error before their own timeouts. Read when such a resolve fails; an Ergo port extension.
   */
  readonly resolveRetryable?: boolean;
  registerProxy(to: Atom): Promise<void>;
  unregisterProxy(to: Atom): Promise<void>;
  registerApplicationRoute(route: ApplicationRoute): Promise<void>;
  unregisterApplicationRoute(name: Atom): Promise<void>;
  /** Nodes the registrar knows. */
  nodes(): Promise<Atom[]>;
  /** Cluster configuration items (registrars that support config). */
  configItem(item: string): Promise<unknown>;
  config(...items: string[]): Promise<Map<string, unknown>>;
  /**
   * The event that tells local subscribers of cluster changes (`Registrar.Event`): link or monitor
   * it to receive them. Throws ErrUnsupported when `info().supportEvent` is false, and
   * ErrNotAllowed before `register`.
   */
  event(): Event;
  info(): RegistrarInfo;
  version(): Version;
  terminate(): void;
}

/** Options of the handshake of one connection (`gen.HandshakeOptions`). */
export interface HandshakeOptions {
  cookie: string;
  flags: NetworkFlags;
  certManager?: CertManager;
  maxMessageSize: number;
}

/** What a handshake produced (`gen.HandshakeResult`): the authenticated peer and its terms. */
export interface HandshakeResult {
  handshakeVersion: Version;
  connectionID: string;
  peer: Atom;
  peerCreation: number;
  peerVersion: Version;
  peerFlags: NetworkFlags;
  peerMaxMessageSize: number;
  nodeFlags: NetworkFlags;
  nodeMaxMessageSize: number;
  atomMapping: Map<Atom, Atom>;
  /** Bytes read past the handshake, for the protocol to consume first. */
  tail: Uint8Array | null;
  /** Anything the handshake wants the protocol to have. */
  custom?: unknown;
}

/** What a handshake may ask of its node (`gen.NodeHandshake`). */
export interface NodeHandshake {
  name(): Atom;
  creation(): number;
  version(): Version;
}

/** A duplex byte stream (Node's `net.Socket` and `tls.TLSSocket` are ones). */
export interface NetworkSocket {
  write(chunk: Uint8Array): boolean;
  end(): void;
  destroy(err?: Error): void;
  on(event: 'data', fn: (chunk: Uint8Array) => void): unknown;
  on(event: 'close' | 'drain', fn: () => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
}

/**
 * The handshake (`gen.NetworkHandshake`): authenticates a fresh socket. `start` dials, `accept`
 * answers, `join` adds one more socket to an existing connection's pool.
 */
export interface Handshake {
  networkFlags(): NetworkFlags;
  start(node: NodeHandshake, socket: NetworkSocket, options: HandshakeOptions): Promise<HandshakeResult>;
  join(
    node: NodeHandshake,
    socket: NetworkSocket,
    connectionID: string,
    options: HandshakeOptions,
  ): Promise<Uint8Array | null>;
  accept(node: NodeHandshake, socket: NetworkSocket, options: HandshakeOptions): Promise<HandshakeResult>;
  version(): Version;
}

/** Dials one more socket of a connection's pool (`gen.NetworkDial`): the socket and the tail. */
export type NetworkDial = (
  dsn: string,
  connectionID: string,
) => Promise<{ socket: NetworkSocket; tail: Uint8Array | null }>;

/**
 * The protocol (`gen.NetworkProto`): makes a {@link Connection} of a handshake result and serves
 * it. Inbound traffic goes to the {@link Core} it was given.
 */
export interface Proto {
  newConnection(core: Core, result: HandshakeResult, log: Log): Connection;
  /** Runs the connection until it ends; resolves when it is down. */
  serve(connection: Connection, dial: NetworkDial): Promise<void>;
  version(): Version;
}

/**
 * What one publish shares between the connections it is sent to: the event's packet as the first
 * connection of each wire format encoded it, for the others to copy instead of encoding the
 * payload again. Made by the router per publish to several nodes, used only during that
 * synchronous fan-out (a packet may be a view of the first connection's output buffer) and
 * dropped after it; a connection indexes `packets` by a small number naming its wire format
 * (ENP: 0 for Go peers, 1 for peers taking the ergo-ts JS-value extension; 2: the tab frames
 * of @ergo-ts/tabs).
 */
export class EventFanOut {
  /** Encoded packets by wire format; undefined until a connection of that format encoded one. */
  readonly packets: (Uint8Array | undefined)[] = [];
  /**
   * Between ergo-ts nodes: the shared event batch this publish added its event to (a
   * net/proto SharedEventBatch, made or extended by the first batching connection) and the
   * event's index in it; null until then.
   */
  batch: object | null = null;
  batchIndex = -1;
}

/**
 * One connection to a remote node (`gen.Connection`): what the engine's router asks of it. Every
 * method is non-blocking towards the local caller except those returning a Promise (their answer
 * crosses the wire). Methods throw ErrNoConnection once the connection is down, and
 * ErrTooLarge / encoding errors synchronously, before anything is written.
 *
 * Sends and calls with `options.important` (and a peer that supports important delivery) return
 * a Promise that resolves on the remote node's delivery ack and rejects with the error it
 * reported (ErrProcessUnknown, ErrProcessMailboxFull...); otherwise they return undefined.
 */
export interface Connection {
  node(): RemoteNode;

  sendPID(from: PID, to: PID, options: MessageOptions, message: unknown): Promise<void> | void;
  sendProcessID(from: PID, to: ProcessID, options: MessageOptions, message: unknown): Promise<void> | void;
  sendAlias(from: PID, to: Alias, options: MessageOptions, message: unknown): Promise<void> | void;
  /**
   * Fans an event out to the subscribers on that node (one frame per node). `shared`, given when
   * one publish goes to several nodes, lets the connection reuse the packet another connection
   * of the same wire format encoded for this publish (encode once, write to each link).
   */
  sendEvent(from: PID, options: MessageOptions, message: MessageEvent, shared?: EventFanOut): void;
  sendExit(from: PID, to: PID, reason: Error): void;
  /**
   * `options.ref` is the call's ref. With `options.important` (sendResponseImportant) a connection
   * may return the Promise of the caller's node ack: it rejects with what that node reported
   * (ErrResponseIgnored when the caller no longer waits, ErrProcessUnknown...).
   */
  sendResponse(from: PID, to: PID, options: MessageOptions, response: unknown): Promise<void> | void;
  sendResponseError(from: PID, to: PID, options: MessageOptions, error: Error): Promise<void> | void;

  /** A local target that remote processes watch has ended. */
  sendTerminatePID(target: PID, reason: Error): void;
  sendTerminateProcessID(target: ProcessID, reason: Error): void;
  sendTerminateAlias(target: Alias, reason: Error): void;
  sendTerminateEvent(target: Event, reason: Error): void;

  /** Sends a request; `options.ref` is the call's ref, the reply arrives via Core.routeSendResponse. */
  callPID(from: PID, to: PID, options: MessageOptions, request: unknown): Promise<void> | void;
  callProcessID(from: PID, to: ProcessID, options: MessageOptions, request: unknown): Promise<void> | void;
  callAlias(from: PID, to: Alias, options: MessageOptions, request: unknown): Promise<void> | void;

  /**
   * Link/monitor requests. They resolve when the remote side accepted; a refusal rejects (the
   * engine turns it into the exit/down reason of the relation it recorded at once).
   */
  linkPID(pid: PID, target: PID): Promise<void>;
  unlinkPID(pid: PID, target: PID): void;
  linkProcessID(pid: PID, target: ProcessID): Promise<void>;
  unlinkProcessID(pid: PID, target: ProcessID): void;
  linkAlias(pid: PID, target: Alias): Promise<void>;
  unlinkAlias(pid: PID, target: Alias): void;
  /** Resolves to the event's buffered messages. */
  linkEvent(pid: PID, target: Event): Promise<MessageEvent[]>;
  unlinkEvent(pid: PID, target: Event): void;
  monitorPID(pid: PID, target: PID): Promise<void>;
  demonitorPID(pid: PID, target: PID): void;
  monitorProcessID(pid: PID, target: ProcessID): Promise<void>;
  demonitorProcessID(pid: PID, target: ProcessID): void;
  monitorAlias(pid: PID, target: Alias): Promise<void>;
  demonitorAlias(pid: PID, target: Alias): void;
  monitorEvent(pid: PID, target: Event): Promise<MessageEvent[]>;
  demonitorEvent(pid: PID, target: Event): void;

  remoteSpawn(name: Atom, request: RemoteSpawnRequest): Promise<PID>;
  remoteApplicationStart(name: Atom, request: RemoteApplicationStart): Promise<void>;

  /** Adds one more socket to the pool (after `Handshake.join`). */
  join(socket: NetworkSocket, connectionID: string, dial: NetworkDial, tail: Uint8Array | null): void;
  /** Closes the connection; the node hears it through Core.routeNodeDown. */
  terminate(reason: Error): void;
}

/** Facts about a remote node and its connection (`gen.RemoteNodeInfo`). */
export interface RemoteNodeInfo {
  node: Atom;
  uptime: number;
  connectionUptime: number;
  version: Version;
  handshakeVersion: Version;
  protoVersion: Version;
  networkFlags: NetworkFlags;
  poolSize: number;
  poolDSN: string[];
  maxMessageSize: number;
  messagesIn: number;
  messagesOut: number;
  bytesIn: number;
  bytesOut: number;
  transitBytesIn: number;
  transitBytesOut: number;
  /**
   * Bytes the connection holds now for the peer, bounded by `peerBufferLimit` (port extension;
   * absent for connections that do not report it).
   */
  queuedBytes?: number;
  /**
   * ergo-ts only: true when the connection's links carry the in-host private frame (nodes of one
   * cluster that both announced it, see docs/cluster.md); false or absent: ENP.
   */
  inHostFrame?: boolean;
}

/** A connected remote node, as users see it (`gen.RemoteNode`). */
export interface RemoteNode {
  name(): Atom;
  /** Seconds the remote node has been up (from the handshake). */
  uptime(): number;
  /** Seconds this connection has been up. */
  connectionUptime(): number;
  version(): Version;
  info(): RemoteNodeInfo;
  creation(): number;
  /** Spawns a process the remote node enabled with `Network.enableSpawn(name)`. */
  spawn(name: Atom | string, options?: ProcessOptions, ...args: unknown[]): Promise<PID>;
  spawnRegister(
    register: Atom | string,
    name: Atom | string,
    options?: ProcessOptions,
    ...args: unknown[]
  ): Promise<PID>;
  applicationStart(name: Atom | string, options?: ApplicationOptions): Promise<void>;
  applicationStartTemporary(name: Atom | string, options?: ApplicationOptions): Promise<void>;
  applicationStartTransient(name: Atom | string, options?: ApplicationOptions): Promise<void>;
  applicationStartPermanent(name: Atom | string, options?: ApplicationOptions): Promise<void>;
  /**
   * A snapshot of the remote node's application `name` (Ergo 3.2.0 `RemoteNode.ApplicationInfo`):
   * state, mode, parent (the node that started it), group, tags, map; env only when that node
   * sets `security.exposeEnvInfo`. Rejects with ErrApplicationUnknown, ErrNoConnection, ErrTimeout
   * (a node older than Ergo 3.2.0 ignores the request), ErrUnsupported (an Erlang node).
   */
  applicationInfo(name: Atom | string): Promise<ApplicationInfo>;
  /** Closes the connection: every watcher of that node and of its processes is notified. */
  disconnect(): void;
}

/** Facts about one acceptor (`gen.AcceptorInfo`). */
export interface AcceptorInfo {
  interface: string;
  maxMessageSize: number;
  flags: NetworkFlags;
  tls: boolean;
  customRegistrar: boolean;
  registrarServer: string;
  registrarVersion: Version;
  handshakeVersion: Version;
  protoVersion: Version;
}

/** A listener for incoming connections (`gen.Acceptor`). */
export interface Acceptor {
  cookie(): string;
  setCookie(cookie: string): void;
  networkFlags(): NetworkFlags;
  setNetworkFlags(flags: NetworkFlags): void;
  maxMessageSize(): number;
  setMaxMessageSize(size: number): void;
  info(): AcceptorInfo;
}

/**
 * Options of one acceptor (`gen.AcceptorOptions`). Port: unset = Ergo's scan from 11144 up to
 * `portRange` (an absolute last port, default 50000); a number = that port (or up to
 * `portRange`); 0 = a port the OS picks (port extension, for tests).
 */
export interface AcceptorOptions {
  cookie?: string;
  /** Listen host (default: the host part of the node name). */
  host?: string;
  port?: number;
  portRange?: number;
  /** Host registered for this acceptor when the node is reached through NAT (Ergo 3.2). */
  routeHost?: string;
  /** Port registered for this acceptor when the node is reached through NAT (Ergo 3.2). */
  routePort?: number;
  /**
   * TCP links per connection offered to nodes that connect here (default 3, Ergo's); what Go
   * nodes (and ergo-ts nodes whose `flags.ergoPool` is false) get.
   */
  poolSize?: number;
  /**
   * TCP links per connection offered to ergo-ts nodes that connect here (both sides announce
   * `flags.ergoPool`), 1..255; default `poolSize`. 1 costs a large cluster a third of the
   * sockets and keepalives and loses throughput under packet loss (docs/networking.md, "Links
   * per connection", has the measurements).
   */
  ergoPoolSize?: number;
  tcp?: 'tcp' | 'tcp4' | 'tcp6';
  bufferSize?: number;
  maxMessageSize?: number;
  flags?: NetworkFlags;
  atomMapping?: Map<Atom, Atom>;
  certManager?: CertManager;
  insecureSkipVerify?: boolean;
  registrar?: Registrar;
  handshake?: Handshake;
  proto?: Proto;
}

/** Options of the network stack (`gen.NetworkOptions`). */
export interface NetworkOptions {
  mode?: NetworkMode;
  /** Shared secret; a random one is generated (with a warning) when empty. */
  cookie?: string;
  flags?: NetworkFlags;
  /**
   * The registrar: default Ergo's embedded one (ESRD, port 4499); `null` = none (static routes
   * only). Anything else that is not a Registrar fails the start with ErrIncorrect.
   */
  registrar?: Registrar | null;
  handshake?: Handshake;
  proto?: Proto;
  acceptors?: AcceptorOptions[];
  /** Certificate for dialling TLS routes that have none of their own (client certificate for mutual TLS). */
  certManager?: CertManager;
  insecureSkipVerify?: boolean;
  /** Largest incoming message in bytes (0 = no limit). */
  maxMessageSize?: number;
  /** Static routes added at start (as `Network.addRoute`). */
  routes?: { match: string; route: NetworkRoute; weight?: number }[];
  /**
   * Operations queued for one node while it is being connected (default 10000); more fail with
   * `ERR_DIAL_QUEUE_FULL`. Their bytes are bounded too, by `peerBufferLimit` (estimated before
   * encoding): past it a send, call or response fails at once with `ERR_PEER_BUSY`.
   */
  dialQueueLimit?: number;
  /**
   * Milliseconds a TCP/TLS connect of one route may take (default 5000; an integer ≥ 1, else
   * ErrIncorrect); past it the route fails with ERR_TIMEOUT (the dial reports ERR_NO_CONNECTION).
   * A dial the peer refused because it dials this node too waits for the peer's connection
   * within this time as well.
   */
  dialTimeout?: number;
  /**
   * Milliseconds each handshake step waits for the peer's next message, on both sides of a
   * connection and of every pool link (default 3000; Go Ergo's is a fixed 1000; an integer
   * 1..2147483647, else ErrIncorrect and nothing starts). A dial whose step passes it
   * (ERR_HANDSHAKE_TIMEOUT: a node listens there but was late, as on a loaded host) is tried
   * again, 3 attempts in all with a pause of 200 then 400 ms, before what waits for it fails;
   * a call waiting for the dial keeps its own timeout. A refused TCP connection fails at once.
   * Port extension (docs/networking.md, "Connect on demand").
   */
  handshakeTimeout?: number;
  /**
   * Stalled-peer detection, in milliseconds (default 15000; 0 = off; an integer ≥ 0, else
   * ErrIncorrect). A connection is declared down (its watchers get ErrNoConnection, pending calls
   * fail) when nothing has been read from the peer for this long and the heartbeat it was sent
   * had half of it to be answered (a peer paused for less than half is never taken for a dead
   * one). The connection checks every 32nd of it; one that has read nothing for 0.5–0.7 of it
   * sends a heartbeat (an 8-byte probe frame to an ergo-ts node, an empty `MessageUpdateCache`
   * control request to others) that the peer's network layer answers — Go Ergo 3.2 nodes
   * included — so only the peer's own bytes count, never ours that the kernel accepted.
   * One heartbeat per peer whatever its pool links, none while the peer speaks.
   * Detection comes between this timeout and 1.2× it after the last byte read, on both sides of
   * a stall or a silent partition when both are ergo-ts nodes. Port extension: Go Ergo has no
   * heartbeat of its own (docs/networking.md, "Stalled peers").
   */
  peerStallTimeout?: number;
  /**
   * Bytes this node may hold for one peer — packets encoded and not yet written, bytes the socket
   * (or the in-host ring) could not hand on because the peer does not read, and the operations
   * queued while the peer is being dialled or re-dialled (default 8 MiB; an integer ≥ 1024, else
   * ErrIncorrect). At the limit, sends, calls and responses to that node are refused at once with
   * `ERR_PEER_BUSY` (a plain send is dropped, the sender sees the error); protocol packets
   * (exits, termination notices, acks, heartbeats) always go. One user packet larger than the
   * limit still goes when no other user packet waits for the peer (protocol packets that wait do
   * not count). Port extension (docs/networking.md, "Back-pressure").
   */
  peerBufferLimit?: number;
  proxyAccept?: { cookie?: string; flags?: NetworkProxyFlags };
  proxyTransit?: Record<string, never>;
}

/** One static route as `NetworkInfo.routes` reports it (`gen.RouteInfo`). */
export interface StaticRouteInfo {
  match: string;
  weight: number;
  useResolver: boolean;
  useCookie: boolean;
  useCertManager: boolean;
  flagsEnable: boolean;
  host: string;
  port: number;
  tls: boolean;
}

/** The report of a static route added with `match` and `weight` (what every Network lists). */
export function staticRouteInfo(match: string, route: NetworkRoute, weight: number): StaticRouteInfo {
  return {
    match,
    weight,
    useResolver: route.resolver !== undefined,
    useCookie: route.cookie !== undefined,
    useCertManager: route.cert !== undefined,
    flagsEnable: route.flags?.enable ?? false,
    host: route.route?.host ?? '',
    port: route.route?.port ?? 0,
    tls: route.route?.tls ?? false,
  };
}

/** A snapshot of the network (`gen.NetworkInfo`). */
export interface NetworkInfo {
  mode: NetworkMode;
  registrar: RegistrarInfo | null;
  acceptors: AcceptorInfo[];
  maxMessageSize: number;
  handshakeVersion: Version;
  protoVersion: Version;
  nodes: Atom[];
  routes: StaticRouteInfo[];
  proxyRoutes: {
    match: string;
    weight: number;
    useResolver: boolean;
    useCookie: boolean;
    flagsEnable: boolean;
    maxHop: number;
    proxy: Atom;
  }[];
  flags: NetworkFlags;
  enabledSpawn: { name: Atom; behavior: string; nodes: Atom[] }[];
  enabledApplicationStart: { name: Atom; nodes: Atom[] }[];
  /**
   * What this node accepted for each peer and dropped since the network started (port
   * extension; absent where the network keeps no counts): see {@link UndeliveredInfo}.
   */
  undelivered?: UndeliveredInfo[];
}

/**
 * Accepted and never delivered, per peer, since the network started (port extension,
 * docs/networking.md "Pauses longer than detection").
 */
export interface UndeliveredInfo {
  node: Atom;
  /**
   * Plain sends dropped: queued while the peer was being dialled when the dial failed, or refused
   * when that queue was replayed on a busy connection (important sends and calls there fail to
   * their sender with a code instead).
   */
  plainSends: number;
  /**
   * User packets (sends, calls, responses, events) a connection declared down had not delivered:
   * unwritten, or written after the peer was last heard (an upper bound). The important sends and
   * calls among them failed with `ERR_NO_CONNECTION`; the plain sends are lost.
   */
  downPackets: number;
  /** Their bytes (for a connection that lost its last link: the bytes it still held unwritten). */
  downBytes: number;
}

/** The network of a node (`gen.Network`), from `node.network()`. */
export interface Network {
  registrar(): Registrar;
  cookie(): string;
  setCookie(cookie: string): void;
  maxMessageSize(): number;
  setMaxMessageSize(size: number): void;
  networkFlags(): NetworkFlags;
  setNetworkFlags(flags: NetworkFlags): void;
  acceptors(): Acceptor[];
  /** An existing connection; ErrNoConnection when there is none (never dials). */
  node(name: Atom | string): RemoteNode;
  /** A connection, dialling when needed (routes, then the registrar). ErrNoRoute / ErrNoConnection. */
  getNode(name: Atom | string): Promise<RemoteNode>;
  getNodeWithRoute(name: Atom | string, route: NetworkRoute): Promise<RemoteNode>;
  nodes(): Atom[];
  addRoute(match: string, route: NetworkRoute, weight: number): void;
  removeRoute(match: string): void;
  route(name: Atom | string): NetworkRoute[];
  addProxyRoute(match: string, route: NetworkProxyRoute, weight: number): void;
  removeProxyRoute(match: string): void;
  proxyRoute(name: Atom | string): NetworkProxyRoute[];
  registerProto(proto: Proto): void;
  registerHandshake(handshake: Handshake): void;
  /**
   * Lets remote nodes spawn `factory` under `name`: `nodes` are added to its allow-list; without
   * nodes every node may (an earlier list is dropped, as in Ergo). ErrTaken for another factory.
   */
  enableSpawn(name: Atom | string, factory: ProcessFactory, ...nodes: (Atom | string)[]): void;
  disableSpawn(name: Atom | string, ...nodes: (Atom | string)[]): void;
  /** As {@link enableSpawn}, for the start of application `name` (without nodes: every node). */
  enableApplicationStart(name: Atom | string, ...nodes: (Atom | string)[]): void;
  disableApplicationStart(name: Atom | string, ...nodes: (Atom | string)[]): void;
  info(): NetworkInfo;
  mode(): NetworkMode;
}

/**
 * A protocol attached to a running node with `attachProtocol` (e.g. the Erlang distribution of
 * `@ergo-ts/erlang`), beside or instead of the network stack. The engine asks every attached
 * protocol, in attach order, before its own network: `connection(node)` returns the Connection
 * that reaches `node` (connected, or dialling with operations queued), or undefined when this
 * protocol does not serve that node. `stop` runs once when the node stops, after its processes.
 */
export interface ProtocolAttachment {
  connection(node: Atom): Connection | undefined;
  stop(): Promise<void> | void;
}
