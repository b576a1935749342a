// `node bench/dist/timeouts.js [calls] [timeoutMs]` (after `npm run build`): how late call
// timeouts fire when a large number of them fall due at once (issue 37, "Timers under load").
//
// The node calls a process that never answers `calls` times (default 1,000,000) with the same
// timeout, so every deadline falls within the few hundred ms the calls take to make. Each
// rejection records how late it came against its own call's deadline (the time the call was
// made + its timeout): never early is a correctness rule (the test suite checks it), lateness
// is what this prints — p50, p99 and max, the time from the first deadline to the last failure,
// and the longest event-loop stall meanwhile (a setInterval of 1 ms watching its own gaps).
// A measurement, not a test: the figures depend on the machine.

import { Actor, startNode, type Node } from 'ergo-ts';

const TRACE = process.env.TIMEOUTS_TRACE === '1';
const trace: [number, number][] = [];
const CALLS = Number(process.argv[2] ?? 1_000_000);
const TIMEOUT = Number(process.argv[3] ?? 3000);
if (!Number.isInteger(CALLS) || CALLS < 1 || !Number.isInteger(TIMEOUT) || TIMEOUT < 1) {
  console.error('usage: node bench/dist/timeouts.js [calls ≥ 1] [timeoutMs ≥ 1]');
  process.exit(2);
}

/** Holds every request: it never answers. */
class Sink extends Actor {
  override handleCall(): undefined {
    return undefined;
  }
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function run(node: Node): Promise<void> {
  const sink = await node.spawn(Sink);
  const late = new Float64Array(CALLS);
  let done = 0;
  let early = 0;
  let lastAt = 0;
  let firstDeadline = Infinity;
  const all = new Promise<void>((resolve) => {
    const t0 = performance.now();
    for (let i = 0; i < CALLS; i++) {
      const deadline = performance.now() + TIMEOUT;
      if (deadline < firstDeadline) firstDeadline = deadline;
      node.call(sink, i, { timeout: TIMEOUT }).then(
        () => {
          throw new Error('the sink answered');
        },
        () => {
          const now = performance.now();
          const d = now - deadline;
          if (d < 0) early++;
          late[done++] = d;
          if (TRACE) trace.push([deadline, d]);
          lastAt = now;
          if (done === CALLS) resolve();
        },
      );
    }
    console.log(`made ${CALLS} calls in ${(performance.now() - t0).toFixed(0)} ms (timeout ${TIMEOUT} ms)`);
  });
  // The loop's longest gap while the timeouts fire.
  let stall = 0;
  let prev = performance.now();
  const iv = setInterval(() => {
    const now = performance.now();
    if (now - prev > stall) stall = now - prev;
    prev = now;
  }, 1);
  await all;
  clearInterval(iv);
  late.sort();
  if (TRACE) {
    const by = new Map<number, number>();
    for (const [dl, d] of trace) {
      const k = Math.floor((dl - firstDeadline) / 100);
      by.set(k, Math.max(by.get(k) ?? 0, d));
    }
    for (const [k, v] of [...by].sort((a, b) => a[0] - b[0]))
      console.log(`deadline +${k * 100} ms: max late ${v.toFixed(1)}`);
  }
  const f = (x: number): string => `${x.toFixed(1)} ms`;
  console.log(
    `late: p50 ${f(quantile(late, 0.5))}, p99 ${f(quantile(late, 0.99))}, max ${f(late[CALLS - 1]!)}; early: ${early}`,
  );
  console.log(`first deadline → last failure: ${f(lastAt - firstDeadline)}; longest loop stall ${f(stall)}`);
}

const node = await startNode(`timeouts${process.pid}@localhost`, { systemApp: false });
try {
  await run(node);
} finally {
  await node.stop();
}
