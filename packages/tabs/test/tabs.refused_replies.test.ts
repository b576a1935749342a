// Refusals that reach whoever waits for them: a tab's reply refused for a limit fails its
// caller at once with the refusal's code (a process on the gateway node and one on a server node
// in another OS process), and a refusal meets a tab's full queue: it takes a room above the queue
// that only refusals use, and a tab past that room too is ended (close 4029, ERR_TAB_QUEUE_FULL)
// after its last refusal, so no call or important send of it waits for its timeout.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { PID, ProcessID, type Atom, type ErgoError } from 'ergo-ts';

import { Ctl, encodeFrame, Op, writeFrames } from '../src/frame.js';
import { BoardActor, gatewayNode, pidJson, rawTab, serverProcess, tabOf } from './helpers.js';
import { Board } from './protocols.js';

type Raw = Awaited<ReturnType<typeof rawTab>>;

/** Answers the next call frame `raw` gets with `reply` (a reply the gateway refuses). */
async function replyTo(raw: Raw, reply: unknown): Promise<void> {
  const c = await raw.next();
  assert.equal(c[0], Op.Call);
  raw.send([Op.Response, raw.name, c[1], 0, 0, c[6], c[5], c[7], true, reply]);
}

test('a reply above maxFrameBytes: the caller on the gateway node fails at once with ERR_TAB_FRAME', async (t) => {
  const { g, gw } = await gatewayNode(t, { admit: () => ({ limits: { maxFrameBytes: 2000 } }) });
  const raw = await rawTab(gw.url);
  t.after(() => raw.close());
  // Without the refusal's answer it would fail at its timeout, with ERR_TIMEOUT.
  const call = g.call(new PID(raw.name as Atom, 1, 0), 'q');
  await replyTo(raw, 'r'.repeat(5000));
  await assert.rejects(call, { code: 'ERR_TAB_FRAME' });
  const refusal = await raw.next();
  assert.deepEqual([refusal[0], refusal[4], (refusal[3] as string[])[0]], [Ctl.Refusal, 'response', 'ERR_TAB_FRAME']);
});

test('a reply past bytes/s: the caller on a server node in another process fails with ERR_TAB_BYTES_LIMIT', async (t) => {
  const { g, gw } = await gatewayNode(t, { admit: () => ({ limits: { bytesPerSecond: 300 } }) });
  const srv = await serverProcess(t, g);
  const raw = await rawTab(gw.url);
  t.after(() => raw.close());
  const call = srv.ipc.value('call', { pid: pidJson(new PID(raw.name as Atom, 1, 0)) });
  // More bytes than the bucket ever holds (one second's worth): refused whatever the time.
  await replyTo(raw, 'r'.repeat(500));
  await assert.rejects(call, { code: 'ERR_TAB_BYTES_LIMIT' });
});

test('refusals past a full queue take the room kept for them: every request hears its code, in order', async (t) => {
  const { g, gw } = await gatewayNode(t, {
    admit: () => ({ names: { board: Board }, limits: { queuedBytes: 1000 } }),
  });
  await g.spawnRegister('board', () => new BoardActor());
  const raw = await rawTab(gw.url);
  t.after(() => raw.close());
  const own = new PID(raw.name as Atom, 1, 1);
  const nope = new ProcessID('nope' as Atom, g.name);
  // One message of 20 important sends to a name not granted: their refusals, written at the end
  // of the gateway's task, pass the 1000 bytes the tab's queue holds.
  const frames = [];
  for (let id = 1; id <= 20; id++) frames.push(encodeFrame([Op.Send, raw.name, g.name, id, 0, own, nope, 'x']));
  writeFrames(frames, (m) => raw.send(m), 1 << 20);
  const seen: [number, unknown][] = [];
  const take = async (): Promise<void> => {
    const f = await raw.next();
    seen.push([f[0], f[0] === Ctl.Refusal ? f[2] : f[3]]);
  };
  // The first refusal leaves at once, the others together at the end of that task: once the first
  // is here, a send in a later task is answered after all of them.
  await take();
  raw.send([Op.Send, raw.name, g.name, 99, 0, own, new ProcessID('board' as Atom, g.name), 'after']);
  for (let i = 0; i < 20; i++) await take();
  const want: [number, unknown][] = Array.from({ length: 20 }, (_, i) => [Ctl.Refusal, i + 1]);
  assert.deepEqual(seen, [...want, [Op.Ack, 99]]);
  assert.equal(gw.tabs().length, 1, 'the tab stays');
});

test('a tab past its queue and the refusals room: its last refusal, then its session ends with ERR_TAB_QUEUE_FULL', async (t) => {
  const { g, gw, lines } = await gatewayNode(t, {
    // The whole batch in one turn (the default slice, 64 frames, refuses it over several turns,
    // each turn's refusals within the room: slices.ts).
    inboundSlice: 1000,
    admit: () => ({ names: { board: Board }, limits: { queuedBytes: 1000, messagesPerSecond: 100_000 } }),
  });
  await g.spawnRegister('board', () => new BoardActor());
  const codes: string[] = [];
  // The tab's own WebSocket, to write one message of many frames as a page of its own build
  // would not: a tab node sends at most 16 frames a message (frame.ts: BATCH_MAX_FRAMES).
  let socket: WebSocket | null = null;
  class OwnSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      socket = this;
    }
  }
  const tab = await tabOf(t, gw, 'good', {
    onRefusal: (e: ErgoError) => codes.push(e.code),
    WebSocket: OwnSocket as never,
  });
  const nope = new ProcessID('nope' as Atom, g.name);
  const own = new PID(tab.node.name, 1, tab.node.creation);
  // 400 sends in one message: 400 refusals at the gateway's end of that task, far past the queue
  // and the room (about 130 refusals).
  const sends = Array.from({ length: 400 }, (_, i) =>
    encodeFrame([Op.Send, tab.node.name, g.name, 0, 0, own, nope, i]),
  );
  writeFrames(sends, (m) => socket!.send(m), 1 << 20);
  const call = tab.node.call(new ProcessID('board' as Atom, g.name), 1).then(
    () => 'answered',
    (e: ErgoError) => e.code,
  );
  assert.equal(await call, 'ERR_NO_CONNECTION', 'the call after them fails as at a node down');
  const reason = (await tab.ended) as ErgoError;
  assert.equal(reason.code, 'ERR_TAB_QUEUE_FULL');
  assert.ok(codes.length > 1 && codes.length < 400, `${codes.length} refusals heard before the end`);
  assert.deepEqual(new Set(codes), new Set(['ERR_TAB_NOT_GRANTED']));
  assert.equal(gw.tabs().length, 0, 'the session ended');
  await lines.waitFor(/ended: its queue is full, refusals too/, 'the end logged');
});

test('answers a tab is owed past a full queue take the refusals room: each important send hears its Ack', async (t) => {
  const { g, gw, lines } = await gatewayNode(t, {
    admit: () => ({ names: { board: Board }, limits: { queuedBytes: 300 } }),
  });
  await g.spawnRegister('board', () => new BoardActor());
  const raw = await rawTab(gw.url);
  t.after(() => raw.close());
  const own = new PID(raw.name as Atom, 1, 1);
  const board = new ProcessID('board' as Atom, g.name);
  // One message of 30 important sends to a granted name: their Acks, written in one task, pass
  // the 300 bytes the tab's queue holds. Without the room, those past it were only logged.
  const frames = [];
  for (let id = 1; id <= 30; id++) frames.push(encodeFrame([Op.Send, raw.name, g.name, id, 0, own, board, 'x']));
  writeFrames(frames, (m) => raw.send(m), 1 << 20);
  const acks: unknown[] = [];
  for (let i = 0; i < 30; i++) {
    const f = await raw.next();
    assert.equal(f[0], Op.Ack);
    acks.push(f[3]);
  }
  assert.deepEqual(
    acks,
    Array.from({ length: 30 }, (_, i) => i + 1),
  );
  assert.equal(gw.tabs().length, 1, 'the tab stays');
  assert.ok(!lines.lines.some((l) => /answer to .* lost/.test(l)), 'no answer lost');
});
