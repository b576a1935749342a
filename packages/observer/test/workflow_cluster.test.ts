// The Workflows page of a client-only node, in Chromium: two members run the instances, the
// Observer runs on a third node whose entities runtime only calls them (role 'client', the API
// tier). The charts and their totals are the cluster's (`op: 'stats'`, `scope: 'cluster'`: the
// client's manager sums the members' figures), not the client's zeros, and name the nodes
// summed; the totals per status above the list are the store's (every instance, whichever member
// ran it). A refused update sent from this page keeps the validator's message though the
// instance runs on another node.
// Screenshots go to packages/observer/test-output/ (workflow-cluster-*.png).

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { eventually, freeTcpUdpPort } from '@ergo-ts/test-support';
import {
  MemoryStore,
  defineUpdate,
  defineWorkflow,
  ownerOfShard,
  shardOf,
  startEntities,
  type Entities,
} from '@ergo-ts/entities';
import { schema, startNode, type Node } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';
import type { Page } from 'playwright-core';

import { chromiumPath, launchChromium, startObserved, VIEWPORT, WAIT } from './helpers.js';
import { shot } from './pages_support.js';

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelector(selector: string): { textContent: string | null; getAttribute(n: string): string | null } | null;
};

const COOKIE = 'observer-wf-cluster';

const Parcel = defineWorkflow(
  'clusterparcel',
  {
    updates: {
      address: defineUpdate({
        input: schema.object({ zip: schema.number() }),
        output: schema.string(),
        validate: (i) => {
          if (i.zip < 10_000) throw new Error(`invalid zip ${i.zip}`);
        },
      }),
    },
  },
  async (ctx, input: { fail?: boolean; wait?: boolean }) => {
    await ctx.step('label', () => 'printed');
    if (input.wait === true) {
      const u = await ctx.update('address');
      await u.reply(`to ${u.input.zip}`);
    }
    if (input.fail === true) throw new Error('lost in transit');
    return 'delivered';
  },
);

const textOf = (page: Page, sel: string): Promise<string> =>
  page.$eval(sel, (e) => (e.textContent ?? '').trim()).catch(() => '');

test('a client-only node charts the whole cluster’s workflows and shows a remote validator’s message', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const port = await freeTcpUdpPort();
  const network = () => ({
    cookie: COOKIE,
    acceptors: [{ host: '127.0.0.1', port: 0 }],
    registrar: createEmbeddedRegistrar({ port, retryInterval: 100 }),
  });
  const store = new MemoryStore();
  const names = ['a', 'b'].map((x) => `wfcl${x}${process.pid}@localhost`);
  const nodes: Node[] = [];
  const runtimes: Entities[] = [];
  const observed = await startObserved({}, { network: network() });
  t.after(async () => {
    for (const rt of runtimes.reverse()) await rt.stop().catch(() => undefined);
    for (const n of nodes.reverse()) await n.stop().catch(() => undefined);
    await observed.node.stop();
  });
  for (const name of names) {
    const node = await startNode(name, { log: { level: 'error' }, network: network() });
    nodes.push(node);
    runtimes.push(await startEntities(node, { store, kinds: [Parcel], members: names, probeIntervalMs: 100 }));
  }
  const client = await startEntities(observed.node, {
    store,
    kinds: [Parcel],
    members: names,
    role: 'client',
    probeIntervalMs: 100,
  });
  runtimes.push(client);
  for (const rt of runtimes)
    await eventually(() => rt.members().length === 2, `${rt.node.name} sees both members`, { timeoutMs: 20_000 });
  const browser = await launchChromium(executablePath);
  t.after(() => browser.close());

  // Two instances on each member, one of them failing; one more on b waits for an update.
  const keys = Array.from({ length: 300 }, (_, i) => `p${i}`);
  const on = (m: string) => keys.filter((k) => ownerOfShard(shardOf(k, 64), names) === m);
  const [onA, onB] = [on(names[0]!), on(names[1]!)];
  const wf = client.workflows;
  for (const [i, key] of [...onA.slice(0, 2), ...onB.slice(0, 2)].entries())
    await (await wf.start(Parcel, key, { fail: i === 3 })).result().catch(() => undefined);
  const waiting = onB[2]!;
  await wf.start(Parcel, waiting, { wait: true });

  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(observed.url);
  await page.click('[data-nav=workflows]', { timeout: 20_000 });
  await page.waitForSelector('[data-testid=workflow-charts]', { timeout: 20_000 });
  const sum = (f: 'started' | 'completed' | 'failed'): number =>
    runtimes.slice(0, 2).reduce((n, rt) => n + (rt.stats().workflows.clusterparcel?.[f] ?? 0), 0);
  assert.equal(sum('started'), 5);
  assert.equal(client.stats().workflows.clusterparcel?.started ?? 0, 0, 'the client ran none');
  await eventually(
    async () =>
      (await textOf(page, '[data-testid=workflow-chart-totals]')).includes(
        `${sum('started')} started, ${sum('completed')} completed, ${sum('failed')} failed`,
      ),
    "the totals are the members' summed",
    WAIT,
  );
  assert.equal(
    await textOf(page, '[data-testid=workflow-chart-nodes]'),
    `summed over 2 node(s): ${[...names].sort().join(', ')}`,
  );
  assert.equal(await textOf(page, 'h3'), 'every kind in the cluster (1: clusterparcel)');
  // The chart of open instances: the waiting one, on b.
  await page.waitForFunction(
    () =>
      Number(document.querySelector('.chart[data-title="Open instances"]')?.getAttribute('data-last')?.split(' ')[0]) >=
      1,
    undefined,
    { timeout: 20_000 },
  );
  // The store's totals per status: every instance, whichever member ran it.
  await eventually(
    async () => (await textOf(page, '[data-testid=workflow-count-total]')).startsWith('5 in all'),
    'five in all',
    WAIT,
  );
  assert.match(await textOf(page, '[data-testid=workflow-count-failed]'), /failed\s*1/);
  await shot(page, 'workflow-cluster-charts');

  // A refused update from this page: the validator's message, though the instance runs on b.
  await page.goto(`${observed.url}#/workflow/clusterparcel/${waiting}`);
  await page.waitForSelector('[data-testid=workflow-update-name]', { timeout: 20_000 });
  await page.fill('[data-testid=workflow-update-name]', 'address');
  await page.fill('[data-testid=workflow-update-input]', '{"zip": 12}');
  await page.click('[data-testid=workflow-update-send]');
  await page.waitForSelector('[data-testid=workflow-update-refused]', { timeout: 20_000 });
  const refused = await textOf(page, '[data-testid=workflow-update-refused]');
  assert.match(refused, /ERR_WORKFLOW_UPDATE_REJECTED/);
  assert.match(refused, /invalid zip 12/);
  await shot(page, 'workflow-cluster-update-refused');
});
