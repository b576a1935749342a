// Many tabs, one stream: 10 tabs of one browser profile open the Observer at once. A browser
// allows six HTTP/1.1 connections per host, so with a stream per tab the seventh tab never
// loaded; the tabs now share one stream held by a SharedWorker, each with a session of its own.
// Every tab loads its node page and follows live data; the node holds one stream and 10
// sessions; a tab's switch leaves the others' subscriptions alone; closed tabs end their sessions,
// a tab gone without saying bye too.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { eventually, screenshotsWanted } from '@ergo-ts/test-support';
import { Actor, type PID } from 'ergo-ts';
import type { Browser, Page } from 'playwright-core';

import { HUB_NAME, MANAGER_NAME } from '../src/index.js';
import { chromiumPath, launchChromium, outputDir, startObserved, VIEWPORT, WAIT } from './helpers.js';

const TABS = 10; // more than the six connections a browser opens to one host
/** The tabs closed with their goodbye, last ones first. */
const CLOSED = 3;

class Idle extends Actor {}

/**
 * The process total a tab's node page shows. A check of an `eventually` loop: it waits for the
 * element 2 s at most (Playwright's default is 30 s, which left a 60 s loop two checks), and a
 * page without it throws, so the loop records why and polls again.
 */
async function shownTotal(page: Page): Promise<number> {
  const text = await page.textContent('[data-page=info] [data-testid=processes-total]', { timeout: 2_000 });
  if (text === null) throw new Error('no process total shown');
  return Number(text.replace(/,/g, ''));
}

test(`${TABS} tabs of one browser share one event stream and each follows its node live`, async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { node, url } = await startObserved();
  let browser: Browser | undefined;
  try {
    browser = await launchChromium(executablePath);
    const context = await browser.newContext({ viewport: VIEWPORT });
    const errors: string[] = [];
    const pages = await Promise.all(Array.from({ length: TABS }, () => context.newPage()));
    for (const p of pages) p.on('pageerror', (e) => errors.push(e.message));
    // Every tab loads its node page while the ones before stay open (with a stream per tab the
    // seventh waits for a connection for good). One after the other: ten pages starting at
    // once on a loaded 2-core machine take minutes; the bound of each (60 s) is a hang guard.
    for (const [i, p] of pages.entries()) {
      await p.goto(url);
      try {
        await p.waitForSelector('[data-page=info] [data-testid=processes-total]', { timeout: 60_000 });
      } catch (err) {
        const text = await p.textContent('body', { timeout: 5000 }).catch(() => '(no body)');
        assert.fail(
          `tab ${i} did not load its node page: ${text} (${JSON.stringify(await node.inspect(MANAGER_NAME))}): ${String(err)}`,
        );
      }
    }
    // One stream for the browser, a session per tab.
    const manager = await node.inspect(MANAGER_NAME);
    assert.equal(manager.streams, '1', `one event stream: ${JSON.stringify(manager)}`);
    assert.equal(manager.shared_streams, '1');
    assert.equal(manager.sessions, String(TABS));

    // Live: processes spawned now show up in every tab.
    const before = node.info().processesTotal;
    const spawned: PID[] = [];
    for (let i = 0; i < 25; i++) spawned.push(await node.spawn(Idle, {}));
    const target = before + spawned.length;
    for (const [i, p] of pages.entries())
      await eventually(async () => (await shownTotal(p)) >= target, `tab ${i} to show ${target} processes`, {
        ...WAIT,
        timeoutMs: 60_000,
      });
    if (screenshotsWanted()) await pages[TABS - 1]!.screenshot({ path: join(outputDir(), 'tabs-last.png') });

    // Independent: one tab leaves the node page for the log; the others keep their node_info.
    await pages[0]!.click('[data-nav=log]');
    await pages[0]!.waitForSelector('[data-page=log]');
    await eventually(
      async () => Number((await node.inspect(HUB_NAME)).events) >= 2,
      'the hub to hold the log event beside node_info',
      WAIT,
    );
    for (const p of spawned) node.sendExit(p, new Error('done'));
    // (the log page's inspector is one more process meanwhile)
    for (const [i, p] of pages.slice(1).entries())
      await eventually(async () => (await shownTotal(p)) <= before + 1, `tab ${i + 1} to follow the exits`, {
        ...WAIT,
        timeoutMs: 60_000,
      });

    // Closed tabs end their sessions; the shared stream stays for the others.
    await Promise.all(pages.slice(TABS - CLOSED).map((p) => p.close()));
    await eventually(
      async () => (await node.inspect(MANAGER_NAME)).sessions === String(TABS - CLOSED),
      'the closed tabs to end their sessions',
      WAIT,
    ).catch(async (err: unknown) => {
      assert.fail(`${String(err)}: ${JSON.stringify(await node.inspect(MANAGER_NAME))}`);
    });
    assert.equal((await node.inspect(MANAGER_NAME)).streams, '1');

    // A tab gone without its goodbye (its bye and keepalive close lost, as when a loaded browser
    // tears the page down first): the Web Lock the tab held is released with its document, and
    // the worker, waiting on it, ends the session; missed pings alone would take 30-40 s. The
    // tab's messages to the worker and its fetches are cut before it closes.
    await pages[TABS - CLOSED - 1]!.evaluate(
      'MessagePort.prototype.postMessage = () => undefined; fetch = () => new Promise(() => {})',
    );
    await pages[TABS - CLOSED - 1]!.close();
    await eventually(
      async () => (await node.inspect(MANAGER_NAME)).sessions === String(TABS - CLOSED - 1),
      'a tab closed without its bye to end its session',
      WAIT,
    ).catch(async (err: unknown) => {
      assert.fail(`${String(err)}: ${JSON.stringify(await node.inspect(MANAGER_NAME))}`);
    });
    assert.deepEqual(errors, []);
    await context.close();
    await eventually(
      async () => (await node.inspect(MANAGER_NAME)).sessions === '0',
      'every session to end with the browser context',
      { ...WAIT, timeoutMs: 30_000 },
    );
  } finally {
    await browser?.close();
    await node.stop();
  }
});
