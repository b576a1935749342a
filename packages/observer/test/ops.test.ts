// What an operator runs into on an ergo-ts node, in Chromium: "by PID" pages walk the processes
// in PID order (the process table keeps long-lived survivors of sparse chunks apart, which used
// to come last); the page of a PID that has ended says so at once; the page of system_inspect
// shows no error; a stopped Observer node reads as disconnected (red dot); a missing token gets a
// field; the node, network and applications pages' cosmetics; kill asks first.
// Screenshots go to packages/observer/test-output/ (ops-*.png).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import type { BrowserContext, Page, Response } from 'playwright-core';
import {
  Actor,
  createApplication,
  Supervisor,
  SupervisorStrategy,
  SupervisorType,
  type Node,
  type PID,
  type SupervisorSpec,
} from 'ergo-ts';

import { chromiumPath, GO_NETWORK, FileChromium, startObserved, WAIT } from './helpers.js';
import { chartPoints } from './charts_support.js';
import { banners, settleClean, shot } from './pages_support.js';

/** One Chromium for this file's tests, a lease of its context each. */
const browsers = new FileChromium();

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelector(selector: string): { textContent: string | null; getAttribute(n: string): string | null } | null;
  querySelectorAll(selector: string): { length: number };
};

class Idle extends Actor {}

/** Throws on any message: its supervisor restarts it. */
class Crashy extends Actor {
  override handleMessage(): void {
    throw new Error('crashy crashed (on purpose)');
  }
}

class CrashySup extends Supervisor {
  override init(): SupervisorSpec {
    return {
      type: SupervisorType.OneForOne,
      children: [{ name: 'crashy_worker', factory: Crashy }],
      restart: { strategy: SupervisorStrategy.Transient, intensity: 10, period: 3600 },
    };
  }
}

/** Links to the process registered as `buddy` (its page names it beside the PID). */
class Buddy extends Actor {
  override init(): void {
    this.linkPID(this.node.processPID('buddy'));
  }
}

const alive = (node: Node, pid: PID): boolean => node.processList().some((p) => p.id === pid.id);

const rowSel = '[data-page=processes] .row';

/** The PID ids of the rows drawn now (the first rows of the page: the table draws those in view). */
function drawnIds(page: Page): Promise<number[]> {
  return page.$$eval(rowSel, (rows) =>
    rows.map((r) => Number(/\.(\d+)>$/.exec(r.getAttribute('data-pid') ?? '')?.[1] ?? -1)),
  );
}

/** Collects the statuses of the page's API answers (a 502 is a failed request the page made). */
function apiStatuses(page: Page): string[] {
  const out: string[] = [];
  page.on('response', (r: Response) => {
    if (r.url().includes('/api/')) out.push(`${r.status()} ${r.request().postData() ?? ''}`);
  });
  return out;
}

test('"by PID" pages walk the processes in PID order: the first page starts at the lowest PID, no page skips or repeats', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { node, url } = await startObserved();
  let context: BrowserContext | undefined;
  try {
    // 1,500 processes past the system's; all but every 20th of the second 1,024-id chunk end, so
    // that chunk's survivors move out of the chunked part of the table (as do the system
    // processes of the first chunk once ids pass it).
    const pids: PID[] = [];
    for (let i = 0; i < 1500; i++) pids.push(await node.spawn(Idle, {}));
    // A sleeping process ends at the kill itself.
    for (const p of pids) if (p.id >= 1024 && p.id < 2048 && p.id % 20 !== 0) node.kill(p);
    const ids = node
      .processList()
      .map((p) => p.id)
      .sort((a, b) => a - b);
    const mine = new Set(pids.map((p) => p.id));
    // The pages checked lie below the first id an inspector may take while the test runs.
    const lastMine = Math.max(...mine);
    const stable = ids.filter((id) => id <= lastMine);

    context = await browsers.context(executablePath);
    const page = await context.newPage();
    const statuses = apiStatuses(page);
    await page.goto(`${url}/#/processes`);
    await page.selectOption('[data-page=processes] .toolbar select >> nth=0', '100');
    try {
      await page.waitForFunction(() =>
        /^100 shown \(from 1\)/.test(document.querySelector('[data-testid=process-count]')?.textContent ?? ''),
      );
    } catch (err) {
      // What the page showed and what it asked, so a failure says where it stuck.
      const count = await page.textContent('[data-testid=process-count]').catch(() => null);
      throw new Error(
        `the first page never showed "100 shown (from 1)": count ${JSON.stringify(count)}, banners ` +
          `${JSON.stringify(await banners(page))}, API ${JSON.stringify(statuses)}`,
        { cause: err },
      );
    }
    const first = await drawnIds(page);
    await shot(page, 'ops-processes-by-pid');
    assert.equal(first[0], stable[0], `the first page starts at the lowest PID id ${stable[0]}; rows: ${first}`);
    assert.deepEqual(first, stable.slice(0, first.length), 'the first rows are the lowest PIDs, ascending');

    // Each next page starts where the PID order says: none skipped, none repeated.
    const pages = Math.floor(stable.length / 100);
    for (let k = 1; k < pages; k++) {
      await page.click('[data-testid=next-page]');
      await page.waitForFunction(
        (from) => (document.querySelector('[data-testid=process-count]')?.textContent ?? '').includes(`(from ${from})`),
        String(k * 100 + 1),
      );
      await page.waitForFunction(
        (want) =>
          document.querySelector('[data-page=processes] .row')?.getAttribute('data-pid')?.endsWith(`.${want}>`) ===
          true,
        stable[k * 100]!,
        { timeout: WAIT.timeoutMs },
      );
      const rows = await drawnIds(page);
      assert.deepEqual(rows, stable.slice(k * 100, k * 100 + rows.length), `page ${k + 1} in PID order`);
    }
  } finally {
    await context?.close();
    await node.stopForce();
  }
});

test('a PID that has ended says so at once; system_inspect shows no error; kill asks first and is logged', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  // The node's log, kept here: the kill is on the record.
  const logged: string[] = [];
  const { node, url } = await startObserved(
    {},
    { log: { level: 'info', defaultLogger: { output: { write: (line: string) => logged.push(line) } } } },
  );
  let context: BrowserContext | undefined;
  try {
    context = await browsers.context(executablePath);
    const page = await context.newPage();
    const statuses = apiStatuses(page);
    const dead = await node.spawn(Idle, {});
    node.kill(dead);
    await page.goto(`${url}/#/process/${encodeURIComponent(String(dead))}`);
    // Shown from the inspector's last frame, not after a silence (no error banner then or later).
    await page.waitForSelector('[data-testid=process-gone]', { timeout: WAIT.timeoutMs });
    assert.deepEqual(await banners(page), []);
    assert.equal(await page.isDisabled('[data-testid=kill]'), true, 'nothing to kill');
    await settleClean(page, 'the page of an ended PID');
    await shot(page, 'ops-process-ended');

    // system_inspect: its info, and a note where its state would be (it refuses to inspect itself).
    const inspect = node.processPID('system_inspect');
    await page.goto(`${url}/#/process/${encodeURIComponent(String(inspect))}`);
    await page.waitForSelector('[data-page=process] [data-testid=process-state]');
    await page.waitForSelector('[data-testid=state-note]');
    await settleClean(page, 'the page of system_inspect');
    await shot(page, 'ops-system-inspect');

    // Kill: a first click asks, cancel keeps the process, "yes" kills it.
    // It links to a registered process: the Links card names it beside its PID.
    await node.spawnRegister('buddy', Idle, {});
    const victim = await node.spawn(Buddy, {});
    await page.goto(`${url}/#/process/${encodeURIComponent(String(victim))}`);
    await page.waitForSelector('[data-page=process] [data-testid=process-state]');
    await page.waitForFunction(() =>
      /<[0-9A-F]+\.0\.\d+>\s*buddy/.test(document.querySelector('[data-testid=links]')?.textContent ?? ''),
    );
    await page.click('[data-testid=kill]');
    await page.waitForSelector('[data-testid=kill-confirm]');
    await shot(page, 'ops-kill-confirm');
    await page.click('[data-testid=kill-confirm] >> text=cancel');
    assert.equal(alive(node, victim), true, 'cancel kills nothing');
    await page.click('[data-testid=kill]');
    await page.click('[data-testid=kill-yes]');
    await page.waitForSelector('[data-testid=terminated]');
    assert.equal(alive(node, victim), false);
    await eventually(
      () => logged.some((l) => l.includes(`inspector action from`) && l.includes(`kill ${String(victim)}`)),
      'the kill in the node log (system_inspect)',
      WAIT,
    );
    // and in the Observer's own record (the same node here), whatever the node observed
    await eventually(
      () => logged.some((l) => l.includes(`observer action kill pid=${String(victim)}`)),
      'the kill in the Observer log',
      WAIT,
    );
    assert.deepEqual(
      statuses.filter((s) => !s.startsWith('200')),
      [],
      'every command the pages sent was answered 200',
    );
  } finally {
    await context?.close();
    await node.stop();
  }
});

test('the Observer node stops: disconnected with red dots, not "connecting…"', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { node, url } = await startObserved();
  let context: BrowserContext | undefined;
  let stopped = false;
  try {
    context = await browsers.context(executablePath);
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForSelector('[data-page=info] [data-testid=processes-total]');
    await page.waitForSelector('[data-testid=node-list] .dot.up');
    await node.stop();
    stopped = true;
    await page.waitForSelector('[data-testid=offline]');
    assert.match((await page.textContent('[data-testid=offline]')) ?? '', /disconnected/);
    assert.equal((await page.$$('[data-testid=node-list] .dot.up')).length, 0, 'no green dot');
    assert.ok((await page.$$('[data-testid=node-list] .dot.down')).length > 0, 'a red dot');
    await shot(page, 'ops-disconnected');
  } finally {
    await context?.close();
    if (!stopped) await node.stop();
  }
});

test('without the token the page offers a field for one, and opens with it', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { node, url } = await startObserved({ token: 'let-me-in' });
  let context: BrowserContext | undefined;
  try {
    context = await browsers.context(executablePath);
    const page = await context.newPage();
    await page.goto(`${url}/#/processes`);
    await page.waitForSelector('[data-testid=token-form]');
    assert.match((await page.textContent('[data-testid=offline]')) ?? '', /needs a token/);
    await shot(page, 'ops-token');
    await page.fill('[data-testid=token-form] input', 'let-me-in');
    await page.click('[data-testid=token-form] button');
    await page.waitForSelector('[data-page=processes] .row[data-name=observer_mgr]');
    assert.equal(new URL(page.url()).searchParams.get('token'), null, 'the token leaves the address bar');
  } finally {
    await context?.close();
    await node.stop();
  }
});

test('cosmetics: flags, node version, loggers, chart units, a loaded application; supervisor restarts', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  // The default logger on (writing nowhere): the loggers card has a row.
  const { node, url } = await startObserved(
    {},
    { network: GO_NETWORK, log: { level: 'info', defaultLogger: { output: { write: () => true } } } },
  );
  let context: BrowserContext | undefined;
  try {
    await node.applicationLoad(createApplication({ name: 'dormant', group: [{ factory: Idle }] }));
    await node.applicationLoad(
      createApplication({ name: 'crashy', group: [{ name: 'crashy_sup', factory: CrashySup }] }),
    );
    await node.applicationStart('crashy');
    context = await browsers.context(executablePath);
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForSelector('[data-page=info] [data-testid=processes-total]');
    const text = (await page.textContent('[data-page=info]')) ?? '';
    assert.doesNotMatch(text, /0\.0\.0/, 'no version 0.0.0');
    assert.match(text, /not set \(node option version\)/);
    // Every logger's name, behaviour and levels in cells apart from each other.
    const gap = await page.$eval('[data-testid=loggers] td', (td) =>
      parseFloat(
        (globalThis as unknown as { getComputedStyle(e: unknown): { paddingRight: string } }).getComputedStyle(td)
          .paddingRight,
      ),
    );
    assert.ok(gap > 0, 'logger cells are spaced');
    await chartPoints(page, '[data-page=info]', 2);
    const titles = await page.$$eval('[data-page=info] .chart .u-title', (els) => els.map((e) => e.textContent));
    assert.ok(titles.includes('Event loop delay (ms)'), `chart titles: ${titles}`);
    assert.ok(titles.includes('Event loop utilisation (%)'), `chart titles: ${titles}`);
    await shot(page, 'ops-info');

    await page.click('[data-nav=network]');
    await page.waitForSelector('[data-page=network] .kv');
    const flags = await page.$$eval('[data-page=network] tr', (rows) =>
      rows.filter((r) => r.querySelector('th')?.textContent === 'flags').map((r) => r.querySelector('td')?.textContent),
    );
    assert.ok(flags.length > 0);
    for (const f of flags) assert.doesNotMatch(f ?? '', /^\s*,|,\s*,/, `flags "${f}"`);
    await shot(page, 'ops-network');

    await page.click('[data-nav=applications]');
    await page.click('[data-app=dormant]');
    await page.waitForSelector('[data-testid=app-not-running]');
    assert.equal(await page.textContent('[data-app=dormant] [data-testid=app-uptime]'), '–');
    await shot(page, 'ops-applications-loaded');

    // A supervisor's restarts and intensity beside it in the tree, after one restart.
    const first = node.processPID('crashy_worker');
    node.send(first, 'crash');
    await eventually(
      () => {
        try {
          return !node.processPID('crashy_worker').equals(first);
        } catch {
          return false; // between the crash and the restart
        }
      },
      'crashy_worker restarted',
      WAIT,
    );
    await page.click('[data-app=crashy]');
    await page.waitForFunction(() =>
      /restarts 1 of 10 allowed per 3600 s/.test(
        document.querySelector('[data-testid=app-tree] [data-testid=sup-facts]')?.textContent ?? '',
      ),
    );
    await shot(page, 'ops-supervision-restarts');
  } finally {
    await context?.close();
    await node.stop();
  }
});
