// A storm of many tabs at once cannot hold the gateway's event loop (issue 93): 14,000 tabs that
// each subscribe once were read and handled in one poll phase of the loop, so the gateway read its
// link to the server node behind every tab and the server declared it stalled. Here 600 tabs each
// send one subscribe frame to a server node's event in one go (their sockets all readable in the
// same poll phase): the gateway handles at most `inboundTurn` of them per turn of its loop, every
// subscription is acknowledged, in order per tab, and the server node gets one subscription for
// all of them (the gateway's hub), not one per tab. And when they all wait for the hub's monitor
// (the server node's answer held up), their Acks go out in slices of the loop, not in one go.
// The same tabs leaving at once (each socket closed with 1000 'left', as a tab of an older build leaves): at most `inboundTurn`
// sessions end per turn, and the server node hears one unsubscribe for all; with a Leave frame
// each, at most `inboundTurn` of the gateway's sockets close per turn. A tab that leaves with
// frames still waiting for their turn has them handled first.

import { strict as assert } from 'node:assert';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';

import { Actor, Event, PID, ProcessID, startNode, type Atom, type Node, type Ref } from 'ergo-ts';
import { within } from '@ergo-ts/test-support';
import { WebSocket } from 'ws';

import type { TabGateway, TabGatewayOptions } from '../src/index.js';
import { Ctl, decodeFrame, encodeFrame, LEAVE_FRAME, Op, writeFrames, type Frame } from '../src/frame.js';
import { COOKIE, gatewayNode, portOf, quiet, routeTo } from './helpers.js';

const TABS = 600;
const TURN = 50;
/** event_hub.ts' ACK_SLICE. */
const ACK_SLICE = 256;

class News extends Actor {
  token!: Ref;
  override init(): void {
    this.token = this.registerEvent('news');
  }
}

/** A tab of frames over a `ws` socket (whose send writes to the kernel at once). */
interface StormTab {
  name: string;
  ws: WebSocket;
  acks: Promise<Frame>;
}

async function stormTabs(url: string): Promise<StormTab[]> {
  const tabs: StormTab[] = [];
  for (let i = 0; i < TABS; i += 100)
    tabs.push(...(await Promise.all(Array.from({ length: 100 }, () => stormTab(url)))));
  return tabs;
}

/** Every tab's subscribe to `event`, written now in this task (the gateway reads them all in its next poll phase). */
function subscribeAll(tabs: StormTab[], event: Event): void {
  for (const x of tabs) {
    const pid = new PID(x.name as Atom, 1001, 0);
    x.ws.send(encodeFrame([Op.Relation, x.name, event.node, 7, 'monitor', pid, event]));
  }
}

/**
 * Samples `count()` at each check phase of the event loop until it reaches `until`: the most it
 * grew between two (one turn of the loop) and the turns it took.
 */
function perTurn(count: () => number, until: number): Promise<{ most: number; turns: number }> {
  let last = count();
  let most = 0;
  let turns = 0;
  return new Promise((resolve) => {
    const sample = (): void => {
      const now = count();
      most = Math.max(most, now - last);
      last = now;
      turns++;
      if (now >= until) resolve({ most, turns });
      else setImmediate(sample);
    };
    setImmediate(sample);
  });
}

async function stormTab(url: string): Promise<StormTab> {
  const ws = new WebSocket(url);
  ws.binaryType = 'nodebuffer';
  let ack!: (f: Frame) => void;
  const acks = new Promise<Frame>((r) => (ack = r));
  const welcome = new Promise<Frame>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (d: Buffer) => {
      const f = decodeFrame(d);
      if (f[0] === Ctl.Welcome) resolve(f);
      else if (f[0] === Op.Ack) ack(f);
    });
  });
  await new Promise<void>((r, j) => ws.once('open', r).once('error', j));
  ws.send(encodeFrame([Ctl.Hello, 'good', '']));
  const w = await welcome;
  return { name: String(w[1]), ws, acks };
}

let clusters = 0;

/**
 * A server node with the `news` event, a gateway node that reaches it (through the port `via`
 * answers for the server's, when given: a proxy) with `options`, and {@link TABS} tabs joined to
 * it; all of it ends after the test.
 */
async function newsCluster(
  t: TestContext,
  options: Partial<TabGatewayOptions> = {},
  via?: (port: number) => Promise<number>,
): Promise<{ srv: Node; g: Node; gw: TabGateway; tabs: StormTab[] }> {
  const srv = await startNode(`stormsrv${process.pid}x${clusters++}@localhost`, {
    ...quiet(),
    network: { cookie: COOKIE, acceptors: [{ port: 0 }], registrar: null },
  });
  t.after(() => srv.stop());
  await srv.spawnRegister('news', News);
  const port = via === undefined ? portOf(srv) : await via(portOf(srv));
  const { g, gw } = await gatewayNode(t, { admit: () => ({ events: ['news'] }), ...options });
  g.network().addRoute(srv.name.replace(/[.$]/g, '\\$&'), routeTo(port), 1);
  await g.network().getNode(srv.name);
  const tabs = await stormTabs(gw.url);
  t.after(() => {
    for (const x of tabs) x.ws.terminate();
  });
  return { srv, g, gw, tabs };
}

test('600 tabs subscribing at once: at most inboundTurn handled per turn of the loop, every one acknowledged, one subscription at the server node', async (t) => {
  const { srv, g, gw, tabs } = await newsCluster(t, { inboundTurn: TURN });
  const fromGateway = (): number => g.network().node(srv.name).info().messagesOut;
  // The tabs' joins send the server node nothing: counted from here.
  const before = fromGateway();
  const event = new Event('news' as Atom, srv.name);
  const handled = (): number => gw.tabs().reduce((a, x) => a + x.messagesIn, 0);
  const sampled = perTurn(handled, TABS);
  subscribeAll(tabs, event);
  const { most, turns } = await within(sampled, 'every subscribe handled', 60_000);
  assert.ok(most <= TURN, `${most} frames handled in one turn of the loop (inboundTurn ${TURN})`);
  assert.ok(turns >= TABS / TURN, `${turns} turns for ${TABS} frames`);

  const acks = await within(Promise.all(tabs.map((x) => x.acks)), 'every subscribe acknowledged', 60_000);
  acks.forEach((f, i) => {
    assert.equal(f[2], tabs[i]!.name);
    assert.equal(f[3], 7);
    assert.equal(f[4], null, `tab ${i}'s subscription refused: ${JSON.stringify(f[4])}`);
  });
  // One monitor of the event from the gateway for all 600 tabs.
  assert.equal(fromGateway() - before, 1, 'ENP messages the gateway sent the server node');
  const news = srv.eventList().find((e) => e.event.name === 'news');
  assert.equal(news?.subscribers, 1);
});

/** A TCP proxy to `port` that can hold what the far end sends back (and let it through later). */
class HoldProxy {
  readonly #back = new Set<Socket>();
  readonly server: Server;
  constructor(port: number) {
    this.server = createServer((inbound) => {
      const outbound = connect(port, '127.0.0.1');
      this.#back.add(outbound);
      for (const x of [inbound, outbound]) {
        x.on('error', () => undefined);
        x.on('close', () => {
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
  hold(): void {
    for (const x of this.#back) x.pause();
  }
  release(): void {
    for (const x of this.#back) x.resume();
  }
  close(): Promise<void> {
    for (const x of this.#back) x.destroy();
    return new Promise<void>((r) => this.server.close(() => r()));
  }
}

test("600 subscribes waiting for the hub's monitor: their Acks written at most 256 per turn of the loop, all of them, in order", async (t) => {
  let proxy!: HoldProxy;
  const { srv, gw, tabs } = await newsCluster(t, {}, (port) => {
    proxy = new HoldProxy(port);
    t.after(() => proxy.close());
    return proxy.listen();
  });
  const written = (): number => gw.tabs().reduce((a, x) => a + x.messagesOut, 0);
  const handled = (): number => gw.tabs().reduce((a, x) => a + x.messagesIn, 0);
  // The server node's answers held: every subscribe waits for the hub's one monitor.
  proxy.hold();
  const before = written();
  const all = perTurn(handled, TABS);
  subscribeAll(tabs, new Event('news' as Atom, srv.name));
  await within(all, 'every subscribe handled', 60_000);
  assert.equal(written(), before, 'no Ack before the monitor holds');
  const acked = perTurn(written, before + TABS);
  proxy.release();
  const { most, turns } = await within(acked, 'every Ack written', 60_000);
  assert.ok(most <= ACK_SLICE, `${most} Acks written in one turn of the loop`);
  assert.ok(turns >= TABS / ACK_SLICE, `${turns} turns for ${TABS} Acks`);
  const acks = await within(Promise.all(tabs.map((x) => x.acks)), 'every tab has its Ack', 60_000);
  for (const f of acks) assert.equal(f[4], null);
});

/** Resolves once `check()` holds, looked at in each check phase of the loop. */
function turnsUntil(check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const look = (): void => (check() ? resolve() : void setImmediate(look));
    look();
  });
}

test('600 subscribed tabs leaving at once: at most inboundTurn sessions end per turn of the loop, every one, and one unsubscribe to the server node', async (t) => {
  const { srv, g, gw, tabs } = await newsCluster(t, { inboundTurn: TURN });
  subscribeAll(tabs, new Event('news' as Atom, srv.name));
  await within(Promise.all(tabs.map((x) => x.acks)), 'every subscribe acknowledged', 60_000);
  const subscribers = (): number | undefined => srv.eventList().find((e) => e.event.name === 'news')?.subscribers;
  assert.equal(subscribers(), 1, "the gateway's one monitor");
  const fromGateway = (): number => g.network().node(srv.name).info().messagesOut;
  const before = fromGateway();

  const ended = (): number => TABS - gw.tabs().length;
  const sampled = perTurn(ended, TABS);
  const closed = Promise.all(tabs.map((x) => new Promise<number>((r) => x.ws.once('close', (code) => r(code)))));
  for (const x of tabs) x.ws.close(1000, 'left');
  const { most, turns } = await within(sampled, 'every session ended', 60_000);
  assert.ok(most <= TURN, `${most} sessions ended in one turn of the loop (inboundTurn ${TURN})`);
  assert.ok(turns >= TABS / TURN, `${turns} turns for ${TABS} sessions`);
  assert.deepEqual(new Set(await within(closed, 'every socket closed', 60_000)), new Set([1000]));
  // The hub's monitor goes with the last tab: one demonitor for all 600.
  await within(
    turnsUntil(() => subscribers() === 0),
    "the server node's event without subscribers",
    60_000,
  );
  assert.equal(fromGateway() - before, 1, 'ENP messages the gateway sent the server node');
});

/** A gateway on a server of the test's, with {@link TABS} tabs: its sockets' closes counted there. */
async function countedCluster(
  t: TestContext,
  options: Partial<TabGatewayOptions>,
): Promise<{ gw: TabGateway; tabs: StormTab[]; closes: () => number }> {
  const server = createHttpServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  let closes = 0;
  server.on('connection', (sock: Socket) => sock.once('close', () => closes++));
  const { gw, tabs } = await newsCluster(t, { ...options, server });
  return { gw, tabs, closes: () => closes };
}

test("600 tabs sending their Leave at once: at most inboundTurn of the gateway's sockets close per turn of the loop, none in the poll phase that read them, every session ends", async (t) => {
  const { gw, tabs, closes } = await countedCluster(t, { inboundTurn: TURN });
  const sampled = perTurn(closes, TABS);
  const closed = Promise.all(tabs.map((x) => new Promise<number>((r) => x.ws.once('close', (code) => r(code)))));
  for (const x of tabs) x.ws.send(LEAVE_FRAME);
  const { most, turns } = await within(sampled, "every one of the gateway's sockets closed", 60_000);
  // Closed in the check phases' turns alone: a turn's worth at most reaches a close phase (a
  // Leave's end ran in the poll phase that read it while the turn had room, and those sockets
  // and the next turn's reached the same close phase: twice the turn).
  assert.ok(most <= TURN, `${most} sockets closed in one turn of the loop (inboundTurn ${TURN})`);
  assert.ok(turns >= TABS / TURN, `${turns} turns for ${TABS} sockets`);
  // Closed without the close handshake: the tabs see the connection end (1006).
  assert.deepEqual(new Set(await within(closed, "every tab's socket closed", 60_000)), new Set([1006]));
  await within(
    turnsUntil(() => gw.tabs().length === 0),
    'every session ended',
    60_000,
  );
});

test('a tab that leaves with frames waiting for their turn: they are handled, in order, then its session ends', async (t) => {
  const N = 500;
  const { g, gw } = await gatewayNode(t, {
    inboundSlice: 10,
    admit: () => ({ names: { sink: true }, limits: { messagesPerSecond: 1e6, bytesPerSecond: 1e9 } }),
  });
  const got: number[] = [];
  let all!: () => void;
  const done = new Promise<void>((r) => (all = r));
  class Sink extends Actor {
    override handleMessage(_from: PID, m: unknown): void {
      if (got.push(m as number) === N) all();
    }
  }
  await g.spawnRegister('sink', Sink);
  const x = await stormTab(gw.url);
  const from = new PID(x.name as Atom, 1001, 0);
  const sink = new ProcessID('sink' as Atom, g.name as Atom);
  const frames = Array.from({ length: N }, (_, i) => encodeFrame([Op.Send, x.name, g.name, 0, 0, from, sink, i]));
  const closed = new Promise<number>((r) => x.ws.once('close', (code) => r(code)));
  // One message of 500 frames (10 handled as it is read, the rest in later turns), and the leave
  // right behind it on the same socket.
  writeFrames(frames, (m) => x.ws.send(m), 1 << 20);
  x.ws.close(1000, 'left');
  assert.equal(await within(closed, 'the socket closed', 20_000), 1000);
  await within(
    turnsUntil(() => gw.tabs().length === 0),
    'the session ended',
    20_000,
  );
  await within(done, 'every frame handled', 20_000);
  assert.deepEqual(
    got,
    Array.from({ length: N }, (_, i) => i),
    'all of them, in order',
  );
});
