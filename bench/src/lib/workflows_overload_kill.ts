// The overload suite's kill row (suites/workflows_overload.ts `--only=workflows-overload-kill`,
// issue 89: "a kill -9 of a member at 2× capacity: back to capacity within 10 s"), ergo-ts only —
// Restate and DBOS run as one server process each here, with no member to lose.
//
// The cluster's capacity is measured as in the open-loop row (closed loop, 128 in flight); then
// arrivals at twice it for the window, and a kill -9 of one of the three members a third of the
// way in. Reported: completions per second before the kill (from 3 s in, past the ramp) and after,
// the time from the kill (when the signal was sent, on the client's clock) to the start of the first
// 2 s window whose completions reach 90 % of the rate before (the goal: ≤ 10 s), the longest
// stretch without a completion after the kill, starts refused and workflows failed by code, and
// effects run again (the `effects` table: a step the dead member ran and a survivor ran again).

import { reportSamples } from './measure.js';
import type { FigureSpec, Report, SuiteContext } from './types.js';
import {
  buckets,
  byCode,
  capacity,
  longestGap,
  openLoop,
  runAgain,
  total,
  type OverloadTarget,
} from './workflows_open_loop.js';
import { overloadSizes } from './workflows_overload_rows.js';

/** The kill row's table. */
export const G_KILL = 'workflows overload: kill -9 of a member at 2× capacity';
/** The kill row's recovery figure. */
export const N_KILL_BACK = 'kill -9 → completions back to 90 % of the rate before (goal ≤ 10 s)';

/** Issue 89's goal for the kill row: back to capacity within 10 s. */
export const killFigures: FigureSpec[] = [
  { group: G_KILL, name: N_KILL_BACK, target: { value: 10_000, better: 'lower' } },
];

/** Rounds to 3 significant figures for notes. */
const r3 = (x: number): string => (Number.isFinite(x) ? String(Number(x.toPrecision(3))) : String(x));

/**
 * The first time (ms after `from`) at which the completions of a `windowMs` window starting there
 * reach `rate` per second, stepping by `stepMs`; NaN when none does before `until`.
 */
export function backTo(
  done: readonly number[],
  from: number,
  until: number,
  rate: number,
  windowMs = 2000,
  stepMs = 250,
): number {
  const sorted = [...done].sort((a, b) => a - b);
  for (let t = from; t + windowMs <= until; t += stepMs) {
    const n = sorted.filter((d) => d > t && d <= t + windowMs).length;
    if ((n * 1000) / windowMs >= rate) return t - from;
  }
  return NaN;
}

/** Measures the kill row on `target`, which must be able to kill a member. */
export async function measureKill(report: Report, ctx: SuiteContext, target: OverloadTarget): Promise<void> {
  const kill = target.killMember;
  if (kill === undefined) throw new Error('kill row: this engine has no member to kill');
  const z = overloadSizes(ctx);
  const run = `k${process.pid}`;
  const cap = await capacity((k) => target.load(`${run}-cap`, `${run}-cap.${k}`), 128, z.warmMs, z.capacityMs);
  if (!(cap.rate > 0)) throw new Error('kill row: capacity measured as 0');
  const windowMs = z.killWindowMs;
  const tag = `${run}-x2`;
  // The kill's own time, not its timer's: a client busy at 2× fires the timer late.
  let killedAt = NaN;
  const timer = setTimeout(
    () => {
      killedAt = performance.now();
      kill(0);
    },
    Math.round(windowMs / 3),
  );
  const o = await openLoop([{ rate: 2 * cap.rate, ms: windowMs }], z.drainMs, (k) => target.load(tag, `${tag}.${k}`));
  clearTimeout(timer);
  if (Number.isNaN(killedAt)) throw new Error('kill row: the kill did not happen within the window');
  const killAt = killedAt - o.t0;
  const again = await runAgain(target.effects, 'effects', tag);
  const rateIn = (from: number, to: number): number =>
    (o.done.filter((d) => d > from && d <= to).length * 1000) / Math.max(1, to - from);
  const before = rateIn(3000, killAt);
  const after = rateIn(killAt, windowMs);
  const back = backTo(o.done, killAt, windowMs, 0.9 * before);
  const gap = longestGap(o.done, killAt, windowMs);
  const perS = buckets(
    o.done.filter((d) => d <= windowMs),
    windowMs,
    1000,
  );
  const line =
    `kill: capacity ${r3(cap.rate)}/s; 2× offered (${r3(2 * cap.rate)}/s for ${windowMs / 1000} s), one of 3 members ` +
    `killed -9 at ${r3(killAt / 1000)} s: ${r3(before)}/s completed before, ${r3(after)}/s after; back to 90 % of ` +
    `the rate before ${Number.isNaN(back) ? 'not within the window' : `${r3(back / 1000)} s after the kill`}; ` +
    `longest stretch without a completion after it ${r3(gap)} ms; refused ${byCode(o.refused)}; failed ` +
    `${byCode(o.failed)}; unsettled ${o.unsettled}; effects run again ${again}; completions per s [${perS.join(', ')}]`;
  console.error(line);
  const note = `${r3(2 * cap.rate)}/s offered (2× the capacity ${r3(cap.rate)}/s) for ${windowMs / 1000} s, member 1 of 3 killed -9 at ${r3(killAt / 1000)} s; completions per s [${perS.join(', ')}]; refused: ${byCode(o.refused)}; failed: ${byCode(o.failed)}; ${target.what}`;
  let first = true;
  const row = (name: string, value: number, unit: string, better?: 'lower', own?: string): void => {
    const n = first ? { note } : own === undefined ? {} : { note: own };
    first = false;
    reportSamples(report, { group: G_KILL, name, unit, ...n, ...(better ? { better } : {}) }, [value]);
  };
  row('completed/s before the kill', before, 'workflows/s');
  row('completed/s after the kill (to the end of the window)', after, 'workflows/s');
  // Not back within the window: the rest of the window stands in, and the note says so.
  row(
    N_KILL_BACK,
    Number.isNaN(back) ? windowMs - killAt : back,
    'ms',
    'lower',
    Number.isNaN(back)
      ? `NOT back within the window: the value is the window's rest after the kill (${r3((windowMs - killAt) / 1000)} s)`
      : `from the kill to the start of the first 2 s window (stepped by 250 ms) whose completions reach 90 % of the ${r3(before)}/s before it`,
  );
  row('longest stretch with no completion after the kill', gap, 'ms', 'lower');
  row('workflows failed after their start', total(o.failed), 'workflows', 'lower');
  row('effects run again', again, 'effects', 'lower');
}
