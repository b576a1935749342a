// The application module of the ClusterPool rebalancing test (cluster_rebalance.test.ts): `job`
// workers that do a fixed computation and answer with their node, `spread`, a ClusterPool of
// them that tells its workers' nodes on a high-priority call, and a gate: a node (re)starting
// while `<args.gate>/hold-<index>` exists waits until the test removes that file, so the test
// decides when a killed node comes back. Each incarnation leaves `stage-<index>-<pid>-app` (its
// application started) and `…-released` (past the gate) in that folder for the test's report.

import { existsSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Actor, type PID, type Ref } from '../src/index.js';
import { ClusterPool, type ClusterNode } from '../src/cluster/index.js';
import type { PoolOptions } from '../src/act/pool.js';

let self: ClusterNode | null = null;

/** `[id, rounds]`: computes `rounds` rounds (a job that takes CPU), answers `[node, id]`. */
class Job extends Actor {
  override handleCall(_from: PID, _ref: Ref, req: unknown): unknown {
    const [id, rounds] = req as [number, number];
    let x = id;
    for (let i = 0; i < rounds; i++) x = (x * 1103515245 + 12345) % 2147483648;
    return [this.node.name, id, x >= 0];
  }
}

/** `size` Job workers over the cluster's nodes; a high-priority `'where'` call lists their nodes. */
class Spread extends ClusterPool {
  override async init(size = 4): Promise<PoolOptions> {
    await self!.whenUp(self!.size);
    return { poolSize: size, workerFactory: Job };
  }
  override handleCall(_from: PID, _ref: Ref, req: unknown): unknown {
    return req === 'where' ? this.workers().map((w) => w.node) : undefined;
  }
}

/** How often the gate also looks for its file, ms (a directory event can be missed). */
const GATE_CHECK_MS = 100;

/**
 * Resolves once `file` does not exist (at once if it never did): on the directory's event, or at
 * the next periodic look. The look is there because the event alone once held a node at its gate
 * until the test file was killed (600 s, under load in CI): a removal it never reported.
 */
function released(file: string): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (existsSync(file)) return;
      w.close();
      clearInterval(timer);
      resolve();
    };
    const w = watch(join(file, '..'), check);
    const timer = setInterval(check, GATE_CHECK_MS);
    check();
  });
}

export default async function app(cluster: ClusterNode): Promise<void> {
  self = cluster;
  cluster.enableSpawn('job', Job);
  cluster.enableSpawn('spread', Spread);
  const gate = (cluster.args as { gate?: string } | undefined)?.gate;
  if (gate === undefined) return;
  // Where this incarnation got to, for the test's report if it does not come back in time.
  const stage = (what: string): void => writeFileSync(join(gate, `stage-${cluster.index}-${process.pid}-${what}`), '');
  stage('app');
  await released(join(gate, `hold-${cluster.index}`));
  stage('released');
}
