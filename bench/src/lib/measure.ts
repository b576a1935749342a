// Measuring helpers shared by the suites: warm-up + measured rounds, median, forced GC, heap.

import type { Report, Row, SuiteContext } from './types.js';

/**
 * The clock rounds are timed with: wall time (ms, `performance.now()`), or with
 * `BENCH_CLOCK=cpu` this process' CPU time (ms, user + system). CPU time is for A/B comparisons
 * on a loaded machine (another process taking a core stretches wall time, not CPU time); the
 * reported figures of `npm run bench` always use wall time.
 */
export const now: () => number =
  process.env.BENCH_CLOCK === 'cpu'
    ? () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      }
    : () => performance.now();

/** Runs a full GC when node was started with --expose-gc (the runner always does). */
export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g !== undefined) {
    g();
    g();
  }
}

/** True when a forced GC is available. */
export function hasGC(): boolean {
  return typeof (globalThis as { gc?: unknown }).gc === 'function';
}

/** Median (mean of the two middle values for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A promise with its resolve function outside. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets the event loop run pending immediates/timers (between rounds). */
export function settle(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/**
 * Runs `ctx.warmup` warm-up rounds then `ctx.rounds` measured rounds of `one` (each returns its
 * figure, e.g. msg/s) and returns the measured figures. Rounds are separated by one event-loop
 * turn, not by a forced GC: a forced full GC makes V8 shrink the young generation, and the next
 * round pays for growing it back (measured here: sequential call 1.3 M/s → 0.85 M/s, process stop
 * 0.84 M/s → 0.25 M/s). Steady state, GC included, is what the figures describe.
 */
export async function runRounds(ctx: SuiteContext, one: (round: number) => Promise<number>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < ctx.warmup + ctx.rounds; i++) {
    await settle();
    const v = await one(i);
    if (i >= ctx.warmup) samples.push(v);
  }
  return samples;
}

/**
 * Measures two variants side by side in one process: each round runs `a, b, b, a` (ABBA) and
 * gives each variant the rate over its two runs (harmonic mean: the same work over the summed
 * time). A plain `a, b` order is biased: V8's young-generation scavenges can fall into a period of
 * two runs (seen on the 50 K spawn rows: every other run ~35 % slower, whatever the class), which
 * then always lands on the same variant. ABBA gives each variant one run of each parity and
 * cancels a linear drift too. Returns the measured figures of `a` and of `b` (warm-up dropped).
 */
export async function runPairRounds(
  ctx: SuiteContext,
  a: () => Promise<number>,
  b: () => Promise<number>,
): Promise<[number[], number[]]> {
  const as: number[] = [];
  const bs: number[] = [];
  await runRounds(ctx, async (i) => {
    const a1 = await a();
    const b1 = await b();
    const b2 = await b();
    const a2 = await a();
    if (i >= ctx.warmup) {
      as.push(2 / (1 / a1 + 1 / a2));
      bs.push(2 / (1 / b1 + 1 / b2));
    }
    return 0;
  });
  return [as, bs];
}

/** Reports the median of `samples` with the samples attached. */
export function reportSamples(report: Report, row: Omit<Row, 'value' | 'samples'>, samples: number[]): void {
  report({ ...row, value: median(samples), samples });
}

/** Rate in units per second from a count and a duration in milliseconds. */
export function rate(count: number, ms: number): number {
  return (count * 1000) / ms;
}

/** V8 heap in use after a full GC (bytes). */
export function heapAfterGC(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

const RESOLVED: Promise<void> = Promise.resolve();

/** Awaits in one control round (see `jsControlRound`). */
export const CONTROL_AWAITS = 300_000;

/** The note of a control row. */
export const CONTROL_NOTE = `${CONTROL_AWAITS / 1e3}K awaits of a promise resolved from a microtask, ~820 B allocated each (a call: ~890 B); no framework code`;

/**
 * The control of the spread rows: `total` awaits in a row of a promise resolved from a microtask
 * with a small fresh object, the shape of a call without any framework code (≈ 820 B allocated
 * per await, a call ≈ 890 B). Its rate moves with the state of the machine (bench/README.md,
 * issue 24 "Stable speed"), not with the framework's code; returns awaits/s.
 */
export async function jsControlRound(total = CONTROL_AWAITS): Promise<number> {
  const t0 = now();
  for (let i = 0; i < total; i++) {
    const r = await new Promise<{ i: number; a: number[] }>(
      (res) => void RESOLVED.then(() => res({ i, a: [i, i, i] })),
    );
    if (r.i !== i) throw new Error(`control answered ${r.i} to ${i}`);
  }
  return rate(total, now() - t0);
}

/**
 * `runRounds` with a control round (`jsControlRound`) before each round: returns the rounds'
 * figures and the measured rounds' control figures (a spread row reports both, so the state of
 * the machine in each process shows beside the framework's figure).
 */
export async function runRoundsWithControl(
  ctx: SuiteContext,
  one: (round: number) => Promise<number>,
): Promise<{ samples: number[]; control: number[] }> {
  const control: number[] = [];
  const samples = await runRounds(ctx, async (i) => {
    const x = await jsControlRound();
    if (i >= ctx.warmup) control.push(x);
    return one(i);
  });
  return { samples, control };
}

/**
 * One process' share of a spread row: `runRoundsWithControl`, then the rounds reported as `row`
 * and their control rounds beside it as row `controlName` (same group and peer, awaits/s,
 * CONTROL_NOTE).
 */
export async function reportSpreadWithControl(
  ctx: SuiteContext,
  report: Report,
  row: Omit<Row, 'value' | 'samples'>,
  controlName: string,
  one: (round: number) => Promise<number>,
): Promise<void> {
  const { samples, control } = await runRoundsWithControl(ctx, one);
  reportSamples(report, row, samples);
  const controlRow = { group: row.group, name: controlName, unit: 'awaits/s', note: CONTROL_NOTE };
  reportSamples(report, row.peer === undefined ? controlRow : { ...controlRow, peer: row.peer }, control);
}
