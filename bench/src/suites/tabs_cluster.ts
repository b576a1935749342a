// Tabs across the gateway nodes of one cluster (issue 93): N tabs (BENCH_TABS, default 2,000) spread
// over G gateway nodes, each in its own OS process (net/tabs_gateway_node.ts), G = ⌈N / 16,000⌉ and
// at least 2: a process here holds at most ~19,900 sockets (the open-files limit is 20,000 and
// cannot be raised), so 100,000 tabs need 7 gateways, as a user scaling a Node service runs one
// gateway per core. The bench child is a server node of the same cluster that publishes the event
// the tabs subscribe to (`news`, a plain `sendEvent`): each gateway's relay monitors it once for
// all its tabs, so a publish crosses to each gateway as one ENP message (counted at the gateways)
// and each gateway fans it out to its own tabs in slices (slices.ts).
//
// The tabs are lean load tabs (net/lean_tabs.ts: the tab frames over a bare `ws`, the same frames
// and gateway state as a tab node's, suites/tabs.ts), 10,000 per client process, each process
// dialling one gateway from its own loopback address; one more tab, a light tab in a process of
// its own on the first gateway, calls that gateway's echo in a row during the broadcasts.
//
// Rows: the join rate of all N (100 connecting at once per client process); gateway RSS per
// subscribed tab (after a full GC, summed over the gateways); per broadcast (4 per round), the
// time until every client process has it, the gateways' CPU per tab of it (summed), the ENP
// messages each gateway received for it (1 is the design), the gateways' event-loop delay (p99,
// the worst gateway) and the round trip of the calling tab meanwhile (p99 per round, and each
// broadcast's slowest call); then every tab leaving at once: until each gateway has no session,
// and the gateways' longest loop delay meanwhile.
//
// `BENCH_TABS=100000 npm run bench -- --only=tabs_cluster`.

import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { startNode } from 'ergo-ts';
import { NewsPublisher } from '../lib/news_publisher.js';

import { armAll } from '../lib/armed.js';
import { ensureMoreOpenFiles } from '../lib/fd_limit.js';
import { FLOOR_TCP, FLOOR_WS, floorRows } from '../lib/tabs_floor.js';
import { profFlags } from '../lib/prof_flags.js';
import type { Report, ScenarioSpec, SuiteContext } from '../lib/types.js';
import type { Reply } from '../net/tab_clients.js';
import type { GatewayReply } from '../net/tabs_gateway_node.js';
import { Clients, clientsCpu, row } from './tabs.js';
import { hostMs } from '../lib/host_clock.js';
import { overlapping, quantile, stopCalls, tabsFromEnv } from './tabs_load.js';

const here = dirname(fileURLToPath(import.meta.url));
const GATEWAY = join(here, '..', 'net', 'tabs_gateway_node.js');

/** Tabs per gateway node at most (its process's open files: 20,000 here, a socket each). */
export const GATEWAY_TABS = 16_000;
/** Lean tabs per client process. */
export const LEAN_PER_PROCESS = 10_000;
const BROADCASTS_PER_ROUND = 4;
/**
 * A publish that has not reached every tab by then never will (a tab's subscription ended, its
 * socket closed, a frame lost): the run stops naming them instead of waiting for ever. 2 s is the
 * goal at 100,000 tabs; this is ×60 of it, for a loaded machine.
 */
const PUBLISH_DEADLINE_MS = 120_000;
/** The cookie of the bench's tabs cluster (its nodes only; the gateway nodes take it from argv). */
const CLUSTER_COOKIE = 'bench-tabs-cluster';
/**
 * The cluster nodes' `peerStallTimeout` (ms; the gateway nodes take it from argv): 60 s, Erlang's
 * `net_ticktime`, not ergo-ts's 15 s. Here 4–7 gateways and 5–14 client processes share 2 cores
 * (a twelfth of a core each at load ~25), and a gateway's poll phase reading 12,500 ready sockets,
 * or a major GC of its 14,000 sessions, was seen to hold its loop 11.8 s and more during the
 * subscriptions (docs/scale.md): with 15 s the server node declared such gateways stalled and
 * the run measured reconnections, not the publish. A host with a core per gateway needs no more
 * than the default; the rows report the gateways' longest loop delay either way.
 */
export const CLUSTER_STALL_MS = 60_000;

export const nClusterJoin = (n: number, g: number): string => `join rate, ${n} tabs over ${g} gateways`;
export const nClusterRss = (n: number, g: number): string => `gateway RSS per subscribed tab, ${n} over ${g} gateways`;
export const nClusterSubscribe = (n: number, g: number): string =>
  `${n} tabs over ${g} gateways subscribing at once: until every one is acknowledged`;
export const nClusterSubscribeLoop = (n: number, g: number): string =>
  `gateways' longest event-loop delay while ${n} tabs over ${g} subscribe (max, worst gateway)`;
export const nClusterBroadcast = (n: number, g: number): string =>
  `one publish from a server node to ${n} tabs over ${g} gateways: until the last has it`;
export const nClusterCpu = (n: number, g: number): string => `gateways' CPU per tab of a publish to ${n} over ${g}`;
export const nClusterClientCpu = (n: number, g: number): string =>
  `client processes' CPU per tab of a publish to ${n} over ${g}`;
export const nClusterFrames = (g: number): string => `ENP messages per gateway per publish (${g} gateways)`;
export const nClusterLoop = (n: number, g: number): string =>
  `gateways' event-loop delay during publishes to ${n} tabs over ${g} (p99, worst gateway)`;
export const nClusterLoopMax = (n: number, g: number): string =>
  `gateways' longest event-loop delay during publishes to ${n} tabs over ${g} (max, worst gateway)`;
export const nClusterRtt = (n: number, g: number): string =>
  `round trip during publishes to ${n} tabs over ${g} gateways (p99)`;
export const nClusterSlowest = (n: number, g: number): string =>
  `slowest call during each publish to ${n} tabs over ${g} gateways`;
export const nClusterLeave = (n: number, g: number): string =>
  `${n} tabs over ${g} gateways leaving at once: until every session ended`;
export const nClusterLeaveLoop = (n: number, g: number): string =>
  `gateways' longest event-loop delay while ${n} tabs over ${g} leave at once (max, worst gateway)`;

export const scenarios: ScenarioSpec[] = [
  { id: 'gateways', peers: ['ergo-ts'], timeout: 3000, nodeFlags: ['--max-old-space-size=4096'] },
  // The floor (lib/tabs_floor.ts): the same broadcast with no framework, in the same row.
  { id: 'floor', peers: [FLOOR_TCP, FLOOR_WS], timeout: 1200 },
];

/** The server node's warning and error lines (the last few), for {@link unheard}. */
const serverWarnings: string[] = [];
const serverLog = {
  write(line: string): boolean {
    process.stderr.write(`[server node] ${line}`);
    if (serverWarnings.push(line.trim()) > 10) serverWarnings.shift();
    return true;
  },
};

/** A gateway node's process and its IPC (one request of each op at a time). */
class GatewayNode {
  readonly proc: ChildProcess;
  #waiting = new Map<string, { resolve: (r: GatewayReply) => void; reject: (e: Error) => void }>();
  constructor(server: string, port: number, index: number, tabs: number) {
    const argv = [server, String(port), String(index), String(tabs), CLUSTER_COOKIE, String(CLUSTER_STALL_MS)];
    this.proc = fork(GATEWAY, argv, {
      execArgv: [
        '--expose-gc',
        '--max-old-space-size=4096',
        // BENCH_GW_PROF=DIR: a V8 CPU profile of each gateway node, written as it exits (lib/prof_flags.ts).
        ...profFlags('server'),
      ],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (m) => {
      const r = m as GatewayReply;
      const w = this.#waiting.get(r.op);
      this.#waiting.delete(r.op);
      w?.resolve(r);
    });
    this.proc.on('exit', (code) => {
      for (const w of this.#waiting.values()) w.reject(new Error(`gateway node exited (${String(code)})`));
      this.#waiting.clear();
    });
  }
  ask<R extends GatewayReply>(op: R['op']): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#waiting.set(op, { resolve: resolve as (r: GatewayReply) => void, reject });
      if (op !== 'ready') this.proc.send({ op });
    });
  }
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.send({ op: 'stop' });
    await exited;
  }
}

type Usage = Extract<GatewayReply, { op: 'usage' }>;
type Diagnosis = Extract<GatewayReply, { op: 'diagnose' }>;
type Missing = Extract<Reply, { op: 'missing' }>;

/**
 * A publish has not reached every client process by the deadline, or a subscription was refused:
 * an Error headed `header` naming where it is missing (per client process: the tabs without it, by state: 'open' is a tab whose socket and
 * subscription stand) and each gateway's state (sessions, away, most queued, connection to the
 * server node, warnings logged).
 */
async function unheard(header: string, clients: Clients[], gws: GatewayNode[]): Promise<Error> {
  const missing = await Promise.all(clients.map((c) => c.ask<Missing>({ op: 'missing' }, 'missing')));
  const diag = await Promise.all(gws.map((x) => x.ask<Diagnosis>('diagnose')));
  const usage = await Promise.all(gws.map((x) => x.ask<Usage>('usage')));
  const lines = [header];
  missing.forEach((m, k) => {
    if (m.missing > 0) lines.push(`  client process ${k}: ${m.missing} tabs without it ${JSON.stringify(m.states)}`);
  });
  diag.forEach((d, i) =>
    lines.push(
      `  gateway ${i}: ${d.tabs} sessions, ${d.away} away, most queued ${d.queuedMax} B, connection to the server node up ${usage[i]!.serverUpS} s, ${d.warnings} warnings${d.lastWarnings.map((w) => `\n    ${w}`).join('')}`,
    ),
  );
  if (serverWarnings.length > 0)
    lines.push(`  the server node's last warnings:${serverWarnings.map((w) => `\n    ${w}`).join('')}`);
  return new Error(lines.join('\n'));
}

async function gateways(report: Report, n: number, rounds: number, warmup: number): Promise<void> {
  const g = Math.max(2, Math.ceil(n / GATEWAY_TABS));
  const share = (i: number, of: number, total: number): number => Math.floor(total / of) + (i < total % of ? 1 : 0);
  const node = await startNode(`bench_tabs_srv_${process.pid}@localhost`, {
    // Its warnings (a gateway's connection declared down, lost, refused) name why a gateway lost
    // the event: kept and printed with an unheard publish, and written to stderr as they come.
    log: { defaultLogger: { output: serverLog, filter: ['warning', 'error', 'panic'] } },
    network: {
      cookie: CLUSTER_COOKIE,
      acceptors: [{ port: 0 }],
      registrar: null,
      peerStallTimeout: CLUSTER_STALL_MS,
    },
  });
  const pub = await node.spawnRegister('news', NewsPublisher);
  const iface = node.network().acceptors()[0]!.info().interface;
  const port = Number(iface.slice(iface.lastIndexOf(':') + 1));
  const gws = Array.from({ length: g }, (_, i) => new GatewayNode(node.name, port, i, share(i, g, n)));
  const clients: Clients[] = [];
  let honest: Clients | null = null;
  try {
    const ready = await Promise.all(gws.map((x) => x.ask<Extract<GatewayReply, { op: 'ready' }>>('ready')));
    const mem0 = await Promise.all(gws.map((x) => x.ask<Extract<GatewayReply, { op: 'mem' }>>('mem')));
    // Client processes: each gateway's tabs in processes of LEAN_PER_PROCESS, each from its own address.
    const plan: { url: string; count: number }[] = [];
    ready.forEach((r, i) => {
      const tabs = share(i, g, n);
      const procs = Math.ceil(tabs / LEAN_PER_PROCESS);
      for (let k = 0; k < procs; k++) plan.push({ url: r.url, count: share(k, procs, tabs) });
    });
    ensureMoreOpenFiles(plan.length * 4 + 100);
    plan.forEach((p, k) => clients.push(new Clients('ergo-ts', p.url, `127.0.0.${2 + k}`, 'lean')));
    const t0 = performance.now();
    const joined = await Promise.all(
      clients.map((c, k) =>
        c.ask<Extract<Reply, { op: 'joined' }>>({ op: 'join', count: plan[k]!.count, settle: true }, 'joined'),
      ),
    );
    const joinS = (performance.now() - t0) / 1000;
    const redials = joined.reduce((a, j) => a + (j.redials ?? 0), 0);
    const httpRedials = joined.reduce((a, j) => a + (j.httpRedials ?? 0), 0);
    // Every join is answered: a refusal (a busy gateway past the tab's 30 s of redials) is counted
    // and said, and the rows are of the tabs that joined.
    const failed: Record<string, number> = {};
    for (const j of joined) for (const [why, k] of Object.entries(j.failed ?? {})) failed[why] = (failed[why] ?? 0) + k;
    const nFailed = Object.values(failed).reduce((a, k) => a + k, 0);
    const joinedTabs = n - nFailed;
    if (joinedTabs === 0) throw new Error(`no tab joined: ${JSON.stringify(failed)}`);
    const joinedNote =
      nFailed === 0
        ? 'every tab joined'
        : `${joinedTabs} joined, ${nFailed} refused ${JSON.stringify(failed)} (the rows are of the ${joinedTabs})`;
    const where = `${g} gateway nodes (${ready.map((_, i) => share(i, g, n)).join(', ')} tabs), ${clients.length} client processes of lean tabs, one server node publishing; all on this machine; the cluster's peerStallTimeout ${CLUSTER_STALL_MS / 1000} s`;
    // Reported before the subscriptions: a run that fails later keeps its joins' row.
    row(report, 'ergo-ts', nClusterJoin(n, g), 'joins/s', [joinedTabs / joinS], {
      note: `${where}; ${joinedNote}; ${redials} dials again after a busy refusal (ERR_TAB_BUSY), as real tabs redial, ${httpRedials} of them after an HTTP 408 or 503 at the upgrade`,
    });
    // The subscription storm (every tab at once): its time and the gateways' longest loop delay.
    await Promise.all(gws.map((x) => x.ask<Usage>('usage')));
    const s0 = performance.now();
    let resubscribes = 0;
    try {
      const subscribed = await Promise.all(
        clients.map((c) =>
          c.ask<Extract<Reply, { op: 'subscribed' }>>({ op: 'subscribe', node: node.name }, 'subscribed'),
        ),
      );
      resubscribes = subscribed.reduce((a, x) => a + (x.resubscribes ?? 0), 0);
    } catch (e) {
      // A subscription refused (the gateway's connection to the server node gone): said with each
      // gateway's state and warnings, as a publish that is not heard.
      throw await unheard(`subscribing: ${(e as Error).message}; the gateways:`, [], gws);
    }
    const subMs = performance.now() - s0;
    const subUsage = await Promise.all(gws.map((x) => x.ask<Usage>('usage')));
    row(report, 'ergo-ts', nClusterSubscribe(n, g), 'ms', [subMs], {
      better: 'lower',
      note: `every joined tab sends its subscribe (a monitor of the server node's event) at once; until each client process has all its Acks; ${resubscribes} asked again after ERR_NO_CONNECTION (a gateway's link to the server node down meanwhile)`,
    });
    row(report, 'ergo-ts', nClusterSubscribeLoop(n, g), 'ms', [Math.max(...subUsage.map((u) => u.loopMaxMs))], {
      better: 'lower',
      note: `monitorEventLoopDelay's max in each gateway over the subscriptions (per gateway: ${subUsage.map((u) => Math.round(u.loopMaxMs)).join(', ')} ms); the server node's heartbeat waits as long for a gateway's answer`,
    });
    const mem = await Promise.all(gws.map((x) => x.ask<Extract<GatewayReply, { op: 'mem' }>>('mem')));
    const rss = mem.reduce((a, x, i) => a + x.rss - mem0[i]!.rss, 0) / joinedTabs;
    row(report, 'ergo-ts', nClusterRss(n, g), 'B/tab', [rss], {
      better: 'lower',
      note: `the gateways' RSS growth over their state before the first tab, summed, after a full GC (last-resort) in each; ${where}`,
    });
    honest = new Clients('ergo-ts', ready[0]!.url, '', 'light');
    await honest.ask({ op: 'join', count: 1 }, 'joined');
    await honest.ask({ op: 'echo', warm: 2000, calls: 1, total: 1, window: 1, rounds: 1 }, 'echoed');
    const times: number[] = [];
    const cpus: number[] = [];
    const clientCpus: number[] = [];
    const frames: number[] = [];
    const loops: number[] = [];
    const loopsMax: number[] = [];
    const p99s: number[] = [];
    const slowest: number[] = [];
    let seq = 0;
    for (let round = 0; round < warmup + rounds; round++) {
      const rtts: number[] = [];
      for (let b = 0; b < BROADCASTS_PER_ROUND; b++) {
        seq++;
        const { heard: all } = await armAll(clients, seq);
        const u0 = await Promise.all(gws.map((x) => x.ask<Usage>('usage')));
        const c0 = clientsCpu(clients);
        await honest.ask({ op: 'calls', gapMs: 0 }, 'calling');
        const from = hostMs();
        const t1 = performance.now();
        node.send(pub, seq);
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), PUBLISH_DEADLINE_MS)));
        const heard = await Promise.race([all, late]);
        clearTimeout(timer);
        if (heard === 'late')
          throw await unheard(
            `publish ${seq} not heard by every tab after ${PUBLISH_DEADLINE_MS / 1000} s:`,
            clients,
            gws,
          );
        const ms = performance.now() - t1;
        const c1 = clientsCpu(clients);
        const to = hostMs();
        const during = overlapping(await stopCalls(honest), from, to);
        const u1 = await Promise.all(gws.map((x) => x.ask<Usage>('usage')));
        if (round < warmup) continue;
        times.push(ms);
        cpus.push(u1.reduce((a, u, i) => a + u.cpuUs - u0[i]!.cpuUs, 0) / joinedTabs);
        clientCpus.push((c1 - c0) / joinedTabs);
        frames.push(Math.max(...u1.map((u, i) => u.enpIn - u0[i]!.enpIn)));
        loops.push(Math.max(...u1.map((u) => u.loopP99Ms)));
        loopsMax.push(Math.max(...u1.map((u) => u.loopMaxMs)));
        rtts.push(...during);
        slowest.push(quantile(during, 1));
      }
      if (round >= warmup) p99s.push(quantile(rtts, 0.99));
    }
    row(report, 'ergo-ts', nClusterBroadcast(n, g), 'ms', times, {
      better: 'lower',
      note: `one sendEvent on the server node; until every client process told the bench (IPC) that all its tabs have it; ${where}`,
    });
    row(report, 'ergo-ts', nClusterCpu(n, g), 'µs', cpus, {
      better: 'lower',
      note: "the gateway processes' user + system time (process.cpuUsage) over each publish, summed, ÷ the tabs",
    });
    row(report, 'ergo-ts', nClusterClientCpu(n, g), 'µs', clientCpus, {
      better: 'lower',
      note: "the lean tabs' client processes' user + system time (/proc, 10 ms ticks) from before the publish until every one has it, summed, ÷ the tabs: the reading side's share of the same 2 cores",
    });
    row(report, 'ergo-ts', nClusterFrames(g), 'msgs', frames, {
      better: 'lower',
      note: 'ENP messages each gateway received from the server node during a publish (the most of any gateway): its relay monitors the event once for all its tabs',
    });
    row(report, 'ergo-ts', nClusterLoop(n, g), 'ms', loops, {
      better: 'lower',
      note: 'monitorEventLoopDelay in each gateway over each publish (10 ms resolution, included); the worst gateway',
    });
    row(report, 'ergo-ts', nClusterLoopMax(n, g), 'ms', loopsMax, {
      better: 'lower',
      note: "the longest event-loop delay of any gateway over each publish (a peer's heartbeat answer waits that long)",
    });
    row(report, 'ergo-ts', nClusterRtt(n, g), 'ms', p99s, {
      better: 'lower',
      note: 'a light tab on the first gateway (its own process, unsubscribed) calling that gateway’s echo in a row; the calls overlapping the publishes, p99 per round of 4',
    });
    row(report, 'ergo-ts', nClusterSlowest(n, g), 'ms', slowest, {
      better: 'lower',
      note: 'per publish, the longest round trip of the calls that overlapped it',
    });
    // The teardown storm: every tab leaves at once (each client process closes all its sockets
    // with 1000 'left' in one go), as at a deploy or the end of an event.
    const leaveFrom = await Promise.all(gws.map((x) => x.ask<Usage>('usage')));
    for (const x of gws) x.proc.send({ op: 'trace' });
    const warned = serverWarnings.length;
    const l0 = performance.now();
    await Promise.all([...clients, honest].map((c) => c.leave()));
    await Promise.all(gws.map((x) => x.ask('drained')));
    const leaveMs = performance.now() - l0;
    const leaveUsage = await Promise.all(gws.map((x) => x.ask<Usage>('usage')));
    const stalled = serverWarnings.slice(warned).filter((w) => /stalled|declared down/.test(w)).length;
    row(report, 'ergo-ts', nClusterLeave(n, g), 'ms', [leaveMs], {
      better: 'lower',
      note: `every client process closes all its tabs at once (a Leave frame each, or 1000 'left' with BENCH_TAB_LEAVE=close); until each gateway has no session (checked every 250 ms); the gateways' CPU meanwhile ${leaveUsage.map((u, i) => ((u.cpuUs - leaveFrom[i]!.cpuUs) / 1e6).toFixed(2)).join(', ')} s; the server node declared ${stalled} gateway connections stalled meanwhile`,
    });
    row(report, 'ergo-ts', nClusterLeaveLoop(n, g), 'ms', [Math.max(...leaveUsage.map((u) => u.loopMaxMs))], {
      better: 'lower',
      note: `monitorEventLoopDelay's max in each gateway while its tabs left (per gateway: ${leaveUsage.map((u) => Math.round(u.loopMaxMs)).join(', ')} ms); a peer's heartbeat probe waits as long for its answer (the default peerStallTimeout, 15 s, gives it 7.5 s)`,
    });
  } finally {
    await Promise.all([...clients, ...(honest === null ? [] : [honest])].map((c) => c.leave()));
    await Promise.all(gws.map((x) => x.stop()));
    await node.stop();
  }
}

/** The suite: the gateways (ergo-ts), then the floor beside them (raw TCP, plain ws). */
export async function tabsClusterSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  const n = tabsFromEnv(2000);
  const rounds = ctx?.rounds ?? 5;
  const warmup = ctx?.warmup ?? 2;
  if (ctx?.scenario === undefined || ctx.scenario === 'gateways') await gateways(report, n, rounds, warmup);
  if (ctx?.scenario !== undefined && ctx.scenario !== 'floor') return;
  const g = Math.max(2, Math.ceil(n / GATEWAY_TABS));
  for (const peer of ctx?.scenario === undefined ? [FLOOR_TCP, FLOOR_WS] : [ctx.peer]) {
    const mode = peer === FLOOR_TCP ? 'tcp' : 'ws';
    await floorRows(
      (samples, note) => row(report, peer, nClusterBroadcast(n, g), 'ms', samples, { better: 'lower', note }),
      mode,
      n,
      g,
      LEAN_PER_PROCESS,
      rounds,
      warmup,
    );
  }
}
