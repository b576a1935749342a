// The applications page starts (in a chosen mode) and stops applications, each asked first,
// honouring the token and on the node's record, on an ergo-ts node and — start only, where it
// enabled remote start — on a Go node through the switcher; "by PID" pages go by a PID cursor,
// so processes ending or spawned between pages skip or repeat no row; the node page's memory
// figures read as Go means them; a Go node without a registrar says so; the node's history
// reaches a tab once. Screenshots go to packages/observer/test-output/ (apps-*.png).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import type { BrowserContext, Page } from 'playwright-core';
import { Actor, ApplicationMode, createApplication, type Atom, type Node, type PID } from 'ergo-ts';

import { chromiumPath, goBrowserSession, FileChromium, post, startObserved, WAIT } from './helpers.js';
import { assertOnlyNew, frameSampleTimes } from './charts_support.js';
import { connectTo, failureShot, shot } from './pages_support.js';
import { HISTORY_NAME } from '../src/history.js';

/** One Chromium for this file's tests, a lease of its context each. */
const browsers = new FileChromium();

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelector(selector: string): { textContent: string | null; getAttribute(n: string): string | null } | null;
};

class Idle extends Actor {}

/** The text of an application's row (`name state mode ...`), waited for until `re` matches it. */
function appRow(page: Page, app: string, re: RegExp): Promise<unknown> {
  return page.waitForFunction(
    ([name, src]) =>
      new RegExp(src).test(document.querySelector(`[data-page=applications] tr[data-app=${name}]`)?.textContent ?? ''),
    [app, re.source] as const,
    { timeout: WAIT.timeoutMs },
  );
}

/** Waits for the page's action result to match `re`; a failure names the text shown. */
async function resultLike(page: Page, re: RegExp): Promise<void> {
  let text = '';
  try {
    await eventually(
      async () => re.test((text = (await page.textContent('[data-testid=app-result]').catch(() => '')) ?? '')),
      `an action result like ${re}`,
      WAIT,
    );
  } catch (err) {
    await failureShot(page, 'apps-failure');
    throw new Error(`${(err as Error).message}; the page says: "${text}"`, { cause: err });
  }
}

const appInfo = (node: Node, name: string) => node.applicationInfo(name as Atom);

test('applications start in a chosen mode and stop from the page, each asked first, with the token, on the record', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const logged: string[] = [];
  const { node, url } = await startObserved(
    { token: 'apps-token' },
    { log: { level: 'info', defaultLogger: { output: { write: (line: string) => logged.push(line) } } } },
  );
  let context: BrowserContext | undefined;
  try {
    await node.applicationLoad(createApplication({ name: 'dormant', group: [{ name: 'dormant_w', factory: Idle }] }));
    context = await browsers.context(executablePath);
    const page = await context.newPage();
    await page.goto(`${url}/?token=apps-token#/applications`);
    await appRow(page, 'dormant', /^dormantloadedtemporary/);

    // Start: a mode, a question; cancel starts nothing.
    const actions = '[data-testid=app-actions-dormant]';
    await page.selectOption(`${actions} [data-testid=app-mode]`, 'permanent');
    await page.click(`${actions} [data-testid=app-start]`);
    await page.waitForSelector(`${actions} [data-testid=app-confirm]`);
    assert.match(
      (await page.textContent(`${actions} [data-testid=app-confirm]`)) ?? '',
      /start dormant \(permanent\)\?/,
    );
    await shot(page, 'apps-start-confirm');
    await page.click(`${actions} [data-testid=app-cancel]`);
    assert.equal(appInfo(node, 'dormant').state, 1, 'cancel starts nothing (loaded)');
    await page.click(`${actions} [data-testid=app-start]`);
    await page.click(`${actions} [data-testid=app-yes]`);
    await appRow(page, 'dormant', /^dormantrunningpermanent/);
    assert.equal(appInfo(node, 'dormant').mode, ApplicationMode.Permanent);
    assert.match((await page.textContent('[data-testid=app-result]')) ?? '', /dormant: started \(permanent\)/);
    await eventually(
      () =>
        logged.some((l) => l.includes('inspector action from') && l.includes('start application dormant permanent')),
      'the start in the node log (system_inspect)',
      WAIT,
    );
    await eventually(
      () => logged.some((l) => l.includes('observer action application_start app=dormant mode=permanent')),
      'the start in the Observer log',
      WAIT,
    );
    await shot(page, 'apps-running');

    // Without the token nothing happens (the page's commands carry it).
    const refused = await post(
      url,
      '/api/do/application_stop',
      { app: 'dormant' },
      { 'x-observer-session': 'a'.repeat(32) },
    );
    assert.equal(refused.status, 401);
    assert.equal(appInfo(node, 'dormant').state, 2, 'still running');

    // Stop: asked first; then loaded again.
    await page.click(`${actions} [data-testid=app-stop]`);
    assert.match((await page.textContent(`${actions} [data-testid=app-confirm]`)) ?? '', /stop dormant\?/);
    await page.click(`${actions} [data-testid=app-yes]`);
    await appRow(page, 'dormant', /^dormantloaded/);
    assert.equal(appInfo(node, 'dormant').state, 1);
    await eventually(
      () => logged.some((l) => l.includes('inspector action from') && l.includes('stop application dormant')),
      'the stop in the node log',
      WAIT,
    );
    // The system application runs the node: no action offered.
    assert.equal(await page.$$eval('[data-testid=app-actions-system_app]', (e) => e.length), 0);
    // A start the node refuses says why (a dependency that is not loaded).
    await node.applicationLoad(
      createApplication({ name: 'needy', depends: { applications: ['absent' as Atom] }, group: [{ factory: Idle }] }),
    );
    await appRow(page, 'needy', /^needyloaded/);
    await page.click('[data-testid=app-actions-needy] [data-testid=app-start]');
    await page.click('[data-testid=app-actions-needy] [data-testid=app-yes]');
    await resultLike(page, /^needy: .*refused.*dependency fail/);
  } finally {
    await context?.close();
    await node.stop();
  }
});

test('a Go node through the switcher: an application it enabled starts from the page; no stop is offered', async (t) => {
  const session = await goBrowserSession(t, 'goapps', browsers);
  if (session === undefined) return;
  const { go, page, url } = session;
  try {
    await page.goto(url);
    await page.waitForSelector('[data-page=info] [data-testid=processes-total]');
    await connectTo(page, go);
    // A Go node without a registrar (static routes) reads so, not "none R0".
    await page.click('[data-nav=network]');
    await page.waitForSelector('[data-testid=registrar-version]');
    assert.equal(await page.textContent('[data-testid=registrar-version]'), 'no registrar (static routes only)');
    assert.doesNotMatch((await page.textContent('[data-page=network]')) ?? '', /none R0/);

    await page.click('[data-nav=applications]');
    await appRow(page, 'peer_app', /^peer_apploadedtemporary/);
    const actions = '[data-testid=app-actions-peer_app]';
    await page.selectOption(`${actions} [data-testid=app-mode]`, 'transient');
    await page.click(`${actions} [data-testid=app-start]`);
    await page.click(`${actions} [data-testid=app-yes]`);
    await resultLike(page, /^peer_app: started \(transient\)$/);
    await appRow(page, 'peer_app', /^peer_apprunningtransient/);
    // Go's inspector has no request to stop an application, and no node may stop another's.
    assert.equal(await page.$$eval(`${actions} [data-testid=app-stop]`, (e) => e.length), 0);
    await shot(page, 'apps-go');
  } finally {
    await session.close();
  }
});

const rowSel = '[data-page=processes] .row';

/** The PID ids of the rows drawn now (the first rows of the page). */
function drawnIds(page: Page): Promise<number[]> {
  return page.$$eval(rowSel, (rows) =>
    rows.map((r) => Number(/\.(\d+)>$/.exec(r.getAttribute('data-pid') ?? '')?.[1] ?? -1)),
  );
}

function countText(page: Page): Promise<string> {
  return page.textContent('[data-testid=process-count]').then((t) => t ?? '');
}

test('"next page" continues after the last PID shown: processes ending or spawned between pages skip or repeat no row', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { node, url } = await startObserved();
  let context: BrowserContext | undefined;
  try {
    const pids: PID[] = [];
    for (let i = 0; i < 400; i++) pids.push(await node.spawn(Idle, {}));
    const alive = (): number[] =>
      node
        .processList()
        .map((p) => p.id)
        .sort((a, b) => a - b);
    const before = alive();
    context = await browsers.context(executablePath);
    const page = await context.newPage();
    await page.goto(`${url}/#/processes`);
    await page.selectOption('[data-page=processes] .toolbar select >> nth=0', '100');
    await page.waitForFunction(() =>
      /^100 shown \(from 1\)/.test(document.querySelector('[data-testid=process-count]')?.textContent ?? ''),
    );
    assert.equal((await drawnIds(page))[0], before[0]);
    const lastOfFirst = before[99]!;

    // Page 2 starts right after page 1's last PID.
    await page.click('[data-testid=next-page]');
    await page.waitForFunction(
      (want) => document.querySelector('[data-page=processes] .row')?.getAttribute('data-pid')?.endsWith(`.${want}>`),
      before[100]!,
      { timeout: WAIT.timeoutMs },
    );
    const second = await drawnIds(page);
    assert.deepEqual(second, before.slice(100, 100 + second.length));

    // Ten processes of page 1 end and twenty are spawned while page 2 is shown: with an offset
    // the page would slide ten rows on (those ten never shown); with the cursor it stays put.
    const mine = pids.filter((p) => p.id <= lastOfFirst && p.id > before[20]!).slice(0, 10);
    assert.equal(mine.length, 10);
    for (const p of mine) node.kill(p);
    for (let i = 0; i < 20; i++) await node.spawn(Idle, {});
    const total = alive().length;
    await page.waitForFunction(
      (n) => (document.querySelector('[data-testid=process-count]')?.textContent ?? '').includes(`of ${n} matching`),
      total.toLocaleString('en-US'),
      { timeout: WAIT.timeoutMs },
    );
    assert.deepEqual(await drawnIds(page), second, 'page 2 keeps its rows');
    assert.match(await countText(page), /\(from 91\)/, '90 processes lie before the cursor now');
    await shot(page, 'apps-pid-cursor');

    // Page 3: the hundred after page 2's last row (however the table changed before it).
    const now = alive();
    const afterFirst = now.filter((id) => id > lastOfFirst);
    const lastOfSecond = afterFirst[99]!;
    await page.click('[data-testid=next-page]');
    const third = afterFirst.filter((id) => id > lastOfSecond);
    await page.waitForFunction(
      (want) => document.querySelector('[data-page=processes] .row')?.getAttribute('data-pid')?.endsWith(`.${want}>`),
      third[0]!,
      { timeout: WAIT.timeoutMs },
    );
    const drawn = await drawnIds(page);
    assert.deepEqual(drawn, third.slice(0, drawn.length), 'page 3 in PID order after page 2');
    // "first" goes back to the start.
    await page.click('[data-testid=first-page]');
    await page.waitForFunction(
      (want) => document.querySelector('[data-page=processes] .row')?.getAttribute('data-pid')?.endsWith(`.${want}>`),
      now[0]!,
      { timeout: WAIT.timeoutMs },
    );
  } finally {
    await context?.close();
    await node.stopForce();
  }
});

/** `12.3 MiB` → bytes. */
function parseBytes(text: string): number {
  const m = /([\d.]+)\s*(B|KiB|MiB|GiB|TiB)/.exec(text);
  assert.ok(m !== null, `a size: ${text}`);
  const unit = { B: 0, KiB: 1, MiB: 2, GiB: 3, TiB: 4 }[m[2] as 'B'];
  return Number(m[1]) * 1024 ** unit;
}

test('the node page: memory read as Go means it; the history reaches a tab once, then only what is new', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  // Samples every 50 ms: a long history in a short test.
  const { node, url } = await startObserved({ historyInterval: 50 });
  let context: BrowserContext | undefined;
  try {
    context = await browsers.context(executablePath);
    const page = await context.newPage();
    // The tab's own event stream (not the shared worker's), whose frames the page's CDP sees.
    const history = await frameSampleTimes(page, 'history');
    // A few hundred samples first.
    await eventually(async () => Number((await node.inspect(HISTORY_NAME)).samples) >= 200, '200 samples', WAIT);
    await page.goto(`${url}/#/info/own-stream`);
    await page.waitForSelector('[data-page=info] [data-testid=memory]');

    // Heap in use (Go's MemoryAlloc) comes first and is the smaller of the two.
    const row = await page.$$eval('[data-page=info] tr', (rows) =>
      rows
        .filter((r) => r.querySelector('th')?.textContent?.startsWith('memory'))
        .map((r) => `${r.querySelector('th')?.textContent} = ${r.querySelector('td')?.textContent}`),
    );
    assert.equal(row.length, 1);
    assert.match(row[0]!, /^memory: heap in use \/ from the OS = /);
    const [heap, os] = row[0]!.split(' = ')[1]!.split(' / ');
    assert.ok(parseBytes(heap!) <= parseBytes(os!), `heap in use ${heap} ≤ from the OS ${os}`);
    const legend = await page.$$eval('[data-page=info] .chart', (els) => els.map((e) => e.textContent ?? ''));
    assert.ok(
      legend.some((l) => l.includes('from the OS') && l.includes('heap in use')),
      `memory chart legend: ${legend.join(' | ')}`,
    );

    await eventually(() => history.length >= 1, 'the first history frame', WAIT);
    const points = async (): Promise<number> =>
      Number(await page.getAttribute('[data-page=info] .chart >> nth=0', 'data-points'));
    const firstPoints = await points();
    assert.ok(firstPoints > 20, `the history fills the chart (${firstPoints} points)`);

    // Away and back: the node page subscribes again, and is sent only the samples since.
    await page.click('[data-nav=processes]');
    await page.waitForSelector('[data-page=processes] .row');
    await page.click('[data-nav=info]');
    await page.waitForSelector('[data-page=info] [data-testid=memory]');
    await eventually(() => history.length >= 2, 'the second history frame', WAIT);
    assertOnlyNew(history, 'history');
    // and the charts are drawn from what the tab kept
    await eventually(async () => (await points()) >= firstPoints, 'the chart as full as before', WAIT);
    await shot(page, 'apps-node-history');
  } finally {
    await context?.close();
    await node.stop();
  }
});
