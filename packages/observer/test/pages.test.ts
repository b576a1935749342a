// Every page of the Observer in Chromium, as a first-time user sees it, on an ergo-ts node and on
// a Go Ergo node (ergo-peer, reached through the switcher): no error banner anywhere, chart time
// axes that read as clock times, the meta page, expanding the links/monitors graph, HTTPS (the
// `tls` option), and a Go node that stops answering (SIGSTOP): each page says which node and
// request did not answer, and the session keeps serving the other nodes meanwhile.
// Screenshots go to packages/observer/test-output/.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import type { Browser, Page, Response } from 'playwright-core';
import { Actor, type Atom, type PID } from 'ergo-ts';
import { selfSigned } from 'ergo-ts/net';

import {
  chromiumPath,
  goBrowserSession,
  GO_NETWORK,
  launchChromium,
  outputDir,
  startObserved,
  WAIT,
  VIEWPORT,
  type GoPeer,
} from './helpers.js';

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelector(selector: string): { textContent: string | null; getAttribute(n: string): string | null } | null;
  querySelectorAll(selector: string): { length: number };
};

/** Links to and monitors its peers (the graph); each peer links to two more processes of its own. */
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

async function shot(page: Page, name: string): Promise<string> {
  const path = join(outputDir(), `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** The text of every error banner shown now. */
function banners(page: Page): Promise<string[]> {
  return page.$$eval('.error', (els) => els.map((e) => (e.textContent ?? '').trim()).filter((t) => t !== ''));
}

/** Lets a page run a few inspector periods, then checks it shows no error banner. */
async function settleClean(page: Page, what: string): Promise<void> {
  // Each periodic subscription reports a silence after 6 s; wait past that once per page.
  await page.waitForTimeout(7000);
  assert.deepEqual(await banners(page), [], `no error banner on ${what}`);
}

/** Every chart's time axis reads hh:mm:ss around the browser's clock (not 1970, not bare numbers). */
async function assertClockAxes(page: Page, scope: string): Promise<void> {
  const axes = await page.$$eval(`${scope} .chart`, (els) =>
    els.map((e) => ({ labels: e.getAttribute('data-x-labels') ?? '', last: Number(e.getAttribute('data-x-last')) })),
  );
  assert.ok(axes.length > 0, `charts on ${scope}`);
  const now = Date.now() / 1000;
  for (const a of axes) {
    const labels = a.labels.split(' ');
    assert.ok(labels.length >= 2, `time axis labels: "${a.labels}"`);
    for (const l of labels) assert.match(l, /^\d\d:\d\d:\d\d$/, `time axis label "${l}" of "${a.labels}"`);
    // the axis ends at the last sample (or now): today's clock, not 1970 or another year
    assert.ok(Math.abs(a.last - now) < 600, `time axis ends at ${a.last}, now is ${now}`);
  }
}

async function connectTo(page: Page, go: GoPeer): Promise<void> {
  const answers: string[] = [];
  const onAnswer = (r: Response): void => {
    if (!r.url().includes('/api/')) return;
    r.text().then(
      (t) => answers.push(`${r.request().postData() ?? ''} -> ${r.status()} ${t}`),
      () => undefined,
    );
  };
  page.on('response', onAnswer);
  try {
    await connectOnce(page, go);
  } catch (err) {
    await shot(page, `connect-failure-${go.name.split('@')[0]}`);
    console.log(`# commands of the failed connect:\n${answers.join('\n')}`);
    throw err;
  } finally {
    page.off('response', onAnswer);
  }
}

async function connectOnce(page: Page, go: GoPeer): Promise<void> {
  await page.click('text=connect to…');
  await page.fill('.connect input[placeholder="node@host"]', go.name);
  await page.fill('.connect input[placeholder=host]', '127.0.0.1');
  await page.fill('.connect input[placeholder=port]', String(go.port));
  await page.click('.connect button[type=submit]');
  await page.waitForFunction((n) => document.querySelector('[data-testid=current-node]')?.textContent === n, go.name);
  await page.waitForSelector('[data-page=info] [data-testid=processes-total]');
}

test('every page of an ergo-ts node: no error banner, clock time axes, meta page, graph expansion', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { node, url } = await startObserved({}, { network: GO_NETWORK });
  let browser: Browser | undefined;
  try {
    browser = await launchChromium(executablePath);
    const page = await browser.newPage({ viewport: VIEWPORT });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector('[data-page=info] .chart[data-points="3"]');
    await assertClockAxes(page, '[data-page=info]');
    await settleClean(page, 'the node page');
    await shot(page, 'ts-info');

    for (const p of ['processes', 'applications', 'events', 'network', 'log']) {
      await page.click(`[data-nav=${p}]`);
      await page.waitForSelector(`[data-page=${p}]`);
      await settleClean(page, `the ${p} page`);
      await shot(page, `ts-${p}`);
    }

    // The manager's process page lists its metas (web server, SSE and POST handlers); a click
    // opens the meta page with the meta's facts and its handleInspect state.
    const mgr = node.processPID('observer_mgr');
    await page.goto(`${url}/#/process/${encodeURIComponent(String(mgr))}`);
    await page.waitForSelector('[data-page=process] [data-testid=process-state]');
    await page.waitForSelector('[data-page=process] .chart[data-points="2"]');
    await assertClockAxes(page, '[data-page=process]');
    await page.click('[data-testid=metas] a >> nth=0');
    await page.waitForSelector('[data-page=meta] [data-testid=meta-info]');
    await page.waitForFunction(() =>
      /behavior/.test(document.querySelector('[data-page=meta] [data-testid=meta-info]')?.textContent ?? ''),
    );
    await settleClean(page, 'the meta page');
    await shot(page, 'ts-meta');

    // The graph: a process that links to one and monitors another, each with two of their own;
    // a click on a neighbour expands it.
    const root: PID = await node.spawn(Linker, {}, 2);
    await page.goto(`${url}/#/graph/${encodeURIComponent(String(root))}`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=graph] .gnode').length === 3);
    await page.click('[data-testid=graph] .gnode.pid:not(.centre) >> nth=0');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=graph] .gnode').length >= 5);
    await page.click('[data-testid=graph] .gnode.pid:not(.centre) >> nth=1');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=graph] .gnode').length >= 7);
    assert.ok((await page.$$('[data-testid=graph] .edge.monitor')).length >= 2, 'monitors drawn dashed');
    await settleClean(page, 'the graph page');
    await shot(page, 'ts-graph-expanded');

    assert.deepEqual(errors, [], 'no script errors in the page');
  } finally {
    await browser?.close();
    await node.stop();
  }
});

test('every page of a Go Ergo node through the switcher: no error banner, clock time axes', async (t) => {
  const session = await goBrowserSession(t, 'gopages');
  if (session === undefined) return;
  const { go, node, url, page } = session;
  try {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector('[data-page=info] [data-testid=processes-total]');
    await connectTo(page, go);
    assert.match((await page.textContent('[data-page=info]'))!, /Ergo Framework/);
    await page.waitForSelector('[data-page=info] .chart[data-points="3"]');
    await assertClockAxes(page, '[data-page=info]');
    // Event loop charts belong to the Observer's own node only.
    assert.equal(await page.$$eval('[data-page=info] .chart', (els) => els.length), 3, 'processes, memory, CPU');
    await settleClean(page, 'the Go node page');
    await shot(page, 'go-info');

    await page.click('[data-nav=processes]');
    await page.waitForSelector('[data-page=processes] .row[data-name=echo]');
    await settleClean(page, 'the Go processes page');
    await shot(page, 'go-processes');

    // A Go process page: info, state, charts, log.
    await page.click('[data-page=processes] .row[data-name=calc] a');
    await page.waitForSelector('[data-page=process] [data-testid=process-state]');
    await page.waitForSelector('[data-page=process] .chart[data-points="2"]');
    await assertClockAxes(page, '[data-page=process]');
    await settleClean(page, 'a Go process page');
    await shot(page, 'go-process');

    // Applications: this ergo-peer predates Ergo 3.2.0's ApplicationInfo (no Tags, no Map); the
    // core reads that layout as well as 3.2.0's, so the page lists the peer's application, and
    // follows it from loaded to running when the peer starts it.
    await page.click('[data-nav=applications]');
    const appRow = (re: RegExp): Promise<unknown> =>
      page.waitForFunction(
        (src) =>
          new RegExp(src).test(
            document.querySelector('[data-page=applications] tr[data-app=peer_app]')?.textContent ?? '',
          ),
        re.source,
      );
    await appRow(/^peer_apploadedtemporary/);
    go.proc.stdin.write(JSON.stringify({ cmd: 'app_start', app: 'peer_app' }) + '\n');
    await appRow(/^peer_apprunningtemporary/);
    await settleClean(page, 'the Go applications page');
    await shot(page, 'go-applications');

    // Events: a Go 3.2 node has no event list query; the page says so instead of failing.
    await page.click('[data-nav=events]');
    await page.waitForSelector('[data-testid=events-unsupported]');
    assert.match((await page.textContent('[data-testid=events-unsupported]'))!, /Ergo Framework/);
    await settleClean(page, 'the Go events page');
    await shot(page, 'go-events');

    await page.click('[data-nav=network]');
    await page.waitForFunction(
      (n) => (document.querySelector('[data-page=network]')?.textContent ?? '').includes(n),
      node.name,
    );
    await settleClean(page, 'the Go network page');
    await shot(page, 'go-network');

    // Its connection to the Observer's node: facts and per-second charts.
    await page.click(`[data-testid=connected-nodes] a`);
    await page.waitForSelector('[data-page=connection] .chart[data-points="2"]');
    await assertClockAxes(page, '[data-page=connection]');
    await settleClean(page, 'the Go connection page');
    await shot(page, 'go-connection');

    await page.click('[data-nav=log]');
    await page.waitForSelector('[data-page=log]');
    await settleClean(page, 'the Go log page');
    await shot(page, 'go-log');

    assert.deepEqual(errors, [], 'no script errors in the page');
  } finally {
    await session.close();
  }
});

test('a Go node that stops answering (SIGSTOP): a specific message, and the session serves other nodes', async (t) => {
  const session = await goBrowserSession(t, 'gostop');
  if (session === undefined) return;
  const { go, node, url, page } = session;
  try {
    await page.goto(url);
    await page.waitForSelector('[data-page=info] [data-testid=processes-total]');
    await connectTo(page, go);
    await page.click('[data-nav=processes]');
    await page.waitForSelector('[data-page=processes] .row[data-name=echo]');
    const echoLink = await page.getAttribute('[data-page=processes] .row[data-name=echo] a', 'href');

    go.proc.kill('SIGSTOP');
    // A page already open: its data stops; it says for how long and from which node.
    await page.waitForFunction(
      (n) => (document.querySelector('[data-page=processes] .error')?.textContent ?? '').includes(`update from ${n}`),
      go.name,
    );
    // A new page: its request is not answered; the page names the node and the request.
    await page.click('[data-nav=network]');
    await page.waitForFunction(
      (n) =>
        (document.querySelector('[data-page=network] .error')?.textContent ?? '').includes(
          `${n} did not answer the network_info request`,
        ),
      go.name,
    );
    await shot(page, 'go-stopped-network');

    // While requests to the stopped node are pending (its process page asks for three things),
    // the switcher still takes this tab to the ergo-ts node at once, and its pages work.
    await page.goto(`${url}/${echoLink!}`);
    await page.waitForSelector('[data-page=process]');
    await page.click(`[data-testid=node-list] a[data-node="${node.name}"]`);
    await page.waitForFunction(
      (n) => document.querySelector('[data-testid=current-node]')?.textContent === n,
      node.name,
    );
    await page.waitForSelector('[data-page=info] [data-testid=processes-total]');
    assert.deepEqual(await banners(page), [], 'the switch answered without an error');
    await page.click('[data-nav=processes]');
    await page.waitForSelector('[data-page=processes] .row[data-name=observer_hub]');
    await page.click('[data-nav=log]');
    await page.waitForSelector('[data-page=log]');
    const marker = `after the stop ${process.pid}`;
    await eventually(
      async () => {
        node.log.info(marker);
        return (await page.textContent('[data-testid=log-lines]'))!.includes(marker);
      },
      'a log record of the ergo-ts node',
      WAIT,
    );
    assert.deepEqual(await banners(page), [], 'the ergo-ts node pages show no error');
    await shot(page, 'go-stopped-ts-log');

    // The stopped node answers no heartbeat: the connection is declared down after
    // peerStallTimeout (15 s by default, at most 1.5 × it).
    await eventually(
      () =>
        !node
          .network()
          .nodes()
          .includes(go.name as Atom),
      'the Go node declared down',
      {
        timeoutMs: 60_000,
      },
    );
    // The Go node resumes: selecting it dials it again the way the operator connected to it (a
    // Go node may still refuse the first new connection while it notices the old one is gone).
    go.proc.kill('SIGCONT');
    await eventually(
      async () => {
        await page.click(`[data-testid=node-list] a[data-node="${go.name}"]`);
        const current = await page.evaluate(() => document.querySelector('[data-testid=current-node]')?.textContent);
        return current === go.name;
      },
      'the switcher observes the Go node again',
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await page.waitForSelector('[data-page=info] [data-testid=processes-total]');
  } catch (err) {
    await shot(page, 'go-stopped-failure');
    throw err;
  } finally {
    await session.close();
  }
});

test('the Observer over HTTPS (the tls option): pages load and stream', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const { cert, key } = selfSigned('localhost');
  const { node, url } = await startObserved({ tls: { cert, key } });
  let browser: Browser | undefined;
  try {
    assert.match(url, /^https:\/\//);
    browser = await launchChromium(executablePath);
    const page = await browser.newPage({ viewport: VIEWPORT, ignoreHTTPSErrors: true });
    await page.goto(url);
    await page.waitForSelector('[data-page=info] [data-testid=processes-total]');
    await page.waitForSelector('[data-page=info] .chart[data-points="2"]');
    await page.click('[data-nav=processes]');
    await page.waitForSelector('[data-page=processes] .row[data-name=observer_mgr]');
    assert.deepEqual(await banners(page), []);
    await shot(page, 'tls-processes');
    void node;
  } finally {
    await browser?.close();
    await node.stop();
  }
});
