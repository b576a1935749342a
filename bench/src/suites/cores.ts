// Every core of a host (ergo-ts/cluster): nodes of one cluster in worker threads of this process.
//
// send: a stream of small messages from a process on node 1 to one on node 2, over the in-host
// transport (ENP over a shared-memory ring per direction) vs loopback TCP between the same two
// thread nodes (transport: 'tcp'): the same message, the same two worker-thread nodes, only the
// transport differs. Goal: in-host ≥ ×2 of TCP (the "vs loopback TCP" column).
// cpu: a CPU-bound workload, each message ~20 µs of work, on one node vs a cluster of
// `availableParallelism()` nodes (same driver, workers spread over the nodes). Goal on 2 cores:
// ≥ ×1.8 (the "vs 1 node" column). The Go peer ergo-bench has no CPU-bound scenario, so this row has no Go column.

import { availableParallelism } from 'node:os';
import { BroadcastChannel } from 'node:worker_threads';
import { startCluster } from 'ergo-ts/cluster';
import { reportSamples } from '../lib/measure.js';
import type { Report, ScenarioSpec, SuiteContext } from '../lib/types.js';
import { CHANNEL, type BenchArgs } from '../net/cores_app.js';

export const G_CORES = 'every core of a host (ergo-ts/cluster)';
export const N_SEND = 'send 1 → 1 between two nodes of one host (thread nodes)';
export const N_CPU = `CPU-bound messages (~20 µs each): 1 node vs ${availableParallelism()} nodes`;

export const scenarios: ScenarioSpec[] = [
  { id: 'cores-send', peers: ['ergo-ts', 'tcp'], timeout: 300 },
  { id: 'cores-cpu', peers: ['ergo-ts', '1-node'], timeout: 300 },
];

async function measure(args: BenchArgs, nodes: number, transport: 'inhost' | 'tcp'): Promise<number[]> {
  const ch = new BroadcastChannel(CHANNEL);
  const values: number[] = [];
  const done = new Promise<void>((resolve, reject) => {
    ch.onmessage = (e: unknown) => {
      const d = (e as { data: { value?: number; error?: string } }).data;
      if (d.error !== undefined) reject(new Error(d.error));
      else values.push(d.value!);
      if (values.length === args.rounds) resolve();
    };
  });
  const cluster = await startCluster({
    nodes,
    transport,
    signals: false,
    module: new URL('../net/cores_app.js', import.meta.url),
    args,
    node: { network: { registrar: null }, log: { level: 'warning' } },
  });
  try {
    await done;
  } finally {
    ch.close();
    await cluster.stop();
  }
  return values;
}

export async function coresSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  const c = ctx ?? { scenario: undefined, peer: 'ergo-ts', rounds: 5, warmup: 2, quick: false };
  const rounds = c.warmup + c.rounds;
  if (c.scenario === undefined || c.scenario === 'cores-send') {
    // ergo-ts: the in-host transport; tcp: loopback TCP between the same two thread nodes.
    const tcp = c.scenario !== undefined && c.peer === 'tcp';
    const v = await measure({ scenario: 'send', rounds, nodes: 2 }, 2, tcp ? 'tcp' : 'inhost');
    reportSamples(
      report,
      { group: G_CORES, name: N_SEND, unit: 'msg/s', peer: tcp ? 'tcp' : undefined },
      v.slice(c.warmup),
    );
  }
  if (c.scenario === undefined || c.scenario === 'cores-cpu') {
    // ergo-ts: a cluster of one node per core; 1-node: the same driver and workers on one node.
    const one = c.scenario !== undefined && c.peer === '1-node';
    const nodes = one ? 1 : availableParallelism();
    const v = await measure({ scenario: 'cpu', rounds, nodes }, nodes, 'inhost');
    reportSamples(
      report,
      {
        group: G_CORES,
        name: N_CPU,
        unit: 'msg/s',
        peer: one ? '1-node' : undefined,
        ...(one ? {} : { note: 'Go ergo-bench has no CPU-bound scenario' }),
      },
      v.slice(c.warmup),
    );
  }
}
