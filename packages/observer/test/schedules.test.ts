// The Schedules page, in Chromium, on a node running an entities runtime with the schedules' kind
// and a real schedule every second: the list shows it (workflow, status, when, overlap, its runs
// counted), its own view its next times and its recent runs (each a link to the instance it
// started), pause with a note stops it (the view says paused and the note, no next times),
// unpause starts it again, trigger starts a run now, delete asks first; an Observer with
// `workflowActions: false` refuses the actions (403), and `do/schedules` refusals keep their codes.
// Screenshots go to packages/observer/test-output/ (schedules-*.png).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { MemoryStore, WorkflowSchedules, defineWorkflow, startEntities } from '@ergo-ts/entities';
import type { Page } from 'playwright-core';

import { chromiumPath, launchChromium, post, startObserved, StreamClient, VIEWPORT, WAIT } from './helpers.js';
import { banners, shot } from './pages_support.js';

const Report = defineWorkflow('obsreport', async (_ctx, input: { region: string }) => `report ${input.region}`);

const textOf = (page: Page, sel: string): Promise<string> =>
  page.$eval(sel, (e) => (e.textContent ?? '').trim()).catch(() => '');

test('the Schedules page lists, describes, pauses with a note, unpauses, triggers and deletes', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const observed = await startObserved();
  const entities = await startEntities(observed.node, {
    store: new MemoryStore(),
    kinds: [Report, WorkflowSchedules],
    reminders: { pollMs: 50 },
  });
  const browser = await launchChromium(executablePath);
  t.after(async () => {
    await browser.close();
    await entities.stop();
    await observed.node.stop();
  });
  const s = entities.workflows.schedules;
  await s.create(Report, 'every-second', {
    spec: { everyMs: 1000 },
    input: { region: 'eu' },
    policies: { overlap: 'allowAll' },
    note: 'the EU report',
  });
  await s.create(Report, 'nightly', { spec: { cron: '0 2 * * *', timeZone: 'Europe/Paris' }, input: { region: 'fr' } });
  await eventually(async () => (await s.describe('every-second')).counts.started >= 2, 'two runs', WAIT);

  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(observed.url);
  await page.click('[data-nav=schedules]', { timeout: 20_000 });
  await page.waitForSelector('tr[data-schedule="every-second"]', { timeout: 20_000 });
  await page.waitForSelector('tr[data-schedule="nightly"]', { timeout: 20_000 });
  const row = await textOf(page, 'tr[data-schedule="every-second"]');
  for (const part of ['obsreport', 'active', 'every 1 s', 'allowAll', 'started', 'the EU report'])
    assert.ok(row.includes(part), `${part} in ${row}`);
  assert.ok((await textOf(page, 'tr[data-schedule="nightly"]')).includes('cron 0 2 * * * (Europe/Paris)'));
  await shot(page, 'schedules-list');

  // Its own view: next times and recent runs, each run a link to its instance.
  await page.click('tr[data-schedule="every-second"] a');
  await page.waitForSelector('[data-testid=schedule-run][data-outcome=started] a', { timeout: 20_000 });
  assert.equal(await page.$$eval('[data-testid=schedule-next]', (e) => e.length), 10);
  const runHref = await page.$eval(
    '[data-testid=schedule-run][data-outcome=started] a',
    (e) => e.getAttribute('href') ?? '',
  );
  assert.match(runHref, /^#\/workflow\/obsreport\/every-second-\d{4}-\d\d-\d\dT\d\d%3A\d\d%3A\d\dZ$/);
  await shot(page, 'schedules-view');

  // Pause with a note: the view says so, and no run starts on schedule.
  await page.fill('[data-testid=schedule-note]', 'maintenance window');
  await page.click('[data-testid=schedule-pause]');
  await page.waitForFunction(
    () => document.querySelector('[data-testid=schedule-status]')?.textContent === 'paused',
    undefined,
    { timeout: 20_000 },
  );
  assert.equal(await textOf(page, '[data-testid=schedule-view-note]'), 'maintenance window');
  assert.equal(await page.$$eval('[data-testid=schedule-next]', (e) => e.length), 0);
  const paused = await s.describe('every-second');
  assert.equal(paused.paused, true);
  assert.equal(paused.note, 'maintenance window');
  await shot(page, 'schedules-paused');

  // Trigger now (paused or not): a run starts.
  const before = paused.counts.started;
  await page.click('[data-testid=schedule-trigger]');
  await eventually(
    async () => (await s.describe('every-second')).counts.started === before + 1,
    'the triggered run',
    WAIT,
  );
  const triggered = (await s.describe('every-second')).recent[0]!;
  assert.equal(triggered.by, 'trigger');
  assert.equal(await entities.workflows.handleOf('obsreport', triggered.id!).result(), 'report eu');

  await page.click('[data-testid=schedule-unpause]');
  await page.waitForFunction(
    () => document.querySelector('[data-testid=schedule-status]')?.textContent === 'active',
    undefined,
    { timeout: 20_000 },
  );

  // Delete asks first, then goes back to the list.
  await page.click('[data-testid=schedule-delete]');
  await page.waitForSelector('[data-testid=schedule-delete-confirm]');
  await shot(page, 'schedules-delete-confirm');
  await page.click('[data-testid=schedule-delete-yes]');
  await page.waitForFunction(
    () =>
      document.querySelector('tr[data-schedule="every-second"]') === null &&
      document.querySelector('tr[data-schedule="nightly"]') !== null,
    undefined,
    { timeout: 20_000 },
  );
  await assert.rejects(s.describe('every-second'), { code: 'ERR_SCHEDULE_NOT_FOUND' });
  assert.deepEqual(await banners(page), []);
});

test('do/schedules: refusals keep their codes; workflowActions: false refuses the actions (403), reads go on', async (t) => {
  const observed = await startObserved({ workflowActions: false });
  const entities = await startEntities(observed.node, { store: new MemoryStore(), kinds: [Report, WorkflowSchedules] });
  t.after(async () => {
    await entities.stop();
    await observed.node.stop();
  });
  await entities.workflows.schedules.create(Report, 'nightly', {
    spec: { cron: '0 2 * * *' },
    input: { region: 'fr' },
  });
  const stream = await StreamClient.open(observed.url);
  t.after(() => stream.close());
  await stream.waitFor('connected');
  const headers = { 'x-observer-session': stream.session };
  const listed = await post(observed.url, '/api/do/schedules', { op: 'list' }, headers);
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  assert.deepEqual(
    (listed.body.data as { id: string }[]).map((x) => x.id),
    ['nightly'],
  );
  const missing = await post(observed.url, '/api/do/schedules', { op: 'describe', id: 'nope' }, headers);
  assert.equal(missing.status, 404, JSON.stringify(missing.body));
  assert.match(JSON.stringify(missing.body), /ERR_SCHEDULE_NOT_FOUND/);
  for (const body of [
    { op: 'pause', id: 'nightly', note: 'x' },
    { op: 'trigger', id: 'nightly' },
    { op: 'delete', id: 'nightly' },
  ]) {
    const r = await post(observed.url, '/api/do/schedules', body, headers);
    assert.equal(r.status, 403, JSON.stringify(r.body));
  }
  assert.equal((await entities.workflows.schedules.describe('nightly')).paused, false);
});

declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
};
