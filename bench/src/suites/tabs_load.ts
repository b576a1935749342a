// The tab gateway under load (issue 93), beside the tabs suite (suites/tabs.ts, whose server and
// client processes these scenarios use): what a tab that only calls meets while the gateway is busy
// with others.
//
//   broadcast-calls   N subscribed tabs (light tabs for ergo-ts, socket.io-client for Socket.IO;
//           BENCH_TABS, default 1,000) in client processes of 2,500, and one more tab in a process
//           of its own that calls the server's echo in a row, unsubscribed, while the server
//           broadcasts: the round trips of its calls that overlapped a broadcast (p99 and max,
//           pooled over every broadcast of a round), and each broadcast's time until the last
//           tab has it (as the tabs suite's broadcast rows time it). ergo-ts' gateway writes a
//           publish in slices (slices.ts: fanOutSlice frames per turn of its loop); Socket.IO's
//           io.emit writes every socket in one go.
//   flood-load   ergo-ts only, with two CPU hogs (`yes`, output to /dev/null) beside the gateway on
//           this 2-core machine: 20 light tabs each send 5,000 messages at once (25× the default
//           200 messages/s), then make 200 calls at once; how those 4,000 calls ended (refused
//           with ERR_TAB_RATE_LIMIT, ERR_TIMEOUT at their 5 s default, answered), the gateway's
//           event-loop delay (p99) over the flood, and the round trip of an honest light tab (in
//           its own process) calling in a row meanwhile, 10 ms between calls to stay within its own
//           limit (p99, max). Fresh flooding tabs each round.
//
// `npm run bench -- --only=tabs_load` (or `--only=tabs`, which takes the tabs suite too).

import { spawn, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { armAll } from '../lib/armed.js';
import { hostMs } from '../lib/host_clock.js';
import { ensureMoreOpenFiles } from '../lib/fd_limit.js';
import type { Reply } from '../net/tab_clients.js';
import type { Report, ScenarioSpec, SuiteContext } from '../lib/types.js';
import { Clients, row, startServer, TABS_PER_PROCESS, type Server } from './tabs.js';

/** Row names. */
export const nRttDuring = (n: number): string => `round trip during a broadcast to ${n} tabs (p99)`;
/** The slowest call of each broadcast (a call held behind the whole fan-out shows here, however many others ran). */
export const nSlowestDuring = (n: number): string => `slowest call during each broadcast to ${n} tabs`;
export const nBroadcastDuring = (n: number): string =>
  `broadcast to ${n} tabs while a tab calls: until the last has it`;
export const N_FLOOD_RATE_CODE = 'flood under 2 CPU hogs: calls refused ERR_TAB_RATE_LIMIT';
export const N_FLOOD_TIMEOUTS = 'flood under 2 CPU hogs: calls ended ERR_TIMEOUT';
export const N_FLOOD_RTT = 'flood under 2 CPU hogs: an honest tab’s round trip (p99)';
export const N_FLOOD_LOOP = 'flood under 2 CPU hogs: gateway event-loop delay (p99)';

/** Flooding tabs, the messages each sends at once, then the calls each makes at once. */
export const FLOOD_TABS = 20;
export const FLOOD_SENDS = 5000;
export const FLOOD_CALLS = 200;
/** The honest tab's pause between calls in the flood (~90 calls/s: within its 200 messages/s). */
const HONEST_GAP_MS = 10;
/** Broadcasts per measured round (as the tabs suite's). */
const BROADCASTS_PER_ROUND = 4;

/** BENCH_TABS, or `fallback`. */
export function tabsFromEnv(fallback: number): number {
  const v = process.env['BENCH_TABS'];
  const tabs = v === undefined || v === '' ? fallback : Number(v);
  if (!Number.isInteger(tabs) || tabs < 1) throw new Error(`BENCH_TABS must be an integer ≥ 1, not ${v}`);
  return tabs;
}

/**
 * ergo-ts' gateway writing a whole broadcast in one turn (fanOutSlice past the tabs' number: the
 * gateway before the slices), the same light tabs: what the slices cost the broadcast, and spare.
 */
export const ONE_SLICE = 'ergo-ts, one slice';

/** One child per scenario and peer. */
export const scenarios: ScenarioSpec[] = [
  {
    id: 'broadcast-calls',
    peers: ['ergo-ts', ONE_SLICE, 'socket.io'],
    timeout: 600,
    nodeFlags: ['--max-old-space-size=4096'],
  },
  { id: 'flood-load', peers: ['ergo-ts'], timeout: 300 },
];

/** The `q` quantile of `xs` (nearest rank); NaN for none. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

/** The round trips of `called` whose call overlapped [from, to] (lib/host_clock.ts: hostMs). */
export function overlapping(called: Extract<Reply, { op: 'called' }>, from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < called.at.length; i++) {
    const start = called.at[i]!;
    if (start <= to && start + called.rttMs[i]! >= from) out.push(called.rttMs[i]!);
  }
  return out;
}

/** The client kind of the subscribed tabs and the honest one: ergo-ts' light tab. */
const kindOf = (peer: string): 'light' | '' => (peer === 'ergo-ts' ? 'light' : '');

async function broadcastCalls(report: Report, peer: string, n: number, rounds: number, warmup: number): Promise<void> {
  ensureMoreOpenFiles(n + 100);
  const server: Server =
    peer === ONE_SLICE
      ? await startServer('ergo-ts', false, { fanOutSlice: 1e9, fanOutSliceMs: Infinity })
      : await startServer(peer, false);
  const procs = Math.ceil(n / TABS_PER_PROCESS);
  const share = (i: number): number => Math.floor(n / procs) + (i < n % procs ? 1 : 0);
  const client = peer === ONE_SLICE ? 'ergo-ts' : peer;
  const clients = Array.from({ length: procs }, () => new Clients(client, server.url, '', kindOf(client)));
  const honest = new Clients(client, server.url, '', kindOf(client));
  try {
    await Promise.all(clients.map((c, i) => c.ask({ op: 'join', count: share(i) }, 'joined')));
    await Promise.all(clients.map((c) => c.ask({ op: 'subscribe' }, 'subscribed')));
    await honest.ask({ op: 'join', count: 1 }, 'joined');
    // Untimed calls first (a fresh client's call path compiles over its first thousands).
    await honest.ask({ op: 'echo', warm: 5000, calls: 1, total: 1, window: 1, rounds: 1 }, 'echoed');
    const p99s: number[] = [];
    const maxes: number[] = [];
    const times: number[] = [];
    const slowest: number[] = [];
    let seq = 0;
    let calls = 0;
    for (let round = 0; round < warmup + rounds; round++) {
      const rtts: number[] = [];
      for (let b = 0; b < BROADCASTS_PER_ROUND; b++) {
        seq++;
        const { heard: all } = await armAll(clients, seq);
        await honest.ask({ op: 'calls', gapMs: 0 }, 'calling');
        const from = hostMs();
        const t1 = performance.now();
        server.broadcast(seq);
        await all;
        const ms = performance.now() - t1;
        const to = hostMs();
        // The calling tab's calls cover [from, to] by construction, whatever the load: its first
        // call started before it said `calling`, each next one starts as the last ends (one stamp),
        // and its last ends after `stop`. A call longer than the whole broadcast overlaps it too.
        const during = overlapping(await stopCalls(honest), from, to);
        if (during.length === 0)
          throw new Error(`broadcast ${seq}: no call of the calling tab overlapped it (its stamps disagree with ours)`);
        if (round < warmup) continue;
        times.push(ms);
        rtts.push(...during);
        slowest.push(quantile(during, 1));
        calls += during.length;
      }
      if (round >= warmup) {
        p99s.push(quantile(rtts, 0.99));
        maxes.push(quantile(rtts, 1));
      }
    }
    const how =
      peer === 'ergo-ts'
        ? 'light tabs; the gateway writes fanOutSlice (256) frames per turn'
        : peer === ONE_SLICE
          ? 'light tabs; the gateway writes the whole broadcast in one turn (fanOutSlice 1e9)'
          : 'one io.emit';
    row(report, peer, nRttDuring(n), 'ms', p99s, {
      better: 'lower',
      note: `${calls} calls of one more tab (unsubscribed, its own process) that overlapped ${rounds * BROADCASTS_PER_ROUND} broadcasts; p99 per round of ${BROADCASTS_PER_ROUND}; max ${Math.max(...maxes).toFixed(1)} ms; ${how}`,
    });
    row(report, peer, nSlowestDuring(n), 'ms', slowest, {
      better: 'lower',
      note: `per broadcast, the longest round trip of the calls that overlapped it; ${how}`,
    });
    row(report, peer, nBroadcastDuring(n), 'ms', times, { better: 'lower', note: how });
  } finally {
    await Promise.all([...clients, honest].map((c) => c.leave()));
    await server.stop();
  }
}

/** Stops a client's call loop and resolves with its calls. */
export function stopCalls(c: Clients): Promise<Extract<Reply, { op: 'called' }>> {
  return new Promise((resolve, reject) => {
    c.onReply = (r) => {
      if (r.op === 'called') resolve(r);
      else if (r.op === 'error') reject(new Error(r.message));
    };
    c.proc.send({ op: 'stop' });
  });
}

/** Two `yes` processes writing to /dev/null: the CPU hogs of the flood under load. */
function hogs(): ChildProcess[] {
  return [0, 1].map(() => spawn('yes', [], { stdio: 'ignore' }));
}

async function floodLoad(report: Report, rounds: number, warmup: number): Promise<void> {
  const server = await startServer('ergo-ts', true);
  const honest = new Clients('ergo-ts', server.url, '', 'light');
  const cpuHogs = hogs();
  const rateShares: number[] = [];
  const timeouts: number[] = [];
  const p99s: number[] = [];
  const loops: number[] = [];
  const notes: string[] = [];
  let maxRtt = 0;
  try {
    await honest.ask({ op: 'join', count: 1 }, 'joined');
    // Within the honest tab's own limit (200/s, one second's burst): its calls are never refused.
    await honest.ask({ op: 'echo', warm: 100, calls: 1, total: 1, window: 1, rounds: 1 }, 'echoed');
    for (let round = 0; round < warmup + rounds; round++) {
      const flooders = new Clients('ergo-ts', server.url, '', 'light');
      try {
        await flooders.ask({ op: 'join', count: FLOOD_TABS }, 'joined');
        flooders.onReply = () => undefined; // the `refused` counts of the sends: not needed here
        await honest.ask({ op: 'calls', gapMs: HONEST_GAP_MS }, 'calling');
        const delay = monitorEventLoopDelay({ resolution: 10 });
        delay.enable();
        const from = hostMs();
        const r = await flooders.ask<Extract<Reply, { op: 'flood-called' }>>(
          { op: 'flood-calls', sends: FLOOD_SENDS, calls: FLOOD_CALLS },
          'flood-called',
        );
        const to = hostMs();
        delay.disable();
        const during = overlapping(await stopCalls(honest), from, to);
        if (round < warmup) continue;
        const total = FLOOD_TABS * FLOOD_CALLS;
        rateShares.push((r.codes['ERR_TAB_RATE_LIMIT'] ?? 0) / total);
        timeouts.push(r.codes['ERR_TIMEOUT'] ?? 0);
        p99s.push(quantile(during, 0.99));
        maxRtt = Math.max(maxRtt, quantile(during, 1));
        loops.push(delay.percentile(99) / 1e6);
        notes.push(
          `${Object.entries(r.codes)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')} in ${((to - from) / 1000).toFixed(2)} s (${during.length} honest calls)`,
        );
      } finally {
        await flooders.leave();
      }
    }
  } finally {
    for (const h of cpuHogs) h.kill();
    await honest.leave();
    await server.stop();
  }
  const what = `${FLOOD_TABS} light tabs × (${FLOOD_SENDS} sends, then ${FLOOD_CALLS} calls) at once, default limits (200 msg/s per tab), 2 \`yes\` hogs beside; per round: ${notes.join(' | ')}`;
  row(report, 'ergo-ts', N_FLOOD_RATE_CODE, '×', rateShares, {
    note: `share of the ${FLOOD_TABS * FLOOD_CALLS} calls; ${what}`,
  });
  row(report, 'ergo-ts', N_FLOOD_TIMEOUTS, 'calls', timeouts, { better: 'lower', note: 'of the same calls' });
  row(report, 'ergo-ts', N_FLOOD_RTT, 'ms', p99s, {
    better: 'lower',
    note: `one light tab in its own process calling in a row during the flood; max ${maxRtt.toFixed(1)} ms`,
  });
  row(report, 'ergo-ts', N_FLOOD_LOOP, 'ms', loops, {
    better: 'lower',
    note: 'perf_hooks monitorEventLoopDelay in the gateway, resolution 10 ms (included)',
  });
}

/** The suite: one scenario × peer per child (see `scenarios`); without a scenario, every one. */
export async function tabsLoadSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  const rounds = ctx?.rounds ?? 5;
  const warmup = ctx?.warmup ?? 2;
  const n = tabsFromEnv(ctx?.quick === true ? 500 : 1000);
  const list = ctx?.scenario === undefined ? scenarios : scenarios.filter((s) => s.id === ctx.scenario);
  for (const sc of list) {
    const peers = ctx?.scenario === undefined ? sc.peers! : [ctx.peer];
    for (const peer of peers) {
      if (sc.id === 'broadcast-calls') await broadcastCalls(report, peer, n, rounds, warmup);
      else await floodLoad(report, rounds, warmup);
    }
  }
}
