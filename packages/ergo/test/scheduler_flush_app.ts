// The application module of scheduler_flush.test.ts, run on both nodes of a two-node cluster.
// Node 2 holds `probe`: it stores each number it receives in a SharedArrayBuffer slot that both
// threads see. Node 1 runs the attempts: in one drain of its scheduler, `starter` sends attempt
// k to the probe, two local processes then ping-pong NPING times (each turn a little CPU work,
// each turn its own batch), and `waiter` finally blocks its thread until the probe has stored k
// (or gives up after WAIT_MS). The probe can only store k if node 1 wrote its batch to the link
// while that drain was still running: the waiter blocks the drain itself.

import { BroadcastChannel } from 'node:worker_threads';
import { Actor, ProcessID, type PID } from '../src/index.js';
import type { ClusterNode } from '../src/cluster/index.js';
import { DRAIN_BUDGET_MS } from '../src/node/scheduler.js';
import { setTimeout as sleep } from 'node:timers/promises';

export const CHANNEL = 'ergo-ts-test-scheduler-flush';
/** Turns of the local ping-pong; each does SPIN_US of work and is one batch. */
const NPING = 300;
const SPIN_US = 10;
/** How long the waiter blocks for the probe at most: a liveness bound, not a measured figure. */
const WAIT_MS = 10_000;
const ATTEMPTS = 200;

export interface FlushArgs {
  slot: SharedArrayBuffer;
}

/** What node 1 reports: the verdict and how many attempts it took. */
export interface FlushResult {
  /** pass: the probe got the message during the drain; fail: it did not; none: no attempt ran in one drain. */
  verdict: 'pass' | 'fail' | 'none';
  attempts: number;
  error?: string;
}

/** This thread's view of the shared slot (each node is a thread with its own copy of this module). */
let slot = new Int32Array(new SharedArrayBuffer(4));

class Probe extends Actor {
  override handleMessage(_from: PID, m: unknown): void {
    Atomics.store(slot, 0, m as number);
    Atomics.notify(slot, 0);
  }
}

function spin(): void {
  const end = performance.now() + SPIN_US / 1000;
  while (performance.now() < end);
}

/** One side of the ping-pong: [k, left] → spin, then pass [k, left - 1] on (or wake the waiter). */
class Pinger extends Actor {
  override handleMessage(_from: PID, m: unknown): void {
    const [k, left, other, waiter] = m as [number, number, PID, PID];
    spin();
    if (left === 0) this.send(waiter, k);
    else this.send(other, [k, left - 1, this.pid, waiter]);
  }
}

interface Attempt {
  /** Event-loop turns since the attempt was started (0: still in the drain it started). */
  turns: () => number;
  done: (seen: boolean, sameDrain: boolean) => void;
}

/** The attempt under way on node 1. */
let current: Attempt | null = null;

class Waiter extends Actor {
  override handleMessage(_from: PID, m: unknown): void {
    const a = current!;
    const k = m as number;
    // Read before blocking: still 0 means this runs in the drain that sent to the probe.
    const sameDrain = a.turns() === 0;
    const end = Date.now() + WAIT_MS;
    let v: number;
    while ((v = Atomics.load(slot, 0)) !== k) {
      const left = end - Date.now();
      if (left <= 0) break;
      Atomics.wait(slot, 0, v, left);
    }
    a.done(v === k, sameDrain);
  }
}

class Starter extends Actor {
  override handleMessage(_from: PID, m: unknown): void {
    const [k, probe, a, b, waiter] = m as [number, ProcessID, PID, PID, PID];
    this.send(probe, k);
    this.send(a, [k, NPING, b, waiter]);
  }
}

export default async function app(cluster: ClusterNode): Promise<void> {
  const node = cluster.node;
  const args = cluster.args as FlushArgs;
  slot = new Int32Array(args.slot);
  await node.spawnRegister('probe', Probe);
  if (cluster.index !== 0) return;
  const ch = new BroadcastChannel(CHANNEL);
  ch.unref();
  setImmediate(() => {
    void (async (): Promise<FlushResult> => {
      await cluster.whenUp(cluster.size);
      const peer = cluster.nodes().find((n) => n !== node.name)!;
      await node.network().getNode(peer);
      const probe = new ProcessID('probe', peer);
      const starter = await node.spawn(Starter, {});
      const a = await node.spawn(Pinger, {});
      const b = await node.spawn(Pinger, {});
      const waiter = await node.spawn(Waiter, {});
      for (let k = 1; k <= ATTEMPTS; k++) {
        // A quiet gap longer than a budget: the attempt opens a fresh slice (whole budget).
        await sleep(DRAIN_BUDGET_MS + 2);
        const r = await new Promise<{ seen: boolean; sameDrain: boolean }>((resolve) => {
          let turns = 0;
          // Runs once the drain has handed the thread back to the event loop.
          setImmediate(() => turns++);
          current = { turns: () => turns, done: (seen, sameDrain) => resolve({ seen, sameDrain }) };
          node.send(starter, [k, probe, a, b, waiter]);
        });
        if (!r.sameDrain) continue; // the drain yielded (budget) before the waiter: no verdict
        return { verdict: r.seen ? 'pass' : 'fail', attempts: k };
      }
      return { verdict: 'none', attempts: ATTEMPTS };
    })().then(
      (r) => ch.postMessage(r),
      (e: unknown) => ch.postMessage({ verdict: 'none', attempts: 0, error: String(e) }),
    );
  });
}
