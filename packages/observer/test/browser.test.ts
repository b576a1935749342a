// The Observer in a real browser: Debian's Chromium driven by playwright-core. One node runs the
// Observer (and an application, a supervisor, workers, a process with links and monitors); the
// test opens each page, checks that it shows the node's live data — a process spawned after the
// page opened appears, a kill from the page ends the process, a record logged after the log page
// opened shows up, the switcher opens a Go Ergo node — and saves a screenshot of every page to
// packages/observer/test-output/.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { eventually, screenshotsWanted } from '@ergo-ts/test-support';
import type { BrowserContext, Page } from 'playwright-core';
import {
  Actor,
  ApplicationMode,
  Supervisor,
  SupervisorStrategy,
  SupervisorType,
  type ApplicationBehavior,
  type Atom,
  type PID,
  type SupervisorSpec,
} from 'ergo-ts';

import { chromiumPath, FileChromium, goBrowserSession, GO_NETWORK, outputDir, startObserved, WAIT } from './helpers.js';
import { chartPoints } from './charts_support.js';

/** One Chromium for this file's tests, a lease of its context each. */
const browsers = new FileChromium();

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
};

class Worker extends Actor {
  count = 0;
  override handleMessage(): void {
    this.count++;
  }
  override handleInspect(): Record<string, string> {
    return { count: String(this.count), role: 'worker' };
  }
}

class Sup extends Supervisor {
  override init(): SupervisorSpec {
    return {
      type: SupervisorType.OneForOne,
      children: [
        { name: 'shop_worker_a', factory: Worker },
        { name: 'shop_worker_b', factory: Worker },
      ],
      restart: { strategy: SupervisorStrategy.Transient, intensity: 5, period: 5 },
    };
  }
}

const shopApp: ApplicationBehavior = {
  load: () => ({
    name: 'shop',
    description: 'a demo application',
    mode: ApplicationMode.Transient,
    group: [{ name: 'shop_sup', factory: Sup }],
  }),
};

/** Links to and monitors a few processes, for the graph page. */
class Hubby extends Actor {
  override init(...peers: PID[]): void {
    for (const [i, p] of peers.entries()) {
      if (i % 2 === 0) this.linkPID(p);
      else this.monitorPID(p);
    }
  }
  override handleInspect(): Record<string, string> {
    return { peers: 'many' };
  }
}

/** A screenshot of the window (none under CI=true: screenshotsWanted); its path. */
async function shot(page: Page, name: string): Promise<string> {
  const path = join(outputDir(), `${name}.png`);
  if (screenshotsWanted()) await page.screenshot({ path });
  return path;
}

test('the Observer in Chromium: every page shows the live node', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { node, url } = await startObserved(
    {},
    {
      network: GO_NETWORK,
      applications: [shopApp],
    },
  );
  let context: BrowserContext | undefined;
  const shots: string[] = [];
  try {
    context = await browsers.context(executablePath);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));

    // Node page: facts and the process count, live.
    await page.goto(url);
    await page.waitForSelector('[data-page=info] [data-testid=processes-total]');
    const total = Number((await page.textContent('[data-testid=processes-total]'))!.replace(/,/g, ''));
    assert.ok(total >= node.info().processesTotal - 5 && total > 5, `process total ${total}`);
    await page.waitForSelector('[data-page=info] .chart .u-title');
    await page.waitForFunction(() => document.querySelectorAll('[data-page=info] .chart').length >= 4);
    await page.waitForSelector('[data-page=info] [data-testid=heap] th');
    // A few samples in the charts (one a second) before the picture.
    await chartPoints(page, '[data-page=info]', 4); // the node's history may prefill more
    shots.push(await shot(page, 'info'));

    // Selecting the node already observed is a switch too (the session drops every subscription
    // and writes a new `connected` frame): the page subscribes again and its figures stay live.
    const switched = page.waitForResponse((r) => r.url().endsWith('/api/switch'));
    await page.click(`[data-testid=node-list] a[data-node="${node.name}"]`);
    assert.equal((await switched).status(), 200);
    const before = Number((await page.textContent('[data-testid=processes-total]'))!.replace(/,/g, ''));
    for (let i = 0; i < 5; i++) await node.spawn(Worker, {});
    await page.waitForFunction(
      (n) => Number(document.querySelector('[data-testid=processes-total]')?.textContent?.replace(/,/g, '')) >= n,
      before + 5,
    );

    // Process list: a process spawned after the page opened appears.
    await page.click('[data-nav=processes]');
    await page.waitForSelector('[data-page=processes] .row');
    const late = await node.spawnRegister('late_comer', Worker, {});
    await page.waitForSelector('[data-page=processes] .row[data-name=late_comer]');
    shots.push(await shot(page, 'processes'));

    // Its page: info, the handleInspect state, then a kill from the page ends it.
    node.send(late, 'tick');
    await page.click(`[data-page=processes] .row[data-name=late_comer] a`);
    await page.waitForSelector('[data-page=process] [data-testid=process-state]');
    await chartPoints(page, '[data-page=process]', 3);
    await page.waitForFunction(() =>
      /count/.test(document.querySelector('[data-testid=inspect-state]')?.textContent ?? ''),
    );
    assert.match((await page.textContent('[data-page=process] h1'))!, /late_comer/);
    shots.push(await shot(page, 'process'));
    await page.click('[data-testid=kill]');
    await page.click('[data-testid=kill-yes]'); // kill asks first
    await eventually(() => !node.processList().some((p) => p.equals(late)), 'late_comer to end', WAIT);
    await page.waitForSelector('[data-testid=terminated]');

    // Applications: the supervision tree of `shop`.
    await page.click('[data-nav=applications]');
    await page.click('[data-app=shop]');
    await page.waitForFunction(() => {
      const tree = document.querySelector('[data-testid=app-tree]')?.textContent ?? '';
      return tree.includes('shop_sup') && tree.includes('shop_worker_a') && tree.includes('shop_worker_b');
    });
    assert.ok(
      (await page.$$('[data-testid=app-tree] ul.tree ul.tree li')).length >= 2,
      'workers drawn under the supervisor',
    );
    shots.push(await shot(page, 'applications'));

    // Log: a record logged after the page opened.
    await page.click('[data-nav=log]');
    await page.waitForSelector('[data-page=log]');
    await page.waitForFunction(() => document.querySelector('[data-page=log] .error') === null);
    const marker = `observer test record ${process.pid}`;
    // The subscription is made by the page; log until its first record arrives, then once more.
    await eventually(
      async () => {
        node.log.info(marker);
        return (await page.textContent('[data-testid=log-lines]'))!.includes(marker);
      },
      'the log record in the page',
      WAIT,
    );
    node.log.warning('%s warning', marker);
    await page.waitForFunction(
      (m) => document.querySelector('[data-testid=log-lines]')!.textContent!.includes(`${m} warning`),
      marker,
    );
    // A stack trace is folded under its record's first line, and opens on a click.
    const failure = new Error(`${marker} boom`);
    node.log.error('%s failed: %s', marker, failure.stack ?? '');
    await page.waitForSelector('[data-testid=log-lines] [data-testid=log-folded]');
    const folded = await page.$eval('[data-testid=log-lines] [data-testid=log-folded]', (el) => {
      const e = el as unknown as { textContent: string | null; getBoundingClientRect(): { height: number } };
      return { text: e.textContent ?? '', height: e.getBoundingClientRect().height };
    });
    assert.match(folded.text, /failed: Error: .* boom \(\+\d+ lines\)/, folded.text);
    assert.ok(folded.height < 24, `a folded record is one line high (${folded.height}px)`);
    await page.click('[data-testid=log-lines] [data-testid=log-folded] summary');
    await page.waitForSelector('[data-testid=log-lines] [data-testid=log-folded] pre.folded-rest:visible');
    assert.match((await page.textContent('[data-testid=log-lines] [data-testid=log-folded] pre'))!, /^\s*at /);
    shots.push(await shot(page, 'log'));

    // Network: the acceptor.
    await page.click('[data-nav=network]');
    await page.waitForFunction(() =>
      /127\.0\.0\.1/.test(document.querySelector('[data-page=network]')?.textContent ?? ''),
    );
    shots.push(await shot(page, 'network'));

    // Events (where the node answers event lists), and the graph of a process's links and monitors.
    await page.click('[data-nav=events]');
    await page.waitForSelector('[data-page=events]');
    // An event registered after the page opened appears in the list.
    node.registerEvent('shop_orders', { buffer: 2 });
    await page.waitForSelector('[data-page=events] tr[data-event=shop_orders]');
    shots.push(await shot(page, 'events'));
    const peers = await Promise.all([1, 2, 3, 4].map(() => node.spawn(Worker, {})));
    const hubby = await node.spawnRegister('hubby', Hubby, {}, ...peers);
    await page.goto(`${url}/#/graph/${encodeURIComponent(String(hubby))}`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=graph] .gnode').length >= 5);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=graph] .edge.monitor').length >= 2);
    shots.push(await shot(page, 'graph'));

    assert.deepEqual(errors, [], 'no script errors in the page');
  } finally {
    await context?.close();
    await node.stop();
    console.log(`# screenshots: ${shots.join(', ')}`);
  }
});

test('the switcher opens a Go Ergo node (ergo-peer) and shows its node and processes', async (t) => {
  const session = await goBrowserSession(t, 'goobs', browsers);
  if (session === undefined) return;
  const { node, url, page } = session;
  const goName = session.go.name;
  try {
    await page.goto(url);
    await page.waitForSelector('[data-testid=processes-total]');
    await page.click('text=connect to…');
    await page.fill('.connect input[placeholder="node@host"]', goName);
    await page.fill('.connect input[placeholder=host]', '127.0.0.1');
    await page.fill('.connect input[placeholder=port]', String(session.go.port));
    await page.click('.connect button[type=submit]');
    await page.waitForFunction((n) => document.querySelector('[data-testid=current-node]')?.textContent === n, goName);
    await page.waitForFunction(
      (n) =>
        (document.querySelector('[data-page=info] h1')?.textContent ?? '').includes(n) &&
        document.querySelector('[data-testid=processes-total]') !== null,
      goName,
    );
    assert.ok(
      node
        .network()
        .nodes()
        .includes(goName as Atom),
      'connected to the Go node',
    );
    assert.match((await page.textContent('[data-page=info]'))!, /Ergo/);
    await shot(page, 'switch-go-info');
    // The Go node's processes, and the switcher lists it as connected.
    await page.click('[data-nav=processes]');
    await page.waitForSelector('[data-page=processes] .row[data-name=echo]');
    await shot(page, 'switch-go-processes');
    assert.ok(await page.$(`[data-testid=node-list] a[data-node="${goName}"] .dot.up`), 'listed as connected');
    // And back to the TypeScript node.
    await page.click(`[data-testid=node-list] a[data-node="${node.name}"]`);
    await page.waitForFunction(
      (n) => document.querySelector('[data-testid=current-node]')?.textContent === n,
      node.name,
    );
  } finally {
    await session.close();
  }
});
