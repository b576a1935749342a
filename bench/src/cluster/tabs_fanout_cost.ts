// A gateway's cost per tab socket of a broadcast, beside plain `ws` doing the same job (issue 93):
// one server process (a tab gateway node, or the floor's plain-ws server: net/floor_fanout_node.ts),
// N sockets to it from client processes of 10,000 (lean tabs: net/lean_tabs.ts, or plain ws
// clients), P publishes one after another; per publish the wall time until every client process
// has it and the server process's CPU per socket over it (user + system from /proc, the same
// reading for both: the whole process, not only its write loop). Mode `leave` then has every tab
// leave at once (Leave frames) and reads the gateway's longest event-loop delay meanwhile.
// `FANOUT_PROF=DIR` writes a V8 CPU profile of the server process as it exits (`--cpu-prof`).
// Mode `js` is the gateway's own JavaScript per tab of a publish, in this process: N sessions
// whose socket takes the bytes and writes nothing (no `ws`, no kernel), one publish at a time
// through the hub's path (`deliverFanOut`), in the gateway's slices; CPU per tab.
// For profiling and before/after pairs; the rows of record are tabs_cluster's.
//
//   node bench/dist/cluster/tabs_fanout_cost.js gw|ws|leave|js [tabs=10000] [publishes=20]

import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Event, PID, startNode, type Atom } from 'ergo-ts';
import { NewsPublisher } from '../lib/news_publisher.js';

import { armAll } from '../lib/armed.js';
import { ensureMoreOpenFiles } from '../lib/fd_limit.js';
import { eventFrameSize } from '../lib/tabs_floor.js';
import type { FloorReply } from '../net/floor_fanout_node.js';
import type { GatewayReply } from '../net/tabs_gateway_node.js';
import { Clients } from '../suites/tabs.js';
// The gateway's session and slices (not public exports of @ergo-ts/tabs).
import { encodeEventTail } from '../../../packages/tabs/dist/src/frame.js';
import { DEFAULT_TAB_LIMITS, TabPolicy } from '../../../packages/tabs/dist/src/grant.js';
import { TabSession } from '../../../packages/tabs/dist/src/session.js';
import { SharedEvent } from '../../../packages/tabs/dist/src/shared_frame.js';
import { DEFAULT_FAN_OUT_SLICE, FanOutQueue } from '../../../packages/tabs/dist/src/slices.js';

const here = dirname(fileURLToPath(import.meta.url));
const GATEWAY = join(here, '..', 'net', 'tabs_gateway_node.js');
const FLOOR = join(here, '..', 'net', 'floor_fanout_node.js');
const PER_PROCESS = 10_000;
const COOKIE = 'bench-tabs-fanout';

/** A process's user + system CPU so far (µs), from /proc (clock ticks of 10 ms). */
function cpuOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
}

/** A forked process's IPC, one request of each op at a time (unasked replies to `onReply`). */
class Proc<R extends { op: string }> {
  readonly proc: ChildProcess;
  onReply: ((r: R) => void) | null = null;
  #waiting = new Map<string, (r: R) => void>();
  constructor(file: string, argv: string[]) {
    const prof = process.env['FANOUT_PROF'];
    this.proc = fork(file, argv, {
      execArgv: ['--expose-gc', '--max-old-space-size=4096', ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [])],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (m) => {
      const r = m as R;
      const w = this.#waiting.get(r.op);
      if (w === undefined) return this.onReply?.(r);
      this.#waiting.delete(r.op);
      w(r);
    });
  }
  ask<T extends R>(req: object | null, op: T['op']): Promise<T> {
    return new Promise<T>((resolve) => {
      this.#waiting.set(op, resolve as (r: R) => void);
      if (req !== null) this.proc.send(req);
    });
  }
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.send({ op: 'stop' });
    await exited;
  }
}

/** The host's idle CPU time so far, all cores (ms; /proc/stat's idle + iowait, clock ticks of 10 ms). */
function hostIdleMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  return (Number(f[4]) + Number(f[5])) * 10;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;

function summary(what: string, tabs: number, ms: number[], cpu: number[], total: number): void {
  console.log(
    `${what}: ${tabs} sockets, ${ms.length} publishes; wall median ${median(ms).toFixed(0)} ms (${Math.min(...ms).toFixed(0)}–${Math.max(...ms).toFixed(0)}); server CPU per socket median ${median(cpu).toFixed(1)} µs, over all publishes ${total.toFixed(1)} µs; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
}

async function gateway(tabs: number, publishes: number, leave: boolean): Promise<void> {
  const node = await startNode(`bench_fanout_srv_${process.pid}@localhost`, {
    log: { level: 'warning' },
    network: { cookie: COOKIE, acceptors: [{ port: 0 }], registrar: null, peerStallTimeout: 60_000 },
  });
  const pub = await node.spawnRegister('news', NewsPublisher);
  const iface = node.network().acceptors()[0]!.info().interface;
  const port = iface.slice(iface.lastIndexOf(':') + 1);
  const gw = new Proc<GatewayReply>(GATEWAY, [node.name, port, '0', String(tabs), COOKIE, '60000']);
  const clients: Clients[] = [];
  try {
    const ready = await gw.ask<Extract<GatewayReply, { op: 'ready' }>>(null, 'ready');
    const procs = Math.ceil(tabs / PER_PROCESS);
    ensureMoreOpenFiles(procs * 4 + 100);
    for (let k = 0; k < procs; k++) clients.push(new Clients('ergo-ts', ready.url, `127.0.0.${2 + k}`, 'lean'));
    const share = (k: number): number => Math.floor(tabs / procs) + (k < tabs % procs ? 1 : 0);
    await Promise.all(clients.map((c, k) => c.ask({ op: 'join', count: share(k) }, 'joined')));
    await Promise.all(clients.map((c) => c.ask({ op: 'subscribe', node: node.name }, 'subscribed')));
    const ms: number[] = [];
    const cpu: number[] = [];
    const pid = gw.proc.pid!;
    // Two publishes first, unmeasured (the first fan-out's code runs cold).
    for (let seq = -1; seq <= publishes; seq++) {
      if (seq === 1) await gw.ask({ op: 'usage' }, 'usage');
      const { heard } = await armAll(clients, seq + 2);
      const c0 = cpuOf(pid);
      const t0 = performance.now();
      node.send(pub, seq + 2);
      await heard;
      if (seq < 1) continue;
      ms.push(performance.now() - t0);
      cpu.push((cpuOf(pid) - c0) / tabs);
    }
    const u = await gw.ask<Extract<GatewayReply, { op: 'usage' }>>({ op: 'usage' }, 'usage');
    summary('gateway', tabs, ms, cpu, cpu.reduce((a, b) => a + b, 0) / cpu.length);
    console.log(
      `gateway loop delay over the publishes: p99 ${u.loopP99Ms.toFixed(1)} ms, max ${u.loopMaxMs.toFixed(1)} ms`,
    );
    if (leave) {
      gw.proc.send({ op: 'trace' });
      const idle0 = hostIdleMs();
      const c0 = cpuOf(pid);
      const t0 = performance.now();
      await Promise.all(clients.map((c) => c.leave()));
      await gw.ask({ op: 'drained' }, 'drained');
      const leaveMs = performance.now() - t0;
      const l = await gw.ask<Extract<GatewayReply, { op: 'usage' }>>({ op: 'usage' }, 'usage');
      console.log(
        `leave storm: ${tabs} tabs in ${leaveMs.toFixed(0)} ms; gateway CPU ${((cpuOf(pid) - c0) / 1e6).toFixed(2)} s, longest loop delay ${l.loopMaxMs.toFixed(0)} ms (p99 ${l.loopP99Ms.toFixed(0)} ms); the host's cores idle ${(hostIdleMs() - idle0).toFixed(0)} ms meanwhile; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
      );
    }
  } finally {
    await Promise.all(clients.map((c) => c.leave()));
    await gw.stop();
    await node.stop();
  }
}

async function floor(tabs: number, publishes: number): Promise<void> {
  const size = eventFrameSize();
  const srv = new Proc<FloorReply>(FLOOR, ['server', 'ws', String(tabs)]);
  const clients: Proc<FloorReply>[] = [];
  try {
    const { port } = await srv.ask<Extract<FloorReply, { op: 'ready' }>>(null, 'ready');
    const procs = Math.ceil(tabs / PER_PROCESS);
    const share = (k: number): number => Math.floor(tabs / procs) + (k < tabs % procs ? 1 : 0);
    ensureMoreOpenFiles(procs * 4 + 100);
    for (let k = 0; k < procs; k++)
      clients.push(new Proc<FloorReply>(FLOOR, ['client', 'ws', String(port), String(share(k)), String(size)]));
    await Promise.all(clients.map((c) => c.ask(null, 'joined')));
    const ms: number[] = [];
    const cpu: number[] = [];
    const loop: number[] = [];
    const pid = srv.proc.pid!;
    for (let seq = -1; seq <= publishes; seq++) {
      const { heard } = await armAll(clients as never[], seq + 2);
      const c0 = cpuOf(pid);
      const t0 = performance.now();
      const sent = srv.ask<Extract<FloorReply, { op: 'sent' }>>({ op: 'go', seq: seq + 2, size }, 'sent');
      await heard;
      const s = await sent;
      if (seq < 1) continue;
      ms.push(performance.now() - t0);
      cpu.push((cpuOf(pid) - c0) / tabs);
      loop.push(s.cpuUs / tabs);
    }
    summary('plain ws', tabs, ms, cpu, cpu.reduce((a, b) => a + b, 0) / cpu.length);
    console.log(`plain ws: its write loop alone ${median(loop).toFixed(1)} µs per socket (median)`);
  } finally {
    await Promise.all([...clients, srv].map((p) => p.stop()));
  }
}

/** Mode `js`: the gateway's JavaScript per tab of a publish, sockets that write nothing. */
async function js(tabs: number, publishes: number): Promise<void> {
  const gw = 'bench_fanout_gw@localhost' as Atom;
  const srv = 'bench_fanout_srv@localhost' as Atom;
  const fanOut = new FanOutQueue(DEFAULT_FAN_OUT_SLICE);
  const hooks = {
    linkClosed: () => undefined,
    answersOverflowed: () => undefined,
    stalled: () => undefined,
    slowConsumerMs: 0,
    fanOut,
  };
  const log = { info: () => undefined, warning: () => undefined } as never;
  let bytes = 0;
  const socket = {
    bufferedAmount: 0,
    readyState: 1,
    send: (b: Uint8Array) => void (bytes += b.length),
    close: () => undefined,
    terminate: () => undefined,
  };
  const sessions: TabSession[] = [];
  for (let i = 0; i < tabs; i++) {
    const name = `tab-${i.toString(36).padStart(8, '0')}abcdef-${gw}` as Atom;
    const s = new TabSession(name, 'secret', new TabPolicy(name, {}, () => false), DEFAULT_TAB_LIMITS, gw, log, hooks);
    s.attach(socket);
    sessions.push(s);
  }
  const cpu: number[] = [];
  for (let seq = -3; seq <= publishes; seq++) {
    const from = new PID(srv, 0, 0);
    const c0 = process.cpuUsage();
    // As the hub's #fanOut: the tail encoded once, one SharedEvent for every tab.
    const ev = new SharedEvent(srv, from, encodeEventTail(from, new Event('news', srv), 1n, seq));
    for (const s of sessions) s.deliverFanOut(ev);
    while (fanOut.waiting > 0) await new Promise((r) => setImmediate(r));
    const c = process.cpuUsage(c0);
    if (seq >= 1) cpu.push((c.user + c.system) / tabs);
  }
  console.log(
    `js: ${tabs} sessions, ${cpu.length} publishes, ${bytes} bytes taken; the gateway's JavaScript per tab of a publish median ${median(cpu).toFixed(2)} µs (${Math.min(...cpu).toFixed(2)}–${Math.max(...cpu).toFixed(2)}); load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  );
}

const [mode = 'gw', n = '10000', p = '20'] = process.argv.slice(2);
if (mode === 'js') await js(Number(n), Number(p));
else if (mode === 'ws') await floor(Number(n), Number(p));
else await gateway(Number(n), Number(p), mode === 'leave');
process.exit(0);
