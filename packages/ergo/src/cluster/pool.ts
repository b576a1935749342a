// ClusterPool: a Pool whose workers are spread over the nodes of the cluster, round-robin from
// this node. Mail is forwarded as by any Pool — with its original sender and call ref, so a
// worker on another node answers a caller of the pool's node directly; mail of a third node is
// relayed by the pool (act/pool.ts). A worker on another node is linked to the pool: when it
// dies, or its node goes down, the pool starts a replacement on the next node up. Events reach
// workers of every node alike: ENP cannot address an event to one process, so the pool hands an
// event for a worker of another node to the PoolEventRelay of that node, which queues it there
// as the event it is.

import { Actor } from '../act/actor.js';
import type { Atom } from '../gen/atom.js';
import { ErrIncorrect } from '../gen/errors.js';
import { MessageEvent } from '../gen/messages.js';
import type { ProcessOptions } from '../gen/options.js';
import { PID } from '../gen/pid.js';
import { MessagePriority } from '../gen/priority.js';
import { MailboxKind, type ProcessFactory } from '../gen/process.js';
import { ProcessID } from '../gen/processid.js';
import { Pool } from '../act/pool.js';
import { clusterNodeOf } from './node.js';

/** Registered name of the {@link PoolEventRelay} every cluster node runs. */
export const POOL_EVENT_RELAY = 'cluster_pool_events' as Atom;

/**
 * Runs on every node of a cluster (registered as {@link POOL_EVENT_RELAY}, started before the
 * application module): takes `[worker, publisher, MessageEvent]` from a ClusterPool of another
 * node and queues the event into the local worker's mailbox as an event from its publisher, so
 * the worker's `handleEvent` runs as it would for a worker of the pool's node. A worker that is
 * gone drops it (its pool replaces it); anything else is logged and dropped.
 */
export class PoolEventRelay extends Actor {
  override handleMessage(from: PID, m: unknown): void {
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
}

/**
 * A {@link Pool} spread over the cluster. Use it as a Pool (implement `init` returning
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
    const nodes = cluster.nodes();
    const on = nodes[this.#next++ % nodes.length]!;
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
