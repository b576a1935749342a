// A broadcast to many tabs is one publish: 1,000 simulated tabs (the tab's own client, in this
// process) subscribe to an event of the gateway node, and one sendEvent reaches every one of
// them; tabs subscribed to an event of a server node in another OS process get its one publish
// too (the gateway passes it on per tab).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { Actor, Event, MessageDownEvent, type Atom, type Node } from 'ergo-ts';

import { within } from '@ergo-ts/test-support';

import { joinGateway, type TabNode } from '../src/index.js';
import { gatewayNode, NewsActor, quiet, serverProcess, Subscriber } from './helpers.js';

async function joinMany(t: Parameters<typeof gatewayNode>[0], url: string, count: number): Promise<TabNode[]> {
  const tabs: TabNode[] = [];
  // In batches: the gateway admits each in turn, the test does not open 1,000 sockets at once.
  for (let i = 0; i < count; i += 100) {
    const batch = Array.from({ length: Math.min(100, count - i) }, () =>
      joinGateway({ url, token: 't', node: quiet() }),
    );
    tabs.push(...(await Promise.all(batch)));
  }
  t.after(() => Promise.all(tabs.map((x) => x.leave())).then(() => undefined));
  return tabs;
}

function subscribeAll(tabs: TabNode[], event: Event, expect: number): Promise<Node[]> & { got: Promise<void> } {
  let n = 0;
  let done!: () => void;
  const got = new Promise<void>((r) => (done = r));
  const seen = new Set<string>();
  const p = Promise.all(
    tabs.map(async (tab) => {
      await tab.node.spawn(
        () =>
          new Subscriber(event, (m) => {
            assert.equal(m.message, 7);
            seen.add(tab.name);
            if (++n === expect) done();
          }),
      );
      return tab.node;
    }),
  );
  const all = within(got, `${expect} tabs have the publish`, 60_000).then(() => assert.equal(seen.size, expect));
  return Object.assign(p, { got: all });
}

test('one publish reaches 1,000 tabs', async (t) => {
  const { g, gw } = await gatewayNode(t, { admit: () => ({ events: ['news'] }) });
  const news = await g.spawnRegister('news', NewsActor);
  const count = 1000;
  const tabs = await joinMany(t, gw.url, count);
  assert.equal(gw.tabs().length, count);
  const subs = subscribeAll(tabs, new Event('news' as Atom, g.name), count);
  await subs;
  const t0 = performance.now();
  g.send(news, 7);
  await subs.got;
  t.diagnostic(`1,000 tabs had the publish after ${(performance.now() - t0).toFixed(1)} ms`);
});

test("a server node's event in another OS process: one message to the gateway per publish, for every tab", async (t) => {
  const { g, gw } = await gatewayNode(t, { admit: () => ({ events: ['news'] }) });
  const srv = await serverProcess(t, g);
  const count = 50;
  const tabs = await joinMany(t, gw.url, count);
  const ended: string[] = [];
  let allEnded!: () => void;
  const downs = new Promise<void>((r) => (allEnded = r));
  // Each tab's subscriber hears the event end too (a down with its reason).
  class Watch extends Actor {
    override async init(): Promise<void> {
      await this.monitorEvent(new Event('news' as Atom, srv.name as Atom));
    }
    override handleMessage(_from: unknown, m: unknown): void {
      if (m instanceof MessageDownEvent) ended.push((m.reason as { code?: string }).code ?? m.reason.message);
      if (ended.length === count) allEnded();
    }
  }
  const subs = subscribeAll(tabs, new Event('news' as Atom, srv.name as Atom), count);
  await subs;
  await Promise.all(tabs.map((x) => x.node.spawn(Watch)));
  const before = (await srv.ipc.value('out')) as number;
  await srv.ipc.value('publish', { n: 7 });
  await subs.got;
  // The server sent the gateway one message for the 50 tabs (the gateway relay's subscription).
  assert.equal((await srv.ipc.value('out')) as number, before + 1);
  await srv.ipc.value('endNews');
  await within(downs, 'every tab hears the event end', 30_000);
  assert.equal(new Set(ended).size, 1);
});
