// A real browser tab joins the cluster: headless Chromium (Debian's /usr/bin/chromium, or
// CHROMIUM, through playwright-core) loads a page from the gateway's own HTTP server; the page
// imports the core and joinGateway from dist/browser/tab.js (scripts/bundle-browser.mjs) and the
// same Board / TabView protocols as the server, and runs tab_page.ts. The test drives it and
// asserts what the page shows and what the server's processes see: typed calls both ways, a
// server's link and monitor of a tab process, a reload that keeps the tab's name (the old page's
// processes are down for their watchers with noconnection), a network cut past the reconnect
// window (noconnection on the server, the session's end in the page), and coded refusals.
// Screenshots go to dist/test-output/. Without Chromium or the bundle the tests skip; under
// CI=true they fail.

import assert from 'node:assert/strict';
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ErrNoConnection, type PID } from 'ergo-ts';

import type * as PageModule from './tab_page.js';
import type { Joined, JoinedKeeping } from './tab_page.js';
import { testChromium, within } from '@ergo-ts/test-support';
import { BoardActor, gatewayNode, watcherOn, withholdingProxy } from './helpers.js';
import { Board, TabView } from './protocols.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const BUNDLE = fileURLToPath(new URL('../browser/tab.js', import.meta.url));
const TEST_DIR = fileURLToPath(new URL('.', import.meta.url));
const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>a tab of the cluster</title>
<script type="importmap">{"imports": {"ergo-ts": "/tab.js", "/src/tab/index.js": "/tab.js"}}</script>
<style>body{font:15px system-ui,sans-serif;margin:24px;max-width:640px} #status{font-weight:600}
.ended,.refused{color:#b00020} .rendered{color:#0b6e4f} .restored{color:#5b3fa0} .refused{font-weight:600} li{margin:2px 0}</style>
</head><body><h1>A tab of the cluster</h1><p id="status">loading…</p>
<h2>Calls to the server</h2><ul id="calls"></ul><h2>From the server</h2><ul id="shown"></ul>
<h2>Kept across reloads</h2><ul id="kept"></ul>
<script type="module">import * as page from '/test/tab_page.js'; window.page = page;</script></body></html>`;

/** Why the tests cannot run here, or undefined. */
function missing(): string | undefined {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    return `needs Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`;
  }
  if (!existsSync(BUNDLE)) return `no ${BUNDLE}: run npm run build (scripts/bundle-browser.mjs)`;
  return undefined;
}

/** An HTTP server for the page, the bundle and the test's modules; the gateway upgrades on it. */
function pageServer(): Server {
  return createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    let body: string | undefined;
    let type = 'text/javascript';
    if (path === '/' || path === '/index.html') [body, type] = [PAGE, 'text/html'];
    else if (path === '/tab.js') body = readFileSync(BUNDLE, 'utf8');
    else if (/^\/test\/[a-z_]+\.js$/.test(path)) body = readFileSync(join(TEST_DIR, path.slice(6)), 'utf8');
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
  });
}

let browser: Browser | undefined;

before(async () => {
  if (missing() !== undefined) return;
  browser = await testChromium(chromium, CHROMIUM);
});

after(async () => {
  await browser?.close();
});

/** Notes reach the board with their sender: the test learns the page's view PIDs from them. */
class NoteBoard extends BoardActor {
  constructor(readonly onNote: (from: PID, text: string) => void) {
    super();
  }
  override handleMessage(from: PID, msg: string): void {
    this.onNote(from, msg);
  }
}

/** The gateway on a page server, a board that reports notes, a Chromium context; all end after `t`. */
async function setup(t: TestContext, reconnectWindow: number) {
  const why = missing();
  if (why !== undefined) {
    if (process.env.CI === 'true') throw new Error(`${why}: required under CI`);
    t.skip(why);
    return undefined;
  }
  const server = pageServer();
  const sockets = new Set<Socket>();
  server.on('upgrade', (_req, socket: Socket) => sockets.add(socket));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    // Chromium keeps its HTTP connections alive; the tabs' sockets go with them.
    server.closeAllConnections();
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const { g, gw, lines } = await gatewayNode(t, {
    server,
    reconnectWindow,
    admit: (token) => (token === 'good' ? { names: { board: Board } } : { refuse: `unknown token ${token}` }),
  });
  const notes: { from: PID; text: string }[] = [];
  const waiters: ((n: { from: PID; text: string }) => void)[] = [];
  await g.spawnRegister(
    'board',
    () =>
      new NoteBoard((from, text) => {
        const n = { from, text };
        const w = waiters.shift();
        if (w !== undefined) w(n);
        else notes.push(n);
      }),
  );
  await g.spawnRegister('secret_board', () => new BoardActor());
  /** The next note's sender (a view introducing itself). */
  const nextNote = (): Promise<{ from: PID; text: string }> =>
    notes.length > 0 ? Promise.resolve(notes.shift()!) : new Promise((r) => waiters.push(r));
  const context: BrowserContext = await browser!.newContext({ viewport: { width: 720, height: 520 } });
  t.after(() => context.close());
  const page: Page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const consoleLines: string[] = [];
  page.on('console', (m) => consoleLines.push(m.text()));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const open = async () => {
    await page.goto(`${origin}/index.html`);
    await page.waitForFunction(() => 'page' in globalThis);
  };
  const shot = async (name: string) => {
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, `${name}.png`), fullPage: true });
  };
  return { g, gw, lines, page, context, sockets, nextNote, open, shot, errors, consoleLines, url: gw.url };
}

// The page module's exports as the page holds them (window.page).
type PageApi = typeof PageModule;

test('a Chromium tab joins: typed calls both ways, a server links and monitors its process, a refusal', async (t) => {
  const s = await setup(t, 30_000);
  if (s === undefined) return;
  const { g, page, nextNote } = s;
  await s.open();
  const joined: Joined = await page.evaluate(
    ([url]) => (globalThis as unknown as { page: PageApi }).page.join(url!, 'good'),
    [s.url],
  );
  assert.match(joined.name, /^tab-[0-9a-z]{14}-/);
  assert.equal(joined.sum, 42, 'the tab process called the registered board: 41 + 1');
  const hello = await nextNote();
  assert.equal(hello.from.node, joined.name, 'the view introduced itself with its PID');
  assert.equal(hello.from.toString(), joined.view);

  // The server calls the tab's process, typed by the same TabView protocol, and sends to it.
  const view = TabView.pid(hello.from);
  const rendered: string = await g.call(view, 'the board');
  assert.equal(rendered, 'rendered:the board');
  g.send(view, 'a line from the server');
  await page.locator('#shown li', { hasText: 'a line from the server' }).waitFor();
  // The tab's process calls the registered server process itself (its own PID as the caller).
  g.send(view, 'add 41');
  await page.locator('#calls li', { hasText: 'the view: board.add(41) = 42' }).waitFor();
  assert.equal(await page.locator('#shown li.rendered').textContent(), 'rendered the board');

  // A registered server process the grant does not list: a coded refusal in the page.
  assert.equal(
    await page.evaluate(() => (globalThis as unknown as { page: PageApi }).page.callUngranted()),
    'ERR_TAB_NOT_GRANTED',
  );

  // The server links and monitors the view; the user closes it: both fire with its reason.
  const w = await watcherOn(g);
  assert.equal(await w.watch(hello.from), 'watching');
  // The link and monitor went ahead of this call on the same path: they hold at the tab before
  // the page (driven on another path) closes the view.
  assert.equal(await g.call(view, 'the watch'), 'rendered:the watch');
  await page.evaluate(() => (globalThis as unknown as { page: PageApi }).page.closeView());
  await w.seen.wait;
  assert.deepEqual(
    w.seen.downs.map((d) => d.code),
    ['closed by the user'],
  );
  assert.deepEqual(
    w.seen.exits.map((d) => d.code),
    ['closed by the user'],
  );
  await s.shot('tab-joined');
  assert.deepEqual(s.errors, []);
  // The tab answered the gateway node's link and monitor (no Ack of it refused by the grant).
  assert.deepEqual(
    s.consoleLines.filter((l) => /refused by the gateway/.test(l)),
    [],
  );
});

test('a reload keeps the tab name; the old page processes are down (noconnection) for their watchers', async (t) => {
  const s = await setup(t, 30_000);
  if (s === undefined) return;
  const { g, page, nextNote } = s;
  await s.open();
  const first: Joined = await page.evaluate(
    ([url]) => (globalThis as unknown as { page: PageApi }).page.join(url!, 'good'),
    [s.url],
  );
  const view = (await nextNote()).from;
  const w = await watcherOn(g);
  await w.watch(view);
  // The watch went ahead of this call's answer on the same path: the link and monitor hold at the tab.
  assert.equal(await g.call(TabView.pid(view), 'before the reload'), 'rendered:before the reload');

  await page.reload();
  await page.waitForFunction(() => 'page' in globalThis);
  const again: Joined = await page.evaluate(
    ([url]) => (globalThis as unknown as { page: PageApi }).page.join(url!, 'good'),
    [s.url],
  );
  assert.equal(again.name, first.name, 'the same node name');
  assert.ok(again.creation > first.creation, 'a new incarnation');
  await w.seen.wait;
  assert.deepEqual(
    w.seen.downs.map((d) => d.code),
    [ErrNoConnection.code],
  );
  assert.deepEqual(
    w.seen.exits.map((d) => d.code),
    [ErrNoConnection.code],
  );
  // The new page's view is reached as before; a PID of the old page names no process of the new one.
  const view2 = (await nextNote()).from;
  assert.equal(view2.node, first.name);
  assert.equal(await g.call(TabView.pid(view2), 'after the reload'), 'rendered:after the reload');
  await assert.rejects(g.call(TabView.pid(view), 'old'), { code: 'ERR_PROCESS_UNKNOWN' });
  await page.locator('#status', { hasText: 'the same name after a reload' }).waitFor();
  await s.shot('tab-reloaded');
  assert.deepEqual(s.errors, []);
});

test('a reload keeps a kept process: the same PID and state, its watchers hold; a process not kept is down (noconnection)', async (t) => {
  const s = await setup(t, 30_000);
  if (s === undefined) return;
  const { g, page, nextNote } = s;
  await s.open();
  const joinKeeping = (): Promise<JoinedKeeping> =>
    page.evaluate(([url]) => (globalThis as unknown as { page: PageApi }).page.joinKeeping(url!, 'good'), [s.url]);
  const first = await joinKeeping();
  const keptNote = await nextNote();
  assert.equal(keptNote.text, `kept ${first.kept} with 0 lines`);
  const view = (await nextNote()).from;
  assert.equal(view.toString(), first.view);
  const kept = TabView.pid(keptNote.from);
  const wKept = await watcherOn(g);
  assert.equal(await wKept.watch(keptNote.from), 'watching');
  const wView = await watcherOn(g);
  assert.equal(await wView.watch(view), 'watching');
  g.send(kept, 'one');
  g.send(kept, 'two');
  assert.equal(await g.call(kept, 'lines'), 'lines: one | two');
  await s.shot('tab-kept-before-reload');

  await page.reload();
  await page.waitForFunction(() => 'page' in globalThis);
  // Sent while the page reloads: held for the kept process, after its saved lines.
  g.send(kept, 'three');
  const again = await joinKeeping();
  assert.equal(again.name, first.name, 'the same node name');
  assert.equal(again.kept, first.kept, 'the same PID');
  assert.equal(again.creation, first.creation, 'the same creation');
  // Its init ran again with the saved lines (and monitored the board again).
  assert.equal((await nextNote()).text, `kept ${first.kept} with 2 lines`);
  assert.equal(await g.call(kept, 'lines'), 'lines: one | two | three');
  // The view was not kept: its watcher heard noconnection; the kept process's heard nothing.
  await within(wView.seen.wait, 'the view not kept is down for its watcher', 20_000);
  assert.deepEqual(
    [wView.seen.exits.map((d) => d.code), wView.seen.downs.map((d) => d.code)],
    [[ErrNoConnection.code], [ErrNoConnection.code]],
  );
  assert.deepEqual([wKept.seen.exits, wKept.seen.downs], [[], []]);
  await page.locator('#kept li.restored', { hasText: 'two' }).waitFor();
  await page.locator('#kept li', { hasText: 'three' }).waitFor();
  await s.shot('tab-kept-after-reload');
  // The watcher's link and monitor live on in the new page: the kept process's end reaches them.
  await page.evaluate(() => (globalThis as unknown as { page: PageApi }).page.closeKept());
  await within(wKept.seen.wait, "the kept process's end at its watcher", 20_000);
  assert.deepEqual(
    [wKept.seen.exits.map((d) => d.code), wKept.seen.downs.map((d) => d.code)],
    [['closed by the user'], ['closed by the user']],
  );
  assert.equal(await page.locator('#kept li', { hasText: 'the board went' }).count(), 0);
  assert.deepEqual(s.errors, []);
});

test('a network cut past the window: noconnection on the server, the session ends in the page', async (t) => {
  const s = await setup(t, 1_000);
  if (s === undefined) return;
  const { g, page, context, nextNote } = s;
  await s.open();
  assert.equal(
    await page.evaluate(
      ([url]) => (globalThis as unknown as { page: PageApi }).page.joinRefused(url!, 'stolen'),
      [s.url],
    ),
    'ERR_TAB_ADMISSION',
  );
  await page.locator('#status.refused').waitFor();
  await s.shot('tab-refused');
  await page.evaluate(([url]) => (globalThis as unknown as { page: PageApi }).page.join(url!, 'good'), [s.url]);
  const view = (await nextNote()).from;
  const w = await watcherOn(g);
  await w.watch(view);
  assert.equal(await g.call(TabView.pid(view), 'connected'), 'rendered:connected');

  // The network goes: the page cannot dial again, and the server side of its socket is cut.
  await context.setOffline(true);
  for (const socket of s.sockets) socket.destroy();
  await w.seen.wait;
  assert.deepEqual(
    w.seen.downs.map((d) => d.code),
    [ErrNoConnection.code],
  );
  assert.deepEqual(
    w.seen.exits.map((d) => d.code),
    [ErrNoConnection.code],
  );
  assert.equal(
    await page.evaluate(() => (globalThis as unknown as { page: PageApi }).page.ended()),
    'ERR_TAB_SESSION_ENDED',
  );
  await page.locator('#status.ended').waitFor();
  await s.shot('tab-cut');
  assert.deepEqual(s.errors, []);
});

test('a Chromium tab whose upgrades the gateway refuses with HTTP dials again by itself and joins; past joinTimeout, ERR_TAB_BUSY', async (t) => {
  const s = await setup(t, 30_000);
  if (s === undefined) return;
  await s.open();
  // A gateway on its own server: its upgradeTimeout answers a connection that sent no request 408.
  const refusing = await gatewayNode(t, { upgradeTimeout: 100 });
  const port = Number(new URL(refusing.gw.url).port);
  const join = (url: string, joinTimeout?: number): Promise<string> =>
    s.page.evaluate(([u, j]) => (globalThis as unknown as { page: PageApi }).page.joinAndLeave(u!, 'good', j), [
      url,
      joinTimeout,
    ] as const);
  const never = await withholdingProxy(t, port, Infinity);
  assert.equal(await join(never.url('/tabs'), 0), 'ERR_TAB_BUSY');
  assert.equal(never.connections(), 1, 'joinTimeout 0: one try');
  const once = await withholdingProxy(t, port, 1);
  assert.match(await within(join(once.url('/tabs')), 'the join', 30_000), /^tab-[0-9a-z]{14}-/);
  assert.equal(once.connections(), 2, 'one upgrade refused, the second joined');
  await refusing.lines.waitFor(/tab .* ended: it left/, 'the tab left by its Leave frame');
  assert.equal(refusing.gw.tabs().length, 0);
  assert.deepEqual(s.errors, []);
});
