// A hostile round (issue 93): one real gateway on port 0, and at once beside an honest light tab
// that calls in a row, everything a hostile or broken page can send: a flood of calls, important
// sends and plain sends past the rate limit; hellos that are garbage, cut short, text, empty, a
// Leave, or followed in the same read by a frame before the welcome; a Leave with a payload, a
// Leave followed by more frames and a second Leave; unknown and misplaced control codes; a frame
// above the tab's maxFrameBytes and a message past what `ws` takes; and a socket that never reads
// (its queue fills, the server's sends meet ERR_TAB_QUEUE_FULL, then its refusals fill their room
// and the gateway ends it). The raw parties speak WebSocket byte for byte on bare TCP
// (raw_socket.ts), several frames in one write, so the gateway reads them in one chunk.
//
// Each is refused with its documented code (at the tab where it has one, logged at the gateway),
// no rejection goes unhandled, the gateway node lives, every honest call is answered, and every
// hostile session ends: the gateway holds the honest tab's session alone at the end.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { Actor, PID, ProcessID, type Atom } from 'ergo-ts';
import { within } from '@ergo-ts/test-support';

import { joinLight } from '../src/light/index.js';
import { Ctl, encodeFrame, LEAVE_FRAME, Op, type Frame } from '../src/frame.js';
import { BoardActor, gatewayNode, type LogLines } from './helpers.js';
import { binaryFrame, RawSocket, textFrame } from './raw_socket.js';
import { Board } from './protocols.js';

/** Keeps every message it gets. */
class Sink extends Actor {
  constructor(readonly got: unknown[]) {
    super();
  }
  override handleMessage(_from: PID, m: unknown): void {
    this.got.push(m);
  }
}

/** Per-token limits of the round's grants (the gateway's own: maxFrameBytes 16 KiB, so `ws` closes past 64 KiB). */
const LIMITS: Record<string, object> = {
  honest: { messagesPerSecond: 1e6, bytesPerSecond: 1e9 },
  flood: { messagesPerSecond: 50 },
  // Its refusals each a frame of their own (no rate limit bundles them): they fill their room.
  slow: { queuedBytes: 64 << 10, messagesPerSecond: 1e6, bytesPerSecond: 1e9 },
  small: { maxFrameBytes: 4096 },
  raw: {},
};

/** The code of a Refused (before the welcome) or Refusal (after) frame. */
function codeOf(f: Frame): string {
  if (f[0] === Ctl.Refused) return (f[1] as [string, string])[0];
  if (f[0] === Ctl.Refusal) return (f[3] as [string, string])[0];
  return `op ${String(f[0])}`;
}

/** Waits for the log line of session `name`'s end and answers its reason. */
async function endOf(lines: LogLines, name: string, who: string): Promise<string> {
  const l = await lines.waitFor(new RegExp(`tab ${name} ended: `), `the session of the ${who} tab to end (${name})`);
  return l.slice(l.indexOf(' ended: ') + 8).trim();
}

test('a hostile round beside an honest tab: each refused with its code, every hostile session ends, every honest call answered', async (t) => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));

  const { g, gw, lines } = await gatewayNode(t, {
    // A hostile socket that just drops is away for this long, then its session ends.
    reconnectWindow: 200,
    limits: { maxFrameBytes: 16 << 10 },
    admit: (token) => ({ names: { board: Board, sink: true }, limits: LIMITS[token] ?? {} }),
  });
  await g.spawnRegister('board', () => new BoardActor());
  const got: unknown[] = [];
  const sinkPid = await g.spawnRegister('sink', () => new Sink(got));
  const board = new ProcessID('board' as Atom, g.name);
  const sink = new ProcessID('sink' as Atom, g.name);
  const url = gw.url;

  const honest = await joinLight({ url, token: 'honest' });
  t.after(() => honest.leave());

  // --- the honest tab: calls in a row while the rest goes on --------------------------------------
  const honestCalls = async (): Promise<number> => {
    let answered = 0;
    for (let i = 0; i < 300; i++) {
      assert.equal(await honest.call(board, i), i + 1);
      answered++;
    }
    return answered;
  };

  // --- a flood past 50 messages/s: calls, important sends, plain sends ----------------------------
  const flood = async (): Promise<void> => {
    const plainRefused: string[] = [];
    const tab = await joinLight({
      url,
      token: 'flood',
      onRefusal: (e, what) => plainRefused.push(`${e.code} ${what}`),
    });
    const settled = await Promise.all([
      ...Array.from({ length: 400 }, (_, i) =>
        tab.call(board, i).then(
          () => 'ok',
          (e: { code?: string }) => String(e.code),
        ),
      ),
      ...Array.from({ length: 200 }, () =>
        tab.send(sink, 'important', { important: true }).then(
          () => 'ok',
          (e: { code?: string }) => String(e.code),
        ),
      ),
    ]);
    for (let i = 0; i < 1000; i++) tab.send(sink, 'plain');
    const codes = new Set(settled);
    assert.deepEqual(
      [...codes].sort(),
      ['ERR_TAB_RATE_LIMIT', 'ok'],
      'answered or refused for the rate, never a timeout',
    );
    // Every plain send is either delivered or refused with the code (one Refusal may stand for many).
    await lines.until(
      () => got.filter((m) => m === 'plain').length + plainRefused.length === 1000,
      'every plain send delivered or refused',
    );
    assert.ok(plainRefused.length > 0 && plainRefused.every((r) => r === 'ERR_TAB_RATE_LIMIT send'), plainRefused[0]);
    assert.ok(lines.refusals(new RegExp(tab.name)) >= 1, 'the gateway logged the flood');
    tab.leave();
    assert.equal(await endOf(lines, tab.name, 'flooding'), 'it left');
  };

  // --- before the welcome: refused (22) with ERR_TAB_FRAME, closed 4003, no session ---------------
  const hello = encodeFrame([Ctl.Hello, 'raw', '']);
  const beforeWelcome = async (what: string, frames: Buffer[]): Promise<string> => {
    const raw = await RawSocket.open(url);
    raw.write(...frames);
    const f = await within(raw.next(), `${what}: an answer`);
    const closed = await within(raw.closed, `${what}: the close`);
    raw.destroy();
    return `${what}: ${f[0] === Ctl.Refused ? 'refused' : `op ${String(f[0])}`} ${codeOf(f)} ${closed.code}`;
  };
  const early = (): Promise<string[]> =>
    Promise.all([
      beforeWelcome('garbage', [binaryFrame(new Uint8Array([0xde, 0xad, 0xbe, 0xef, 1, 2, 3]))]),
      beforeWelcome('truncated hello', [binaryFrame(hello.subarray(0, hello.length - 3))]),
      beforeWelcome('text hello', [textFrame('hello')]),
      beforeWelcome('empty message', [binaryFrame(new Uint8Array(0))]),
      beforeWelcome('a Leave first', [binaryFrame(LEAVE_FRAME)]),
      beforeWelcome('a send before the welcome', [
        binaryFrame(hello),
        binaryFrame([Op.Send, 'tab-00000000000000-x@y', g.name, 0, 0, null, sink, 'early']),
      ]),
      beforeWelcome('a Leave before the welcome', [binaryFrame(hello), binaryFrame(LEAVE_FRAME)]),
    ]);

  // --- after the welcome: misplaced and unknown control codes, a Leave with a payload ------------
  const controls = async (): Promise<string[]> => {
    const { raw, welcome } = await RawSocket.joined(url, 'raw');
    const name = String(welcome[1]);
    const bad: unknown[][] = [
      [Ctl.Leave, 'a payload'],
      [Ctl.Leave, Ctl.Leave],
      [26],
      [19],
      [99, name, g.name],
      [Ctl.Hello, 'raw', ''],
      [Ctl.Welcome],
      [Ctl.Refused, ['x', 'y']],
      [Ctl.Keep, 'not a pid'],
      [],
    ];
    raw.write(...bad.map((f) => binaryFrame(f)));
    const codes: string[] = [];
    for (let i = 0; i < bad.length; i++) codes.push(codeOf(await within(raw.next(), `refusal ${i}`)));
    // Still a session: it leaves properly now.
    raw.write(binaryFrame(LEAVE_FRAME));
    assert.equal((await within(raw.closed, 'the close')).code, 1006, 'closed without a close frame');
    assert.equal(await endOf(lines, name, 'control codes'), 'it left');
    assert.ok(lines.refusals(new RegExp(name)) >= bad.length, 'each refusal counted in the log');
    return codes;
  };

  // --- a Leave, then more frames and a second Leave in the same read -------------------------------
  const leaveThenMore = async (): Promise<void> => {
    const { raw, welcome } = await RawSocket.joined(url, 'raw');
    const name = String(welcome[1]);
    const own = new PID(name as Atom, 1000, 1);
    const send = (m: string): Buffer => binaryFrame([Op.Send, name, g.name, 0, 0, own, sink, m]);
    raw.write(send('before the leave'), binaryFrame(LEAVE_FRAME), send('after the leave'), binaryFrame(LEAVE_FRAME));
    assert.equal((await within(raw.closed, 'the close after the Leave')).code, 1006, 'closed without a close frame');
    assert.equal(await endOf(lines, name, 'Leave-then-more'), 'it left');
    // The sink's mailbox is in order: what the session routed before its end is handled before this call.
    await g.call(sinkPid, 'sync').catch(() => undefined);
    assert.ok(got.includes('before the leave'), 'the frame before the Leave is handled');
    assert.ok(!got.includes('after the leave'), 'nothing after the Leave is read');
    assert.equal(lines.count(new RegExp(`tab ${name} ended`)), 1, 'the session ends once');
  };

  // --- a frame above the tab's maxFrameBytes, then a message past what `ws` takes -----------------
  const oversized = async (): Promise<string> => {
    const { raw, welcome } = await RawSocket.joined(url, 'small');
    const name = String(welcome[1]);
    const own = new PID(name as Atom, 1000, 1);
    raw.write(binaryFrame([Op.Send, name, g.name, 5, 0, own, sink, 'x'.repeat(5000)]));
    const f = await within(raw.next(), 'the refusal of the big frame');
    assert.deepEqual([f[0], f[2], codeOf(f)], [Ctl.Refusal, 5, 'ERR_TAB_FRAME'], 'refused by its request id');
    raw.write(binaryFrame(new Uint8Array(70_000)));
    assert.equal(
      (await within(raw.closed, 'the close 1009')).code,
      1009,
      '`ws` closes a message past 4 × maxFrameBytes',
    );
    return endOf(lines, name, 'oversized');
  };

  // --- a socket that never reads -------------------------------------------------------------------
  const neverReads = async (): Promise<string> => {
    const { raw, welcome } = await RawSocket.joined(url, 'slow');
    const name = String(welcome[1]);
    raw.stopReading();
    // The server's sends fill the kernel's buffers, then the tab's queue: the sender gets the code.
    // One a turn of the loop, so the round's other parties go on meanwhile.
    const to = new PID(name as Atom, 1000, 1);
    const big = new Uint8Array(32 << 10);
    let full = '';
    for (let i = 0; i < 100_000 && full === ''; i++) {
      try {
        g.send(to, big);
        await new Promise<void>((r) => setImmediate(r));
      } catch (e) {
        full = String((e as { code?: unknown }).code);
      }
    }
    assert.equal(full, 'ERR_TAB_QUEUE_FULL', 'the sender meets the full queue');
    // It still writes: its refusals fill their room past the queue, and the gateway ends it.
    raw.write(...Array.from({ length: 2000 }, () => binaryFrame([26])));
    const why = await endOf(lines, name, 'never-reading');
    raw.destroy();
    return why;
  };

  const [answered, , earlyResults, controlCodes, , oversizedEnd, slowEnd] = await Promise.all([
    honestCalls(),
    flood(),
    early(),
    controls(),
    leaveThenMore(),
    oversized(),
    neverReads(),
  ]);

  assert.equal(answered, 300, 'every honest call answered');
  assert.deepEqual(earlyResults, [
    'garbage: refused ERR_TAB_FRAME 4003',
    'truncated hello: refused ERR_TAB_FRAME 4003',
    'text hello: refused ERR_TAB_FRAME 4003',
    'empty message: refused ERR_TAB_FRAME 4003',
    'a Leave first: refused ERR_TAB_FRAME 4003',
    'a send before the welcome: refused ERR_TAB_FRAME 4003',
    'a Leave before the welcome: refused ERR_TAB_FRAME 4003',
  ]);
  assert.ok(lines.count(/tab refused \(/) >= earlyResults.length, 'each logged at the gateway');
  assert.deepEqual(
    controlCodes,
    Array.from({ length: controlCodes.length }, () => 'ERR_TAB_FRAME'),
  );
  assert.match(oversizedEnd, /broke the WebSocket protocol/);
  assert.equal(slowEnd, 'its queue is full, refusals too');

  // Every hostile session ended; the honest tab's alone is left, and it still calls.
  await lines.until(() => gw.tabs().length === 1, 'the honest session alone');
  assert.deepEqual(
    gw.tabs().map((x) => x.node),
    [honest.name],
  );
  assert.equal(await honest.call(board, 41), 42);
  assert.ok(g.isAlive(), 'the gateway node lives');
  assert.deepEqual(unhandled, [], 'no unhandled rejection');
});
