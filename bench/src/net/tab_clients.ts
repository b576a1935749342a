// The simulated tabs of the tabs suite (suites/tabs.ts): one OS process holding many client
// connections of one peer, driven over IPC by the suite's child (the server side), so the server's
// heap, RSS and CPU are its own. The peers' clients:
//   ergo-ts    the real tab client (`joinGateway` of @ergo-ts/tabs/tab): each tab its own node
//              ('light': the light tab, `joinLight` of @ergo-ts/tabs/light: no node, mailboxes)
//   socket.io  socket.io-client, transports: ['websocket'] (no long-polling first)
//   ws         a bare `ws` WebSocket
// All three dial with the `ws` package's WebSocket (socket.io-client uses it in Node), so the
// client-side transport is the same for every column.
//
// At scale (the suite's hold above SCALE_TABS tabs) the ergo-ts tabs are lean (net/lean_tabs.ts:
// the tab frames spoken over a bare `ws`, no tab node), each process dials from its own loopback
// address (127.0.0.2, .3, …: one source address has ~28,000 ephemeral ports towards one port), and
// a process raises its own open-file limit to what it holds (lib/fd_limit.ts).
//
//   fork(tab_clients.js, [peer, url, localAddress?, 'lean' | 'light' | ''])   then IPC requests (see Request) →
//   replies (see Reply)

import { readFileSync } from 'node:fs';

import { Actor, Event, ProcessID, type Atom, type MessageEvent } from 'ergo-ts';
import { joinGateway, type TabNode, type TabWebSocketClass } from '@ergo-ts/tabs/tab';
import { joinLight } from '@ergo-ts/tabs/light';
import { io, type Socket } from 'socket.io-client';
import { WebSocket, type ClientOptions } from 'ws';

import { ensureMoreOpenFiles } from '../lib/fd_limit.js';
import { hostMs } from '../lib/host_clock.js';
import { joinLean, leanHttpRedials, leanRedials, leanResubscribes } from './lean_tabs.js';

/** What the suite asks a client process. */
export type Request =
  /**
   * `settle`: a join that fails does not fail the request; the reply counts the failures by code
   * (tabs_cluster.ts: every join answered, a refusal being an answer).
   */
  | { op: 'join'; count: number; settle?: boolean }
  /** Every tab subscribes to the event `news` of node `node` (default: its gateway's). */
  | { op: 'subscribe'; node?: string }
  | { op: 'arm'; seq: number }
  | { op: 'echo'; warm: number; calls: number; total: number; window: number; rounds: number }
  | { op: 'flood'; perTab: number }
  /**
   * Sequential calls on the first connection until `stop` (suites/tabs_load.ts), `gapMs` between
   * one's answer and the next (0: none; a gap keeps a tab within its rate limit).
   */
  | { op: 'calls'; gapMs: number }
  | { op: 'stop' }
  /** Each connection sends `sends` messages at once, then makes `calls` calls at once (tabs_load.ts). */
  | { op: 'flood-calls'; sends: number; calls: number }
  /** Which tabs have not heard the armed publish yet, and why they may never (tabs_cluster.ts' deadline). */
  | { op: 'missing' }
  | { op: 'leave' };

/** What a client process answers (`got` and `refused` come unasked). */
export type Reply =
  /**
   * redials: lean tabs' dials again after a busy refusal (net/lean_tabs.ts), so far in this
   * process; httpRedials: of them, after an HTTP 408 or 503 at the upgrade.
   */
  /** failed (a `settle` join): the joins that failed, by their error's code (or message). */
  | { op: 'joined'; redials?: number; httpRedials?: number; failed?: Record<string, number> }
  | { op: 'subscribed'; resubscribes?: number }
  | { op: 'armed' }
  | { op: 'got'; seq: number }
  | { op: 'echoed'; rttUs: number[]; rates: number[] }
  /** Unasked, during an echo: a round starts (or the last ended): the server reads its CPU time. */
  | { op: 'mark' }
  | { op: 'refused'; n: number }
  | { op: 'flooded' }
  | { op: 'calling' }
  /**
   * The calls of `calls` once stopped: each one's start (ms on the host's clock, lib/host_clock.ts:
   * comparable across processes) and round trip (ms); failed: how many rejected.
   */
  | { op: 'called'; at: number[]; rttMs: number[]; failed: number }
  /** How the flood's calls ended: 'ok' or the rejection's code, counted. */
  | { op: 'flood-called'; codes: Record<string, number> }
  /** The tabs that have not heard the armed publish, counted by their state ('open', `closed 1006`, …). */
  | { op: 'missing'; seq: number; missing: number; states: Record<string, number> }
  | { op: 'error'; message: string };

/** The payload of every echo: 64 characters. */
export const PAYLOAD = 'x'.repeat(64);
const quiet = { systemApp: false, log: { defaultLogger: { output: { write: () => true } } } } as const;

/** One client connection, whatever the peer. */
interface Conn {
  /** A round trip: the server answers this one request. */
  call(data: string): Promise<void>;
  /** `total` messages echoed back, `window` in flight; resolves when the last is back. */
  pipeline(total: number, window: number): Promise<void>;
  /** Starts hearing the broadcast (each value to `onNews`): the event `news` of `node` (default: the gateway's). */
  subscribe(onNews: (v: unknown) => void, node?: string): Promise<void>;
  /** `n` one-way messages to the server's sink, as fast as the client can. */
  flood(n: number): void;
  /** What ended its hearing of the broadcast, or 'open' (a lean tab tells; the others: undefined). */
  state?(): string;
  close(): Promise<void>;
}

const send = (r: Reply): void => void process.send!(r);

/** The refusals of flooding tabs, reported once per macrotask. */
let refused = 0;
let refusedScheduled = false;
function countRefusal(): void {
  refused++;
  if (refusedScheduled) return;
  refusedScheduled = true;
  setImmediate(() => {
    refusedScheduled = false;
    send({ op: 'refused', n: refused });
    refused = 0;
  });
}

/** On a tab's node: sends `total` messages to the echo process, `window` in flight, counts the echoes. */
class Pinger extends Actor {
  constructor(
    readonly echo: ProcessID,
    readonly total: number,
    readonly window: number,
    readonly done: () => void,
  ) {
    super();
  }
  sent = 0;
  back = 0;
  override init(): void {
    for (; this.sent < Math.min(this.window, this.total); this.sent++) this.send(this.echo, PAYLOAD);
  }
  override handleMessage(): void {
    if (++this.back === this.total) this.done();
    else if (this.sent < this.total) {
      this.sent++;
      this.send(this.echo, PAYLOAD);
    }
  }
}

/** On a tab's node: hears the gateway's `news` event. */
class Listener extends Actor {
  constructor(
    readonly event: Event,
    readonly onNews: (v: unknown) => void,
  ) {
    super();
  }
  override async init(): Promise<void> {
    await this.monitorEvent(this.event);
  }
  override handleEvent(m: MessageEvent): void {
    this.onNews(m.message);
  }
}

/** `ws`'s WebSocket dialling from `localAddress` (when given). */
function boundWebSocket(localAddress: string | undefined): TabWebSocketClass {
  if (localAddress === undefined) return WebSocket as unknown as TabWebSocketClass;
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[], options?: ClientOptions) {
      super(url, protocols, { ...options, localAddress });
    }
  } as unknown as TabWebSocketClass;
}

async function ergoConn(url: string, localAddress?: string): Promise<Conn> {
  const tab: TabNode = await joinGateway({
    url,
    token: 'bench',
    node: quiet,
    reconnect: false,
    WebSocket: boundWebSocket(localAddress),
    onRefusal: countRefusal,
  });
  const echo = new ProcessID('echo' as Atom, tab.gateway);
  const sink = new ProcessID('sink' as Atom, tab.gateway);
  return {
    call: async (data) => void (await tab.node.call(echo, data)),
    pipeline: (total, window) =>
      new Promise<void>((resolve, reject) => {
        tab.node.spawn(() => new Pinger(echo, total, window, resolve)).catch(reject);
      }),
    subscribe: async (onNews, node = tab.gateway) =>
      void (await tab.node.spawn(() => new Listener(new Event('news' as Atom, node as Atom), onNews))),
    flood: (n) => {
      for (let i = 0; i < n; i++) tab.node.send(sink, 'x');
    },
    close: () => tab.leave(),
  };
}

/** A light tab (@ergo-ts/tabs/light): calls, sends and events from its main mailbox, no node. */
async function lightConn(url: string, localAddress?: string): Promise<Conn> {
  // What the tab's mailbox does with a message: count an echo of the pipeline.
  let onMessage = (): void => undefined;
  const tab = await joinLight({
    url,
    token: 'bench',
    reconnect: false,
    WebSocket: boundWebSocket(localAddress),
    onRefusal: countRefusal,
    receive: { message: () => onMessage() },
  });
  const echo = new ProcessID('echo' as Atom, tab.gateway);
  const sink = new ProcessID('sink' as Atom, tab.gateway);
  return {
    call: async (data) => void (await tab.call(echo, data)),
    pipeline: (total, window) =>
      new Promise<void>((resolve) => {
        let sent = 0;
        let back = 0;
        onMessage = () => {
          if (++back === total) resolve();
          else if (sent < total) {
            sent++;
            tab.send(echo, PAYLOAD);
          }
        };
        for (; sent < Math.min(window, total); sent++) tab.send(echo, PAYLOAD);
      }),
    subscribe: async (onNews, node = tab.gateway) =>
      void (await tab.subscribe(new Event('news' as Atom, node as Atom), onNews)),
    flood: (n) => {
      for (let i = 0; i < n; i++) tab.send(sink, 'x');
    },
    close: async () => {
      tab.leave();
      await tab.ended;
    },
  };
}

/** A lean tab (net/lean_tabs.ts): it joins and hears the broadcast, nothing else. */
async function leanConn(url: string, localAddress?: string): Promise<Conn> {
  const tab = await joinLean(url, localAddress);
  const no = (): never => {
    throw new Error('a lean load tab only joins and hears the broadcast');
  };
  return {
    call: async () => no(),
    pipeline: async () => no(),
    subscribe: (onNews, node) => tab.subscribe('news', onNews, node),
    flood: no,
    state: () => tab.state(),
    close: () => tab.close(),
  };
}

async function socketIoConn(url: string): Promise<Conn> {
  const s: Socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    s.once('connect', resolve);
    s.once('connect_error', reject);
  });
  return {
    call: (data) => s.emitWithAck('echo', data).then(() => undefined),
    pipeline: (total, window) =>
      new Promise<void>((resolve) => {
        let sent = 0;
        let back = 0;
        const onM = (): void => {
          if (++back === total) {
            s.off('m', onM);
            resolve();
          } else if (sent < total) {
            sent++;
            s.emit('m', PAYLOAD);
          }
        };
        s.on('m', onM);
        for (; sent < Math.min(window, total); sent++) s.emit('m', PAYLOAD);
      }),
    subscribe: async (onNews) => void s.on('news', onNews),
    flood: (n) => {
      for (let i = 0; i < n; i++) s.emit('sink', 'x');
    },
    close: async () => void s.disconnect(),
  };
}

async function wsConn(url: string, localAddress?: string): Promise<Conn> {
  const ws = new WebSocket(url, localAddress === undefined ? undefined : { localAddress });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = (): Promise<void> => new Promise((r) => ws.once('message', () => r()));
  return {
    call: async (data) => {
      const back = next();
      ws.send(data);
      await back;
    },
    pipeline: (total, window) =>
      new Promise<void>((resolve) => {
        let sent = 0;
        let back = 0;
        const onM = (): void => {
          if (++back === total) {
            ws.off('message', onM);
            resolve();
          } else if (sent < total) {
            sent++;
            ws.send(PAYLOAD);
          }
        };
        ws.on('message', onM);
        for (; sent < Math.min(window, total); sent++) ws.send(PAYLOAD);
      }),
    subscribe: async (onNews) => void ws.on('message', (d: Buffer) => onNews(Number(d.toString()))),
    flood: (n) => {
      for (let i = 0; i < n; i++) ws.send('x');
    },
    close: async () => {
      ws.close();
      await new Promise<void>((r) => (ws.readyState === WebSocket.CLOSED ? r() : ws.once('close', () => r())));
    },
  };
}

const CONNECT: Record<string, (url: string, localAddress?: string) => Promise<Conn>> = {
  'ergo-ts': ergoConn,
  'ergo-ts-lean': leanConn,
  'ergo-ts-light': lightConn,
  'socket.io': socketIoConn,
  ws: wsConn,
};

/** Connections opened at once while joining (a page load's burst, bounded). */
const JOIN_BATCH = 100;

async function serve(peer: string, url: string, localAddress: string | undefined): Promise<void> {
  const dial = CONNECT[peer];
  if (dial === undefined) throw new Error(`tab clients: unknown peer ${peer}`);
  const connect = (u: string): Promise<Conn> => dial(u, localAddress);
  const conns: Conn[] = [];
  let armed = -1;
  let heard = 0;
  /** The last publish each tab heard (by its index in conns). */
  const last: unknown[] = [];
  const onNews = (v: unknown): void => {
    if (v === armed && ++heard === conns.length) send({ op: 'got', seq: armed });
  };
  let calling = false;
  const handle = async (r: Request): Promise<void> => {
    switch (r.op) {
      case 'calls': {
        const c = conns[0]!;
        calling = true;
        const at: number[] = [];
        const rttMs: number[] = [];
        let failed = 0;
        void (async () => {
          // Each call starts at the stamp that ended the one before (with no gap between calls):
          // the calls cover the whole loop, so any span of it meets one (tabs_load.ts: overlapping).
          let t0 = hostMs();
          while (calling) {
            await c.call(PAYLOAD).catch(() => failed++);
            const end = hostMs();
            rttMs.push(end - t0);
            at.push(t0);
            if (r.gapMs > 0) await new Promise((w) => setTimeout(w, r.gapMs));
            t0 = r.gapMs > 0 ? hostMs() : end;
          }
          send({ op: 'called', at, rttMs, failed });
        })();
        return send({ op: 'calling' });
      }
      case 'stop':
        // The loop answers `called` once its call in flight is back.
        calling = false;
        return;
      case 'flood-calls': {
        const ends: Promise<string>[] = [];
        for (const c of conns) {
          c.flood(r.sends);
          for (let i = 0; i < r.calls; i++)
            ends.push(
              c.call(PAYLOAD).then(
                () => 'ok',
                (e: unknown) => String((e as { code?: unknown }).code ?? (e as Error).message),
              ),
            );
        }
        const codes: Record<string, number> = {};
        for (const code of await Promise.all(ends)) codes[code] = (codes[code] ?? 0) + 1;
        return send({ op: 'flood-called', codes });
      }
      case 'join':
        // A socket per tab, and room for the process's own files.
        ensureMoreOpenFiles(r.count);
        if (r.settle === true) {
          const failed: Record<string, number> = {};
          for (let i = 0; i < r.count; i += JOIN_BATCH)
            for (const j of await Promise.allSettled(
              Array.from({ length: Math.min(JOIN_BATCH, r.count - i) }, () => connect(url)),
            )) {
              if (j.status === 'fulfilled') conns.push(j.value);
              else {
                const e = j.reason as { code?: unknown; message?: unknown };
                const why = typeof e.code === 'string' ? e.code : String(e.message).slice(0, 80);
                failed[why] = (failed[why] ?? 0) + 1;
              }
            }
          return send({ op: 'joined', redials: leanRedials(), httpRedials: leanHttpRedials(), failed });
        }
        for (let i = 0; i < r.count; i += JOIN_BATCH)
          conns.push(
            ...(await Promise.all(Array.from({ length: Math.min(JOIN_BATCH, r.count - i) }, () => connect(url)))),
          );
        return send({ op: 'joined', redials: leanRedials(), httpRedials: leanHttpRedials() });
      case 'subscribe':
        await Promise.all(
          conns.map((c, i) =>
            c.subscribe((v) => {
              last[i] = v;
              onNews(v);
            }, r.node),
          ),
        );
        return send({ op: 'subscribed', resubscribes: leanResubscribes() });
      case 'arm':
        armed = r.seq;
        heard = 0;
        return send({ op: 'armed' });
      case 'echo': {
        const c = conns[0]!;
        const rttUs: number[] = [];
        const rates: number[] = [];
        // Untimed calls first: a client and server still compiling their call paths read several
        // times their steady round trip for the first ~20,000 calls (a tab lives longer than that).
        for (let i = 0; i < r.warm; i++) await c.call(PAYLOAD);
        // The two phases apart: a round trip timed right after a pipelined round met a machine
        // the burst left in another state (caches, GC, clock), which depended on the peer.
        for (let round = 0; round < r.rounds; round++) {
          send({ op: 'mark' });
          const t0 = performance.now();
          for (let i = 0; i < r.calls; i++) await c.call(PAYLOAD);
          rttUs.push(((performance.now() - t0) * 1000) / r.calls);
        }
        for (let round = 0; round < r.rounds; round++) {
          send({ op: 'mark' });
          const t0 = performance.now();
          await c.pipeline(r.total, r.window);
          rates.push(r.total / ((performance.now() - t0) / 1000));
        }
        send({ op: 'mark' });
        return send({ op: 'echoed', rttUs, rates });
      }
      case 'flood':
        for (const c of conns) c.flood(r.perTab);
        return send({ op: 'flooded' });
      case 'missing': {
        const states: Record<string, number> = {};
        let missing = 0;
        conns.forEach((c, i) => {
          if (last[i] === armed) return;
          missing++;
          const st = c.state?.() ?? 'unknown';
          states[st] = (states[st] ?? 0) + 1;
        });
        return send({ op: 'missing', seq: armed, missing, states });
      }
      case 'leave':
        // A call loop still going would spin on calls refused at once by the closed tab (a loop of
        // microtasks: the close, the IPC and the exit never run; seen after a failed 100,000 run).
        calling = false;
        if (process.env['BENCH_LEAVE_TRACE'] === undefined) await Promise.all(conns.map((c) => c.close()));
        else {
          // The tabs' view of a leave storm: when each socket's close came (the host's clock).
          const t0 = hostMs();
          const c0 = process.cpuUsage();
          const w0 = Number(readFileSync('/proc/self/schedstat', 'utf8').split(' ')[1]) / 1e6;
          const closed: number[] = [];
          const all = Promise.all(conns.map((c) => c.close().then(() => void closed.push(hostMs()))));
          const sent = hostMs();
          await all;
          closed.sort((a, b) => a - b);
          const q = (p: number): string =>
            (closed[Math.min(closed.length - 1, Math.floor(p * closed.length))]! - t0).toFixed(0);
          process.stderr.write(
            `leave trace (tabs ${process.pid}): t0 ${t0.toFixed(1)}, Leaves sent in ${(sent - t0).toFixed(0)} ms; closes seen at p10 ${q(0.1)}, p50 ${q(0.5)}, p90 ${q(0.9)}, last ${q(1)} ms; cpu ${(process.cpuUsage(c0).user / 1000 + process.cpuUsage(c0).system / 1000).toFixed(0)} ms, run queue ${(Number(readFileSync('/proc/self/schedstat', 'utf8').split(' ')[1]) / 1e6 - w0).toFixed(0)} ms\n`,
          );
        }
        process.disconnect();
        return;
    }
  };
  // The server's process gone (killed at its timeout, crashed): no orphan keeps thousands of sockets.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m) => {
    handle(m as Request).catch((e: unknown) => send({ op: 'error', message: (e as Error).stack ?? String(e) }));
  });
}

const [peer, url, localAddress, kind] = process.argv.slice(2);
await serve(
  peer === 'ergo-ts' && (kind === 'lean' || kind === 'light') ? `ergo-ts-${kind}` : peer!,
  url!,
  localAddress === undefined || localAddress === '' ? undefined : localAddress,
);
