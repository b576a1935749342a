// The Entities page in Chromium, against a 2-node entities cluster in child OS processes (SQLite
// store shared on this host) observed through the switcher from a third node that runs the
// Observer and no entities: the Entities link appears only on nodes that run them; the page shows
// the shards of both members (the other member's table asked by the observed node's manager) with
// the entities active on each, the active list filters by kind and key, and an entity's page shows
// its fencing token, state version and state (rendered as text), refreshed live; a node started
// with inspectState: false shows the facts but hides the state. An entity's page lists its pending
// reminders (name, due time, period, read by its host from the store in the background) and an
// event-sourced entity's page its recent events.
// Screenshots go to packages/observer/test-output/ (entities-*.png).

import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { eventually, freeTcpUdpPort, IpcCommands, ipcMessage, isKind, within } from '@ergo-ts/test-support';
import { ownerOfShard, shardOf } from '@ergo-ts/entities';
import { createEmbeddedRegistrar } from 'ergo-ts/net';
import type { Browser, Page } from 'playwright-core';

import { chromiumPath, launchChromium, startObserved, StreamClient, post, VIEWPORT, WAIT } from './helpers.js';
import { banners, failureShot, shot } from './pages_support.js';

/** The page's document, as the functions run in the browser see it (this project has no DOM types). */
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
};
declare const location: { hash: string };

const FIXTURE = fileURLToPath(new URL('./entities_node.js', import.meta.url));
const COOKIE = 'observer-entities';
const SHARDS = 32;

/** One entities node in a child process, driven over IPC. */
class EntNode {
  readonly #commands: IpcCommands;
  private constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    this.#commands = new IpcCommands(proc, name);
  }

  static async start(name: string, env: Record<string, string>): Promise<EntNode> {
    const proc = fork(FIXTURE, [], {
      env: { ...process.env, ENT_NAME: name, ...env },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const n = new EntNode(name, proc);
    await ipcMessage(proc, isKind('ready'), `${name} ready`, 30_000);
    return n;
  }

  cmd(cmd: string, fields: Record<string, unknown> = {}): Promise<unknown> {
    return this.#commands.value(cmd, fields);
  }

  async stop(): Promise<void> {
    if (!this.#commands.running) return;
    try {
      await this.cmd('stop');
      await within(this.#commands.exited, `${this.name} exit`, 10_000);
    } catch {
      this.proc.kill('SIGKILL');
      await this.#commands.exited;
    }
  }
}

const textOf = (page: Page, sel: string): Promise<string> =>
  page.$eval(sel, (e) => (e.textContent ?? '').trim()).catch(() => '');

test('the Entities page shows the shards of every member, the active entities and an entity’s state', async (t) => {
  const executablePath = chromiumPath(t);
  if (executablePath === undefined) return;
  const dir = mkdtempSync(join(tmpdir(), 'observer-entities-'));
  const registrar = await freeTcpUdpPort();
  const a = `enta${process.pid}@localhost`;
  const b = `entb${process.pid}@localhost`;
  const members = [a, b].sort();
  const env = {
    ENT_REGISTRAR: String(registrar),
    ENT_MEMBERS: members.join(','),
    ENT_DB: join(dir, 'entities.db'),
    ENT_COOKIE: COOKIE,
  };
  const nodes: EntNode[] = [];
  let browser: Browser | undefined;
  const observed = await startObserved(
    {},
    {
      network: {
        cookie: COOKIE,
        acceptors: [{ host: '127.0.0.1', port: 0 }],
        registrar: createEmbeddedRegistrar({ port: registrar, retryInterval: 200 }),
      },
    },
  );
  t.after(async () => {
    await browser?.close();
    for (const n of nodes) await n.stop();
    await observed.node.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  nodes.push(await EntNode.start(a, env));
  // b shows facts only: its states may hold secrets.
  nodes.push(await EntNode.start(b, { ...env, ENT_STATE: 'false' }));
  const [na, nb] = nodes as [EntNode, EntNode];
  await eventually(
    async () =>
      ((await na.cmd('members')) as string[]).length === 2 && ((await nb.cmd('members')) as string[]).length === 2,
    'both members see each other',
    WAIT,
  );

  // Twelve accounts, spread over both members by their shards.
  const keys = Array.from({ length: 12 }, (_, i) => `acct-${i}`);
  for (const [i, key] of keys.entries()) await na.cmd('set', { key, balance: 100 + i });
  const owner = (key: string): string => ownerOfShard(shardOf(key, SHARDS), members, SHARDS)!;
  const onA = keys.filter((k) => owner(k) === a);
  const onB = keys.filter((k) => owner(k) === b);
  assert.ok(onA.length > 0 && onB.length > 0, `keys on both members (a ${onA.length}, b ${onB.length})`);
  const ownedBy = (m: string): number =>
    Array.from({ length: SHARDS }, (_, s) => ownerOfShard(s, members, SHARDS)).filter((o) => o === m).length;

  // The nav's source on a node without entities: no manager among its processes.
  const stream = await StreamClient.open(observed.url);
  t.after(() => stream.close());
  await stream.waitFor('connected');
  const sub = await post(
    observed.url,
    '/api/subscribe',
    { type: 'entities_find', args: {} },
    { 'x-observer-session': stream.session },
  );
  assert.equal(sub.status, 200, JSON.stringify(sub.body));
  const none = await stream.waitFor('entities_find');
  assert.deepEqual(none.processes ?? [], [], 'the Observer’s own node runs no entities');

  browser = await launchChromium(executablePath);
  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(observed.url);
  await page.waitForSelector(`[data-node="${a}"]`, { timeout: 20_000 });
  await page.click(`[data-node="${a}"]`);
  await page.waitForFunction((n) => document.querySelector('[data-testid=current-node]')?.textContent === n, a);
  // The link appears once the switched-to node's manager is found.
  await page.click('[data-nav=entities]', { timeout: 20_000 });

  // Shards per node: both members, each with the shards it owns and the entities active on it.
  const row = (m: string, cell: string): string =>
    `[data-testid=entity-shards] tr[data-member="${m}"] [data-testid=${cell}]`;
  await eventually(
    async () =>
      (await textOf(page, row(a, 'owned-count'))) === String(ownedBy(a)) &&
      (await textOf(page, row(b, 'owned-count'))) === String(ownedBy(b)) &&
      (await textOf(page, row(a, 'active-count'))) === String(onA.length) &&
      (await textOf(page, row(b, 'active-count'))) === String(onB.length),
    'the shard grid of both members',
    { timeoutMs: 20_000, intervalMs: 100 },
  ).catch(async (err: unknown) => {
    await failureShot(page, 'entities-failure');
    throw err;
  });
  const bShard = shardOf(onB[0]!, SHARDS);
  const cellTitle = await page.getAttribute(`tr[data-member="${b}"] [data-shard="${bShard}"]`, 'title');
  assert.match(cellTitle ?? '', /\(owned\): account \d+/, 'a shard cell of b names its active entities');
  assert.equal(await textOf(page, '[data-testid=entities-total]'), String(onA.length));
  // The active list: a's entities only.
  const listed = await page.$$eval('[data-testid=entities] tr[data-entity]', (rs) =>
    rs.map((r) => r.getAttribute('data-entity')),
  );
  assert.deepEqual([...listed].sort(), onA.map((k) => `account/${k}`).sort());
  // Filtering by key (and kind).
  const pick = onA[0]!;
  await page.selectOption('[data-testid=entity-kind]', 'account');
  await page.fill('[data-testid=entity-key]', pick);
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid=entities] tr[data-entity]').length === n,
    onA.filter((k) => k.includes(pick)).length,
  );
  await page.fill('[data-testid=entity-key]', '');
  await shot(page, 'entities-shards');

  // An entity's page: token, version and the state as text; a new write shows live.
  await page.click(`[data-testid=entities] tr[data-entity="account/${pick}"] a`);
  await page.waitForSelector('[data-testid=entity-state]', { timeout: 20_000 });
  assert.equal(await textOf(page, '[data-testid=entity-token]'), '1');
  assert.equal(await textOf(page, '[data-testid=entity-version]'), '1');
  const state = JSON.parse(await textOf(page, '[data-testid=entity-state]')) as Record<string, unknown>;
  assert.equal(state.owner, pick);
  assert.equal(state.balance, 100 + keys.indexOf(pick));
  assert.equal(await page.$('[data-testid=entity-state] img'), null, 'the state is text, never markup');
  await na.cmd('set', { key: pick, balance: 4242 });
  await page.waitForFunction(
    () => document.querySelector('[data-testid=entity-version]')?.textContent === '2',
    undefined,
    { timeout: 20_000 },
  );
  assert.match(await textOf(page, '[data-testid=entity-state]'), /"balance": 4242/);
  // A reminder due in an hour: the page lists it once the host's background read has it.
  const before = Date.now();
  assert.equal(await na.cmd('remind', { key: pick, name: 'ping', everyMs: 3_600_000 }), true);
  await page
    .waitForSelector('[data-testid=entity-reminders] tr[data-reminder=ping]', { timeout: 20_000 })
    .catch(async (err: unknown) => {
      // What the page showed instead (the host's last read, its error, or no reminders card).
      await failureShot(page, 'entities-reminder-failure');
      const text = await page.textContent('[data-page=entity]', { timeout: 5000 }).catch(() => '(no entity page)');
      assert.fail(`${String(err)}; the entity page read: ${text}`);
    });
  assert.equal(await textOf(page, '[data-reminder=ping] [data-testid=reminder-period]'), 'every 3600000 ms');
  const due = Date.parse(await textOf(page, '[data-reminder=ping] [data-testid=reminder-due]'));
  assert.ok(due >= before + 3_600_000, `due an hour after it was scheduled, got ${new Date(due).toISOString()}`);
  await shot(page, 'entities-entity');
  assert.deepEqual(await banners(page), []);

  // An event-sourced ledger on a: its page lists the events it persisted, newest first.
  const ledger = keys.find((k) => owner(k) === a)!;
  for (const amount of [5, 7, 11]) await na.cmd('deposit', { key: ledger, amount });
  await page.evaluate((k) => (location.hash = `#/entity/ledger/${k}`), ledger);
  await page.waitForFunction(
    () => document.querySelectorAll('[data-testid=entity-events] tr[data-event-version]').length === 3,
    undefined,
    { timeout: 20_000 },
  );
  const events = await page.$$eval('[data-testid=entity-events] tr[data-event-version]', (rs) =>
    rs.map((r) => [...r.querySelectorAll('td')].map((c) => (c.textContent ?? '').trim())),
  );
  assert.deepEqual(events, [
    ['3', 'deposited', '{"type":"deposited","amount":11}'],
    ['2', 'deposited', '{"type":"deposited","amount":7}'],
    ['1', 'deposited', '{"type":"deposited","amount":5}'],
  ]);
  assert.match(await textOf(page, '[data-testid=entity-state]'), /"total": 23/);
  await shot(page, 'entities-events');

  // The node's page: its inbox sweeper (nothing waits) and the ledger's projection, running on one
  // member and standing by on the other, as each node's own figures say.
  await page.evaluate(() => (location.hash = '#/entities'));
  const projectionRow = '[data-testid=projections] tr[data-projection="ledger-totals"]';
  type Figures = { running: boolean; offset: number };
  let figures: Figures[] = [];
  await eventually(
    async () => {
      figures = (await Promise.all([na.cmd('projection'), nb.cmd('projection')])) as Figures[];
      return figures.some((f) => f.running && f.offset > 0);
    },
    'the ledger projection handled the deposits on one member',
    WAIT,
  );
  assert.notEqual(figures[0]!.running, figures[1]!.running, 'one member runs the projection, the other stands by');
  await page.waitForFunction(
    ([sel, here]) => document.querySelector(`${sel} [data-testid=projection-here]`)?.textContent === here,
    [projectionRow, figures[0]!.running ? 'running' : 'standing by'] as const,
    { timeout: 20_000 },
  );
  assert.equal(await textOf(page, '[data-testid=inbox-pending]'), '0');
  assert.equal(await textOf(page, '[data-testid=inbox-oldest]'), 'none');
  await shot(page, 'entities-node-projections');

  // b hides states: its entity's page shows the facts and says the state is hidden.
  await page.click(`[data-node="${b}"]`);
  await page.waitForFunction((n) => document.querySelector('[data-testid=current-node]')?.textContent === n, b);
  await page.click('[data-nav=entities]', { timeout: 20_000 });
  await page.waitForSelector(`[data-testid=entities] tr[data-entity="account/${onB[0]!}"]`, { timeout: 20_000 });
  await page.click(`[data-testid=entities] tr[data-entity="account/${onB[0]!}"] a`);
  await page.waitForSelector('[data-testid=entity-state-hidden]', { timeout: 20_000 });
  assert.equal(await textOf(page, '[data-testid=entity-token]'), '1');
  assert.equal(await page.$('[data-testid=entity-state]'), null);
  await shot(page, 'entities-state-hidden');
  // An entity active elsewhere: said so, not an error.
  await page.evaluate((k) => (location.hash = `#/entity/account/${k}`), pick);
  await page.waitForSelector('[data-testid=entity-inactive]', { timeout: 20_000 });
});
