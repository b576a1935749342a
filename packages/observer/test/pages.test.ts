// Every page of the Observer in Chromium on an ergo-ts node, as a first-time user sees it: no
// error banner anywhere, chart time axes that read as clock times, the meta page, expanding the
// links/monitors graph, and HTTPS (the `tls` option). The Go node's pages are pages.go.test.ts.
// Screenshots go to packages/observer/test-output/.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { BrowserContext } from 'playwright-core';
import { Actor, type PID } from 'ergo-ts';
import { selfSigned } from 'ergo-ts/net';

import { chromiumPath, GO_NETWORK, FileChromium, startObserved } from './helpers.js';
import { assertDrawnOnlyWhenMoved, chartDraws, chartPoints } from './charts_support.js';
import { assertClockAxes, banners, settleClean, shot } from './pages_support.js';

/** One Chromium for this file's tests, a lease of its context each. */
const browsers = new FileChromium();

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelector(selector: string): { textContent: string | null; getAttribute(n: string): string | null } | null;
  querySelectorAll(selector: string): { length: number };
};

/** Links to and monitors its peers (the graph); each peer links to two more processes of its own. */
class Linker extends Actor {
  override async init(depth: number): Promise<void> {
    if (depth <= 0) return;
    for (let i = 0; i < 2; i++) {
      const p = await this.spawn(Linker, {}, depth - 1);
      if (i === 0) this.linkPID(p);
      else this.monitorPID(p);
    }
  }
}

test('every page of an ergo-ts node: no error banner, clock time axes, meta page, graph expansion', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { node, url } = await startObserved({}, { network: GO_NETWORK });
  let context: BrowserContext | undefined;
  try {
    context = await browsers.context(executablePath);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await chartPoints(page, '[data-page=info]', 3); // the node's history may prefill more
    await assertClockAxes(page, '[data-page=info]');
    // A chart is drawn when its own series moved, not at every frame of the page (the CPU chart
    // once per node_info frame, not again for each runtime frame).
    await page.waitForSelector('[data-page=info] .chart >> nth=4'); // the event loop charts too
    const drawn = await chartDraws(page, '[data-page=info]');
    await settleClean(page, 'the node page');
    assertDrawnOnlyWhenMoved(drawn, await chartDraws(page, '[data-page=info]'));
    await shot(page, 'ts-info');

    for (const p of ['processes', 'applications', 'events', 'network', 'log']) {
      await page.click(`[data-nav=${p}]`);
      await page.waitForSelector(`[data-page=${p}]`);
      await settleClean(page, `the ${p} page`);
      await shot(page, `ts-${p}`);
    }

    // The manager's process page lists its metas (web server, SSE and POST handlers); a click
    // opens the meta page with the meta's facts and its handleInspect state.
    const mgr = node.processPID('observer_mgr');
    await page.goto(`${url}/#/process/${encodeURIComponent(String(mgr))}`);
    await page.waitForSelector('[data-page=process] [data-testid=process-state]');
    await chartPoints(page, '[data-page=process]', 2);
    await assertClockAxes(page, '[data-page=process]');
    await page.click('[data-testid=metas] a >> nth=0');
    await page.waitForSelector('[data-page=meta] [data-testid=meta-info]');
    await page.waitForFunction(() =>
      /behavior/.test(document.querySelector('[data-page=meta] [data-testid=meta-info]')?.textContent ?? ''),
    );
    await settleClean(page, 'the meta page');
    await shot(page, 'ts-meta');

    // The graph: a process that links to one and monitors another, each with two of their own;
    // a click on a neighbour expands it.
    const root: PID = await node.spawn(Linker, {}, 2);
    await page.goto(`${url}/#/graph/${encodeURIComponent(String(root))}`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=graph] .gnode').length === 3);
    await page.click('[data-testid=graph] .gnode.pid:not(.centre) >> nth=0');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=graph] .gnode').length >= 5);
    await page.click('[data-testid=graph] .gnode.pid:not(.centre) >> nth=1');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=graph] .gnode').length >= 7);
    assert.ok((await page.$$('[data-testid=graph] .edge.monitor')).length >= 2, 'monitors drawn dashed');
    await settleClean(page, 'the graph page');
    await shot(page, 'ts-graph-expanded');

    assert.deepEqual(errors, [], 'no script errors in the page');
  } finally {
    await context?.close();
    await node.stop();
  }
});

test('the Observer over HTTPS (the tls option): pages load and stream', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { cert, key } = selfSigned('localhost');
  const { node, url } = await startObserved({ tls: { cert, key } });
  let context: BrowserContext | undefined;
  try {
    assert.match(url, /^https:\/\//);
    context = await browsers.context(executablePath, { ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForSelector('[data-page=info] [data-testid=processes-total]');
    await chartPoints(page, '[data-page=info]', 2); // the node's history may prefill more
    await page.click('[data-nav=processes]');
    await page.waitForSelector('[data-page=processes] .row[data-name=observer_mgr]');
    assert.deepEqual(await banners(page), []);
    await shot(page, 'tls-processes');
    void node;
  } finally {
    await context?.close();
    await node.stop();
  }
});
