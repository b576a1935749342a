// The workflows suite's queued fan-out rows (`--only=workflows-queue-fanout`): what waiting for a
// queue slot costs when the queue's concurrency limit IS reached, beside the same work unqueued.
// Two shapes, each run through a queue with a concurrency limit of 4 and without one:
//   fan-out  one workflow starts n units at once and awaits them all;
//   many     n one-unit workflows started at once by the client, all awaited.
// A unit is one step (ergo-ts: `ctx.step` with `{ queue: 'q4' }`, net/workflows_ergo_member.ts).
// DBOS' queues hold workflows, not steps: its unit is a child workflow of one step, enqueued on a
// queue registered with `concurrency: 4` and DBOS' default polling (net/workflows_dbos_worker.ts);
// unqueued, the same child started directly. Reported per unit (the round's time / n), queued and
// unqueued interleaved in each round so both see the same machine. DBOS' queue is polled (at most
// once a second by default), so its n is smaller: the per-unit figures are what compare.

import { runRounds, reportSamples } from './measure.js';
import type { Engine } from './workflows_engine.js';
import { G } from './workflows_rows.js';
import type { Report, SuiteContext } from './types.js';

/** Units per round by engine: [fan-out, many]. */
function unitsOf(ctx: SuiteContext, peer: string): [number, number] {
  if (peer === 'dbos') return ctx.quick ? [20, 20] : [100, 100];
  return ctx.quick ? [200, 100] : [2000, 1000];
}

/** Measures the queued fan-out rows of `engine` (nothing when it has none). */
export async function measureQueuedFanOut(
  report: Report,
  ctx: SuiteContext,
  engine: Engine,
  what: string,
): Promise<void> {
  const fanOut = engine.fanOut?.bind(engine);
  const many = engine.manyUnits?.bind(engine);
  if (fanOut === undefined || many === undefined) return;
  const [nFan, nMany] = unitsOf(ctx, ctx.peer);
  // Each round runs four shapes of up to n units: three measured rounds after one warm-up.
  const c: SuiteContext = { ...ctx, rounds: ctx.quick ? 1 : Math.min(ctx.rounds, 3), warmup: 1 };
  let wf = 0;
  const id = (tag: string): string => `${tag}-${process.pid}-${++wf}`;
  const per = { fanQ: [] as number[], fanP: [] as number[], manyQ: [] as number[], manyP: [] as number[] };
  const timed = async (into: number[], n: number, round: number, run: () => Promise<void>): Promise<void> => {
    const t0 = performance.now();
    await run();
    if (round >= c.warmup) into.push((performance.now() - t0) / n);
  };
  await runRounds(c, async (i) => {
    await timed(per.fanP, nFan, i, () => fanOut(id('fp'), nFan, false));
    await timed(per.fanQ, nFan, i, () => fanOut(id('fq'), nFan, true));
    await timed(per.manyQ, nMany, i, () => many(id('mq'), nMany, true));
    await timed(per.manyP, nMany, i, () => many(id('mp'), nMany, false));
    return 0;
  });
  const unit = ctx.peer === 'dbos' ? 'a child workflow of one step' : 'one step';
  const rows: [string, number[], number, string][] = [
    ['queued fan-out: n units at once in one workflow, concurrency 4, per unit', per.fanQ, nFan, 'queued'],
    ['the same fan-out unqueued, per unit', per.fanP, nFan, 'unqueued'],
    ['queued workflows: n one-unit workflows at once, concurrency 4, per workflow', per.manyQ, nMany, 'queued'],
    ['the same workflows unqueued, per workflow', per.manyP, nMany, 'unqueued'],
  ];
  for (const [name, samples, n, how] of rows)
    reportSamples(
      report,
      {
        group: G,
        name,
        unit: 'ms',
        better: 'lower',
        note: `n = ${n}; a unit is ${unit}; ${how === 'queued' ? 'each through a queue with a concurrency limit of 4, reached' : 'no queue limit'}; the round's time / n, queued and unqueued interleaved; ${what}`,
      },
      samples,
    );
}
