// The update action of a workflow instance's page, in Chromium, on a node running an entities
// runtime (SQLite store) with a workflow whose body takes updates and answers them: an update sent
// from the page shows the body's answer and its entries in the step history, the instance's
// handle and the store agree; a refused input, a failure the body answered and input that is not
// JSON show their reasons, and nothing is journaled for the refused one; an update the body does
// not answer within the node's wait shows ERR_WORKFLOW_TIMEOUT and "ask again", which once the
// body runs gets that same update's answer (taken once). An Observer with `workflowActions: false`
// refuses it (403 workflow_actions_disabled). Screenshots: packages/observer/test-output/workflow-update-*.png.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import {
  MemoryStore,
  SqliteStore,
  defineUpdate,
  defineWorkflow,
  startEntities,
  type EntityStore,
  type WorkflowJournalEntry,
} from '@ergo-ts/entities';
import { schema } from 'ergo-ts';
import type { Browser, Page } from 'playwright-core';

import { chromiumPath, launchChromium, post, startObserved, StreamClient, VIEWPORT, WAIT } from './helpers.js';
import { banners, shot } from './pages_support.js';

declare const location: { hash: string };

/** Adds what `add` updates bring (refusing 0, failing past 10) until `close`; with `gated`, waits for `open` first. */
const Tally = defineWorkflow(
  'tally',
  {
    signals: { open: schema.unknown() },
    updates: {
      add: defineUpdate({
        input: schema.object({ qty: schema.number() }),
        output: schema.number(),
        validate: (i) => {
          if (i.qty === 0) throw new Error('qty 0 adds nothing');
        },
      }),
      close: { input: schema.unknown(), output: schema.string() },
    },
  },
  async (ctx, input: { gated: boolean }) => {
    if (input.gated) await ctx.signal('open');
    let total = 0;
    for (;;) {
      const u = await ctx.update(['add', 'close']);
      if (u.name === 'close') {
        await u.reply(`closed at ${total}`);
        return total;
      }
      const next = await ctx.step('add', () => total + u.input.qty);
      if (next > 10) await u.fail(Object.assign(new Error('over 10'), { code: 'ERR_OVER' }));
      else await u.reply((total = next));
    }
  },
);

const textOf = (page: Page, sel: string): Promise<string> =>
  page.$eval(sel, (e) => (e.textContent ?? '').trim()).catch(() => '');

/** Fills the form, sends it and waits for its answer or refusal; returns that text. */
async function update(page: Page, name: string, input: string): Promise<string> {
  await page.fill('[data-testid=workflow-update-name]', name);
  await page.fill('[data-testid=workflow-update-input]', input);
  return send(page);
}

async function send(page: Page): Promise<string> {
  const before = await textOf(page, '[data-testid=workflow-update] p');
  await page.click('[data-testid=workflow-update-send]');
  let now = '';
  await eventually(
    async () => {
      now = await textOf(page, '[data-testid=workflow-update] p');
      return now !== '' && now !== before;
    },
    'an answer or a refusal',
    WAIT,
  );
  return now;
}

const historyOps = (page: Page): Promise<string[]> =>
  page.$$eval('[data-testid=workflow-history] tr[data-seq]', (rs) =>
    rs.map((r) =>
      [...r.querySelectorAll('td')]
        .slice(1, 3)
        .map((c) => (c.textContent ?? '').trim())
        .join(' '),
    ),
  );

test('the update action: the body answers through the page; refusals show their codes; a timed-out update is asked again by its id', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const dir = mkdtempSync(join(tmpdir(), 'observer-wfupdate-'));
  const observed = await startObserved();
  const store: EntityStore = SqliteStore.open(join(dir, 'wf.db'));
  const entities = await startEntities(observed.node, { store, kinds: [Tally] });
  let browser: Browser | undefined;
  t.after(async () => {
    await browser?.close();
    await entities.stop();
    await observed.node.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const h = await entities.workflows.start(Tally, 'cart-1', { gated: false });
  browser = await launchChromium(executablePath);
  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(observed.url);
  await page.waitForSelector('[data-nav=workflows]', { timeout: 20_000 });
  await page.evaluate(() => (location.hash = '#/workflow/tally/cart-1'));
  await page.waitForSelector('[data-testid=workflow-update-name]', { timeout: 20_000 });

  assert.match(await update(page, 'add', '{"qty": 2}'), /^add \(.+\) answered 2$/);
  assert.match(await update(page, 'add', '{"qty": 3}'), /^add \(.+\) answered 5$/);
  await eventually(async () => (await historyOps(page)).length === 6, 'the history shows both', WAIT);
  assert.deepEqual(await historyOps(page), [
    'update add | close',
    'step add',
    'reply add',
    'update add | close',
    'step add',
    'reply add',
  ]);
  await shot(page, 'workflow-update-answered');

  const journal = async (): Promise<readonly WorkflowJournalEntry[]> => (await h.describe()).history;
  const before = (await journal()).length;
  assert.match(
    await update(page, 'add', '{"qty": 0}'),
    /^add refused \(ERR_WORKFLOW_UPDATE_REJECTED\): .*qty 0 adds nothing$/,
  );
  assert.match(
    await update(page, 'add', '{"qty": "x"}'),
    /^add refused \(ERR_WORKFLOW_UPDATE_REJECTED\): .*input refused/,
  );
  assert.match(await update(page, 'remove', '{}'), /^remove refused \(ERR_WORKFLOW_INCORRECT\): .*no update "remove"/);
  assert.match(await update(page, 'add', '{qty: 1'), /^the input is not JSON/);
  assert.equal((await journal()).length, before, 'nothing journaled for the refused ones');
  assert.match(
    await update(page, 'add', '{"qty": 9}'),
    /^add failed \(ERR_WORKFLOW_UPDATE_FAILED\): .*ERR_OVER: over 10$/,
  );
  await shot(page, 'workflow-update-refused');
  assert.match(await update(page, 'close', ''), /^close \(.+\) answered "closed at 5"$/);
  assert.equal(await h.result(), 5);
  await page.waitForFunction(
    () =>
      (
        globalThis as unknown as { document: { querySelector(s: string): { textContent: string } | null } }
      ).document.querySelector('[data-testid=workflow-status-now]')?.textContent === 'completed',
    undefined,
    { timeout: 20_000 },
  );
  assert.equal(await page.isDisabled('[data-testid=workflow-update-send]'), true, 'no update to an ended instance');

  // A body that does not take it in time: the node's wait ends, the page keeps the id.
  const gated = await entities.workflows.start(Tally, 'cart-2', { gated: true });
  await page.evaluate(() => (location.hash = '#/workflow/tally/cart-2'));
  await page.waitForSelector('[data-testid=workflow-update-name]:not([disabled])', { timeout: 20_000 });
  assert.match(
    await update(page, 'add', '{"qty": 4}'),
    /^add not answered yet \(ERR_WORKFLOW_TIMEOUT\): .*update add \((.+)\) not answered within \d+ ms; ask again with its updateId$/,
  );
  assert.equal(await textOf(page, '[data-testid=workflow-update-send]'), 'ask again');
  // The page lists it as not answered yet, not taken (the body waits for `open`).
  await page.waitForSelector('[data-testid=workflow-updates-pending] tr[data-update]', { timeout: 20_000 });
  assert.match(
    await textOf(page, '[data-testid=workflow-updates-pending] tr[data-update]'),
    /^add.*\{"qty":4\}.*not yet$/,
  );
  await shot(page, 'workflow-update-timeout');
  const kept = (await store.load({ kind: 'tally', key: 'cart-2' })).state as { updates: { id: string }[] };
  assert.equal(kept.updates.length, 1, 'accepted and kept');
  await gated.signal('open', null);
  assert.match(await send(page), new RegExp(`^add \\(${kept.updates[0]!.id}\\) answered 4$`));
  const taken = (await gated.describe()).history.filter((e) => e.t === 'update' && e.done === true);
  assert.equal(taken.length, 1, 'taken once');
  assert.equal(await textOf(page, '[data-testid=workflow-update-send]'), 'send update');
  await page.waitForSelector('[data-testid=workflow-updates-pending]', { state: 'detached', timeout: 20_000 });
  await shot(page, 'workflow-update-asked-again');
  assert.deepEqual(
    (await banners(page)).filter((b) => !/refused|not JSON/.test(b)),
    [],
  );
});

test('workflowActions: false refuses an update (403 workflow_actions_disabled); nothing is kept', async (t) => {
  const observed = await startObserved({ workflowActions: false });
  const store = new MemoryStore();
  const entities = await startEntities(observed.node, { store, kinds: [Tally] });
  t.after(async () => {
    await entities.stop();
    await observed.node.stop();
  });
  await entities.workflows.start(Tally, 'x', { gated: false });
  const stream = await StreamClient.open(observed.url);
  t.after(() => stream.close());
  await stream.waitFor('connected');
  const r = await post(
    observed.url,
    '/api/do/workflows',
    { op: 'update', workflow: 'tally', id: 'x', name: 'add', input: { qty: 1 } },
    { 'x-observer-session': stream.session },
  );
  assert.equal(r.status, 403);
  assert.equal((r.body as { code?: string }).code, 'workflow_actions_disabled');
  assert.equal(((await store.load({ kind: 'tally', key: 'x' })).state as { updates?: unknown }).updates, undefined);
});
