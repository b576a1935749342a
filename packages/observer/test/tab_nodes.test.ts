// Browser tabs as nodes in the Observer, in Chromium: the Observer runs on a tab gateway's node
// (@ergo-ts/tabs); a real Chromium page joins that gateway with tab.js (the core inside) and runs
// processes of its own, one with messages waiting in its mailbox. The Observer's sidebar shows
// Tabs on the gateway node; the Tabs page lists the page's tab node with its label, connected,
// its traffic and rates; the tab node's page lists its processes with their mailboxes and
// registered names; a process's page shows its handleInspect map. A simulated tab (Node) whose
// inspector never answers shows the gateway's coded timeout on its page and breaks nothing; a tab
// that lost its socket shows as away within its window. Screenshots: test-output/tab-nodes-*.png.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { createTabGateway, joinGateway, TAB_INSPECT, type TabNode } from '@ergo-ts/tabs';
import { Actor, ReplyLater, type PID, type Ref } from 'ergo-ts';

import { chromiumPath, launchChromium, startObserved, VIEWPORT } from './helpers.js';
import { banners, shot } from './pages_support.js';

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

const BUNDLE = fileURLToPath(new URL('../../../tabs/dist/browser/tab.js', import.meta.url));

/** The tab's page: joins the gateway as `ann`, runs a registered view and a worker that is stuck. */
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>a tab</title></head>
<body><p id="status">joining…</p><script type="module">
import { Actor, ProcessID, joinGateway } from '/tab.js';
class BoardView extends Actor { handleInspect() { return { clicks: '7' }; } }
// Holds its first message for good: the ones after it wait in its mailbox.
class SlowWorker extends Actor { async handleMessage() { await new Promise(() => {}); } }
const tab = await joinGateway({ url: new URL('/tabs', location.href).href.replace('http', 'ws'), token: 'ann' });
await tab.node.spawnRegister('board_view', BoardView);
const slow = await tab.node.spawnRegister('slow_worker', SlowWorker);
for (const m of ['first', 'second', 'third']) tab.node.send(slow, m);
// Traffic: the page calls the server's board five times a second.
let n = 0;
setInterval(() => tab.node.call(new ProcessID('board', tab.gateway), ++n).catch(() => {}), 200);
document.getElementById('status').textContent = 'joined as ' + tab.name;
window.joined = tab.name;
</script></body></html>`;

/** The server's board: answers a call with its number. */
class Board extends Actor {
  override handleCall(_from: PID, _ref: Ref, n: unknown): unknown {
    return n;
  }
}

/** An inspector that never answers (a tab that hangs, or lies about being one). */
class Mute extends Actor {
  override handleCall(_from: PID, _ref: Ref): unknown {
    return ReplyLater;
  }
}

function pageServer(): Server {
  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    else if (path === '/tab.js')
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(BUNDLE, 'utf8'));
    else res.writeHead(404).end();
  });
}

test('the Observer lists a Chromium tab as a node, with its processes and mailboxes', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  if (!existsSync(BUNDLE)) {
    const why = `no ${BUNDLE}: run npm run build (scripts/bundle-browser.mjs)`;
    if (process.env.CI === 'true') throw new Error(`${why}: required under CI`);
    t.skip(why);
    return;
  }
  const observed = await startObserved();
  const server = pageServer();
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const gw = await createTabGateway(observed.node, {
    server,
    admit: (token) => ({ names: { board: true }, label: `user ${token}` }),
  });
  await observed.node.spawnRegister('board', Board);
  const browser = await launchChromium(executablePath);
  const sims: TabNode[] = [];
  t.after(async () => {
    await browser.close();
    for (const s of sims) await s.leave();
    await gw.stop();
    server.closeAllConnections();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    await observed.node.stop();
  });

  // The real tab, in Chromium.
  const tabPage = await browser.newPage({ viewport: { width: 640, height: 240 } });
  await tabPage.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await tabPage.waitForFunction(() => 'joined' in globalThis, undefined, { timeout: 20_000 });
  const annName = await tabPage.evaluate(() => (globalThis as unknown as { joined: string }).joined);
  // A simulated tab whose inspector never answers, and one that loses its socket and stays away.
  const quiet = { systemApp: false, log: { defaultLogger: { disable: true } } };
  const mute = await joinGateway({ url: gw.url, token: 'mute', inspect: false, node: quiet });
  sims.push(mute);
  await mute.node.spawnRegister(TAB_INSPECT, Mute);
  const away = await joinGateway({
    url: gw.url,
    token: 'away',
    node: quiet,
    reconnect: { minDelay: 3_600_000, maxDelay: 3_600_000 },
  });
  sims.push(away);

  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(observed.url);
  // The sidebar offers Tabs on the gateway node.
  await page.click('[data-nav=tabs]', { timeout: 20_000 });
  const annRow = page.locator(`[data-tab="${annName}"]`);
  await annRow.waitFor({ timeout: 20_000 });
  assert.match((await annRow.textContent()) ?? '', /user ann/);
  assert.equal(await annRow.locator('[data-testid=tab-status]').textContent(), 'connected');
  // The page's calls: frames both ways, and from the second answer on their rates per second.
  const moving = (cell: string) =>
    page.waitForFunction(
      ([name, c]) => {
        const m = /^([\d,]+) \(([\d.,]+)\/s\)$/.exec(
          document.querySelector(`[data-tab="${name}"] [data-testid=${c}]`)?.textContent ?? '',
        );
        return m !== null && Number(m[1]!.replace(/,/g, '')) > 0 && Number(m[2]!.replace(/,/g, '')) > 0;
      },
      [annName, cell],
      { timeout: 20_000 },
    );
  await moving('tab-in');
  await moving('tab-out');

  // A tab away within its window.
  away.dropConnection();
  const awayRow = page.locator(`[data-tab="${away.name}"] [data-testid=tab-status]`);
  await page.waitForFunction(
    (name) =>
      /^away .*window: \d+ s left/.test(
        document.querySelector(`[data-tab="${name}"] [data-testid=tab-status]`)?.textContent ?? '',
      ),
    away.name,
    { timeout: 20_000 },
  );
  assert.match((await awayRow.textContent()) ?? '', /left\)$/);
  assert.match((await page.textContent('[data-testid=tabs-count]')) ?? '', /^3 tabs, 1 away/);
  await shot(page, 'tab-nodes-list');
  assert.deepEqual(await banners(page), []);

  // The Chromium tab's node: its processes, their mailboxes and names.
  await annRow.locator('a').click();
  const slowRow = page.locator('[data-tab-pid]', { hasText: 'slow_worker' });
  await slowRow.waitFor({ timeout: 20_000 });
  assert.equal(await slowRow.locator('[data-testid=tab-mailbox]').textContent(), '2 / 0 / 0 / 0');
  assert.match((await slowRow.textContent()) ?? '', /SlowWorker.*running/);
  const names = await page.$$eval('[data-tab-pid] td:nth-child(2)', (tds) => tds.map((td) => td.textContent));
  assert.ok(names.includes('board_view') && names.includes(TAB_INSPECT), names.join());
  assert.match((await page.textContent(`[data-tab-pid]:has-text("${TAB_INSPECT}")`)) ?? '', /TabInspect/);
  assert.match((await page.textContent('[data-testid=tab-processes-total]')) ?? '', /^\d+ processes$/);
  await shot(page, 'tab-nodes-processes');

  // Click through to a process: its handleInspect map.
  await page.locator('[data-tab-pid]', { hasText: 'board_view' }).locator('a').click();
  await page.locator('.card', { hasText: 'clicks' }).waitFor({ timeout: 20_000 });
  assert.match((await page.textContent('.card:has-text("clicks")')) ?? '', /clicks\s*7/);
  assert.match((await page.textContent('h2')) ?? '', new RegExp(`Tabs / ${annName.replace(/[.$]/g, '\\$&')} / <`));
  await shot(page, 'tab-nodes-process');

  // A tab that never answers: the gateway's deadline, its code on the page; the rest still works.
  await page.goto(`${observed.url}/#/tab/${encodeURIComponent(mute.name)}`);
  await page.locator('.error', { hasText: 'ERR_TIMEOUT' }).waitFor({ timeout: 20_000 });
  assert.match((await banners(page)).join(), /ERR_TIMEOUT: .*did not answer within 3 s/);
  await shot(page, 'tab-nodes-mute');
  await page.click('h2 a[href="#/tabs"]');
  await annRow.waitFor({ timeout: 20_000 });
  // And a tab away: its processes are out of reach, said so.
  await page.goto(`${observed.url}/#/tab/${encodeURIComponent(away.name)}`);
  await page.locator('.error', { hasText: 'ERR_TAB_INSPECT' }).waitFor({ timeout: 20_000 });
  assert.match((await banners(page)).join(), /is away/);
});
