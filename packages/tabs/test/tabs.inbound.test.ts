// A flood cannot hold the gateway's event loop: a tab's frames are handled `inboundSlice` per turn
// of the loop, the rest waiting (its socket paused) for later turns, so an honest tab's call read
// meanwhile is answered before the flood's last frame is handled; the flood's frames all arrive,
// in order. And the refusal path stays cheap: a frame past a limit is refused with the limit's
// own error (no Error made per frame), the same code at the tab.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { Actor, PID, ProcessID, type Atom, type Ref } from 'ergo-ts';
import { within } from '@ergo-ts/test-support';

import { joinLight } from '../src/light/index.js';
import { encodeFrame, Op, writeFrames } from '../src/frame.js';
import { gatewayNode, rawTab } from './helpers.js';

const FLOOD = 2000;

test("an honest tab's call is answered while a flooding tab's batch of 2,000 frames is still being handled", async (t) => {
  const { g, gw } = await gatewayNode(t, {
    inboundSlice: 100,
    admit: () => ({ names: { sink: true, echo: true }, limits: { messagesPerSecond: 1e6, bytesPerSecond: 1e9 } }),
  });
  const got: number[] = [];
  let first!: () => void;
  let all!: () => void;
  const started = new Promise<void>((r) => (first = r));
  const done = new Promise<void>((r) => (all = r));
  class Sink extends Actor {
    override handleMessage(_from: PID, m: unknown): void {
      got.push(m as number);
      if (got.length === 1) first();
      if (got.length === FLOOD) all();
    }
  }
  let atCall = -1;
  class Echo extends Actor {
    override handleCall(_from: PID, _ref: Ref, req: unknown): unknown {
      atCall = got.length;
      return req;
    }
  }
  await g.spawnRegister('sink', Sink);
  await g.spawnRegister('echo', Echo);
  const honest = await joinLight({ url: gw.url, token: 't' });
  t.after(async () => honest.leave());
  const echo = new ProcessID('echo' as Atom, g.name as Atom);
  assert.equal(await honest.call(echo, 'warm'), 'warm');
  // One WebSocket message of 2,000 frames (a batch, as a hostile page may send): without slices the
  // gateway would handle all of it in the task that read it.
  const flood = await rawTab(gw.url);
  t.after(async () => flood.close());
  const sink = new ProcessID('sink' as Atom, g.name as Atom);
  const from = new PID(flood.name as Atom, 1001, 0);
  const frames = Array.from({ length: FLOOD }, (_, i) =>
    encodeFrame([Op.Send, flood.name, g.name, 0, 0, from, sink, i]),
  );
  writeFrames(frames, (m) => flood.send(m), 1 << 20);
  // The gateway has begun on the batch: the honest tab calls now.
  await within(started, 'the sink has the flood’s first message', 20_000);
  assert.equal(await honest.call(echo, 'during'), 'during');
  assert.ok(atCall >= 1 && atCall < FLOOD, `the call was handled with ${atCall} of ${FLOOD} flood frames handled`);
  await within(done, 'every frame of the flood handled', 20_000);
  assert.deepEqual(
    got,
    Array.from({ length: FLOOD }, (_, i) => i),
    'all of them, in order',
  );
  const info = gw.tabs().find((x) => x.node === flood.name)!;
  assert.equal(info.messagesIn, FLOOD);
  assert.equal(info.refused, 0);
});

test('a tab past its rate limit is refused frame by frame with ERR_TAB_RATE_LIMIT, in slices, its calls too', async (t) => {
  const { g, gw, lines } = await gatewayNode(t, {
    inboundSlice: 50,
    admit: () => ({ names: { sink: true, echo: true }, limits: { messagesPerSecond: 100 } }),
  });
  class Echo extends Actor {
    override handleCall(_from: PID, _ref: Ref, req: unknown): unknown {
      return req;
    }
  }
  class Sink extends Actor {}
  await g.spawnRegister('sink', Sink);
  await g.spawnRegister('echo', Echo);
  const refusals: string[] = [];
  const tab = await joinLight({ url: gw.url, token: 't', onRefusal: (e) => refusals.push(e.code) });
  t.after(async () => tab.leave());
  const sink = new ProcessID('sink' as Atom, g.name as Atom);
  const echo = new ProcessID('echo' as Atom, g.name as Atom);
  for (let i = 0; i < 1000; i++) tab.send(sink, i);
  const calls = await Promise.all(
    Array.from({ length: 50 }, () =>
      tab.call(echo, 'x').then(
        () => 'ok',
        (e: { code?: string }) => e.code ?? '?',
      ),
    ),
  );
  // One second's burst (100) passed at most, plus what the rate refilled meanwhile; the rest and
  // the calls behind them: refused with the code, none timed out.
  assert.deepEqual(
    [...new Set(calls)].filter((c) => c !== 'ok'),
    ['ERR_TAB_RATE_LIMIT'],
  );
  // The sends' refusals came before the calls' (one socket, in order): every one is in.
  assert.equal(gw.tabs()[0]!.refused, refusals.length + calls.filter((c) => c !== 'ok').length);
  assert.ok(refusals.length >= 800, `${refusals.length} sends refused`);
  assert.deepEqual(new Set(refusals), new Set(['ERR_TAB_RATE_LIMIT']));
  // The sends' refusals went as a Refusal frame per run of them (per slice), each with its count,
  // not one frame per send: the gateway wrote far fewer frames than it refused.
  const out = gw.tabs()[0]!.messagesOut;
  assert.ok(out <= refusals.length / 4, `${out} frames written for ${refusals.length} refused sends and 50 calls`);
  assert.equal(
    lines.count(/send refused: tab message rate limit exceeded \(100\/s\)/),
    1,
    'one line of its own, the limit named',
  );
});
