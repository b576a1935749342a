// The workflows suite's heartbeat row (ergo-ts only: an engine with `heartbeats`; Restate, DBOS and
// Effect have no step heartbeat, Temporal's is an RPC to its server). What `info.heartbeat(details)`
// costs a running step: its details' size check, the heartbeat timeout re-armed, the running
// attempt's view updated — and the details written to the store at most every 80 % of the heartbeat
// timeout (packages/entities/src/workflow/body/effects.ts), so with 30 s none is written within a run
// here: this is the call's own cost, the one a step that heartbeats in a tight loop pays.
// Measured as (median time of a workflow whose one step loops N times heartbeating each turn −
// that of the same loop without heartbeats) / N, the two interleaved in each round.

import { median, reportSamples, runRounds } from './measure.js';
import type { Engine } from './workflows_engine.js';
import { G, sizes } from './workflows_rows.js';
import type { Report, SuiteContext } from './types.js';

/** Heartbeats per measured step. */
const BEATS = 20_000;

/** Measures the heartbeat row of `engine` (nothing when it has no heartbeats). */
export async function measureHeartbeat(report: Report, ctx: SuiteContext, engine: Engine, what: string): Promise<void> {
  const beats = engine.heartbeats?.bind(engine);
  if (beats === undefined) return;
  const z = sizes(ctx);
  const c: SuiteContext = ctx.quick ? { ...ctx, warmup: Math.min(ctx.warmup, 1) } : ctx;
  let wf = 0;
  const id = (tag: string): string => `${tag}-${process.pid}-${++wf}`;
  const perBeat = await runRounds(c, async () => {
    const with_: number[] = [];
    const without: number[] = [];
    for (let k = 0; k < z.perStep; k++)
      for (const beat of [true, false]) {
        const t0 = performance.now();
        await beats(id(beat ? 'hb' : 'nb'), BEATS, beat);
        (beat ? with_ : without).push(performance.now() - t0);
      }
    return ((median(with_) - median(without)) * 1000) / BEATS;
  });
  reportSamples(
    report,
    {
      group: G,
      name: `step heartbeat, info.heartbeat(details) in a running step (${BEATS.toLocaleString('en-US')} per step)`,
      unit: 'µs/heartbeat',
      better: 'lower',
      note: `${z.perStep} workflows with and without heartbeats per round, interleaved; medians; heartbeatTimeoutMs 30 s (details written at most every 24 s: none within a step here); ${what}`,
    },
    perBeat,
  );
}
