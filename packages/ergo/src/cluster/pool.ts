// ClusterPool: a Pool whose workers are spread over the nodes of the cluster: each new worker
// goes to the node up with the fewest of them. Mail is forwarded as by any Pool — with its
// original sender and call ref, so a worker on another node answers a caller of the pool's node
// directly; mail of a third node is relayed by the pool (act/pool.ts). A worker on another node
// is linked to the pool: when it dies, or its node goes down, the pool starts a replacement on
// a node up. When a node comes up (first start, or back after a crash) the pool moves workers to
// it until the nodes differ by at most one: it starts one there, then retires one of the fullest
// node after the mail already given to it (act/pool.ts retireWorker), and so on. Events reach
// workers of every node alike: ENP cannot address an event to one process, so the pool hands an
// event for a worker of another node to the PoolEventRelay of that node, which queues it there
// as the event it is.

import { Actor } from '../act/actor.js';
import type { Atom } from '../gen/atom.js';
import { ErrIncorrect } from '../gen/errors.js';
import { MessageEvent, MessageExitPID } from '../gen/messages.js';
import { TerminateReasonNormal } from '../gen/errors.js';
import type { ProcessOptions } from '../gen/options.js';
import { PID } from '../gen/pid.js';
import { MessagePriority } from '../gen/priority.js';
import { MailboxKind, type Process, type ProcessFactory } from '../gen/process.js';
import { ProcessID } from '../gen/processid.js';
import { Pool, wakeToRebalance } from '../act/pool.js';
import { clusterNodeOf } from './node.js';

/** Registered name of the {@link PoolEventRelay} every cluster node runs. */
export const POOL_EVENT_RELAY = 'cluster_pool_events' as Atom;

/** What a ClusterPool sends a relay to retire worker `[RETIRE, worker]` of the relay's node. */
const RETIRE = 'ergo-ts.cluster-pool.retire';

/** The running ClusterPools of this thread or process (one cluster node each), to wake on node up. */
const pools = new Set<Process>();

/**
 * A node of the cluster came up (the launcher announced its route): every ClusterPool here
 * rebalances in its next turn. Called by the cluster node's entry (worker.ts).
 */
export function clusterNodeUp(): void {
  for (const p of pools) {
    try {
      wakeToRebalance(p);
    } catch {
      // Ending: its terminate removes it.
    }
  }
}

/**
 * Runs on every node of a cluster (registered as {@link POOL_EVENT_RELAY}, started before the
 * application module): takes `[worker, publisher, MessageEvent]` from a ClusterPool of another
 * node and queues the event into the local worker's mailbox as an event from its publisher, so
 * the worker's `handleEvent` runs as it would for a worker of the pool's node. A worker that is
 * gone drops it (its pool replaces it); anything else is logged and dropped.
 */
export class PoolEventRelay extends Actor {
  override handleMessage(from: PID, m: unknown): void {
    if (Array.isArray(m) && m.length === 2 && m[0] === RETIRE && m[1] instanceof PID) return this.#retire(m[1]);
    if (!Array.isArray(m) || m.length !== 3 || !(m[0] instanceof PID) || !(m[1] instanceof PID)) {
      this.log.warning('cluster pool event relay: unexpected message from %s dropped', from.toString());
      return;
    }
    const [worker, publisher, event] = m as [PID, PID, unknown];
    if (!(event instanceof MessageEvent) || worker.node !== this.node.name) {
      this.log.warning('cluster pool event relay: unexpected message from %s dropped', from.toString());
      return;
    }
    try {
      this.process.forward(worker, MailboxKind.Event, publisher, event, undefined, MessagePriority.Normal);
    } catch (e) {
      this.log.debug('cluster pool event relay: event for %s dropped (%s)', worker.toString(), String(e));
    }
  }

  /**
   * Queues a normal exit from the worker's parent (its pool) in the worker's main queue: it ends
   * after the mail that reached it before. (An exit signal would overtake that mail.)
   */
  #retire(worker: PID): void {
    if (worker.node !== this.node.name) return;
    try {
      const parent = this.node.processInfo(worker).parent;
      const exit = new MessageExitPID(parent, TerminateReasonNormal);
      this.process.forward(worker, MailboxKind.Exit, parent, exit, undefined, MessagePriority.Normal);
    } catch (e) {
      this.log.debug('cluster pool event relay: %s not retired (%s)', worker.toString(), String(e));
    }
  }
}

/**
 * A {@link Pool} spread over the cluster: each new worker goes to the node up with the fewest of
 * its workers, and when a node comes up (back after a crash, or started later) the pool moves
 * workers to it until the nodes differ by at most one (see `rebalance`; docs/cores.md).
 * Use it as a Pool (implement `init` returning
 * PoolOptions); the worker factory must be enabled on every node with
 * `cluster.enableSpawn(name, factory)` (the module runs on each node, so enabling it there does).
 * Outside a cluster it behaves as a plain Pool. Spawn fails with ErrIncorrect when the factory is
 * not enabled. The pool serves every node, and nodes outside the cluster: normal-priority
 * messages and calls go round-robin to the workers of all nodes. A sender of the pool's node is
 * kept (workers answer it directly); mail of another node to a worker of a third one is relayed —
 * a message arrives with the pool as its sender, a call is made by the pool, which passes the
 * reply, error or ErrTimeout (at the caller's deadline) back (see Pool.spawnWorker); a call
 * keeps its caller's important flag. Events the pool gets go round-robin to the workers of every
 * node too (Ergo's Pool forwards an event to one worker, as a message); one for a worker of
 * another node passes through that node's `cluster_pool_events` process (every cluster node runs
 * one), so it may overtake, or be overtaken by, mail the pool forwards to that worker directly.
 */
export abstract class ClusterPool extends Pool {
  #next = 0;

  override processInit(process: Process, args: unknown[]): unknown {
    if (clusterNodeOf(process.node) !== null) pools.add(process);
    return super.processInit(process, args);
  }

  override processTerminate(reason: Error): unknown {
    pools.delete(this.process);
    return super.processTerminate(reason);
  }

  /** Workers in the rotation by node, for every node up (0 for a node without one). */
  #counts(up: Atom[]): Map<Atom, number> {
    const counts = new Map<Atom, number>(up.map((n) => [n, 0]));
    for (const w of this.workers()) if (counts.has(w.node)) counts.set(w.node, counts.get(w.node)! + 1);
    return counts;
  }

  /**
   * A node came up: while the nodes up differ by more than one worker, start one on the node
   * with the fewest and retire one of the node with the most (after the mail it was given; the
   * pool's own node first among equals). Stops when a worker could not be placed where it was
   * meant to go (that node is not reachable yet: it was started elsewhere and is retired again).
   */
  protected override async rebalance(): Promise<void> {
    const cluster = clusterNodeOf(this.node);
    if (cluster === null) return;
    const moves = this.workers().length;
    for (let i = 0; i < moves; i++) {
      const counts = this.#counts(cluster.nodes());
      const order = [...counts.entries()].sort((a, b) => a[1] - b[1]);
      const [, fewest] = order[0]!;
      const [, most] = order[order.length - 1]!;
      if (most - fewest <= 1) return;
      const added = await this.startWorker();
      if ((counts.get(added.node) ?? most) !== fewest) {
        this.retireWorker(added);
        this.log.warning(
          'ClusterPool: rebalancing stopped (a worker meant for a node with fewer went to %s)',
          added.node,
        );
        return;
      }
      // From the fullest node (this one first among equals: its exit is queued locally), newest first.
      const fullest = order.filter(([, c]) => c === most).map(([n]) => n);
      const from = fullest.includes(this.node.name) ? this.node.name : fullest[0]!;
      const victim = this.workers()
        .reverse()
        .find((w) => w.node === from && !w.equals(added));
      if (victim !== undefined) this.retireWorker(victim);
    }
  }

  /** Asks the relay of the worker's node to end it after the mail it has (see PoolEventRelay). */
  protected override retireRemoteWorker(pid: PID): void {
    if (clusterNodeOf(this.node) === null) return super.retireRemoteWorker(pid);
    try {
      this.send(new ProcessID(POOL_EVENT_RELAY, pid.node), [RETIRE, pid]);
    } catch {
      // That node is unreachable: the worker ends with it (its exit is not replaced).
    }
  }

  /** Sends the event to the relay of the worker's node (throws only when that node is unreachable). */
  protected override forwardEvent(pid: PID, from: PID, event: MessageEvent): void {
    if (clusterNodeOf(this.node) === null) return super.forwardEvent(pid, from, event);
    this.send(new ProcessID(POOL_EVENT_RELAY, pid.node), [pid, from, event]);
  }

  protected override async spawnWorker(
    factory: ProcessFactory,
    options: ProcessOptions,
    args: unknown[],
  ): Promise<PID> {
    const cluster = clusterNodeOf(this.node);
    if (cluster === null) return super.spawnWorker(factory, options, args);
    // The node up with the fewest workers of this pool; among equals, the next in round-robin order.
    const nodes = cluster.nodes();
    const counts = this.#counts(nodes);
    const start = this.#next++ % nodes.length;
    let on = nodes[start]!;
    for (let i = 1; i < nodes.length; i++) {
      const n = nodes[(start + i) % nodes.length]!;
      if (counts.get(n)! < counts.get(on)!) on = n;
    }
    if (on === this.node.name) return super.spawnWorker(factory, options, args);
    const name = cluster.nameOf(factory);
    if (name === undefined)
      throw ErrIncorrect.with('ClusterPool: enable the worker factory with cluster.enableSpawn(name, factory)');
    const { linkParent: _p, linkChild: _c, ...rest } = options;
    let pid: PID;
    try {
      pid = await (await this.node.network().getNode(on)).spawn(name, rest, ...args);
    } catch (e) {
      // That node is going down (its down notice may not have come yet): keep the pool whole here.
      this.log.warning('ClusterPool: worker on %s failed (%s), starting it here', on, String(e));
      return super.spawnWorker(factory, options, args);
    }
    this.link(pid); // both ways: a dead worker (or node) is replaced, a dead pool ends its workers
    return pid;
  }
}
