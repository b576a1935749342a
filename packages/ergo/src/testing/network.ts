// The simulated network of the test node (Ergo's TestNetwork, TestRemoteNode, TestRegistrar):
// remote nodes the test connects and disconnects, routes, a registrar with nodes, config and
// application routes. Remote spawns and application starts are recorded, never performed; a
// disconnect tells the actor's watchers of that node ErrNoConnection, as a real node does.

import { rejected } from '../gen/ignorable.js';
import type { Atom } from '../gen/atom.js';
import type { ApplicationInfo, ApplicationOptions } from '../gen/application.js';
import {
  ErrApplicationUnknown,
  ErrIncorrect,
  ErrNoConnection,
  ErrNoRoute,
  ErrTaken,
  ErrUnknown,
  ErrUnsupported,
} from '../gen/errors.js';
import {
  NetworkMode,
  staticRouteInfo,
  type Acceptor,
  type ApplicationRoute,
  type Handshake,
  type Network,
  type NetworkFlags,
  type NetworkInfo,
  type NetworkProxyRoute,
  type NetworkRoute,
  type NodeRegistrar,
  type Proto,
  type ProxyRoute,
  type RegisterRoutes,
  type Registrar,
  type RegistrarInfo,
  type RemoteNode,
  type RemoteNodeInfo,
  type Resolver,
  type Route,
} from '../gen/network.js';
import type { Event } from '../gen/event.js';
import type { Version } from '../gen/node.js';
import type { ProcessOptions } from '../gen/options.js';
import { PID } from '../gen/pid.js';
import type { ProcessFactory } from '../gen/process.js';
import { ConnectionEvent, type EventLog, RemoteApplicationStartEvent, RemoteSpawnEvent } from './events.js';
import { Failures } from './failures.js';
import type { TestNode } from './node.js';

/** A route as tests write it: the versions may be left out (they default to empty ones). */
export type TestRoute = Omit<Route, 'handshakeVersion' | 'protoVersion'> &
  Partial<Pick<Route, 'handshakeVersion' | 'protoVersion'>>;

/** A static route as tests write it (gen `NetworkRoute` with a {@link TestRoute}). */
export type TestNetworkRoute = Omit<NetworkRoute, 'route'> & { route?: TestRoute };

const NO_VERSION: Version = { name: '', release: '' };

/** A complete gen `Route` from a test's shorthand. */
function fullRoute(r: TestRoute): Route {
  return { handshakeVersion: NO_VERSION, protoVersion: NO_VERSION, ...r };
}

/** Every capability on, as a default node announces them. */
const ALL_FLAGS: NetworkFlags = {
  enable: true,
  enableRemoteSpawn: true,
  enableRemoteApplicationStart: true,
  enableFragmentation: false,
  enableProxyTransit: false,
  enableProxyAccept: true,
  enableImportantDelivery: true,
};

/** The part of the harness the network tells about node-down (set by spawnTest). */
export interface NodeDownListener {
  (node: Atom): void;
}

/**
 * A simulated remote node (Ergo's TestRemoteNode). `spawn`/`applicationStart` record a
 * {@link RemoteSpawnEvent} / {@link RemoteApplicationStartEvent} and succeed while connected;
 * they reject with ErrNoConnection once disconnected. Uptime, version and creation are settable.
 */
export class TestRemoteNode implements RemoteNode {
  #uptime = 1000;
  #connectionUptime = 100;
  #version: Version = { name: 'test', release: '1.0' };
  #creation = 1234567890;
  #nextId = 12344;
  #apps = new Map<string, ApplicationInfo>();
  /** Failure injection for this remote node's methods (`spawn`, `applicationStart`...). */
  readonly failures: Failures;
  /** @internal set by the network */
  connected: boolean;

  constructor(
    readonly network: TestNetwork,
    readonly nodeName: Atom,
    connected: boolean,
  ) {
    this.connected = connected;
    this.failures = new Failures('remoteNode', network.history);
  }

  /** The remote node's name. */
  name(): Atom {
    return this.nodeName;
  }
  /** Reported uptime of the remote node, seconds (settable). */
  uptime(): number {
    return this.#uptime;
  }
  /** Reported connection uptime, seconds (settable). */
  connectionUptime(): number {
    return this.#connectionUptime;
  }
  /** Reported version (settable). */
  version(): Version {
    return this.#version;
  }
  /** Creation stamped on the PIDs it hands out (settable). */
  creation(): number {
    return this.#creation;
  }
  /** A snapshot of the remote node and its (simulated) connection. */
  info(): RemoteNodeInfo {
    return {
      node: this.nodeName,
      uptime: this.#uptime,
      connectionUptime: this.#connectionUptime,
      version: this.#version,
      handshakeVersion: NO_VERSION,
      protoVersion: NO_VERSION,
      networkFlags: { ...ALL_FLAGS },
      poolSize: 1,
      poolDSN: [],
      maxMessageSize: 0,
      messagesIn: 0,
      messagesOut: 0,
      bytesIn: 0,
      bytesOut: 0,
      transitBytesIn: 0,
      transitBytesOut: 0,
    };
  }
  /** Sets the reported uptime (seconds). */
  setUptime(seconds: number): void {
    this.#uptime = seconds;
  }
  /** Sets the reported connection uptime (seconds). */
  setConnectionUptime(seconds: number): void {
    this.#connectionUptime = seconds;
  }
  /** Sets the reported version. */
  setVersion(version: Version): void {
    this.#version = version;
  }
  /** Sets the creation stamped on PIDs it hands out. */
  setCreation(creation: number): void {
    this.#creation = creation;
  }
  /** Whether the connection is up. */
  isConnected(): boolean {
    return this.connected;
  }

  /** Records a remote spawn of the factory enabled under `name`; resolves with a PID of this node. */
  spawn(name: Atom | string, options?: ProcessOptions, ...args: unknown[]): Promise<PID> {
    return this.#spawn('spawn', '' as Atom, name as Atom, options, args);
  }
  /** Records a remote spawn registered under `register`. */
  spawnRegister(
    register: Atom | string,
    name: Atom | string,
    options?: ProcessOptions,
    ...args: unknown[]
  ): Promise<PID> {
    return this.#spawn('spawnRegister', register as Atom, name as Atom, options, args);
  }
  #spawn(op: string, register: Atom, name: Atom, options: ProcessOptions | undefined, args: unknown[]): Promise<PID> {
    try {
      const err = this.failures.check(op, register ? [register, name, ...args] : [name, ...args]);
      if (err !== undefined) throw err;
      if (!this.connected) throw ErrNoConnection.with(`node '${this.nodeName}'`);
      const pid = new PID(this.nodeName, ++this.#nextId, this.#creation);
      this.network.history.push(new RemoteSpawnEvent(this.nodeName, name, register, options, args, pid));
      return Promise.resolve(pid);
    } catch (e) {
      return rejected(e, undefined, 'a test-kit call');
    }
  }
  /** Records an application start in the spec's mode; ErrNoConnection once disconnected. */
  applicationStart(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.#start('applicationStart', '', name as Atom, options);
  }
  /** Records an application start in temporary mode. */
  applicationStartTemporary(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.#start('applicationStartTemporary', 'temporary', name as Atom, options);
  }
  /** Records an application start in transient mode. */
  applicationStartTransient(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.#start('applicationStartTransient', 'transient', name as Atom, options);
  }
  /** Records an application start in permanent mode. */
  applicationStartPermanent(name: Atom | string, options?: ApplicationOptions): Promise<void> {
    return this.#start('applicationStartPermanent', 'permanent', name as Atom, options);
  }
  #start(
    op: string,
    mode: RemoteApplicationStartEvent['mode'],
    name: Atom,
    options: ApplicationOptions | undefined,
  ): Promise<void> {
    try {
      const err = this.failures.check(op, [name, options]);
      if (err !== undefined) throw err;
      if (!this.connected) throw ErrNoConnection.with(`node '${this.nodeName}'`);
      this.network.history.push(new RemoteApplicationStartEvent(this.nodeName, name, mode, options));
      return Promise.resolve();
    } catch (e) {
      return rejected(e, undefined, 'a test-kit call');
    }
  }
  /** Sets (or with `undefined` removes) what {@link applicationInfo} answers for `name`. */
  setApplicationInfo(name: Atom | string, info: ApplicationInfo | undefined): void {
    if (info === undefined) this.#apps.delete(name);
    else this.#apps.set(name, info);
  }
  /** The info set with {@link setApplicationInfo}; ErrApplicationUnknown otherwise, ErrNoConnection once disconnected. */
  applicationInfo(name: Atom | string): Promise<ApplicationInfo> {
    try {
      const err = this.failures.check('applicationInfo', [name]);
      if (err !== undefined) throw err;
      if (!this.connected) throw ErrNoConnection.with(`node '${this.nodeName}'`);
      const info = this.#apps.get(name);
      if (info === undefined) throw ErrApplicationUnknown.with(String(name));
      return Promise.resolve(info);
    } catch (e) {
      return rejected(e, undefined, 'a test-kit call');
    }
  }
  /** Closes the connection: the actor's watchers of this node get ErrNoConnection. */
  disconnect(): void {
    this.network.disconnectNode(this.nodeName);
  }
}

/**
 * A simulated registrar (Ergo's TestRegistrar): nodes with routes, config items and
 * application routes the test sets up; the resolver answers from them (ErrNoRoute otherwise).
 */
export class TestRegistrar implements Registrar {
  readonly #nodes = new Map<Atom, Route[]>();
  readonly #config = new Map<string, unknown>();
  readonly #apps = new Map<Atom, ApplicationRoute[]>();
  #registered: RegisterRoutes | undefined;
  /** Failure injection for the registrar's methods. */
  readonly failures: Failures;

  /** Creates an empty registrar whose failures are recorded in `history`. */
  constructor(history: EventLog) {
    this.failures = new Failures('registrar', history);
  }
  #fail(method: string, args: unknown[]): void {
    const err = this.failures.check(method, args);
    if (err !== undefined) throw err;
  }

  /** Makes the registrar know `node` with these routes. */
  addNode(node: Atom | string, routes: TestRoute[]): void {
    this.#nodes.set(node as Atom, routes.map(fullRoute));
  }
  /** Forgets a node. */
  removeNode(node: Atom | string): void {
    this.#nodes.delete(node as Atom);
  }
  /** Sets a cluster configuration item. */
  setConfig(item: string, value: unknown): void {
    this.#config.set(item, value);
  }
  /** Names of the nodes the registrar knows. */
  async nodes(): Promise<Atom[]> {
    this.#fail('nodes', []);
    return [...this.#nodes.keys()];
  }
  /** One config item. Rejects with ErrUnknown when it is not set. */
  async configItem(item: string): Promise<unknown> {
    this.#fail('configItem', [item]);
    if (!this.#config.has(item)) throw ErrUnknown.with(`config item '${item}'`);
    return this.#config.get(item);
  }
  /** The config items that are set, among `items`. */
  async config(...items: string[]): Promise<Map<string, unknown>> {
    this.#fail('config', items);
    const out = new Map<string, unknown>();
    for (const i of items) if (this.#config.has(i)) out.set(i, this.#config.get(i));
    return out;
  }
  /** Publishes where an application runs (resolveApplication finds it). */
  /** Records what the node registered (readable with {@link registered}). */
  async register(_node: NodeRegistrar, routes: RegisterRoutes): Promise<void> {
    this.#fail('register', [routes]);
    this.#registered = routes;
  }
  /** The routes the node registered last, or undefined. */
  registered(): RegisterRoutes | undefined {
    return this.#registered;
  }
  /** Accepted and forgotten (proxies are not simulated). */
  async registerProxy(to: Atom): Promise<void> {
    this.#fail('registerProxy', [to]);
  }
  /** Accepted and forgotten. */
  async unregisterProxy(to: Atom): Promise<void> {
    this.#fail('unregisterProxy', [to]);
  }
  /** The registrar's version. */
  version(): Version {
    return { name: 'test-registrar', release: '1.0' };
  }
  /** Nothing to stop. */
  terminate(): void {}
  /** @throws ErgoError ERR_UNSUPPORTED always (events are not simulated; `info().supportEvent` is false). */
  event(): Event {
    throw ErrUnsupported.with('the test registrar has no event');
  }
  async registerApplicationRoute(route: ApplicationRoute): Promise<void> {
    this.#fail('registerApplicationRoute', [route]);
    const list = this.#apps.get(route.name) ?? [];
    list.push({ ...route });
    this.#apps.set(route.name, list);
  }
  /** Forgets the routes of an application. */
  async unregisterApplicationRoute(name: Atom | string): Promise<void> {
    this.#fail('unregisterApplicationRoute', [name]);
    this.#apps.delete(name as Atom);
  }
  /** The resolver: routes of known nodes and applications (ErrNoRoute otherwise; proxies: none). */
  resolver(): Resolver {
    return {
      resolve: async (node: Atom): Promise<Route[]> => {
        this.#fail('resolve', [node]);
        const r = this.#nodes.get(node);
        if (r === undefined) throw ErrNoRoute.with(`node '${node}'`);
        return r.map((x) => ({ ...x }));
      },
      resolveApplication: async (name: Atom): Promise<ApplicationRoute[]> => {
        this.#fail('resolveApplication', [name]);
        const r = this.#apps.get(name);
        if (r === undefined || r.length === 0) throw ErrNoRoute.with(`application '${name}'`);
        return r.map((x) => ({ ...x }));
      },
      resolveProxy: async (node: Atom): Promise<ProxyRoute[]> => {
        this.#fail('resolveProxy', [node]);
        throw ErrNoRoute.with(`proxy to '${node}'`);
      },
    };
  }
  info(): RegistrarInfo {
    return {
      server: 'test',
      embeddedServer: true,
      version: this.version(),
      supportConfig: true,
      supportEvent: false,
      supportRegisterProxy: false,
      supportRegisterApplication: true,
    };
  }
}

/**
 * The simulated network (Ergo's TestNetwork), from `testNode.network()`. Method names follow
 * gen `Network`: `node(name)` returns a connected node or throws ErrNoConnection; `getNode(name)`
 * connects (creating the remote node when unknown, as Ergo's kit does).
 */
export class TestNetwork implements Network {
  readonly #nodes = new Map<Atom, TestRemoteNode>();
  readonly #routes = new Map<string, { route: NetworkRoute; weight: number; re: RegExp }>();
  readonly #proxyRoutes = new Map<string, { route: NetworkProxyRoute; weight: number; re: RegExp }>();
  readonly #spawns = new Map<Atom, { factory: ProcessFactory; nodes: Set<Atom> }>();
  readonly #appStarts = new Map<Atom, Set<Atom>>();
  readonly #registrar: TestRegistrar;
  #mode: NetworkMode = NetworkMode.Enabled;
  #flags: NetworkFlags = { ...ALL_FLAGS };
  #cookie = 'test-cookie';
  #maxMessageSize = 0;
  /** Failure injection for the network's methods (`getNode`, `addRoute`...). */
  readonly failures: Failures;
  /** Called with a node's name when its connection goes down (the harness delivers the notices). */
  onNodeDown: NodeDownListener | undefined;

  constructor(
    /** The test node this network belongs to. */
    readonly owner: TestNode,
    readonly history: EventLog,
  ) {
    this.failures = new Failures('network', history);
    this.#registrar = new TestRegistrar(history);
  }
  #fail(method: string, args: unknown[]): void {
    const err = this.failures.check(method, args);
    if (err !== undefined) throw err;
  }

  /** The simulated registrar. */
  registrar(): TestRegistrar {
    return this.#registrar;
  }
  /** The network cookie (settable). */
  cookie(): string {
    return this.#cookie;
  }
  /** Sets the cookie. */
  setCookie(cookie: string): void {
    this.#cookie = cookie;
  }
  /** The max message size (settable; 0 = unlimited). */
  maxMessageSize(): number {
    return this.#maxMessageSize;
  }
  /** Sets the max message size. */
  setMaxMessageSize(size: number): void {
    this.#maxMessageSize = size;
  }
  /** The network mode (settable). */
  mode(): NetworkMode {
    return this.#mode;
  }
  /** Sets the reported mode. */
  setMode(mode: NetworkMode): void {
    this.#mode = mode;
  }
  /** The announced capabilities (settable). */
  networkFlags(): NetworkFlags {
    return { ...this.#flags };
  }
  /** Sets the announced capabilities. */
  setNetworkFlags(flags: NetworkFlags): void {
    this.#flags = { ...flags };
  }
  /** No acceptors are simulated. */
  acceptors(): Acceptor[] {
    return [];
  }
  /** Accepted and ignored: no protocol runs under the kit. */
  registerProto(_proto: Proto): void {}
  /** Accepted and ignored: no handshake runs under the kit. */
  registerHandshake(_handshake: Handshake): void {}
  /** Records that remote nodes (all, or only `nodes`) may spawn `factory` under `name` (shown by info()). ErrTaken. */
  enableSpawn(name: Atom | string, factory: ProcessFactory, ...nodes: (Atom | string)[]): void {
    this.#fail('enableSpawn', [name, ...nodes]);
    const e = this.#spawns.get(name as Atom);
    if (e !== undefined && e.factory !== factory) throw ErrTaken.with(`spawn name '${name}'`);
    const entry = e ?? { factory, nodes: new Set<Atom>() };
    for (const n of nodes) entry.nodes.add(n as Atom);
    this.#spawns.set(name as Atom, entry);
  }
  /** Drops the permission (for `nodes`, or entirely). */
  disableSpawn(name: Atom | string, ...nodes: (Atom | string)[]): void {
    this.#fail('disableSpawn', [name, ...nodes]);
    const e = this.#spawns.get(name as Atom);
    if (e === undefined) return;
    if (nodes.length === 0) this.#spawns.delete(name as Atom);
    else for (const n of nodes) e.nodes.delete(n as Atom);
  }
  /** Records that remote nodes (all, or only `nodes`) may start application `name`. */
  enableApplicationStart(name: Atom | string, ...nodes: (Atom | string)[]): void {
    this.#fail('enableApplicationStart', [name, ...nodes]);
    const set = this.#appStarts.get(name as Atom) ?? new Set<Atom>();
    for (const n of nodes) set.add(n as Atom);
    this.#appStarts.set(name as Atom, set);
  }
  /** Drops the permission (for `nodes`, or entirely). */
  disableApplicationStart(name: Atom | string, ...nodes: (Atom | string)[]): void {
    this.#fail('disableApplicationStart', [name, ...nodes]);
    const set = this.#appStarts.get(name as Atom);
    if (set === undefined) return;
    if (nodes.length === 0) this.#appStarts.delete(name as Atom);
    else for (const n of nodes) set.delete(n as Atom);
  }
  /** A snapshot in gen `NetworkInfo` form. */
  info(): NetworkInfo {
    return {
      mode: this.#mode,
      registrar: this.#registrar.info(),
      acceptors: [],
      maxMessageSize: this.#maxMessageSize,
      handshakeVersion: NO_VERSION,
      protoVersion: NO_VERSION,
      nodes: this.nodes(),
      routes: [...this.#routes.entries()].map(([match, r]) => staticRouteInfo(match, r.route, r.weight)),
      proxyRoutes: [...this.#proxyRoutes.entries()].map(([match, r]) => ({
        match,
        weight: r.weight,
        useResolver: r.route.resolver !== undefined,
        useCookie: r.route.cookie !== undefined,
        flagsEnable: r.route.flags?.enable ?? false,
        maxHop: r.route.maxHop ?? 8,
        proxy: r.route.route.proxy,
      })),
      flags: this.networkFlags(),
      enabledSpawn: [...this.#spawns.entries()].map(([name, e]) => ({
        name,
        behavior: (e.factory as { name?: string }).name ?? '',
        nodes: [...e.nodes],
      })),
      enabledApplicationStart: [...this.#appStarts.entries()].map(([name, nodes]) => ({ name, nodes: [...nodes] })),
    };
  }

  /** A connected remote node. @throws ErrNoConnection when unknown or disconnected. */
  node(name: Atom | string): TestRemoteNode {
    this.#fail('node', [name]);
    const n = this.#nodes.get(name as Atom);
    if (n === undefined || !n.connected) throw ErrNoConnection.with(`node '${name}'`);
    return n;
  }
  /** Connects to a remote node (created when unknown) and resolves with it. */
  async getNode(name: Atom | string): Promise<TestRemoteNode> {
    this.#fail('getNode', [name]);
    return this.connectNode(name);
  }
  /** As getNode; the route is ignored. */
  async getNodeWithRoute(name: Atom | string, _route: NetworkRoute): Promise<TestRemoteNode> {
    this.#fail('getNodeWithRoute', [name]);
    return this.connectNode(name);
  }
  /** Names of the connected remote nodes. */
  nodes(): Atom[] {
    return [...this.#nodes.values()].filter((n) => n.connected).map((n) => n.nodeName);
  }

  /** Adds a remote node, connected or not (Ergo's AddRemoteNode / CreateRemoteNode). */
  addRemoteNode(name: Atom | string, connected: boolean): TestRemoteNode {
    if (typeof name !== 'string' || name === '') throw ErrIncorrect.with('remote node: empty name');
    const existing = this.#nodes.get(name as Atom);
    if (existing) {
      if (connected) this.connectNode(name);
      return existing;
    }
    const n = new TestRemoteNode(this, name as Atom, connected);
    this.#nodes.set(name as Atom, n);
    if (connected) this.history.push(new ConnectionEvent('connect', name as Atom));
    return n;
  }
  /** Connects a remote node (creating it when unknown); records the connection when it was down. */
  connectNode(name: Atom | string): TestRemoteNode {
    const n = this.#nodes.get(name as Atom);
    if (n === undefined) return this.addRemoteNode(name, true);
    if (!n.connected) {
      n.connected = true;
      this.history.push(new ConnectionEvent('connect', n.nodeName));
    }
    return n;
  }
  /**
   * Disconnects a remote node: records the disconnect and tells the harness, which delivers
   * ErrNoConnection to the actor's links and monitors of that node. No-op when not connected.
   */
  disconnectNode(name: Atom | string): void {
    const n = this.#nodes.get(name as Atom);
    if (n === undefined || !n.connected) return;
    n.connected = false;
    this.history.push(new ConnectionEvent('disconnect', n.nodeName));
    this.onNodeDown?.(n.nodeName);
  }

  /** Adds a static route for node names matching the regular expression `match`. @throws ErrTaken. */
  addRoute(match: string, route: TestNetworkRoute, weight: number): void {
    this.#fail('addRoute', [match, route, weight]);
    if (this.#routes.has(match)) throw ErrTaken.with(`route '${match}'`);
    const full: NetworkRoute =
      route.route === undefined ? (route as NetworkRoute) : { ...route, route: fullRoute(route.route) };
    this.#routes.set(match, { route: full, weight, re: pattern(match) });
  }
  /** @throws ErrUnknown when no such route. */
  removeRoute(match: string): void {
    this.#fail('removeRoute', [match]);
    if (!this.#routes.delete(match)) throw ErrUnknown.with(`route '${match}'`);
  }
  /** Static routes matching `name`, heaviest first. */
  route(name: Atom | string): NetworkRoute[] {
    this.#fail('route', [name]);
    return [...this.#routes.values()]
      .filter((r) => r.re.test(name))
      .sort((a, b) => b.weight - a.weight)
      .map((r) => r.route);
  }
  /** Adds a proxy route for node names matching `match`. @throws ErrTaken. */
  addProxyRoute(match: string, route: NetworkProxyRoute, weight: number): void {
    this.#fail('addProxyRoute', [match, route, weight]);
    if (this.#proxyRoutes.has(match)) throw ErrTaken.with(`proxy route '${match}'`);
    this.#proxyRoutes.set(match, { route, weight, re: pattern(match) });
  }
  /** @throws ErrUnknown when no such proxy route. */
  removeProxyRoute(match: string): void {
    this.#fail('removeProxyRoute', [match]);
    if (!this.#proxyRoutes.delete(match)) throw ErrUnknown.with(`proxy route '${match}'`);
  }
  /** Proxy routes matching `name`, heaviest first. */
  proxyRoute(name: Atom | string): NetworkProxyRoute[] {
    this.#fail('proxyRoute', [name]);
    return [...this.#proxyRoutes.values()]
      .filter((r) => r.re.test(name))
      .sort((a, b) => b.weight - a.weight)
      .map((r) => r.route);
  }
}

/** A route pattern as a RegExp. @throws ErrIncorrect for an invalid one. */
function pattern(match: string): RegExp {
  try {
    return new RegExp(match);
  } catch {
    throw ErrIncorrect.with(`route pattern '${match}'`);
  }
}
