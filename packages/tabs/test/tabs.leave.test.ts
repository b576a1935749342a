// A tab that leaves on purpose (issue 93): to a gateway whose welcome says it takes them, the tab's
// leave() sends a Leave frame, a message of its own, and the gateway ends the session after the
// frames the tab sent before it and closes the connection without a WebSocket close handshake
// (no close frame either way: the tab's socket sees 1006), which the tab takes as its leave's end:
// no error, nothing dialled again. A tab of an older build, which closes with 1000 `left`, still
// leaves by the handshake.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { Actor, ProcessID, type Atom, type PID } from 'ergo-ts';
import { eventually, within } from '@ergo-ts/test-support';

import { joinGateway, type TabWebSocketClass } from '../src/index.js';
import { joinLight } from '../src/light/index.js';
import { Ctl, decodeFrame, encodeFrame, isLeave, LEAVE_FRAME } from '../src/frame.js';
import { gatewayNode, quiet, type LogLines } from './helpers.js';

const Native = (globalThis as unknown as { WebSocket: TabWebSocketClass }).WebSocket;

interface Platform {
  WS: TabWebSocketClass;
  /** Sockets the tab made so far. */
  dialled(): number;
  /** The close code of the tab's first socket, once it closed. */
  firstClose: Promise<number>;
}

/** The platform's WebSocket, counting the sockets made and telling the first one's close code. */
function platform(): Platform {
  let n = 0;
  let closed!: (code: number) => void;
  const firstClose = new Promise<number>((r) => (closed = r));
  type Listening = { addEventListener(t: 'close', f: (ev: { code: number }) => void): void };
  const WS = class extends (Native as unknown as new (url: string) => Listening) {
    constructor(url: string) {
      super(url);
      if (n++ === 0) this.addEventListener('close', (ev) => closed(ev.code));
    }
  } as unknown as TabWebSocketClass;
  return { WS, dialled: () => n, firstClose };
}

/** Messages to the gateway node's `sink`, in arrival order. */
class Sink extends Actor {
  constructor(readonly got: unknown[]) {
    super();
  }
  override handleMessage(_from: PID, m: unknown): void {
    this.got.push(m);
  }
}

const endedLine = (lines: LogLines, name: string): Promise<string> =>
  lines.waitFor(new RegExp(`tab ${name.replace(/[.$]/g, '\\$&')} ended: it left`), 'the session ends');

test('a Leave frame is one message of fixed bytes, a frame of its own op', () => {
  assert.deepEqual(decodeFrame(LEAVE_FRAME), [Ctl.Leave]);
  assert.ok(isLeave(encodeFrame([Ctl.Leave])));
  assert.ok(!isLeave(encodeFrame([Ctl.Keep])));
  assert.ok(!isLeave(encodeFrame([Ctl.Leave, 0])));
});

test("a light tab's leave: the gateway ends the session and closes without a handshake; a clean leave at the tab, nothing dialled again", async (t) => {
  const { gw, lines } = await gatewayNode(t);
  const p = platform();
  const ends: unknown[] = [];
  const tab = await joinLight({ url: gw.url, token: 't', WebSocket: p.WS, onEnded: (r) => ends.push(r) });
  assert.equal(gw.tabs().length, 1);
  tab.leave();
  assert.equal(await within(p.firstClose, "the tab's socket closed", 20_000), 1006, 'no close frame');
  await endedLine(lines, tab.name);
  assert.equal(gw.tabs().length, 0);
  assert.equal(((await tab.ended) as { code?: string }).code, 'ERR_TAB_SESSION_ENDED');
  assert.equal(ends.length, 1, 'onEnded once');
  assert.equal(p.dialled(), 1, 'no socket dialled after the leave');
  assert.equal(tab.connected, false);
});

test("a full tab's leave: the same (its node stops, the gateway's session ends)", async (t) => {
  const { gw, lines } = await gatewayNode(t);
  const p = platform();
  const tab = await joinGateway({ url: gw.url, token: 't', node: quiet(), WebSocket: p.WS });
  await tab.leave();
  assert.equal(await within(p.firstClose, "the tab's socket closed", 20_000), 1006, 'no close frame');
  await endedLine(lines, tab.name);
  assert.equal(gw.tabs().length, 0);
  assert.equal(p.dialled(), 1);
});

test('a leave right behind 500 sends: every one is handled, in order, before the session ends', async (t) => {
  const N = 500;
  const got: unknown[] = [];
  const { g, gw, lines } = await gatewayNode(t, {
    // Ten of a tab's frames a turn: most of them wait for later turns when the Leave arrives.
    inboundSlice: 10,
    admit: () => ({ names: { sink: true }, limits: { messagesPerSecond: 1e6, bytesPerSecond: 1e9 } }),
  });
  await g.spawnRegister('sink', () => new Sink(got));
  const p = platform();
  const tab = await joinLight({ url: gw.url, token: 't', WebSocket: p.WS });
  const sink = new ProcessID('sink' as Atom, g.name);
  for (let i = 0; i < N; i++) tab.send(sink, i);
  tab.leave();
  assert.equal(await within(p.firstClose, "the tab's socket closed", 20_000), 1006);
  await endedLine(lines, tab.name);
  // Polled, not on the gateway's log lines: the last sends may be handled after its last line.
  await eventually(() => got.length === N, 'every send handled');
  assert.deepEqual(
    got,
    Array.from({ length: N }, (_, i) => i),
  );
});

test('a tab of an older build (no Leave, 1000 `left`) leaves by the close handshake; the welcome offers Leave', async (t) => {
  const { gw, lines } = await gatewayNode(t);
  const ws = new Native(gw.url) as unknown as WebSocket;
  ws.binaryType = 'arraybuffer';
  const welcome = new Promise<unknown[]>(
    (resolve) => (ws.onmessage = (ev) => resolve(decodeFrame(new Uint8Array(ev.data as ArrayBuffer)))),
  );
  const closed = new Promise<number>((resolve) => (ws.onclose = (ev) => resolve(ev.code)));
  await new Promise<void>((resolve) => (ws.onopen = () => resolve()));
  // An older tab's hello: no batches field.
  ws.send(encodeFrame([Ctl.Hello, 'good', '']));
  const w = await within(welcome, 'the welcome', 20_000);
  assert.equal(w[0], Ctl.Welcome);
  assert.equal(w[8], true, 'the welcome says the gateway takes Leave');
  ws.close(1000, 'left');
  assert.equal(await within(closed, 'the socket closed', 20_000), 1000, 'the handshake answered');
  await endedLine(lines, String(w[1]));
  assert.equal(gw.tabs().length, 0);
});
