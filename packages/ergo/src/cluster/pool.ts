// ClusterPool: a Pool whose workers are spread over the nodes of the cluster, round-robin from
// this node. Mail is forwarded as by any Pool — with its original sender and call ref, so a
// worker on another node answers a caller of the pool's node directly; mail of a third node is
// relayed by the pool (act/pool.ts). A worker on another node is linked to the pool: when it
// dies, or its node goes down, the pool starts a replacement on the next node up.

import { ErrIncorrect } from '../gen/errors.js';
import type { ProcessOptions } from '../gen/options.js';
import type { PID } from '../gen/pid.js';
import type { ProcessFactory } from '../gen/process.js';
import { Pool } from '../act/pool.js';
import { clusterNodeOf } from './node.js';

/**
 * A {@link Pool} spread over the cluster. Use it as a Pool (implement `init` returning
 * PoolOptions); the worker factory must be enabled on every node with
 * `cluster.enableSpawn(name, factory)` (the module runs on each node, so enabling it there does).
 * Outside a cluster it behaves as a plain Pool. Spawn fails with ErrIncorrect when the factory is
 * not enabled. The pool serves every node, and nodes outside the cluster: normal-priority
 * messages and calls go round-robin to the workers of all nodes. A sender of the pool's node is
 * kept (workers answer it directly); mail of another node to a worker of a third one is relayed —
 * a message arrives with the pool as its sender, a call is made by the pool, which passes the
 * reply, error or ErrTimeout (at the caller's deadline) back (see Pool.spawnWorker).
 */
export abstract class ClusterPool extends Pool {
  #next = 0;

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
