// The light tab in a real browser: headless Chromium (Debian's /usr/bin/chromium, or CHROMIUM,
// through playwright-core) loads a page whose only script is dist/browser/light.js (the import
// map sends `ergo-ts` there too, so the page's protocols.js, shared with the server, runs on it)
// and light_page.ts. The gateway is the same as for the full tab. The test checks the bundle's
// size and that no engine is in it, then drives the page: typed calls both ways, sends both
// ways, an event broadcast, a refusal by the grant, by messages/s and of a frame above
// maxFrameBytes at the tab, and a network cut (offline, the server side of the socket cut) that
// the tab comes back from within its window with what the server sent meanwhile.
// Screenshots go to dist/test-output/. Without Chromium or the bundle the tests skip; under
// CI=true they fail.

import assert from 'node:assert/strict';
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import { chromium, type Browser } from 'playwright-core';
import type { PID } from 'ergo-ts';
import { eventually, testChromium, within } from '@ergo-ts/test-support';

import type * as PageModule from './light_page.js';
import { BoardActor, gatewayNode, NewsActor, watcherOn, withholdingProxy } from './helpers.js';
import { Board, TabView } from './protocols.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const BUNDLE = fileURLToPath(new URL('../browser/light.js', import.meta.url));
const TEST_DIR = fileURLToPath(new URL('.', import.meta.url));
const OUTPUT = fileURLToPath(new URL('../test-output/', import.meta.url));
/** The budget scripts/bundle-browser.mjs holds light.js to (docs/browser.md). */
const LIGHT_GZIP_BUDGET = 16 * 1024;

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>a light tab</title>
<script type="importmap">{"imports": {"ergo-ts": "/light.js", "/src/light/index.js": "/light.js"}}</script>
<style>body{font:15px system-ui,sans-serif;margin:24px;max-width:640px} #status{font-weight:600}
.ended,.refused{color:#b00020} .rendered{color:#0b6e4f} li{margin:2px 0}</style>
</head><body><h1>A light tab</h1><p id="status">loading…</p>
<h2>Calls to the server</h2><ul id="calls"></ul><h2>From the server</h2><ul id="shown"></ul>
<h2>Events</h2><ul id="events"></ul>
<script type="module">import * as page from '/test/light_page.js'; window.page = page;</script></body></html>`;

type PageApi = typeof PageModule;

function missing(): string | undefined {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    return `needs Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`;
  }
  if (!existsSync(BUNDLE)) return `no ${BUNDLE}: run npm run build (scripts/bundle-browser.mjs)`;
  return undefined;
}

let browser: Browser | undefined;

before(async () => {
  if (missing() !== undefined) return;
  browser = await testChromium(chromium, CHROMIUM);
});

after(async () => {
  await browser?.close();
});

class NoteBoard extends BoardActor {
  constructor(readonly onNote: (from: PID, text: string) => void) {
    super();
  }
  override handleMessage(from: PID, msg: string): void {
    this.onNote(from, msg);
  }
}

function skipWithout(t: TestContext): boolean {
  const why = missing();
  if (why === undefined) return false;
  if (process.env.CI === 'true') throw new Error(`${why}: required under CI`);
  t.skip(why);
  return true;
}

test('light.js is under its budget and holds no engine', (t) => {
  if (!existsSync(BUNDLE)) {
    if (process.env.CI === 'true') throw new Error(`no ${BUNDLE}`);
    return t.skip('no bundle: run npm run build');
  }
  const gzip = gzipSync(readFileSync(BUNDLE), { level: 9 }).length;
  t.diagnostic(`light.js: ${gzip} bytes gzip (budget ${LIGHT_GZIP_BUDGET})`);
  assert.ok(gzip <= LIGHT_GZIP_BUDGET, `${gzip} bytes gzip, over the budget of ${LIGHT_GZIP_BUDGET}`);
  const sources = (JSON.parse(readFileSync(`${BUNDLE}.map`, 'utf8')) as { sources: string[] }).sources;
  const engine = sources.filter((s) => /ergo\/src\/(node|act|app|net\/(?!edf\/tags))/.test(s));
  assert.deepEqual(engine, [], 'no module of the engine, behaviours or network in light.js');
  assert.ok(
    sources.some((s) => s.endsWith('src/tab/socket.ts')),
    "the full tab's socket is shared",
  );
});

/** The gateway on a page server, a board that reports notes, the news event, a Chromium page; all end after `t`. */
async function setup(t: TestContext) {
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    let body: string | undefined;
    let type = 'text/javascript';
    if (path === '/' || path === '/index.html') [body, type] = [PAGE, 'text/html'];
    else if (path === '/light.js') body = readFileSync(BUNDLE, 'utf8');
    else if (/^\/test\/[a-z_]+\.js$/.test(path)) body = readFileSync(join(TEST_DIR, path.slice(6)), 'utf8');
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
  });
  const sockets = new Set<Socket>();
  server.on('upgrade', (_req, socket: Socket) => sockets.add(socket));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  const { g, gw, lines } = await gatewayNode(t, {
    server,
    reconnectWindow: 30_000,
    admit: (token) =>
      token === 'good'
        ? { names: { board: Board }, events: ['news'], limits: { messagesPerSecond: 20, maxFrameBytes: 4096 } }
        : { refuse: `unknown token ${token}` },
  });
  const notes: { from: PID; text: string }[] = [];
  const waiters: (() => void)[] = [];
  await g.spawnRegister(
    'board',
    () =>
      new NoteBoard((from, text) => {
        notes.push({ from, text });
        for (const w of waiters.splice(0)) w();
      }),
  );
  const nthNote = async (n: number) => {
    while (notes.length < n) await new Promise<void>((r) => waiters.push(r));
    return notes[n - 1]!;
  };
  const news = await g.spawnRegister('news', () => new NewsActor());
  const context = await browser!.newContext({ viewport: { width: 720, height: 620 } });
  t.after(() => context.close());
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/index.html`);
  await page.waitForFunction(() => 'page' in globalThis);
  const call = <K extends keyof PageApi>(name: K, ...args: Parameters<PageApi[K]>) =>
    page.evaluate(
      ([n, a]) => (globalThis as unknown as { page: Record<string, (...x: unknown[]) => unknown> }).page[n]!(...a),
      [name, args] as const,
    ) as Promise<Awaited<ReturnType<PageApi[K]>>>;

  return { g, gw, lines, sockets, context, page, errors, call, nthNote, news };
}

test('a Chromium page with light.js alone: typed calls both ways, sends, an event, refusals, a network cut', async (t) => {
  if (skipWithout(t)) return;
  const { g, gw, lines, sockets, context, page, errors, call, nthNote, news } = await setup(t);
  // A bad token: refused, coded, in the page.
  await assert.rejects(call('join', gw.url, 'bad'), /ERR_TAB_ADMISSION/);
  const joined = await call('join', gw.url, 'good');
  assert.match(joined.name, /^tab-[0-9a-z]{14}-gw/);
  const hello = await within(nthNote(1), 'the page introduces itself', 10_000);
  assert.equal(hello.from.toString(), joined.pid);
  const view = TabView.pid(hello.from);

  // Typed calls both ways, sends both ways.
  assert.equal(await call('add', 41), 42);
  assert.equal(await g.call(view, 'from the server'), 'rendered:from the server');
  g.send(view, 'a line from the server');
  assert.deepEqual(await call('shownSoFar', 1), ['a line from the server']);
  await call('note', 'a note from the page');
  assert.equal((await within(nthNote(2), 'the note', 10_000)).text, 'a note from the page');

  // An event published on the server reaches the page.
  await call('subscribe', 'news');
  g.send(news, { headline: 'to every subscribed tab' });
  assert.deepEqual(await call('eventsSoFar', 1), [{ headline: 'to every subscribed tab' }]);

  // Refusals, coded: the grant, messages/s (never ERR_TIMEOUT), a frame above maxFrameBytes at the tab.
  assert.equal(await call('callName', 'secret_board'), 'ERR_TAB_NOT_GRANTED');
  const codes = await call('flood', 100);
  assert.deepEqual([...new Set(codes)].sort(), ['ERR_TAB_RATE_LIMIT', 'ok']);
  const refusedBefore = gw.tabs()[0]!.refused;
  assert.deepEqual(await call('tooBig', 8192), ['ERR_TAB_FRAME', 'ERR_TAB_FRAME']);
  assert.equal(gw.tabs()[0]!.refused, refusedBefore, 'nothing of the big frame reached the gateway');
  mkdirSync(OUTPUT, { recursive: true });
  await page.screenshot({ path: join(OUTPUT, 'light-tab.png'), fullPage: true });

  // A network cut within the window: the page cannot dial, the server side of its socket is cut;
  // what the server sends meanwhile is held, and arrives once the page dialled again.
  await context.setOffline(true);
  for (const socket of sockets) socket.destroy();
  await lines.waitFor(/away: \d+ ms to come back/, 'the gateway sees the tab away');
  // The page learns of the cut when its socket's close reaches it, which may come after the gateway's.
  await eventually(async () => (await call('connected')) === false, 'the page sees its socket closed');
  g.send(view, 'sent while the page was away');
  await context.setOffline(false);
  await within(call('whenBack'), 'the page back', 20_000);
  assert.deepEqual(await call('shownSoFar', 2), ['a line from the server', 'sent while the page was away']);
  assert.equal(await g.call(view, 'after the cut'), 'rendered:after the cut');
  await page.screenshot({ path: join(OUTPUT, 'light-tab-back.png'), fullPage: true });
  assert.deepEqual(errors, []);
});

test('a Chromium page reloads: the light tab keeps its session and its kept mailbox under the same PID', async (t) => {
  if (skipWithout(t)) return;
  const { g, gw, lines, page, errors, call, nthNote } = await setup(t);
  const first = await call('joinKeeping', gw.url);
  const intro = await within(nthNote(1), 'the cart introduces itself', 10_000);
  assert.equal(intro.from.toString(), first.cart);
  const w = await watcherOn(g);
  assert.equal(await w.watch(intro.from), 'watching');

  // The page reloads: its socket goes, the gateway keeps the session for its window.
  await page.reload();
  await page.waitForFunction(() => 'page' in globalThis);
  await lines.waitFor(/away: \d+ ms to come back/, 'the gateway sees the page gone');
  g.send(intro.from, 'sent during the reload');
  const second = await call('joinKeeping', gw.url);
  assert.equal(second.name, first.name);
  assert.equal(second.cart, first.cart);
  assert.ok((await within(nthNote(2), 'the cart again', 10_000)).from.equals(intro.from));
  assert.deepEqual(await call('shownSoFar', 1), ['sent during the reload']);
  await page.screenshot({ path: join(OUTPUT, 'light-tab-reloaded.png'), fullPage: true });

  // Nothing fired at the reload: the watcher's link and monitor fire when the page closes the cart.
  await call('closeCart');
  await within(w.seen.wait, 'exit and down of the cart', 10_000);
  assert.deepEqual(
    [w.seen.exits.map((e) => e.code), w.seen.downs.map((d) => d.code)],
    [['TERMINATE_SHUTDOWN'], ['TERMINATE_SHUTDOWN']],
  );
  assert.deepEqual(errors, []);
});

test('a page whose upgrades the gateway refuses with HTTP (its socket closed before it opened) dials again by itself and joins; past joinTimeout, ERR_TAB_BUSY', async (t) => {
  if (skipWithout(t)) return;
  const { call, errors } = await setup(t);
  // A gateway on its own server: its upgradeTimeout answers a connection that sent no request 408.
  const refusing = await gatewayNode(t, { upgradeTimeout: 100 });
  const port = Number(new URL(refusing.gw.url).port);
  const NO_REQUEST = /tab socket \(.*\): no request within 100 ms/;
  const never = await withholdingProxy(t, port, Infinity);
  await assert.rejects(call('join', never.url('/tabs'), 'good', 0), /ERR_TAB_BUSY/);
  assert.equal(never.connections(), 1, 'joinTimeout 0: one try');
  const twice = await withholdingProxy(t, port, 2);
  const joined = await within(call('join', twice.url('/tabs'), 'good'), 'the join', 30_000);
  assert.match(joined.name, /^tab-[0-9a-z]{14}-gw/);
  assert.equal(twice.connections(), 3, 'two upgrades refused, the third joined');
  assert.equal(refusing.lines.count(NO_REQUEST), 3);
  assert.equal(refusing.gw.tabs().length, 1);
  assert.deepEqual(errors, []);
});
