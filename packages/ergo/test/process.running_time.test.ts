// ProcessInfo.runningTime under the sampling scheduler (docs/actors.md, "The scheduler"): short
// batches are timed 1 in 16 and charged 16 times (up to 0.1 ms each), long ones exactly. The
// handlers below time their own work; the estimate must cover at least 80 % of it (each handler
// run counted up to 0.1 ms: past that, a preemption of this test's thread is charged only when
// sampled) and no more than the time that passed (plus the 20 % the contract allows when the
// batches fill it). Long batches: process.basic.test.ts.
// No thresholds on speed: every bound compares two measurements of the same run.

import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';

import { Actor, type PID, type Ref } from '../src/index.js';
import { deferred, probe, withNode, noUnhandled } from './helpers.js';

noUnhandled();

/** Up to this much of one handler run counts in the lower bound (the scheduler's outlier cap). */
const CAP_MS = 0.1;

/** Busy for about `us` microseconds by the clock; returns the time it took (ms). */
function spin(us: number): number {
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < us / 1000) t = performance.now();
  return t - t0;
}

/** Resolves after the current scheduler drain has ended (its batch was charged). */
function turnAfter(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Answers every call after spinning `us` µs; `spent` sums its spins (each capped at CAP_MS). */
class SpinEcho extends Actor {
  spent = 0;
  constructor(readonly us: number) {
    super();
  }
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    this.spent += Math.min(spin(this.us), CAP_MS);
    return request;
  }
}

describe('runningTime is sampled', () => {
  test('a call ping-pong of short batches: the callee is charged at least 80 % of its handlers, at most the time elapsed; an idle process 0', () =>
    withNode(async (node) => {
      const CALLS = 20_000;
      let echoBehavior: SpinEcho | undefined;
      const echo = await node.spawn(() => (echoBehavior = new SpinEcho(4)));
      const idle = await node.spawn(probe());
      const done = deferred<void>();
      const caller = await node.spawn(
        probe(async (_m, _f, self) => {
          for (let i = 0; i < CALLS; i++) assert.equal(await self.call(echo, i), i);
          done.resolve();
        }),
      );
      const before = performance.now();
      node.send(caller, 'go');
      await done.promise;
      await turnAfter();
      const elapsed = performance.now() - before;
      const spent = echoBehavior!.spent;
      const running = node.processInfo(echo).runningTime / 1e6; // ms
      assert.ok(running >= 0.8 * spent, `echo: runningTime ${running} ms < 80 % of the ${spent} ms its handlers spun`);
      assert.ok(running <= elapsed, `echo: runningTime ${running} ms > ${elapsed} ms elapsed`);
      assert.equal(node.processInfo(idle).runningTime, 0, 'a process that handled nothing ran for 0 ns');
    }));

  test('many processes sharing the thread, one short batch each per turn: each is charged at least 80 % of its handlers; all together at most 120 % of the time elapsed', () =>
    withNode(async (node) => {
      const ROUNDS = 8_000;
      const COSTS = [2, 4, 6, 8]; // µs per message, one worker each
      const spent = COSTS.map(() => 0);
      const workers: PID[] = [];
      for (let w = 0; w < COSTS.length; w++) {
        workers.push(
          await node.spawn(
            probe(() => {
              spent[w]! += Math.min(spin(COSTS[w]!), CAP_MS);
            }),
          ),
        );
      }
      // The driver sends each worker one message per turn and itself the next turn: every batch
      // of a worker is one message, so batches stay short (the sampled regime).
      const done = deferred<void>();
      let round = 0;
      const driver = await node.spawn(
        probe((_m, _f, self) => {
          for (const w of workers) self.send(w, round);
          if (++round < ROUNDS) self.send(self.pid, 'turn');
          else done.resolve();
        }),
      );
      const before = performance.now();
      node.send(driver, 'turn');
      await done.promise;
      await turnAfter();
      const elapsed = performance.now() - before;
      let total = 0;
      for (let w = 0; w < workers.length; w++) {
        const running = node.processInfo(workers[w]!).runningTime / 1e6;
        total += running;
        assert.ok(
          running >= 0.8 * spent[w]!,
          `worker ${w}: runningTime ${running} ms < 80 % of the ${spent[w]} ms its handlers spun`,
        );
      }
      total += node.processInfo(driver).runningTime / 1e6;
      // Here batches fill nearly all the elapsed time (exact timing gives 96–99 %): the sampled
      // sum may pass it by its error, which the contract bounds at 20 %.
      assert.ok(total <= 1.2 * elapsed, `Σ runningTime ${total} ms > 120 % of the ${elapsed} ms elapsed`);
    }));
});
