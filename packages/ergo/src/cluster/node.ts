// What the application module of a cluster gets on every node: the node itself, its place in the
// cluster, and helpers to use the other cores — spawn on a chosen node or the least loaded one
// (by event-loop utilisation, reported by every node to the launcher and shared with all).

import type { Atom } from '../gen/atom.js';
import { ErrIncorrect } from '../gen/errors.js';
import type { Node } from '../gen/node.js';
import type { ProcessOptions } from '../gen/options.js';
import type { PID } from '../gen/pid.js';
import type { InitArgs, ProcessBehavior, ProcessFactory } from '../gen/process.js';
import type { CheckHandlers, ProtocolOf } from '../gen/protocol.js';

/**
 * One node of a cluster, as its application module sees it. Valid while the node runs; the
 * helpers reject with the node's errors once it stops (ErrNodeTerminated) and with
 * ErrNoConnection / ErrTimeout when the chosen node is down.
 */
export interface ClusterNode {
  /** The ordinary ergo-ts node (PIDs, links, monitors, events and calls reach the others). */
  readonly node: Node;
  /** 0-based position of this node in the cluster (stable across restarts). */
  readonly index: number;
  /** `args` of startCluster (structured-cloned). */
  readonly args: unknown;
  /**
   * Nodes in the cluster (`nodes` of startCluster, `'auto'` resolved), up or not: a module that
   * spreads work waits for them with `whenUp(size)` before it looks at {@link nodes}.
   */
  readonly size: number;
  /** Names of the cluster's nodes known to be up, this one included. */
  nodes(): Atom[];
  /**
   * Resolves once at least `count` nodes of the cluster are up (this one included) **and this
   * node is connected to each of them**: a burst of messages right after it goes out on the
   * connections, none waits behind a dial. The others are announced after they have started, so
   * a module that wants to spread work at start waits here — without blocking its own start (do
   * not await it in the module itself). A node that cannot be connected to (it went down
   * meanwhile) is waited for again at the next change of the cluster.
   * @throws ErgoError ERR_INCORRECT (rejects) for a count that is not an integer ≥ 1.
   */
  whenUp(count: number): Promise<void>;
  /** Last reported load of each node: event-loop utilisation 0..1 over the last interval. */
  loads(): Map<Atom, number>;
  /** The node with the lowest load (ties: the next in round-robin order). */
  leastLoaded(): Atom;
  /**
   * Lets every node of the cluster spawn `factory` here under `name` (Network.enableSpawn for
   * the cluster). Call it on every node that should run such processes (usually all: the module
   * runs on each).
   */
  enableSpawn(name: string, factory: ProcessFactory): void;
  /**
   * Spawns the process enabled as `name` on node `on` (this node: a local spawn). Given the
   * enabled factory instead of its name, the args are typed by its `init` (as node.spawn types
   * them) and the PID by its protocol; ErrIncorrect when the factory was not enabled here.
   */
  spawnOn<B extends ProcessBehavior>(
    on: Atom | string,
    factory: ProcessFactory<B> & NoInfer<CheckHandlers<B>>,
    options?: ProcessOptions,
    ...args: InitArgs<B>
  ): Promise<PID<ProtocolOf<B>>>;
  spawnOn(on: Atom | string, name: string, options?: ProcessOptions, ...args: unknown[]): Promise<PID>;
  /** Spawns the process enabled as `name` (or the enabled `factory`, typed) on the least loaded node. */
  spawnLeastLoaded<B extends ProcessBehavior>(
    factory: ProcessFactory<B> & NoInfer<CheckHandlers<B>>,
    options?: ProcessOptions,
    ...args: InitArgs<B>
  ): Promise<PID<ProtocolOf<B>>>;
  spawnLeastLoaded(name: string, options?: ProcessOptions, ...args: unknown[]): Promise<PID>;
}

/** The application module's default export: runs once on every node after it starts. */
export type ClusterApp = (cluster: ClusterNode) => void | Promise<void>;

/** The cluster node of this thread or process (one node per worker), for ClusterPool. */
let current: ClusterNodeImpl | null = null;

/** The ClusterNode of `node` when it is a node of a cluster run here, else null. */
export function clusterNodeOf(node: Node): ClusterNodeImpl | null {
  return current !== null && current.node.name === node.name ? current : null;
}

/** The engine of {@link ClusterNode} inside a cluster node (internal). */
export class ClusterNodeImpl implements ClusterNode {
  readonly #factories = new Map<string, ProcessFactory>();
  #loads = new Map<Atom, number>();
  #up = new Set<Atom>();
  #rr = 0;
  #upWaiters: { count: number; resolve: () => void }[] = [];
  /** Woken when a node is announced or goes down. */
  #changeWaiters: (() => void)[] = [];

  constructor(
    readonly node: Node,
    readonly index: number,
    readonly args: unknown,
    readonly size: number,
  ) {
    this.#up.add(node.name);
    this.#loads.set(node.name, 0);
    current = this;
  }

  /** The name `factory` was enabled under with {@link enableSpawn}, if any. */
  nameOf(factory: ProcessFactory): string | undefined {
    for (const [n, f] of this.#factories) if (f === factory) return n;
    return undefined;
  }

  /** A TCP route to another node (child processes; a fallback for threads). */
  route(name: string, host: string, port: number): void {
    this.#up.add(name as Atom);
    this.#changed();
    this.#upWaiters = this.#upWaiters.filter((w) => {
      if (this.#up.size < w.count) return true;
      w.resolve();
      return false;
    });
    const net = this.node.network();
    if (port !== 0) {
      if (net.route(name).length > 0) net.removeRoute(name);
      net.addRoute(name, { route: { host, port, tls: false } }, 0);
    }
    // Connect now rather than on first use: the first burst of traffic to a node need not queue
    // behind its dial (dialQueueLimit). The node with the smaller name dials, so a pair dials once.
    if (this.node.name < name)
      net.getNode(name).catch((e: unknown) => this.node.log.debug('cluster: connect to %s: %s', name, String(e)));
  }

  /** Node `name` is down (the launcher restarts it). */
  down(name: string): void {
    this.#up.delete(name as Atom);
    this.#loads.delete(name as Atom);
    this.#changed();
  }

  #changed(): void {
    const w = this.#changeWaiters;
    this.#changeWaiters = [];
    for (const resolve of w) resolve();
  }

  setLoads(loads: [string, number][]): void {
    const m = new Map<Atom, number>();
    for (const [n, l] of loads) if (this.#up.has(n as Atom)) m.set(n as Atom, l);
    this.#loads = m;
  }

  whenUp(count: number): Promise<void> {
    if (!Number.isInteger(count) || count < 1)
      return Promise.reject(ErrIncorrect.with(`whenUp count ${String(count)} (an integer ≥ 1)`));
    return this.#whenConnected(count);
  }

  async #whenConnected(count: number): Promise<void> {
    for (;;) {
      if (this.#up.size < count) await new Promise<void>((resolve) => this.#upWaiters.push({ count, resolve }));
      const changed = new Promise<void>((resolve) => this.#changeWaiters.push(resolve));
      const others = [...this.#up].filter((n) => n !== this.node.name);
      // Announced is not connected: the pair dials when the launcher tells it (route), and a
      // dial takes a handshake. getNode joins that dial (or the peer's inbound connection).
      const net = this.node.network();
      const got = await Promise.allSettled(others.map((n) => net.getNode(n)));
      if (got.every((r) => r.status === 'fulfilled') && this.#up.size >= count) return;
      // A node went down meanwhile (its restart is announced again): wait for the next change.
      await changed;
    }
  }

  nodes(): Atom[] {
    return [...this.#up].sort();
  }

  loads(): Map<Atom, number> {
    return new Map(this.#loads);
  }

  leastLoaded(): Atom {
    const names = this.nodes();
    let best = this.node.name;
    let bestLoad = Infinity;
    // Start the scan after the last pick so equal loads spread round-robin.
    const start = this.#rr++ % names.length;
    for (let i = 0; i < names.length; i++) {
      const n = names[(start + i) % names.length]!;
      const l = this.#loads.get(n) ?? 0;
      if (l < bestLoad) {
        best = n;
        bestLoad = l;
      }
    }
    // Until the next report, count the pick: a burst of spawns spreads instead of piling up.
    this.#loads.set(best, bestLoad + 0.02);
    return best;
  }

  enableSpawn(name: string, factory: ProcessFactory): void {
    if (typeof name !== 'string' || name === '') throw ErrIncorrect.with('enableSpawn needs a name');
    this.#factories.set(name, factory);
    this.node.network().enableSpawn(name, factory);
  }

  spawnOn<B extends ProcessBehavior>(
    on: Atom | string,
    factory: ProcessFactory<B> & NoInfer<CheckHandlers<B>>,
    options?: ProcessOptions,
    ...args: InitArgs<B>
  ): Promise<PID<ProtocolOf<B>>>;
  spawnOn(on: Atom | string, name: string, options?: ProcessOptions, ...args: unknown[]): Promise<PID>;
  async spawnOn(
    on: Atom | string,
    nameOrFactory: string | ProcessFactory,
    options?: ProcessOptions,
    ...args: unknown[]
  ): Promise<PID> {
    const name = this.#enabledName(nameOrFactory);
    if (on === this.node.name) {
      const f = this.#factories.get(name);
      if (f === undefined) throw ErrIncorrect.with(`${name} is not enabled for spawn on ${on}`);
      return this.node.spawn(f, options, ...(args as never[]));
    }
    const remote = await this.node.network().getNode(on);
    return remote.spawn(name, options, ...args);
  }

  spawnLeastLoaded<B extends ProcessBehavior>(
    factory: ProcessFactory<B> & NoInfer<CheckHandlers<B>>,
    options?: ProcessOptions,
    ...args: InitArgs<B>
  ): Promise<PID<ProtocolOf<B>>>;
  spawnLeastLoaded(name: string, options?: ProcessOptions, ...args: unknown[]): Promise<PID>;
  async spawnLeastLoaded(
    nameOrFactory: string | ProcessFactory,
    options?: ProcessOptions,
    ...args: unknown[]
  ): Promise<PID> {
    return this.spawnOn(this.leastLoaded(), this.#enabledName(nameOrFactory), options, ...args);
  }

  /** The name a spawn goes by: as given, or the one `factory` was enabled under (else ErrIncorrect). */
  #enabledName(nameOrFactory: string | ProcessFactory): string {
    if (typeof nameOrFactory !== 'function') return nameOrFactory;
    const name = this.nameOf(nameOrFactory);
    if (name === undefined)
      throw ErrIncorrect.with('spawn: enable the factory with cluster.enableSpawn(name, factory) first');
    return name;
  }
}
