// Measures the cost of one scrape on a node with many processes (default 100,000): the collect
// (node info, one pass over the process table, bounded top-N heaps) and the rendering of the
// text exposition, as the Metrics actor does per GET. Not a test (no timing thresholds in
// tests): run `node packages/metrics/dist/test/scrape_cost.js [processes]` and read the figures.

import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { Actor, startNode } from 'ergo-ts';
import { ErgoCollector } from '../src/index.js';

class Idle extends Actor {
  override handleMessage(): void {}
}

const count = Number(process.argv[2] ?? 100_000);
const node = await startNode(`scrape${process.pid}@localhost`, { log: { defaultLogger: { disable: true } } });
const pids = [];
for (let i = 0; i < count; i++) pids.push(await node.spawn(Idle, {}));
// Give processes distinct figures so the heaps do real work.
for (let i = 0; i < pids.length; i += 7) node.send(pids[i]!, i);
await new Promise((r) => setTimeout(r, 200));

const registry = new Registry();
const collector = new ErgoCollector(node, registry, { topN: 50 });
const runs: { collect: number; render: number }[] = [];
for (let i = 0; i < 12; i++) {
  const t0 = performance.now();
  collector.collect();
  const t1 = performance.now();
  const text = await registry.metrics();
  const t2 = performance.now();
  if (i === 0) console.log(`exposition: ${text.length} bytes, ${text.split('\n').length} lines`);
  runs.push({ collect: t1 - t0, render: t2 - t1 });
}
const warm = runs.slice(2);
const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number): string => x.toFixed(1);
console.log(`processes: ${node.info().processesTotal}`);
console.log(`first scrape: collect ${fmt(runs[0]!.collect)} ms, render ${fmt(runs[0]!.render)} ms`);
console.log(
  `median of ${warm.length} warm scrapes: collect ${fmt(med(warm.map((r) => r.collect)))} ms, render ${fmt(med(warm.map((r) => r.render)))} ms, total ${fmt(med(warm.map((r) => r.collect + r.render)))} ms`,
);
console.log(`max warm total: ${fmt(Math.max(...warm.map((r) => r.collect + r.render)))} ms`);
collector.close();
await node.stop();
