// The Workflows page's charts, its reset action and the Dead letters page, in Chromium, on a node
// running an entities runtime with real workflows and a real poison message:
// - the charts sample the kind's counters each second (`do/workflows` op stats): instances started
//   and completed while the page is open show as a rate above zero, a sleeping instance as open, a
//   step that fails and is retried as retries and a failure, an outbox whose receiver is down as
//   one pending message of a growing age (then none once the receiver is back); the totals line
//   says the counts the runtime's own stats() says;
// - reset asks first ("keep it" changes nothing), takes the operation to run again from and a
//   reason, and the instance runs again (its `resets` keep the reason; the page lists it);
// - a durable message that fails `maxAttempts` times is listed on the Dead letters page with its
//   error; retried once the fix is in, it is handled; another is dropped after a confirmation and
//   its id counts as processed;
// - an Observer with `workflowActions: false` refuses reset, retry and drop (403); the actions
//   are logged on the node, the reads the pages poll each second are not.
// Screenshots go to packages/observer/test-output/ (workflow-ops-*.png).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import {
  Entity,
  MemoryStore,
  defineEntity,
  defineWorkflow,
  entity,
  startEntities,
  type OutboxInfo,
} from '@ergo-ts/entities';
import { defineProtocol, schema } from 'ergo-ts';
import type { Page } from 'playwright-core';

import { chromiumPath, launchChromium, post, startObserved, StreamClient, VIEWPORT, WAIT } from './helpers.js';
import { banners, shot } from './pages_support.js';

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const location: { hash: string };
declare const document: {
  querySelector(selector: string): { textContent: string | null; getAttribute(n: string): string | null } | null;
};

/** Whether the outbox's receiver is down (its deliveries fail and are retried). */
const receiver = { down: false, got: [] as string[] };
/** Whether the `charge` step fails for good after its retry. */
const charge = { fails: true };

const Flow = defineWorkflow(
  'chartflow',
  async (ctx, input: { mode: 'complete' | 'sleep' | 'retry' | 'outbox' }) => {
    const first = await ctx.step('reserve', () => 1);
    if (input.mode === 'sleep') await ctx.sleep(3_600_000);
    if (input.mode === 'retry')
      await ctx.step(
        'charge',
        () => {
          if (charge.fails) throw new Error('card declined');
          return 'charged';
        },
        { retry: { maxAttempts: 2, initialMs: 1, maxMs: 1 } },
      );
    if (input.mode === 'outbox') await ctx.outbox('mail', { to: 'ops' });
    return { first };
  },
  {
    outboxes: {
      mail: (m: { to: string }, _info: OutboxInfo) => {
        if (receiver.down) throw new Error('mail server down');
        receiver.got.push(m.to);
      },
    },
  },
);

const PickyProtocol = defineProtocol('obspicky', {
  messages: { add: schema.object({ add: schema.integer() }) },
  calls: { get: { request: schema.literal('get'), reply: schema.number() } },
});
/** Throws on `{ add: 13 }` while `poison.on`. */
const poison = { on: true };
class Picky extends Entity<typeof PickyProtocol, { n: number }> {
  override handleMessage(m: { add: number }): void {
    if (m.add === 13 && poison.on) throw new Error('13 is unlucky');
    this.state = { n: this.state.n + m.add };
  }
  override handleCall(): number {
    return this.state.n;
  }
}
const picky = defineEntity('obspicky', {
  protocol: PickyProtocol,
  entity: Picky,
  initialState: () => ({ n: 0 }),
  passivateAfterMs: 0,
});

/** Each series' largest value kept by the chart titled `title` (its `data-max`). */
async function chartMax(page: Page, title: string): Promise<number[]> {
  const max: string = await page
    .$eval(`.chart[data-title="${title}"]`, (e) => e.getAttribute('data-max') ?? '')
    .catch(() => '');
  return max === '' ? [] : max.split(' ').map((v) => (v === '' ? NaN : Number(v)));
}

async function chartShows(page: Page, title: string, ok: (max: number[]) => boolean, what: string): Promise<void> {
  await eventually(async () => ok(await chartMax(page, title)), what, WAIT).catch(async (err: unknown) => {
    await shot(page, 'workflow-ops-failure');
    throw new Error(`${String(err)}; ${title} shows ${JSON.stringify(await chartMax(page, title))}`);
  });
}

const textOf = (page: Page, sel: string): Promise<string> =>
  page.$eval(sel, (e) => (e.textContent ?? '').trim()).catch(() => '');

test('the Workflows page charts the kind; reset asks first and takes a reason; the Dead letters page retries and drops', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const observed = await startObserved();
  const store = new MemoryStore();
  const entities = await startEntities(observed.node, {
    store,
    kinds: [Flow, picky],
    inbox: { pollMs: 20, retryCapMs: 40, maxAttempts: 2 },
  });
  const browser = await launchChromium(executablePath);
  t.after(async () => {
    await browser.close();
    await entities.stop();
    await observed.node.stop();
  });
  const wf = entities.workflows;
  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(observed.url);
  await page.click('[data-nav=workflows]', { timeout: 20_000 });
  await page.waitForSelector('[data-testid=workflow-charts]', { timeout: 20_000 });
  // Two samples taken: rates from here on are what happens while the page is open.
  await page.waitForFunction(
    () => Number(document.querySelector('.chart[data-title="Instances per second"]')?.getAttribute('data-points')) >= 1,
    undefined,
    { timeout: 20_000 },
  );
  const started = await chartMax(page, 'Instances per second');
  assert.deepEqual(started, [0, 0, 0, 0], 'nothing started yet');

  for (const id of ['c1', 'c2', 'c3']) await (await wf.start(Flow, id, { mode: 'complete' })).result();
  const sleeping = await wf.start(Flow, 's1', { mode: 'sleep' });
  await eventually(async () => (await sleeping.describe()).timers.length === 1, 's1 sleeps', WAIT);
  await assert.rejects((await wf.start(Flow, 'r1', { mode: 'retry' })).result(), { code: 'ERR_WORKFLOW_FAILED' });
  receiver.down = true;
  const mailing = await wf.start(Flow, 'o1', { mode: 'outbox' });

  await chartShows(
    page,
    'Instances per second',
    (m) => m[0]! > 0 && m[1]! > 0 && m[2]! > 0,
    'started, completed, failed',
  );
  await chartShows(page, 'Open instances', (m) => m[0]! >= 1, 's1 open');
  await chartShows(page, 'Step attempts per second', (m) => m[0]! > 0 && m[1]! > 0 && m[2]! > 0, 'a retry, a failure');
  await chartShows(page, 'Outbox pending', (m) => m[0] === 1, "o1's message pending");
  await chartShows(page, 'Oldest outbox message (s)', (m) => m[0]! > 0, 'its age');
  const stats = entities.stats().workflows.chartflow!;
  await eventually(
    async () =>
      (await textOf(page, '[data-testid=workflow-chart-totals]')).includes(
        `${stats.started} started, ${stats.completed} completed, ${stats.failed} failed`,
      ),
    'the totals line says what stats() says',
    WAIT,
  );
  await shot(page, 'workflow-ops-charts');
  receiver.down = false;
  assert.deepEqual(await mailing.result(), { first: 1 });
  assert.deepEqual(receiver.got, ['ops']);
  await eventually(async () => entities.stats().workflows.chartflow!.outboxPending === 0, 'the outbox delivered', WAIT);
  await page.waitForFunction(
    () => {
      const e = document.querySelector('.chart[data-title="Outbox pending"]');
      // The last sample drawn (data-max is over the window): the pending count went back to 0.
      return e?.getAttribute('data-last') === '0';
    },
    undefined,
    { timeout: 20_000 },
  );

  // Reset c1 through its page: asked first, then from operation 1 with a reason.
  const c1 = wf.handleOf('chartflow', 'c1');
  await page.evaluate(() => (location.hash = '#/workflow/chartflow/c1'));
  await page.waitForSelector('[data-testid=workflow-history] tr[data-seq="0"]', { timeout: 20_000 });
  await page.click('[data-testid=workflow-reset]');
  await page.waitForSelector('[data-testid=workflow-reset-confirm]');
  await page.click('[data-testid=workflow-reset-no]');
  await page.waitForSelector('[data-testid=workflow-reset]');
  assert.equal((await c1.describe()).resets, undefined, 'not reset without the yes');
  await page.click('[data-testid=workflow-reset]');
  await page.selectOption('[data-testid=workflow-reset-seq]', '0');
  await page.fill('[data-testid=workflow-reset-reason]', 'bad deploy');
  await shot(page, 'workflow-ops-reset-confirm');
  await page.click('[data-testid=workflow-reset-yes]');
  await page.waitForFunction(
    () => document.querySelector('[data-testid=workflow-outcome]')?.textContent === 'reset: reset',
    undefined,
    { timeout: 20_000 },
  );
  await eventually(async () => (await c1.describe()).status === 'completed', 'c1 ran again', WAIT);
  assert.deepEqual(
    (await c1.describe()).resets?.map((r) => [r.toSeq, r.reason]),
    [[0, 'bad deploy']],
  );
  await page.waitForSelector('[data-testid=workflow-reset-row]', { timeout: 20_000 });
  assert.match(await textOf(page, '[data-testid=workflow-reset-row]'), /to operation 0: bad deploy/);
  assert.deepEqual(await banners(page), []);

  // A poison message: set apart after two failed attempts; the Dead letters page lists it.
  assert.equal(await entities.sendDurable(entity(picky, 'k'), { add: 13 }, 'm1'), 'accepted');
  await page.click('[data-nav=deadletters]');
  await page.waitForSelector('tr[data-dead="m1"]', { timeout: 20_000 });
  assert.match(await textOf(page, 'tr[data-dead="m1"]'), /obspicky\s*k\s*m1\s*2\s*Error: 13 is unlucky.*\{"add":13\}/);
  await shot(page, 'workflow-ops-dead-letters');
  poison.on = false;
  await page.click('tr[data-dead="m1"] [data-testid=dead-retry]');
  await page.waitForFunction(
    () => document.querySelector('[data-testid=dead-outcome]')?.textContent === 'retry obspicky/k m1: done',
    undefined,
    { timeout: 20_000 },
  );
  await eventually(async () => (await entities.call(entity(picky, 'k'), 'get')) === 13, 'm1 handled', WAIT);
  await page.waitForSelector('tr[data-dead="m1"]', { state: 'detached', timeout: 20_000 });

  poison.on = true;
  assert.equal(await entities.sendDurable(entity(picky, 'k'), { add: 13 }, 'm2'), 'accepted');
  await page.waitForSelector('tr[data-dead="m2"]', { timeout: 20_000 });
  await page.click('tr[data-dead="m2"] [data-testid=dead-drop]');
  await page.waitForSelector('[data-testid=dead-drop-confirm]');
  await page.click('[data-testid=dead-drop-no]');
  assert.equal((await entities.deadLetters.list()).length, 1, 'not dropped without the yes');
  await page.click('tr[data-dead="m2"] [data-testid=dead-drop]');
  await page.click('[data-testid=dead-drop-yes]');
  await page.waitForSelector('tr[data-dead="m2"]', { state: 'detached', timeout: 20_000 });
  assert.equal(await store.processed({ kind: 'obspicky', key: 'k' }, 'm2'), true, 'dropped: counted as processed');
  assert.deepEqual(await entities.deadLetters.list(), []);
  await page.waitForFunction(
    () => document.querySelector('[data-testid=dead-count]')?.textContent === '0 dead letters',
    undefined,
    { timeout: 20_000 },
  );
  assert.deepEqual(await banners(page), []);
  poison.on = false;
});

test('workflowActions: false refuses reset and the dead letters retry and drop (403); stats and the list are read', async (t) => {
  const lines: string[] = [];
  const observed = await startObserved(
    { workflowActions: false },
    { log: { level: 'info', defaultLogger: { output: { write: (l: string) => lines.push(l) } } } },
  );
  const entities = await startEntities(observed.node, { store: new MemoryStore(), kinds: [Flow, picky] });
  t.after(async () => {
    await entities.stop();
    await observed.node.stop();
  });
  await (await entities.workflows.start(Flow, 'x', { mode: 'complete' })).result();
  const stream = await StreamClient.open(observed.url);
  t.after(() => stream.close());
  await stream.waitFor('connected');
  const headers = { 'x-observer-session': stream.session };
  const stats = await post(observed.url, '/api/do/workflows', { op: 'stats', workflow: 'chartflow' }, headers);
  assert.equal(stats.status, 200, JSON.stringify(stats.body));
  assert.equal((stats.body.data as Record<string, { started: number }>).chartflow!.started, 1);
  const listed = await post(observed.url, '/api/do/deadletters', { op: 'list' }, headers);
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  assert.deepEqual(listed.body.data, []);
  for (const [action, body] of [
    ['workflows', { op: 'reset', workflow: 'chartflow', id: 'x', toSeq: 0 }],
    ['deadletters', { op: 'retry', kind: 'obspicky', key: 'k', id: 'm' }],
    ['deadletters', { op: 'drop', kind: 'obspicky', key: 'k', id: 'm' }],
  ] as const) {
    const r = await post(observed.url, `/api/do/${action}`, body, headers);
    assert.equal(r.status, 403, `${action} ${body.op}`);
    assert.equal((r.body as { code?: string }).code, 'workflow_actions_disabled');
  }
  assert.equal((await entities.workflows.handleOf('chartflow', 'x').describe()).resets, undefined);
  // The actions asked are on the node's record; the reads a page polls each second are not.
  await eventually(
    () => lines.some((l) => l.includes('observer action workflows') && l.includes('op=reset')),
    'the refused reset logged',
    WAIT,
  );
  assert.ok(lines.some((l) => l.includes('observer action deadletters') && l.includes('op=drop')));
  assert.ok(!lines.some((l) => /observer action (workflows|deadletters) op=(stats|list)\b/.test(l)), lines.join('\n'));
  const bad = await post(observed.url, '/api/do/deadletters', { op: 'explode' }, headers);
  assert.equal(bad.status, 400);
  const badLimit = await post(observed.url, '/api/do/deadletters', { op: 'list', limit: 0 }, headers);
  assert.equal(badLimit.status, 400);
  assert.equal((badLimit.body as { code?: string }).code, 'ERR_ENTITY_INCORRECT');
});
