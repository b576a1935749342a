// A tab of this build against a gateway of an older one (issue 93). A gateway before the Leave
// frame welcomes a tab with eight fields (docs/browser-gateway.md, Frames: field 8, `true`, is how
// a gateway says it takes Ctl.Leave); to it a tab must leave with the WebSocket close 1000 `left`,
// never the Leave frame (which that gateway would refuse as an unknown op, keeping the session for
// its reconnect window), and the gateway ends the session once, at that close.
//
// Which older gateway: the gateway of this build cannot be made to speak the older welcome without
// a switch for tests only (the rules forbid one), and an older build is not at hand. So the real
// gateway runs behind a protocol peer fixture, a WebSocket proxy that passes every message and
// close as it is but cuts the welcome to its older eight fields, byte for byte what an older
// gateway wrote. Everything past the welcome is the real gateway's code: its end of a session at
// 1000 `left` is the path a gateway of an older build took for every leave. The proxy also counts
// any Leave frame the tab sends. (A tab of an older build against this gateway, its 1000 `left`, is
// tabs.leave.test.ts' last test.)

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { within } from '@ergo-ts/test-support';
import { WebSocket as WsClient, WebSocketServer, type RawData } from 'ws';

import { joinGateway, type TabWebSocketClass } from '../src/index.js';
import { joinLight } from '../src/light/index.js';
import { Ctl, decodeFrame, encodeFrame, isLeave } from '../src/frame.js';
import { gatewayNode, quiet, type LogLines } from './helpers.js';

const Native = (globalThis as unknown as { WebSocket: TabWebSocketClass }).WebSocket;

interface OldGateway {
  url: string;
  /** Welcomes cut to eight fields, and whether the real one had said it takes Leave. */
  welcomes: { field8: unknown }[];
  /** Leave frames a tab sent through it. */
  leaves(): number;
  /** The tabs' closes as the proxy got them (code, reason). */
  closes: [number, string][];
  /** Resolves at the n-th connection's upstream close (the real gateway's socket closed). */
  upstreamClosed(n: number): Promise<void>;
}

const bytesOf = (d: RawData): Buffer => (Array.isArray(d) ? Buffer.concat(d) : Buffer.from(d as ArrayBuffer));
/** A close code one may send in a close frame (1005 and 1006 are only ever reported). */
const sendable = (code: number): boolean => code === 1000 || (code >= 3000 && code <= 4999);

/** The real gateway at `target`, seen through a proxy that speaks the older welcome. */
async function oldGateway(t: { after(fn: () => Promise<void>): void }, target: string): Promise<OldGateway> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const welcomes: { field8: unknown }[] = [];
  const closes: [number, string][] = [];
  // The n-th connection's upstream close, made by whichever asks first (the test, or the connection).
  const upClosed = new Map<number, { done: Promise<void>; resolve: () => void }>();
  const slot = (n: number): { done: Promise<void>; resolve: () => void } => {
    let x = upClosed.get(n);
    if (x === undefined) {
      let resolve!: () => void;
      x = { done: new Promise<void>((r) => (resolve = r)), resolve };
      upClosed.set(n, x);
    }
    return x;
  };
  let connections = 0;
  let leaves = 0;
  wss.on('connection', (down) => {
    const up = new WsClient(target);
    const closedUp = slot(++connections).resolve;
    const early: Buffer[] = [];
    up.on('open', () => {
      for (const b of early.splice(0)) up.send(b);
    });
    down.on('message', (d) => {
      const b = bytesOf(d);
      if (isLeave(b)) leaves++;
      if (up.readyState === up.OPEN) up.send(b);
      else early.push(b);
    });
    let first = true;
    up.on('message', (d) => {
      let b = bytesOf(d);
      if (first) {
        first = false;
        const f = decodeFrame(b);
        if (f[0] === Ctl.Welcome) {
          welcomes.push({ field8: f[8] });
          b = Buffer.from(encodeFrame(f.slice(0, 8)));
        }
      }
      down.send(b);
    });
    down.on('close', (code, reason) => {
      closes.push([code, reason.toString()]);
      if (sendable(code)) up.close(code, reason);
      else up.terminate();
    });
    up.on('close', (code, reason) => {
      closedUp();
      if (sendable(code)) down.close(code, reason);
      else down.terminate();
    });
    for (const s of [up, down]) s.on('error', () => undefined);
  });
  t.after(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
  });
  const port = (wss.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}/tabs`,
    welcomes,
    leaves: () => leaves,
    closes,
    upstreamClosed: (n) => within(slot(n).done, "the real gateway's socket to close"),
  };
}

/** The platform's WebSocket, counting the sockets a tab made. */
function counting(): { WS: TabWebSocketClass; dialled: () => number } {
  let n = 0;
  const WS = class extends (Native as unknown as new (url: string) => object) {
    constructor(url: string) {
      super(url);
      n++;
    }
  } as unknown as TabWebSocketClass;
  return { WS, dialled: () => n };
}

const endedLines = (lines: LogLines, name: string): number => lines.count(new RegExp(`tab ${name} ended: it left`));

test('a light tab against an older gateway (no field 8): it leaves with 1000 `left`, no Leave frame; the session ends once', async (t) => {
  const { gw, lines } = await gatewayNode(t);
  const old = await oldGateway(t, gw.url);
  const { WS, dialled } = counting();
  const tab = await joinLight({ url: old.url, token: 't', WebSocket: WS });
  assert.deepEqual(old.welcomes, [{ field8: true }], 'the real gateway offered Leave; the proxy cut it');
  assert.equal(gw.tabs().length, 1);
  tab.leave();
  assert.equal(((await within(tab.ended, "the tab's end")) as { code?: string }).code, 'ERR_TAB_SESSION_ENDED');
  await old.upstreamClosed(1);
  await lines.waitFor(new RegExp(`tab ${tab.name} ended: it left`), 'the session ends at the close');
  assert.deepEqual(old.closes, [[1000, 'left']], 'the close handshake, 1000 `left`');
  assert.equal(old.leaves(), 0, 'no Leave frame to a gateway that did not offer it');
  assert.equal(endedLines(lines, tab.name), 1, 'the session ends once');
  assert.equal(gw.tabs().length, 0);
  assert.equal(dialled(), 1, 'nothing dialled again');
});

test('a full tab against an older gateway: the same (its node stops, 1000 `left`, the session ends once)', async (t) => {
  const { gw, lines } = await gatewayNode(t);
  const old = await oldGateway(t, gw.url);
  const { WS, dialled } = counting();
  const tab = await joinGateway({ url: old.url, token: 't', node: quiet(), WebSocket: WS });
  assert.deepEqual(old.welcomes, [{ field8: true }]);
  await tab.leave();
  await old.upstreamClosed(1);
  await lines.waitFor(new RegExp(`tab ${tab.name} ended: it left`), 'the session ends at the close');
  assert.deepEqual(old.closes, [[1000, 'left']]);
  assert.equal(old.leaves(), 0);
  assert.equal(endedLines(lines, tab.name), 1);
  assert.equal(gw.tabs().length, 0);
  assert.equal(dialled(), 1);
});
