// The Batches page, in Chromium, on a node running an entities runtime (SQLite store) with a
// workflow kind and WorkflowBatches: the operator picks the instances (kind, running, a search
// attribute) and a signal, asks the dry-run count, and can start only after typing that count (a
// wrong number keeps the button off; a changed query clears the count); the batch's page then
// shows its progress until it completed: each matching instance signalled once, the others not.
// An Observer with `workflowActions: false` still counts (a dry run reads) and refuses the rest.
// Screenshots: packages/observer/test-output/workflow-batch-*.png.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { defineWorkflow, MemoryStore, SqliteStore, startEntities, WorkflowBatches } from '@ergo-ts/entities';
import { schema } from 'ergo-ts';
import type { Browser, Page } from 'playwright-core';

import { chromiumPath, launchChromium, post, startObserved, StreamClient, VIEWPORT, WAIT } from './helpers.js';
import { banners, shot } from './pages_support.js';

declare const location: { hash: string };

/** Sets its group, then answers the first `poke`. */
const Poked = defineWorkflow(
  'poked',
  { signals: { poke: schema.string() }, attributes: { group: 'string' } },
  async (ctx, input: { group: string }) => {
    await ctx.setAttributes({ group: input.group });
    return ctx.signal('poke');
  },
);

const textOf = (page: Page, sel: string): Promise<string> =>
  page.$eval(sel, (e) => (e.textContent ?? '').trim()).catch(() => '');

test('a batch from the page: dry-run count, typed confirmation, progress until completed', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const dir = mkdtempSync(join(tmpdir(), 'observer-batch-'));
  const observed = await startObserved();
  const store = SqliteStore.open(join(dir, 'wf.db'));
  const entities = await startEntities(observed.node, { store, kinds: [Poked, WorkflowBatches] });
  let browser: Browser | undefined;
  t.after(async () => {
    await browser?.close();
    await entities.stop();
    await observed.node.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 6; i++) await entities.workflows.start(Poked, `o${i}`, { group: i < 4 ? 'eu' : 'us' });
  await eventually(
    async () => (await entities.workflows.count({ kind: Poked, attributes: { group: 'eu' } })).total === 4,
    'the groups are indexed',
    WAIT,
  );
  browser = await launchChromium(executablePath);
  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(observed.url);
  await page.waitForSelector('[data-nav=batches]', { timeout: 20_000 });
  await page.click('[data-nav=batches]');
  await page.waitForSelector('[data-testid=batch-kind] option:has-text("poked")', {
    state: 'attached',
    timeout: 20_000,
  });
  await page.selectOption('[data-testid=batch-kind]', 'poked');
  await page.fill('[data-testid=batch-attribute]', 'group=eu');
  await page.selectOption('[data-testid=batch-action]', 'signal');
  await page.fill('[data-testid=batch-signal]', 'poke');
  await page.fill('[data-testid=batch-payload]', '"ship it"');
  await page.click('[data-testid=batch-count]');
  await page.waitForSelector('[data-testid=batch-matched]', { timeout: 20_000 });
  assert.equal(await textOf(page, '[data-testid=batch-matched]'), '4');
  assert.equal(await page.isDisabled('[data-testid=batch-start]'), true, 'not before the count is typed');
  await page.fill('[data-testid=batch-confirm-input]', '3');
  assert.equal(await page.isDisabled('[data-testid=batch-start]'), true, 'not on another number');
  await page.fill('[data-testid=batch-confirm-input]', '4');
  assert.equal(await page.isDisabled('[data-testid=batch-start]'), false);
  await shot(page, 'workflow-batch-confirm');
  // A changed query clears the count: it must be asked (and typed) again.
  await page.fill('[data-testid=batch-attribute]', 'group=us');
  await page.waitForSelector('[data-testid=batch-confirm]', { state: 'detached', timeout: 20_000 });
  await page.fill('[data-testid=batch-attribute]', 'group=eu');
  await page.click('[data-testid=batch-count]');
  await page.waitForSelector('[data-testid=batch-confirm-input]', { timeout: 20_000 });
  await page.fill('[data-testid=batch-confirm-input]', '4');
  await page.click('[data-testid=batch-start]');
  await page.waitForSelector('[data-testid=batch-progress]', { timeout: 20_000 });
  assert.match(await page.evaluate(() => location.hash), /^#\/batches\/[0-9a-f-]{36}$/);
  await eventually(
    async () => (await textOf(page, '[data-testid=batch-status-now]')) === 'completed',
    'the batch completed',
    WAIT,
  );
  assert.equal(await textOf(page, '[data-testid=batch-progress-done]'), '4');
  assert.equal(await textOf(page, '[data-testid=batch-progress-failed]'), '0');
  await shot(page, 'workflow-batch-progress');
  for (let i = 0; i < 4; i++) assert.equal(await entities.workflows.handle(Poked, `o${i}`).result(), 'ship it');
  for (let i = 4; i < 6; i++)
    assert.equal((await entities.workflows.handle(Poked, `o${i}`).describe()).status, 'running', `o${i} untouched`);
  // The recent batches list it.
  await page.click('[data-nav=batches]');
  await page.waitForSelector('[data-testid=batch-recent] tr[data-batch]', { timeout: 20_000 });
  assert.equal(await page.$$eval('[data-testid=batch-recent] td.muted', (c) => c.length), 0, 'no "no batch yet" row');
  await shot(page, 'workflow-batch-recent');
  assert.deepEqual(await banners(page), []);
});

test('workflowActions: false: a dry run still counts; a batch start, its cancel and a terminate are refused (403)', async (t) => {
  const observed = await startObserved({ workflowActions: false });
  const entities = await startEntities(observed.node, { store: new MemoryStore(), kinds: [Poked, WorkflowBatches] });
  t.after(async () => {
    await entities.stop();
    await observed.node.stop();
  });
  await entities.workflows.start(Poked, 'r1', { group: 'eu' });
  const stream = await StreamClient.open(observed.url);
  t.after(() => stream.close());
  await stream.waitFor('connected');
  const headers = { 'x-observer-session': stream.session };
  const action = { type: 'cancel' };
  const dry = await post(
    observed.url,
    '/api/do/workflows',
    { op: 'batchStart', dryRun: true, workflow: 'poked', action },
    headers,
  );
  assert.equal(dry.status, 200, JSON.stringify(dry.body));
  assert.deepEqual(dry.body.data, { dryRun: true, matched: 1 });
  for (const body of [
    { op: 'batchStart', workflow: 'poked', action },
    { op: 'batchCancel', batchId: 'b' },
    { op: 'terminate', workflow: 'poked', id: 'r1' },
  ]) {
    const r = await post(observed.url, '/api/do/workflows', body, headers);
    assert.equal(r.status, 403, body.op);
    assert.equal((r.body as { code?: string }).code, 'workflow_actions_disabled');
  }
  assert.equal((await entities.workflows.handle(Poked, 'r1').describe()).status, 'running');
  assert.equal((await entities.workflows.list({ kind: 'workflow-batch' })).items.length, 0);
});

test('the batch start route carries the confirmed count: the node refuses a start without it, with a stale one, or with a dryRun that is not a boolean', async (t) => {
  const observed = await startObserved();
  const entities = await startEntities(observed.node, { store: new MemoryStore(), kinds: [Poked, WorkflowBatches] });
  t.after(async () => {
    await entities.stop();
    await observed.node.stop();
  });
  for (let i = 0; i < 4; i++) await entities.workflows.start(Poked, `c${i}`, { group: 'eu' });
  const stream = await StreamClient.open(observed.url);
  t.after(() => stream.close());
  await stream.waitFor('connected');
  const headers = { 'x-observer-session': stream.session };
  const query = { workflow: 'poked', status: 'running', attributes: { group: 'eu' } };
  const action = { type: 'cancel' };
  const start = (body: Record<string, unknown>) =>
    post(observed.url, '/api/do/workflows', { op: 'batchStart', ...query, action, ...body }, headers);
  const dry = await start({ dryRun: true });
  assert.deepEqual(dry.body.data, { dryRun: true, matched: 4 });
  // Counted 4; two more match before the click (the replay): the confirmed 4 starts nothing.
  for (let i = 4; i < 6; i++) await entities.workflows.start(Poked, `c${i}`, { group: 'eu' });
  const stale = await start({ confirm: 4 });
  assert.equal(stale.status, 409, JSON.stringify(stale.body));
  assert.equal((stale.body as { code?: string }).code, 'ERR_WORKFLOW_BATCH_COUNT_CHANGED');
  // Without a count, or a dry run that is not a boolean: refused (400), never a batch.
  for (const body of [{}, { dryRun: 'true' }, { confirm: '6' }]) {
    const r = await start(body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal((r.body as { code?: string }).code, 'ERR_WORKFLOW_INCORRECT', JSON.stringify(r.body));
  }
  assert.equal((await entities.workflows.list({ kind: 'workflow-batch' })).items.length, 0);
  for (let i = 0; i < 6; i++)
    assert.equal((await entities.workflows.handle(Poked, `c${i}`).describe()).status, 'running', `c${i}`);
  // The count it matches now starts it.
  const ok = await start({ confirm: 6 });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  const d = await entities.workflows.batch.wait(String((ok.body.data as { batchId: string }).batchId));
  assert.deepEqual([d.expected, d.done], [6, 6]);
});
