// The registrar's one watch on `services/ergo` (every cluster; others are filtered by path), as
// Ergo: what it sees becomes the node table dials are answered from, the messages of the
// registrar's event (who joined, left, loaded or started what, which config changed), config
// updates, and checks of the node's own key (NodeKey puts it back when it was deleted or
// overwritten). When etcd is back or the watch is cancelled (compaction past its revision) it
// watches again and reloads what it may have missed.

import { toError, type ApplicationRoute, type Atom, type Log } from 'ergo-ts';
import {
  EventApplicationLoaded,
  EventApplicationStarted,
  EventApplicationStopped,
  EventApplicationStopping,
  EventConfigUpdate,
  EventNodeJoined,
  EventNodeLeft,
  type RegistrarClientState,
} from 'ergo-ts/net';
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import { decodeApplicationRoute, PATH_PREFIX, type ClusterPaths } from './codec.js';
import type { ConfigScope, NodeConfig } from './config.js';
import { isNodeName, nodeRoutes, type BadKeys } from './keys.js';
import type { NodeKey } from './node_key.js';
import { NodeTable, type NodeTableRow } from './node_table.js';
import type { ResolvedOptions } from './options.js';

/** What the watch asks of its registrar: where it stands, its log, and its event. */
export interface ClusterWatchHost {
  state(): RegistrarClientState;
  log(): Log;
  /** Sends a message to the registrar event's subscribers. */
  publish(message: unknown): void;
}

/** The watch of one registration (made by `register`, cancelled by `terminate`). */
export class ClusterWatch {
  readonly #client: Etcd3;
  readonly #o: ResolvedOptions;
  readonly #paths: ClusterPaths;
  readonly #name: Atom;
  readonly #key: NodeKey;
  readonly #config: NodeConfig;
  readonly #bad: BadKeys;
  readonly #host: ClusterWatchHost;
  #watcher: Watcher | null = null;
  #etcdDown = false;
  /** The other nodes' routes as the watch saw them: a dial to one of them asks etcd nothing. */
  readonly table = new NodeTable();

  constructor(
    client: Etcd3,
    options: ResolvedOptions,
    paths: ClusterPaths,
    name: Atom,
    key: NodeKey,
    config: NodeConfig,
    bad: BadKeys,
    host: ClusterWatchHost,
  ) {
    this.#client = client;
    this.#o = options;
    this.#paths = paths;
    this.#name = name;
    this.#key = key;
    this.#config = config;
    this.#bad = bad;
    this.#host = host;
  }

  #registered(): boolean {
    return this.#host.state() === 'registered';
  }

  #log(): Log {
    return this.#host.log();
  }

  /**
   * Starts the watch. Resolves once etcd confirmed it (register waits for that); a failure to
   * start is retried here.
   */
  start(): Promise<void> {
    const c = this.#client;
    if (!this.#registered()) return Promise.resolve();
    return c
      .watch()
      .prefix(PATH_PREFIX)
      .create()
      .then(
        (w) => {
          if (!this.#registered()) {
            w.cancel().catch(() => undefined);
            return;
          }
          this.#watcher = w;
          w.on('put', (kv) => this.#onKey('put', kv));
          w.on('delete', (kv) => this.#onKey('delete', kv));
          w.on('disconnected', (err) => {
            if (this.#etcdDown || !this.#registered()) return;
            this.#etcdDown = true;
            this.#log().warning('(etcd) etcd unreachable (%s): the watch resumes when it is back', err.message);
          });
          w.on('connected', () => {
            if (!this.#etcdDown) return;
            this.#etcdDown = false;
            this.#log().info('(etcd) etcd reachable again');
            if (!this.table.ready) this.reloadNodes();
            // Whatever happened to our key meanwhile (etcd restarted from a snapshot, a write
            // the watch may have missed), it is checked now.
            this.#key.check('etcd reachable again');
          });
          // A cancelled watch (compaction past our revision...): watch again from now, reload config.
          w.on('error', (err) => {
            if (!this.#registered() || this.#watcher !== w) return;
            this.#log().warning('(etcd) watch failed (%s): watching again', err.message);
            this.#watcher = null;
            // Changes may be missed until the new watch is up: dials ask etcd until it is loaded again.
            this.table.invalidate();
            w.cancel().catch(() => undefined);
            void this.start()
              .then(
                () => {
                  this.#key.check('watch restarted');
                  this.reloadNodes();
                  return this.#config.load(this.#client, this.#log());
                },
                () => undefined,
              )
              .catch((e: unknown) => this.#log().warning('(etcd) config not reloaded: %s', toError(e).message));
          });
        },
        (err: unknown) => {
          if (!this.#registered()) return;
          this.#log().warning('(etcd) watch not started (%s): retrying', toError(err).message);
          const t = setTimeout(() => void this.start(), this.#o.retryInterval);
          t.unref();
        },
      );
  }

  /** Cancels the watch (terminate): settles when etcd answered, or never while it is gone. */
  cancel(): Promise<void> | undefined {
    const w = this.#watcher;
    this.#watcher = null;
    return w?.cancel();
  }

  /**
   * Reads the node path into the table (once the watch is up: see node_table.ts). A read that
   * a newer watch has overtaken is dropped; that watch loads its own.
   */
  async loadNodes(): Promise<void> {
    const c = this.#client;
    const watcher = this.#watcher;
    if (!this.#registered()) return;
    const r = await c.getAll().prefix(this.#paths.nodes).exec();
    if (this.#watcher !== watcher || !this.#registered()) return;
    const rows: NodeTableRow[] = [];
    for (const kv of r.kvs) {
      const n = nodeRoutes(this.#paths.nodes, kv.key.toString(), kv.value, this.#bad);
      if (n !== null && n.name !== this.#name) rows.push({ ...n, revision: Number(kv.mod_revision) });
    }
    this.table.load(rows, Number(r.header.revision));
  }

  /** {@link ClusterWatch.loadNodes} in the background: a failure leaves dials asking etcd, and is logged. */
  reloadNodes(): void {
    this.loadNodes().catch((e: unknown) => {
      if (this.#registered())
        this.#log().warning('(etcd) node routes not read (%s): dials ask etcd until they are', toError(e).message);
    });
  }

  #onKey(type: 'put' | 'delete', kv: IKeyValue): void {
    if (!this.#registered()) return;
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
        this.#key.wake(); // a re-registration's retry need not wait out its back-off
        this.#key.check('its node key was deleted');
      } else if (kv.lease !== this.#key.leaseID || kv.value.toString() !== this.#key.value)
        this.#key.check(
          kv.lease === '0' ? 'its node key was overwritten without a lease' : 'its node key was overwritten',
        );
      return;
    }
    const revision = Number(kv.mod_revision);
    if (type === 'delete') {
      this.#bad.forget(key);
      this.table.apply(name, null, revision);
      if (isNodeName(name)) this.#host.publish(new EventNodeLeft(name));
      return;
    }
    const n = nodeRoutes(this.#paths.nodes, key, kv.value, this.#bad);
    // A key that no longer holds usable routes is, for dials, a node gone (etcd then says why).
    this.table.apply(name, n?.routes ?? null, revision);
    if (n !== null) this.#host.publish(new EventNodeJoined(name));
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
      this.#host.publish(new EventApplicationStopped(app, node));
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
    if (r.state === 1) this.#host.publish(new EventApplicationLoaded(app, node, r.weight));
    else if (r.state === 2) this.#host.publish(new EventApplicationStarted(app, node, r.weight, r.mode));
    else if (r.state === 3) this.#host.publish(new EventApplicationStopping(app, node));
  }

  #onConfig(type: 'put' | 'delete', rest: string, scope: ConfigScope, kv: IKeyValue): void {
    const u = this.#config.update(type, rest, scope, kv.value.toString());
    if (u) this.#host.publish(new EventConfigUpdate(u.item, u.value));
  }
}
