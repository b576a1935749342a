// The frame path's shortcuts keep every frame whole and every check in place: frames a task writes
// leave in one WebSocket message (a batch) to a tab that reads batches, and one frame per message
// to one that did not say so; each frame of a batch a tab sends is held to its limits and its
// grant as if it came alone; a malformed batch is refused with a code; a publish to many tabs is
// encoded once and reaches each tab intact; an Event frame made of a shared part and a head per
// tab is byte for byte the frame encoded whole; a binary read from a Node Buffer is a copy.

import { strict as assert } from 'node:assert';
import { fork } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { Actor, Event, PID, ProcessID, type Atom } from 'ergo-ts';
import { within } from '@ergo-ts/test-support';

import {
  BATCH_MAX_FRAMES,
  Ctl,
  decodeFrame,
  encodeEventFrame,
  encodeEventHead,
  encodeEventTail,
  encodeFrame,
  eventFrame,
  Op,
  splitFrames,
  writeFrames,
  type Frame,
} from '../src/frame.js';
import { decodeValue, encodeValue } from '../src/wire.js';
import { gatewayNode, NewsActor, Subscriber, tabOf } from './helpers.js';

/** Sends every message back to its sender. */
class Echo extends Actor {
  override handleMessage(from: PID, m: unknown): void {
    this.send(from, m);
  }
}

/** A batch of `frames` as a tab writes it (several frames, one message). */
function batchOf(frames: unknown[][]): Uint8Array {
  let out: Uint8Array | null = null;
  writeFrames(
    frames.map((f) => encodeFrame(f)),
    (m) => (out = m),
    1 << 20,
  );
  return out!;
}

/** The tab's frames a frame from the gateway answers: a Refusal's count (absent: 1), else 1. */
const answers = (f: Frame): number => (f[0] === Ctl.Refusal && typeof f[7] === 'number' ? f[7] : 1);

/** A hand-made tab on the platform's WebSocket: what it sends, and every message it gets (split). */
async function rawTab(url: string, batches: boolean) {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const messages: Frame[][] = [];
  let wake: (() => void) | null = null;
  ws.onmessage = (ev) => {
    messages.push(splitFrames(new Uint8Array(ev.data as ArrayBuffer)).map((b) => decodeFrame(b)));
    wake?.();
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error('raw tab: no socket'));
  });
  /**
   * Resolves once `n` frames (after the welcome) arrived, a Refusal counting for the frames it
   * answers (its count); the messages that carried them.
   */
  const frames = async (n: number, what: string): Promise<Frame[][]> => {
    const count = (): number => messages.slice(1).reduce((k, m) => k + m.reduce((j, f) => j + answers(f), 0), 0);
    const wait = (async () => {
      while (count() < n) await new Promise<void>((r) => (wake = r));
    })();
    await within(wait, what, 20_000);
    return messages.slice(1);
  };
  ws.send(encodeFrame(batches ? [Ctl.Hello, 'good', '', false, true] : [Ctl.Hello, 'good', '']));
  await frames(0, 'the welcome');
  while (messages.length === 0) await new Promise<void>((r) => (wake = r));
  const welcome = messages[0]![0]!;
  assert.equal(welcome[0], Ctl.Welcome);
  return { name: String(welcome[1]), welcome, ws, frames };
}

test('an Event frame of a shared part and a per-tab head is the frame encoded whole, byte for byte', () => {
  const from = new PID('gw@web1', 7, 1700000000);
  const ev = new Event('news', 'gw@web1');
  for (const message of [7, 'héllo', { list: [1, null, undefined], at: new Date(5) }, Uint8Array.of(1, 2)]) {
    const tail = encodeEventTail(from, ev, 1_700_000_000_123_456_789n, message);
    for (const dst of ['tab-a.gw@web1', 'tab-bb.gw@web1']) {
      const whole = encodeFrame([Op.Event, 'gw@web1', dst, from, ev, 1_700_000_000_123_456_789n, message]);
      assert.deepEqual(eventFrame(encodeEventHead('gw@web1', dst), tail), whole);
      assert.deepEqual(encodeEventFrame('gw@web1', dst, tail), whole, 'the head written before the tail at once');
    }
  }
  // A refusal names its path in the whole frame.
  assert.throws(() => encodeEventTail(from, ev, 1n, { f: () => 1 }), {
    code: 'ERR_TAB_VALUE',
    message: /at \[6\]\.f: a function/,
  });
});

test('batches: frames split back whole, a frame bigger than the bound goes alone, malformed ones are refused', () => {
  const frames = [encodeFrame([Op.Ack, 'a@h', 'b@h', 1, null, null]), encodeValue('x'.repeat(300)), encodeFrame([9])];
  const sent: Uint8Array[] = [];
  writeFrames(frames, (m) => sent.push(m), 200);
  // The first fits the bound, the 300-byte one goes alone, the third after it.
  assert.equal(sent.length, 3);
  assert.deepEqual(
    sent.flatMap((m) => splitFrames(m)),
    frames,
  );
  const one: Uint8Array[] = [];
  writeFrames(frames, (m) => one.push(m), 1 << 16);
  assert.equal(one.length, 1);
  assert.deepEqual(splitFrames(one[0]!), frames);
  // A peer that takes no batches: one message per frame, each the frame itself.
  const plain: Uint8Array[] = [];
  writeFrames(frames, (m) => plain.push(m), 0);
  assert.deepEqual(plain, frames);
  for (const bad of [
    Uint8Array.of(0),
    Uint8Array.of(0, 0, 0, 0, 9, 1),
    Uint8Array.of(0, 0, 0, 0, 0),
    Uint8Array.of(0, 0, 0),
  ])
    assert.throws(() => splitFrames(bad), { code: 'ERR_TAB_FRAME' });
});

test('a binary read from a Node Buffer is a plain Uint8Array of its own, not a view of the socket data', () => {
  const bytes = Buffer.from(encodeValue(['pad', Uint8Array.of(1, 2, 3)]));
  const v = decodeValue(bytes) as [string, Uint8Array];
  assert.equal(Object.getPrototypeOf(v[1]), Uint8Array.prototype);
  bytes.fill(0);
  assert.deepEqual(v[1], Uint8Array.of(1, 2, 3));
});

test('the frames a task sends a tab leave together; a tab that reads no batches gets one per message', async (t) => {
  const { g, gw } = await gatewayNode(t, { admit: () => ({ names: { echo: true } }) });
  await g.spawnRegister('echo', Echo);
  const n = 50;
  for (const batches of [true, false]) {
    const raw = await rawTab(gw.url, batches);
    t.after(() => raw.ws.close());
    assert.equal(raw.welcome[5], 256 << 10, 'the welcome says how big a batch the gateway takes');
    const own = new PID(raw.name as Atom, 1, 1);
    const echo = new ProcessID('echo' as Atom, g.name);
    // One message of n sends; the echo answers each within the same task of the gateway.
    const sends = Array.from({ length: n }, (_, i) => [Op.Send, raw.name, g.name, 0, 0, own, echo, i]);
    raw.ws.send(batchOf(sends));
    const got = await raw.frames(n, `${n} echoes`);
    assert.deepEqual(
      got.flat().map((f) => f[7]),
      Array.from({ length: n }, (_, i) => i),
      'every echo, whole and in order',
    );
    if (batches) {
      assert.ok(got.length < n, `${n} echoes in ${got.length} messages`);
      // A full batch leaves at once: the tab starts on it while the gateway's task goes on.
      assert.ok(
        got.every((m) => m.length <= BATCH_MAX_FRAMES),
        `at most ${BATCH_MAX_FRAMES} frames a message while the task goes on: ${got.map((m) => m.length).join(', ')}`,
      );
    } else assert.equal(got.length, n, 'one frame per message to a tab that did not say it reads batches');
  }
});

test('each frame of a batch meets the limits and the grant as if alone; a malformed batch is refused', async (t) => {
  const { g, gw, lines } = await gatewayNode(t, {
    admit: () => ({ names: { echo: true }, limits: { messagesPerSecond: 3, maxFrameBytes: 1000 } }),
  });
  await g.spawnRegister('echo', Echo);
  const raw = await rawTab(gw.url, true);
  t.after(() => raw.ws.close());
  const own = new PID(raw.name as Atom, 1, 1);
  const echo = new ProcessID('echo' as Atom, g.name);
  const send = (m: unknown): unknown[] => [Op.Send, raw.name, g.name, 0, 0, own, echo, m];
  // A frame past maxFrameBytes, one to a name not granted, then ten that meet the rate limit.
  const frames = [
    send('x'.repeat(2000)),
    [Op.Send, raw.name, g.name, 0, 0, own, new ProcessID('board' as Atom, g.name), 'not granted'],
    ...Array.from({ length: 10 }, (_, i) => send(i)),
  ];
  const t0 = performance.now();
  raw.ws.send(batchOf(frames));
  const got = (await raw.frames(12, 'an answer for each frame')).flat();
  const seconds = (performance.now() - t0) / 1000;
  const refusalFrames = got.filter((f) => f[0] === Ctl.Refusal);
  const refusals = refusalFrames.flatMap((f) => Array<string>(answers(f)).fill((f[3] as [string, string])[0]));
  const echoed = got.filter((f) => f[0] === Op.Send).map((f) => f[7]);
  assert.deepEqual(refusals.slice(0, 2), ['ERR_TAB_FRAME', 'ERR_TAB_NOT_GRANTED']);
  assert.deepEqual(new Set(refusals.slice(2)), new Set(['ERR_TAB_RATE_LIMIT']));
  // The sends past the rate, refused in a row: one Refusal frame with their count (a flood is
  // answered with a frame per task, not per frame).
  assert.equal(refusalFrames.length, 3, 'the rate refusals in one frame');
  assert.equal(refusalFrames[2]![7] ?? 1, refusals.length - 2);
  // One second's burst, then the rate over the time the batch took; the rest refused, each counted.
  assert.ok(echoed.length >= 1 && echoed.length <= 3 + Math.ceil(3 * seconds), `${echoed.length} passed`);
  assert.equal(echoed.length + refusals.length, 12);
  assert.equal(gw.tabs()[0]!.refused, refusals.length);
  // Logged: each code's first on a line of its own, the others counted (summarised as the tab ends).
  assert.equal(lines.count(/refused: /), 3, 'one line of its own per code');
  // A batch whose lengths do not add up: refused whole, with a code, and the session goes on.
  raw.ws.send(Uint8Array.of(0, 0, 0, 0, 40, 1, 2));
  const after = (await raw.frames(13, 'the refusal of the malformed batch')).flat();
  assert.equal(after.at(-1)![0], Ctl.Refusal);
  assert.equal((after.at(-1)![3] as [string, string])[0], 'ERR_TAB_FRAME');
  gw.disconnect(raw.name);
  assert.equal(lines.refusals(), refusals.length + 1, 'every refusal in the log');
});

test('one publish to many tabs is encoded once, and every tab has it whole', async (t) => {
  const { g, gw } = await gatewayNode(t, { admit: () => ({ events: ['news'] }) });
  const news = await g.spawnRegister('news', NewsActor);
  const tabs = await Promise.all([0, 1, 2].map(() => tabOf(t, gw)));
  const got: unknown[] = [];
  let all!: () => void;
  const done = new Promise<void>((r) => (all = r));
  await Promise.all(
    tabs.map((tab) =>
      tab.node.spawn(
        () =>
          new Subscriber(new Event('news' as Atom, g.name), (m) => {
            got.push(m.message);
            if (got.length === tabs.length) all();
          }),
      ),
    ),
  );
  // The encoder reads the getter once per encoding of the message.
  let reads = 0;
  g.send(news, {
    get text() {
      reads++;
      return 'hello';
    },
  });
  await within(done, 'every tab has the publish', 20_000);
  assert.deepEqual(got, [{ text: 'hello' }, { text: 'hello' }, { text: 'hello' }]);
  assert.equal(reads, 1, 'encoded once for the three tabs');
});

test("a tab's sends of one task leave in messages of at most 16 frames, and each arrives", async (t) => {
  const { g, gw } = await gatewayNode(t, { admit: () => ({ names: { echo: true } }) });
  await g.spawnRegister('echo', Echo);
  // The platform's WebSocket, counting the messages the tab writes.
  let written = 0;
  class CountingSocket extends WebSocket {
    override send(data: Uint8Array): void {
      written++;
      super.send(data);
    }
  }
  const tab = await tabOf(t, gw, 'good', { WebSocket: CountingSocket as never });
  const n = 50;
  const back: unknown[] = [];
  let all!: () => void;
  const done = new Promise<void>((r) => (all = r));
  class Sender extends Actor {
    override init(): void {
      const echo = new ProcessID('echo' as Atom, g.name);
      for (let i = 0; i < n; i++) this.send(echo, i);
    }
    override handleMessage(_from: PID, m: unknown): void {
      back.push(m);
      if (back.length === n) all();
    }
  }
  const before = written;
  await tab.node.spawn(Sender);
  await within(done, `${n} echoes`, 20_000);
  assert.deepEqual(
    back,
    Array.from({ length: n }, (_, i) => i),
  );
  assert.ok(written - before < n, `${n} sends in ${written - before} messages`);
  // A full batch leaves at once: the gateway starts on it while the task goes on.
  assert.ok(written - before >= Math.ceil(n / BATCH_MAX_FRAMES), `${n} sends in ${written - before} messages`);
  assert.equal(gw.tabs()[0]!.messagesIn, n, 'the gateway counted each frame of the batches');
});

test('a frame held for a tab away keeps only its own bytes, not the batch it came in', async () => {
  // In a process of its own, with --expose-gc (held_fixture.ts): 100 batches of a small frame for
  // the away tab and a refused 200 KB frame.
  const file = fileURLToPath(new URL('./held_fixture.js', import.meta.url));
  const proc = fork(file, [], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const report = new Promise<{ grew: number; held: number; big: number; batches: number }>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as { grew: number; held: number; big: number; batches: number }));
    proc.once('exit', (code) => reject(new Error(`held_fixture exited (${String(code)}) without a report`)));
  });
  const r = await within(report, "the fixture's report", 60_000);
  assert.ok(r.held > 0 && r.held < r.batches * 1000, `${r.held} bytes held for the away tab`);
  assert.ok(r.grew < r.big / 4, `${r.grew} ArrayBuffer bytes stay alive for ${r.held} held (${r.big} refused)`);
});
