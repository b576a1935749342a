// Crashes in Chromium: the page of a process that crashed before the page opened — no
// supervisor, so in no restart history — shows the crash the node kept (reason, the error it
// threw, where, its behavior, parent and stack) and, in its Log card, its last lines the
// Observer's History kept (the card was empty: it showed only lines logged while the page was
// open); a process that ended normally shows that none was recorded, and its Log card says why
// it has no line; a supervisor's restart history shows the error its
// panicked child threw beside the reason `panic`. `do/crashes` is a read: not logged as an action.
// Screenshots go to packages/observer/test-output/ (crashes-*.png).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import {
  Actor,
  Supervisor,
  SupervisorStrategy,
  SupervisorType,
  TerminateReasonNormal,
  type PID,
  type SupervisorSpec,
} from 'ergo-ts';

import { chromiumPath, launchChromium, post, startObserved, StreamClient, VIEWPORT, WAIT } from './helpers.js';
import { banners, shot } from './pages_support.js';

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: { querySelector(selector: string): { textContent: string | null } | null };

/** Throws what it is sent as an Error's message; 'stop' ends it normally. */
class Crasher extends Actor {
  override handleMessage(_from: PID, m: unknown): Error | undefined {
    if (m === 'stop') return TerminateReasonNormal;
    throw new Error(String(m));
  }
}

class CrashSup extends Supervisor {
  override init(): SupervisorSpec {
    return {
      type: SupervisorType.OneForOne,
      children: [{ name: 'obs_crash_worker', factory: Crasher }],
      restart: { strategy: SupervisorStrategy.Permanent, intensity: 5, period: 60 },
    };
  }
}

test("an ended process's page shows its crash; a supervisor's history the error its child threw", async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const lines: string[] = [];
  const observed = await startObserved(
    {},
    { log: { level: 'info', defaultLogger: { output: { write: (l: string) => lines.push(l) } } } },
  );
  const browser = await launchChromium(executablePath);
  t.after(async () => {
    await browser.close();
    await observed.node.stop();
  });
  const node = observed.node;
  const gone = (pid: PID): boolean => !node.processList().some((p) => p.equals(pid));
  const lone = await node.spawnRegister('obs_lone', Crasher);
  node.send(lone, 'db connection refused');
  const calm = await node.spawn(Crasher);
  node.send(calm, 'stop');
  await eventually(() => gone(lone) && gone(calm), 'both ended', WAIT);

  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(`${observed.url}/#/process/${encodeURIComponent(String(lone))}`);
  await page.waitForSelector('[data-testid=crash-error]', { timeout: 20_000 });
  assert.equal(await page.textContent('[data-testid=crash-error]'), 'db connection refused');
  assert.equal(await page.textContent('[data-testid=crash-reason]'), 'panic');
  const card = (await page.textContent('[data-testid=crash]')) ?? '';
  assert.match(card, /thrown in\s*a handler/);
  assert.match(card, /behavior\s*Crasher/);
  assert.match(card, /name\s*obs_lone/);
  assert.match((await page.textContent('[data-testid=crash-stack]')) ?? '', /db connection refused[\s\S]*at /);
  assert.ok(await page.isVisible('[data-testid=process-gone]'), 'the page still says it has ended');
  // Its Log card: the panic it logged before the page opened, kept by the History.
  await page.waitForFunction(
    () =>
      (document.querySelector('[data-testid=process-log] .log')?.textContent ?? '').includes(
        'terminated: panic in a handler: Error: db connection refused',
      ),
    undefined,
    { timeout: 20_000 },
  );
  await shot(page, 'crashes-process');
  assert.deepEqual(await banners(page), []);

  await page.goto(`${observed.url}/#/process/${encodeURIComponent(String(calm))}`);
  await page.waitForSelector('[data-testid=crash-none]', { timeout: 20_000 });
  assert.match((await page.textContent('[data-testid=crash-none]')) ?? '', /No crash recorded/);
  // It logged nothing: the Log card says so, and why.
  await page.waitForSelector('[data-testid=process-log-none]', { timeout: 20_000 });
  assert.match(
    (await page.textContent('[data-testid=process-log-none]')) ?? '',
    /^No line logged by this process among the \d+ records the Observer keeps/,
  );
  await shot(page, 'crashes-process-no-log');

  const sup = await node.spawnRegister('obs_crash_sup', CrashSup);
  const child = node.processPID('obs_crash_worker');
  node.send(child, 'disk full');
  await eventually(() => gone(child), 'the child crashed', WAIT);
  await page.goto(`${observed.url}/#/process/${encodeURIComponent(String(sup))}`);
  await page.waitForSelector('[data-testid=restart-error]', { timeout: 20_000 });
  await page.waitForFunction(
    () => document.querySelector('[data-testid=restart-error]')?.textContent === 'disk full',
    undefined,
    { timeout: 20_000 },
  );
  assert.equal(await page.textContent('[data-testid=restart-reason]'), 'panic');
  await shot(page, 'crashes-restart-history');

  // A read, asked by the page: not on the node's record as an action.
  assert.ok(!lines.some((l) => l.includes('observer action crashes')), 'do/crashes not logged as an action');
});

test('do/crashes answers the recent crashes of one process or all; a bad PID is 400', async (t) => {
  const observed = await startObserved();
  t.after(() => observed.node.stop());
  const node = observed.node;
  const a = await node.spawn(Crasher);
  node.send(a, 'boom');
  await eventually(() => node.recentCrashes({ pid: a }).length === 1, 'a crashed', WAIT);
  const stream = await StreamClient.open(observed.url);
  t.after(() => stream.close());
  await stream.waitFor('connected');
  const headers = { 'x-observer-session': stream.session };
  const one = await post(observed.url, '/api/do/crashes', { pid: String(a) }, headers);
  assert.equal(one.status, 200, JSON.stringify(one.body));
  const crashes = (one.body.data as { crashes: { pid: string; error: string; reason: string }[] }).crashes;
  assert.deepEqual(
    crashes.map((c) => [c.pid, c.reason, c.error]),
    [[String(a), 'panic', 'boom']],
  );
  const all = await post(observed.url, '/api/do/crashes', {}, headers);
  assert.equal(all.status, 200);
  assert.ok((all.body.data as { crashes: unknown[] }).crashes.length >= 1);
  const bad = await post(observed.url, '/api/do/crashes', { pid: 'nope' }, headers);
  assert.equal(bad.status, 400);
});
