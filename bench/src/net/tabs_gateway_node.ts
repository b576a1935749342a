// One gateway node of the tabs cluster layout (suites/tabs_load.ts, scenario `cluster`): an ergo-ts
// node in its own OS process with a tab gateway, a static route to the server node that publishes
// (its name and port in argv), and an `echo` process for the tab whose round trip is timed. The
// tabs joined here subscribe to the server node's event: the gateway's relay monitors it once for
// all of them (event_hub.ts), so each publish reaches this process as one ENP message.
//
//   fork(tabs_gateway_node.js, [server node name, server port, index, tabs it will hold, cookie,
//        peerStallTimeout ms (optional)])
//     → { op: 'ready', url, name } then requests over IPC:
//   { op: 'mem' }    → { op: 'mem', rss, heap } after a full GC (V8's last-resort one, as the tabs
//                        suite reads it), bytes
//   { op: 'usage' }  → { op: 'usage', cpuUs, loopP99Ms, loopMaxMs, enpIn } the process's CPU time
//                        so far (µs), its event-loop delay since the last `usage` (p99, max; 10 ms
//                        resolution), the ENP messages it has received from the server node and
//                        how long its connection to it has been up (s; -1: none; a reconnect reads low)
//   { op: 'diagnose' } → { op: 'diagnose', tabs, away, queuedMax, warnings, lastWarnings } the
//                        sessions, those without a socket, the most bytes queued for one, and the
//                        node's warning and error log lines (counted; the last few as written)
//   { op: 'trace' }  → nothing; with BENCH_LEAVE_TRACE set, a leave storm's timeline on stderr at `drained`
//   { op: 'drained' } → { op: 'drained' } once the gateway has no session left (checked every 250 ms)
//   { op: 'stop' }   → stops and exits

import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { Actor, startNode, type PID, type Ref, type NetworkRoute } from 'ergo-ts';
import { createTabGateway } from '@ergo-ts/tabs';

import { ensureMoreOpenFiles } from '../lib/fd_limit.js';
import { hostMs } from '../lib/host_clock.js';

/** What a gateway node answers over IPC. */
export type GatewayReply =
  | { op: 'ready'; url: string; name: string }
  | { op: 'mem'; rss: number; heap: number }
  | { op: 'usage'; cpuUs: number; loopP99Ms: number; loopMaxMs: number; enpIn: number; serverUpS: number }
  | { op: 'diagnose'; tabs: number; away: number; queuedMax: number; warnings: number; lastWarnings: string[] }
  | { op: 'drained' };

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
  override handleMessage(from: PID, message: unknown): void {
    this.send(from, message);
  }
}

function routeTo(port: number): NetworkRoute {
  const v = { name: '', release: '' };
  return { route: { host: '127.0.0.1', port, tls: false, handshakeVersion: v, protoVersion: v } };
}

const gc = (): void =>
  (globalThis as { gc?: (o: object) => void }).gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });

/** Warning and error lines the node wrote (a publish some tabs missed is explained by them). */
let warnings = 0;
const lastWarnings: string[] = [];
const output = {
  write(line: string): boolean {
    warnings++;
    process.stderr.write(`[gateway ${index} pid ${process.pid}] ${line}`);
    if (lastWarnings.push(line.trim()) > 5) lastWarnings.shift();
    return true;
  },
};

const [server, port, index, tabs, cookie, stallMs] = process.argv.slice(2);
ensureMoreOpenFiles(Number(tabs) + 200);
const node = await startNode(`bench_tabs_gw${index}_${process.pid}@localhost`, {
  log: { defaultLogger: { output, filter: ['warning', 'error', 'panic'] } },
  network: {
    cookie: cookie!,
    acceptors: [{ port: 0 }],
    registrar: null,
    ...(stallMs === undefined ? {} : { peerStallTimeout: Number(stallMs) }),
    routes: [{ match: server!.replace(/[.$]/g, '\\$&'), route: routeTo(Number(port)) }],
  },
});
await node.spawnRegister('echo', Echo);
// BENCH_FANOUT_SLICE_MS: the gateway's fanOutSliceMs (a number, or `Infinity`), for before/after
// pairs of the broadcast's time-bounded slices; the default otherwise.
const sliceMs = process.env['BENCH_FANOUT_SLICE_MS'];
const gw = await createTabGateway(node, {
  ...(sliceMs === undefined ? {} : { fanOutSliceMs: Number(sliceMs) }),
  // Out of the way of the measurement (the limits are the flood's to measure).
  admit: () => ({
    names: { echo: true },
    events: ['news'],
    limits: { messagesPerSecond: 1e9, bytesPerSecond: 1e12, queuedBytes: 1 << 30 },
  }),
});
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const send = (r: GatewayReply): void => void process.send!(r);
process.on('disconnect', () => process.exit(0));
process.on('message', (m) => {
  const op = (m as { op: string }).op;
  if (op === 'mem') {
    gc();
    gc();
    const u = process.memoryUsage();
    send({ op: 'mem', rss: u.rss, heap: u.heapUsed });
  } else if (op === 'usage') {
    const c = process.cpuUsage();
    let enpIn = 0;
    let serverUpS = -1;
    try {
      const info = node
        .network()
        .node(server as never)
        .info();
      enpIn = info.messagesIn;
      serverUpS = info.connectionUptime;
    } catch {
      // Not connected to the server node (yet, or any more): nothing received.
    }
    send({
      op: 'usage',
      cpuUs: c.user + c.system,
      loopP99Ms: delay.percentile(99) / 1e6,
      loopMaxMs: delay.max / 1e6,
      enpIn,
      serverUpS,
    });
    delay.reset();
  } else if (op === 'diagnose') {
    const all = gw.tabs();
    send({
      op: 'diagnose',
      tabs: all.length,
      away: all.filter((t) => !t.connected).length,
      queuedMax: Math.max(0, ...all.map((t) => t.queuedBytes)),
      warnings,
      lastWarnings,
    });
  } else if (op === 'trace') {
    if (process.env['BENCH_LEAVE_TRACE'] !== undefined) traceLeave();
  } else if (op === 'drained') {
    // Polled, not hooked: the gateway has no event for it, and a list every 250 ms is a few ms.
    const check = (): void => {
      if (gw.tabs().length === 0) {
        trace?.stop();
        send({ op: 'drained' });
      } else setTimeout(check, 250);
    };
    check();
  } else if (op === 'stop') {
    void (async () => {
      await gw.stop();
      await node.stop();
      process.exit(0);
    })();
  }
});
/**
 * BENCH_LEAVE_TRACE: a timeline of the leave storm on stderr, from `trace` until drained: every
 * 10 ms timer's sample (the host's clock, sessions left, CPU) — a gap between samples is the
 * loop held — summed per 250 ms as sessions ended, CPU and the longest gap.
 */
let trace: { stop(): void } | null = null;
function traceLeave(): void {
  const sessions = (gw as unknown as { sessions: Map<string, unknown> }).sessions;
  // [host ms, sessions, CPU µs, ms waited on the OS run queue (schedstat: runnable, not running)]
  const samples: [number, number, number, number][] = [];
  const sample = (): void => {
    const c = process.cpuUsage();
    const wait = Number(readFileSync('/proc/self/schedstat', 'utf8').split(' ')[1]) / 1e6;
    samples.push([hostMs(), sessions.size, c.user + c.system, wait]);
  };
  sample();
  const timer = setInterval(sample, 10);
  trace = {
    stop() {
      clearInterval(timer);
      sample();
      const t0 = samples[0]![0];
      const z = samples[0]!;
      const y = samples[samples.length - 1]!;
      const all = `${(y[0] - t0).toFixed(0)} ms: cpu ${((y[2] - z[2]) / 1000).toFixed(0)} ms, run queue ${(y[3] - z[3]).toFixed(0)} ms`;
      const lines: string[] = [];
      let b = 0;
      while (b < samples.length) {
        const from = samples[b]!;
        const bucket = Math.floor((from[0] - t0) / 250);
        let e = b;
        let gap = 0;
        while (e + 1 < samples.length && Math.floor((samples[e + 1]![0] - t0) / 250) === bucket) {
          gap = Math.max(gap, samples[e + 1]![0] - samples[e]![0]);
          e++;
        }
        const next = samples[e + 1];
        if (next !== undefined) gap = Math.max(gap, next[0] - samples[e]![0]);
        const to = next ?? samples[e]!;
        lines.push(
          `${(from[0] - t0).toFixed(0)}ms ended ${from[1] - to[1]} cpu ${((to[2] - from[2]) / 1000).toFixed(0)}ms runq ${(to[3] - from[3]).toFixed(0)}ms gap ${gap.toFixed(0)}ms left ${to[1]}`,
        );
        b = e + 1;
      }
      process.stderr.write(`leave trace (gateway ${index}): t0 ${t0.toFixed(1)}, ${all}\n  ${lines.join('\n  ')}\n`);
    },
  };
}

gc();
// Connected to the server node before any tab comes, as the nodes of a deployed cluster are: a
// first dial during the tabs' subscriptions (seven gateways each handling 14,000 of them on a
// loaded host) was seen to miss the handshake's deadline, and the subscriptions were refused.
await node.network().getNode(server!);
send({ op: 'ready', url: gw.url, name: node.name });
