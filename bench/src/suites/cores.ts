// Every core of a host (ergo-ts/cluster): nodes of one cluster in worker threads of this process.
//
// send: a stream of small messages from a process on node 1 to one on node 2, over the in-host
// transport (ENP frames over MessagePorts, transferred buffers) vs loopback TCP between the same
// two thread nodes (transport: 'tcp'). Goal: in-host ≥ ×2 of TCP (the "vs loopback TCP" column).
// cpu: a CPU-bound workload, each message ~20 µs of work, on one node vs a cluster of
// `availableParallelism()` nodes (same driver, workers spread over the nodes). Goal on 2 cores:
// ≥ ×1.8 (the "vs 1 node" column). The Go peer ergo-bench has no CPU-bound scenario, so this row has no Go column.

import { availableParallelism } from 'node:os';
import { BroadcastChannel, Worker } from 'node:worker_threads';
import { startCluster } from 'ergo-ts/cluster';
import { reportSamples } from '../lib/measure.js';
import type { FigureSpec, Report, ScenarioSpec, SuiteContext } from '../lib/types.js';
import { CHANNEL, JOB_STEPS, JOBS, work, type BenchArgs, type NodeShare } from '../net/cores_app.js';

export const G_CORES = 'every core of a host (ergo-ts/cluster)';
export const N_SEND = 'send 1 → 1 between two nodes of one host (thread nodes)';
export const N_CPU = `CPU-bound messages (~20 µs each): 1 node vs ${availableParallelism()} nodes`;

export const scenarios: ScenarioSpec[] = [
  { id: 'cores-send', peers: ['ergo-ts', 'tcp'], timeout: 300 },
  { id: 'cores-cpu', peers: ['ergo-ts', '1-node', 'threads'], timeout: 300 },
];

/** Issue 47: in-host thread nodes at least twice loopback TCP between the same two nodes. */
export const figures: FigureSpec[] = [
  { group: G_CORES, name: N_SEND, target: { better: 'higher', ratios: [{ peer: 'tcp', value: 2 }] } },
];

interface Measured {
  values: number[];
  /** cpu scenario: each round's per-node shares. */
  shares: NodeShare[][];
}

async function measure(args: BenchArgs, transport: 'inhost' | 'tcp'): Promise<Measured> {
  const ch = new BroadcastChannel(CHANNEL);
  const values: number[] = [];
  const shares: NodeShare[][] = [];
  const done = new Promise<void>((resolve, reject) => {
    ch.onmessage = (e: unknown) => {
      const d = (e as { data: { value?: number; shares?: NodeShare[]; error?: string } }).data;
      if (d.error !== undefined) reject(new Error(d.error));
      else {
        values.push(d.value!);
        if (d.shares !== undefined) shares.push(d.shares);
      }
      if (values.length === args.rounds) resolve();
    };
  });
  const cluster = await startCluster({
    nodes: args.nodes,
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
  return { values, shares };
}

/**
 * The note of the cpu row: per node, over the measured rounds, its share of the jobs, its
 * thread's CPU time and its event-loop utilisation (medians) — the work must be split evenly and
 * every node busy (utilisation near 1) for the figure to mean "the cores ran at once".
 */
function sharesNote(rounds: NodeShare[][]): string {
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? 0;
  const n = rounds[0]?.length ?? 0;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const total = (r: NodeShare[]): number => r.reduce((a, s) => a + s.jobs, 0);
    const share = med(rounds.map((r) => r[i]!.jobs / total(r)));
    const cpu = med(rounds.map((r) => r[i]!.cpuMs));
    const elu = med(rounds.map((r) => r[i]!.elu));
    const cpuText = Number.isNaN(cpu) ? '' : `, thread CPU ${cpu.toFixed(0)} ms`;
    parts.push(`node ${i + 1}: ${(share * 100).toFixed(0)} % of jobs${cpuText}, ELU ${elu.toFixed(2)}`);
  }
  return `per round ${parts.join('; ')}`;
}

/**
 * The machine's own ceiling for the cpu row: the same jobs in `availableParallelism()` plain
 * worker threads, no node, no message. On a shared machine this says how many cores the OS gave
 * in that minute; the cluster's figure is to be read against it.
 */
async function bareThreads(rounds: number): Promise<number[]> {
  const n = availableParallelism();
  const src = `const { parentPort, workerData } = require('node:worker_threads');
${work.toString()}
let f = 0;
for (let j = 0; j < workerData; j++) f ^= work(${JOB_STEPS});
parentPort.postMessage(f);`;
  const values: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    await Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<void>((resolve, reject) => {
            const w = new Worker(src, { eval: true, workerData: Math.ceil(JOBS / n) });
            w.once('message', () => resolve());
            w.once('error', reject);
          }),
      ),
    );
    values.push((JOBS * 1000) / (performance.now() - t0));
  }
  return values;
}

export async function coresSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  const c = ctx ?? { scenario: undefined, peer: 'ergo-ts', rounds: 5, warmup: 2, quick: false };
  const rounds = c.warmup + c.rounds;
  if (c.scenario === undefined || c.scenario === 'cores-send') {
    // ergo-ts: the in-host transport; tcp: loopback TCP between the same two thread nodes.
    const tcp = c.scenario !== undefined && c.peer === 'tcp';
    const { values: v } = await measure({ scenario: 'send', rounds, nodes: 2 }, tcp ? 'tcp' : 'inhost');
    reportSamples(
      report,
      { group: G_CORES, name: N_SEND, unit: 'msg/s', peer: tcp ? 'tcp' : undefined },
      v.slice(c.warmup),
    );
  }
  if (c.scenario === undefined || c.scenario === 'cores-cpu') {
    // ergo-ts: a cluster of one node per core; 1-node: the same driver and workers on one node;
    // threads: the jobs alone in plain threads (what the machine gives).
    if (c.scenario !== undefined && c.peer === 'threads') {
      const v = await bareThreads(rounds);
      reportSamples(
        report,
        {
          group: G_CORES,
          name: N_CPU,
          unit: 'msg/s',
          peer: 'threads',
          note: `${availableParallelism()} plain worker threads, the same jobs, no messages`,
        },
        v.slice(c.warmup),
      );
      return;
    }
    const one = c.scenario !== undefined && c.peer === '1-node';
    const nodes = one ? 1 : availableParallelism();
    const m = await measure({ scenario: 'cpu', rounds, nodes }, 'inhost');
    const note = sharesNote(m.shares.slice(c.warmup));
    reportSamples(
      report,
      {
        group: G_CORES,
        name: N_CPU,
        unit: 'msg/s',
        peer: one ? '1-node' : undefined,
        note: one ? `1 node, ${note}` : `Go ergo-bench has no CPU-bound scenario; ${note}`,
      },
      m.values.slice(c.warmup),
    );
  }
}
