#!/usr/bin/env node
// What the Top page costs the node it watches (issue 63 item 4): a node with 100,000 idle
// processes and an echo process is called every 5 ms (one call at a time, timed from the call to
// its answer, so a call made while the node walks its table waits for the walk) for a few seconds
// with no page open, then with Chromium on the Top page (by time in
// handlers, then by mailbox; the node walks its process table once a second for it), then on the
// Processes page for comparison. Prints, per phase, the calls made, their round trip (median,
// p99, max) and the OS process's CPU. Not a test: figures, no thresholds.
//
// Usage (after npm run build): node packages/observer/scripts/top-cost.mjs [processes] [seconds]
// CHROMIUM=/path/to/chromium to use another browser (default /usr/bin/chromium).

import { monitorEventLoopDelay } from 'node:perf_hooks';

import { chromium } from 'playwright-core';
import { Actor, startNode } from 'ergo-ts';
import { createObserverApp } from '@ergo-ts/observer';

const PROCESSES = Number(process.argv[2] ?? 100_000);
const SECONDS = Number(process.argv[3] ?? 5);

class Idle extends Actor {}
class Echo extends Actor {
  handleCall(_from, _ref, request) {
    return request;
  }
}

const observer = createObserverApp({ host: '127.0.0.1', port: 0, heartbeat: 0 });
const node = await startNode(`topcost${process.pid}@localhost`, {
  log: { level: 'warning' },
  applications: [observer],
});
const echo = await node.spawn(Echo, {});
const t0 = Date.now();
for (let i = 0; i < PROCESSES; i++) await node.spawn(Idle, {});
console.log(`# ${PROCESSES} idle processes spawned in ${Date.now() - t0} ms (${node.processList().length} in all)`);

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

/** Calls the echo process every 5 ms for SECONDS; the round trips (ms), the event loop's delay and the CPU. */
async function measure(label) {
  const lat = [];
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let i = 0;
  while (performance.now() - start < SECONDS * 1000) {
    const t = performance.now();
    await node.call(echo, i++);
    lat.push(performance.now() - t);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const wall = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  lat.sort((a, b) => a - b);
  const row = {
    phase: label,
    calls: lat.length,
    call_median_ms: pct(lat, 0.5).toFixed(3),
    call_p99_ms: pct(lat, 0.99).toFixed(2),
    call_max_ms: lat[lat.length - 1].toFixed(1),
    loop_delay_p99_ms: (loop.percentile(99) / 1e6).toFixed(1),
    loop_delay_max_ms: (loop.max / 1e6).toFixed(1),
    cpu_pct: (((cpu.user + cpu.system) / 1000 / wall) * 100).toFixed(1),
  };
  console.log(JSON.stringify(row));
  return row;
}

await measure('no page');
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium' });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${observer.url}/#/top`);
  await page.waitForSelector('[data-testid=top-row]', { timeout: 30_000 });
  await measure('Top page, by time in handlers, top 20');
  await page.selectOption('[data-testid=top-sort]', 'mailbox');
  await page.waitForSelector('[data-testid=top-row]');
  await measure('Top page, by mailbox, top 20');
  await page.selectOption('[data-testid=top-limit]', '100');
  await measure('Top page, by mailbox, top 100');
  await page.goto(`${observer.url}/#/processes`);
  await page.waitForSelector('[data-page=processes] .row', { timeout: 30_000 });
  await measure('Processes page (500 by PID), for comparison');
  await page.goto('about:blank');
  await measure('no page again');
} finally {
  await browser.close();
  await node.stop();
}
