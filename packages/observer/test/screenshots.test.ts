// The guide's pictures: one screenshot (1280x800) of every page of the Observer, taken against a
// node under some load — a shop application with a supervision tree whose workers trade messages
// and log, an event with subscribers, a Go Ergo node connected (when ergo-peer is there). Each
// page is checked to show what it is for (and no error banner) before it is taken. They go to
// packages/observer/test-output/ (doc-*.png); with OBSERVER_DOCS_SHOTS=1 also to
// docs/images/observer/, which is how the committed ones were made:
//   npm run build && OBSERVER_DOCS_SHOTS=1 node scripts/run-tests.mjs --workspace packages/observer --filter screenshots

import assert from 'node:assert/strict';
import { accessSync, constants, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { eventually, screenshotsWanted } from '@ergo-ts/test-support';
import type { Browser, Page } from 'playwright-core';
import {
  Actor,
  createApplication,
  Event,
  ProcessID,
  Supervisor,
  SupervisorStrategy,
  SupervisorType,
  type Atom,
  type PID,
  type Ref,
  type SupervisorSpec,
} from 'ergo-ts';

import { HISTORY_NAME } from '../src/history.js';
import {
  chromiumPath,
  GO_NETWORK,
  launchChromium,
  outputDir,
  startGo,
  startObserved,
  WAIT,
  type GoPeer,
} from './helpers.js';
import { banners } from './pages_support.js';

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelectorAll(selector: string): { length: number };
};

const DOCS_DIR = fileURLToPath(new URL('../../../../docs/images/observer/', import.meta.url));
const SIZE = { width: 1280, height: 800 };

const tick = Symbol('tick');

/** Sends an order to `orders` every 20 ms and a price to its event subscribers every 100 ms. */
class Till extends Actor {
  #n = 0;
  #token: Ref | null = null;
  override init(): void {
    this.#token = this.registerEvent('prices');
    this.send(this.pid, tick);
  }
  override handleMessage(_from: PID, message: unknown): void {
    if (message !== tick) return;
    this.#n++;
    this.send('orders', { order: this.#n, item: `sku-${this.#n % 40}`, qty: (this.#n % 5) + 1 });
    if (this.#n % 5 === 0) this.sendEvent('prices', this.#token!, { sku: `sku-${this.#n % 40}`, price: this.#n % 97 });
    if (this.#n % 50 === 0) this.log.info('till: %d orders so far', this.#n);
    this.sendAfter(this.pid, tick, 20);
  }
}

/** Takes orders, asks payments for each; logs a warning now and then. */
class Orders extends Actor {
  #n = 0;
  override handleMessage(_from: PID, message: unknown): void {
    this.#n++;
    this.send('payments', message);
    if (this.#n % 200 === 0) this.log.warning('orders: %d orders, slow supplier for sku-%d', this.#n, this.#n % 40);
  }
  override handleInspect(): Record<string, string> {
    return { orders: String(this.#n) };
  }
}

class Payments extends Actor {
  #n = 0;
  override handleMessage(): void {
    this.#n++;
  }
  override handleInspect(): Record<string, string> {
    return { paid: String(this.#n) };
  }
}

/** Subscribes to the prices event (the events page counts it). */
class Watcher extends Actor {
  #prices = 0;
  override async init(): Promise<void> {
    await this.monitorEvent(new Event('prices' as Atom, this.node.name));
  }
  override handleEvent(): void {
    this.#prices++;
  }
  override handleInspect(): Record<string, string> {
    return { prices: String(this.#prices) };
  }
}

class StockSup extends Supervisor {
  override init(): SupervisorSpec {
    return {
      type: SupervisorType.OneForOne,
      children: [
        { name: 'stock_watcher_a', factory: Watcher },
        { name: 'stock_watcher_b', factory: Watcher },
      ],
      restart: { strategy: SupervisorStrategy.Transient, intensity: 5, period: 60 },
    };
  }
}

class ShopSup extends Supervisor {
  override init(): SupervisorSpec {
    return {
      type: SupervisorType.OneForOne,
      children: [
        { name: 'payments', factory: Payments },
        { name: 'orders', factory: Orders },
        // the till registers the prices event the stock watchers subscribe to
        { name: 'till', factory: Till },
        { name: 'stock_sup', factory: StockSup },
      ],
      restart: { strategy: SupervisorStrategy.Transient, intensity: 10, period: 3600 },
    };
  }
}

/** Pings the echo process of node `args[0]` every 50 ms; counts the answers. */
class Pinger extends Actor {
  #to!: ProcessID;
  #n = 0;
  override init(node: string): void {
    this.#to = new ProcessID('echo' as Atom, node as Atom);
    this.send(this.pid, tick);
  }
  override handleMessage(_from: PID, message: unknown): void {
    if (message !== tick) return;
    this.#n++;
    this.send(this.#to, { ping: this.#n, note: 'stock level check' });
    this.sendAfter(this.pid, tick, 50);
  }
}

/** Links to the next one, monitors another (the graph page). */
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

function goPeerBinary(): string | undefined {
  const path =
    process.env.ERGO_PEER ?? fileURLToPath(new URL('../../../../../shared/peers/ergo-peer/ergo-peer', import.meta.url));
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    return undefined;
  }
}

async function take(page: Page, name: string): Promise<void> {
  assert.deepEqual(await banners(page), [], `no error banner on ${name}`);
  // The window only (1280x800), not the whole page: the log page alone is thousands of lines long.
  // Under CI=true only the checks (screenshotsWanted), unless the pictures are for the docs.
  const docs = process.env.OBSERVER_DOCS_SHOTS === '1';
  if (!docs && !screenshotsWanted()) return;
  const path = join(outputDir(), `doc-${name}.png`);
  await page.screenshot({ path });
  if (docs) {
    mkdirSync(DOCS_DIR, { recursive: true });
    copyFileSync(path, `${DOCS_DIR}${name}.png`);
  }
}

/** Waits until a chart under `scope` draws at least `n` points. */
function chartFilled(page: Page, scope: string, n: number): Promise<unknown> {
  return page.waitForFunction(
    ([s, min]) =>
      Array.from(
        (
          document as unknown as { querySelectorAll(q: string): Iterable<{ getAttribute(a: string): string | null }> }
        ).querySelectorAll(`${s} .chart`),
      ).some((e) => Number(e.getAttribute('data-points')) >= min),
    [scope, n] as const,
    { timeout: 60_000 },
  );
}

test('a screenshot of every page, against a node under load', { timeout: 180_000 }, async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const bin = goPeerBinary();
  let go: GoPeer | undefined;
  // The charts hold 240+ samples of load by the time they are taken: four a second for the
  // guide's pictures (a minute of load), twenty a second for the test's (the same charts, filled
  // in 12 s of the node's load instead of 60; history.test samples every 50 ms too).
  const historyInterval = process.env.OBSERVER_DOCS_SHOTS === '1' ? 250 : 50;
  const { node, url } = await startObserved(
    { historyInterval },
    {
      network: GO_NETWORK,
      version: { name: 'shop', release: '1.4.2' },
      log: { level: 'info', defaultLogger: { disable: true } },
    },
  );
  let browser: Browser | undefined;
  try {
    await node.applicationLoad(
      createApplication({
        name: 'shop',
        description: 'orders, payments and stock',
        version: { name: 'shop', release: '1.4.2' },
        group: [{ name: 'shop_sup', factory: ShopSup }],
      }),
    );
    await node.applicationStart('shop');
    await node.applicationLoad(
      createApplication({ name: 'reports', description: 'nightly reports (loaded)', group: [{ factory: Payments }] }),
    );
    for (let i = 0; i < 200; i++) await node.spawn(Payments, {});
    const root = await node.spawn(Linker, {}, 2);
    if (bin !== undefined) {
      go = await startGo(bin, `inventory${process.pid}@localhost`);
      await node.network().getNodeWithRoute(go.name, { route: { host: '127.0.0.1', port: go.port, tls: false } });
      // Traffic on the connection: a ping to the Go node's echo every 50 ms (it answers each).
      await node.spawnRegister('pinger', Pinger, {}, go.name);
    }
    await eventually(async () => Number((await node.inspect(HISTORY_NAME)).samples) >= 240, '240 samples', {
      timeoutMs: 120_000,
      intervalMs: historyInterval,
    });

    browser = await launchChromium(executablePath);
    const page = await browser.newPage({ viewport: SIZE });
    await page.goto(`${url}/#/info`);
    await page.waitForSelector('[data-page=info] [data-testid=memory]');
    await chartFilled(page, '[data-page=info]', 200);
    await take(page, 'node');

    await page.click('[data-nav=processes]');
    await page.waitForSelector('[data-page=processes] .row[data-name=orders]');
    // Top messaging: the shop's till and workers come first.
    await page.selectOption('[data-page=processes] .toolbar select >> nth=2', 'messages');
    await page.waitForSelector('[data-page=processes] .row:first-child[data-name=till]', { timeout: WAIT.timeoutMs });
    await take(page, 'processes');

    const orders = node.processPID('orders');
    await page.goto(`${url}/#/process/${encodeURIComponent(String(orders))}`);
    await page.waitForSelector('[data-page=process] [data-testid=inspect-state] td');
    await chartFilled(page, '[data-page=process]', 5);
    await take(page, 'process');

    const mgr = node.processPID('observer_mgr');
    await page.goto(`${url}/#/process/${encodeURIComponent(String(mgr))}`);
    await page.click('[data-testid=metas] a >> nth=0');
    await page.waitForSelector('[data-page=meta] [data-testid=meta-info]');
    await take(page, 'meta');

    await page.goto(`${url}/#/graph/${encodeURIComponent(String(root))}`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=graph] .gnode').length === 3);
    await page.click('[data-testid=graph] .gnode.pid:not(.centre) >> nth=0');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=graph] .gnode').length >= 5);
    await take(page, 'graph');

    await page.click('[data-nav=applications]');
    await page.click('[data-app=shop]');
    await page.waitForSelector('[data-testid=app-tree] [data-testid=sup-facts]');
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid=app-tree] [data-testid=sup-facts]').length >= 2,
    );
    await take(page, 'applications');

    await page.click('[data-nav=events]');
    await page.waitForSelector('[data-testid=events] tr >> text=prices');
    await take(page, 'events');

    await page.click('[data-nav=network]');
    await page.waitForSelector('[data-page=network] .kv');
    if (go !== undefined) {
      await page.waitForSelector(`[data-testid=connected-nodes] >> text=${go.name}`);
      await take(page, 'network');
      await page.click(`[data-testid=connected-nodes] a >> text=${go.name}`);
      await chartFilled(page, '[data-page=connection]', 100);
      await take(page, 'connection');
    } else {
      await take(page, 'network');
    }

    await page.click('[data-nav=log]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=log-lines] > *').length >= 10);
    // Held still: a page redrawing each record never settles for a picture. The click goes to
    // the button itself: a mouse click waits for the growing page to hold still for a scroll and
    // a hit test, which on a loaded machine it may not do within 30 s.
    await page.dispatchEvent('[data-testid=pause]', 'click');
    await page.waitForSelector('[data-testid=pause] >> text=play');
    await take(page, 'log');

    if (go !== undefined) {
      // The Go node through the switcher: its node page.
      await page.click(`[data-testid=node-list] a[data-node="${go.name}"]`);
      await page.waitForSelector('[data-page=info] [data-testid=processes-total]');
      await chartFilled(page, '[data-page=info]', 15);
      await take(page, 'go-node');
    }
  } finally {
    await browser?.close();
    await node.stop();
    await go?.stop();
  }
});
