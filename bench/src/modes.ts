// `node bench/dist/modes.js [rounds]`: tells whether the CPU this process runs on is in a fast or
// a slow state, with no framework code at all (issue 24 §3, bench/README.md "Stable speed").
//
// Each round runs four loops one after another and prints their rates (CPU time, so another
// process taking the core does not count):
// - await:    `acc += await i` 600 K times (the promise and microtask machinery, 39 B per await)
// - alu:      a dependent multiply-add chain in registers (latency-bound, touches no memory)
// - l2:       scattered loads over a 256 KiB Int32Array (fits the 1 MiB L2, not the L1)
// - indirect: calls through a table of 16 functions picked pseudo-randomly (indirect branches)
// On the shared development VMs the await loop moves between two levels (×1.7) in step with l2
// and indirect (×1.3), while alu stays within a few %: the state belongs to the core (caches,
// predictors shared with work outside this process), not to V8's or the framework's code.

const ROUNDS = Number(process.argv[2] ?? 14);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) {
  console.error('usage: node bench/dist/modes.js [rounds ≥ 1]');
  process.exit(2);
}

async function awaitLoop(n: number): Promise<number> {
  let acc = 0;
  // eslint-disable-next-line @typescript-eslint/await-thenable -- the loop measures awaiting a plain value
  for (let i = 0; i < n; i++) acc += await i;
  return acc;
}

function aluLoop(n: number): number {
  let x = 0;
  for (let k = 0; k < n; k++) x = (x * 31 + k) | 0;
  return x;
}

const table = new Int32Array(64 * 1024);
function l2Loop(n: number): number {
  let s = 0;
  const m = table.length - 1;
  for (let r = 0; r < n; r++) for (let i = 0; i < table.length; i += 16) s = (s + table[(i * 7919) & m]!) | 0;
  return s;
}

const fns: ((x: number) => number)[] = Array.from(
  { length: 16 },
  (_, j) =>
    // Distinct closures from distinct sources: the call site stays megamorphic.
    new Function('x', `return (x + ${j}) | 0`) as (x: number) => number,
);
function indirectLoop(n: number): number {
  let x = 0;
  for (let k = 0; k < n; k++) x = fns[Math.imul(k, 2654435761) >>> 28]!(x);
  return x;
}

/** Units per CPU microsecond (millions per CPU second) of `f(n)`. */
async function perCpuUs(f: (n: number) => unknown, n: number, units = n): Promise<number> {
  const c = process.cpuUsage();
  await f(n);
  const d = process.cpuUsage(c);
  return units / (d.user + d.system);
}

let sink = 0;
console.log('round  await M/s  alu M/s  l2 Mloads/s  indirect M/s  (per CPU second)');
for (let r = 0; r < ROUNDS; r++) {
  const a = await perCpuUs(awaitLoop, 600_000);
  const b = await perCpuUs((n) => (sink ^= aluLoop(n)), 30_000_000);
  const c = await perCpuUs((n) => (sink ^= l2Loop(n)), 100, 100 * (table.length / 16));
  const d = await perCpuUs((n) => (sink ^= indirectLoop(n)), 5_000_000);
  console.log(
    `${String(r).padStart(5)}  ${a.toFixed(1).padStart(9)}  ${b.toFixed(0).padStart(7)}  ${c.toFixed(0).padStart(11)}  ${d.toFixed(0).padStart(12)}`,
  );
}
if (sink === 0.5) console.log(sink); // keeps the loops' results alive
