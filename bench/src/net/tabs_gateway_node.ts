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
//   { op: 'drained' } → { op: 'drained' } once the gateway has no session left (checked every 250 ms)
//   { op: 'stop' }   → stops and exits

import { monitorEventLoopDelay } from 'node:perf_hooks';

import { Actor, startNode, type PID, type Ref, type NetworkRoute } from 'ergo-ts';
import { createTabGateway } from '@ergo-ts/tabs';

import { ensureMoreOpenFiles } from '../lib/fd_limit.js';

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
  } else if (op === 'drained') {
    // Polled, not hooked: the gateway has no event for it, and a list every 250 ms is a few ms.
    const check = (): void => {
      if (gw.tabs().length === 0) send({ op: 'drained' });
      else setTimeout(check, 250);
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
gc();
// Connected to the server node before any tab comes, as the nodes of a deployed cluster are: a
// first dial during the tabs' subscriptions (seven gateways each handling 14,000 of them on a
// loaded host) was seen to miss the handshake's deadline, and the subscriptions were refused.
await node.network().getNode(server!);
send({ op: 'ready', url: gw.url, name: node.name });
