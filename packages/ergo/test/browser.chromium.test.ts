// The browser bundle (dist/browser/ergo.js, scripts/bundle-browser.mjs) in Chromium: a page
// served from a local HTTP server loads it as an ES module and runs browser_scenario.ts (a node,
// actors, a typed call, a send, a link, a monitor, an event, a supervisor's restart), then the
// same in a module Web Worker. The page hands the scenario's result back through
// `page.evaluate`; the test asserts it. Chromium is Debian's (/usr/bin/chromium, or CHROMIUM):
// without it the tests skip, and fail under CI=true; so does a missing bundle.

import assert from 'node:assert/strict';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { testChromium } from '@ergo-ts/test-support';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { ScenarioResult } from './browser_scenario.js';

const BUNDLE = fileURLToPath(new URL('../../dist/browser/ergo.js', import.meta.url));
const SCENARIO = fileURLToPath(new URL('./browser_scenario.js', import.meta.url));

/** What the page or the worker reports: the scenario's result, or the error it failed with. */
type Report = { ok: true; result: ScenarioResult } | { ok: false; error: string };

const RUN = `import * as ergo from '/ergo.js';
import { browserScenario } from '/scenario.js';
const report = (name) => browserScenario(ergo, name).then(
  (result) => ({ ok: true, result }),
  (e) => ({ ok: false, error: String((e && e.stack) || e) }),
);`;

const FILES: Record<string, { type: string; body: () => string }> = {
  '/ergo.js': { type: 'text/javascript', body: () => readFileSync(BUNDLE, 'utf8') },
  '/scenario.js': { type: 'text/javascript', body: () => readFileSync(SCENARIO, 'utf8') },
  '/page.html': {
    type: 'text/html',
    body: () => `<!doctype html><script type="module">${RUN}
window.report = report('page@tab');</script>`,
  },
  '/worker.js': { type: 'text/javascript', body: () => `${RUN}\nreport('worker@tab').then((r) => postMessage(r));` },
  '/worker.html': {
    type: 'text/html',
    body: () => `<!doctype html><script type="module">
const w = new Worker('/worker.js', { type: 'module' });
window.report = new Promise((resolve) => {
  w.onmessage = (e) => resolve(e.data);
  w.onerror = (e) => resolve({ ok: false, error: 'worker error: ' + e.message });
});</script>`,
  },
};

/** Why this file's tests cannot run here (Chromium or the bundle missing), or undefined. */
function missing(): string | undefined {
  const path = process.env.CHROMIUM ?? '/usr/bin/chromium';
  try {
    accessSync(path, constants.X_OK);
  } catch {
    return `needs Chromium at ${path} (apt-get install chromium, or set CHROMIUM)`;
  }
  if (!existsSync(BUNDLE)) return `no ${BUNDLE}: run npm run build (scripts/bundle-browser.mjs)`;
  return undefined;
}

let server: Server | undefined;
let origin = '';
let browser: Browser | undefined;

before(async () => {
  if (missing() !== undefined) return;
  server = createServer((req, res) => {
    const file = FILES[new URL(req.url ?? '/', 'http://x').pathname];
    if (file === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body());
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await testChromium(chromium, process.env.CHROMIUM ?? '/usr/bin/chromium');
});

after(async () => {
  await browser?.close();
  if (server !== undefined) await new Promise((resolve) => server!.close(resolve));
});

/** Skips (or, under CI=true, fails) when Chromium or the bundle is missing; else a new page. */
async function openPage(t: { skip(msg: string): void }): Promise<Page | undefined> {
  const why = missing();
  if (why !== undefined) {
    if (process.env.CI === 'true') throw new Error(`${why}: required under CI`);
    t.skip(why);
    return undefined;
  }
  return browser!.newPage();
}

/** Asserts the scenario's result (the same assertions as the Node test of the entry). */
function assertScenario(report: Report): void {
  if (!report.ok) assert.fail(`the scenario failed in Chromium: ${report.error}`);
  const r = report.result;
  assert.equal(r.call, 42);
  assert.equal(r.sent, 5);
  assert.equal(r.linkedEnded, 'link broke');
  assert.equal(r.down, 'bye');
  assert.deepEqual(r.events, [1, 2]);
  assert.notEqual(r.restart.after, r.restart.before);
  assert.equal(r.restart.reply, `pong from ${r.restart.after}`);
  assert.equal(r.networkRefused, 'ERR_UNSUPPORTED');
  assert.ok(r.processesBeforeStop >= 5, `processes: ${r.processesBeforeStop}`);
}

test('a Chromium page runs a node from the browser bundle: call, send, link, monitor, event, supervisor', async (t) => {
  const page = await openPage(t);
  if (page === undefined) return;
  try {
    const lines: string[] = [];
    page.on('console', (m) => lines.push(m.text()));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${origin}/page.html`);
    const report = await page.evaluate(() => (globalThis as unknown as { report: Promise<Report> }).report);
    assertScenario(report);
    // A page, not Node: and the default logger wrote to the console through the browser's host.
    assert.equal(await page.evaluate(() => typeof (globalThis as { process?: unknown }).process), 'undefined');
    assert.ok(
      lines.some((l) => /terminated abnormally - bye$/.test(l)),
      `no log line of the stopped process on the console:\n${lines.join('\n')}`,
    );
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('a Chromium module Web Worker runs the same scenario', async (t) => {
  const page = await openPage(t);
  if (page === undefined) return;
  try {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${origin}/worker.html`);
    const report = await page.evaluate(() => (globalThis as unknown as { report: Promise<Report> }).report);
    assertScenario(report);
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});
