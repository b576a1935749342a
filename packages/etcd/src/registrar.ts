// The etcd registrar (Ergo's `registrar/etcd`, "ETCD Client" R1) on the npm `etcd3` client. A
// node registers its routes under `services/ergo/cluster/<cluster>/routes/nodes/<node>` on a
// lease (kill -9 → the key expires with the lease), publishes its application routes on the same
// lease, reads its cluster config (four levels), and watches `services/ergo` to tell local
// subscribers of its event who joined, left, loaded or started what, and which config changed.
// When etcd goes away for longer than the lease, the registrar takes its name again with a new
// lease once etcd is back, and the watch resumes where it stopped. Its own key is kept: found
// missing, leaseless or overwritten (a watch event, etcd back, a lost lease), it is put back on
// the node's lease — unless another live lease holds it (keys.ts). Keys under the node path that
// do not name a node with routes are ignored, logged once each. Nothing the client does can end
// the OS process: every etcd3/gRPC failure ends up in a log line or a rejected call of the caller.

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
import { Etcd3, EtcdLeaseInvalidError, type IKeyValue, type Lease, type Watcher } from 'etcd3';
import {
  clusterPaths,
  decodeApplicationRoute,
  decodeRoutes,
  encodeApplicationRoute,
  encodeRoutes,
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
import { NodeConfig, type ConfigScope } from './config.js';
import { clientOptions, resolveOptions, type EtcdRegistrarOptions, type ResolvedOptions } from './options.js';
import { BadKeys, isNodeName, nodeRoutes, ownKeyAction, usableNode } from './keys.js';
import { NodeTable, type NodeTableRow } from './node_table.js';

/** The registrar's version (Ergo's: `ETCD Client`, release R1, MIT). */
export const ETCD_REGISTRAR_VERSION: Readonly<Version> = Object.freeze({
  name: 'ETCD Client',
  release: 'R1',
  license: 'MIT',
});

/**
 * The etcd registrar: pass it as `network.registrar`. Lifecycle: construct (checks options,
 * connects nothing) → the node's network calls `register` once (rejects with ErrTaken when a
 * live node holds the name; the node does not start) → `resolver()`, `nodes()`, `config*()`,
 * `event()` while registered → `terminate()` (idempotent) revokes the lease, which deletes the
 * node's keys at once, and closes the client. After `terminate` every call rejects with
 * ErrRegistrarTerminated.
 */
export class EtcdRegistrar implements Registrar {
  readonly #o: ResolvedOptions;
  readonly #paths: ClusterPaths;
  #client: Etcd3 | null = null;
  #node: NodeRegistrar | null = null;
  #name = '' as Atom;
  #value = '';
  #lease: Lease | null = null;
  /**
   * Every lease this registrar granted or is granting and has not let go: a claim that fails or
   * races `terminate()` can leave one outside `#lease`, and etcd3 keeps a lease's keep-alive
   * timer running until it is closed (a stopped node's process would never exit).
   */
  readonly #leases = new Set<Lease>();
  #leaseID = '';
  #watcher: Watcher | null = null;
  #event: Event | null = null;
  #token: Ref | null = null;
  readonly #apps = new Map<Atom, ApplicationRoute>();
  /** Puts of one application's route, in order (load → start → stop must not overtake). */
  readonly #appQueue = new Map<Atom, Promise<void>>();
  #config: NodeConfig | null = null;
  #state: 'new' | 'registered' | 'terminated' = 'new';
  #reregistering = false;
  #etcdDown = false;
  #retryTimer: NodeJS.Timeout | null = null;
  #wake: (() => void) | null = null;
  /** A check of the own key runs (#checkOwnKey); `#checkAgain`: another was asked meanwhile. */
  #checking = false;
  #checkAgain = false;
  #checkTimer: NodeJS.Timeout | null = null;
  /** The foreign lease last reported holding our name (reported once per lease). */
  #foreignLease = '';
  readonly #bad = new BadKeys(() => this.#log());
  /** The other nodes' routes as the watch saw them: a dial to one of them asks etcd nothing. */
  readonly #table = new NodeTable();

  /** @throws ErgoError ERR_INCORRECT for an option out of range or of the wrong type. */
  constructor(options: EtcdRegistrarOptions = {}) {
    this.#o = resolveOptions(options);
    this.#paths = clusterPaths(this.#o.cluster);
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
    this.#config = new NodeConfig(this.#o.cluster, name, this.#paths);
    for (const r of routes.applicationRoutes) this.#apps.set(r.name, { ...r });
    this.#client = new Etcd3(clientOptions(this.#o));
    try {
      await this.#claim('');
      this.#event = new Event(this.#paths.routes as Atom, name);
      this.#token = node.registerEvent(this.#paths.routes);
      // The watch is up before the config is read: no change can fall between the two.
      await within(this.#watch(), this.#o.requestTimeout, 'etcd watch not confirmed');
      await this.#config!.load(this.#client!, this.#log());
      await this.#loadNodes();
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
      if (lease !== null) await this.#revoke(lease);
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

  /**
   * Takes the node key with a fresh lease: create it if absent, take it if it is leaseless or
   * (re-registration) still on `oldLease`; then puts the application routes on the new lease.
   * @throws ErrTaken when another live lease holds the name.
   */
  async #claim(oldLease: string): Promise<void> {
    const c = this.#client!;
    // Kept alive by #keepAlive, not by etcd3: its loop starts a second keep-alive stream when one
    // stream fails twice (an error and its timeout), and the first's interval then runs forever.
    const lease = c.lease(this.#o.leaseTTL, { autoKeepAlive: false });
    this.#leases.add(lease);
    lease.on('lost', (err) => this.#lost(lease, err));
    let id: string;
    try {
      id = await lease.grant();
      if (this.#state === 'terminated') throw ErrRegistrarTerminated.with('etcd registrar');
      // From the grant on: a claim slower than the TTL (a loaded host) must not lose its lease.
      this.#keepAlive(lease);
      const r = await this.#putOwn(id, oldLease === '' ? [id] : [id, oldLease]);
      if (r.action === 'foreign')
        throw ErrTaken.with(`node ${this.#name} is registered in etcd cluster ${this.#o.cluster} (lease ${r.lease})`);
      if (r.action === 'take')
        this.#log().warning('(etcd) %s: took over its node key (it was leaseless or on an old lease)', this.#name);
    } catch (e) {
      await this.#revoke(lease);
      throw e;
    }
    const old = this.#lease;
    this.#lease = lease;
    this.#leaseID = id;
    // Application routes move to the new lease before the old one goes (revoking it first would
    // delete them: every subscriber would see them stop and come back).
    for (const r of this.#apps.values()) await c.put(this.#appKey(r.name)).value(encodeApplicationRoute(r)).lease(id);
    if (old !== null) await this.#revoke(old);
  }

  /**
   * Keeps `lease` alive from its grant until it is let go: one keep-alive each third of the TTL (as
   * etcd's Go client), each bounded by that period. A lease etcd no longer knows is lost at once
   * (etcd3 emits `lost`); no answer for twice the TTL loses it too (etcd has expired it by then),
   * and the node registers again once etcd answers. The timer does not keep the process alive.
   */
  #keepAlive(lease: Lease): void {
    const period = Math.max(1, Math.floor((this.#o.leaseTTL * 1000) / 3));
    let answered = Date.now();
    const held = (): boolean => this.#leases.has(lease) && this.#state === 'registered';
    const beat = (): void => {
      if (!held()) return;
      const deadline = Date.now() + period;
      within(lease.keepaliveOnce({ deadline }), period + 1000, 'etcd keep-alive unanswered').then(
        () => {
          answered = Date.now();
          next();
        },
        (e: unknown) => {
          // A lease etcd no longer knows: etcd3 emitted `lost` (see #claim).
          if (!held() || e instanceof EtcdLeaseInvalidError) return;
          if (Date.now() - answered <= 2 * this.#o.leaseTTL * 1000) return next();
          // Past its TTL: etcd has let it go. The node's lease is registered again; a claim's
          // fails the claim when it is used.
          this.#lost(lease, new Error(`etcd did not answer a keep-alive for ${Date.now() - answered} ms`));
        },
      );
    };
    const next = (): void => {
      if (held()) setTimeout(beat, period).unref();
    };
    next();
  }

  /** Stops keeping every lease of ours alive (etcd lets them expire) and forgets them. */
  #releaseLeases(): void {
    for (const l of this.#leases) l.release();
    this.#leases.clear();
  }

  /** Revokes a lease of ours (best effort: etcd may be gone) and forgets it. */
  async #revoke(lease: Lease): Promise<void> {
    try {
      await lease.revoke({ deadline: Date.now() + REVOKE_DEADLINE_MS });
    } catch {
      // etcd unreachable: the lease expires with its TTL
    } finally {
      lease.release();
      this.#leases.delete(lease);
    }
  }

  /**
   * Makes the node key hold this node's value on lease `id` (`ours`: `id` first, then any lease
   * of ours it may still be on), by a transaction on what was read: a key that changes between
   * the read and the write is read again. Returns what was done, or the lease that holds it.
   */
  async #putOwn(id: string, ours: string[]): Promise<{ action: 'ok' | 'create' | 'take' | 'foreign'; lease: string }> {
    const c = this.#client!;
    const key = this.#paths.nodes + this.#name;
    for (let attempt = 0; ; attempt++) {
      const kv = (await c.get(key).exec()).kvs[0];
      const action = ownKeyAction(kv, this.#value, ours);
      if (action === 'ok' || action === 'foreign') return { action, lease: kv?.lease ?? '' };
      const cond = kv === undefined ? c.if(key, 'Create', '==', 0) : c.if(key, 'Mod', '==', kv.mod_revision);
      const r = await cond.then(c.put(key).value(this.#value).lease(id)).commit();
      if (r.succeeded) return { action, lease: id };
      // Changed meanwhile (a writer racing us): read again, a bounded number of times.
      if (attempt >= 10) throw new Error(`node key ${key} keeps changing`);
    }
  }

  /**
   * Checks the own node key (why: what made us look) and puts it back on the node's lease when
   * it is missing, leaseless or overwritten. One check at a time; asked during one, it runs again
   * after. A lease etcd no longer knows is a lost lease (re-registration); another failure
   * (etcd unreachable) is retried after `retryInterval` and when etcd is back.
   */
  #checkOwnKey(why: string): void {
    if (this.#state !== 'registered' || this.#reregistering || this.#client === null || this.#lease === null) return;
    if (this.#checking) {
      this.#checkAgain = true;
      return;
    }
    this.#checking = true;
    if (this.#checkTimer !== null) clearTimeout(this.#checkTimer);
    this.#checkTimer = null;
    const lease = this.#lease;
    void this.#retake(why)
      .catch((e: unknown) => {
        if (this.#state !== 'registered') return;
        if (e instanceof EtcdLeaseInvalidError) return this.#lost(lease, e);
        this.#log().warning('(etcd) checking the node key of %s failed (%s): retrying', this.#name, toError(e).message);
        this.#checkTimer = setTimeout(() => this.#checkOwnKey('retry'), this.#o.retryInterval);
        this.#checkTimer.unref();
      })
      .finally(() => {
        this.#checking = false;
        if (this.#checkAgain) {
          this.#checkAgain = false;
          this.#checkOwnKey(why);
        }
      });
  }

  async #retake(why: string): Promise<void> {
    const r = await this.#putOwn(this.#leaseID, [this.#leaseID]);
    if (r.action === 'create' || r.action === 'take') {
      this.#foreignLease = '';
      this.#log().warning('(etcd) %s took its node key back (%s; lease %s)', this.#name, why, this.#leaseID);
    } else if (r.action === 'foreign' && r.lease !== this.#foreignLease) {
      this.#foreignLease = r.lease;
      this.#log().error(
        '(etcd) node key of %s is held by lease %s (another registration of this name?): taken back when it ends',
        this.#name,
        r.lease,
      );
    }
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
            if (!this.#table.ready) this.#reloadNodes();
            // Whatever happened to our key meanwhile (etcd restarted from a snapshot, a write
            // the watch may have missed), it is checked now.
            this.#checkOwnKey('etcd reachable again');
          });
          // A cancelled watch (compaction past our revision...): watch again from now, reload config.
          w.on('error', (err) => {
            if (this.#state !== 'registered' || this.#watcher !== w) return;
            this.#log().warning('(etcd) watch failed (%s): watching again', err.message);
            this.#watcher = null;
            // Changes may be missed until the new watch is up: dials ask etcd until it is loaded again.
            this.#table.invalidate();
            w.cancel().catch(() => undefined);
            void this.#watch()
              .then(
                () => {
                  this.#checkOwnKey('watch restarted');
                  this.#reloadNodes();
                  return this.#config!.load(this.#client!, this.#log());
                },
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

  /**
   * Reads the node path into the table (once the watch is up: see node_table.ts). A read that
   * a newer watch has overtaken is dropped; that watch loads its own.
   */
  async #loadNodes(): Promise<void> {
    const c = this.#client;
    const watcher = this.#watcher;
    if (c === null || this.#state !== 'registered') return;
    const r = await c.getAll().prefix(this.#paths.nodes).exec();
    if (this.#watcher !== watcher || this.#state !== 'registered') return;
    const rows: NodeTableRow[] = [];
    for (const kv of r.kvs) {
      const n = nodeRoutes(this.#paths.nodes, kv.key.toString(), kv.value, this.#bad);
      if (n !== null && n.name !== this.#name) rows.push({ ...n, revision: Number(kv.mod_revision) });
    }
    this.#table.load(rows, Number(r.header.revision));
  }

  /** {@link #loadNodes} in the background: a failure leaves dials asking etcd, and is logged. */
  #reloadNodes(): void {
    this.#loadNodes().catch((e: unknown) => {
      if (this.#state === 'registered')
        this.#log().warning('(etcd) node routes not read (%s): dials ask etcd until they are', toError(e).message);
    });
  }

  #onKey(type: 'put' | 'delete', kv: IKeyValue): void {
    if (this.#state !== 'registered') return;
    const key = kv.key.toString();
    try {
      if (key.startsWith(this.#paths.nodes)) this.#onNode(type, key, kv);
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

  #onNode(type: 'put' | 'delete', key: string, kv: IKeyValue): void {
    const name = key.slice(this.#paths.nodes.length) as Atom;
    if (name === this.#name) {
      // Our own key: deleted (not by us: we are registered) or overwritten — put it back.
      if (type === 'delete') {
        if (this.#reregistering) this.#wake?.(); // the retry need not wait out its back-off
        this.#checkOwnKey('its node key was deleted');
      } else if (kv.lease !== this.#leaseID || kv.value.toString() !== this.#value)
        this.#checkOwnKey(
          kv.lease === '0' ? 'its node key was overwritten without a lease' : 'its node key was overwritten',
        );
      return;
    }
    const revision = Number(kv.mod_revision);
    if (type === 'delete') {
      this.#bad.forget(key);
      this.#table.apply(name, null, revision);
      if (isNodeName(name)) this.#send(new EventNodeLeft(name));
      return;
    }
    const n = nodeRoutes(this.#paths.nodes, key, kv.value, this.#bad);
    // A key that no longer holds usable routes is, for dials, a node gone (etcd then says why).
    this.#table.apply(name, n?.routes ?? null, revision);
    if (n !== null) this.#send(new EventNodeJoined(name));
  }

  #onApplication(type: 'put' | 'delete', rest: string, kv: IKeyValue): void {
    const key = this.#paths.applications + rest;
    const parts = rest.split('/');
    if (parts.length !== 2 || parts[0] === '' || !isNodeName(parts[1]!)) {
      if (type === 'put') this.#bad.report(key, 'not an application key (<application>/<node>)');
      else this.#bad.forget(key);
      return;
    }
    const [app, node] = parts as [Atom, Atom];
    if (type === 'delete') {
      this.#bad.forget(key);
      this.#send(new EventApplicationStopped(app, node));
      return;
    }
    let r: ApplicationRoute;
    try {
      r = decodeApplicationRoute(kv.value);
    } catch (e) {
      this.#bad.report(key, `its value is not base64 of EDF gen.ApplicationRoute (${toError(e).message})`);
      return;
    }
    this.#bad.forget(key);
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

  #onConfig(type: 'put' | 'delete', rest: string, scope: ConfigScope, kv: IKeyValue): void {
    const u = this.#config?.update(type, rest, scope, kv.value.toString());
    if (u) this.#send(new EventConfigUpdate(u.item, u.value));
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
    const v = this.#config!.effective(item);
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
      const v = this.#config!.effective(i);
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

  /**
   * A node the watch knows is answered from the table; any other name is asked of etcd (the
   * watch may not have delivered a node that has just registered). With etcd unreachable, known
   * nodes are still answered: their routes as last seen.
   */
  async #resolve(name: Atom): Promise<Route[]> {
    const c = this.#clientOrThrow();
    const known = this.#table.routes(name);
    if (known !== undefined) return known;
    const key = this.#paths.nodes + name;
    const v = await c.get(key).string();
    if (v === null) throw ErrNoRoute.with(`${name} (not registered in etcd cluster ${this.#o.cluster})`);
    if (usableNode(this.#paths.nodes, key, v, this.#bad) === null)
      throw ErrNoRoute.with(`${name} (its key in etcd cluster ${this.#o.cluster} holds no routes)`);
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
        this.#bad.forget(k);
        if (r.node !== this.#name) out.push(r);
      } catch (e) {
        this.#bad.report(k, `its value is not base64 of EDF gen.ApplicationRoute (${toError(e).message})`);
      }
    }
    if (out.length === 0) throw ErrNoRoute.with(`application ${name}`);
    return out.sort((a, b) => b.weight - a.weight);
  }

  /**
   * Other nodes registered in this cluster: keys under the node path whose name is a node name
   * and whose value decodes to routes (others are ignored, each logged once). Answered from what
   * the watch has seen once its snapshot is loaded (no read on etcd: callers that list the nodes
   * on every membership change, times N nodes, were N² reads); until then, and while the watch
   * restarts, read from etcd. A node that registered a moment ago appears once the watch delivers
   * its key (what its EventNodeJoined also waits for).
   */
  nodes(): Promise<Atom[]> {
    return ignorable(this.#nodes(), this.#log(), 'etcd nodes');
  }

  async #nodes(): Promise<Atom[]> {
    const c = this.#clientOrThrow();
    const held = this.#table.names();
    if (held !== undefined) return held;
    const all = await c.getAll().prefix(this.#paths.nodes).strings();
    const out: Atom[] = [];
    for (const [k, v] of Object.entries(all)) {
      const name = usableNode(this.#paths.nodes, k, v, this.#bad);
      if (name !== null && name !== this.#name) out.push(name);
    }
    return out;
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
    if (this.#checkTimer !== null) clearTimeout(this.#checkTimer);
    this.#wake?.();
    const c = this.#client;
    if (c === null || was !== 'registered') {
      this.#releaseLeases();
      c?.close();
      return;
    }
    const w = this.#watcher;
    this.#watcher = null;
    const lease = this.#lease;
    this.#lease = null;
    const log = this.#log();
    const done = (): void => {
      // Leases a claim left behind (granting while etcd froze, or racing this terminate).
      this.#releaseLeases();
      c.close();
      log.trace('(etcd) registrar client terminated');
    };
    const revoke = lease === null ? Promise.resolve() : lease.revoke({ deadline: Date.now() + REVOKE_DEADLINE_MS });
    // A watch's cancel waits for etcd's answer, and etcd3 keeps redialling a dead or frozen etcd
    // meanwhile: without a bound of its own the client was never closed, and its timers kept a
    // stopped node's OS process from exiting.
    const settled = Promise.all([w?.cancel().catch(() => undefined), revoke]);
    void within(settled, REVOKE_DEADLINE_MS + 1000, 'etcd did not answer the shutdown').then(done, (e: unknown) => {
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

/**
 * An etcd registrar with these options (Ergo's `etcd.Create`).
 * @throws ErgoError ERR_INCORRECT for a bad option.
 */
export function createEtcdRegistrar(options: EtcdRegistrarOptions = {}): EtcdRegistrar {
  return new EtcdRegistrar(options);
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

/** How long a stopping registrar waits for etcd to revoke its node's lease. */
const REVOKE_DEADLINE_MS = 5000;

const noop = (): void => undefined;
/** Log used before a node is known (never, in practice: every caller runs after register). */
const silentLog = new Proxy({} as Log, { get: () => noop });

/** An ergo-ts error (a stable `code`): passed on as it is. */
function isErgoError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === 'string' && code.startsWith('ERR_');
}
