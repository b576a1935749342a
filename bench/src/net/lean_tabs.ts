// The lean load tab of the tabs suite at scale (BENCH_TABS above SCALE_TABS, suites/tabs.ts): a
// bare `ws` WebSocket that speaks the tab frames itself instead of running a tab node. The real
// tab client (`joinGateway`) is a whole ergo-ts node per tab (tens of KiB in the client process),
// so 100,000 of them do not fit beside the gateway on this machine; the gateway cannot tell the
// two apart: the lean tab sends the same hello, and subscribes with the same Relation frame a tab
// node's `monitorEvent` sends (a PID of its own node monitoring the gateway's event), so the
// session, the grant check, the engine's remote subscription and every broadcast frame are the
// ones a real tab costs the gateway. It reads Event frames (each message one frame: its hello
// does not ask for batches) and ignores the rest, but for what ends its subscription (the event's
// Terminate: its node gone from the gateway) and its socket's close, which `state` says (a publish
// a tab missed is then named by the bench, not waited for).

import { Event, PID, type Atom } from 'ergo-ts';
import { WebSocket } from 'ws';

// The tab frame codec of @ergo-ts/tabs (not a public export: the wire is the package's own).
import {
  CLOSE_TAB_BUSY,
  Ctl,
  decodeFrame,
  encodeFrame,
  LEAVE_FRAME,
  Op,
} from '../../../packages/tabs/dist/src/frame.js';

/** A joined lean tab. */
export interface LeanTab {
  /** The tab's node name, as the gateway named it. */
  readonly name: string;
  /**
   * Monitors event `event` of node `node` (default: the gateway's); resolves at its Ack. Each
   * publish then goes to `onNews`.
   */
  subscribe(event: string, onNews: (v: unknown) => void, node?: string): Promise<void>;
  /** 'open', or what ended its hearing: `closed <code>`, `terminated <reason>` (the event's end). */
  state(): string;
  close(): Promise<void>;
}

/** The request id of the subscription (the lean tab asks nothing else). */
const SUBSCRIBE_REQ = 1;
/** The id of the tab's one process (a tab node's first spawn takes 1001). */
const PROCESS_ID = 1001;

/**
 * A join refused as busy (ERR_TAB_BUSY, close 1013), or its upgrade answered 503 or 408 by the
 * gateway's own server (join_waits.ts: no request while its loop waited): dialled again, as real
 * tabs do after a busy refusal.
 */
class Busy extends Error {
  readonly code = 'ERR_TAB_BUSY';
  constructor(
    message: string,
    readonly http = false,
  ) {
    super(message);
  }
}

/** `ws`'s error for an upgrade answered with another status than 101. */
const HTTP_REFUSED = /^Unexpected server response: (408|503)$/;

/** Redials after a busy refusal, in this process (the client process reports them with its joins). */
let redials = 0;
/** Of them, after an HTTP 408 or 503 at the upgrade. */
let httpRedials = 0;
/** How many times this process's lean tabs dialled again after a busy refusal. */
export const leanRedials = (): number => redials;
/** How many of {@link leanRedials} followed an HTTP 408 or 503 at the upgrade. */
export const leanHttpRedials = (): number => httpRedials;

/** Subscriptions asked again after ERR_NO_CONNECTION, in this process. */
let resubscribes = 0;
/** How many times this process's lean tabs subscribed again after ERR_NO_CONNECTION. */
export const leanResubscribes = (): number => resubscribes;

/** A lean tab's join deadline, as a real tab's default `joinTimeout`. */
const JOIN_TIMEOUT_MS = 30_000;

/**
 * Joins the gateway at `url` as a lean tab (token `bench`), from `localAddress` when given; a
 * refusal as busy is dialled again with jittered backoff (100 ms doubling to 2 s) until 30 s, as a
 * real tab's join does (tab/socket.ts), so a gateway busy with a join storm slows the joins
 * instead of failing the run.
 */
export async function joinLean(url: string, localAddress?: string): Promise<LeanTab> {
  const deadline = Date.now() + JOIN_TIMEOUT_MS;
  for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
    try {
      return await dialLean(url, localAddress);
    } catch (e) {
      if (!(e instanceof Busy) || Date.now() + wait > deadline) throw e;
      redials++;
      if (e.http) httpRedials++;
      await new Promise((r) => setTimeout(r, wait * (0.5 + Math.random())));
    }
  }
}

async function dialLean(url: string, localAddress?: string): Promise<LeanTab> {
  const ws = new WebSocket(url, localAddress === undefined ? undefined : { localAddress });
  ws.binaryType = 'nodebuffer';
  let onAck: ((error: unknown) => void) | null = null;
  let onNews: ((v: unknown) => void) | null = null;
  let state = 'open';
  const welcome = new Promise<unknown[]>((resolve, reject) => {
    ws.once('error', (e) =>
      reject(HTTP_REFUSED.test(e.message) ? new Busy(`lean tab's upgrade refused: ${e.message}`, true) : e),
    );
    ws.once('close', (code, reason) =>
      reject(new (code === CLOSE_TAB_BUSY ? Busy : Error)(`lean tab closed ${code} ${reason.toString()}`)),
    );
    // Field 6: it reads shared Event frames (BENCH_TAB_SHARED=0: it does not, as a tab of an
    // older build, for before/after pairs).
    const shared = process.env.BENCH_TAB_SHARED !== '0';
    ws.once('open', () => ws.send(encodeFrame([Ctl.Hello, 'bench', '', false, false, null, shared])));
    let self: string | undefined;
    ws.on('message', (data: Buffer) => {
      const f = decodeFrame(data, self);
      if (f[0] === Ctl.Welcome && f[9] === true) self = f[1] as string;
      if (f[0] === Ctl.Welcome) resolve(f);
      else if (f[0] === Op.Event) onNews?.(f[6]);
      else if (f[0] === Op.Ack && f[3] === SUBSCRIBE_REQ) onAck?.(f[4]);
      else if (f[0] === Op.Terminate) state = `terminated ${JSON.stringify(f[4])}`;
      else if (f[0] === Ctl.Refused || f[0] === Ctl.Refusal) {
        const busy = f[0] === Ctl.Refused && (f[1] as unknown[])[0] === 'ERR_TAB_BUSY';
        reject(new (busy ? Busy : Error)(`lean tab refused: ${String(f[1])}`));
      }
    });
  });
  const w = await welcome;
  ws.removeAllListeners('error');
  ws.removeAllListeners('close');
  // A load tab's socket error is the run's failure, said by the close that follows it.
  ws.on('error', () => undefined);
  ws.on('close', (code) => {
    if (state === 'open') state = `closed ${code}`;
  });
  const name = w[1] as string;
  const gateway = w[2] as string;
  return {
    name,
    subscribe: async (event, news, node = gateway) => {
      onNews = news;
      const pid = new PID(name as Atom, PROCESS_ID, 0);
      const frame = encodeFrame([
        Op.Relation,
        name,
        node,
        SUBSCRIBE_REQ,
        'monitor',
        pid,
        new Event(event, node as Atom),
      ]);
      // Refused ERR_NO_CONNECTION (the gateway's link to the event's node is down, and its hub is
      // subscribing again): asked again with jittered backoff (100 ms doubling to 2 s) for 30 s
      // from the first refusal (the hub's own retry window), as a tab's application would; any
      // other refusal is the run's failure.
      let deadline = 0;
      for (let wait = 100; ; wait = Math.min(wait * 2, 2000)) {
        const e = await new Promise<unknown>((resolve) => {
          onAck = resolve;
          ws.send(frame);
        });
        if (e === null) return;
        const code = Array.isArray(e) ? e[0] : undefined;
        if (deadline === 0) deadline = Date.now() + JOIN_TIMEOUT_MS;
        if (code !== 'ERR_NO_CONNECTION' || Date.now() + wait > deadline)
          throw new Error(`monitor refused: ${JSON.stringify(e)}`);
        resubscribes++;
        await new Promise((r) => setTimeout(r, wait * (0.5 + Math.random())));
      }
    },
    state: () => state,
    close: async () => {
      if (ws.readyState === WebSocket.CLOSED) return;
      const closed = new Promise<void>((r) => ws.once('close', () => r()));
      // As a tab leaves: a Leave frame to a gateway whose welcome takes it (the gateway closes the
      // connection, no close handshake), else 1000 `left`; BENCH_TAB_LEAVE=close leaves as a tab
      // of an older build does, for before/after pairs.
      if (w[8] === true && process.env.BENCH_TAB_LEAVE !== 'close') ws.send(LEAVE_FRAME);
      else ws.close(1000, 'left');
      await closed;
    },
  };
}
