// The node switcher at the size of a large cluster (issue 49): the Observer's node serves the
// embedded registrar and 99 more nodes register with it from a child OS process. In Chromium the
// switcher lists all 100, counts the connected ones, scrolls inside the sidebar (the "connect
// to…" button stays in view), filters by name, and switches to a node picked from the filtered
// list; the node observed stays scrolled into view. Screenshots go to packages/observer/test-output/ (switcher-*.png).

import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { eventually, freeTcpUdpPort, ipcMessage } from '@ergo-ts/test-support';
import { createEmbeddedRegistrar } from 'ergo-ts/net';
import type { Browser } from 'playwright-core';

import { chromiumPath, launchChromium, startObserved, VIEWPORT, WAIT } from './helpers.js';
import { shot } from './pages_support.js';

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
};

/** What the checks run in the browser read of an element. */
interface ScrollBox {
  getBoundingClientRect(): { top: number; bottom: number; height: number };
  scrollWidth: number;
  clientWidth: number;
}

const FIXTURE = fileURLToPath(new URL('./many_nodes.js', import.meta.url));
const COOKIE = 'observer-switcher';
const OTHERS = 99;

const isReady = (m: unknown): m is { kind: 'ready'; names: string[] } =>
  typeof m === 'object' && m !== null && (m as { kind?: unknown }).kind === 'ready';

test(`the switcher with ${OTHERS + 1} nodes: counted, scrolled in the sidebar, filtered, and a filtered node switched to`, async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const port = await freeTcpUdpPort();
  const observed = await startObserved(
    {},
    {
      network: {
        cookie: COOKIE,
        acceptors: [{ host: '127.0.0.1', port: 0 }],
        registrar: createEmbeddedRegistrar({ port, retryInterval: 200 }),
      },
    },
  );
  const prefix = `many${process.pid}n`;
  const child = fork(FIXTURE, [], {
    env: {
      ...process.env,
      MANY_COUNT: String(OTHERS),
      MANY_REGISTRAR: String(port),
      MANY_COOKIE: COOKIE,
      MANY_PREFIX: prefix,
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let browser: Browser | undefined;
  t.after(async () => {
    await browser?.close();
    if (child.connected) child.disconnect();
    await exited;
    await observed.node.stop();
  });
  const ready = await ipcMessage(child, isReady, `${OTHERS} nodes up`, 120_000);
  assert.equal(ready.names.length, OTHERS);

  browser = await launchChromium(executablePath);
  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(observed.url);
  // Every registered node listed (the session asks the registrar every few seconds).
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=node-list] li').length === n, OTHERS + 1, {
    timeout: WAIT.timeoutMs * 2,
  });
  // Only the Observer's own node is connected: the others are listed, not dialled.
  await page.waitForFunction(
    (n) => document.querySelector('[data-testid=node-count]')?.textContent === `1 of ${n} connected`,
    OTHERS + 1,
  );
  // A hundred names scroll inside the switcher: the button under the list is still in view.
  const button = await page.$('.switcher button');
  const box = await button!.boundingBox();
  assert.ok(box !== null && box.y + box.height <= VIEWPORT.height, `"connect to…" in view (at ${JSON.stringify(box)})`);
  await shot(page, 'switcher-100');

  // Filtered: the names holding "…n04" (ten of them), then one picked from them.
  await page.fill('[data-testid=node-filter]', `${prefix}04`);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=node-list] li').length === 10);
  const target = `${prefix}042@localhost`;
  await shot(page, 'switcher-filtered');
  await page.click(`[data-testid=node-list] a[data-node="${target}"]`);
  await page.waitForFunction((n) => document.querySelector('[data-testid=current-node]')?.textContent === n, target);
  // Switching dialled it: two connected now, and its dot says so.
  await page.waitForFunction(
    (n) => document.querySelector('[data-testid=node-count]')?.textContent === `2 of ${n} connected`,
    OTHERS + 1,
  );
  assert.ok(
    await page.$(`[data-testid=node-list] a[data-node="${target}"] .dot.up`),
    'the node switched to is connected',
  );
  // The filter cleared: all listed again.
  await page.fill('[data-testid=node-filter]', '');
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=node-list] li').length === n, OTHERS + 1);
  // The node observed is scrolled into the list's view, one line per name.
  await page.waitForSelector(`[data-testid=node-list] li.on a[data-node="${target}"]`);
  const place = (): Promise<{ list: number[]; item: number[]; widths: number[] } | null> =>
    page.evaluate((n) => {
      const ul = document.querySelector('[data-testid=node-list]') as unknown as ScrollBox | null;
      const on = document.querySelector(`[data-testid=node-list] a[data-node="${n}"]`) as unknown as ScrollBox | null;
      if (ul === null || on === null) return null;
      const u = ul.getBoundingClientRect();
      const o = on.getBoundingClientRect();
      return { list: [u.top, u.bottom], item: [o.top, o.bottom, o.height], widths: [on.scrollWidth, on.clientWidth] };
    }, target);
  let seen: Awaited<ReturnType<typeof place>> = null;
  await eventually(
    async () => {
      seen = await place();
      // One line of the list's 12 px text with its padding is about 25 px high, two about 40.
      return seen !== null && seen.item[0]! >= seen.list[0]! && seen.item[1]! <= seen.list[1]! && seen.item[2]! < 32;
    },
    'the node observed in the list’s view, on one line',
    WAIT,
  ).catch((e: unknown) => {
    throw new Error(`${(e as Error).message}: ${JSON.stringify(seen)}`);
  });
  await shot(page, 'switcher-switched');
});
