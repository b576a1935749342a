// A manual check of the Observer's history at its defaults: a node runs ten minutes of load
// (processes spawned and ended, messages, log records) with the Observer at default history
// options; then Chromium opens the node page and the log page for the first time and takes
// screenshots. The charts must span the whole ten minutes and the log must list records from
// before the page opened. Not part of `npm test` (it takes the minutes it measures).
//
//   node packages/observer/scripts/history-soak.mjs [minutes=10] [out dir=test-output]
// (after `npm run build`; Chromium at /usr/bin/chromium or $CHROMIUM)

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { Actor, TerminateReasonNormal, startNode } from 'ergo-ts';
import { chromium } from 'playwright-core';

import { createObserverApp } from '../dist/src/index.js';

const minutes = Number(process.argv[2] ?? 10);
const out = process.argv[3] ?? 'test-output';
mkdirSync(out, { recursive: true });

class Busy extends Actor {
  handleMessage(_from, m) {
    if (m === 'log') this.log.info('busy %s handled a message', this.pid);
    if (m === 'stop') return TerminateReasonNormal;
  }
}

const app = createObserverApp({ host: '127.0.0.1', port: 0 });
const node = await startNode(`soak${process.pid}@localhost`, {
  log: { level: 'info', defaultLogger: { disable: true } },
  applications: [app],
});
const started = Date.now();
const live = [];
let round = 0;
// The load: each second, a wave of processes (the count swings over the minutes so the chart
// shows its shape), messages to them, a log record, and the oldest wave ended.
const timer = setInterval(() => {
  round++;
  const wave = 50 + 50 * Math.round(2 + 2 * Math.sin(round / 30));
  void Promise.all(Array.from({ length: wave }, () => node.spawn(Busy))).then((pids) => {
    live.push(pids);
    for (const p of pids) for (let i = 0; i < 20; i++) node.send(p, i);
    node.send(pids[0], 'log');
    if (live.length > 10) for (const p of live.shift()) node.send(p, 'stop');
  });
  if (round % 10 === 0) node.log.info('soak round %d, %d waves live', round, live.length);
}, 1000);

await new Promise((r) => setTimeout(r, minutes * 60_000));
clearInterval(timer);
const ranFor = (Date.now() - started) / 1000;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
const opened = Date.now();
await page.goto(app.url);
// The first charts drawn hold the kept samples: live ones come one a second.
await page.waitForSelector('[data-page=info] .chart >> nth=3');
const points = await page.$$eval('[data-page=info] .chart', (els) => els.map((e) => e.getAttribute('data-points')));
await page.screenshot({ path: join(out, 'history-soak-node.png') });
await page.click('[data-nav=log]');
await page.waitForSelector('[data-testid=log-lines] .line');
const lines = await page.$$eval('[data-testid=log-lines] .line', (els) => els.map((e) => e.textContent ?? ''));
await page.screenshot({ path: join(out, 'history-soak-log.png') });
console.log(
  `ran ${ranFor.toFixed(0)} s of load; the page opened ${((opened - started) / 1000).toFixed(0)} s after the start`,
);
console.log(`node page: chart points ${points.join(', ')} (one a second)`);
console.log(`log page: ${lines.length} records; newest shown: ${lines.at(-1) ?? '-'}; oldest: ${lines[0] ?? '-'}`);
await browser.close();
await node.stop();
