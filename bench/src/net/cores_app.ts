// The application module of the cores bench (suites/cores.ts), run on every node of a cluster
// started with ergo-ts/cluster. Node 1 drives the measured rounds and posts each round's figure on
// a BroadcastChannel (threads of one process share it); the other nodes only host processes.
//
// send: a source on node 1 streams N small messages to a sink on node 2 (at most WINDOW in
// flight, the sink acks every ACK_EVERY), clocked until the last ack. cpu: JOBS messages, each
// ~20 µs of CPU work (a fixed computation), spread over WORKERS_PER_NODE workers on every
// node of the cluster (at most CPU_WINDOW / workers in flight per worker), clocked until every job is done.

import { BroadcastChannel } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Actor, ProcessID, type PID, type Ref } from 'ergo-ts';
import type { ClusterNode } from 'ergo-ts/cluster';

export const CHANNEL = 'ergo-ts-bench-cores';
const SEND_N = 1_000_000;
const SEND_WINDOW = 50_000;
const ACK_EVERY = 10_000;
/**
 * Steps of {@link work} per job: ≈ 20 µs of CPU on the bench machine (Node 24, measured with
 * process.threadCpuUsage). A constant, not calibrated per run, so both columns (run in separate
 * processes) do exactly the same work.
 */
export const JOB_STEPS = 16_000;
export const JOBS = 100_000;
const CPU_WINDOW = 4_000;
const WORKERS_PER_NODE = 4;

export interface BenchArgs {
  scenario: 'send' | 'cpu';
  rounds: number;
  /** Nodes of the cluster: node 1 waits until every one is up before it spreads the work. */
  nodes: number;
}

/** One node's share of a cpu round: jobs it ran, its thread's CPU time, its event-loop utilisation. */
export interface NodeShare {
  jobs: number;
  cpuMs: number;
  elu: number;
  /** The fold of every job's result on the node: returned so the computation is never dropped. */
  check: number;
}

/** This thread's CPU time in ms (Node ≥ 23.9; NaN before: process.cpuUsage counts every thread). */
const threadCpuMs: () => number = (() => {
  const f = (process as { threadCpuUsage?: () => { user: number; system: number } }).threadCpuUsage;
  if (typeof f !== 'function') return () => NaN;
  return () => {
    const c = f.call(process);
    return (c.user + c.system) / 1000;
  };
})();

/** Jobs run by the burners of this node (reset by the stat process at each round). */
let jobsHere = 0;

class Sink extends Actor {
  n = 0;
  override handleMessage(from: PID, m: unknown): void {
    if (m === 'reset') {
      this.n = 0;
      return;
    }
    if (++this.n % ACK_EVERY === 0) this.send(from, this.n);
  }
}

/**
 * The job: a fixed amount of computation, not a spin on the clock. A clock spin ends after 20 µs
 * of wall time however little CPU the thread got: two nodes sharing one core would each finish
 * their jobs "on time" and the row would show a gain the cores did not give.
 */
export function work(steps: number): number {
  let x = steps;
  for (let i = 0; i < steps; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;
  return x;
}

/** Folds every job's result so the computation cannot be dropped. */
let folded = 0;

class Burner extends Actor {
  override handleMessage(from: PID, m: unknown): void {
    folded ^= work(JOB_STEPS); // the job: ~20 µs of CPU
    jobsHere++;
    this.send(from, m);
  }
}

/**
 * Each node's share of a round, so the row shows that the work was split and both threads were
 * busy: thread CPU time holds under outside load, and event-loop utilisation near 1 means the
 * node never waited for work.
 */
class Stat extends Actor {
  private cpu0 = threadCpuMs();
  private elu0 = performance.eventLoopUtilization();
  override handleCall(_from: PID, _ref: Ref, m: unknown): unknown {
    if (m === 'reset') {
      jobsHere = 0;
      this.cpu0 = threadCpuMs();
      this.elu0 = performance.eventLoopUtilization();
      return true;
    }
    const share: NodeShare = {
      jobs: jobsHere,
      cpuMs: threadCpuMs() - this.cpu0,
      elu: performance.eventLoopUtilization(this.elu0).utilization,
      check: folded,
    };
    return share;
  }
}

/** Sends `total` messages to `targets` round-robin, keeping at most `window` unanswered. */
class Driver extends Actor {
  private targets: (PID | ProcessID)[] = [];
  private total = 0;
  private window = 0;
  private sent = 0;
  private done = 0;
  private ackIsCount = false;
  private finish: () => void = () => undefined;

  override init(
    targets: (PID | ProcessID)[],
    total: number,
    window: number,
    ackIsCount: boolean,
    finish: () => void,
  ): void {
    this.targets = targets;
    this.total = total;
    this.window = window;
    this.ackIsCount = ackIsCount;
    this.finish = finish;
    // The sink's count starts again from this process, ahead of the stream on the same ordered
    // route: a reset sent by another process could take another TCP link of the pool and
    // arrive after some of the stream (the round then never ends, or ends on a stale ack).
    if (ackIsCount) for (const t of targets) this.send(t, 'reset');
    this.send(this.pid, 'go');
  }

  override handleMessage(_from: PID, m: unknown): void {
    if (m !== 'go') this.done = this.ackIsCount ? (m as number) : this.done + 1;
    if (this.done >= this.total) {
      this.finish();
      return;
    }
    const t = this.targets;
    while (this.sent < this.total && this.sent - this.done < this.window) {
      this.send(t[this.sent % t.length]!, this.sent);
      this.sent++;
    }
  }
}

/**
 * Sends `total` jobs to `workers`, at most `window / workers.length` unanswered per worker (a job
 * is the worker's index, echoed back). Per-worker windows, not one shared window: with a shared
 * one, a node whose thread the OS holds back collects every free slot, and the other node runs
 * dry — a measure of the machine's scheduling, not of the cluster.
 */
class JobDriver extends Actor {
  private workers: PID[] = [];
  private inFlight: number[] = [];
  private perWorker = 0;
  private left = 0;
  private done = 0;
  private total = 0;
  private finish: () => void = () => undefined;

  override init(workers: PID[], total: number, window: number, finish: () => void): void {
    this.workers = workers;
    this.inFlight = workers.map(() => 0);
    this.perWorker = Math.max(1, Math.floor(window / workers.length));
    this.total = total;
    this.left = total;
    this.finish = finish;
    for (let w = 0; w < workers.length; w++) this.fill(w);
  }

  private fill(w: number): void {
    const pid = this.workers[w]!;
    while (this.left > 0 && this.inFlight[w]! < this.perWorker) {
      this.send(pid, w);
      this.inFlight[w]!++;
      this.left--;
    }
  }

  override handleMessage(_from: PID, m: unknown): void {
    const w = m as number;
    this.inFlight[w]!--;
    if (++this.done >= this.total) {
      this.finish();
      return;
    }
    this.fill(w);
  }
}

export default async function app(cluster: ClusterNode): Promise<void> {
  const node = cluster.node;
  const args = cluster.args as BenchArgs;
  cluster.enableSpawn('burner', Burner);
  await node.spawnRegister('sink', Sink);
  await node.spawnRegister('stat', Stat);
  if (cluster.index !== 0) return;
  const ch = new BroadcastChannel(CHANNEL);
  ch.unref();
  const once = (targets: (PID | ProcessID)[], total: number, window: number, ackIsCount: boolean): Promise<number> =>
    new Promise((resolve, reject) => {
      const t0 = performance.now();
      node
        .spawn(Driver, {}, targets, total, window, ackIsCount, () => resolve((total * 1000) / (performance.now() - t0)))
        .catch(reject);
    });
  // Started after the module returns, so the launcher sees every node up first.
  setImmediate(() => {
    void (async () => {
      try {
        // The other nodes are announced after every module ran: without this wait, nodes() may
        // hold this node only, and every worker would be spawned here.
        await cluster.whenUp(args.nodes);
        const others = cluster.nodes().filter((n) => n !== node.name);
        for (const o of others) await node.network().getNode(o);
        if (args.scenario === 'send') {
          const sink = new ProcessID('sink', others[0]!);
          for (let r = 0; r < args.rounds; r++) {
            ch.postMessage({ value: await once([sink], SEND_N, SEND_WINDOW, true) });
          }
        } else {
          const workers: PID[] = [];
          for (const n of cluster.nodes())
            for (let i = 0; i < WORKERS_PER_NODE; i++) workers.push(await cluster.spawnOn(n, 'burner'));
          const stats = cluster.nodes().map((n) => new ProcessID('stat', n));
          for (let r = 0; r < args.rounds; r++) {
            for (const s of stats) await node.call(s, 'reset');
            const t0 = performance.now();
            const value = await new Promise<number>((resolve, reject) => {
              node
                .spawn(JobDriver, {}, workers, JOBS, CPU_WINDOW, () =>
                  resolve((JOBS * 1000) / (performance.now() - t0)),
                )
                .catch(reject);
            });
            const shares: NodeShare[] = [];
            for (const s of stats) shares.push((await node.call(s, 'get')) as NodeShare);
            ch.postMessage({ value, shares });
          }
        }
      } catch (e) {
        ch.postMessage({ error: e instanceof Error ? e.message : String(e) });
      }
    })();
  });
}
