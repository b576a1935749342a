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
  ignorable,
  rejected,
  toError,
  type ApplicationRoute,
  type Atom,
  type NodeRegistrar,
  type RegisterRoutes,
  type Registrar,
  type Route,
  type Version,
} from 'ergo-ts';
import { RegistrarClient, type RegistrarConfigValue } from 'ergo-ts/net';
import { Etcd3 } from 'etcd3';
import {
  clusterPaths,
  decodeApplicationRoute,
  decodeRoutes,
  encodeApplicationRoute,
  encodeRoutes,
  type ClusterPaths,
} from './codec.js';
import { NodeConfig } from './config.js';
import { BadKeys, usableNode } from './keys.js';
import { applicationKey, NodeKey, REVOKE_DEADLINE_MS, within } from './node_key.js';
import { clientOptions, resolveOptions, type EtcdRegistrarOptions, type ResolvedOptions } from './options.js';
import { ClusterWatch } from './watch.js';

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
 * ErrRegistrarTerminated. Its event is named `services/ergo/cluster/<cluster>/routes/`.
 */
export class EtcdRegistrar extends RegistrarClient implements Registrar {
  readonly #o: ResolvedOptions;
  readonly #paths: ClusterPaths;
  #client: Etcd3 | null = null;
  #name = '' as Atom;
  /** The node key and its lease (node_key.ts), from `register` on. */
  #key: NodeKey | null = null;
  /** The watch on `services/ergo` (watch.ts), from `register` on. */
  #watch: ClusterWatch | null = null;
  readonly #apps = new Map<Atom, ApplicationRoute>();
  /** Puts of one application's route, in order (load → start → stop must not overtake). */
  readonly #appQueue = new Map<Atom, Promise<void>>();
  #config: NodeConfig | null = null;
  readonly #bad = new BadKeys(() => this.log());

  /** @throws ErgoError ERR_INCORRECT for an option out of range or of the wrong type. */
  constructor(options: EtcdRegistrarOptions = {}) {
    super({ kind: 'etcd', version: ETCD_REGISTRAR_VERSION });
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
   * A key of its name on another live lease (the node restarted at once after kill -9) is waited
   * for, up to `restartWait`, until etcd deletes it with that lease.
   * @throws ErgoError ERR_TAKEN (a live node holds the name in this cluster, still after
   *   `restartWait`), ERR_NO_CONNECTION
   *   (etcd unreachable within `dialTimeout`/`requestTimeout`), ERR_INCORRECT (bad node name),
   *   ERR_NOT_ALLOWED (registered already, or terminated).
   */
  override register(node: NodeRegistrar, routes: RegisterRoutes): Promise<void> {
    const p = this.#register(node, routes);
    return ignorable(p, this.log(), 'etcd register');
  }

  async #register(node: NodeRegistrar, routes: RegisterRoutes): Promise<void> {
    if (this.state !== 'new') throw ErrNotAllowed.with(`etcd registrar is ${this.state}`);
    const name = node.name();
    if (!name.includes('@') || name.includes('/')) throw ErrIncorrect.with(`node name ${name} (name@host, no '/')`);
    this.state = 'registered';
    this.bindNode(node);
    this.#name = name;
    const config = (this.#config = new NodeConfig(this.#o.cluster, name, this.#paths));
    for (const r of routes.applicationRoutes) this.#apps.set(r.name, { ...r });
    const value = encodeRoutes(routes.routes);
    const client = (this.#client = new Etcd3(clientOptions(this.#o)));
    const host = { state: () => this.state, log: () => this.log(), publish: (m: unknown) => this.publish(m) };
    const key = (this.#key = new NodeKey(client, this.#o, this.#paths, name, value, this.#apps, host));
    const watch = (this.#watch = new ClusterWatch(client, this.#o, this.#paths, name, key, config, this.#bad, host));
    try {
      await key.claimFirst();
      this.openEvent(this.#paths.routes);
      // The watch is up before the config is read: no change can fall between the two.
      await within(watch.start(), this.#o.requestTimeout, 'etcd watch not confirmed');
      await config.load(client, this.log());
      await watch.loadNodes();
    } catch (e) {
      this.state = 'new';
      this.closeEvent();
      this.bindNode(null);
      const lease = key.takeLease();
      if (lease !== null) await key.revoke(lease);
      client.close();
      this.#client = null;
      throw isErgoError(e) ? e : ErrNoConnection.with(`etcd ${this.#o.endpoints.join(',')}: ${toError(e).message}`, e);
    }
    this.log().info(
      '(etcd) registered %s in cluster %s (lease %s, TTL %d s)',
      name,
      this.#o.cluster,
      key.leaseID,
      this.#o.leaseTTL,
    );
  }

  // --- config -------------------------------------------------------------------------------

  /**
   * Config by priority (highest first): `services/ergo/config/<cluster>/<node>/<item>`,
   * `…/cluster/<cluster>/config/<node>/<item>`, `…/cluster/<cluster>/config/*\/<item>`,
   * `services/ergo/config/global/<item>`. Values with `int:`/`float:`/`bool:` are converted.
   */
  protected override configValue(item: string): RegistrarConfigValue {
    return this.#config!.effective(item);
  }

  // --- resolving ----------------------------------------------------------------------------

  /**
   * A node the watch knows is answered from the table; any other name is asked of etcd (the
   * watch may not have delivered a node that has just registered). With etcd unreachable, known
   * nodes are still answered: their routes as last seen.
   */
  protected override async resolveRoutes(name: Atom): Promise<Route[]> {
    const c = this.#clientOrThrow();
    const known = this.#watch!.table.routes(name);
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
  protected override async resolveApplicationRoutes(name: Atom): Promise<ApplicationRoute[]> {
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
    return this.rankApplicationRoutes(name, out);
  }

  /**
   * Other nodes registered in this cluster: keys under the node path whose name is a node name
   * and whose value decodes to routes (others are ignored, each logged once). Answered from what
   * the watch has seen once its snapshot is loaded (no read on etcd: callers that list the nodes
   * on every membership change, times N nodes, were N² reads); until then, and while the watch
   * restarts, read from etcd. A node that registered a moment ago appears once the watch delivers
   * its key (what its EventNodeJoined also waits for).
   */
  override nodes(): Promise<Atom[]> {
    return ignorable(this.#nodes(), this.log(), 'etcd nodes');
  }

  async #nodes(): Promise<Atom[]> {
    const c = this.#clientOrThrow();
    const held = this.#watch!.table.names();
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
  override registerApplicationRoute(route: ApplicationRoute): Promise<void> {
    try {
      this.check();
      const r = { ...route };
      this.#apps.set(r.name, r);
      const put = this.#queue(r.name, async (c) => {
        await c.put(this.#appKey(r.name)).value(encodeApplicationRoute(r)).lease(this.#key!.leaseID);
      });
      return ignorable(put, this.log(), `etcd application route ${r.name}`);
    } catch (e) {
      return rejected(e, this.log(), 'etcd application route');
    }
  }

  /** Withdraws an application's route (deletes the key: subscribers see it stop). */
  override unregisterApplicationRoute(name: Atom): Promise<void> {
    try {
      this.check();
      this.#apps.delete(name);
      const del = this.#queue(name, async (c) => {
        await c.delete().key(this.#appKey(name));
      });
      return ignorable(del, this.log(), `etcd application route ${name} removal`);
    } catch (e) {
      return rejected(e, this.log(), `etcd application route ${name} removal`);
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
    return applicationKey(this.#paths, name, this.#name);
  }

  // --- end ----------------------------------------------------------------------------------

  /** The etcd endpoints, comma-separated. */
  protected override server(): string {
    return this.#o.endpoints.join(',');
  }

  /** Revokes the lease (deleting the node's keys; at most 5 s) and closes the client. Idempotent. */
  override terminate(): void {
    if (this.state === 'terminated') return;
    const was = this.state;
    this.state = 'terminated';
    const key = this.#key;
    key?.stop();
    const c = this.#client;
    if (c === null || key === null || was !== 'registered') {
      key?.releaseLeases();
      c?.close();
      return;
    }
    const cancelled = this.#watch?.cancel();
    const lease = key.takeLease();
    const log = this.log();
    const done = (): void => {
      // Leases a claim left behind (granting while etcd froze, or racing this terminate).
      key.releaseLeases();
      c.close();
      log.trace('(etcd) registrar client terminated');
    };
    const revoke = lease === null ? Promise.resolve() : lease.revoke({ deadline: Date.now() + REVOKE_DEADLINE_MS });
    // A watch's cancel waits for etcd's answer, and etcd3 keeps redialling a dead or frozen etcd
    // meanwhile: without a bound of its own the client was never closed, and its timers kept a
    // stopped node's OS process from exiting.
    const settled = Promise.all([cancelled?.catch(() => undefined), revoke]);
    void within(settled, REVOKE_DEADLINE_MS + 1000, 'etcd did not answer the shutdown').then(done, (e: unknown) => {
      log.warning('(etcd) lease not revoked (%s): the node key expires with its TTL', toError(e).message);
      done();
    });
  }

  #clientOrThrow(): Etcd3 {
    this.check();
    return this.#client!;
  }
}

/**
 * An etcd registrar with these options (Ergo's `etcd.Create`).
 * @throws ErgoError ERR_INCORRECT for a bad option.
 */
export function createEtcdRegistrar(options: EtcdRegistrarOptions = {}): EtcdRegistrar {
  return new EtcdRegistrar(options);
}

/** An ergo-ts error (a stable `code`): passed on as it is. */
function isErgoError(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === 'string' && code.startsWith('ERR_');
}
