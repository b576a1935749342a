// A storm of many tabs at once cannot hold the gateway's event loop (issue 93): 14,000 tabs that
// each subscribe once were read and handled in one poll phase of the loop, so the gateway read its
// link to the server node behind every tab and the server declared it stalled. Here 600 tabs each
// send one subscribe frame to a server node's event in one go (their sockets all readable in the
// same poll phase): the gateway handles at most `inboundTurn` of them per turn of its loop, every
// subscription is acknowledged, in order per tab, and the server node gets one subscription for
// all of them (the gateway's hub), not one per tab.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { Actor, Event, PID, startNode, type Atom, type Ref } from 'ergo-ts';
import { within } from '@ergo-ts/test-support';
import { WebSocket } from 'ws';

import { Ctl, decodeFrame, encodeFrame, Op, type Frame } from '../src/frame.js';
import { COOKIE, gatewayNode, portOf, quiet, routeTo } from './helpers.js';

const TABS = 600;
const TURN = 50;

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

test('600 tabs subscribing at once: at most inboundTurn handled per turn of the loop, every one acknowledged, one subscription at the server node', async (t) => {
  const srv = await startNode(`stormsrv${process.pid}@localhost`, {
    ...quiet(),
    network: { cookie: COOKIE, acceptors: [{ port: 0 }], registrar: null },
  });
  t.after(() => srv.stop());
  await srv.spawnRegister('news', News);
  const { g, gw } = await gatewayNode(t, { inboundTurn: TURN, admit: () => ({ events: ['news'] }) });
  g.network().addRoute(srv.name.replace(/[.$]/g, '\\$&'), routeTo(portOf(srv)), 1);
  await g.network().getNode(srv.name);
  const fromGateway = (): number => g.network().node(srv.name).info().messagesOut;
  const before = fromGateway();

  const tabs: StormTab[] = [];
  for (let i = 0; i < TABS; i += 100)
    tabs.push(...(await Promise.all(Array.from({ length: 100 }, () => stormTab(gw.url)))));
  t.after(() => {
    for (const x of tabs) x.ws.terminate();
  });
  const event = new Event('news' as Atom, srv.name);
  const handled = (): number => gw.tabs().reduce((a, x) => a + x.messagesIn, 0);

  // The frames handled between two check phases of the loop (one turn), sampled until all are.
  let last = handled();
  let most = 0;
  let turns = 0;
  const sampled = new Promise<void>((resolve) => {
    const sample = (): void => {
      const now = handled();
      most = Math.max(most, now - last);
      last = now;
      turns++;
      if (now >= TABS) resolve();
      else setImmediate(sample);
    };
    setImmediate(sample);
  });
  // Every tab's subscribe written now, in this task: the gateway reads them all in its next poll phase.
  for (const x of tabs) {
    const pid = new PID(x.name as Atom, 1001, 0);
    x.ws.send(encodeFrame([Op.Relation, x.name, srv.name, 7, 'monitor', pid, event]));
  }
  await within(sampled, 'every subscribe handled', 60_000);
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
