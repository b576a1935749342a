// The "running now" card of an instance's page, in Chromium, for a step and for a compensation
// that each failed their first attempt and hang in their second after a heartbeat: the card shows
// the attempt (2), since when it runs, its last heartbeat with its details, and the error the
// previous attempt failed with — what tells a stuck instance from a waiting one. A step waiting
// for its queue's slot shows as waiting on its instance's page and in the list (place, member, why).
// Screenshots go to packages/observer/test-output/ (workflow-running-retried-*.png).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { MemoryStore, defineWorkflow, startEntities } from '@ergo-ts/entities';
import { schema } from 'ergo-ts';
import type { Page } from 'playwright-core';

import { chromiumPath, launchChromium, startObserved, VIEWPORT, WAIT } from './helpers.js';
import { banners, shot } from './pages_support.js';

function gate(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
/** The second attempts of the step, then of its compensation, hang until the test lets them go. */
const held = { ship: gate(), undo: gate() };
const RETRY = { maxAttempts: 3, initialMs: 1, maxMs: 1 };

const Courier = defineWorkflow(
  'courier',
  async (ctx) => {
    try {
      await ctx.step(
        'ship',
        async (info) => {
          if (info.attempt === 1) throw new Error('carrier busy');
          info.heartbeat({ leg: 2 });
          await held.ship.promise;
          return 'shipped';
        },
        {
          retry: RETRY,
          heartbeatTimeoutMs: 3_600_000,
          compensate: {
            run: async (_r, info) => {
              if (info.attempt === 1) throw new Error('warehouse offline');
              info.heartbeat({ restocked: 1 });
              await held.undo.promise;
            },
            retry: RETRY,
            heartbeatTimeoutMs: 3_600_000,
          },
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

/** The cells of the running rows, by column header. */
async function runningRows(page: Page): Promise<Record<string, string>[]> {
  return page.$eval('[data-testid=workflow-running]', (card) => {
    const heads = [...card.querySelectorAll('th')].map((h) => (h.textContent ?? '').trim());
    return [...card.querySelectorAll('tr[data-seq]')].map((r) =>
      Object.fromEntries([...r.querySelectorAll('td')].map((c, i) => [heads[i], (c.textContent ?? '').trim()])),
    );
  });
}

const CLOCK = /^\d\d:\d\d:\d\d\.\d{3}$/;

test('the running card shows attempt, since, last heartbeat and the last error for a retried step and a retried compensation', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const observed = await startObserved();
  const entities = await startEntities(observed.node, { store: new MemoryStore(), kinds: [Courier] });
  const browser = await launchChromium(executablePath);
  t.after(async () => {
    await browser.close();
    await entities.stop();
    await observed.node.stop();
  });
  const h = await entities.workflows.start(Courier, 'c1', undefined);
  await eventually(async () => (await h.describe()).running?.[0]?.heartbeatAt !== undefined, 'ship beats', WAIT);

  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(`${observed.url}#/workflow/courier/c1`);
  await page.waitForSelector('[data-testid=workflow-running] tr[data-seq]', { timeout: 20_000 });
  const [step] = await runningRows(page);
  assert.equal(step!.name, 'ship');
  assert.equal(step!.attempt, '2');
  assert.match(step!.started!, CLOCK);
  assert.match(step!['last heartbeat']!, /^\d\d:\d\d:\d\d\.\d{3} \{"leg":2\}, due /);
  assert.match(step!['previous attempt']!, /^carrier busy \(failed \d\d:\d\d:\d\d\.\d{3}\)$/);
  await shot(page, 'workflow-running-retried-step');

  held.ship.resolve();
  await page.waitForFunction(
    () =>
      (
        globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } } }
      ).document.querySelectorAll('[data-testid=workflow-running] tr[data-seq]').length === 0,
    undefined,
    { timeout: 20_000 },
  );
  assert.equal(await h.cancel('address unknown'), 'cancelled');
  await eventually(
    async () => (await h.describe()).running?.some((r) => r.n === 'compensate:ship' && r.heartbeatAt !== undefined),
    'the compensation beats',
    WAIT,
  );
  await page.waitForSelector('[data-testid=workflow-running] tr.wf-compensating', { timeout: 20_000 });
  await eventually(async () => (await runningRows(page))[0]?.attempt === '2', 'its second attempt shown', WAIT);
  const [undo] = await runningRows(page);
  assert.equal(undo!.name, 'compensate:ship');
  assert.match(undo!.started!, CLOCK);
  assert.match(undo!['last heartbeat']!, /^\d\d:\d\d:\d\d\.\d{3} \{"restocked":1\}, due /);
  assert.match(undo!['previous attempt']!, /^warehouse offline \(failed \d\d:\d\d:\d\d\.\d{3}\)$/);
  assert.deepEqual(await banners(page), []);
  await shot(page, 'workflow-running-retried-compensation');

  held.undo.resolve();
  await assert.rejects(h.result(), { code: 'ERR_WORKFLOW_CANCELLED' });
});

/** The background style.css gives a waiting attempt's row and a waiting instance's status. */
const QUEUED_BACKGROUND = 'rgb(238, 246, 248)';

/** The computed background colour of the first element `selector` matches. */
function background(page: Page, selector: string): Promise<string> {
  return page.$eval(
    selector,
    (e) =>
      (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(e)
        .backgroundColor,
  );
}

/** Holds the gpu queue's one slot with a step of a day's timeout, until the test lets it go. */
const held2 = gate();
const Render = defineWorkflow('render', async (ctx) =>
  ctx.step(
    'render',
    async () => {
      await held2.promise;
      return 'rendered';
    },
    { queue: 'gpu', timeoutMs: 24 * 3_600_000 },
  ),
);

test('an attempt waiting for a queue slot shows as waiting (its place, why); a deadline a day away shows its date', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const observed = await startObserved();
  const entities = await startEntities(observed.node, {
    store: new MemoryStore(),
    kinds: [Render],
    workflowQueues: { queues: { gpu: { perMember: 1 } } },
  });
  const browser = await launchChromium(executablePath);
  t.after(async () => {
    held2.resolve();
    await browser.close();
    await entities.stop();
    await observed.node.stop();
  });
  const first = await entities.workflows.start(Render, 'r1', undefined);
  await eventually(async () => (await first.describe()).running?.[0]?.timeoutAt !== undefined, 'r1 runs', WAIT);
  const second = await entities.workflows.start(Render, 'r2', undefined);
  await eventually(async () => (await second.describe()).running?.[0]?.queued !== undefined, 'r2 waits', WAIT);

  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(`${observed.url}#/workflow/render/r1`);
  await page.waitForSelector('[data-testid=workflow-running] tr[data-seq]', { timeout: 20_000 });
  const [running] = await runningRows(page);
  // Tomorrow at about this time: the date is shown, not only the time.
  assert.match(running!['times out']!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);

  await page.goto(`${observed.url}#/workflow/render/r2`);
  await page.waitForSelector('[data-testid=workflow-running] tr.wf-queued', { timeout: 20_000 });
  const [waiting] = await runningRows(page);
  assert.match(waiting!['running for']!, /^waiting .*: #1 in queue gpu, the per-member limit \(1\) is reached$/);
  assert.equal(waiting!['times out'], 'not started');
  // Marked as waiting by its own style (style.css), not only by its class.
  assert.equal(await background(page, '[data-testid=workflow-running] tr.wf-queued'), QUEUED_BACKGROUND);
  assert.match(
    await page.$eval('[data-testid=workflow-running] h3', (h) => (h.textContent ?? '').replace(/\s+/g, ' ').trim()),
    /^running now \(0, and 1 waiting for a queue slot\)$/,
  );
  assert.deepEqual(await banners(page), []);
  await shot(page, 'workflow-running-queued');

  // The list shows r2 waiting too (its step, place, member and why), r1 running.
  await page.goto(`${observed.url}#/workflows`);
  await page.waitForSelector('tr[data-workflow="r2"] td.wf-queued', { timeout: 20_000 });
  assert.equal(
    await page.$eval('tr[data-workflow="r2"] [data-testid=workflow-row-status]', (c) => (c.textContent ?? '').trim()),
    `waiting: render #1 in queue gpu on ${observed.node.name}, the per-member limit (1) is reached`,
  );
  assert.equal(
    await page.$eval('tr[data-workflow="r1"] [data-testid=workflow-row-status]', (c) => (c.textContent ?? '').trim()),
    'running',
  );
  assert.equal(await background(page, 'tr[data-workflow="r2"] td.wf-queued'), QUEUED_BACKGROUND);
  assert.notEqual(
    await background(page, 'tr[data-workflow="r1"] [data-testid=workflow-row-status]'),
    QUEUED_BACKGROUND,
  );
  await shot(page, 'workflow-list-queued');

  held2.resolve();
  assert.equal(await first.result(), 'rendered');
  assert.equal(await second.result(), 'rendered');
});
