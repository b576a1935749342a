// The rows of the workflows suite, measured the same way for every engine (lib/workflows_engine.ts)
// from the bench process, the client:
//
// 1. a 3-step workflow's latency, start → result, one at a time: p50 and p99 of each round;
// 2. 3-step workflows completed per second with 16 and with 128 in flight;
// 3. the cost of a step: (median latency of a 21-step workflow − that of a 1-step one) / 20;
// 4. a 2 s durable sleep's lateness (woken − due; due = the step just before the sleep + 2 s),
//    50 workflows sleeping at once: p50 and p99 of each round;
// 5. kill -9 of the process running 50 sleeping workflows (3 s sleeps, killed ~1 s after the
//    first started): from the kill to the last one's final step, minus the sleep still left at
//    the kill, i.e. (last step b) − (latest due); and the steps run twice (the step log of
//    net/workflows_serve.ts: a step that ran again after the kill appears twice).

import { median, rate, reportSamples, runRounds } from './measure.js';
import { pause, readStepLog, type Engine } from './workflows_engine.js';
import type { Report, SuiteContext } from './types.js';

/** The suite's table. */
export const G = 'workflows';

/** The p-th percentile (nearest rank) of `xs`. */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** The sizes of the rows (smaller under --quick). */
export function sizes(ctx: SuiteContext) {
  return {
    sequential: ctx.quick ? 50 : 200,
    burst: ctx.quick ? 100 : 300,
    perStep: ctx.quick ? 4 : 10,
    sleepers: 50,
    sleepMs: 2000,
    resumeSleepMs: 3000,
    killAfterMs: 1000,
    resumeRounds: ctx.quick ? 1 : 3,
  };
}

/** Measures rows 1–4 of `engine` for `peer` (one child process per engine: the runner's). */
export async function measureRuns(report: Report, ctx: SuiteContext, engine: Engine, what: string): Promise<void> {
  const z = sizes(ctx);
  // A quick run keeps one warm-up round: the engines are JIT-warm after the first.
  const c: SuiteContext = ctx.quick ? { ...ctx, warmup: Math.min(ctx.warmup, 1) } : ctx;
  let wf = 0;
  const id = (tag: string): string => `${tag}-${process.pid}-${++wf}`;

  const p99s: number[] = [];
  const p50s = await runRounds(c, async (i) => {
    const lat: number[] = [];
    for (let k = 0; k < z.sequential; k++) {
      const t0 = performance.now();
      await engine.steps(id('s3'), 3);
      lat.push(performance.now() - t0);
    }
    if (i >= c.warmup) p99s.push(percentile(lat, 99));
    return percentile(lat, 50);
  });
  const seqNote = `${z.sequential} workflows one after another per round (start → result, timed by the client); ${what}`;
  for (const [stat, xs] of [
    ['p50', p50s],
    ['p99', p99s],
  ] as const)
    reportSamples(
      report,
      { group: G, name: `3-step workflow, start → result, ${stat}`, unit: 'ms', better: 'lower', note: seqNote },
      xs,
    );

  for (const window of [16, 128]) {
    const rates = await runRounds(c, async () => {
      const t0 = performance.now();
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < z.burst) {
          next++;
          await engine.steps(id(`w${window}`), 3);
        }
      };
      await Promise.all(Array.from({ length: window }, lane));
      return rate(z.burst, performance.now() - t0);
    });
    reportSamples(
      report,
      {
        group: G,
        name: `3-step workflows completed, ${window} in flight`,
        unit: 'workflows/s',
        note: `${z.burst} workflows per round, ${window} at a time; ${what}`,
      },
      rates,
    );
  }

  const perStep = await runRounds(c, async () => {
    const one: number[] = [];
    const many: number[] = [];
    for (let k = 0; k < z.perStep; k++)
      for (const [n, into] of [
        [1, one],
        [21, many],
        [21, many],
        [1, one],
      ] as const) {
        if (into.length >= z.perStep) continue;
        const t0 = performance.now();
        await engine.steps(id(`p${n}`), n);
        into.push(performance.now() - t0);
      }
    return (median(many) - median(one)) / 20;
  });
  reportSamples(
    report,
    {
      group: G,
      name: 'step overhead, (21-step − 1-step) / 20',
      unit: 'ms/step',
      better: 'lower',
      note: `${z.perStep} workflows of each length per round, one at a time, interleaved 1,21,21,1; medians; ${what}`,
    },
    perStep,
  );

  // The engines are warm: no warm-up round for the 2 s sleeps.
  const late99: number[] = [];
  const late50: number[] = [];
  await runRounds({ ...c, warmup: 0 }, async () => {
    const late = await Promise.all(Array.from({ length: z.sleepers }, () => engine.nap(id('nap'), z.sleepMs)));
    late50.push(percentile(late, 50));
    late99.push(percentile(late, 99));
    return 0;
  });
  const napNote = `${z.sleepers} workflows sleeping ${z.sleepMs / 1000} s at once per round; lateness = (step after the sleep) − (step before it) − ${z.sleepMs} ms; ${what}`;
  for (const [stat, xs] of [
    ['p50', late50],
    ['p99', late99],
  ] as const)
    reportSamples(
      report,
      {
        group: G,
        name: `${z.sleepMs / 1000} s durable sleep, lateness ${stat}`,
        unit: 'ms',
        better: 'lower',
        note: napNote,
      },
      xs,
    );
}

/** Waits until `f()` holds (every 10 ms), at most `withinMs`. */
async function until(what: string, withinMs: number, f: () => boolean): Promise<void> {
  const end = Date.now() + withinMs;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
    await pause(10);
  }
}

/** Measures row 5 of `engine`: `log` is its step log ($WF_LOG of its workers). */
export async function measureResume(
  report: Report,
  ctx: SuiteContext,
  engine: Engine,
  log: string,
  what: string,
): Promise<void> {
  const z = sizes(ctx);
  const resumes: number[] = [];
  const twice: number[] = [];
  const killOffsets: number[] = [];
  await engine.beforeResume?.();
  for (let round = 1; round <= z.resumeRounds; round++) {
    const ids = Array.from({ length: z.sleepers }, (_, k) => `r${process.pid}-${round}-${k}`);
    const want = new Set(ids);
    const runs = () => readStepLog(log).filter((s) => want.has(s.id));
    const t0 = Date.now();
    await Promise.all(ids.map((id) => engine.startSleeper(id, z.resumeSleepMs)));
    await until(
      'every sleeper to run its first step',
      60_000,
      () => runs().filter((s) => s.step === 'a').length >= ids.length,
    );
    const wait = t0 + z.killAfterMs - Date.now();
    if (wait > 0) await pause(wait);
    const killedAt = Date.now();
    killOffsets.push(killedAt - t0);
    await engine.crash();
    await until(`every sleeper to end after the kill`, 120_000, () => {
      const done = new Set(
        runs()
          .filter((s) => s.step === 'b')
          .map((s) => s.id),
      );
      return done.size === ids.length;
    });
    const all = runs();
    const firstA = new Map<string, number>();
    for (const s of all) if (s.step === 'a' && !firstA.has(s.id)) firstA.set(s.id, s.at);
    const due = Math.max(...[...firstA.values()].map((a) => a + z.resumeSleepMs));
    const lastB = Math.max(...all.filter((s) => s.step === 'b').map((s) => s.at));
    if (due <= killedAt) console.error(`workflows resume: the sleeps ended before the kill (round ${round})`);
    resumes.push(lastB - Math.max(due, killedAt));
    twice.push(all.length - new Set(all.map((s) => `${s.id} ${s.step}`)).size);
    await engine.afterRound?.();
  }
  const note = `${z.resumeRounds} rounds, each ${z.sleepers} workflows (step a, ${z.resumeSleepMs / 1000} s durable sleep, step b) killed ~${z.killAfterMs} ms after the first started (never before every step a had run; here ${killOffsets.join(', ')} ms after the first start); (last step b) − max(kill, latest due); ${what}`;
  reportSamples(
    report,
    { group: G, name: 'resume after kill -9, 50 sleeping workflows', unit: 'ms', better: 'lower', note },
    resumes,
  );
  reportSamples(
    report,
    {
      group: G,
      name: 'steps run twice after kill -9',
      unit: 'steps',
      better: 'lower',
      note: `per round (${z.resumeRounds} rounds of ${z.sleepers * 2} steps): each step appends a line to a log file as it runs`,
    },
    twice,
  );
}
