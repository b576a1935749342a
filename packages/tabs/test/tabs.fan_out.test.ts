// A broadcast yields to calls: a publish to many tabs is written `fanOutSlice` frames per turn of
// the gateway's event loop, or for `fanOutSliceMs` of it, whichever ends first, so a tab's call
// that reaches the gateway during the fan-out is answered before the last subscribed tab has its
// frame (not after the whole fan-out; with neither bound, after it); every tab
// still gets the publish, and a tab's frames keep their order: a message sent to a tab after a
// publish, while the tab's event frame waits for its slice, reaches the tab after that event.

import { strict as assert } from 'node:assert';
import { test, type TestContext } from 'node:test';

import { Actor, Event, ProcessID, type Atom, type PID, type Ref } from 'ergo-ts';
import { within } from '@ergo-ts/test-support';

import { joinLight, type LightTab } from '../src/light/index.js';
import type { TabGateway } from '../src/index.js';
import { gatewayNode } from './helpers.js';

/** `count` light tabs subscribed to the gateway's `news`; `heard` resolves once each heard `seq`. */
async function subscribed(
  t: Parameters<typeof gatewayNode>[0],
  gw: TabGateway,
  gateway: string,
  count: number,
  seq: number,
  onEvent: (tab: LightTab) => void = () => undefined,
): Promise<{ tabs: LightTab[]; heard: Promise<void> }> {
  const tabs: LightTab[] = [];
  let left = count;
  let all!: () => void;
  const heard = new Promise<void>((r) => (all = r));
  for (let i = 0; i < count; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, count - i) }, () => joinLight({ url: gw.url, token: 't' })),
    );
    tabs.push(...batch);
  }
  t.after(async () => {
    for (const x of tabs) x.leave();
  });
  await Promise.all(
    tabs.map((tab) =>
      tab.subscribe(new Event('news' as Atom, gateway as Atom), (m) => {
        onEvent(tab);
        if (m === seq && --left === 0) all();
      }),
    ),
  );
  return { tabs, heard: within(heard, `${count} tabs hear publish ${seq}`, 60_000) };
}

class News extends Actor {
  token!: Ref;
  override init(): void {
    this.token = this.registerEvent('news');
  }
  override handleMessage(_from: PID, m: unknown): void {
    this.sendEvent('news', this.token, m);
  }
}

/**
 * A call of an unsubscribed tab during a publish to 600 subscribed tabs, at a gateway with
 * `slices`: how many of the 600 frames the gateway had written when the call was handled.
 */
async function callDuringBroadcast(
  t: TestContext,
  slices: { fanOutSlice?: number; fanOutSliceMs?: number },
): Promise<{ atCall: number; count: number }> {
  const { g, gw } = await gatewayNode(t, {
    ...slices,
    admit: () => ({ names: { echo: true }, events: ['news'] }),
  });
  const count = 600;
  const news = await g.spawnRegister('news', News);
  const { tabs, heard } = await subscribed(t, gw, g.name, count, 1);
  const names = new Set(tabs.map((x) => x.name));
  // The frames written to the subscribed tabs so far (the gateway's count per tab).
  const written = (): number =>
    gw
      .tabs()
      .filter((x) => names.has(x.node))
      .reduce((n, x) => n + x.messagesOut, 0);
  let atCall = -1;
  let base = 0;
  class Echo extends Actor {
    override handleCall(_from: PID, _ref: Ref, req: unknown): unknown {
      atCall = written() - base;
      return req;
    }
  }
  await g.spawnRegister('echo', Echo);
  const honest = await joinLight({ url: gw.url, token: 't' });
  t.after(() => honest.leave());
  const echo = new ProcessID('echo' as Atom, g.name as Atom);
  assert.equal(await honest.call(echo, 'warm'), 'warm');
  base = written();
  // The call leaves the honest tab now; the publish starts on the gateway's node in this task.
  const answer = honest.call(echo, 'during');
  g.send(news, 1);
  assert.equal(await answer, 'during');
  await heard;
  assert.equal(written() - base, count, 'every subscribed tab got the publish, once');
  return { atCall, count };
}

test("a tab's call during a broadcast to 600 tabs is answered before the broadcast's last frame is written", async (t) => {
  const { atCall, count } = await callDuringBroadcast(t, { fanOutSlice: 50 });
  assert.ok(atCall >= 0 && atCall < count, `the call was handled with ${atCall} of ${count} frames written`);
});

test('a slice ends when its time is spent, whatever its count: the call is answered before the last frame', async (t) => {
  // No frame count would end a slice here (1e9): only fanOutSliceMs does (a microsecond, read
  // every 8 frames: a slice of 8). With `fanOutSliceMs: Infinity` the 600 go in one turn and the
  // call is handled after the last.
  const { atCall, count } = await callDuringBroadcast(t, { fanOutSlice: 1e9, fanOutSliceMs: 0.001 });
  assert.ok(atCall >= 0 && atCall < count, `the call was handled with ${atCall} of ${count} frames written`);
});

test('with neither bound a broadcast is one turn: the call is handled after the last frame', async (t) => {
  // The check above can fail: the same publish, no bound, and the call waits for all 600.
  const { atCall, count } = await callDuringBroadcast(t, { fanOutSlice: 1e9, fanOutSliceMs: Infinity });
  assert.equal(atCall, count);
});

test("a tab's frames keep their order: a message after a publish waits for (and takes along) its event", async (t) => {
  const { g, gw } = await gatewayNode(t, { fanOutSlice: 1, admit: () => ({ events: ['news'] }) });
  const order = new Map<string, string[]>();
  const boxes: PID[] = [];
  class Both extends Actor {
    token!: Ref;
    override init(): void {
      this.token = this.registerEvent('news');
    }
    override handleMessage(): void {
      this.sendEvent('news', this.token, 1);
      for (const b of boxes) this.send(b, 'after');
    }
  }
  const both = await g.spawnRegister('news', Both);
  const { tabs, heard } = await subscribed(t, gw, g.name, 4, 1, (tab) => order.get(tab.name)!.push('event'));
  let mail!: () => void;
  let got = 0;
  const mailed = new Promise<void>((r) => (mail = r));
  for (const tab of tabs) {
    order.set(tab.name, []);
    const box = tab.mailbox({
      message: () => {
        order.get(tab.name)!.push('message');
        if (++got === tabs.length) mail();
      },
    });
    boxes.push(box.pid as PID);
  }
  // The publish (one frame per tab: the first now, the other three wait for their slices), then a
  // message to a mailbox of every tab in the same handler: the waiting events go first.
  g.send(both, 'go');
  await heard;
  await within(mailed, 'every tab has the message', 30_000);
  for (const tab of tabs) assert.deepEqual(order.get(tab.name), ['event', 'message'], tab.name);
});
