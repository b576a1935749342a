// The event hub across a cut of the gateway's connection to the event's node (issue 93): the
// link between the gateway node and the server node runs through a TCP proxy of the test, which
// cuts it (every socket destroyed, dials refused) and lets it through again. Light tabs subscribed
// to the server node's event stay subscribed: the hub monitors the event again once the link is
// back, writes the tabs the publishes of the cut from the event's buffer, and ends their
// subscription with ERR_TAB_EVENTS_MISSED when the buffer cannot show nothing was lost; past its
// window they end with the connection's reason.

import { strict as assert } from 'node:assert';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { test } from 'node:test';

import { Actor, Event, startNode, type Atom, type Node, type PID, type Ref } from 'ergo-ts';
import { within } from '@ergo-ts/test-support';

import { joinLight, type LightTab } from '../src/light/index.js';
import { COOKIE, gatewayNode, portOf, quiet, routeTo, type LogLines } from './helpers.js';

/** A TCP proxy to `port` on the loopback that can cut every connection through it and refuse new ones. */
class CutProxy {
  readonly #sockets = new Set<Socket>();
  #open = true;
  readonly server: Server;
  constructor(readonly port: number) {
    this.server = createServer((inbound) => {
      if (!this.#open) {
        inbound.destroy();
        return;
      }
      const outbound = connect(port, '127.0.0.1');
      for (const s of [inbound, outbound]) {
        this.#sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.#sockets.delete(s);
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound);
      outbound.pipe(inbound);
    });
  }
  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as { port: number }).port;
  }
  /** Every connection through it ends (a reset), and new ones are refused until {@link restore}. */
  cut(): void {
    this.#open = false;
    for (const s of this.#sockets) s.resetAndDestroy();
  }
  restore(): void {
    this.#open = true;
  }
  close(): Promise<void> {
    this.cut();
    return new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** Registers 'news' with `buffer` and publishes each message it gets on it. */
class BufferedNews extends Actor {
  token!: Ref;
  constructor(readonly buffer: number) {
    super();
  }
  override init(): void {
    this.token = this.registerEvent('news', { buffer: this.buffer });
  }
  override handleMessage(_from: PID, m: unknown): void {
    this.sendEvent('news', this.token, m);
  }
}

/** A queue of what a light tab's subscription hears: publishes and its end. */
class Heard {
  readonly items: (number | Error)[] = [];
  #wake: (() => void) | null = null;
  push = (x: number | Error): void => {
    this.items.push(x);
    this.#wake?.();
  };
  /** Waits until `n` items were heard. */
  async count(n: number, what: string): Promise<void> {
    while (this.items.length < n) await within(new Promise<void>((r) => (this.#wake = r)), what, 30_000);
  }
}

interface Setup {
  srv: Node;
  news: PID;
  proxy: CutProxy;
  tab: LightTab;
  lines: LogLines;
  heard: Heard;
  event: Event;
}

/** A server node with 'news' (`buffer`), a gateway reaching it through a proxy, one light tab subscribed. */
async function setup(t: Parameters<typeof gatewayNode>[0], buffer: number, window?: number): Promise<Setup> {
  const srv = await startNode(`hubsrv${process.pid}x${buffer}@localhost`, {
    ...quiet(),
    network: { cookie: COOKIE, acceptors: [{ port: 0 }], registrar: null },
  });
  t.after(() => srv.stop());
  const news = await srv.spawnRegister('news', () => new BufferedNews(buffer));
  const proxy = new CutProxy(portOf(srv));
  const via = await proxy.listen();
  t.after(() => proxy.close());
  const { g, gw, lines } = await gatewayNode(t, {
    admit: () => ({ events: ['news'] }),
    ...(window === undefined ? {} : { eventRetryWindow: window }),
  });
  g.network().addRoute(srv.name.replace(/[.$]/g, '\\$&'), routeTo(via), 1);
  const tab = await joinLight({ url: gw.url, token: 't' });
  t.after(() => {
    tab.leave();
    return Promise.resolve();
  });
  const heard = new Heard();
  const event = new Event('news' as Atom, srv.name);
  await tab.subscribe(event, (m) => heard.push(m as number), heard.push);
  return { srv, news, proxy, tab, lines, heard, event };
}

/** Cuts the link and waits for the gateway to have lost the event (its hub's warning). */
async function cut(s: Setup): Promise<void> {
  s.proxy.cut();
  await s.lines.waitFor(/tab events: lost news/, "the gateway's hub loses the event");
}

test("a cut of the gateway's link to the event's node: subscribed again, the cut's publishes from the buffer, nothing ended", async (t) => {
  const s = await setup(t, 8);
  s.srv.send(s.news, 1);
  await s.heard.count(1, 'the first publish');
  await cut(s);
  // Published while the gateway cannot hear: the buffer keeps them.
  s.srv.send(s.news, 2);
  s.srv.send(s.news, 3);
  s.proxy.restore();
  await s.heard.count(3, 'the publishes of the cut');
  await s.lines.waitFor(/news of .* subscribed again after \d+ ms; 2 missed publishes written/, 'the hub is back');
  s.srv.send(s.news, 4);
  await s.heard.count(4, 'a publish after the cut');
  assert.deepEqual(s.heard.items, [1, 2, 3, 4]);
});

test('a cut of an event without a buffer: the tabs are told they may have missed publishes (ERR_TAB_EVENTS_MISSED) and subscribe again', async (t) => {
  const s = await setup(t, 0);
  s.srv.send(s.news, 1);
  await s.heard.count(1, 'the first publish');
  await cut(s);
  s.srv.send(s.news, 2); // lost: nobody on the gateway's side, and no buffer
  s.proxy.restore();
  await s.heard.count(2, 'the subscription ends');
  const end = s.heard.items[1] as Error & { code?: string };
  assert.ok(end instanceof Error);
  assert.equal(end.code, 'ERR_TAB_EVENTS_MISSED');
  // Subscribing again works at once (the gateway is connected again).
  const again = new Heard();
  await s.tab.subscribe(s.event, (m) => again.push(m as number), again.push);
  s.srv.send(s.news, 3);
  await again.count(1, 'a publish after subscribing again');
  assert.deepEqual(again.items, [3]);
});

test('a cut longer than eventRetryWindow: the subscription ends with ERR_NO_CONNECTION', async (t) => {
  const s = await setup(t, 8, 300);
  await cut(s);
  await s.heard.count(1, 'the subscription ends');
  const end = s.heard.items[0] as Error & { code?: string };
  assert.ok(end instanceof Error);
  assert.equal(end.code, 'ERR_NO_CONNECTION');
});
