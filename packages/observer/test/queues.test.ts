// The Queues page, in Chromium, on a node running an entities runtime with workflow queues: queue
// `gpu` (concurrency 1, per member 2, a rate) holds one step attempt running and the next waiting
// (the concurrency limit reached); an activity of queue `tpu`, which no member serves, waits for a
// member that does. The page lists the queues with their limits, and each waiting attempt with its
// queue, member, position, priority, workflow (a link to its instance page), step, attempt and
// why it waits. On a client-only node in front of a member, the page shows the member's queues
// (who serves each, what runs there) and its waiting attempts, and says the node is client-only,
// never "served here". `do/queues` refuses an unknown op (400). Screenshots:
// packages/observer/test-output/queues.png, queues-client.png.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually, freeTcpUdpPort } from '@ergo-ts/test-support';
import { MemoryStore, defineWorkflow, startEntities, type Entities } from '@ergo-ts/entities';
import { startNode } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';
import type { Page } from 'playwright-core';

import { chromiumPath, launchChromium, post, startObserved, StreamClient, VIEWPORT, WAIT } from './helpers.js';
import { banners, shot } from './pages_support.js';

/** The held steps' releases, by instance id. */
const gates = new Map<string, () => void>();

/** One step in queue `gpu`, held until the test lets it go. */
const Render = defineWorkflow('obsrender', async (ctx, input: { tag: string }) =>
  ctx.step(
    'render',
    () =>
      new Promise<string>((resolve) => {
        gates.set(input.tag, () => resolve(input.tag));
      }),
    { queue: 'gpu', priority: 2 },
  ),
);

/** An activity of queue `tpu`, which no member serves. */
const Train = defineWorkflow(
  'obstrain',
  { activities: { fit: (input: { tag: string }) => input.tag } },
  async (ctx, input: { tag: string }) => ctx.activity<string>('fit', input, { queue: 'tpu' }),
);

const textOf = (page: Page, sel: string): Promise<string> =>
  page.$eval(sel, (e) => (e.textContent ?? '').trim()).catch(() => '');

test('the Queues page shows the queues with their limits and the attempts waiting, with why', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const observed = await startObserved();
  const entities = await startEntities(observed.node, {
    store: new MemoryStore(),
    kinds: [Render, Train],
    workflowQueues: {
      serve: ['gpu'],
      queues: { gpu: { concurrency: 1, perMember: 2, rate: { limit: 50, periodMs: 60_000 } } },
      pollMs: 20,
    },
  });
  const browser = await launchChromium(executablePath);
  t.after(async () => {
    await browser.close();
    for (const open of gates.values()) open();
    await entities.stop();
    await observed.node.stop();
  });
  const w = entities.workflows;
  await w.start(Render, 'r1', { tag: 'r1' });
  await eventually(() => gates.has('r1') || undefined, 'r1 runs', WAIT);
  await w.start(Render, 'r2', { tag: 'r2' });
  await w.start(Train, 't1', { tag: 't1' });
  await eventually(async () => (await w.queue('gpu').waiting()).length === 1 || undefined, 'r2 waits', WAIT);

  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(observed.url);
  await page.click('[data-nav=queues]', { timeout: 20_000 });
  await page.waitForSelector('tr[data-testid=queue][data-queue="gpu"]', { timeout: 20_000 });
  // Its name, served here, concurrency, per member, rate, running here (r1).
  await page.waitForFunction(
    () => document.querySelector('tr[data-testid=queue][data-queue="gpu"] td:last-child')?.textContent === '1',
    undefined,
    { timeout: 20_000 },
  );
  assert.deepEqual(
    await page.$$eval('tr[data-testid=queue][data-queue="gpu"] td', (tds) => tds.map((e) => e.textContent)),
    ['gpu', 'yes', '1', '2', '50 per 60000 ms', '1'],
  );
  await page.waitForFunction(
    () => document.querySelector('tr[data-testid=queue][data-queue="tpu"]')?.textContent?.includes('no') === true,
    undefined,
    { timeout: 20_000 },
  );

  // The waiting attempts: r2 behind r1's slot, t1 with no member to run it.
  await page.waitForSelector('[data-testid=queue-waiting][data-queue="gpu"]', { timeout: 20_000 });
  await page.waitForSelector('[data-testid=queue-waiting][data-queue="tpu"]', { timeout: 20_000 });
  const r2 = await textOf(page, '[data-testid=queue-waiting][data-queue="gpu"]');
  for (const part of [observed.node.name, 'obsrender/r2', 'render (#', 'ago'])
    assert.ok(r2.includes(part), `${part} in ${r2}`);
  assert.equal(
    await textOf(page, '[data-testid=queue-waiting][data-queue="gpu"] [data-testid=queue-waiting-why]'),
    'waiting for queue gpu: the concurrency limit (1) is reached',
  );
  assert.equal(
    await page.$eval('[data-testid=queue-waiting][data-queue="gpu"]', (e) => e.getAttribute('data-position')),
    '1',
  );
  assert.equal(
    await page.$eval('[data-testid=queue-waiting][data-queue="gpu"] td:nth-child(4)', (e) => e.textContent),
    '2',
  );
  assert.equal(
    await textOf(page, '[data-testid=queue-waiting][data-queue="tpu"] [data-testid=queue-waiting-why]'),
    'waiting for queue tpu: no live member serves it',
  );
  await shot(page, 'queues');

  // Each waiting attempt links to its instance's page.
  const href = await page.$eval('[data-testid=queue-waiting][data-queue="gpu"] a', (e) => e.getAttribute('href'));
  assert.equal(href, '#/workflow/obsrender/r2');

  // Refreshed each second: r1 done, r2 runs and leaves the waiting list.
  gates.get('r1')!();
  await page.waitForFunction(
    () => document.querySelector('[data-testid=queue-waiting][data-queue="gpu"]') === null,
    undefined,
    { timeout: 20_000 },
  );
  assert.equal(await w.handleOf('obsrender', 'r1').result(), 'r1');
  assert.deepEqual(await banners(page), []);

  await page.click('[data-testid=queue-waiting][data-queue="tpu"] a');
  await page.waitForFunction(() => location.hash === '#/workflow/obstrain/t1', undefined, { timeout: 20_000 });
});

test("a client-only node's Queues page shows the members' queues and waiting attempts, never served here", async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const port = await freeTcpUdpPort();
  const network = () => ({
    cookie: 'observer-queues-client',
    acceptors: [{ host: '127.0.0.1', port: 0 }],
    registrar: createEmbeddedRegistrar({ port, retryInterval: 100 }),
  });
  const store = new MemoryStore();
  const member = await startNode(`qmember${process.pid}@localhost`, { log: { level: 'error' }, network: network() });
  const observed = await startObserved({}, { network: network() });
  const runtimes: Entities[] = [];
  const browser = await launchChromium(executablePath);
  t.after(async () => {
    await browser.close();
    for (const open of gates.values()) open();
    for (const rt of runtimes.reverse()) await rt.stop().catch(() => undefined);
    await member.stop();
    await observed.node.stop();
  });
  runtimes.push(
    await startEntities(member, {
      store,
      kinds: [Render, Train],
      members: [member.name],
      probeIntervalMs: 100,
      workflowQueues: { serve: ['gpu'], queues: { gpu: { concurrency: 1 } }, pollMs: 20 },
    }),
  );
  const client = await startEntities(observed.node, {
    store,
    kinds: [Render, Train],
    members: [member.name],
    role: 'client',
    probeIntervalMs: 100,
  });
  runtimes.push(client);
  await eventually(() => client.members().length === 1, 'the client sees the member', WAIT);
  const w = client.workflows;
  await w.start(Render, 'c1', { tag: 'c1' });
  await eventually(() => gates.has('c1') || undefined, 'c1 runs', WAIT);
  await w.start(Render, 'c2', { tag: 'c2' });
  await w.start(Render, 'c3', { tag: 'c3' });
  await eventually(async () => (await w.queue('gpu').waiting()).length === 2 || undefined, 'two wait', WAIT);

  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(observed.url);
  await page.click('[data-nav=queues]', { timeout: 20_000 });
  await page.waitForSelector('[data-testid=queues-client]', { timeout: 20_000 });
  assert.match(await textOf(page, '[data-testid=queues-client]'), new RegExp(`client-only.*\\(${member.name}\\)`));
  const heads = await page.$$eval('table', (ts) => (ts[0]?.textContent ?? '').trim());
  assert.ok(!heads.includes('served here'), heads);
  await page.waitForFunction(
    () => document.querySelector('tr[data-testid=queue][data-queue="gpu"] td:last-child')?.textContent === '1',
    undefined,
    { timeout: 20_000 },
  );
  assert.deepEqual(
    await page.$$eval('tr[data-testid=queue][data-queue="gpu"] td', (tds) => tds.map((e) => e.textContent)),
    ['gpu', member.name, '1', 'no limit', 'no limit', '1'],
  );
  // The two waiting on the member, not "nothing waits".
  await page.waitForFunction(
    () => document.querySelectorAll('[data-testid=queue-waiting][data-queue="gpu"]').length === 2,
    undefined,
    { timeout: 20_000 },
  );
  const first = await textOf(page, '[data-testid=queue-waiting][data-position="1"]');
  for (const part of [member.name, 'obsrender/c2', 'the concurrency limit (1) is reached'])
    assert.ok(first.includes(part), `${part} in ${first}`);
  assert.deepEqual(await banners(page), []);
  await shot(page, 'queues-client');

  for (const tag of ['c1', 'c2', 'c3']) {
    await eventually(() => gates.has(tag) || undefined, `${tag} runs`, WAIT);
    gates.get(tag)!();
  }
  for (const tag of ['c1', 'c2', 'c3']) assert.equal(await w.handleOf('obsrender', tag).result(), tag);
});

test('do/queues: an unknown op is refused (400); a node without entities answers 404 no_entities', async (t) => {
  const observed = await startObserved();
  t.after(() => observed.node.stop());
  const stream = await StreamClient.open(observed.url);
  t.after(() => stream.close());
  await stream.waitFor('connected');
  const headers = { 'x-observer-session': stream.session };
  const bad = await post(observed.url, '/api/do/queues', { op: 'drop' }, headers);
  assert.equal(bad.status, 400, JSON.stringify(bad.body));
  const none = await post(observed.url, '/api/do/queues', { op: 'waiting' }, headers);
  assert.equal(none.status, 404, JSON.stringify(none.body));
  assert.match(JSON.stringify(none.body), /no_entities/);
});

declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
};
declare const location: { hash: string };
