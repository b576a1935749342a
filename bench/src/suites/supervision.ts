// Supervision (Erlang peer: bench/erlang/bench_supervision.erl).
//
// Restart throughput: a one-for-one supervisor with one transient child. The child, right after
// init, sends itself "crash" and then stops with an abnormal reason; the supervisor restarts it,
// the new child does the same, until RESTARTS restarts have happened (a shared countdown, ticked
// in init); a round runs LIFETIMES such supervisors one after another. Figure: crash → restart
// cycles per second. Intensity is set out of reach so the limit never trips. Erlang: a
// one_for_one supervisor whose gen_server child does the same ({stop, crash, State} from
// handle_info). OTP keeps one timestamp per restart inside the period and filters that list on
// every restart, so its cost per restart grows with the restarts already made in the period; a
// supervisor lifetime is therefore kept at RESTARTS (1000) restarts, in every peer.
//
// Pool throughput: a Pool of 8 workers; a sender pushes MESSAGES messages to the pool in chunks
// of 1000 (a self-message between chunks, so the sender yields); the pool forwards them
// round-robin; workers count in a shared countdown. Figure: messages/s through the pool. Neither
// nact nor OTP has a pool behaviour, so ergo-ts runs alone.

import {
  Actor,
  childSpec,
  ErgoError,
  Pool,
  poolOptions,
  startNode,
  Supervisor,
  SupervisorStrategy,
  SupervisorType,
  type Node,
  type PID,
  type SupervisorSpec,
} from 'ergo-ts';
import { deferred, rate, reportSamples, runRounds } from '../lib/measure.js';
import type { FigureSpec, Report, ScenarioSpec, SuiteContext } from '../lib/types.js';

const RESTARTS = 1000;
const LIFETIMES = 10;
const POOL_SIZE = 8;
const MESSAGES = 1_000_000;
const CHUNK = 1000;

const G_SUPERVISION = 'supervision and pools';
const N_RESTART = 'one-for-one restart (crash → restart)';
const N_POOL = `pool of ${POOL_SIZE} workers (messages through)`;

export const figures: FigureSpec[] = [];

export const scenarios: ScenarioSpec[] = [
  {
    id: 'restart',
    peers: ['ergo-ts'],
    erlang: {
      module: 'bench_supervision',
      fun: 'restart',
      args: [RESTARTS, LIFETIMES],
      rows: { restart: { group: G_SUPERVISION, name: N_RESTART, unit: 'restarts/s' } },
    },
  },
  { id: 'pool', peers: ['ergo-ts'] },
];

function startBenchNode(): Promise<Node> {
  return startNode('bench@localhost', { log: { defaultLogger: { disable: true } } });
}

/**
 * What is left of the current round (restarts, or messages to handle); whoever uses up the last
 * one resolves `done`.
 */
class Budget {
  left = 0;
  done = deferred();
  reset(n: number): Promise<void> {
    this.left = n;
    this.done = deferred();
    return this.done.promise;
  }
}

const CRASH = new ErgoError('BENCH_CRASH', 'crash');

class Crasher extends Actor {
  override init(budget: Budget): void {
    if (budget.left > 0) {
      budget.left--;
      this.send(this.pid, 'crash');
    } else {
      budget.done.resolve();
    }
  }

  override handleMessage(_from: PID, message: unknown): Error | undefined {
    return message === 'crash' ? CRASH : undefined;
  }
}

class RestartSup extends Supervisor {
  override init(budget: Budget, name: string): SupervisorSpec {
    return {
      type: SupervisorType.OneForOne,
      restart: { strategy: SupervisorStrategy.Transient, intensity: 1e9, period: 1 },
      // A fresh child name per lifetime: the previous child may still be on its way out.
      children: [childSpec({ name, factory: Crasher, args: [budget] })],
    };
  }
}

async function ergoRestart(report: Report, c: SuiteContext): Promise<void> {
  const node = await startBenchNode();
  try {
    const s = await runRounds(c, async () => {
      const t0 = performance.now();
      for (let i = 0; i < LIFETIMES; i++) {
        const budget = new Budget();
        const done = budget.reset(RESTARTS);
        const sup = await node.spawn(RestartSup, {}, budget, `crasher${i}`);
        await done;
        node.kill(sup);
      }
      return rate(RESTARTS * LIFETIMES, performance.now() - t0);
    });
    reportSamples(
      report,
      {
        group: G_SUPERVISION,
        name: N_RESTART,
        unit: 'restarts/s',
        note: `${LIFETIMES} supervisors × ${RESTARTS} restarts; child stops with an error right after init`,
      },
      s,
    );
  } finally {
    await node.stopForce();
  }
}

class PoolWorker extends Actor {
  private count!: Budget;
  override init(count: Budget): void {
    this.count = count;
  }
  override handleMessage(): void {
    if (--this.count.left === 0) this.count.done.resolve();
  }
}

class BenchPool extends Pool {
  override init(count: Budget) {
    return poolOptions({ poolSize: POOL_SIZE, workerFactory: PoolWorker, workerArgs: [count] });
  }
}

class Pusher extends Actor {
  private pool!: PID;
  private sent = 0;
  override init(pool: PID): void {
    this.pool = pool;
  }
  override handleMessage(_from: PID, message: unknown): void {
    if (message === 'go') this.sent = 0;
    const end = Math.min(MESSAGES, this.sent + CHUNK);
    for (let i = this.sent; i < end; i++) this.send(this.pool, i);
    this.sent = end;
    if (end < MESSAGES) this.send(this.pid, 'next');
  }
}

async function ergoPool(report: Report, c: SuiteContext): Promise<void> {
  const node = await startBenchNode();
  try {
    const count = new Budget();
    const pool = await node.spawn(BenchPool, {}, count);
    const pusher = await node.spawn(Pusher, {}, pool);
    const s = await runRounds(c, async () => {
      const done = count.reset(MESSAGES);
      const t0 = performance.now();
      node.send(pusher, 'go');
      await done;
      return rate(MESSAGES, performance.now() - t0);
    });
    reportSamples(
      report,
      {
        group: G_SUPERVISION,
        name: N_POOL,
        unit: 'msg/s',
        note: `${MESSAGES / 1e6}M messages, chunks of ${CHUNK}, round-robin forward`,
      },
      s,
    );
  } finally {
    await node.stopForce();
  }
}

export async function supervisionSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  if (ctx === undefined) throw new Error('the supervision suite runs per scenario');
  if (ctx.scenario === 'restart') await ergoRestart(report, ctx);
  else if (ctx.scenario === 'pool') await ergoPool(report, ctx);
}
