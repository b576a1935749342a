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
  ErrTaken,
  ErrTimeout,
  ignorable,
  rejected,
  toError,
  type ApplicationRoute,
  type Atom,
  type NodeRegistrar,
  type ProxyRoute,
  type RegisterRoutes,
  type Registrar,
  type Route,
  type Version,
} from 'ergo-ts';
import {
  EventApplicationLoaded,
  EventApplicationStarted,
  EventApplicationStopped,
  EventApplicationStopping,
  EventConfigUpdate,
  EventNodeJoined,
  EventNodeLeft,
  RegistrarClient,
  type RegistrarConfigValue,
} from 'ergo-ts/net';
import { NodeConfig } from './config.js';
import { EventApplicationUnloaded } from './events.js';
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
 * ErrRegistrarTerminated. Its event is named `saturn.event.<server address>`.
 */
export class SaturnRegistrar extends RegistrarClient implements Registrar {
  readonly #o: ResolvedOptions;
  #name = '' as Atom;
  #routes: Route[] = [];
  /** This node's application routes, as last registered (sent again after a reconnect). */
  readonly #ownApps = new Map<Atom, ApplicationRoute>();
  #session: Session | null = null;
  readonly #nodes = new Set<Atom>();
  /** Other nodes' application routes: application → node → route. */
  readonly #apps = new Map<Atom, Map<Atom, ApplicationRoute>>();
  #config: NodeConfig | null = null;
  readonly #pending = new Map<number, Pending>();
  #nextID = 0;
  #retryTimer: NodeJS.Timeout | null = null;

  /** @throws ErgoError ERR_INCORRECT for a missing token or an option out of range. */
  constructor(options: SaturnRegistrarOptions) {
    super({ kind: 'saturn', version: SATURN_REGISTRAR_VERSION });
    this.#o = resolveOptions(options);
  }

  /** The cluster this registrar serves ("" is Saturn's unnamed cluster). */
  cluster(): string {
    return this.#o.cluster;
  }

  /** Whether the registrar is connected and registered right now (false while it reconnects). */
  connected(): boolean {
    return this.state === 'registered' && this.#session !== null;
  }

  // --- registration -------------------------------------------------------------------------

  /**
   * Connects, proves the token, registers the node and its routes, and registers the event.
   * @throws ErgoError ERR_TAKEN (the name is registered in this cluster), ERR_NO_CONNECTION
   *   (unreachable, TLS refused, or the server hung up: a wrong token), ERR_TIMEOUT (no answer
   *   within `connectTimeout`, `registerAttempts` times), ERR_MALFORMED (the server's digest is wrong: it does not know the
   *   token), ERR_INCORRECT (a bad node name), ERR_NOT_ALLOWED (registered already, or terminated).
   */
  override register(node: NodeRegistrar, routes: RegisterRoutes): Promise<void> {
    return ignorable(this.#register(node, routes), this.log(), 'saturn register');
  }

  async #register(node: NodeRegistrar, routes: RegisterRoutes): Promise<void> {
    if (this.state !== 'new') throw ErrNotAllowed.with(`saturn registrar is ${this.state}`);
    const name = node.name();
    if (!name.includes('@')) throw ErrIncorrect.with(`node name ${name} (name@host)`);
    this.state = 'registering';
    this.bindNode(node);
    this.#name = name;
    this.#routes = [...routes.routes];
    for (const r of routes.applicationRoutes) this.#ownApps.set(r.name, { ...r });
    this.#config = new NodeConfig(this.#o.cluster, name);
    let opened;
    // Whether a try ran out of time, and the longest one: the server may still hold that try.
    let timedOut = false;
    let slowest = 0;
    for (let attempt = 1; ; attempt++) {
      const began = performance.now();
      try {
        opened = await Session.open(this.#o, this.#registerMessage(routes.applicationRoutes, routes.proxies));
        break;
      } catch (e) {
        slowest = Math.max(slowest, performance.now() - began);
        // Only a timeout is worth another try: the server (which drops a connection unregistered
        // after 3 s) or this machine was too busy once. A refusal stays a refusal, except a taken
        // name after a timeout: the server may hold our own earlier try until it sees it close.
        const code = (e as { code?: unknown } | null)?.code;
        timedOut ||= code === ErrTimeout.code;
        const again =
          (code === ErrTimeout.code || (code === ErrTaken.code && timedOut)) &&
          attempt < this.#o.registerAttempts &&
          this.state === 'registering';
        if (!again) {
          if (this.state === 'registering') this.state = 'new';
          this.bindNode(null);
          throw e;
        }
        // The back-off, but at least as long as the slowest try took: a server that slow needs
        // that long to catch up (and to let go of a try it registered as we gave up on it).
        const wait = Math.max(Math.min(this.#o.reconnectInterval * attempt, this.#o.reconnectIntervalMax), slowest);
        this.log().warning(
          '(saturn) registering %s: %s (trying again in %d ms, attempt %d of %d)',
          name,
          toError(e).message,
          Math.round(wait),
          attempt + 1,
          this.#o.registerAttempts,
        );
        // Not unref'd: a node start awaits it.
        await new Promise((r) => setTimeout(r, wait));
        if (this.state !== 'registering') throw ErrRegistrarTerminated.with('saturn registrar');
      }
    }
    const { session, result } = opened;
    if (this.state !== 'registering') {
      session.close(); // terminated meanwhile
      throw ErrRegistrarTerminated.with('saturn registrar');
    }
    try {
      this.openEvent(`saturn.event.${session.remote}`);
    } catch (e) {
      session.close();
      this.state = 'new';
      this.bindNode(null);
      throw e;
    }
    this.state = 'registered';
    this.#apply(result, false);
    this.#attach(session);
    this.log().info(
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
      for (const n of nodes) if (!this.#nodes.has(n)) this.publish(new EventNodeJoined(n));
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
    if (this.#session !== session || this.state !== 'registered') return;
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
        this.publish(new EventNodeJoined(n));
      } else if (m instanceof MessageNodeLeft) this.#nodeLeft(m.node as Atom);
      else if (m instanceof MessageRegisterApplicationRoute) this.#appRoute(fromWireApplicationRoute(m.route));
      else if (m instanceof MessageUnregisterApplicationRoute) this.#appGone(m.name as Atom, m.node as Atom);
      else if (m instanceof MessageConfigUpdate) {
        const k = this.#config!.update(m.item, m.value);
        if (k !== null) this.publish(new EventConfigUpdate(k.item, m.value));
      } else this.log().warning('(saturn) unexpected message from the server: %s', describe(m));
    } catch (e) {
      this.log().error('(saturn) cannot handle %s: %s', describe(m), toError(e).message);
    }
  }

  #nodeLeft(n: Atom): void {
    this.#nodes.delete(n);
    for (const [app, byNode] of this.#apps) if (byNode.has(n)) this.#appGone(app, n);
    this.publish(new EventNodeLeft(n));
  }

  #appRoute(r: ApplicationRoute): void {
    if (r.node === this.#name) return;
    let byNode = this.#apps.get(r.name);
    if (byNode === undefined) this.#apps.set(r.name, (byNode = new Map()));
    const known = byNode.has(r.node);
    byNode.set(r.node, r);
    if (r.state === 1) {
      if (known) this.publish(new EventApplicationStopped(r.name, r.node));
      else this.publish(new EventApplicationLoaded(r.name, r.node, r.weight));
    } else if (r.state === 2) this.publish(new EventApplicationStarted(r.name, r.node, r.weight, r.mode));
    else if (r.state === 3) this.publish(new EventApplicationStopping(r.name, r.node));
  }

  #appGone(name: Atom, node: Atom): void {
    const byNode = this.#apps.get(name);
    if (byNode === undefined || !byNode.delete(node)) return;
    if (byNode.size === 0) this.#apps.delete(name);
    this.publish(new EventApplicationUnloaded(name, node));
  }

  // --- losing the server and coming back ----------------------------------------------------

  #lost(session: Session, why: Error): void {
    if (this.#session !== session || this.state !== 'registered') return;
    this.#session = null;
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(ErrNoConnection.with(`saturn connection lost (${why.message})`));
      this.#pending.delete(id);
    }
    this.log().warning(
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
      if (this.state !== 'registered') return;
      // Application routes go separately after the registration: the server relays those to
      // the cluster (the ones inside a registration it only stores).
      Session.open(this.#o, this.#registerMessage([], [])).then(
        ({ session, result }) => {
          if (this.state !== 'registered') return session.close();
          this.#apply(result, true);
          this.#attach(session);
          for (const r of this.#ownApps.values())
            this.#write(new MessageRegisterApplicationRoute({ route: toWireApplicationRoute(r) }));
          this.log().info('(saturn) %s registered again (attempt %d)', this.#name, attempt);
        },
        (e: unknown) => {
          if (this.state !== 'registered') return;
          const msg = toError(e).message;
          if (attempt === 1) this.log().warning('(saturn) registering %s again failed: %s (retrying)', this.#name, msg);
          else this.log().debug('(saturn) registering %s again failed (attempt %d): %s', this.#name, attempt, msg);
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
      this.log().warning('(saturn) message not sent: %s', toError(e).message);
    }
  }

  // --- config -------------------------------------------------------------------------------

  /**
   * Config by priority (highest first): `<cluster>:<node>:<item>`, `<cluster>:*:<item>`,
   * `<node>:<item>`, `*:<item>`, as the server pushed them.
   */
  protected override configValue(item: string): RegistrarConfigValue {
    return this.#config!.effective(item);
  }

  // --- resolving ----------------------------------------------------------------------------

  /** Node routes, by asking the server. */
  protected override async resolveRoutes(name: Atom): Promise<Route[]> {
    const r = await this.#request(name, (id) => new MessageResolve({ id, name }));
    if (!(r instanceof MessageResolveResult))
      throw ErrNoRoute.with(`${name}: the server answered a resolve with a proxy result`);
    if (r.error !== null) throw serverError(r.error, `${name} (saturn cluster ${JSON.stringify(this.#o.cluster)})`);
    return fromWireRoutes(r.routes);
  }

  /** Proxy routes, by asking the server. */
  protected override async resolveProxyRoutes(name: Atom): Promise<ProxyRoute[]> {
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
    this.check();
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
   * Where application `name` is loaded or runs on other nodes, from what the server pushed,
   * highest weight first (the first is the one to start it on).
   * @throws ErgoError ERR_NO_ROUTE when no other node has it.
   */
  protected override async resolveApplicationRoutes(name: Atom): Promise<ApplicationRoute[]> {
    this.check();
    const byNode = this.#apps.get(name);
    return this.rankApplicationRoutes(
      name,
      [...(byNode?.values() ?? [])].map((r) => ({ ...r })),
    );
  }

  /** Other nodes registered in this cluster, as the server last told. */
  override nodes(): Promise<Atom[]> {
    try {
      this.check();
      return Promise.resolve([...this.#nodes]);
    } catch (e) {
      return rejected(e, this.log(), 'saturn nodes');
    }
  }

  // --- application routes -------------------------------------------------------------------

  /** Publishes where an application is and in which state (the server relays it to the cluster). */
  override registerApplicationRoute(route: ApplicationRoute): Promise<void> {
    try {
      this.check();
      const r = { ...route, node: this.#name };
      this.#ownApps.set(r.name, r);
      this.#write(new MessageRegisterApplicationRoute({ route: toWireApplicationRoute(r) }));
      return Promise.resolve();
    } catch (e) {
      return rejected(e, this.log(), 'saturn application route');
    }
  }

  /** Withdraws an application's route. */
  override unregisterApplicationRoute(name: Atom): Promise<void> {
    try {
      this.check();
      this.#ownApps.delete(name);
      this.#write(new MessageUnregisterApplicationRoute({ name, node: this.#name }));
      return Promise.resolve();
    } catch (e) {
      return rejected(e, this.log(), `saturn application route ${name} removal`);
    }
  }

  // --- facts and end ------------------------------------------------------------------------

  /** The address connected to, or host:port. */
  protected override server(): string {
    return this.#session?.remote ?? `${this.#o.host}:${this.#o.port}`;
  }

  /** Closes the connection (the server tells the cluster the node left). Idempotent. */
  override terminate(): void {
    if (this.state === 'terminated') return;
    const was = this.state;
    this.state = 'terminated';
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(ErrRegistrarTerminated.with('saturn registrar'));
    }
    this.#pending.clear();
    this.#session?.close();
    this.#session = null;
    if (was === 'registered') this.closeEvent(); // the node is stopping: its events go with it
    this.log().trace('(saturn) registrar client terminated');
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
