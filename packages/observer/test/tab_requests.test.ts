// The Tabs pages' requests (`do/tabs`, src/tabs.ts) over HTTP, as the page makes them: on the
// gateway's own node and on a gateway node the Observer is connected to over the network (the
// request and its JSON answer cross ENP); a tab's processes with their mailboxes; refusals with
// their codes and statuses (an unknown tab, a bad op or limit, a node without a gateway). The
// requests only read: none is logged as an operator's action.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createTabGateway, joinGateway, type TabsList } from '@ergo-ts/tabs';
import { Actor, startNode, type Atom, type PID } from 'ergo-ts';

import { GO_COOKIE, GO_NETWORK, post, startObserved, StreamClient } from './helpers.js';

const QUIET = { systemApp: false, log: { defaultLogger: { disable: true } } } as const;

/** Keeps its first message's handler running: the messages after it wait in its mailbox. */
class Held extends Actor {
  #first = true;
  override async handleMessage(): Promise<void> {
    if (!this.#first) return;
    this.#first = false;
    await new Promise<void>((r) => (Held.release = r));
  }
  static release: () => void = () => undefined;
}

/** A session of the Observer at `url`, switched to node `name` (dialled at `port`) when given. */
async function session(url: string, name?: string, port?: number): Promise<Record<string, string>> {
  const stream = await StreamClient.open(url);
  await stream.waitFor('connected');
  const headers = { 'x-observer-session': stream.session };
  if (name !== undefined) {
    const mark = stream.frames.length;
    const sw = await post(url, '/api/switch', { node: name, host: '127.0.0.1', port, cookie: GO_COOKIE }, headers);
    assert.equal(sw.status, 200, JSON.stringify(sw.body));
    await stream.waitFor('connected', (d: { node: { name: string } }) => d.node.name === name, mark);
  }
  streams.push(stream);
  return headers;
}
/** The streams of the test running (closed after it). */
const streams: StreamClient[] = [];

test('do/tabs on a gateway the Observer is connected to: the tabs, a tab’s processes, coded refusals', async (t) => {
  const lines: string[] = [];
  const observed = await startObserved(
    {},
    { network: GO_NETWORK, log: { level: 'info', defaultLogger: { output: { write: (l: string) => lines.push(l) } } } },
  );
  const gwNode = await startNode(`tabgw${process.pid}@localhost` as Atom, { log: QUIET.log, network: GO_NETWORK });
  const gw = await createTabGateway(gwNode, { admit: (token) => ({ names: {}, label: `user ${token}` }) });
  const tab = await joinGateway({ url: gw.url, token: 'ann', node: QUIET });
  t.after(async () => {
    Held.release();
    for (const s of streams.splice(0)) s.close();
    await tab.leave();
    await gw.stop();
    await gwNode.stop();
    await observed.node.stop();
  });
  const held: PID = await tab.node.spawnRegister('held', Held);
  tab.node.send(held, 'first');
  tab.node.send(held, 'second');
  tab.node.send(held, 'third');

  const port = Number(/:(\d+)$/.exec(gwNode.network().acceptors()[0]!.info().interface)![1]);
  const headers = await session(observed.url, gwNode.name, port);
  const list = await post(observed.url, '/api/do/tabs', { op: 'list' }, headers);
  assert.equal(list.status, 200, JSON.stringify(list.body));
  const value = list.body.data as TabsList;
  const probe = await post(observed.url, '/api/do/tabs', { op: 'probe' }, headers);
  assert.deepEqual([probe.status, probe.body.data], [200, { gateway: true }]);
  assert.equal(value.gateway, gwNode.name);
  assert.deepEqual(
    value.tabs.map((x) => [x.node, x.label, x.connected]),
    [[tab.name, 'user ann', true]],
  );

  const procs = await post(observed.url, '/api/do/tabs', { op: 'processes', tab: tab.name }, headers);
  assert.equal(procs.status, 200, JSON.stringify(procs.body));
  const row = (procs.body.data as { processes: { name: string; mailbox: { main: number } }[] }).processes.find(
    (p) => p.name === 'held',
  );
  assert.ok(row !== undefined && row.mailbox.main >= 1, JSON.stringify(procs.body.data));

  const unknown = await post(
    observed.url,
    '/api/do/tabs',
    { op: 'processes', tab: 'tab-0000000x000000-' + gwNode.name },
    headers,
  );
  assert.equal(unknown.status, 502);
  assert.equal((unknown.body as { code?: string }).code, 'ERR_TAB_INSPECT');
  const badOp = await post(observed.url, '/api/do/tabs', { op: 'spawn', tab: tab.name }, headers);
  assert.equal(badOp.status, 400);
  const badLimit = await post(observed.url, '/api/do/tabs', { op: 'processes', tab: tab.name, limit: 0 }, headers);
  assert.equal(badLimit.status, 400);
  const badId = await post(observed.url, '/api/do/tabs', { op: 'process', tab: tab.name, id: 'one' }, headers);
  assert.equal(badId.status, 400);
  assert.equal(
    lines.filter((l) => /observer action/.test(l) && /tabs/.test(l)).length,
    0,
    'reads are not logged as actions',
  );
});

test('do/tabs on a node without a tab gateway: 404 no_tabs', async (t) => {
  const observed = await startObserved();
  t.after(async () => {
    for (const s of streams.splice(0)) s.close();
    await observed.node.stop();
  });
  const headers = await session(observed.url);
  const none = await post(observed.url, '/api/do/tabs', { op: 'list' }, headers);
  assert.equal(none.status, 404);
  assert.equal((none.body as { code?: string }).code, 'no_tabs');
  // The page's probe (on every node, for its Tabs link) is no error.
  const probe = await post(observed.url, '/api/do/tabs', { op: 'probe' }, headers);
  assert.deepEqual([probe.status, probe.body.data], [200, { gateway: false }]);
});
