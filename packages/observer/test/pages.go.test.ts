// Every page of a Go Ergo node (ergo-peer, reached through the switcher) in Chromium: no error
// banner anywhere and clock time axes; and a Go node that stops answering (SIGSTOP): each page
// says which node and request did not answer, the session keeps serving the other nodes
// meanwhile, and the node opens again once it resumes. Screenshots go to
// packages/observer/test-output/.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import type { Atom } from 'ergo-ts';

import { FileChromium, goBrowserSession, WAIT } from './helpers.js';
import { chartPoints } from './charts_support.js';
import { assertClockAxes, banners, connectTo, settleClean, failureShot, shot } from './pages_support.js';

/** One Chromium for this file's tests, a lease of its context each. */
const browsers = new FileChromium();

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelector(selector: string): { textContent: string | null; getAttribute(n: string): string | null } | null;
  querySelectorAll(selector: string): { length: number };
};

test('every page of a Go Ergo node through the switcher: no error banner, clock time axes', async (t) => {
  const session = await goBrowserSession(t, 'gopages', browsers);
  if (session === undefined) return;
  const { go, node, url, page } = session;
  try {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForSelector('[data-page=info] [data-testid=processes-total]');
    await connectTo(page, go);
    assert.match((await page.textContent('[data-page=info]'))!, /Ergo Framework/);
    await chartPoints(page, '[data-page=info]', 3);
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
    await chartPoints(page, '[data-page=process]', 2);
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
    // Loaded, not running: no uptime (Go's zero start time read as "20780d 12h" before) and no
    // tree to wait for; once it runs, its tree is asked for.
    assert.equal(await page.textContent('tr[data-app=peer_app] [data-testid=app-uptime]'), '–');
    await page.click('[data-app=peer_app]');
    await page.waitForSelector('[data-testid=app-not-running]');
    go.proc.stdin.write(JSON.stringify({ cmd: 'app_start', app: 'peer_app' }) + '\n');
    await appRow(/^peer_apprunningtemporary/);
    await page.waitForSelector('[data-testid=app-not-running]', { state: 'detached' });
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
    // Go's flags carry `Enable` beside the flags: no empty name, no leading comma.
    const flags = await page.$$eval('[data-page=network] tr', (rows) =>
      rows.filter((r) => r.querySelector('th')?.textContent === 'flags').map((r) => r.querySelector('td')?.textContent),
    );
    assert.ok(flags.length > 0);
    for (const f of flags) assert.doesNotMatch(f ?? '', /^\s*,|,\s*,/, `flags "${f}"`);
    await settleClean(page, 'the Go network page');
    await shot(page, 'go-network');

    // Its connection to the Observer's node: facts and per-second charts.
    await page.click(`[data-testid=connected-nodes] a`);
    await chartPoints(page, '[data-page=connection]', 2);
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
  const session = await goBrowserSession(t, 'gostop', browsers);
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
    // Down, it stays in the switcher's list (dot not up): the operator reached it through
    // "connect to…", and without a registrar nothing else would list it again.
    await page.waitForSelector(`[data-testid=node-list] a[data-node="${go.name}"] .dot:not(.up)`);
    // The Go node resumes: selecting it dials it again the way the operator connected to it (a
    // Go node may still refuse the first new connection while it notices the old one is gone).
    go.proc.kill('SIGCONT');
    // Short clicks, many probes: while the Go node's connection comes back its entry may leave
    // the list and return, and one click waiting out Playwright's 30 s for a stable element
    // would use up the whole wait in two probes.
    await eventually(
      async () => {
        await page.click(`[data-testid=node-list] a[data-node="${go.name}"]`, { timeout: 2_000 });
        const current = await page.evaluate(() => document.querySelector('[data-testid=current-node]')?.textContent);
        return current === go.name;
      },
      'the switcher observes the Go node again',
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    await page.waitForSelector('[data-page=info] [data-testid=processes-total]');
  } catch (err) {
    await failureShot(page, 'go-stopped-failure');
    throw err;
  } finally {
    await session.close();
  }
});
