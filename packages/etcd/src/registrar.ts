// The etcd registrar (Ergo's `registrar/etcd`, "ETCD Client" R1) on the npm `etcd3` client. A
// node registers its routes under `services/ergo/cluster/<cluster>/routes/nodes/<node>` on a
// lease (kill -9 → the key expires with the lease), publishes its application routes on the same
// lease, reads its cluster config (four levels), and watches `services/ergo` to tell local
// subscribers of its event who joined, left, loaded or started what, and which config changed.
// When etcd goes away for longer than the lease, the registrar takes its name again with a new
// lease once etcd is back (the old key is taken over only if it still carries the old lease),
// and the watch resumes where it stopped. Nothing the client does can end the OS process: every
// etcd3/gRPC failure ends up in a log line or a rejected call of the caller.

import {
  ErrIncorrect,
  ErrNoConnection,
  ErrNoRoute,
  ErrNotAllowed,
  ErrRegistrarTerminated,
  ErrTaken,
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
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { Etcd3, type IKeyValue, type IOptions, type Lease, type Watcher } from 'etcd3';
import {
  clusterPaths,
  decodeApplicationRoute,
  decodeRoutes,
  encodeApplicationRoute,
  encodeRoutes,
  parseConfigValue,
  PATH_PREFIX,
  type ClusterPaths,
} from './codec.js';
import {
  EventApplicationLoaded,
  EventApplicationStarted,
  EventApplicationStopped,
  EventApplicationStopping,
  EventConfigUpdate,
  EventNodeJoined,
  EventNodeLeft,
} from './events.js';

/** The registrar's version (Ergo's: `ETCD Client`, release R1, MIT). */
export const ETCD_REGISTRAR_VERSION: Readonly<Version> = Object.freeze({
  name: 'ETCD Client',
  release: 'R1',
  license: 'MIT',
});

/** Options of {@link EtcdRegistrar} (Ergo's `etcd.Options`; times in milliseconds, TTL in seconds). */
export interface EtcdRegistrarOptions {
  /** Cluster name: nodes see only their cluster's nodes and applications. Default "default". */
  cluster?: string;
  /** etcd endpoints, `host:port` or `http(s)://host:port`. Default `['localhost:2379']`. */
  endpoints?: string[];
  /** etcd user (used only when `password` is set too). */
  username?: string;
  password?: string;
  /** TLS to etcd: PEM CA (and client key/cert for mutual TLS). Endpoints without a scheme get https. */
  tls?: { ca: string | Buffer; key?: string | Buffer; cert?: string | Buffer };
  /** How long to wait for a connection to etcd. Default 10 000 ms. */
  dialTimeout?: number;
  /** Deadline of one etcd request (get, put, transaction). Default 10 000 ms. */
  requestTimeout?: number;
  /** gRPC keepalive time and timeout. Default LeaseTTL/3, at least 5 000 ms (etcd refuses faster pings). */
  keepAlive?: number;
  /** Lease TTL in seconds: a node killed without a goodbye disappears within it. Default 10. */
  leaseTTL?: number;
  /**
   * Re-registration back-off after the lease was lost: attempt n waits `retryInterval × n`,
   * at most `retryIntervalMax`. Defaults 5 000 and 30 000 ms (Ergo's).
   */
  retryInterval?: number;
  retryIntervalMax?: number;
}

/** Defaults of {@link EtcdRegistrarOptions}. */
export const ETCD_REGISTRAR_DEFAULTS = Object.freeze({
  cluster: 'default',
  endpoints: Object.freeze(['localhost:2379']),
  dialTimeout: 10_000,
  requestTimeout: 10_000,
  leaseTTL: 10,
  retryInterval: 5_000,
  retryIntervalMax: 30_000,
});

/** gRPC message limits (Ergo's client: 2 MiB send, 4 MiB receive). */
const MAX_SEND = 2 * 1024 * 1024;
const MAX_RECEIVE = 4 * 1024 * 1024;

/**
 * The etcd registrar: pass it as `network.registrar`. Lifecycle: construct (checks options,
 * connects nothing) → the node's network calls `register` once (rejects with ErrTaken when a
 * live node holds the name; the node does not start) → `resolver()`, `nodes()`, `config*()`,
 * `event()` while registered → `terminate()` (idempotent) revokes the lease, which deletes the
 * node's keys at once, and closes the client. After `terminate` every call rejects with
 * ErrRegistrarTerminated.
 */
export class EtcdRegistrar implements Registrar {
  readonly #o: Required<Omit<EtcdRegistrarOptions, 'username' | 'password' | 'tls' | 'keepAlive'>> &
    Pick<EtcdRegistrarOptions, 'username' | 'password' | 'tls' | 'keepAlive'>;
  readonly #paths: ClusterPaths;
  #client: Etcd3 | null = null;
  #node: NodeRegistrar | null = null;
  #name = '' as Atom;
  #value = '';
  #lease: Lease | null = null;
  #leaseID = '';
  #watcher: Watcher | null = null;
  #event: Event | null = null;
  #token: Ref | null = null;
  readonly #apps = new Map<Atom, ApplicationRoute>();
  /** Puts of one application's route, in order (load → start → stop must not overtake). */
  readonly #appQueue = new Map<Atom, Promise<void>>();
  readonly #config = new Map<string, unknown>();
  #state: 'new' | 'registered' | 'terminated' = 'new';
  #reregistering = false;
  #etcdDown = false;
  #retryTimer: NodeJS.Timeout | null = null;
  #wake: (() => void) | null = null;

  /** @throws ErgoError ERR_INCORRECT for an option out of range or of the wrong type. */
  constructor(options: EtcdRegistrarOptions = {}) {
    const d = ETCD_REGISTRAR_DEFAULTS;
    const cluster = options.cluster ?? d.cluster;
    if (typeof cluster !== 'string' || cluster === '' || cluster.includes('/'))
      throw ErrIncorrect.with(`etcd cluster ${JSON.stringify(cluster)} (a non-empty name without '/')`);
    const endpoints = options.endpoints ?? [...d.endpoints];
    if (!Array.isArray(endpoints) || endpoints.length === 0 || endpoints.some((e) => typeof e !== 'string' || e === ''))
      throw ErrIncorrect.with('etcd endpoints must be a non-empty array of host:port strings');
    this.#o = {
      cluster,
      endpoints,
      username: options.username,
      password: options.password,
      tls: options.tls,
      dialTimeout: positive('dialTimeout', options.dialTimeout, d.dialTimeout),
      requestTimeout: positive('requestTimeout', options.requestTimeout, d.requestTimeout),
      keepAlive: options.keepAlive === undefined ? undefined : positive('keepAlive', options.keepAlive, 0),
      leaseTTL: positive('leaseTTL', options.leaseTTL, d.leaseTTL),
      retryInterval: positive('retryInterval', options.retryInterval, d.retryInterval),
      retryIntervalMax: positive('retryIntervalMax', options.retryIntervalMax, d.retryIntervalMax),
    };
    this.#paths = clusterPaths(cluster);
  }

  /** The cluster this registrar serves. */
  cluster(): string {
    return this.#o.cluster;
  }

  // --- registration -------------------------------------------------------------------------

  /**
   * Registers the node: grants a lease, creates the node key if no one holds it, puts the
   * application routes, registers the event, loads the config and starts the watch.
   * @throws ErgoError ERR_TAKEN (a live node holds the name in this cluster), ERR_NO_CONNECTION
   *   (etcd unreachable within `dialTimeout`/`requestTimeout`), ERR_INCORRECT (bad node name),
   *   ERR_NOT_ALLOWED (registered already, or terminated).
   */
  register(node: NodeRegistrar, routes: RegisterRoutes): Promise<void> {
    const p = this.#register(node, routes);
    return ignorable(p, this.#log(), 'etcd register');
  }

  async #register(node: NodeRegistrar, routes: RegisterRoutes): Promise<void> {
    if (this.#state !== 'new') throw ErrNotAllowed.with(`etcd registrar is ${this.#state}`);
    const name = node.name();
    if (!name.includes('@') || name.includes('/')) throw ErrIncorrect.with(`node name ${name} (name@host, no '/')`);
    this.#state = 'registered';
    this.#node = node;
    this.#name = name;
    this.#value = encodeRoutes(routes.routes);
    for (const r of routes.applicationRoutes) this.#apps.set(r.name, { ...r });
    this.#client = new Etcd3(this.#clientOptions());
    try {
      await this.#claim('');
      this.#event = new Event(this.#paths.routes as Atom, name);
      this.#token = node.registerEvent(this.#paths.routes);
      // The watch is up before the config is read: no change can fall between the two.
      await within(this.#watch(), this.#o.requestTimeout, 'etcd watch not confirmed');
      await this.#loadConfig();
    } catch (e) {
      this.#state = 'new';
      this.#node = null;
      const lease = this.#lease;
      this.#lease = null;
      if (this.#token !== null) {
        try {
          node.unregisterEvent(this.#paths.routes);
        } catch {
          // the node is going away anyway
        }
      }
      this.#token = null;
      this.#event = null;
      await lease?.revoke().catch(() => undefined);
      this.#client.close();
      this.#client = null;
      throw isErgoError(e) ? e : ErrNoConnection.with(`etcd ${this.#o.endpoints.join(',')}: ${toError(e).message}`, e);
    }
    this.#log().info(
      '(etcd) registered %s in cluster %s (lease %s, TTL %d s)',
      name,
      this.#o.cluster,
      this.#leaseID,
      this.#o.leaseTTL,
    );
  }

  #clientOptions(): IOptions {
    const o = this.#o;
    const scheme = o.tls !== undefined ? 'https://' : 'http://';
    const keepAlive = o.keepAlive ?? Math.max(5000, Math.floor((o.leaseTTL * 1000) / 3));
    const opts: IOptions = {
      hosts: o.endpoints.map((e) => (/^https?:\/\//.test(e) ? e : scheme + e)),
      dialTimeout: o.dialTimeout,
      grpcOptions: {
        'grpc.max_send_message_length': MAX_SEND,
        'grpc.max_receive_message_length': MAX_RECEIVE,
        'grpc.keepalive_time_ms': keepAlive,
        'grpc.keepalive_timeout_ms': keepAlive,
      },
      // Streams (watch, keepalive) live on; one request gets requestTimeout.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + o.requestTimeout }),
      // The watch comes back soon after etcd does (etcd3's default waits up to 30 s).
      // (etcd3 types it as a backoff but calls it as the factory its own default is.)
      faultHandling: {
        watchBackoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 2000 }) as unknown as IBackoff<unknown>,
      },
    };
    if (o.username !== undefined && o.username !== '' && o.password !== undefined && o.password !== '')
      opts.auth = { username: o.username, password: o.password };
    if (o.tls !== undefined)
      opts.credentials = {
        rootCertificate: Buffer.from(o.tls.ca),
        privateKey: o.tls.key !== undefined ? Buffer.from(o.tls.key) : undefined,
        certChain: o.tls.cert !== undefined ? Buffer.from(o.tls.cert) : undefined,
      };
    return opts;
  }

  /**
   * Takes the node key with a fresh lease: create it if absent, or (re-registration) take it
   * over if it still carries `oldLease`; then puts the application routes on the new lease.
   * @throws ErrTaken when another live node holds the name.
   */
  async #claim(oldLease: string): Promise<void> {
    const c = this.#client!;
    const key = this.#paths.nodes + this.#name;
    const lease = c.lease(this.#o.leaseTTL, { autoKeepAlive: true });
    lease.on('lost', (err) => this.#lost(lease, err));
    let id: string;
    try {
      id = await lease.grant();
      let r = await c.if(key, 'Create', '==', 0).then(c.put(key).value(this.#value).lease(id)).commit();
      if (!r.succeeded && oldLease !== '')
        r = await c.if(key, 'Lease', '==', oldLease).then(c.put(key).value(this.#value).lease(id)).commit();
      if (!r.succeeded) throw ErrTaken.with(`node ${this.#name} is registered in etcd cluster ${this.#o.cluster}`);
    } catch (e) {
      await lease.revoke().catch(() => undefined);
      throw e;
    }
    const old = this.#lease;
    this.#lease = lease;
    this.#leaseID = id;
    // Application routes move to the new lease before the old one goes (revoking it first would
    // delete them: every subscriber would see them stop and come back).
    for (const r of this.#apps.values()) await c.put(this.#appKey(r.name)).value(encodeApplicationRoute(r)).lease(id);
    if (old !== null) await old.revoke().catch(() => undefined);
  }

  /** The lease is gone (etcd said so, or etcd was unreachable for 2 × TTL): take the name again. */
  #lost(lease: Lease, err: Error): void {
    if (this.#state !== 'registered' || lease !== this.#lease || this.#reregistering) return;
    this.#log().warning('(etcd) lease of %s lost (%s): registering again once etcd answers', this.#name, err.message);
    this.#reregistering = true;
    void this.#reregister().finally(() => {
      this.#reregistering = false;
    });
  }

  async #reregister(): Promise<void> {
    const oldID = this.#leaseID;
    for (let attempt = 1; this.#state === 'registered'; attempt++) {
      try {
        await this.#claim(oldID);
        this.#log().info('(etcd) %s registered again (lease %s, attempt %d)', this.#name, this.#leaseID, attempt);
        return;
      } catch (e) {
        if (this.#state !== 'registered') return;
        const msg = toError(e).message;
        // Once per outage at warning level; the retries at debug (an outage must not flood the log).
        if (attempt === 1) this.#log().warning('(etcd) registering %s again failed: %s (retrying)', this.#name, msg);
        else this.#log().debug('(etcd) registering %s again failed (attempt %d): %s', this.#name, attempt, msg);
      }
      await this.#sleep(Math.min(this.#o.retryInterval * attempt, this.#o.retryIntervalMax));
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#retryTimer = setTimeout(resolve, ms);
      this.#retryTimer.unref();
    });
  }

  // --- watch --------------------------------------------------------------------------------

  /**
   * One watch on `services/ergo` (every cluster; others are filtered by path), as Ergo. Resolves
   * once etcd confirmed it (register waits for that); a failure to start is retried here.
   */
  #watch(): Promise<void> {
    const c = this.#client;
    if (c === null || this.#state !== 'registered') return Promise.resolve();
    return c
      .watch()
      .prefix(PATH_PREFIX)
      .create()
      .then(
        (w) => {
          if (this.#state !== 'registered') {
            w.cancel().catch(() => undefined);
            return;
          }
          this.#watcher = w;
          w.on('put', (kv) => this.#onKey('put', kv));
          w.on('delete', (kv) => this.#onKey('delete', kv));
          w.on('disconnected', (err) => {
            if (this.#etcdDown || this.#state !== 'registered') return;
            this.#etcdDown = true;
            this.#log().warning('(etcd) etcd unreachable (%s): the watch resumes when it is back', err.message);
          });
          w.on('connected', () => {
            if (!this.#etcdDown) return;
            this.#etcdDown = false;
            this.#log().info('(etcd) etcd reachable again');
          });
          // A cancelled watch (compaction past our revision...): watch again from now, reload config.
          w.on('error', (err) => {
            if (this.#state !== 'registered' || this.#watcher !== w) return;
            this.#log().warning('(etcd) watch failed (%s): watching again', err.message);
            this.#watcher = null;
            w.cancel().catch(() => undefined);
            void this.#watch()
              .then(
                () => this.#loadConfig(),
                () => undefined,
              )
              .catch((e: unknown) => this.#log().warning('(etcd) config not reloaded: %s', toError(e).message));
          });
        },
        (err: unknown) => {
          if (this.#state !== 'registered') return;
          this.#log().warning('(etcd) watch not started (%s): retrying', toError(err).message);
          const t = setTimeout(() => void this.#watch(), this.#o.retryInterval);
          t.unref();
        },
      );
  }

  #onKey(type: 'put' | 'delete', kv: IKeyValue): void {
    if (this.#state !== 'registered') return;
    const key = kv.key.toString();
    try {
      if (key.startsWith(this.#paths.nodes)) this.#onNode(type, key.slice(this.#paths.nodes.length) as Atom);
      else if (key.startsWith(this.#paths.applications))
        this.#onApplication(type, key.slice(this.#paths.applications.length), kv);
      else if (key.startsWith(this.#paths.config))
        this.#onConfig(type, key.slice(this.#paths.config.length), 'cluster', kv);
      else if (key.startsWith(this.#paths.globalConfig))
        this.#onConfig(type, key.slice(this.#paths.globalConfig.length), 'global', kv);
      // Keys of other clusters: not ours.
    } catch (e) {
      this.#log().error('(etcd) cannot handle %s of %s: %s', type, key, toError(e).message);
    }
  }

  #onNode(type: 'put' | 'delete', name: Atom): void {
    if (name === this.#name) return;
    this.#send(type === 'put' ? new EventNodeJoined(name) : new EventNodeLeft(name));
  }

  #onApplication(type: 'put' | 'delete', rest: string, kv: IKeyValue): void {
    const parts = rest.split('/');
    if (parts.length !== 2) {
      this.#log().warning('(etcd) invalid application key %s', rest);
      return;
    }
    const [app, node] = parts as [Atom, Atom];
    if (type === 'delete') {
      this.#send(new EventApplicationStopped(app, node));
      return;
    }
    const r = decodeApplicationRoute(kv.value);
    if (r.state === 1) this.#send(new EventApplicationLoaded(app, node, r.weight));
    else if (r.state === 2) this.#send(new EventApplicationStarted(app, node, r.weight, r.mode));
    else if (r.state === 3) this.#send(new EventApplicationStopping(app, node));
  }

  #send(message: unknown): void {
    const node = this.#node;
    if (node === null || this.#token === null) return;
    try {
      node.sendEvent(this.#paths.routes, this.#token, message);
    } catch (e) {
      this.#log().debug('(etcd) event not sent: %s', toError(e).message);
    }
  }

  // --- config -------------------------------------------------------------------------------

  /**
   * The item `key` sets for this node, or null: below the cluster's config path `<node>/<item>`
   * or `*\/<item>`; below the global one `global/<item>` or `<cluster>/<node>/<item>`.
   */
  #relevant(key: string, scope: 'cluster' | 'global'): string | null {
    const parts = key.split('/');
    if (parts.some((p) => p === '')) return null;
    if (scope === 'cluster')
      return parts.length === 2 && (parts[0] === this.#name || parts[0] === '*') ? parts[1]! : null;
    if (parts.length === 2) return parts[0] === 'global' ? parts[1]! : null;
    return parts.length === 3 && parts[0] === this.#o.cluster && parts[1] === this.#name ? parts[2]! : null;
  }

  async #loadConfig(): Promise<void> {
    const c = this.#client!;
    const fresh = new Map<string, unknown>();
    for (const [path, scope] of [
      [this.#paths.config, 'cluster'],
      [this.#paths.globalConfig, 'global'],
    ] as const) {
      const all = await c.getAll().prefix(path).strings();
      for (const [k, v] of Object.entries(all)) {
        const rest = k.slice(path.length);
        if (this.#relevant(rest, scope) === null) {
          if (!isOtherNodeKey(rest)) this.#log().debug('(etcd) config key %s%s skipped', path, rest);
          continue;
        }
        fresh.set(rest, parseConfigValue(v));
      }
    }
    this.#config.clear();
    for (const [k, v] of fresh) this.#config.set(k, v);
  }

  #onConfig(type: 'put' | 'delete', rest: string, scope: 'cluster' | 'global', kv: IKeyValue): void {
    const item = this.#relevant(rest, scope);
    if (item === null) return;
    const before = this.#effective(item);
    if (type === 'put') this.#config.set(rest, parseConfigValue(kv.value.toString()));
    else this.#config.delete(rest);
    const after = this.#effective(item);
    if (before.found === after.found && Object.is(before.value, after.value)) return;
    this.#send(new EventConfigUpdate(item, after.found ? after.value : null));
  }

  /** The value of `item` by priority: cluster/node, node, `*`, global. */
  #effective(item: string): { found: boolean; value: unknown } {
    for (const k of [
      `${this.#o.cluster}/${this.#name}/${item}`,
      `${this.#name}/${item}`,
      `*/${item}`,
      `global/${item}`,
    ])
      if (this.#config.has(k)) return { found: true, value: this.#config.get(k) };
    return { found: false, value: undefined };
  }

  /**
   * One config item, by priority (highest first): `services/ergo/config/<cluster>/<node>/<item>`,
   * `…/cluster/<cluster>/config/<node>/<item>`, `…/cluster/<cluster>/config/*\/<item>`,
   * `services/ergo/config/global/<item>`. Values with `int:`/`float:`/`bool:` are converted.
   * @throws ErgoError ERR_UNKNOWN (no level sets it), ERR_REGISTRAR_TERMINATED, ERR_NOT_ALLOWED (before register).
   */
  configItem(item: string): Promise<unknown> {
    return ignorable(this.#configItem(item), this.#log(), `etcd config item ${item}`);
  }

  async #configItem(item: string): Promise<unknown> {
    this.#check();
    const v = this.#effective(item);
    if (!v.found) throw ErrUnknown.with(`config item ${item}`);
    return v.value;
  }

  /** The items that some level sets, among `items` (missing ones are left out). */
  config(...items: string[]): Promise<Map<string, unknown>> {
    return ignorable(this.#configItems(items), this.#log(), 'etcd config');
  }

  async #configItems(items: string[]): Promise<Map<string, unknown>> {
    this.#check();
    const out = new Map<string, unknown>();
    for (const i of items) {
      const v = this.#effective(i);
      if (v.found) out.set(i, v.value);
    }
    return out;
  }

  // --- resolving ----------------------------------------------------------------------------

  /** The resolver: node routes and application routes from etcd (proxies: none). */
  resolver(): Resolver {
    return {
      resolve: (name) => ignorable(this.#resolve(name), this.#log(), `etcd resolve ${name}`),
      resolveApplication: (name) =>
        ignorable(this.#resolveApplication(name), this.#log(), `etcd resolve application ${name}`),
      resolveProxy: (name): Promise<ProxyRoute[]> =>
        rejected(ErrNoRoute.with(`proxy to ${name}`), this.#log(), 'etcd resolve proxy'),
    };
  }

  async #resolve(name: Atom): Promise<Route[]> {
    const c = this.#clientOrThrow();
    const v = await c.get(this.#paths.nodes + name).string();
    if (v === null) throw ErrNoRoute.with(`${name} (not registered in etcd cluster ${this.#o.cluster})`);
    return decodeRoutes(v);
  }

  /**
   * Where application `name` is loaded or runs on other nodes, highest weight first (the first
   * is the one to start it on). Unlike Ergo, the lookup ends with `/`: `web` does not match `webapi`.
   * @throws ErgoError ERR_NO_ROUTE when no other node has it.
   */
  async #resolveApplication(name: Atom): Promise<ApplicationRoute[]> {
    const c = this.#clientOrThrow();
    const all = await c.getAll().prefix(`${this.#paths.applications}${name}/`).strings();
    const out: ApplicationRoute[] = [];
    for (const [k, v] of Object.entries(all)) {
      try {
        const r = decodeApplicationRoute(v);
        if (r.node !== this.#name) out.push(r);
      } catch (e) {
        this.#log().error('(etcd) bad application route %s: %s', k, toError(e).message);
      }
    }
    if (out.length === 0) throw ErrNoRoute.with(`application ${name}`);
    return out.sort((a, b) => b.weight - a.weight);
  }

  /** Other nodes registered in this cluster. */
  nodes(): Promise<Atom[]> {
    return ignorable(this.#nodes(), this.#log(), 'etcd nodes');
  }

  async #nodes(): Promise<Atom[]> {
    const c = this.#clientOrThrow();
    const keys = await c.getAll().prefix(this.#paths.nodes).keys();
    return keys.map((k) => k.slice(this.#paths.nodes.length) as Atom).filter((n) => n !== this.#name);
  }

  // --- application routes -------------------------------------------------------------------

  /** Publishes (puts, on the node's lease) where an application is and in which state. */
  registerApplicationRoute(route: ApplicationRoute): Promise<void> {
    try {
      this.#check();
      const r = { ...route };
      this.#apps.set(r.name, r);
      const put = this.#queue(r.name, async (c) => {
        await c.put(this.#appKey(r.name)).value(encodeApplicationRoute(r)).lease(this.#leaseID);
      });
      return ignorable(put, this.#log(), `etcd application route ${r.name}`);
    } catch (e) {
      return rejected(e, this.#log(), 'etcd application route');
    }
  }

  /** Withdraws an application's route (deletes the key: subscribers see it stop). */
  unregisterApplicationRoute(name: Atom): Promise<void> {
    try {
      this.#check();
      this.#apps.delete(name);
      const del = this.#queue(name, async (c) => {
        await c.delete().key(this.#appKey(name));
      });
      return ignorable(del, this.#log(), `etcd application route ${name} removal`);
    } catch (e) {
      return rejected(e, this.#log(), `etcd application route ${name} removal`);
    }
  }

  #queue(name: Atom, fn: (c: Etcd3) => Promise<void>): Promise<void> {
    const c = this.#clientOrThrow();
    const prev = this.#appQueue.get(name) ?? Promise.resolve();
    const next = prev.then(() => fn(c));
    const tail = next.catch(() => undefined);
    this.#appQueue.set(name, tail);
    void tail.then(() => {
      if (this.#appQueue.get(name) === tail) this.#appQueue.delete(name);
    });
    return next;
  }

  #appKey(name: Atom): string {
    return `${this.#paths.applications}${name}/${this.#name}`;
  }

  /** @throws ErgoError ERR_UNSUPPORTED always (Ergo's etcd registrar has no proxies). */
  registerProxy(_to: Atom): Promise<void> {
    return rejected(ErrUnsupported.with('the etcd registrar does not register proxies'), this.#log(), 'registerProxy');
  }
  /** @throws ErgoError ERR_UNSUPPORTED always. */
  unregisterProxy(_to: Atom): Promise<void> {
    return rejected(
      ErrUnsupported.with('the etcd registrar does not register proxies'),
      this.#log(),
      'unregisterProxy',
    );
  }

  // --- facts and end ------------------------------------------------------------------------

  /**
   * The registrar's event (named `services/ergo/cluster/<cluster>/routes/`, owned by the node):
   * link or monitor it to receive {@link EventNodeJoined} and the other messages of events.ts.
   * @throws ErgoError ERR_NOT_ALLOWED before `register`, ERR_REGISTRAR_TERMINATED after `terminate`.
   */
  event(): Event {
    this.#check();
    return this.#event!;
  }

  info(): RegistrarInfo {
    return {
      server: this.#o.endpoints.join(','),
      embeddedServer: false,
      version: this.version(),
      supportConfig: true,
      supportEvent: true,
      supportRegisterProxy: false,
      supportRegisterApplication: true,
    };
  }

  version(): Version {
    return { ...ETCD_REGISTRAR_VERSION };
  }

  /** Revokes the lease (deleting the node's keys; at most 5 s) and closes the client. Idempotent. */
  terminate(): void {
    if (this.#state === 'terminated') return;
    const was = this.#state;
    this.#state = 'terminated';
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#wake?.();
    const c = this.#client;
    if (c === null || was !== 'registered') {
      c?.close();
      return;
    }
    const w = this.#watcher;
    this.#watcher = null;
    const lease = this.#lease;
    this.#lease = null;
    const log = this.#log();
    const done = (): void => {
      c.close();
      log.trace('(etcd) registrar client terminated');
    };
    const revoke = lease === null ? Promise.resolve() : lease.revoke({ deadline: Date.now() + 5000 });
    void Promise.all([w?.cancel().catch(() => undefined), revoke]).then(done, (e: unknown) => {
      log.warning('(etcd) lease not revoked (%s): the node key expires with its TTL', toError(e).message);
      done();
    });
  }

  #check(): void {
    if (this.#state === 'terminated') throw ErrRegistrarTerminated.with('etcd registrar');
    if (this.#state !== 'registered') throw ErrNotAllowed.with('etcd registrar is not registered yet');
  }

  #clientOrThrow(): Etcd3 {
    this.#check();
    return this.#client!;
  }

  #log(): Log {
    return this.#node?.log() ?? silentLog;
  }
}

/** `<otherNode>/<item>` or `<cluster>/<otherNode>/<item>`: someone else's, skipped silently. */
function isOtherNodeKey(rest: string): boolean {
  const parts = rest.split('/');
  return (parts.length === 2 && parts[0]!.includes('@')) || parts.length === 3;
}

/**
 * An etcd registrar with these options (Ergo's `etcd.Create`).
 * @throws ErgoError ERR_INCORRECT for a bad option.
 */
export function createEtcdRegistrar(options: EtcdRegistrarOptions = {}): EtcdRegistrar {
  return new EtcdRegistrar(options);
}

function positive(name: string, v: number | undefined, d: number): number {
  if (v === undefined) return d;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 2 ** 31 - 1)
    throw ErrIncorrect.with(`etcd ${name} ${String(v)} (an integer ≥ 1)`);
  return v;
}

/** `p`, or a rejection after `ms` (the timer is cleared either way). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    clearTimeout(timer);
  }
}

const noop = (): void => undefined;
/** Log used before a node is known (never, in practice: every caller runs after register). */
const silentLog = new Proxy({} as Log, { get: () => noop });

/** An ergo-ts error (a stable `code`): passed on as it is. */
function isErgoError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === 'string' && code.startsWith('ERR_');
}
