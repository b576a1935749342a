// What five pages of the Observer got wrong, each checked in Chromium (issue 63 item 3): the log
// page follows the newest record like `tail -f`; the network page's acceptor row names the
// registrar the Registrar card shows; a process busy in one handler shows that handler's time in
// its running time and its "busy since" from when the handler began; the events page hides the
// inspector's own events unless asked; and a chart's value axis never repeats a label.
// Screenshots go to packages/observer/test-output/.

import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { Actor, ProcessState, type Node, type PID } from 'ergo-ts';
import type { Page } from 'playwright-core';

import { chromiumPath, FileChromium, startObserved, WAIT } from './helpers.js';
import { shot } from './pages_support.js';

/** One Chromium for this file's tests, a lease of its context each. */
const browsers = new FileChromium();

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelector(selector: string): LogBox | null;
  querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>;
};
interface LogBox {
  textContent: string | null;
  scrollTop: number;
  scrollHeight: number;
  clientHeight: number;
  lastElementChild: { textContent: string | null; getBoundingClientRect(): Rect } | null;
  getBoundingClientRect(): Rect;
  getAttribute(name: string): string | null;
}
interface Rect {
  top: number;
  bottom: number;
}

/** Where the log box is scrolled, and whether its last line is in view. */
async function logView(page: Page): Promise<{ atEnd: boolean; lastShown: boolean; last: string; top: number }> {
  return page.$eval('[data-testid=log-lines]', (el) => {
    const box = el as unknown as LogBox;
    const r = box.getBoundingClientRect();
    const last = box.lastElementChild;
    const lr = last?.getBoundingClientRect();
    return {
      atEnd: box.scrollHeight - box.scrollTop - box.clientHeight <= 8,
      lastShown: lr !== undefined && lr.top >= r.top && lr.bottom <= r.bottom + 1,
      last: last?.textContent ?? '',
      top: box.scrollTop,
    };
  });
}

async function logged(page: Page, text: string): Promise<void> {
  await page.waitForFunction(
    (t) => (document.querySelector('[data-testid=log-lines]')?.textContent ?? '').includes(t),
    text,
  );
}

async function withPage(t: { skip(msg: string): void }, node: Node | undefined, run: (page: Page) => Promise<void>) {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const context = await browsers.context(executablePath);
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await run(page);
    assert.deepEqual(errors, [], 'no script errors in the page');
  } finally {
    await context.close();
    await node?.stop();
  }
}

test('the log page opens at the newest record, follows new ones, stops when scrolled up and resumes at the end', async (t) => {
  const { node, url } = await startObserved();
  await withPage(t, node, async (page) => {
    // More records than the box shows: the page opens with them (the Observer's History).
    for (let i = 0; i < 120; i++) node.log.info('earlier record %d', i);
    await page.goto(`${url}/#/log`);
    await logged(page, 'earlier record 119');
    let view = await logView(page);
    assert.ok(view.atEnd && view.lastShown, `opens at the newest record: ${JSON.stringify(view)}`);

    // A record logged now is pushed and shown at the end, in view.
    const logAt = Date.now();
    node.log.info('fresh record one');
    await logged(page, 'fresh record one');
    console.log(`# a new record was in the page ${Date.now() - logAt} ms after it was logged`);
    await page.waitForFunction(() => {
      const box = document.querySelector('[data-testid=log-lines]')!;
      return box.scrollHeight - box.scrollTop - box.clientHeight <= 8;
    });
    view = await logView(page);
    assert.ok(view.lastShown && view.last.includes('fresh record one'), `follows: ${JSON.stringify(view)}`);
    await page.waitForSelector('[data-testid=log-following]');
    await shot(page, 'log-follows');

    // Scrolled up by the user: it stays there while records come, and offers to follow again.
    await page.hover('[data-testid=log-lines]');
    await page.mouse.wheel(0, -600);
    await page.waitForSelector('[data-testid=log-follow]');
    const top = (await logView(page)).top;
    node.log.info('fresh record two');
    await logged(page, 'fresh record two');
    view = await logView(page);
    assert.equal(view.top, top, 'scrolled up, the box does not move');
    assert.ok(!view.atEnd, 'and is not taken to the end');
    await shot(page, 'log-scrolled-up');

    // Back at the end (the wheel), it follows again.
    await page.mouse.wheel(0, 100_000);
    await page.waitForSelector('[data-testid=log-following]');
    node.log.warning('fresh record three');
    await logged(page, 'fresh record three');
    await page.waitForFunction(() => {
      const box = document.querySelector('[data-testid=log-lines]')!;
      return box.scrollHeight - box.scrollTop - box.clientHeight <= 8;
    });
    view = await logView(page);
    assert.ok(view.lastShown && view.last.includes('fresh record three'), `follows again: ${JSON.stringify(view)}`);
  });
});

test("the network page's acceptor row names the node's registrar, as the Registrar card does", async (t) => {
  // The default registrar: Ergo's embedded one (its server here, or another node's on this host).
  const { node, url } = await startObserved(
    {},
    { network: { cookie: 'facts', acceptors: [{ host: '127.0.0.1', port: 0 }] } },
  );
  await withPage(t, node, async (page) => {
    await page.goto(`${url}/#/network`);
    await page.waitForSelector('[data-testid=acceptor-registrar]');
    await page.waitForSelector('[data-testid=registrar-version]');
    const version = (await page.textContent('[data-testid=registrar-version]'))!;
    const row = (await page.textContent('[data-testid=acceptor-registrar]'))!;
    await shot(page, 'network-acceptor-registrar');
    assert.notEqual(version, 'no registrar (static routes only)', 'the node has a registrar');
    assert.doesNotMatch(row, /no registrar/, `the acceptor row: "${row}"`);
    assert.ok(row.includes(version), `the acceptor row "${row}" names the registrar "${version}"`);
    assert.ok(row.includes(':4499'), `and its server: "${row}"`);
  });
});

test('a process busy in one handler: running time includes it, "busy since" is when it began', async (t) => {
  const { node, url } = await startObserved();
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  class Stuck extends Actor {
    override async handleMessage(): Promise<void> {
      await gate;
    }
  }
  const stuck: PID = await node.spawnRegister('stuck_in_handler', Stuck, {});
  try {
    await withPage(t, undefined, async (page) => {
      const began = Date.now();
      node.send(stuck, 'work');
      await eventually(() => node.processInfo(stuck).state === ProcessState.Running, 'in its handler', WAIT);
      await page.goto(`${url}/#/processes`);
      await page.waitForSelector('[data-page=processes] .row[data-name=stuck_in_handler]');
      // The process page opens well after the handler began (a page load later).
      const opened = Date.now();
      await page.click('[data-page=processes] .row[data-name=stuck_in_handler] a');
      await page.waitForSelector('[data-testid=state-busy]');
      const since = Number(await page.getAttribute('[data-testid=busy-since]', 'data-ms'));
      const running = Number(await page.getAttribute('[data-page=process] [data-testid=running-time]', 'data-ns'));
      const note = (await page.textContent('[data-testid=state-busy]'))!;
      await shot(page, 'process-busy-handler');
      // The node's clock reading of the handler's batch, within a few ms of the send.
      assert.ok(
        since >= began - 50 && since < opened,
        `busy since ${since}: the handler began at ${began}, the page opened at ${opened}`,
      );
      assert.doesNotMatch(note, /as first seen here/, note);
      assert.ok(
        running >= (opened - began - 50) * 1e6,
        `running time ${running} ns counts the handler still running (${opened - began} ms before the page opened)`,
      );
      assert.match(
        (await page.textContent('[data-page=process] [data-testid=running-time]'))!,
        /in the handler still running/,
      );
    });
  } finally {
    release();
    await node.stop();
  }
});

test("the events page hides the inspector's own events unless asked", async (t) => {
  const { node, url } = await startObserved();
  await withPage(t, node, async (page) => {
    await page.goto(`${url}/#/events`);
    node.registerEvent('shop_orders', { buffer: 2 });
    await page.waitForSelector('[data-page=events] tr[data-event=shop_orders]');
    // The page's own views (its event list, the sidebar's look-ups) are inspector events.
    await page.waitForSelector('[data-testid=inspector-events-hidden]');
    assert.equal(await page.$$eval('[data-page=events] tr[data-event^=inspect_]', (rows) => rows.length), 0);
    await shot(page, 'events-own-only');
    await page.check('[data-testid=show-inspector-events]');
    await page.waitForSelector('[data-page=events] tr[data-event^=inspect_event_list]');
    await shot(page, 'events-with-inspector');
  });
});

/** An SSE frame as the Observer writes one. */
const frame = (event: string, data: unknown): string => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

test("a chart's value axis never repeats a label (a CPU chart at hundredths of a percent)", async (t) => {
  // The page is fed a stream of the test's (on the tab's own EventSource, `own-stream`): a node
  // whose history has CPU figures of a few hundredths of a percent (0 to 0.12 %), so the axis
  // steps by 0.05 % or less, which a label of tenths of a percent repeats ("0.1 %, 0.1 %").
  const { node, url } = await startObserved();
  await withPage(t, node, async (page) => {
    const name = 'quiet@localhost';
    const entry = { name, crc32: '00000000', connected: true };
    const now = Date.now();
    const samples = Array.from({ length: 60 }, (_, i) => ({
      t: now - (60 - i) * 1000,
      processesTotal: 10,
      processesRunning: 0,
      memoryUsed: 50 * 2 ** 20,
      memoryAlloc: 20 * 2 ** 20,
      cpuUser: (i % 13) * 0.01,
      cpuSystem: 0,
      elu: 0.001,
      delayMean: 10,
      delayMax: 11,
    }));
    const info = {
      node: name,
      info: { name, uptime: 60, processesTotal: 10, registeredNames: 3, applicationsTotal: 1, applicationsRunning: 1 },
    };
    // A stream that stays open (as the Observer's does), from a server of the test's own.
    // The node's history and figures come once the page subscribes to them, as the Observer sends them.
    const streams = new Set<ServerResponse>();
    const server = createServer((_req, res) => {
      streams.add(res);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write(frame('connected', { sessionId: 'fake', node: entry, self: name, nodes: [entry], version: '0' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    after(() => {
      for (const res of streams) res.destroy();
      server.close();
    });
    const { port } = server.address() as AddressInfo;
    await page.route('**/sse*', (route) => route.continue({ url: `http://127.0.0.1:${port}/sse` }));
    await page.route('**/api/**', async (route) => {
      await route.fulfill({
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: '{"ok":true,"data":{}}',
      });
      if (!/"type":"node_info"/.test(route.request().postData() ?? '')) return;
      for (const res of streams) res.write(frame('history', { now, samples }) + frame('node_info', info));
    });
    await page.goto(`${url}/#/info/own-stream`);
    const cpu = '[data-page=info] .chart[data-title="CPU (%)"]';
    await page.waitForFunction((s) => Number(document.querySelector(s)?.getAttribute('data-points')) >= 60, cpu);
    // Drawn with them: the axis of the first draw (no points yet) has one tick.
    await page.waitForFunction(
      (s) => (document.querySelector(s)?.getAttribute('data-y-labels') ?? '').split('|').length >= 2,
      cpu,
    );
    await shot(page, 'chart-axis-labels');
    const labels = (await page.getAttribute(cpu, 'data-y-labels'))!.split('|');
    assert.ok(labels.length >= 2, `the CPU axis has labels: ${labels.join(', ')}`);
    assert.ok(!labels.includes(''), `every tick labelled: ${labels.join(', ')}`);
    assert.equal(new Set(labels).size, labels.length, `no label repeats: ${labels.join(', ')}`);
    assert.ok(
      labels.some((l) => /^0\.0\d %$/.test(l)),
      `hundredths shown: ${labels.join(', ')}`,
    );
  });
});
