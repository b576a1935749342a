// Browser tabs as nodes (@ergo-ts/tabs, issue 73) beside what a web team would pick: Socket.IO
// (server `socket.io`, clients `socket.io-client`) and a raw `ws` echo, on this machine. Each
// scenario and peer runs in its own bench child, which is the server (the gateway node, the
// Socket.IO server, the ws server); the clients are simulated tabs in other OS processes
// (net/tab_clients.ts: the real tab client for ergo-ts), so the server's memory and CPU are its own.
//
//   echo    one tab: the round trip tab → server process → tab (µs per call; Socket.IO: an emit
//           with an ack; ws: a message echoed), and echoed messages/s with 64 in flight
//   hold    N idle tabs (default 1,000; BENCH_TABS=10000 for the issue's size): the server's heap
//           and RSS growth per tab (after a full GC that gives the young generation back), the
//           join rate (100 connecting at once), and one broadcast to every tab (time until the
//           last has it and its process told the server over IPC)
//           then, each tab subscribed (its process monitors the event; Socket.IO and ws need no
//           step): the event-loop delay while every tab idles 12 s (perf_hooks
//           monitorEventLoopDelay, p99), RSS and heap per subscribed tab after it, and the round
//           trip of one more tab
//           meanwhile; beside the join rate and the broadcast, the server's own CPU time per join
//           and per tab of a broadcast (process.cpuUsage: less shifted by a busy machine); the
//           broadcast has four rounds per round of the other rows (a short figure, widely spread)
//   echo-light, hold-light   ergo-ts with the light tab (@ergo-ts/tabs/light: no node, the
//           Socket.IO shape of a page) as the client: the echo's round trips and messages/s, the
//           join rate, the RSS per subscribed light tab and the broadcast's rows. Socket.IO and ws
//           have one client, so in these rows their columns repeat their own figures of the rows
//           above (the same measurement, noted so), as the light bundle's row does
//   flood   ergo-ts only: 10 tabs each send 5,000 messages at once against the default limit of
//           200 messages/s per tab; what passed ÷ what the limit allows (≤ 1: within its limits)
//   bundle  the browser bundle, gzip -9: what a tab's page loads, the tab side with the core inside
//           (packages/tabs/dist/browser/tab.js), and socket.io-client's dist/socket.io.min.js; a
//           second row the light tab's (packages/tabs/dist/browser/light.js) beside the same
//
// `npm run bench -- --only=tabs`; BENCH_TABS sets N (the hold scenario runs ⌈N / 2,500⌉ client
// processes). Above SCALE_TABS (BENCH_TABS=100000: issue 80's run) the hold scenario is ergo-ts'
// alone and its load tabs are lean (net/lean_tabs.ts: the tab frames over a bare `ws`, the same
// frames and so the same gateway state as a tab node), 10,000 per client process, each process
// dialling from its own loopback address (127.0.0.2, .3, …) for ephemeral ports; every process
// raises its open-file limit to what it holds (lib/fd_limit.ts: prlimit, as root). The one more
// tab of the round trip is a real tab node.

import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { gzipSync } from 'node:zlib';

import { Actor, startNode, type Node, type PID } from 'ergo-ts';
import { NewsPublisher } from '../lib/news_publisher.js';
import { createTabGateway, DEFAULT_TAB_LIMITS, type TabGatewayOptions } from '@ergo-ts/tabs';
import { Server as IoServer } from 'socket.io';
import { WebSocketServer } from 'ws';

import { monitorEventLoopDelay } from 'node:perf_hooks';

import { armAll } from '../lib/armed.js';
import { ensureMoreOpenFiles } from '../lib/fd_limit.js';
import { profFlags } from '../lib/prof_flags.js';
import type { Reply, Request } from '../net/tab_clients.js';
import type { FigureSpec, Report, ScenarioSpec, SuiteContext } from '../lib/types.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLIENTS = join(here, '..', 'net', 'tab_clients.js');
const repoRoot = join(here, '..', '..', '..');

/** The table of every row of this suite. */
export const G_TABS = 'browser tabs (gateway)';
/** Row names (the test checks each is reported for each peer that has it). */
export const N_RTT = 'round trip tab → server process → tab';
export const N_RATE = 'messages/s per tab (echoed, 64 in flight)';
export const nHeap = (n: number): string => `server heap per idle tab (${n} tabs)`;
export const nRss = (n: number): string => `server RSS per idle tab (${n} tabs)`;
export const nJoin = (n: number): string => `join rate (${n} tabs, 100 at once)`;
export const nBroadcast = (n: number): string => `broadcast to ${n} tabs: until the last has it`;
export const N_RTT_CPU = 'server CPU per round trip';
/** The round trip again with the server and its client on one core (see ONE_CORE_NOTE). */
export const N_RTT_ONE_CORE = 'round trip, server and client on one core';
export const N_RATE_CPU = 'server CPU per echoed message (64 in flight)';
export const nRssSub = (n: number): string => `server RSS per subscribed tab (${n} tabs)`;
export const nHeapSub = (n: number): string => `server heap per subscribed tab (${n} tabs)`;
export const nLoopDelay = (n: number): string => `event-loop delay, ${n} tabs idle (p99)`;
export const nIdleRtt = (n: number): string => `round trip of one more tab, ${n} joined`;
export const nJoinCpu = (n: number): string => `server CPU per join (${n} tabs)`;
export const nBroadcastCpu = (n: number): string => `server CPU per tab of a broadcast to ${n}`;
export const nBroadcastClientCpu = (n: number): string => `clients' CPU per tab of a broadcast to ${n}`;
export const N_FLOOD = 'flood: passed ÷ allowed by the per-tab limit';
export const N_FLOOD_RATE = 'flood: sends handled by the gateway (passed or refused)';
export const N_BUNDLE = 'browser bundle (gzip -9)';
/** The light tab's bundle (light.js, no node inside) beside socket.io-client's (issue 80). */
export const N_BUNDLE_LIGHT = 'browser bundle, light tab (gzip -9)';
// The light tab's rows (echo-light, hold-light): Socket.IO and ws have one client, so their
// columns there are the figures of the rows above, the same measurement (as the bundle's).
export const N_RTT_LIGHT = 'round trip, light tab → server process → tab';
export const N_RATE_LIGHT = 'messages/s per light tab (echoed, 64 in flight)';
export const N_RTT_ONE_CORE_LIGHT = 'round trip on one core, light tab';
export const nRssSubLight = (n: number): string => `server RSS per subscribed light tab (${n} tabs)`;
/** The same RSS read after a plain full GC (`gc()`), before the last-resort one (issue 93). */
export const nRssSubPlain = (n: number): string => `server RSS per subscribed tab after a plain GC (${n} tabs)`;
export const nRssSubPlainLight = (n: number): string =>
  `server RSS per subscribed light tab after a plain GC (${n} tabs)`;
export const nJoinLight = (n: number): string => `join rate, light tabs (${n} tabs, 100 at once)`;
export const nBroadcastLight = (n: number): string => `broadcast to ${n} light tabs: until the last has it`;
export const nBroadcastCpuLight = (n: number): string => `server CPU per light tab of a broadcast to ${n}`;
export const nBroadcastClientCpuLight = (n: number): string => `clients' CPU per light tab of a broadcast to ${n}`;

/** The columns of the echo and hold scenarios, each in its own child. */
export const PEERS = ['ergo-ts', 'socket.io', 'ws'] as const;

/** Above this many tabs the hold scenario runs at scale (ergo-ts alone, lean load tabs; see the header). */
export const SCALE_TABS = 10_000;

/** BENCH_TABS, or `fallback`. */
function tabsFromEnv(fallback: number): number {
  const v = process.env['BENCH_TABS'];
  const tabs = v === undefined || v === '' ? fallback : Number(v);
  if (!Number.isInteger(tabs) || tabs < 1) throw new Error(`BENCH_TABS must be an integer ≥ 1, not ${v}`);
  return tabs;
}

/** The sizes of one run. */
export interface TabsSizes {
  /** Tabs of the hold scenario. */
  tabs: number;
  /** Untimed round trips before the rounds (echo): every peer's call path compiled. */
  warmCalls: number;
  /** Untimed round trips once the server and client are on one core, before those rounds (echo). */
  oneCoreWarmCalls: number;
  /** Sequential round trips per round (echo). */
  calls: number;
  /** Messages echoed per round with 64 in flight (echo). */
  pipelined: number;
  /** Tabs flooding, and the sends of each (flood). */
  floodTabs: number;
  floodSends: number;
  /** The idle window after the subscriptions, ms (hold: event-loop delay, then memory per subscribed tab). */
  idleMs: number;
}

/** The sizes of `npm run bench`: BENCH_TABS tabs (default 1,000; 500 with --quick). */
export function defaultSizes(quick: boolean): TabsSizes {
  const tabs = tabsFromEnv(quick ? 500 : 1000);
  return {
    tabs,
    // Rounds of ~0.1 s each on a quiet machine; a loaded one stretches them tenfold.
    warmCalls: quick ? 5000 : 20_000,
    // ~0.5 s at one core's round trip (see echo: a peer moved to one core settles in ~0.3 s).
    oneCoreWarmCalls: quick ? 2000 : 10_000,
    calls: quick ? 500 : 1000,
    pipelined: quick ? 5000 : 10_000,
    // Few tabs, many sends: each offers about ten times its limit, so a gateway that let the
    // flood through would read well above 1 (100 tabs would share its throughput and offer ~1×).
    floodTabs: 10,
    floodSends: 5000,
    idleMs: 12_000,
  };
}

/** One child per scenario and peer (the flood is ergo-ts' alone; ws has no bundle). */
export const scenarios: ScenarioSpec[] = [
  { id: 'echo', peers: [...PEERS], timeout: 120 },
  {
    id: 'hold',
    peers: tabsFromEnv(1000) > SCALE_TABS ? ['ergo-ts'] : [...PEERS],
    timeout: 900,
    nodeFlags: ['--max-old-space-size=4096'],
  },
  { id: 'echo-light', peers: ['ergo-ts'], timeout: 120 },
  { id: 'hold-light', peers: tabsFromEnv(1000) > SCALE_TABS ? [] : ['ergo-ts'], timeout: 600 },
  { id: 'flood', peers: ['ergo-ts'], timeout: 120 },
  { id: 'bundle', peers: ['ergo-ts', 'socket.io'], timeout: 60 },
];

/** The flood stays within the tabs' limits: what passed ≤ one second's burst + the rate over its time. */
export const figures: FigureSpec[] = [{ group: G_TABS, name: N_FLOOD, target: { value: 1, better: 'lower' } }];

/**
 * A full GC that also gives the young generation's pages back (V8's "last resort" collection, as
 * under memory pressure): without it RSS counts the young generation as large as the joins' and
 * subscriptions' burst of garbage made it (up to 64 MiB, ~5 KiB a tab at 10,000) until V8's
 * memory reducer happens to run. The same for every peer.
 */
const gc = (): void =>
  (globalThis as { gc?: (o: object) => void }).gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });

/**
 * A plain full GC (`gc()`, what an application or a kit calls): the young generation keeps its
 * pages. Its RSS row is read before the last-resort one's, so both figures are of the same state.
 */
const plainGc = (): void => (globalThis as { gc?: () => void }).gc?.();
const PLAIN_NOTE =
  "after a plain full GC (gc(): the young generation's pages kept), read just before the last-resort one, over the same baseline";

/** The server of one peer: its URL, how many one-way `sink` messages reached it, its broadcast. */
export interface Server {
  url: string;
  sunk(): number;
  onSink: (() => void) | null;
  broadcast(seq: number): void;
  stop(): Promise<void>;
}

class Echo extends Actor {
  override handleCall(_from: PID, _ref: unknown, request: unknown): unknown {
    return request;
  }
  override handleMessage(from: PID, message: unknown): void {
    this.send(from, message);
  }
}

class Sink extends Actor {
  constructor(readonly onMessage: () => void) {
    super();
  }
  override handleMessage(): void {
    this.onMessage();
  }
}

async function ergoServer(flood: boolean, gateway: Partial<TabGatewayOptions> = {}): Promise<Server> {
  const node: Node = await startNode(`bench_tabs_${process.pid}@localhost`, {
    log: { defaultLogger: { disable: true } },
  });
  let sunk = 0;
  const s: Server = {
    url: '',
    sunk: () => sunk,
    onSink: null,
    broadcast: (seq) => node.send(pub, seq),
    stop: async () => {
      await gw.stop();
      await node.stop();
    },
  };
  await node.spawnRegister('echo', Echo);
  await node.spawnRegister('sink', () => new Sink(() => (sunk++, s.onSink?.())));
  const pub = await node.spawnRegister('news', NewsPublisher);
  // The default limits where the flood measures them; out of the way elsewhere.
  const limits = flood ? {} : { messagesPerSecond: 1e9, bytesPerSecond: 1e12, queuedBytes: 1 << 30 };
  const gw = await createTabGateway(node, {
    ...gateway,
    admit: () => ({ names: { echo: true, sink: true }, events: ['news'], limits }),
  });
  s.url = gw.url;
  return s;
}

async function listen(http: HttpServer): Promise<number> {
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return (http.address() as AddressInfo).port;
}

async function socketIoServer(): Promise<Server> {
  const http = createServer();
  const ioServer = new IoServer(http, { serveClient: false });
  let sunk = 0;
  const s: Server = {
    url: '',
    sunk: () => sunk,
    onSink: null,
    broadcast: (seq) => void ioServer.emit('news', seq),
    stop: () => new Promise<void>((r) => void ioServer.close(() => r())),
  };
  ioServer.on('connection', (socket) => {
    socket.on('echo', (data: unknown, ack: (d: unknown) => void) => ack(data));
    socket.on('m', (data: unknown) => void socket.emit('m', data));
    socket.on('sink', () => (sunk++, s.onSink?.()));
  });
  s.url = `http://127.0.0.1:${await listen(http)}`;
  return s;
}

async function wsServer(): Promise<Server> {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  wss.on('connection', (c) => c.on('message', (d, binary) => c.send(d, { binary })));
  const s: Server = {
    url: `ws://127.0.0.1:${await listen(http)}`,
    sunk: () => 0,
    onSink: null,
    broadcast: (seq) => {
      const data = String(seq);
      for (const c of wss.clients) c.send(data);
    },
    stop: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
  return s;
}

/**
 * The server of `peer` (`flood`: ergo-ts' gateway at the default limits, else out of the way;
 * `gateway`: more options of ergo-ts' gateway).
 */
export function startServer(peer: string, flood: boolean, gateway?: Partial<TabGatewayOptions>): Promise<Server> {
  if (peer === 'socket.io') return socketIoServer();
  if (peer === 'ws') return wsServer();
  return ergoServer(flood, gateway);
}

/** What an ergo-ts client process holds: tab nodes (''), lean load tabs, or light tabs. */
export type ClientKind = '' | 'lean' | 'light';

/** A client process (net/tab_clients.ts) and its IPC. */
export class Clients {
  readonly proc: ChildProcess;
  #waiting = new Map<string, (r: Reply) => void>();
  #failed: Error | null = null;
  /** Unasked replies (`got`, `refused`). */
  onReply: ((r: Reply) => void) | null = null;

  /**
   * `localAddress`: the loopback address its sockets dial from; `kind` (ergo-ts): lean load tabs
   * or light tabs instead of tab nodes.
   */
  constructor(peer: string, url: string, localAddress = '', kind: ClientKind = '') {
    this.proc = fork(CLIENTS, [peer, url, localAddress, kind], {
      execArgv: ['--max-old-space-size=4096', ...profFlags('client')],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (m) => {
      const r = m as Reply;
      if (r.op === 'error') return this.#fail(new Error(`tab clients: ${r.message}`));
      const w = this.#waiting.get(r.op);
      if (w !== undefined) {
        this.#waiting.delete(r.op);
        w(r);
      } else this.onReply?.(r);
    });
    // A send on a channel that closed under it: the process failed, said by its exit.
    this.proc.on('error', (e) => this.#fail(e));
    this.proc.on('exit', (code) => {
      if (this.#waiting.size > 0) this.#fail(new Error(`tab clients exited (${String(code)}) before answering`));
    });
  }

  #fail(e: Error): void {
    this.#failed = e;
    for (const w of this.#waiting.values()) w({ op: 'error', message: e.message });
    this.#waiting.clear();
  }

  /** Sends `req` and resolves with the reply `op`; rejects when the process fails. */
  async ask<R extends Reply>(req: Request, op: R['op']): Promise<R> {
    if (this.#failed !== null) throw this.#failed;
    const reply = await new Promise<Reply>((resolve) => {
      this.#waiting.set(op, resolve);
      this.proc.send(req);
    });
    if (reply.op === 'error') throw new Error(reply.message);
    return reply as R;
  }

  async leave(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.send({ op: 'leave' } satisfies Request);
    await exited;
  }
}

/** Per-round samples as one row. */
export function row(report: Report, peer: string, name: string, unit: string, samples: number[], extra = {}): void {
  const s = [...samples].sort((a, b) => a - b);
  const m = s.length >> 1;
  const value = s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  report({ group: G_TABS, name, unit, value, samples, peer, ...extra });
}

/** The echo's rows: a tab node's, or the light tab's (whose rows Socket.IO and ws repeat). */
const ECHO_ROWS = {
  full: { rtt: N_RTT, rate: N_RATE, oneCore: N_RTT_ONE_CORE },
  light: { rtt: N_RTT_LIGHT, rate: N_RATE_LIGHT, oneCore: N_RTT_ONE_CORE_LIGHT },
};

/** Reports `samples` as row `name`, and for Socket.IO and ws as the light tab's row `light` too. */
function rowAlso(
  report: Report,
  peer: string,
  [name, light]: [string, string],
  unit: string,
  samples: number[],
  extra: { better?: 'lower'; note?: string } = {},
): void {
  row(report, peer, name, unit, samples, extra);
  if (peer !== 'ergo-ts') row(report, peer, light, unit, samples, { ...extra, note: sameAs(name, extra.note) });
}

/** The note of a light tab's row where a peer has one client: the row it repeats. */
const sameAs = (name: string, note?: string): string =>
  `the figures of "${name}" (one client: the same measurement)${note === undefined ? '' : `; ${note}`}`;

async function echo(
  report: Report,
  peer: string,
  sizes: TabsSizes,
  rounds: number,
  warmup: number,
  light = false,
): Promise<void> {
  const server = await startServer(peer, false);
  const c = new Clients(peer, server.url, '', light ? 'light' : '');
  const names = light ? ECHO_ROWS.light : ECHO_ROWS.full;
  const also = (name: keyof typeof ECHO_ROWS.full): [string, string] => [names[name], ECHO_ROWS.light[name]];
  try {
    await c.ask({ op: 'join', count: 1 }, 'joined');
    // The server's CPU time at each round's start (and the last's end), as the client marks them.
    const marks: number[] = [];
    c.onReply = (m) => {
      if (m.op === 'mark') marks.push(cpuMicros(process.cpuUsage()));
    };
    const r = await c.ask<Extract<Reply, { op: 'echoed' }>>(
      {
        op: 'echo',
        warm: sizes.warmCalls,
        calls: sizes.calls,
        total: sizes.pipelined,
        window: 64,
        rounds: warmup + rounds,
      },
      'echoed',
    );
    rowAlso(report, peer, also('rtt'), 'µs', r.rttUs.slice(warmup), { better: 'lower' });
    rowAlso(report, peer, also('rate'), 'msg/s', r.rates.slice(warmup));
    // The same calls with both processes on one core, after untimed ones there: moved to one core
    // after the pipelined rounds, a peer's round trip took ~300 ms to settle (its first rounds up
    // to twice its steady one for ergo-ts, ×1.5 for Socket.IO), which 2 warm-up rounds of 1,000
    // calls did not cover.
    const all0 = process.pid;
    const cpus = `0-${availableParallelism() - 1}`;
    if (pin(all0, '0') && pin(c.proc.pid!, '0')) {
      try {
        c.onReply = null;
        const one = await c.ask<Extract<Reply, { op: 'echoed' }>>(
          {
            op: 'echo',
            warm: sizes.oneCoreWarmCalls,
            calls: sizes.calls,
            total: 1,
            window: 1,
            rounds: warmup + rounds,
          },
          'echoed',
        );
        rowAlso(report, peer, also('oneCore'), 'µs', one.rttUs.slice(warmup), {
          better: 'lower',
          note: ONE_CORE_NOTE,
        });
      } finally {
        pin(c.proc.pid!, cpus);
        pin(all0, cpus);
      }
    }
    const all = warmup + rounds;
    const per = (from: number, n: number): number[] =>
      Array.from({ length: rounds }, (_, i) => (marks[from + warmup + i + 1]! - marks[from + warmup + i]!) / n);
    if (marks.length === 2 * all + 1 && !light) {
      row(report, peer, N_RTT_CPU, 'µs', per(0, sizes.calls), { better: 'lower', note: ECHO_CPU_NOTE });
      row(report, peer, N_RATE_CPU, 'µs', per(all, sizes.pipelined), { better: 'lower', note: ECHO_CPU_NOTE });
    }
  } finally {
    await c.leave();
    await server.stop();
  }
}

/**
 * Why the round trip is also taken on one core: on this 2-core VM a round trip between processes
 * on two cores pays a cross-core wake each way (the idle core woken), and whether the scheduler
 * keeps the two on one core or two varies from run to run and peer to peer (raw ws read 40 µs and
 * 130 µs rounds in one run): the round trip on one core is the software's, the same for each.
 */
const ONE_CORE_NOTE =
  "the server and its client pinned to CPU 0 (taskset -a -pc 0, every thread), after the rows above: each call's path through both processes with no cross-core wake";

/** Pins process `pid` (every thread) to `cpus` with util-linux's taskset; false where that cannot be done. */
function pin(pid: number, cpus: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-pc', cpus, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The echo's CPU rows: between the client's marks, so the IPC's own turns are inside (a few per round). */
const ECHO_CPU_NOTE =
  "user + system time of the server's process (process.cpuUsage) over each measured round, between the client's marks";

/** Tabs per client process (the hold's, below scale). */
export const TABS_PER_PROCESS = 2500;
/** The server's CPU rows: its own time, so a figure that other processes on the machine shift less. */
const CPU_NOTE = "user + system time of the server's process (process.cpuUsage), its own whatever the clients cost";
const cpuMicros = (c: NodeJS.CpuUsage): number => c.user + c.system;
/** A clock tick of /proc/<pid>/stat's times (USER_HZ: 100 on Linux), µs. */
const TICK_US = 10_000;
/** The user + system time of the client processes so far (µs, from /proc; NaN where it has none). */
export function clientsCpu(clients: Clients[]): number {
  let ticks = 0;
  for (const c of clients) {
    // The fields after the command's closing parenthesis: state is the 3rd, utime the 14th.
    const stat = readFileSync(`/proc/${c.proc.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks * TICK_US;
}
/** What hears a broadcast in each peer's client processes. */
const CLIENT_HOW: Record<string, string> = {
  'ergo-ts': "a tab node each (the frame decoded, the event to the monitoring process's mailbox)",
  'socket.io': 'a socket.io-client socket each',
  ws: 'a ws WebSocket each',
};
const CLIENT_HOW_LIGHT = 'a light tab each (the frame decoded, the event to its subscription callback)';
/** Lean load tabs per client process at scale (each process then needs one source address). */
const LEAN_TABS_PER_PROCESS = 10_000;

/** How each peer broadcasts. */
const BROADCAST_HOW: Record<string, string> = {
  'ergo-ts': "one sendEvent of a gateway process; each tab's process monitors the event",
  'socket.io': 'one io.emit',
  ws: 'a send per socket (wss.clients)',
};

async function hold(
  report: Report,
  peer: string,
  n: number,
  { idleMs, warmCalls: idleWarm }: TabsSizes,
  rounds: number,
  warmup: number,
): Promise<void> {
  const scale = n > SCALE_TABS;
  // A socket per tab here, and room for the process's own files.
  ensureMoreOpenFiles(n);
  const server = await startServer(peer, false);
  const procs = Math.ceil(n / (scale ? LEAN_TABS_PER_PROCESS : TABS_PER_PROCESS));
  const share = (i: number): number => Math.floor(n / procs) + (i < n % procs ? 1 : 0);
  gc();
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;
  const clients = Array.from(
    { length: procs },
    (_, i) => new Clients(peer, server.url, scale ? `127.0.0.${2 + i}` : '', scale ? 'lean' : ''),
  );
  const more: Clients[] = [];
  try {
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await Promise.all(clients.map((c, i) => c.ask({ op: 'join', count: share(i) }, 'joined')));
    const joinS = (performance.now() - t0) / 1000;
    const joinCpu = cpuMicros(process.cpuUsage(cpu0)) / n;
    gc();
    gc();
    const mem = process.memoryUsage();
    const note = `${procs} client process(es)${scale ? ' of lean load tabs' : ''}; after a full GC that gives the young generation back`;
    row(report, peer, nHeap(n), 'B/tab', [(mem.heapUsed - heap0) / n], { better: 'lower', note });
    row(report, peer, nRss(n), 'B/tab', [(mem.rss - rss0) / n], { better: 'lower', note });
    rowAlso(report, peer, [nJoin(n), nJoinLight(n)], 'joins/s', [n / joinS]);
    row(report, peer, nJoinCpu(n), 'µs', [joinCpu], { better: 'lower', note: CPU_NOTE });

    await Promise.all(clients.map((c) => c.ask({ op: 'subscribe' }, 'subscribed')));

    // Every tab idle: how late the server's timers run.
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    await new Promise((r) => setTimeout(r, idleMs));
    delay.disable();
    row(report, peer, nLoopDelay(n), 'ms', [delay.percentile(99) / 1e6], {
      better: 'lower',
      note: `${idleMs / 1000} s, resolution 10 ms (the figure includes it); max ${(delay.max / 1e6).toFixed(1)} ms`,
    });
    plainGc();
    plainGc();
    const plain = process.memoryUsage().rss;
    gc();
    gc();
    const sub = process.memoryUsage();
    const subNote = `${note}; ${BROADCAST_HOW[peer]}`;
    rowAlso(report, peer, [nRssSubPlain(n), nRssSubPlainLight(n)], 'B/tab', [(plain - rss0) / n], {
      better: 'lower',
      note: `${PLAIN_NOTE}; ${BROADCAST_HOW[peer]}`,
    });
    row(report, peer, nHeapSub(n), 'B/tab', [(sub.heapUsed - heap0) / n], { better: 'lower', note: subNote });
    rowAlso(report, peer, [nRssSub(n), nRssSubLight(n)], 'B/tab', [(sub.rss - rss0) / n], {
      better: 'lower',
      note: subNote,
    });

    // One more tab (a real client, a tab node for ergo-ts) calls while the others hold, after as
    // many untimed calls as the echo's (a fresh client's call path compiles over its first ~20,000).
    const one = new Clients(peer, server.url);
    more.push(one);
    await one.ask({ op: 'join', count: 1 }, 'joined');
    const echoed = await one.ask<Extract<Reply, { op: 'echoed' }>>(
      { op: 'echo', warm: idleWarm, calls: 500, total: 1000, window: 64, rounds: warmup + rounds },
      'echoed',
    );
    row(report, peer, nIdleRtt(n), 'µs', echoed.rttUs.slice(warmup), { better: 'lower' });

    await broadcastRows(report, peer, n, server, clients, rounds, warmup, false);
  } finally {
    await Promise.all([...clients, ...more].map((c) => c.leave()));
    await server.stop();
  }
}

/** Broadcasts per round of the other rows: a broadcast is short and its rounds spread widely. */
const BROADCASTS_PER_ROUND = 4;

/**
 * `rounds` × BROADCASTS_PER_ROUND broadcasts (after `warmup` ones) to the `n` tabs of `clients`:
 * the time until the last has it, the server's CPU and the clients' per tab; the light tab's rows
 * when `light` (for Socket.IO and ws, both).
 */
async function broadcastRows(
  report: Report,
  peer: string,
  n: number,
  server: Server,
  clients: Clients[],
  rounds: number,
  warmup: number,
  light: boolean,
): Promise<void> {
  const times: number[] = [];
  const cpus: number[] = [];
  const clientCpus: number[] = [];
  for (let seq = 1; seq <= warmup + rounds * BROADCASTS_PER_ROUND; seq++) {
    const { heard: all } = await armAll(clients, seq);
    const t1 = performance.now();
    const cpu1 = process.cpuUsage();
    const clientCpu1 = clientsCpu(clients);
    server.broadcast(seq);
    await all;
    if (seq > warmup) {
      times.push(performance.now() - t1);
      cpus.push(cpuMicros(process.cpuUsage(cpu1)) / n);
      clientCpus.push((clientsCpu(clients) - clientCpu1) / n);
    }
  }
  const scale = n > SCALE_TABS;
  const rows = (name: string, lightName: string): [string, string] =>
    light ? [lightName, lightName] : [name, lightName];
  const how = light
    ? 'one sendEvent of a gateway process; each light tab subscribes to the event'
    : BROADCAST_HOW[peer];
  rowAlso(report, peer, rows(nBroadcast(n), nBroadcastLight(n)), 'ms', times, { better: 'lower', note: how });
  rowAlso(report, peer, rows(nBroadcastCpu(n), nBroadcastCpuLight(n)), 'µs', cpus, { better: 'lower', note: CPU_NOTE });
  rowAlso(report, peer, rows(nBroadcastClientCpu(n), nBroadcastClientCpuLight(n)), 'µs', clientCpus, {
    better: 'lower',
    note: `the client processes' user + system time (/proc, ${TICK_US / 1000} ms ticks): ${scale ? 'lean load tabs' : light ? CLIENT_HOW_LIGHT : CLIENT_HOW[peer]}`,
  });
}

/**
 * ergo-ts with N light tabs (@ergo-ts/tabs/light) in the hold's client processes: the server's RSS
 * per subscribed light tab and the broadcast's rows, beside Socket.IO's and ws' of the hold.
 */
async function holdLight(report: Report, n: number, rounds: number, warmup: number): Promise<void> {
  ensureMoreOpenFiles(n);
  const server = await startServer('ergo-ts', false);
  const procs = Math.ceil(n / TABS_PER_PROCESS);
  const share = (i: number): number => Math.floor(n / procs) + (i < n % procs ? 1 : 0);
  gc();
  gc();
  const rss0 = process.memoryUsage().rss;
  const clients = Array.from({ length: procs }, () => new Clients('ergo-ts', server.url, '', 'light'));
  try {
    const t0 = performance.now();
    await Promise.all(clients.map((c, i) => c.ask({ op: 'join', count: share(i) }, 'joined')));
    row(report, 'ergo-ts', nJoinLight(n), 'joins/s', [n / ((performance.now() - t0) / 1000)]);
    await Promise.all(clients.map((c) => c.ask({ op: 'subscribe' }, 'subscribed')));
    plainGc();
    plainGc();
    row(report, 'ergo-ts', nRssSubPlainLight(n), 'B/tab', [(process.memoryUsage().rss - rss0) / n], {
      better: 'lower',
      note: `${PLAIN_NOTE}; light tabs, each subscribed to the event (no idle window)`,
    });
    gc();
    gc();
    row(report, 'ergo-ts', nRssSubLight(n), 'B/tab', [(process.memoryUsage().rss - rss0) / n], {
      better: 'lower',
      note: `${procs} client process(es) of light tabs, each subscribed to the event; after a full GC that gives the young generation back (no idle window)`,
    });
    await broadcastRows(report, 'ergo-ts', n, server, clients, rounds, warmup, true);
  } finally {
    await Promise.all(clients.map((c) => c.leave()));
    await server.stop();
  }
}

/** `floodTabs` tabs send `floodSends` messages each at once to the gateway's sink, held to the default limits. */
async function flood(report: Report, { floodTabs, floodSends }: TabsSizes): Promise<void> {
  const server = await startServer('ergo-ts', true);
  const c = new Clients('ergo-ts', server.url);
  try {
    await c.ask({ op: 'join', count: floodTabs }, 'joined');
    const total = floodTabs * floodSends;
    let refused = 0;
    let end!: () => void;
    const done = new Promise<void>((r) => (end = r));
    const check = (): void => {
      if (server.sunk() + refused === total) end();
    };
    server.onSink = check;
    c.onReply = (r) => {
      if (r.op === 'refused') ((refused += r.n), check());
    };
    const t0 = performance.now();
    await c.ask({ op: 'flood', perTab: floodSends }, 'flooded');
    await done;
    const s = (performance.now() - t0) / 1000;
    const rate = DEFAULT_TAB_LIMITS.messagesPerSecond;
    const allowed = floodTabs * (rate + rate * s);
    const offered = floodSends / s;
    const note = `${floodTabs} tabs × ${floodSends} sends at once (~${offered.toFixed(0)}/s offered per tab), limit ${rate} msg/s per tab: ${server.sunk()} passed, ${refused} refused (ERR_TAB_RATE_LIMIT at the tab) in ${s.toFixed(2)} s; allowed: one second's burst + ${rate}/s × that time, per tab`;
    row(report, 'ergo-ts', N_FLOOD, '×', [server.sunk() / allowed], { better: 'lower', note });
    row(report, 'ergo-ts', N_FLOOD_RATE, 'msg/s', [total / s]);
  } finally {
    await c.leave();
    await server.stop();
  }
}

/** gzip -9 of the peer's browser bundle. */
function bundle(report: Report, peer: string): void {
  const file =
    peer === 'socket.io'
      ? join(repoRoot, 'node_modules', 'socket.io-client', 'dist', 'socket.io.min.js')
      : join(repoRoot, 'packages', 'tabs', 'dist', 'browser', 'tab.js');
  if (!existsSync(file))
    throw new Error(
      `${file} is missing: ${peer === 'socket.io' ? 'npm ci brings socket.io-client' : '`npm run build` makes it (scripts/bundle-browser.mjs)'}`,
    );
  const src = readFileSync(file);
  const gz = gzipSync(src, { level: 9 }).length;
  const note =
    peer === 'socket.io'
      ? `socket.io-client dist/socket.io.min.js, ${src.length} B minified`
      : `the tab side with the core inside (@ergo-ts/tabs/browser, tab.js), ${src.length} B minified`;
  report({ group: G_TABS, name: N_BUNDLE, unit: 'B', value: gz, peer, better: 'lower', note });
  // The light tab (@ergo-ts/tabs/light): a page that calls and hears from servers, no node inside.
  const light = join(repoRoot, 'packages', 'tabs', 'dist', 'browser', 'light.js');
  const lsrc = peer === 'socket.io' ? src : readFileSync(light);
  const lnote =
    peer === 'socket.io' ? note : `the light tab (@ergo-ts/tabs/light, light.js), ${lsrc.length} B minified`;
  const lgz = peer === 'socket.io' ? gz : gzipSync(lsrc, { level: 9 }).length;
  report({ group: G_TABS, name: N_BUNDLE_LIGHT, unit: 'B', value: lgz, peer, better: 'lower', note: lnote });
}

/** The suite: one scenario × peer per child (see `scenarios`); without a scenario, every one. */
export function tabsSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  return runTabs(report, ctx, defaultSizes(ctx?.quick ?? false));
}

/** The suite at the given sizes (the test runs it tiny). */
export async function runTabs(report: Report, ctx: SuiteContext | undefined, sizes: TabsSizes): Promise<void> {
  const rounds = ctx?.rounds ?? 5;
  const warmup = ctx?.warmup ?? 2;
  const list = ctx?.scenario === undefined ? scenarios : scenarios.filter((s) => s.id === ctx.scenario);
  for (const sc of list) {
    const peers = ctx?.scenario === undefined ? sc.peers! : [ctx.peer];
    for (const peer of peers) {
      if (sc.id === 'echo') await echo(report, peer, sizes, rounds, warmup);
      else if (sc.id === 'echo-light') await echo(report, peer, sizes, rounds, warmup, true);
      else if (sc.id === 'hold') await hold(report, peer, sizes.tabs, sizes, rounds, warmup);
      else if (sc.id === 'hold-light') await holdLight(report, sizes.tabs, rounds, warmup);
      else if (sc.id === 'flood') await flood(report, sizes);
      else bundle(report, peer);
    }
  }
}
