// The Workflows page in Chromium, on a node running an entities runtime (SQLite store) with real
// workflows: one completed, one sleeping (then waiting for a signal it was already sent: a
// buffered signal), one waiting for a signal, one failed at a step. The page lists exactly those
// with their statuses, filters them by status, shows an instance's step history with its times,
// its pending timer and its buffered signal; cancelling the sleeping one (asked first, with a
// reason) and resuming the failed one through the page are seen on their handles and in the store,
// the failed attempt kept in its history. The list's search: newest first across kinds, so a
// failed and a running instance started last top page 1 above 55 completed ones; totals per
// status (a click filters by one); filters by kind, search attribute and start time; the next
// page by cursor. An instance's page shows the attempts running now: a hung step, then the
// compensation a cancel runs (attempt, start, timeout). An Observer started with `workflowActions:
// false` lists but refuses the actions (403 workflow_actions_disabled).
// Screenshots go to packages/observer/test-output/ (workflows-*.png).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import {
  MemoryStore,
  SqliteStore,
  defineWorkflow,
  startEntities,
  terminalError,
  type EntityStore,
} from '@ergo-ts/entities';
import { schema } from 'ergo-ts';
import type { Browser, Page } from 'playwright-core';

import { chromiumPath, launchChromium, post, startObserved, StreamClient, VIEWPORT, WAIT } from './helpers.js';
import { banners, shot } from './pages_support.js';

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const location: { hash: string };
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
};

const charge = { fails: true };

/** Completed (two steps); asleep an hour then waiting for `approve`; waiting for `approve`; failed at `charge`. */
const Order = defineWorkflow(
  'order',
  async (ctx, input: { mode: 'complete' | 'sleep' | 'signal' | 'fail' }) => {
    const first = await ctx.step('reserve', () => 1);
    if (input.mode === 'sleep') await ctx.sleep(3_600_000);
    if (input.mode === 'sleep' || input.mode === 'signal') return { first, approved: (await ctx.signal('approve')).by };
    if (input.mode === 'fail')
      await ctx.step('charge', () => {
        if (charge.fails) throw terminalError(new Error('card declined'));
        return 'charged';
      });
    return { first, second: await ctx.step('ship', () => 2) };
  },
  { signals: { approve: schema.object({ by: schema.string() }) } },
);

const textOf = (page: Page, sel: string): Promise<string> =>
  page.$eval(sel, (e) => (e.textContent ?? '').trim()).catch(() => '');

/** A kind with search attributes, for the list's search. */
const Invoice = defineWorkflow(
  'invoice',
  async (ctx, input: { customer: string; total: number }) => {
    await ctx.setAttributes({ customer: input.customer, total: input.total });
    return ctx.step('bill', () => input.total);
  },
  { attributes: { customer: 'string', total: 'number' } },
);

/** The rows of the list in its order: [id, status] each. */
const ordered = (page: Page): Promise<string[][]> =>
  page.$$eval('tr[data-workflow]', (rs) =>
    rs.map((r) => [
      r.getAttribute('data-workflow') ?? '',
      (r.querySelector('[data-testid=workflow-row-status]')?.textContent ?? '').trim(),
    ]),
  );

/** The rows of the list, sorted by id (the list is newest first: start times may tie). */
const rows = async (page: Page): Promise<string[][]> =>
  (await ordered(page)).sort((a, b) => a[0]!.localeCompare(b[0]!));

async function rowsAre(page: Page, expected: string[][], what: string): Promise<void> {
  await eventually(async () => JSON.stringify(await rows(page)) === JSON.stringify(expected), what, WAIT).catch(
    async (err: unknown) => {
      await shot(page, 'workflows-failure');
      throw new Error(`${String(err)}; the page listed ${JSON.stringify(await rows(page))}`);
    },
  );
}

test('the Workflows page lists, filters and describes workflows; cancel and resume go through the node', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const dir = mkdtempSync(join(tmpdir(), 'observer-workflows-'));
  const observed = await startObserved();
  const store: EntityStore = SqliteStore.open(join(dir, 'wf.db'));
  const entities = await startEntities(observed.node, { store, kinds: [Order] });
  let browser: Browser | undefined;
  t.after(async () => {
    await browser?.close();
    await entities.stop();
    await observed.node.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const wf = entities.workflows;
  const done = await wf.start(Order, 'w-complete', { mode: 'complete' });
  const sleeping = await wf.start(Order, 'w-sleep', { mode: 'sleep' });
  const waiting = await wf.start(Order, 'w-signal', { mode: 'signal' });
  const failing = await wf.start(Order, 'w-fail', { mode: 'fail' });
  await done.result();
  await assert.rejects(failing.result(), { code: 'ERR_WORKFLOW_FAILED' });
  await eventually(async () => (await sleeping.describe()).timers.length === 1, 'w-sleep sleeps', WAIT);
  await eventually(async () => (await waiting.describe()).history.length === 1, 'w-signal waits', WAIT);
  // Sent while it sleeps: kept until its body asks for it.
  assert.equal(await sleeping.signal('approve', { by: 'early' }), 'accepted');

  browser = await launchChromium(executablePath);
  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(observed.url);
  // The link appears once the node's entities manager is found.
  await page.click('[data-nav=workflows]', { timeout: 20_000 });
  await rowsAre(
    page,
    [
      ['w-complete', 'completed'],
      ['w-fail', 'failed'],
      ['w-signal', 'running'],
      ['w-sleep', 'running'],
    ],
    'the four instances',
  );
  assert.match(await textOf(page, 'tr[data-workflow="w-fail"]'), /card declined/);
  await shot(page, 'workflows-list');
  await page.selectOption('[data-testid=workflow-status]', 'running');
  await rowsAre(
    page,
    [
      ['w-signal', 'running'],
      ['w-sleep', 'running'],
    ],
    'the running ones',
  );
  await page.selectOption('[data-testid=workflow-status]', 'failed');
  await rowsAre(page, [['w-fail', 'failed']], 'the failed one');
  await page.selectOption('[data-testid=workflow-status]', '');

  // The sleeping instance: its history (reserve, the sleep) with times, its timer, its buffered signal.
  await page.click('tr[data-workflow="w-sleep"] a');
  await page.waitForSelector('[data-testid=workflow-history] tr[data-seq="1"]', { timeout: 20_000 });
  const history = await page.$$eval('[data-testid=workflow-history] tr[data-seq]', (rs) =>
    rs.map((r) => [...r.querySelectorAll('td')].map((c) => (c.textContent ?? '').trim())),
  );
  assert.deepEqual(
    history.map((h) => [h[0], h[1], h[2]]),
    [
      ['0', 'step', 'reserve'],
      ['1', 'sleep', ''],
    ],
  );
  assert.match(history[0]![3]!, /^\d\d:\d\d:\d\d\.\d{3}$/, 'the time it was recorded');
  assert.match(history[0]![4]!, /ms|s/, 'its offset from the start');
  // The sleep ends in an hour: its time alone, or with its date when that is another day than today
  // (a run in the hour before midnight).
  const until = /^waits until (?:(\d{4}-\d\d-\d\d) )?\d\d:\d\d:\d\d\.\d{3}$/.exec(history[1]![7]!);
  assert.ok(until !== null, `a deadline, got ${history[1]![7]}`);
  const now = new Date();
  const today = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
  if (until[1] !== undefined) assert.notEqual(until[1], today, 'a date only for another day');
  assert.equal(await page.$$eval('[data-testid=workflow-timers] tr[data-seq]', (rs) => rs.length), 1);
  assert.match(await textOf(page, '[data-testid=workflow-timers] tr[data-seq="1"]'), /sleep.*(59 min|1 h)/);
  assert.match(await textOf(page, '[data-testid=workflow-signals]'), /approve\s*\{"by":"early"\}/);
  assert.equal(await textOf(page, '[data-testid=workflow-status-now]'), 'running');
  await shot(page, 'workflows-sleeping');

  // Cancel it through the page: asked first ("keep it" changes nothing), then with a reason; its
  // handle and the store say cancelled, for that reason.
  await page.click('[data-testid=workflow-cancel]');
  await page.waitForSelector('[data-testid=workflow-cancel-confirm]');
  assert.match(await textOf(page, '[data-testid=workflow-cancel-confirm]'), /cancel w-sleep\?/);
  await page.click('[data-testid=workflow-cancel-no]');
  await page.waitForSelector('[data-testid=workflow-cancel]');
  assert.equal((await sleeping.describe()).status, 'running', 'not cancelled without the yes');
  await page.click('[data-testid=workflow-cancel]');
  await page.fill('[data-testid=workflow-cancel-reason]', 'customer asked');
  await shot(page, 'workflows-cancel-confirm');
  await page.click('[data-testid=workflow-cancel-yes]');
  await page.waitForFunction(
    () => document.querySelector('[data-testid=workflow-outcome]')?.textContent === 'cancel: cancelled',
    undefined,
    { timeout: 20_000 },
  );
  await assert.rejects(sleeping.result(), { code: 'ERR_WORKFLOW_CANCELLED' });
  assert.equal((await store.load({ kind: 'order', key: 'w-sleep' })).state?.constructor, Object);
  assert.equal(((await store.load({ kind: 'order', key: 'w-sleep' })).state as { status: string }).status, 'cancelled');
  assert.equal(
    ((await store.load({ kind: 'order', key: 'w-sleep' })).state as { cancel: string }).cancel,
    'customer asked',
  );
  await page.waitForFunction(
    () => document.querySelector('[data-testid=workflow-status-now]')?.textContent === 'cancelled',
    undefined,
    { timeout: 20_000 },
  );

  // The failed instance: its failed step shown; resume it through the page once the step can succeed.
  await page.evaluate(() => (location.hash = '#/workflow/order/w-fail'));
  await page.waitForSelector('[data-testid=workflow-history] tr[data-seq="1"]', { timeout: 20_000 });
  assert.match(await textOf(page, '[data-testid=workflow-history] tr[data-seq="1"]'), /charge.*card declined/);
  assert.equal(await textOf(page, '[data-testid=workflow-status-now]'), 'failed');
  await shot(page, 'workflows-failed');
  charge.fails = false;
  await page.click('[data-testid=workflow-resume]');
  await page.waitForFunction(
    () => document.querySelector('[data-testid=workflow-outcome]')?.textContent === 'resume: resumed',
    undefined,
    { timeout: 20_000 },
  );
  assert.deepEqual(await failing.result(), { first: 1, second: 2 });
  await page.waitForFunction(
    () => document.querySelector('[data-testid=workflow-status-now]')?.textContent === 'completed',
    undefined,
    { timeout: 20_000 },
  );
  assert.equal(((await store.load({ kind: 'order', key: 'w-fail' })).state as { status: string }).status, 'completed');
  // The attempt that failed stays in the history, before the run that succeeded.
  await page.waitForSelector('[data-testid=workflow-history] tr[data-attempt="1"]', { timeout: 20_000 });
  assert.match(
    await textOf(page, '[data-testid=workflow-history] tr[data-attempt="1"]'),
    /charge.*card declined.*failed; resumed at \d\d:\d\d:\d\d\.\d{3}/,
  );
  assert.match(await textOf(page, '[data-testid=workflow-history] tr[data-seq="1"]'), /charge.*"charged"/);
  await shot(page, 'workflows-resumed');
  assert.deepEqual(await banners(page), []);

  // The list now: the cancelled and the resumed ones.
  await page.click('[data-nav=workflows]');
  await rowsAre(
    page,
    [
      ['w-complete', 'completed'],
      ['w-fail', 'completed'],
      ['w-signal', 'running'],
      ['w-sleep', 'cancelled'],
    ],
    'the list after the actions',
  );
});

/** A promise a test settles by hand. */
function gate<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
/** The step, then its compensation, hang until the test lets them go. */
const held = { ship: gate<string>(), undo: gate<void>() };

/** A step that heartbeats once and hangs, then (cancelled) its compensation that hangs: each is seen running on the page. */
const Shipment = defineWorkflow(
  'shipment',
  async (ctx) => {
    try {
      await ctx.step(
        'ship',
        (info) => {
          info.heartbeat({ packed: 3 });
          return held.ship.promise;
        },
        {
          heartbeatTimeoutMs: 3_600_000,
          compensate: { run: () => held.undo.promise, timeoutMs: 3_600_000, retry: { maxAttempts: 2 } },
        },
      );
      return await ctx.signal('delivered');
    } catch (err) {
      await ctx.runCompensations();
      throw err;
    }
  },
  { signals: { delivered: schema.unknown() } },
);

/** The cells of the instance page's running rows. */
const runningRows = (page: Page): Promise<string[][]> =>
  page.$$eval('[data-testid=workflow-running] tr[data-seq]', (rs) =>
    rs.map((r) => [...r.querySelectorAll('td')].map((c) => (c.textContent ?? '').trim())),
  );

test('an instance page shows the step running now with its last heartbeat, then the compensation a cancel runs, with attempt, start and timeout', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const observed = await startObserved();
  const entities = await startEntities(observed.node, { store: new MemoryStore(), kinds: [Shipment] });
  let browser: Browser | undefined;
  t.after(async () => {
    await browser?.close();
    await entities.stop();
    await observed.node.stop();
  });
  const h = await entities.workflows.start(Shipment, 's1', undefined);
  await eventually(async () => (await h.describe()).running?.length === 1, 's1 ships', WAIT);

  browser = await launchChromium(executablePath);
  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(`${observed.url}#/workflow/shipment/s1`);
  await page.waitForSelector('[data-testid=workflow-running] tr[data-seq="0"]', { timeout: 20_000 });
  const step = (await runningRows(page))[0]!;
  assert.deepEqual(step.slice(0, 4), ['0', 'step', 'ship', '1']);
  assert.match(step[4]!, /^\d\d:\d\d:\d\d\.\d{3}$/, 'when it started');
  assert.equal(step[6], 'no timeout');
  assert.match(
    step[7]!,
    // A deadline on another day than today shows its date too (a run in the hour before midnight).
    /^\d\d:\d\d:\d\d\.\d{3} \{"packed":3\}, due (\d{4}-\d\d-\d\d )?\d\d:/,
    'its last heartbeat, details and when the next is due',
  );
  assert.match(await textOf(page, '[data-testid=workflow-running] h3'), /running now \(1\)/);
  await shot(page, 'workflows-running-step');

  held.ship.resolve('parcel-1');
  await page.waitForFunction(
    () => document.querySelectorAll('[data-testid=workflow-running] tr[data-seq]').length === 0,
    undefined,
    { timeout: 20_000 },
  );
  assert.equal(await h.cancel('lost in transit'), 'cancelled');
  await page.waitForSelector('[data-testid=workflow-running] tr.wf-compensating[data-seq="2"]', { timeout: 20_000 });
  const undo = (await runningRows(page))[0]!;
  assert.deepEqual(undo.slice(0, 4), ['2', 'step', 'compensate:ship', '1']);
  assert.match(undo[6]!, /^(\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d\.\d{3}$/, 'when its timeout fails it');
  assert.deepEqual(await banners(page), []);
  await shot(page, 'workflows-running-compensation');

  held.undo.resolve();
  await assert.rejects(h.result(), { code: 'ERR_WORKFLOW_CANCELLED' });
  await page.waitForFunction(
    () => document.querySelector('[data-testid=workflow-status-now]')?.textContent === 'cancelled',
    undefined,
    { timeout: 20_000 },
  );
  assert.deepEqual(await runningRows(page), []);
});

test('workflowActions: false lists workflows and refuses cancel, resume and signal (403 workflow_actions_disabled)', async (t) => {
  const observed = await startObserved({ workflowActions: false });
  const entities = await startEntities(observed.node, { store: new MemoryStore(), kinds: [Order] });
  t.after(async () => {
    await entities.stop();
    await observed.node.stop();
  });
  const h = await entities.workflows.start(Order, 'x', { mode: 'signal' });
  await eventually(async () => (await h.describe()).history.length === 1, 'x waits', WAIT);
  const stream = await StreamClient.open(observed.url);
  t.after(() => stream.close());
  await stream.waitFor('connected');
  const headers = { 'x-observer-session': stream.session };
  const listed = await post(observed.url, '/api/do/workflows', { op: 'list', workflow: 'order' }, headers);
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  assert.deepEqual(
    (listed.body.data as { items: { id: string }[] }).items.map((i) => i.id),
    ['x'],
  );
  for (const op of ['cancel', 'resume', 'signal']) {
    const r = await post(
      observed.url,
      '/api/do/workflows',
      { op, workflow: 'order', id: 'x', name: 'approve', payload: { by: 'no' } },
      headers,
    );
    assert.equal(r.status, 403, op);
    assert.equal((r.body as { code?: string }).code, 'workflow_actions_disabled', op);
  }
  assert.equal((await h.describe()).status, 'running');
  // Bad requests get their codes; the node goes on.
  const bad = await post(observed.url, '/api/do/workflows', { op: 'explode' }, headers);
  assert.equal(bad.status, 400);
  const missing = await post(
    observed.url,
    '/api/do/workflows',
    { op: 'describe', workflow: 'order', id: 'nope' },
    headers,
  );
  assert.equal(missing.status, 404);
  assert.equal((missing.body as { code?: string }).code, 'ERR_WORKFLOW_NOT_FOUND');
  const noEntities = await post(observed.url, '/api/do/workflows', { op: 'kinds', entities: 'nobody' }, headers);
  assert.equal(noEntities.status, 404);
  assert.equal((noEntities.body as { code?: string }).code, 'no_entities');
});

test('the Workflows list: newest first with totals per status; filters by status, kind, attribute and start time; next page by cursor', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const dir = mkdtempSync(join(tmpdir(), 'observer-wfsearch-'));
  const observed = await startObserved();
  const store: EntityStore = SqliteStore.open(join(dir, 'wf.db'));
  const entities = await startEntities(observed.node, { store, kinds: [Order, Invoice] });
  let browser: Browser | undefined;
  t.after(async () => {
    await browser?.close();
    await entities.stop();
    await observed.node.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const wf = entities.workflows;
  for (let i = 0; i < 55; i++)
    assert.equal(
      await (
        await wf.start(Invoice, `inv-${String(i).padStart(2, '0')}`, { customer: `c-${i % 5}`, total: i })
      ).result(),
      i,
    );
  // Started last: a failed and a running order, which the operator looks for first.
  charge.fails = true;
  await assert.rejects((await wf.start(Order, 'o-fail', { mode: 'fail' })).result(), { code: 'ERR_WORKFLOW_FAILED' });
  const running = await wf.start(Order, 'o-run', { mode: 'signal' });
  await eventually(async () => (await running.describe()).history.length === 1, 'o-run waits', WAIT);

  browser = await launchChromium(executablePath);
  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(observed.url);
  await page.click('[data-nav=workflows]', { timeout: 20_000 });
  const count = (status: string): Promise<string> => textOf(page, `[data-testid=workflow-count-${status}] b`);
  await eventually(async () => (await count('completed')) === '55', 'the totals', WAIT);
  assert.equal(await count('failed'), '1');
  assert.equal(await count('running'), '1');
  assert.equal(await count('cancelled'), '0');
  assert.match(await textOf(page, '[data-testid=workflow-count-total]'), /^57 in all/);
  // Page 1, newest first: the running and the failed order on top, then the newest invoices.
  await eventually(async () => (await ordered(page)).length === 50, 'page 1', WAIT);
  const first = await ordered(page);
  assert.deepEqual(first.slice(0, 2), [
    ['o-run', 'running'],
    ['o-fail', 'failed'],
  ]);
  assert.deepEqual(first[2], ['inv-54', 'completed']);
  assert.match(
    await textOf(page, 'tr[data-workflow="inv-54"] [data-testid=workflow-row-attributes]'),
    /customer="c-4" total=54/,
  );
  await shot(page, 'workflows-search-newest');
  // The next page by cursor: the rest, none repeated.
  await page.click('[data-testid=workflow-next]');
  await eventually(async () => (await ordered(page)).length === 7, 'page 2', WAIT);
  const second = await ordered(page);
  assert.deepEqual(
    second.map((r) => r[0]),
    ['inv-06', 'inv-05', 'inv-04', 'inv-03', 'inv-02', 'inv-01', 'inv-00'],
  );
  assert.equal(new Set([...first, ...second].map((r) => r[0])).size, 57);
  await shot(page, 'workflows-search-page2');
  await page.click('[data-testid=workflow-prev]');
  await eventually(async () => (await ordered(page)).length === 50, 'back to page 1', WAIT);
  // A click on a total filters by its status.
  await page.click('[data-testid=workflow-count-failed]');
  await rowsAre(page, [['o-fail', 'failed']], 'the failed one');
  await shot(page, 'workflows-search-failed');
  await page.click('[data-testid=workflow-count-failed]');
  // A kind and a search attribute: c-3's invoices, with that kind's totals.
  await page.selectOption('[data-testid=workflow-kind]', 'invoice');
  await page.fill('[data-testid=workflow-attribute]', 'customer=c-3');
  await page.press('[data-testid=workflow-attribute]', 'Tab');
  const c3 = [
    'inv-03',
    'inv-08',
    'inv-13',
    'inv-18',
    'inv-23',
    'inv-28',
    'inv-33',
    'inv-38',
    'inv-43',
    'inv-48',
    'inv-53',
  ];
  await rowsAre(
    page,
    c3.map((id) => [id, 'completed']),
    "c-3's invoices",
  );
  assert.equal(await count('completed'), '11');
  assert.match(await textOf(page, '[data-testid=workflow-count-total]'), /^11 in all/);
  await shot(page, 'workflows-search-attribute');
  // A number attribute: total=30 (typed as a number from its text).
  await page.fill('[data-testid=workflow-attribute]', 'total=30');
  await page.press('[data-testid=workflow-attribute]', 'Tab');
  await rowsAre(page, [['inv-30', 'completed']], 'total=30');
  // A start time range: before 2000 finds none; after an hour ago finds them again.
  await page.fill('[data-testid=workflow-started-before]', '2000-01-01T00:00:00');
  await page.press('[data-testid=workflow-started-before]', 'Tab');
  await rowsAre(page, [], 'nothing started before 2000');
  assert.match(await textOf(page, '.grid'), /no instances/);
  await page.fill('[data-testid=workflow-started-before]', '');
  const hourAgo = new Date(Date.now() - 3_600_000);
  const local = new Date(hourAgo.getTime() - hourAgo.getTimezoneOffset() * 60_000).toISOString().slice(0, 19);
  await page.fill('[data-testid=workflow-started-after]', local);
  await page.press('[data-testid=workflow-started-after]', 'Tab');
  await rowsAre(page, [['inv-30', 'completed']], 'total=30 started in the last hour');
  // A malformed attribute is shown, not asked.
  await page.fill('[data-testid=workflow-attribute]', 'no-equals');
  await page.press('[data-testid=workflow-attribute]', 'Tab');
  await page.waitForSelector('[data-testid=workflow-search-problem]', { timeout: 20_000 });
  assert.equal(await textOf(page, '[data-testid=workflow-search-problem]'), 'attribute: name=value');
  await rowsAre(page, [], 'no rows of the previous search');
  await shot(page, 'workflows-search-problem');
  await page.click('[data-testid=workflow-clear]');
  await eventually(async () => (await ordered(page)).length === 50, 'cleared: page 1 again', WAIT);
  assert.deepEqual(await banners(page), []);
});
