// What every client of an external registrar (etcd, Saturn) shares, on the core's public seams
// only (gen's Registrar and NodeRegistrar): the lifecycle states and the errors each call throws
// in them, the event the registrar owns on its node and the messages it sends there, the
// resolver built from three lookups, config read by priority, and the facts (info, version,
// no proxy registration). A client extends RegistrarClient and writes what is its own: how it
// registers and stays registered, how it learns of the cluster, and how it looks a name up.

import type { Atom } from '../../gen/atom.js';
import {
  ErrNoRoute,
  ErrNotAllowed,
  ErrRegistrarTerminated,
  ErrUnknown,
  ErrUnsupported,
  toError,
} from '../../gen/errors.js';
import { Event } from '../../gen/event.js';
import { ignorable, rejected } from '../../gen/ignorable.js';
import type { Log } from '../../gen/log.js';
import type {
  ApplicationRoute,
  NodeRegistrar,
  ProxyRoute,
  RegisterRoutes,
  Registrar,
  RegistrarInfo,
  Resolver,
  Route,
} from '../../gen/network.js';
import type { Version } from '../../gen/node.js';
import type { Ref } from '../../gen/ref.js';

// --- the messages of a registrar's event ------------------------------------------------------
// Delivered to local subscribers only (neither Ergo registrar registers them with EDF), so they
// are plain classes. When each is sent is the registrar's to say (its package documents it).

/** A node registered in the cluster. */
export class EventNodeJoined {
  constructor(readonly name: Atom) {}
}

/** A node left the cluster: it stopped, or the registrar lost sight of it. */
export class EventNodeLeft {
  constructor(readonly name: Atom) {}
}

/** An application was loaded on `node` (its route is in state Loaded). */
export class EventApplicationLoaded {
  constructor(
    readonly name: Atom,
    readonly node: Atom,
    readonly weight: number,
  ) {}
}

/** An application is running on `node` (`mode`: 1 temporary, 2 transient, 3 permanent). */
export class EventApplicationStarted {
  constructor(
    readonly name: Atom,
    readonly node: Atom,
    readonly weight: number,
    readonly mode: number,
  ) {}
}

/** An application on `node` is stopping. */
export class EventApplicationStopping {
  constructor(
    readonly name: Atom,
    readonly node: Atom,
  ) {}
}

/**
 * An application on `node` stopped. etcd sends it when the route goes away (unloaded, or the
 * node left); Saturn when the route goes back to Loaded (and its own EventApplicationUnloaded
 * when the route goes away).
 */
export class EventApplicationStopped {
  constructor(
    readonly name: Atom,
    readonly node: Atom,
  ) {}
}

/**
 * The effective value of a config item for this node changed (after the registrar's priority
 * rules); `value` is null when no level sets the item any more.
 */
export class EventConfigUpdate {
  constructor(
    readonly item: string,
    readonly value: unknown,
  ) {}
}

/** Any message a {@link RegistrarClient}'s event carries, whatever the registrar. */
export type RegistrarClientEvent =
  | EventNodeJoined
  | EventNodeLeft
  | EventApplicationLoaded
  | EventApplicationStarted
  | EventApplicationStopping
  | EventApplicationStopped
  | EventConfigUpdate;

// --- the client ------------------------------------------------------------------------------

/**
 * Where a {@link RegistrarClient} stands: `new` (constructed, or a register that failed),
 * `registering` (a register under way, for clients that say so), `registered`, `terminated`.
 */
export type RegistrarClientState = 'new' | 'registering' | 'registered' | 'terminated';

/** A config item as a client's levels give it: `found` false when no level sets it. */
export interface RegistrarConfigValue {
  found: boolean;
  value: unknown;
}

/** What a {@link RegistrarClient} is called in errors and log lines, and the version it reports. */
export interface RegistrarClientSpec {
  /** Short name: `etcd` gives "etcd registrar is not registered yet" and log lines "(etcd) …". */
  kind: string;
  /** What {@link RegistrarClient.version} returns (a copy each time). */
  version: Readonly<Version>;
}

const noop = (): void => undefined;
/** Log used before a node is known. */
const silentLog = new Proxy({} as Log, { get: () => noop });

/**
 * The base of a client of an external registrar (`network.registrar`): the etcd and Saturn
 * registrars extend it. Lifecycle: construct (connects nothing) → the node's network calls
 * `register` once (the subclass binds the node with {@link RegistrarClient.bindNode}, opens the
 * event with {@link RegistrarClient.openEvent} and sets `state` to `registered`) → `resolver()`,
 * `nodes()`, `config*()`, `event()` while registered → `terminate()` (idempotent; sets `state` to
 * `terminated`). Every call made before `register` completes rejects (or throws, for `event()`)
 * with ErrNotAllowed, every call after `terminate` with ErrRegistrarTerminated. Promises it hands
 * out are `ignorable` (ergo-ts): a failure is logged at debug on the node's log.
 */
export abstract class RegistrarClient implements Registrar {
  readonly #kind: string;
  readonly #version: Readonly<Version>;
  #state: RegistrarClientState = 'new';
  #node: NodeRegistrar | null = null;
  #event: Event | null = null;
  #token: Ref | null = null;

  /** @param spec what the client is called and the version it reports. */
  protected constructor(spec: RegistrarClientSpec) {
    this.#kind = spec.kind;
    this.#version = spec.version;
  }

  // --- what a client writes itself -------------------------------------------------------------

  /**
   * Registers the node and its routes with the registrar server; see the subclass for what it
   * throws. A second call, or one after `terminate`, rejects with ErrNotAllowed.
   */
  abstract register(node: NodeRegistrar, routes: RegisterRoutes): Promise<void>;
  /** Other nodes registered in the cluster. */
  abstract nodes(): Promise<Atom[]>;
  /** Publishes where an application is and in which state. */
  abstract registerApplicationRoute(route: ApplicationRoute): Promise<void>;
  /** Withdraws an application's route. */
  abstract unregisterApplicationRoute(name: Atom): Promise<void>;
  /** Leaves the registrar (idempotent); the subclass sets `state` to `terminated` first. */
  abstract terminate(): void;
  /** The server address {@link RegistrarClient.info} reports. */
  protected abstract server(): string;
  /** Routes to node `name` (the resolver's `resolve`); rejects with ErrNoRoute when unknown. */
  protected abstract resolveRoutes(name: Atom): Promise<Route[]>;
  /**
   * Where application `name` is loaded or runs on other nodes (the resolver's
   * `resolveApplication`); {@link RegistrarClient.rankApplicationRoutes} orders them.
   */
  protected abstract resolveApplicationRoutes(name: Atom): Promise<ApplicationRoute[]>;
  /** Config item `item` as the client's levels give it (called only while registered). */
  protected abstract configValue(item: string): RegistrarConfigValue;

  /**
   * Proxy routes to node `name` (the resolver's `resolveProxy`). This base knows none: it rejects
   * with ErrNoRoute; a client whose server stores proxy routes overrides it.
   */
  protected resolveProxyRoutes(name: Atom): Promise<ProxyRoute[]> {
    return Promise.reject(ErrNoRoute.with(`proxy to ${name}`));
  }

  // --- state, node and log, for the subclass ---------------------------------------------------

  /** Where the client stands; the subclass moves it (register, terminate). */
  protected get state(): RegistrarClientState {
    return this.#state;
  }

  protected set state(s: RegistrarClientState) {
    this.#state = s;
  }

  /** The node registering (null before `register` and after a register that failed). */
  protected get node(): NodeRegistrar | null {
    return this.#node;
  }

  /** Binds the node a register is for (null: a failed register lets it go). */
  protected bindNode(node: NodeRegistrar | null): void {
    this.#node = node;
  }

  /** The node's log; a silent one before a node is bound. */
  protected log(): Log {
    return this.#node?.log() ?? silentLog;
  }

  /**
   * Throws unless registered.
   * @throws ErgoError ERR_REGISTRAR_TERMINATED after `terminate`, ERR_NOT_ALLOWED before `register`.
   */
  protected check(): void {
    if (this.#state === 'terminated') throw ErrRegistrarTerminated.with(`${this.#kind} registrar`);
    if (this.#state !== 'registered') throw ErrNotAllowed.with(`${this.#kind} registrar is not registered yet`);
  }

  // --- the event -------------------------------------------------------------------------------

  /**
   * Registers the event `name`, owned by the bound node, that {@link RegistrarClient.publish}
   * sends to. Call it once per register, after {@link RegistrarClient.bindNode}.
   * @throws what `NodeRegistrar.registerEvent` throws (ErrTaken, ErrNodeTerminated); the event is
   *   then not open.
   */
  protected openEvent(name: string): void {
    const node = this.#node;
    if (node === null) throw ErrNotAllowed.with(`${this.#kind} registrar has no node to own its event`);
    this.#token = node.registerEvent(name);
    this.#event = new Event(name as Atom, node.name());
  }

  /** Unregisters the event, if open (best effort: a stopping node drops its events anyway). */
  protected closeEvent(): void {
    const event = this.#event;
    const opened = this.#token !== null;
    this.#token = null;
    this.#event = null;
    if (!opened || event === null) return;
    try {
      this.#node?.unregisterEvent(event.name);
    } catch {
      // the node is going away anyway
    }
  }

  /** Sends `message` to the event's subscribers; nothing while the event is not open. Never throws. */
  protected publish(message: unknown): void {
    const node = this.#node;
    if (node === null || this.#token === null || this.#event === null) return;
    try {
      node.sendEvent(this.#event.name, this.#token, message);
    } catch (e) {
      this.log().debug('(%s) event not sent: %s', this.#kind, toError(e).message);
    }
  }

  /**
   * The registrar's event (owned by the node; its name is the registrar's own): link or monitor it
   * to receive {@link EventNodeJoined} and the other messages of {@link RegistrarClientEvent}.
   * @throws ErgoError ERR_NOT_ALLOWED before `register`, ERR_REGISTRAR_TERMINATED after `terminate`.
   */
  event(): Event {
    this.check();
    return this.#event!;
  }

  // --- resolving -------------------------------------------------------------------------------

  /**
   * The resolver: node routes ({@link RegistrarClient.resolveRoutes}), application routes and
   * proxy routes, each Promise `ignorable` (ergo-ts). Usable while registered; its calls reject with
   * the errors of {@link RegistrarClient.check} otherwise.
   */
  resolver(): Resolver {
    const kind = this.#kind;
    return {
      resolve: (name) => ignorable(this.resolveRoutes(name), this.log(), `${kind} resolve ${name}`),
      resolveApplication: (name) =>
        ignorable(this.resolveApplicationRoutes(name), this.log(), `${kind} resolve application ${name}`),
      resolveProxy: (name) => ignorable(this.resolveProxyRoutes(name), this.log(), `${kind} resolve proxy ${name}`),
    };
  }

  /**
   * `routes` of application `name`, highest weight first (the first is the one to start it on).
   * Sorts `routes` in place and returns it.
   * @throws ErgoError ERR_NO_ROUTE when `routes` is empty (no other node has it).
   */
  protected rankApplicationRoutes(name: Atom, routes: ApplicationRoute[]): ApplicationRoute[] {
    if (routes.length === 0) throw ErrNoRoute.with(`application ${name}`);
    return routes.sort((a, b) => b.weight - a.weight);
  }

  // --- config ----------------------------------------------------------------------------------

  /**
   * One config item, by the registrar's priority of levels.
   * @throws ErgoError ERR_UNKNOWN (no level sets it), ERR_REGISTRAR_TERMINATED, ERR_NOT_ALLOWED (before register).
   */
  configItem(item: string): Promise<unknown> {
    try {
      this.check();
      const v = this.configValue(item);
      if (!v.found) throw ErrUnknown.with(`config item ${item}`);
      return Promise.resolve(v.value);
    } catch (e) {
      return rejected(e, this.log(), `${this.#kind} config item ${item}`);
    }
  }

  /**
   * The items that some level sets, among `items` (missing ones are left out).
   * @throws ErgoError ERR_REGISTRAR_TERMINATED, ERR_NOT_ALLOWED (before register).
   */
  config(...items: string[]): Promise<Map<string, unknown>> {
    try {
      this.check();
      const out = new Map<string, unknown>();
      for (const i of items) {
        const v = this.configValue(i);
        if (v.found) out.set(i, v.value);
      }
      return Promise.resolve(out);
    } catch (e) {
      return rejected(e, this.log(), `${this.#kind} config`);
    }
  }

  // --- facts -----------------------------------------------------------------------------------

  /** @throws ErgoError ERR_UNSUPPORTED always (the client's server does not store proxy routes). */
  registerProxy(_to: Atom): Promise<void> {
    return rejected(this.#noProxies(), this.log(), 'registerProxy');
  }

  /** @throws ErgoError ERR_UNSUPPORTED always. */
  unregisterProxy(_to: Atom): Promise<void> {
    return rejected(this.#noProxies(), this.log(), 'unregisterProxy');
  }

  #noProxies(): Error {
    return ErrUnsupported.with(`the ${this.#kind} registrar does not register proxies`);
  }

  /**
   * Facts about this registrar: {@link RegistrarClient.server}, not embedded, config, events and
   * application routes supported, proxy registration not.
   */
  info(): RegistrarInfo {
    return {
      server: this.server(),
      embeddedServer: false,
      version: this.version(),
      supportConfig: true,
      supportEvent: true,
      supportRegisterProxy: false,
      supportRegisterApplication: true,
    };
  }

  /** The version given at construction (a copy). */
  version(): Version {
    return { ...this.#version };
  }
}
