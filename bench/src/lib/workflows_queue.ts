// The workflows suite's queued-step rows (ergo-ts only: an engine with `queuedSteps`): what a step
// costs when each of its attempts takes a slot of a queue with a concurrency limit (never reached
// here: the cost of the slot itself, not of waiting for one). A slot is a row of the store's lease
// table taken before the attempt and given back after it (packages/entities/src/workflow/scheduling/queues.ts),
// so on PostgreSQL it adds two round trips to each step. Measured as the step overhead row is
// (lib/workflows_rows.ts, row 3): (median latency of a 21-step workflow − that of a 1-step one) / 20,
// plain and queued workflows interleaved in each round so both see the same machine; reported are
// the queued step's overhead and the difference, the slot's cost.

import { median, reportSamples, runRounds } from './measure.js';
import type { Engine } from './workflows_engine.js';
import { G, sizes } from './workflows_rows.js';
import type { Report, SuiteContext } from './types.js';

/** Measures the queued-step rows of `engine` (nothing when it has no queued steps). */
export async function measureQueuedStep(
  report: Report,
  ctx: SuiteContext,
  engine: Engine,
  what: string,
): Promise<void> {
  const queued = engine.queuedSteps?.bind(engine);
  if (queued === undefined) return;
  const z = sizes(ctx);
  const c: SuiteContext = ctx.quick ? { ...ctx, warmup: Math.min(ctx.warmup, 1) } : ctx;
  let wf = 0;
  const id = (tag: string): string => `${tag}-${process.pid}-${++wf}`;
  const slotCost: number[] = [];
  const perStep = await runRounds(c, async (i) => {
    const times = { plain1: [] as number[], plain21: [] as number[], q1: [] as number[], q21: [] as number[] };
    for (let k = 0; k < z.perStep; k++)
      for (const [n, q] of [
        [1, false],
        [21, true],
        [21, false],
        [1, true],
      ] as const) {
        const t0 = performance.now();
        await (q ? queued(id(`q${n}`), n) : engine.steps(id(`p${n}`), n));
        const into = n === 1 ? (q ? times.q1 : times.plain1) : q ? times.q21 : times.plain21;
        into.push(performance.now() - t0);
      }
    const plain = (median(times.plain21) - median(times.plain1)) / 20;
    const slotted = (median(times.q21) - median(times.q1)) / 20;
    if (i >= c.warmup) slotCost.push(slotted - plain);
    return slotted;
  });
  const note = `${z.perStep} workflows of each length and kind per round, one at a time, interleaved with plain ones; medians; each step in a queue with a concurrency limit of 1000 (a slot: a lease row taken and given back); ${what}`;
  reportSamples(
    report,
    {
      group: G,
      name: 'step overhead, queued step (a queue slot each), (21-step − 1-step) / 20',
      unit: 'ms/step',
      better: 'lower',
      note,
    },
    perStep,
  );
  reportSamples(
    report,
    {
      group: G,
      name: 'queue slot cost per step (queued − plain step overhead)',
      unit: 'ms/step',
      better: 'lower',
      note,
    },
    slotCost,
  );
}
