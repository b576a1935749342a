// The History reaches a tab once: a connection page's traffic and the log page's records are sent
// in full the first time the page subscribes, then — the page left and opened again — only what
// came since, while the page draws what the tab kept (the chart as full as before, the earlier
// records still listed). The History samples every 50 ms here: a long history in a short test.
// Screenshots: test-output/once-*.png.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import type { BrowserContext, Page } from 'playwright-core';
import { startNode, type Atom } from 'ergo-ts';

import { HISTORY_NAME } from '../src/history.js';
import { chromiumPath, GO_NETWORK, FileChromium, startObserved, WAIT } from './helpers.js';
import { assertOnlyNew, frameSampleTimes } from './charts_support.js';
import { shot } from './pages_support.js';

/** One Chromium for this file's tests, a context each. */
const browsers = new FileChromium();

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
