// One frame per publish for every tab that reads shared Event frames (shared_frame.ts): a tab whose
// hello says so (field 6, confirmed by the welcome's field 9) gets the publish's one frame, whose
// destination is '' and which it reads as its own (decodeFrame's `self`); a tab of an older build
// (no field 6) gets its own frame as before. A tab's frames keep their order when some of them
// wait (the broadcast's slices, the task's batch), and a frame written past `ws` never overtakes
// what `ws` itself still has of the socket (the seam's guard, on the pinned `ws`).

import { strict as assert } from 'node:assert';
import { createServer } from 'node:http';
import { test } from 'node:test';

import { Actor, Event, PID, type Atom, type Ref } from 'ergo-ts';
import { within } from '@ergo-ts/test-support';
import { WebSocket, WebSocketServer } from 'ws';

import { Ctl, decodeFrame, encodeFrame, Op, type Frame } from '../src/frame.js';
import { wholeFrame, writeWhole } from '../src/shared_frame.js';
import { gatewayNode } from './helpers.js';
import { binaryFrame, RawSocket } from './raw_socket.js';

/** Publishes what it is sent, then sends `after` (if any) to each PID in `to`, in the same handler. */
class News extends Actor {
  token!: Ref;
  static to: PID[] = [];
  override init(): void {
    this.token = this.registerEvent('news');
  }
  override handleMessage(_from: PID, m: unknown): void {
    const { events, after } = m as { events: unknown[]; after?: string };
    for (const e of events) this.sendEvent('news', this.token, e);
    if (after !== undefined) for (const p of News.to) this.send(p, after);
  }
}

/** A raw tab (hello field 6 `shared` or none), subscribed to `news` of node `node`. */
async function subscribedTab(url: string, node: string, shared: boolean): Promise<{ raw: RawSocket; welcome: Frame }> {
  const raw = await RawSocket.open(url);
  raw.write(binaryFrame(shared ? [Ctl.Hello, 't', '', false, false, null, true] : [Ctl.Hello, 't', '']));
  const welcome = await raw.next();
  assert.equal(welcome[0], Ctl.Welcome);
  const name = String(welcome[1]);
  const pid = new PID(name as Atom, 1001, 0);
  raw.write(binaryFrame([Op.Relation, name, node, 1, 'monitor', pid, new Event('news' as Atom, node as Atom)]));
  const ack = await raw.next();
  assert.equal(ack[0], Op.Ack);
  assert.equal(ack[4], null);
  return { raw, welcome };
}

/** The next message of `raw`, decoded or as its bytes (a shared frame is no tab's until read with its `self`). */
function nextMessage(raw: RawSocket): Promise<Frame | Uint8Array> {
  const next = async (): Promise<Frame | Uint8Array> => {
    while (raw.messages.length === 0) await new Promise((r) => setImmediate(r));
    return raw.messages.shift()!;
  };
  return within(next(), 'a message from the gateway');
}

/** The next message of `raw` as bytes (a shared frame). */
async function nextBytes(raw: RawSocket): Promise<Uint8Array> {
  const m = await nextMessage(raw);
  assert.ok(m instanceof Uint8Array, 'a shared frame is no frame without the reader’s own name');
  return m;
}

test('a tab that reads shared frames gets the publish’s one frame; a tab of an older build its own', async (t) => {
  const { g, gw } = await gatewayNode(t, { admit: () => ({ events: ['news'] }) });
  const news = await g.spawnRegister('news', News);
  const old = await subscribedTab(gw.url, g.name, false);
  const a = await subscribedTab(gw.url, g.name, true);
  const b = await subscribedTab(gw.url, g.name, true);
  t.after(() => [old, a, b].forEach((x) => x.raw.destroy()));
  assert.equal(old.welcome[9], false, 'the welcome of a hello without field 6 says no shared frames');
  assert.equal(a.welcome[9], true);

  g.send(news, { events: ['hello'] });
  const own = await within(old.raw.next(), 'the old tab hears the publish');
  assert.deepEqual([own[0], own[1], own[2], own[6]], [Op.Event, g.name, old.welcome[1], 'hello']);

  const [ba, bb] = await within(Promise.all([nextBytes(a.raw), nextBytes(b.raw)]), 'the new tabs hear it');
  assert.deepEqual(ba, bb, 'the same bytes for every tab that reads shared frames');
  assert.throws(() => decodeFrame(ba), { code: 'ERR_TAB_FRAME' }, 'its destination is no node');
  for (const [bytes, w] of [
    [ba, a.welcome],
    [bb, b.welcome],
  ] as const) {
    const f = decodeFrame(bytes, String(w[1]));
    assert.deepEqual([f[0], f[1], f[2], f[6]], [Op.Event, g.name, w[1], 'hello']);
    assert.ok(f[3] instanceof PID && f[4] instanceof Event);
  }
  // Only an Event frame's destination reads as the reader's own: any other frame stays refused.
  const send = encodeFrame([Op.Send, g.name, '', 0, 0, new PID(g.name, 1, 0), 'x']);
  assert.throws(() => decodeFrame(send, String(a.welcome[1])), { code: 'ERR_TAB_FRAME' });
});

test('a tab that reads shared frames keeps its order: events waiting for their slices, then a message', async (t) => {
  // fanOutSlice 1: of each publish one tab's frame goes now, the others wait for later turns; the
  // message after them in the same handler takes them along first (session.ts).
  const { g, gw } = await gatewayNode(t, { fanOutSlice: 1, admit: () => ({ events: ['news'] }) });
  const news = await g.spawnRegister('news', News);
  const tabs = await Promise.all([0, 1, 2].map(() => subscribedTab(gw.url, g.name, true)));
  t.after(() => tabs.forEach((x) => x.raw.destroy()));
  News.to = tabs.map((x) => new PID(String(x.welcome[1]) as Atom, 1001, 0));
  g.send(news, { events: [1, 2, 3], after: 'after' });
  for (const x of tabs) {
    const self = String(x.welcome[1]);
    const seen: unknown[] = [];
    while (seen.length < 4) {
      const m = await nextMessage(x.raw);
      const f = m instanceof Uint8Array ? decodeFrame(m, self) : m;
      seen.push(f[0] === Op.Event ? f[6] : f[0] === Op.Send ? f[7] : `op ${String(f[0])}`);
    }
    assert.deepEqual(seen, [1, 2, 3, 'after'], self);
  }
});

test('a whole frame written past ws goes only when ws has nothing of the socket under way', async (t) => {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const accepted = new Promise<WebSocket>((r) => wss.once('connection', r));
  const client = new WebSocket(`ws://127.0.0.1:${(http.address() as { port: number }).port}`);
  t.after(() => {
    client.terminate();
    wss.close();
    http.closeAllConnections();
    http.close();
  });
  const got: string[] = [];
  let wanted = 0;
  let wake: (() => void) | null = null;
  client.on('message', (d: Buffer, binary: boolean) => {
    got.push(`${binary ? 'b' : 't'}:${d.toString()}`);
    if (got.length >= wanted) wake?.();
  });
  const server = await accepted;
  const until = (n: number): Promise<void> => {
    wanted = n;
    return got.length >= n ? Promise.resolve() : within(new Promise<void>((r) => (wake = r)), `${n} messages`);
  };
  const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

  // Idle: written whole, read as one binary message (the pinned ws's Sender fields are as read).
  assert.equal(writeWhole(server, wholeFrame(bytes('one'))), true);
  await until(1);
  // A Blob under way (ws reads it before framing it): nothing is written past it.
  server.send(new Blob([bytes('two')]));
  assert.equal(writeWhole(server, wholeFrame(bytes('three'))), false);
  server.send(bytes('three'));
  await until(3);
  // A frame past 125 and past 65,535 bytes: the longer length headers.
  assert.equal(writeWhole(server, wholeFrame(bytes('x'.repeat(300)))), true);
  assert.equal(writeWhole(server, wholeFrame(bytes('y'.repeat(70_000)))), true);
  await until(5);
  assert.deepEqual(got.slice(0, 3), ['b:one', 'b:two', 'b:three']);
  assert.equal(got[3], `b:${'x'.repeat(300)}`);
  assert.equal(got[4], `b:${'y'.repeat(70_000)}`);
  // Not a ws WebSocket, or one that is closing: nothing written.
  assert.equal(writeWhole({ readyState: 1, send() {} }, wholeFrame(bytes('z'))), false);
  server.close();
  assert.equal(writeWhole(server, wholeFrame(bytes('z'))), false);
});
