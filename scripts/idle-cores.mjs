// How many of the machine's cores sat idle lately, from /proc/stat (Linux): what lets
// scripts/run-tests.mjs start a file beyond its pool's size only when a core would otherwise go to
// waste (`--max-concurrency`). In CI the tests share the 2 cores with `npm run check` at nice 10
// (.ci/run), which takes every cycle the tests leave while it runs; once it has ended, the pool's
// files, which mostly wait on sockets, timers and the processes they start, left a core idle.
// Idle is the kernel's idle and iowait time; niced work (the check), steal (a hypervisor's other
// guests) and other users' work count as busy, so a loaded machine starts nothing more, and the
// check is not starved of the cycles it would have had (it then ends later, in a tail of its own
// that may not fill both cores).

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** One /proc/stat reading: when, and the idle and total jiffies of all cores together. */
function sample() {
  let line;
  try {
    line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  } catch {
    return null; // not Linux: no figures
  }
  // cpu  user nice system idle iowait irq softirq steal (guest and guest_nice are inside user and nice)
  const n = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (n.length < 8 || n.some((x) => !Number.isFinite(x))) return null;
  return { at: Date.now(), idle: n[3] + n[4], total: n.reduce((a, b) => a + b, 0) };
}

/**
 * A sampler of the machine's idle cores, read every `everyMs`: `cores()` is how many cores were
 * idle on average over the last `windowMs` (0 to the machine's core count), or null before a
 * whole window has been seen or where /proc/stat cannot be read. `stop()` ends the sampling.
 */
export function idleCores({ windowMs = 3000, everyMs = 500 } = {}) {
  const count = availableParallelism();
  const samples = [];
  const take = () => {
    const s = sample();
    if (s === null) return;
    samples.push(s);
    // Keep one reading at or before the window's start, and every reading since.
    while (samples.length > 2 && samples[1].at <= Date.now() - windowMs) samples.shift();
  };
  take();
  const timer = setInterval(take, everyMs);
  timer.unref();
  return {
    cores() {
      if (samples.length < 2) return null;
      const [first, last] = [samples[0], samples[samples.length - 1]];
      if (last.at - first.at < windowMs * 0.8) return null;
      const total = last.total - first.total;
      return total > 0 ? (count * (last.idle - first.idle)) / total : null;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
