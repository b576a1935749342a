// History on the node: the Observer keeps a bounded ring of its node's figures and of its recent
// log records from its start, so a page opened later shows what came before at once. The test
// samples every 50 ms (the `historyInterval` option) instead of each second, so a few seconds
// stand for minutes: it waits for the rings to fill (their counts, not a time), then opens the
// node page — its charts hold the kept samples before any live one could add up to that many —
// and the log page, which lists records logged before it opened and only the newest of them.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import type { Browser } from 'playwright-core';

import { HISTORY_NAME } from '../src/index.js';
import { StreamClient, chromiumPath, launchChromium, post, startObserved, VIEWPORT, WAIT } from './helpers.js';
import { assertClockAxes, banners, shot } from './pages_support.js';

const SAMPLES = 200; // 10 s at 50 ms
const RECORDS = 20;
const LOGGED = 30;

test('a page opened late shows the kept history: prefilled charts, earlier log records', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { node, url } = await startObserved({
    historySeconds: (SAMPLES * 50) / 1000,
    historyInterval: 50,
    historyLogRecords: RECORDS,
  });
  let browser: Browser | undefined;
  try {
    for (let i = 0; i < LOGGED; i++) node.log.warning('before the page %d', i);
    // Both rings full, and bounded: they hold their capacity, not more.
    await eventually(
      async () => (await node.inspect(HISTORY_NAME)).samples === String(SAMPLES),
      `${SAMPLES} samples kept`,
      { ...WAIT, timeoutMs: 30_000 },
    );
    const kept = await node.inspect(HISTORY_NAME);
    assert.equal(kept.samples_max, String(SAMPLES));
    assert.equal(kept.records, String(RECORDS), 'the log ring holds its capacity, the oldest records gone');

    browser = await launchChromium(executablePath);
    const page = await browser.newPage({ viewport: VIEWPORT });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector('[data-page=info] .chart');
    // The first chart drawn already holds the kept samples (live ones come one a second).
    const points = await page.$$eval('[data-page=info] .chart', (els) =>
      els.map((e) => Number(e.getAttribute('data-points'))),
    );
    assert.ok(points.length >= 3 && points.every((n) => n >= SAMPLES / 2), `charts prefilled: ${points.join(', ')}`);
    // The event loop charts too (the node the Observer runs on).
    await page.waitForSelector('[data-page=info] .chart >> nth=4');
    await assertClockAxes(page, '[data-page=info]');
    assert.deepEqual(await banners(page), []);
    await shot(page, 'history-info');

    await page.click('[data-nav=log]');
    await page.waitForSelector(`[data-testid=log-lines] .line:has-text("before the page ${LOGGED - 1}")`);
    const lines = await page.$$eval('[data-testid=log-lines] .line', (els) => els.map((e) => e.textContent ?? ''));
    assert.ok(
      lines.some((l) => l.includes(`before the page ${LOGGED - RECORDS}`)),
      `the oldest record kept is shown: ${lines.join(' / ')}`,
    );
    assert.ok(!lines.some((l) => / before the page 0$/.test(l)), 'records beyond the ring are gone');
    await shot(page, 'history-log');
    assert.deepEqual(errors, []);
  } finally {
    await browser?.close();
    await node.stop();
  }
});

test('the history frames on the stream: node figures, log records of the levels asked for; none when off', async () => {
  const { node, url } = await startObserved({ historyInterval: 50, historyLogRecords: 50 });
  const off = await startObserved({ historySeconds: 0, historyLogRecords: 0 });
  const clients: StreamClient[] = [];
  try {
    node.log.info('an info record');
    node.log.error('an error record');
    await eventually(async () => Number((await node.inspect(HISTORY_NAME)).samples) >= 20, '20 samples', WAIT);
    const c = await StreamClient.open(url);
    clients.push(c);
    await c.waitFor('connected');
    const h = { 'x-observer-session': c.session };
    assert.equal((await post(url, '/api/subscribe', { type: 'node_info', args: {} }, h)).status, 200);
    const history = (await c.waitFor('history')) as { interval: number; samples: Record<string, unknown>[] };
    assert.equal(history.interval, 50);
    assert.ok(history.samples.length >= 20, `${history.samples.length} samples`);
    for (const k of ['t', 'processesTotal', 'memoryUsed', 'cpuUser', 'elu', 'delayMax', 'connections'])
      assert.ok(k in history.samples[0]!, `a sample has ${k}`);
    assert.ok((history.samples.at(-1)!.processesTotal as number) > 5);
    assert.equal((await post(url, '/api/subscribe', { type: 'log', args: { levels: ['error'] } }, h)).status, 200);
    const log = (await c.waitFor('log_history')) as { records: { message: string; level: number }[] };
    assert.deepEqual(
      log.records.map((r) => r.message),
      ['an error record'],
      'only the levels subscribed to',
    );

    // Without history, no History process and no history frames; the page data still flows.
    assert.equal(off.node.processList().filter((p) => off.node.processInfo(p).name === HISTORY_NAME).length, 0);
    const d = await StreamClient.open(off.url);
    clients.push(d);
    await d.waitFor('connected');
    const hd = { 'x-observer-session': d.session };
    assert.equal((await post(off.url, '/api/subscribe', { type: 'node_info', args: {} }, hd)).status, 200);
    await d.waitFor('node_info');
    assert.ok(!d.frames.some((f) => f.event === 'history'));
  } finally {
    for (const c of clients) c.close();
    await node.stop();
    await off.node.stop();
  }
});
