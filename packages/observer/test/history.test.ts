// History on the node: the Observer keeps a bounded ring of its node's figures and of its recent
// log records from its start, so a page opened later shows what came before at once. The test
// samples every 50 ms (the `historyInterval` option) instead of each second, so a few seconds
// stand for minutes: it waits for the rings to fill (their counts, not a time), then opens the
// node page — its charts hold the kept samples before any live one could add up to that many —
// and the log page, which lists records logged before it opened and only the newest of them.
//
// And the History reaches a tab once: a connection page's traffic and the log page's records are sent
// in full the first time the page subscribes, then — the page left and opened again — only what
// came since, while the page draws what the tab kept (the chart as full as before, the earlier
// records still listed). Screenshots: test-output/history-*.png, once-*.png.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import type { BrowserContext, Page } from 'playwright-core';
import { startNode, type Atom } from 'ergo-ts';

import { HISTORY_NAME } from '../src/index.js';
import { StreamClient, chromiumPath, FileChromium, GO_NETWORK, post, startObserved, WAIT } from './helpers.js';
import { assertOnlyNew, frameSampleTimes } from './charts_support.js';
import { assertClockAxes, banners, shot } from './pages_support.js';

/** One Chromium for this file's tests, a lease of its context each. */
const browsers = new FileChromium();

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
  let context: BrowserContext | undefined;
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

    context = await browsers.context(executablePath);
    const page = await context.newPage();
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
    await context?.close();
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

/** Sizes of the frames of `event` the page's own event stream received, in order (CDP). */
async function frameSizes(page: Page, event: string): Promise<number[]> {
  const sizes: number[] = [];
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  cdp.on('Network.eventSourceMessageReceived', (e) => {
    if (e.eventName === event) sizes.push(e.data.length);
  });
  return sizes;
}

test("a connection's history reaches a tab once, then only what is new; the charts drawn from what it kept", async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { node, url } = await startObserved({ historyInterval: 50 }, { network: GO_NETWORK });
  const other = await startNode(`onceother${process.pid}@localhost` as Atom, {
    log: { level: 'warning', defaultLogger: { disable: true } },
    network: GO_NETWORK,
  });
  let context: BrowserContext | undefined;
  try {
    const port = Number(/:(\d+)$/.exec(other.network().acceptors()[0]!.info().interface)![1]);
    await node.network().getNodeWithRoute(other.name, { route: { host: '127.0.0.1', port, tls: false } });
    // A few hundred samples of the connection first.
    await eventually(async () => Number((await node.inspect(HISTORY_NAME)).samples) >= 200, '200 samples', WAIT);

    context = await browsers.context(executablePath);
    const page = await context.newPage();
    const history = await frameSampleTimes(page, 'connection_history');
    await page.goto(`${url}/#/connection/${encodeURIComponent(other.name)}/own-stream`);
    await page.waitForSelector('[data-page=connection] .chart');
    await eventually(() => history.length >= 1, 'the first connection_history frame', WAIT);
    const points = async (): Promise<number> =>
      Number(await page.getAttribute('[data-page=connection] .chart >> nth=0', 'data-points'));
    await eventually(async () => (await points()) > 20, 'the history fills the chart', WAIT);
    const firstPoints = await points();

    // Away and back: the connection page subscribes again, and is sent only the samples since.
    await page.click('[data-nav=network]');
    await page.waitForSelector('[data-page=network]');
    await page.goto(`${url}/#/connection/${encodeURIComponent(other.name)}/own-stream`);
    await page.waitForSelector('[data-page=connection] .chart');
    await eventually(() => history.length >= 2, 'the second connection_history frame', WAIT);
    assertOnlyNew(history, 'connection_history');
    // and the charts are drawn from what the tab kept
    await eventually(async () => (await points()) >= firstPoints, 'the chart as full as before', WAIT);
    await shot(page, 'once-connection');
  } finally {
    await context?.close();
    await node.stop();
    await other.stop();
  }
});

test('the log history reaches a tab once, then only what is new; a level shown later brings its records', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { node, url } = await startObserved(
    { historyLogRecords: 500 },
    { log: { level: 'debug', defaultLogger: { disable: true } } },
  );
  let context: BrowserContext | undefined;
  try {
    // Records of a few hundred bytes each: the first history frame is large.
    const pad = 'x'.repeat(200);
    for (let i = 0; i < 200; i++) node.log.info('before the page %d %s', i, pad);
    node.log.debug('a debug record before the page');
    await eventually(async () => Number((await node.inspect(HISTORY_NAME)).records) >= 201, '201 records', WAIT);

    context = await browsers.context(executablePath);
    const page = await context.newPage();
    const history = await frameSizes(page, 'log_history');
    await page.goto(`${url}/#/log/own-stream`);
    await page.waitForSelector('[data-testid=log-lines] .line:has-text("before the page 199")');
    await eventually(() => history.length >= 1, 'the first log_history frame', WAIT);
    const lines = (): Promise<string[]> =>
      page.$$eval('[data-testid=log-lines] .line', (els) => els.map((e) => e.textContent ?? ''));
    assert.ok(!(await lines()).some((l) => l.includes('a debug record')), 'debug is not shown by default');

    // Away and back: the log page subscribes again, and is sent only the records since.
    await page.click('[data-nav=processes]');
    await page.waitForSelector('[data-page=processes]');
    node.log.info('while the page was away');
    await page.click('[data-nav=log]');
    await page.waitForSelector('[data-testid=log-lines] .line:has-text("while the page was away")');
    await eventually(() => history.length >= 2, 'the second log_history frame', WAIT);
    assert.ok(
      history[1]! < history[0]! / 10,
      `the second log_history frame carries only what is new: ${history[1]} bytes after ${history[0]}`,
    );
    // The records sent before are listed again from what the tab kept.
    const again = await lines();
    assert.ok(
      again.some((l) => l.includes('before the page 0 ')) && again.some((l) => l.includes('before the page 199')),
      'the earlier records are listed again',
    );

    // A level shown only now brings its earlier records (never sent to this tab before).
    await page.check('[data-page=log] label:has-text("debug") input');
    await page.waitForSelector('[data-testid=log-lines] .line:has-text("a debug record before the page")');
    await shot(page, 'once-log');
  } finally {
    await context?.close();
    await node.stop();
  }
});
