// The rows of the workflows overload suite (suites/workflows_overload.ts; issues 89 and 95), taken
// the same way for every engine from the bench child, the client (lib/workflows_open_loop.ts):
//
// 1. capacity: the 3-step workflow (a store write per step) completed per second in a closed loop
//    with 128 in flight (after a warm-up not counted);
// 2. per multiple of that capacity (1×, 2×, 3×, 5×), arrivals at that fixed rate for a window,
//    then a drain: goodput in the window, in its steady state (after its first 2 s) and in the
//    drain, goodput ÷ capacity, starts refused (by code in the note), workflows failed after
//    their start, end-to-end p50 / p99 of the completed ones (from each arrival's due time),
//    effects run again per 1,000 completed workflows (the `effects` table: step executions beyond
//    one per step), and completions per 10 s;
// 3. issue 95's order spike (ergo-ts): 60/s then 150/s, completions per 10 s, each phase's goodput
//    and latency, the longest stretch with no completion, heartbeat-timeout failures and failed
//    step attempts counted in the members' logs, ship attempts past the first, time to all done.

import { reportSamples } from './measure.js';
import type { Report, SuiteContext } from './types.js';
import {
  buckets,
  byCode,
  capacity,
  longestGap,
  openLoop,
  p50p99,
  runAgain,
  total,
  type OverloadTarget,
  type PhaseOutcome,
} from './workflows_open_loop.js';

/** The open-loop row's table. */
export const G_OVERLOAD = 'workflows overload (open loop)';
/** The order spike's table. */
export const G_SPIKE = 'workflows order spike (issue 95)';

/** The multiples of capacity offered, in this order. */
export const MULTIPLES = [1, 2, 3, 5] as const;

/** Milliseconds at the window's start not counted in its steady-state goodput (at most half the window). */
const STEADY_AFTER_MS = 2000;

/** Workflows in flight in the closed loop that measures capacity. */
const IN_FLIGHT = 128;

/** Seconds from the environment (a positive number), else `dflt`. */
function envSeconds(name: string, dflt: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

/**
 * The durations (ms). The default run keeps the suite to about a minute per engine; `--quick`
 * halves it. `BENCH_OVERLOAD_WINDOW_S` sets the window per multiple, `BENCH_SPIKE_S` each phase
 * of the order spike (issue 95's run: 30).
 */
export function overloadSizes(ctx: SuiteContext) {
  return {
    warmMs: ctx.quick ? 3000 : 5000,
    capacityMs: ctx.quick ? 5000 : 10_000,
    windowMs: envSeconds('BENCH_OVERLOAD_WINDOW_S', ctx.quick ? 5 : 10) * 1000,
    // Long enough for a collapsed engine to come back (issue 95: 30 s with nothing completing).
    drainMs: ctx.quick ? 60_000 : 90_000,
    restMs: 2000,
    spikeMs: envSeconds('BENCH_SPIKE_S', ctx.quick ? 10 : 30) * 1000,
    killWindowMs: ctx.quick ? 21_000 : 30_000,
    spikeDrainMs: 180_000,
  };
}

/** Resolves after `ms`. */
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** "12, 30, 0, 5" */
const list = (xs: readonly number[]): string => xs.join(', ');

/** Rounds to 3 significant figures for notes. */
const r3 = (x: number): string => (Number.isFinite(x) ? String(Number(x.toPrecision(3))) : String(x));

/** Measures capacity, then each multiple of it, of `target` (one engine, this child's peer). */
export async function measureOverload(report: Report, ctx: SuiteContext, target: OverloadTarget): Promise<void> {
  const z = overloadSizes(ctx);
  const run = `o${process.pid}`;
  const cap = await capacity((k) => target.load(`${run}-cap`, `${run}-cap.${k}`), IN_FLIGHT, z.warmMs, z.capacityMs);
  const capErrors = total(cap.errors) === 0 ? '' : `; errors meanwhile: ${byCode(cap.errors)}`;
  console.error(`overload: capacity ${r3(cap.rate)} workflows/s (${IN_FLIGHT} in flight)${capErrors}`);
  report({
    group: G_OVERLOAD,
    name: `capacity: 3-step workflows completed, closed loop, ${IN_FLIGHT} in flight`,
    unit: 'workflows/s',
    value: cap.rate,
    samples: [cap.rate],
    note: `${z.capacityMs / 1000} s after ${z.warmMs / 1000} s not counted; each step inserts a row through the user's pg pool${capErrors}; ${target.what}`,
  });
  if (!(cap.rate > 0)) throw new Error('overload: capacity measured as 0: nothing to offer multiples of');

  for (const m of MULTIPLES) {
    await pause(z.restMs);
    const tag = `${run}-x${m}`;
    const rate = m * cap.rate;
    const o = await openLoop([{ rate, ms: z.windowMs }], z.drainMs, (k) => target.load(tag, `${tag}.${k}`));
    const again = await runAgain(target.effects, 'effects', tag);
    reportMultiple(report, m, rate, cap.rate, o, z.windowMs, again, target.what);
  }
}

/** The rows of one multiple. */
function reportMultiple(
  report: Report,
  m: number,
  rate: number,
  cap: number,
  o: PhaseOutcome,
  windowMs: number,
  again: number,
  what: string,
): void {
  const inWindow = o.done.filter((d) => d <= windowMs).length;
  // The steady state: the window after its first STEADY_AFTER_MS, when the arrivals of its first
  // second have had time to complete (the whole window's share counts that fill as lost, at 1× for
  // every engine that answers in more than a few ms: 87 % for one whose p50 was 0.59 s).
  const steadyFrom = Math.min(STEADY_AFTER_MS, windowMs / 2);
  const goodSteady = (o.done.filter((d) => d > steadyFrom && d <= windowMs).length * 1000) / (windowMs - steadyFrom);
  const drainMs = Math.max(1, o.endedAt - windowMs);
  const goodWindow = (inWindow * 1000) / windowMs;
  const goodDrain = ((o.done.length - inWindow) * 1000) / drainMs;
  const [p50, p99] = p50p99(o.latency);
  const per10 = buckets(o.done, o.endedAt);
  const refused = total(o.refused);
  const failed = total(o.failed);
  const perK = o.done.length === 0 ? NaN : (again * 1000) / o.done.length;
  const head = `${m}× capacity offered`;
  const line =
    `${head} (${r3(rate)}/s for ${windowMs / 1000} s, ${o.offered} arrivals): ${o.done.length} completed, ` +
    `${inWindow} in the window (${r3(goodWindow)}/s, ${r3((100 * goodWindow) / cap)} % of capacity; ` +
    `after its first ${steadyFrom / 1000} s ${r3(goodSteady)}/s, ${r3((100 * goodSteady) / cap)} %), ` +
    `${r3(goodDrain)}/s in the ${r3(drainMs / 1000)} s drain; refused ${refused} (${byCode(o.refused)}); ` +
    `failed ${failed} (${byCode(o.failed)}); unsettled at the drain's end ${o.unsettled}; ` +
    `p50 ${r3(p50)} ms, p99 ${r3(p99)} ms; effects run again ${again}; completions per 10 s: [${list(per10)}]`;
  console.error(`overload: ${line}`);
  const note = `${r3(rate)}/s offered for ${windowMs / 1000} s (open loop), drain ≤ ${r3(drainMs / 1000)} s; completions per 10 s [${list(per10)}]; refused: ${byCode(o.refused)}; failed after the start: ${byCode(o.failed)}; unsettled at the end: ${o.unsettled}; ${what}`;
  // The whole note once per multiple (on its first row): the table prints every row's note.
  let first = true;
  const row = (name: string, value: number, unit: string, better?: 'lower'): void => {
    const n = first ? { note } : {};
    first = false;
    reportSamples(report, { group: G_OVERLOAD, name: `${head}: ${name}`, unit, ...n, ...(better ? { better } : {}) }, [
      value,
    ]);
  };
  row('goodput in the window', goodWindow, 'workflows/s');
  row('goodput in the drain after it', goodDrain, 'workflows/s');
  row('goodput in the window ÷ capacity', (100 * goodWindow) / cap, '%');
  row(
    `goodput in the steady state (the window after its first ${steadyFrom / 1000} s) ÷ capacity`,
    (100 * goodSteady) / cap,
    '%',
  );
  row('starts refused', refused, 'starts', 'lower');
  row('failed after their start', failed, 'workflows', 'lower');
  row('end-to-end p50 (admitted, from the due time)', p50, 'ms', 'lower');
  row('end-to-end p99 (admitted, from the due time)', p99, 'ms', 'lower');
  row('effects run again per 1,000 workflows', perK, 'effects', 'lower');
}

/** Counts the member log lines of failed step attempts: all of them, and those with no heartbeat. */
function attemptFailures(lines: readonly string[], since: number): { failed: number; noHeartbeat: number } {
  let failed = 0;
  let noHeartbeat = 0;
  for (const l of lines.slice(since)) {
    if (!/step \S+ attempt \d+ failed/.test(l)) continue;
    failed++;
    if (l.includes('sent no heartbeat')) noHeartbeat++;
  }
  return { failed, noHeartbeat };
}

/** Issue 95's scenario on `target` (ergo-ts): 60/s then 150/s of the order workflow. */
export async function measureOrderSpike(report: Report, ctx: SuiteContext, target: OverloadTarget): Promise<void> {
  const order = target.order;
  if (order === undefined) throw new Error('order spike: this engine has no order workflow');
  const z = overloadSizes(ctx);
  const tag = `s${process.pid}`;
  // A few orders first, so the first phase does not time the members' JIT and pools warming up.
  await Promise.all(Array.from({ length: 20 }, (_, k) => order(`${tag}-warm`, `${tag}-warm.${k}`)));
  const logFrom = target.memberLogs?.().length ?? 0;
  const phases = [
    { rate: 60, ms: z.spikeMs },
    { rate: 150, ms: z.spikeMs },
  ];
  const o = await openLoop(phases, z.spikeDrainMs, (k) => order(tag, `${tag}.${k}`));
  const fails = attemptFailures(target.memberLogs?.() ?? [], logFrom);
  const shipAgain = await runAgain(target.effects, 'shipments', tag);
  const per10 = buckets(o.done, o.endedAt);
  const end1 = z.spikeMs;
  const end2 = 2 * z.spikeMs;
  const inPhase = (from: number, to: number): number => o.done.filter((d) => d > from && d <= to).length;
  const lat = (from: number, to: number): number[] => o.latency.filter((_, i) => o.due[i]! >= from && o.due[i]! < to);
  const [a50, a99] = p50p99(lat(0, end1));
  const [b50, b99] = p50p99(lat(end1, end2));
  const all = o.done.length === o.offered;
  const lastDone = o.done.length === 0 ? NaN : Math.max(...o.done);
  const gap = longestGap(o.done, 1000, Math.min(end2, o.endedAt));
  const line =
    `order spike: 60/s for ${end1 / 1000} s then 150/s for ${end1 / 1000} s (${o.offered} orders): ` +
    `completions per 10 s [${list(per10)}]; ${r3((inPhase(0, end1) * 1000) / end1)}/s completed in the 60/s phase, ` +
    `${r3((inPhase(end1, end2) * 1000) / end1)}/s in the 150/s phase; p50/p99 ${r3(a50)}/${r3(a99)} ms (60/s arrivals), ` +
    `${r3(b50)}/${r3(b99)} ms (150/s arrivals); longest stretch without a completion ${r3(gap)} ms; ` +
    `${fails.noHeartbeat} heartbeat timeouts of ${fails.failed} failed step attempts (members' logs), ship run again ${shipAgain}; ` +
    `${all ? `all completed ${r3(lastDone / 1000)} s after the first arrival` : `${o.done.length} of ${o.offered} completed`}; ` +
    `refused ${byCode(o.refused)}; failed ${byCode(o.failed)}; unsettled ${o.unsettled}`;
  console.error(line);
  const note = `60/s then 150/s, ${end1 / 1000} s each, open loop; completions per 10 s [${list(per10)}]; refused: ${byCode(o.refused)}; failed: ${byCode(o.failed)}; unsettled after ${r3(z.spikeDrainMs / 1000)} s of drain: ${o.unsettled}; ${target.what}`;
  let first = true;
  const row = (name: string, value: number, unit: string, better?: 'lower'): void => {
    const n = first ? { note } : {};
    first = false;
    reportSamples(report, { group: G_SPIKE, name, unit, ...n, ...(better ? { better } : {}) }, [value]);
  };
  row('completed/s during the 60/s phase', (inPhase(0, end1) * 1000) / end1, 'orders/s');
  row('completed/s during the 150/s phase', (inPhase(end1, end2) * 1000) / end1, 'orders/s');
  row('60/s arrivals: end-to-end p50', a50, 'ms', 'lower');
  row('60/s arrivals: end-to-end p99', a99, 'ms', 'lower');
  row('150/s arrivals: end-to-end p50', b50, 'ms', 'lower');
  row('150/s arrivals: end-to-end p99', b99, 'ms', 'lower');
  row('longest stretch with no completion (while offered)', gap, 'ms', 'lower');
  row("heartbeat-timeout failures (members' logs)", fails.noHeartbeat, 'attempts', 'lower');
  row("step attempts failed (members' logs)", fails.failed, 'attempts', 'lower');
  row('ship run again (shipments rows past one per order)', shipAgain, 'ships', 'lower');
  // Not all completed: the drain's end stands in (the note says how many were left).
  row(
    all ? 'time to all completed (from the first arrival)' : 'time to all completed: not within the drain',
    (all ? lastDone : o.endedAt) / 1000,
    's',
    'lower',
  );
}
