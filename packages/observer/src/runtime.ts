// Node's own health signals for the node page: event loop utilisation and event loop delay.
// Go's NodeInfo has neither, so they are not part of the inspector protocol; an Observer shows
// them for the node it runs on (sampled here once a second while a browser watches).

import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';

/** One sample: utilisation 0..1 over the last second, delay in milliseconds. */
export interface RuntimeSample {
  elu: number;
  delayMean: number;
  delayMax: number;
  delayP99: number;
}

let users = 0;
let histogram: IntervalHistogram | null = null;
let timer: ReturnType<typeof setInterval> | null = null;
let lastELU = performance.eventLoopUtilization();
let latest: RuntimeSample = { elu: 0, delayMean: 0, delayMax: 0, delayP99: 0 };

function sample(): void {
  const now = performance.eventLoopUtilization();
  const d = performance.eventLoopUtilization(now, lastELU);
  lastELU = now;
  const h = histogram!;
  latest = {
    elu: d.utilization,
    delayMean: Number.isFinite(h.mean) ? h.mean / 1e6 : 0,
    delayMax: h.max / 1e6,
    delayP99: h.percentile(99) / 1e6,
  };
  h.reset();
}

/** Starts sampling (counted: every `acquire` needs its `release`). */
export function acquireRuntime(): void {
  if (users++ > 0) return;
  histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  lastELU = performance.eventLoopUtilization();
  timer = setInterval(sample, 1000);
  timer.unref();
}

/** Stops sampling when the last user releases it. */
export function releaseRuntime(): void {
  if (users === 0 || --users > 0) return;
  if (timer !== null) clearInterval(timer);
  histogram?.disable();
  timer = null;
  histogram = null;
}

/** The last sample taken. */
export function runtimeSample(): RuntimeSample {
  return latest;
}
