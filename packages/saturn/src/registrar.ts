// The Saturn registrar client (Saturn protocol R1, EXTRAS.md §4), written for ergo-ts from the
// protocol facts. A node registers once over TLS (token handshake, then its routes, cluster and
// application routes); the server answers with the cluster's other nodes, their application
// routes and the node's config, then pushes who joined or left, application route changes and
// config updates, which the registrar keeps and tells the local subscribers of its event. Node
// routes are resolved by asking the server. When the connection drops the registrar connects and
// registers again with a 1–5 s back-off. Nothing the client does can end the OS process: every
// failure ends up in a log line or a rejected call of the caller.

import {
  ErrIncorrect,
  ErrNoConnection,
  ErrNoRoute,
  ErrNotAllowed,
  ErrRegistrarTerminated,
  ErrTimeout,
  ErrUnknown,
  ErrUnsupported,
  Event,
  ignorable,
  rejected,
  toError,
  type ApplicationRoute,
  type Atom,
  type Log,
  type NodeRegistrar,
  type ProxyRoute,
  type Ref,
  type RegisterRoutes,
  type Registrar,
  type RegistrarInfo,
  type Resolver,
  type Route,
  type Version,
} from 'ergo-ts';
import { NodeConfig } from './config.js';
import {
  EventApplicationLoaded,
  EventApplicationStarted,
  EventApplicationStopped,
  EventApplicationStopping,
  EventApplicationUnloaded,
  EventConfigUpdate,
  EventNodeJoined,
  EventNodeLeft,
} from './events.js';
import {
  fromWireApplicationRoute,
  fromWireProxyRoute,
  fromWireRoutes,
  MessageConfigUpdate,
  MessageNodeJoined,
  MessageNodeLeft,
  MessageRegister,
  MessageRegisterApplicationRoute,
  MessageResolve,
  MessageResolveProxy,
  MessageResolveProxyResult,
  MessageResolveResult,
  MessageUnregisterApplicationRoute,
  toWireApplicationRoute,
  toWireRoutes,
  WireProxyRoute,
  WireRegisterRoutes,
  type MessageRegisterResult,
  type SaturnMessage,
} from './messages.js';
import { resolveOptions, type ResolvedOptions, type SaturnRegistrarOptions } from './options.js';
import { Session } from './session.js';

/** The registrar's version: ergo-ts's own Saturn client, release R1, MIT. */
export const SATURN_REGISTRAR_VERSION: Readonly<Version> = Object.freeze({
  name: 'Saturn Client (ergo-ts)',
  release: 'R1',
  license: 'MIT',
});

/** A resolve waiting for its answer. */
interface Pending {
  resolve: (m: MessageResolveResult | MessageResolveProxyResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * The Saturn registrar: pass it as `network.registrar`. Lifecycle: construct (checks options,
 * connects nothing) → the node's network calls `register` once (rejects with ErrTaken when the
 * name is registered in the cluster; the node does not start) → `resolver()`, `nodes()`,
 * `config*()`, `event()` while registered → `terminate()` (idempotent) closes the connection, so
 * the server tells the cluster the node left. After `terminate` every call rejects with
 * ErrRegistrarTerminated.
 */
export class SaturnRegistrar implements Registrar {
  readonly #o: ResolvedOptions;
  #state: 'new' | 'registering' | 'registered' | 'terminated' = 'new';
  #node: NodeRegistrar | null = null;
  #name = '' as Atom;
  #routes: Route[] = [];
  /** This node's application routes, as last registered (sent again after a reconnect). */
  readonly #ownApps = new Map<Atom, ApplicationRoute>();
  #session: Session | null = null;
  #event: Event | null = null;
  #token: Ref | null = null;
  readonly #nodes = new Set<Atom>();
  /** Other nodes' application routes: application → node → route. */
  readonly #apps = new Map<Atom, Map<Atom, ApplicationRoute>>();
  #config: NodeConfig | null = null;
  readonly #pending = new Map<number, Pending>();
  #nextID = 0;
  #retryTimer: NodeJS.Timeout | null = null;

  /** @throws ErgoError ERR_INCORRECT for a missing token or an option out of range. */
  constructor(options: SaturnRegistrarOptions) {
    this.#o = resolveOptions(options);
  }

  /** The cluster this registrar serves ("" is Saturn's unnamed cluster). */
  cluster(): string {
    return this.#o.cluster;
  }

  /** Whether the registrar is connected and registered right now (false while it reconnects). */
  connected(): boolean {
    return this.#state === 'registered' && this.#session !== null;
  }

  // --- registration -------------------------------------------------------------------------

  /**
   * Connects, proves the token, registers the node and its routes, and registers the event.
   * @throws ErgoError ERR_TAKEN (the name is registered in this cluster), ERR_NO_CONNECTION
   *   (unreachable, TLS refused, or the server hung up: a wrong token), ERR_TIMEOUT (no answer
   *   within `connectTimeout`), ERR_MALFORMED (the server's digest is wrong: it does not know the
   *   token), ERR_INCORRECT (a bad node name), ERR_NOT_ALLOWED (registered already, or terminated).
   */
  register(node: NodeRegistrar, routes: RegisterRoutes): Promise<void> {
    return ignorable(this.#register(node, routes), this.#log(), 'saturn register');
  }

  async #register(node: NodeRegistrar, routes: RegisterRoutes): Promise<void> {
    if (this.#state !== 'new') throw ErrNotAllowed.with(`saturn registrar is ${this.#state}`);
    const name = node.name();
    if (!name.includes('@')) throw ErrIncorrect.with(`node name ${name} (name@host)`);
    this.#state = 'registering';
    this.#node = node;
    this.#name = name;
    this.#routes = [...routes.routes];
    for (const r of routes.applicationRoutes) this.#ownApps.set(r.name, { ...r });
    this.#config = new NodeConfig(this.#o.cluster, name);
    let opened;
    try {
      opened = await Session.open(this.#o, this.#registerMessage(routes.applicationRoutes, routes.proxies));
    } catch (e) {
      this.#state = 'new';
      this.#node = null;
      throw e;
    }
    const { session, result } = opened;
    if (this.#state !== 'registering') {
      session.close(); // terminated meanwhile
      throw ErrRegistrarTerminated.with('saturn registrar');
    }
    const eventName = `saturn.event.${session.remote}`;
    try {
      this.#token = node.registerEvent(eventName);
    } catch (e) {
      session.close();
      this.#state = 'new';
      this.#node = null;
      throw e;
    }
    this.#event = new Event(eventName as Atom, name);
    this.#state = 'registered';
    this.#apply(result, false);
    this.#attach(session);
    this.#log().info(
      '(saturn) registered %s in cluster %s on %s',
      name,
      JSON.stringify(this.#o.cluster),
      session.remote,
    );
  }

  #registerMessage(apps: readonly ApplicationRoute[], proxies: readonly ProxyRoute[]): MessageRegister {
    return new MessageRegister({
      cluster: this.#o.cluster,
      hidden: false,
      node: this.#name,
      registerRoutes: new WireRegisterRoutes({
        routes: toWireRoutes(this.#routes),
        applicationRoutes: apps.map(toWireApplicationRoute),
        proxyRoutes: proxies.map((p) => new WireProxyRoute({ to: p.to, proxy: p.proxy })),
      }),
    });
  }

  #attach(session: Session): void {
    this.#session = session;
    session.attach(
      (m) => this.#onMessage(session, m),
      (why) => this.#lost(session, why),
    );
  }

  /**
   * Takes a registration result's nodes, application routes and config. After a reconnect
   * (`diff`) subscribers hear of the nodes that left or joined meanwhile.
   */
  #apply(result: MessageRegisterResult, diff: boolean): void {
    const nodes = new Set((result.nodes ?? []).map((n) => n as Atom).filter((n) => n !== this.#name));
    if (diff) {
      for (const n of this.#nodes) if (!nodes.has(n)) this.#nodeLeft(n);
      for (const n of nodes) if (!this.#nodes.has(n)) this.#send(new EventNodeJoined(n));
    }
    this.#nodes.clear();
    for (const n of nodes) this.#nodes.add(n);
    this.#apps.clear();
    // The server keeps one entry per route update; the last one of a node is its state.
    for (const w of result.applications ?? []) {
      const r = fromWireApplicationRoute(w);
      if (r.node === this.#name) continue;
      let byNode = this.#apps.get(r.name);
      if (byNode === undefined) this.#apps.set(r.name, (byNode = new Map()));
      byNode.set(r.node, r);
    }
    const c = result.config;
    this.#config!.reset(c === null ? [] : c instanceof Map ? c.entries() : Object.entries(c));
  }

  // --- what the server pushes ---------------------------------------------------------------

  #onMessage(session: Session, m: unknown): void {
    if (this.#session !== session || this.#state !== 'registered') return;
    try {
      if (m instanceof MessageResolveResult || m instanceof MessageResolveProxyResult) {
        const p = this.#pending.get(Number(m.id));
        if (p === undefined) return; // timed out already
        this.#pending.delete(Number(m.id));
        clearTimeout(p.timer);
        p.resolve(m);
      } else if (m instanceof MessageNodeJoined) {
        const n = m.node as Atom;
        // Known already: Saturn also announces a node whose registration it refused (a taken name).
        if (n === this.#name || this.#nodes.has(n)) return;
        this.#nodes.add(n);
        this.#send(new EventNodeJoined(n));
      } else if (m instanceof MessageNodeLeft) this.#nodeLeft(m.node as Atom);
      else if (m instanceof MessageRegisterApplicationRoute) this.#appRoute(fromWireApplicationRoute(m.route));
      else if (m instanceof MessageUnregisterApplicationRoute) this.#appGone(m.name as Atom, m.node as Atom);
      else if (m instanceof MessageConfigUpdate) {
        const k = this.#config!.update(m.item, m.value);
        if (k !== null) this.#send(new EventConfigUpdate(k.item, m.value));
      } else this.#log().warning('(saturn) unexpected message from the server: %s', describe(m));
    } catch (e) {
      this.#log().error('(saturn) cannot handle %s: %s', describe(m), toError(e).message);
    }
  }

  #nodeLeft(n: Atom): void {
    this.#nodes.delete(n);
    for (const [app, byNode] of this.#apps) if (byNode.has(n)) this.#appGone(app, n);
    this.#send(new EventNodeLeft(n));
  }

  #appRoute(r: ApplicationRoute): void {
    if (r.node === this.#name) return;
    let byNode = this.#apps.get(r.name);
    if (byNode === undefined) this.#apps.set(r.name, (byNode = new Map()));
    const known = byNode.has(r.node);
    byNode.set(r.node, r);
    if (r.state === 1) {
      if (known) this.#send(new EventApplicationStopped(r.name, r.node));
      else this.#send(new EventApplicationLoaded(r.name, r.node, r.weight));
    } else if (r.state === 2) this.#send(new EventApplicationStarted(r.name, r.node, r.weight, r.mode));
    else if (r.state === 3) this.#send(new EventApplicationStopping(r.name, r.node));
  }

  #appGone(name: Atom, node: Atom): void {
    const byNode = this.#apps.get(name);
    if (byNode === undefined || !byNode.delete(node)) return;
    if (byNode.size === 0) this.#apps.delete(name);
    this.#send(new EventApplicationUnloaded(name, node));
  }

  #send(message: unknown): void {
    const node = this.#node;
    if (node === null || this.#token === null || this.#event === null) return;
    try {
      node.sendEvent(this.#event.name, this.#token, message);
    } catch (e) {
      this.#log().debug('(saturn) event not sent: %s', toError(e).message);
    }
  }

  // --- losing the server and coming back ----------------------------------------------------

  #lost(session: Session, why: Error): void {
    if (this.#session !== session || this.#state !== 'registered') return;
    this.#session = null;
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(ErrNoConnection.with(`saturn connection lost (${why.message})`));
      this.#pending.delete(id);
    }
    this.#log().warning(
      '(saturn) lost the connection to %s:%d (%s): reconnecting',
      this.#o.host,
      this.#o.port,
      why.message,
    );
    this.#reconnect(1);
  }

  #reconnect(attempt: number): void {
    const wait = Math.min(this.#o.reconnectInterval * attempt, this.#o.reconnectIntervalMax);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (this.#state !== 'registered') return;
      // Application routes go separately after the registration: the server relays those to
      // the cluster (the ones inside a registration it only stores).
      Session.open(this.#o, this.#registerMessage([], [])).then(
        ({ session, result }) => {
          if (this.#state !== 'registered') return session.close();
          this.#apply(result, true);
          this.#attach(session);
          for (const r of this.#ownApps.values())
            this.#write(new MessageRegisterApplicationRoute({ route: toWireApplicationRoute(r) }));
          this.#log().info('(saturn) %s registered again (attempt %d)', this.#name, attempt);
        },
        (e: unknown) => {
          if (this.#state !== 'registered') return;
          const msg = toError(e).message;
          if (attempt === 1)
            this.#log().warning('(saturn) registering %s again failed: %s (retrying)', this.#name, msg);
          else this.#log().debug('(saturn) registering %s again failed (attempt %d): %s', this.#name, attempt, msg);
          this.#reconnect(attempt + 1);
        },
      );
    }, wait);
    this.#retryTimer.unref();
  }

  /** Sends now if connected; while reconnecting the registration carries the state instead. */
  #write(m: SaturnMessage): void {
    const s = this.#session;
    if (s === null || s.closed) return;
    try {
      s.send(m);
    } catch (e) {
      this.#log().warning('(saturn) message not sent: %s', toError(e).message);
    }
  }

  // --- config -------------------------------------------------------------------------------

  /**
   * One config item, by priority (highest first): `<cluster>:<node>:<item>`,
   * `<cluster>:*:<item>`, `<node>:<item>`, `*:<item>`, as the server pushed them.
   * @throws ErgoError ERR_UNKNOWN (no level sets it), ERR_REGISTRAR_TERMINATED, ERR_NOT_ALLOWED (before register).
   */
  configItem(item: string): Promise<unknown> {
    try {
      this.#check();
      const v = this.#config!.effective(item);
      if (!v.found) throw ErrUnknown.with(`config item ${item}`);
      return Promise.resolve(v.value);
    } catch (e) {
      return rejected(e, this.#log(), `saturn config item ${item}`);
    }
  }

  /** The items that some level sets, among `items` (missing ones are left out). */
  config(...items: string[]): Promise<Map<string, unknown>> {
    try {
      this.#check();
      const out = new Map<string, unknown>();
      for (const i of items) {
        const v = this.#config!.effective(i);
        if (v.found) out.set(i, v.value);
      }
      return Promise.resolve(out);
    } catch (e) {
      return rejected(e, this.#log(), 'saturn config');
    }
  }

  // --- resolving ----------------------------------------------------------------------------

  /**
   * The resolver: node routes and proxy routes by asking the server, application routes from
   * what the server pushed.
   */
  resolver(): Resolver {
    return {
      resolve: (name) => ignorable(this.#resolve(name), this.#log(), `saturn resolve ${name}`),
      resolveApplication: (name) =>
        ignorable(this.#resolveApplication(name), this.#log(), `saturn resolve application ${name}`),
      resolveProxy: (name) => ignorable(this.#resolveProxy(name), this.#log(), `saturn resolve proxy ${name}`),
    };
  }

  async #resolve(name: Atom): Promise<Route[]> {
    const r = await this.#request(name, (id) => new MessageResolve({ id, name }));
    if (!(r instanceof MessageResolveResult))
      throw ErrNoRoute.with(`${name}: the server answered a resolve with a proxy result`);
    if (r.error !== null) throw serverError(r.error, `${name} (saturn cluster ${JSON.stringify(this.#o.cluster)})`);
    return fromWireRoutes(r.routes);
  }

  async #resolveProxy(name: Atom): Promise<ProxyRoute[]> {
    const r = await this.#request(name, (id) => new MessageResolveProxy({ id, name }));
    if (!(r instanceof MessageResolveProxyResult))
      throw ErrNoRoute.with(`proxy to ${name}: the server answered with a node resolve result`);
    if (r.error !== null) throw serverError(r.error, `proxy to ${name}`);
    return (r.routes ?? []).map(fromWireProxyRoute);
  }

  #request(
    name: Atom,
    make: (id: number) => MessageResolve | MessageResolveProxy,
  ): Promise<MessageResolveResult | MessageResolveProxyResult> {
    this.#check();
    if (name === this.#name) throw ErrNotAllowed.with(`resolving this node's own name ${name}`);
    const s = this.#session;
    if (s === null) throw ErrNoConnection.with(`saturn ${this.#o.host}:${this.#o.port} (reconnecting)`);
    this.#nextID = this.#nextID >= 0xffffffff ? 1 : this.#nextID + 1;
    const id = this.#nextID;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(ErrTimeout.with(`saturn resolve ${name}: no answer within ${this.#o.requestTimeout} ms`));
      }, this.#o.requestTimeout);
      this.#pending.set(id, { resolve, reject, timer });
      try {
        s.send(make(id));
      } catch (e) {
        clearTimeout(timer);
        this.#pending.delete(id);
        reject(toError(e));
      }
    });
  }

  /**
   * Where application `name` is loaded or runs on other nodes, highest weight first (the first
   * is the one to start it on).
   * @throws ErgoError ERR_NO_ROUTE when no other node has it.
   */
  async #resolveApplication(name: Atom): Promise<ApplicationRoute[]> {
    this.#check();
    const byNode = this.#apps.get(name);
    if (byNode === undefined || byNode.size === 0) throw ErrNoRoute.with(`application ${name}`);
    return [...byNode.values()].map((r) => ({ ...r })).sort((a, b) => b.weight - a.weight);
  }

  /** Other nodes registered in this cluster, as the server last told. */
  nodes(): Promise<Atom[]> {
    try {
      this.#check();
      return Promise.resolve([...this.#nodes]);
    } catch (e) {
      return rejected(e, this.#log(), 'saturn nodes');
    }
  }

  // --- application routes -------------------------------------------------------------------

  /** Publishes where an application is and in which state (the server relays it to the cluster). */
  registerApplicationRoute(route: ApplicationRoute): Promise<void> {
    try {
      this.#check();
      const r = { ...route, node: this.#name };
      this.#ownApps.set(r.name, r);
      this.#write(new MessageRegisterApplicationRoute({ route: toWireApplicationRoute(r) }));
      return Promise.resolve();
    } catch (e) {
      return rejected(e, this.#log(), 'saturn application route');
    }
  }

  /** Withdraws an application's route. */
  unregisterApplicationRoute(name: Atom): Promise<void> {
    try {
      this.#check();
      this.#ownApps.delete(name);
      this.#write(new MessageUnregisterApplicationRoute({ name, node: this.#name }));
      return Promise.resolve();
    } catch (e) {
      return rejected(e, this.#log(), `saturn application route ${name} removal`);
    }
  }

  /** @throws ErgoError ERR_UNSUPPORTED always (Saturn's server does not store proxy routes yet). */
  registerProxy(_to: Atom): Promise<void> {
    return rejected(
      ErrUnsupported.with('the saturn registrar does not register proxies'),
      this.#log(),
      'registerProxy',
    );
  }
  /** @throws ErgoError ERR_UNSUPPORTED always. */
  unregisterProxy(_to: Atom): Promise<void> {
    return rejected(
      ErrUnsupported.with('the saturn registrar does not register proxies'),
      this.#log(),
      'unregisterProxy',
    );
  }

  // --- facts and end ------------------------------------------------------------------------

  /**
   * The registrar's event (named `saturn.event.<server address>`, owned by the node): link or
   * monitor it to receive {@link EventNodeJoined} and the other messages of events.ts.
   * @throws ErgoError ERR_NOT_ALLOWED before `register`, ERR_REGISTRAR_TERMINATED after `terminate`.
   */
  event(): Event {
    this.#check();
    return this.#event!;
  }

  /** Facts about this registrar (`server`: the address connected to, or host:port). */
  info(): RegistrarInfo {
    return {
      server: this.#session?.remote ?? `${this.#o.host}:${this.#o.port}`,
      embeddedServer: false,
      version: this.version(),
      supportConfig: true,
      supportEvent: true,
      supportRegisterProxy: false,
      supportRegisterApplication: true,
    };
  }

  /** {@link SATURN_REGISTRAR_VERSION}. */
  version(): Version {
    return { ...SATURN_REGISTRAR_VERSION };
  }

  /** Closes the connection (the server tells the cluster the node left). Idempotent. */
  terminate(): void {
    if (this.#state === 'terminated') return;
    const was = this.#state;
    this.#state = 'terminated';
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(ErrRegistrarTerminated.with('saturn registrar'));
    }
    this.#pending.clear();
    this.#session?.close();
    this.#session = null;
    if (was === 'registered' && this.#event !== null) {
      try {
        this.#node?.unregisterEvent(this.#event.name);
      } catch {
        // the node is stopping: its events go with it
      }
    }
    this.#log().trace('(saturn) registrar client terminated');
  }

  #check(): void {
    if (this.#state === 'terminated') throw ErrRegistrarTerminated.with('saturn registrar');
    if (this.#state !== 'registered') throw ErrNotAllowed.with('saturn registrar is not registered yet');
  }

  #log(): Log {
    return this.#node?.log() ?? silentLog;
  }
}

/**
 * A Saturn registrar with these options.
 * @throws ErgoError ERR_INCORRECT for a missing token or a bad option.
 */
export function createSaturnRegistrar(options: SaturnRegistrarOptions): SaturnRegistrar {
  return new SaturnRegistrar(options);
}

/** A server's error as an ergo-ts error: a known sentinel keeps its code, others are ErrNoRoute. */
function serverError(e: Error, detail: string): Error {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('ERR_') && 'with' in e)
    return (e as unknown as { with(d: string, c?: unknown): Error }).with(detail, e);
  return ErrNoRoute.with(`${detail}: ${e.message}`, e);
}

function describe(m: unknown): string {
  return m !== null && typeof m === 'object' ? m.constructor.name : typeof m;
}

const noop = (): void => undefined;
/** Log used before a node is known. */
const silentLog = new Proxy({} as Log, { get: () => noop });
