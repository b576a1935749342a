// The Workflows page's charts with every kind selected, in Chromium: a node hosting three workflow
// kinds (two of them with instances started) charts every kind's counters summed — the totals line
// says the sum over the kinds, the title names the kinds summed — not only the first kind's; a
// kind picked in the search bar charts that kind alone, and every kind again sums them.
// Screenshot: test-output/workflow-charts-every-kind.png.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { MemoryStore, defineWorkflow, startEntities } from '@ergo-ts/entities';
import type { Page } from 'playwright-core';

import { chromiumPath, launchChromium, startObserved, VIEWPORT, WAIT } from './helpers.js';
import { banners, shot } from './pages_support.js';

const Invoice = defineWorkflow('chartinvoice', async (ctx, n: number) => ctx.step('bill', () => n));
const Refund = defineWorkflow('chartrefund', async (ctx, n: number) => {
  await ctx.step('refund', () => n);
  if (n < 0) throw new Error('nothing to refund');
  return n;
});
/** Hosted, never started: it adds zeros. */
const Audit = defineWorkflow('chartaudit', async (ctx, n: number) => ctx.step('audit', () => n));

const textOf = (page: Page, sel: string): Promise<string> =>
  page.$eval(sel, (e) => (e.textContent ?? '').replace(/\s+/g, ' ').trim()).catch(() => '');

test('with every kind selected the charts sum every kind; a kind picked charts it alone', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const observed = await startObserved();
  const entities = await startEntities(observed.node, {
    store: new MemoryStore(),
    kinds: [Audit, Invoice, Refund],
  });
  const browser = await launchChromium(executablePath);
  t.after(async () => {
    await browser.close();
    await entities.stop();
    await observed.node.stop();
  });
  const wf = entities.workflows;
  for (let i = 0; i < 3; i++) assert.equal(await (await wf.start(Invoice, `i${i}`, i)).result(), i);
  assert.equal(await (await wf.start(Refund, 'r0', 5)).result(), 5);
  await assert.rejects((await wf.start(Refund, 'r1', -1)).result(), { code: 'ERR_WORKFLOW_FAILED' });
  const figures = entities.stats().workflows;
  assert.equal(figures.chartinvoice?.started, 3);
  assert.equal(figures.chartrefund?.started, 2);

  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(observed.url);
  await page.click('[data-nav=workflows]', { timeout: 20_000 });
  await page.waitForSelector('[data-testid=workflow-charts]', { timeout: 20_000 });
  assert.equal(await page.$eval('[data-testid=workflow-kind]', (e) => (e as unknown as { value: string }).value), '');
  await eventually(
    async () =>
      (await textOf(page, '[data-testid=workflow-chart-totals]')).includes(
        '5 started, 4 completed, 1 failed, 0 cancelled',
      ),
    "every kind's totals summed",
    WAIT,
  );
  assert.equal(
    await textOf(page, '[data-testid=workflow-charts-title]'),
    'every kind in the cluster (3: chartaudit, chartinvoice, chartrefund)',
  );
  assert.equal(
    await textOf(page, '[data-testid=workflow-chart-nodes]'),
    `summed over 1 node(s): ${observed.node.name}`,
  );
  await shot(page, 'workflow-charts-every-kind');

  // One kind picked: its own figures.
  await page.selectOption('[data-testid=workflow-kind]', 'chartrefund');
  await eventually(
    async () =>
      (await textOf(page, '[data-testid=workflow-chart-totals]')).includes(
        '2 started, 1 completed, 1 failed, 0 cancelled',
      ),
    "chartrefund's own totals",
    WAIT,
  );
  assert.equal(await textOf(page, '[data-testid=workflow-charts-title]'), 'chartrefund in the cluster');

  // Every kind again: the sum.
  await page.selectOption('[data-testid=workflow-kind]', '');
  await eventually(
    async () => (await textOf(page, '[data-testid=workflow-chart-totals]')).includes('5 started, 4 completed'),
    'summed again',
    WAIT,
  );
  assert.deepEqual(await banners(page), []);
});
