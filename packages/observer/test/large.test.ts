// A node with 100,000 processes: the process list page stays responsive because it is paged
// (the node sends one page of 500; the next page is the next 500) and the browser draws only
// the rows in view. Also measures what the inspectors cost the node per second (printed).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually, testChromium } from '@ergo-ts/test-support';
import { chromium, type Browser } from 'playwright-core';
import { Actor, type PID } from 'ergo-ts';

import { StreamClient, chromiumPath, post, startObserved, WAIT } from './helpers.js';

declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
};

class Idle extends Actor {}

const PROCESSES = 100_000;

/** CPU microseconds this OS process spends over `ms` milliseconds. */
async function cpuOver(ms: number): Promise<number> {
  const start = process.cpuUsage();
  await new Promise((r) => setTimeout(r, ms));
  const d = process.cpuUsage(start);
  return d.user + d.system;
}

test(`${PROCESSES.toLocaleString('en-US')} processes: the process list is paged and virtualised; the inspectors' cost`, async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { node, url } = await startObserved();
  let browser: Browser | undefined;
  try {
    const pids: PID[] = [];
    for (let i = 0; i < PROCESSES; i++) pids.push(await node.spawn(Idle, {}));
    assert.ok(node.info().processesTotal >= PROCESSES);

    // The inspectors' cost, measured without the browser: CPU of this OS process over 5 s with
    // the subscriptions of the process list page, against 5 s without (printed, not asserted:
    // the machine is shared). First Ergo's PID page (what a Go node answers), then the sorted
    // page an ergo-ts node computes (one pass over all 100,000 processes each second).
    const report = (what: string, idle: number, busy: number): void => {
      const perSecond = (busy - idle) / 5;
      console.log(
        `# inspector cost at ${PROCESSES} processes, ${what} (with node_info, the hub and one SSE client): ` +
          `${(perSecond / 1000).toFixed(1)} ms CPU per second = ${(perSecond / 10_000).toFixed(2)} % of one core ` +
          `(idle baseline ${(idle / 5000).toFixed(1)} ms/s)`,
      );
    };
    const idle = await cpuOver(5000);
    const s = await StreamClient.open(url);
    await s.waitFor('connected');
    const h = { 'x-observer-session': s.session };
    await post(url, '/api/subscribe', { type: 'node_info', args: {} }, h);
    await post(url, '/api/subscribe', { type: 'process_list', args: { pidStart: 1000, pidLimit: 500 } }, h);
    await s.waitFor('process_list');
    report('a page of 500 from a PID (process_list)', idle, await cpuOver(5000));
    const r = await post(url, '/api/subscribe', { type: 'process_page', args: { sort: 'running', limit: 500 } }, h);
    assert.equal(r.status, 200, r.body.error);
    await s.waitFor('process_page', (d) => d.total >= PROCESSES);
    report('the 500 top-running of all (process_page)', idle, await cpuOver(5000));
    s.close();

    browser = await testChromium(chromium, executablePath);
    const page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
    await page.goto(`${url}/#/processes`);
    // The node pages its processes itself: 500 of all of them.
    await page.waitForFunction(() =>
      /^500 shown \(from 1\) of 100,0\d\d matching/.test(
        document.querySelector('[data-testid=process-count]')?.textContent ?? '',
      ),
    );
    // Only the rows in view are in the DOM.
    const rows = await page.$$eval('[data-page=processes] .row', (r) => r.length);
    assert.ok(rows > 10 && rows < 100, `rows drawn: ${rows}`);
    const firstPage = await page.getAttribute('[data-page=processes] .row', 'data-pid');
    await page.click('[data-testid=next-page]');
    await page.waitForFunction((first) => {
      const row = (
        document as unknown as { querySelector(s: string): { getAttribute(a: string): string } | null }
      ).querySelector('[data-page=processes] .row');
      return row !== null && row.getAttribute('data-pid') !== first;
    }, firstPage);
    const secondPage = (await page.getAttribute('[data-page=processes] .row', 'data-pid'))!;
    assert.ok(Number(/\.(\d+)>$/.exec(secondPage)![1]) > Number(/\.(\d+)>$/.exec(firstPage!)![1]) + 400);
    // The page still answers: a scroll to the end draws the last rows of the page.
    await page.$eval(
      '[data-page=processes] .virtual',
      (el) => ((el as unknown as { scrollTop: number }).scrollTop = 1e9),
    );
    await eventually(
      async () => (await page.$$eval('[data-page=processes] .row', (r) => r.length)) > 10,
      'rows after the scroll',
      WAIT,
    );
  } finally {
    await browser?.close();
    await node.stopForce();
  }
});
