// The floor beside the tabs_cluster row (issue 93): the same broadcast with no framework, in the
// same layout (suites/tabs_cluster.ts): N sockets over G server processes (where the gateway nodes
// are), their clients in processes of LEAN_PER_PROCESS (from 127.0.0.1: a bind to another loopback
// address before each connect took ~10 ms here beside the other work's 37,000 sockets, and the
// source address costs a broadcast nothing),
// one message written to every socket, timed until every client process has read it on every
// socket (net/floor_fanout_node.ts). Its figure lands in the tabs_cluster broadcast row, in the
// columns `raw tcp` (one complete WebSocket frame written per socket, nothing parsed) and
// `plain ws` (the `ws` package on both sides: `ws.send` per socket, each message parsed): what
// the host costs, so the ergo-ts column is read as a ratio to it.

import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Event, PID, type Atom } from 'ergo-ts';

// The tab frame codec of @ergo-ts/tabs (not a public export): the floor's payload is an Event
// frame's size.
import { encodeEventFrame, encodeEventTail } from '../../../packages/tabs/dist/src/frame.js';
import type { FloorReply, FloorRequest } from '../net/floor_fanout_node.js';
import { armAll } from './armed.js';
import { ensureMoreOpenFiles } from './fd_limit.js';
import { profFlags } from './prof_flags.js';

const here = dirname(fileURLToPath(import.meta.url));
const FLOOR = join(here, '..', 'net', 'floor_fanout_node.js');

/** The floor's columns (the peers of tabs_cluster's `floor` scenario): raw TCP, and plain ws. */
export const FLOOR_TCP = 'raw tcp';
/**
 * The plain-ws column of the floor: `ws.send` per socket, as an application on the `ws` package
 * writes (not "raw": the `ws` package frames and parses every message). A peer of its own, not
 * the tabs suite's `ws` (labelled "raw ws" there).
 */
export const FLOOR_WS = 'plain ws';

/** The user + system time of processes `procs` so far (µs, from /proc: clock ticks of 10 ms). */
function cpuOf(procs: readonly FloorProc[]): number {
  let ticks = 0;
  for (const p of procs) {
    const stat = readFileSync(`/proc/${p.proc.pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks * 10_000;
}

/** Publishes per round, as the tabs_cluster row's. */
const BROADCASTS_PER_ROUND = 4;

/**
 * The payload bytes of the Event frame a tab of the tabs_cluster row gets for a publish (a
 * number from a server node's process, names as that bench's): the floor writes as many.
 */
export function eventFrameSize(): number {
  const srv = `bench_tabs_srv_${process.pid}@localhost` as Atom;
  const tail = encodeEventTail(
    new PID(srv, 1001, 1764400000),
    new Event('news', srv),
    BigInt(Date.now()) * 1_000_000n,
    1,
  );
  return encodeEventFrame(
    `bench_tabs_gw0_${process.pid}@localhost`,
    `tab-12345-bench_tabs_gw0_${process.pid}@localhost`,
    tail,
  ).length;
}

/** A floor process and its IPC (one request of each op at a time; `got` comes unasked). */
class FloorProc {
  readonly proc: ChildProcess;
  onReply: ((r: { op: string; seq?: number }) => void) | null = null;
  #waiting = new Map<string, { resolve: (r: FloorReply) => void; reject: (e: Error) => void }>();
  constructor(argv: string[]) {
    this.proc = fork(FLOOR, argv, {
      execArgv: ['--max-old-space-size=4096', ...profFlags(argv[0] === 'server' ? 'server' : 'client')],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (m) => {
      const r = m as FloorReply;
      if (r.op === 'error') {
        for (const w of this.#waiting.values()) w.reject(new Error(`floor process: ${r.message}`));
        return this.#waiting.clear();
      }
      const w = this.#waiting.get(r.op);
      if (w === undefined) return this.onReply?.(r);
      this.#waiting.delete(r.op);
      w.resolve(r);
    });
    this.proc.on('exit', (code) => {
      for (const w of this.#waiting.values()) w.reject(new Error(`floor process exited (${String(code)})`));
      this.#waiting.clear();
    });
  }
  ask<R extends FloorReply>(req: FloorRequest | null, op: R['op']): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#waiting.set(op, { resolve: resolve as (r: FloorReply) => void, reject });
      if (req !== null) this.proc.send(req);
    });
  }
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.send({ op: 'stop' } satisfies FloorRequest);
    await exited;
  }
}

/**
 * The floor of `n` sockets over `g` server processes (`mode`: 'tcp' or 'ws'), `perProcess` per
 * client process: `warmup` + `rounds` rounds of 4 publishes, each timed from the bench's `go`
 * (IPC to every server process, as the server node's one ENP message to each gateway) until
 * every client process has it; `report` gets the measured times (ms) and what they are.
 */
export async function floorRows(
  report: (samples: number[], note: string) => void,
  mode: 'tcp' | 'ws',
  n: number,
  g: number,
  perProcess: number,
  rounds: number,
  warmup: number,
): Promise<void> {
  const share = (i: number, of: number, total: number): number => Math.floor(total / of) + (i < total % of ? 1 : 0);
  const size = eventFrameSize();
  const servers = Array.from({ length: g }, (_, i) => new FloorProc(['server', mode, String(share(i, g, n))]));
  const clients: FloorProc[] = [];
  try {
    const ready = await Promise.all(servers.map((s) => s.ask<Extract<FloorReply, { op: 'ready' }>>(null, 'ready')));
    ready.forEach((r, i) => {
      const socks = share(i, g, n);
      const procs = Math.ceil(socks / perProcess);
      for (let k = 0; k < procs; k++) {
        const count = String(share(k, procs, socks));
        const argv = ['client', mode, String(r.port), count, String(size)];
        clients.push(new FloorProc(argv));
      }
    });
    ensureMoreOpenFiles(clients.length * 4 + 100);
    await Promise.all(clients.map((c) => c.ask(null, 'joined')));
    const times: number[] = [];
    const loops: number[] = [];
    const cpus: number[] = [];
    const clientCpus: number[] = [];
    let seq = 0;
    for (let round = 0; round < warmup + rounds; round++)
      for (let b = 0; b < BROADCASTS_PER_ROUND; b++) {
        seq++;
        const { heard: all } = await armAll(clients, seq);
        const c0 = cpuOf(clients);
        const t0 = performance.now();
        const sent = Promise.all(
          servers.map((s) => s.ask<Extract<FloorReply, { op: 'sent' }>>({ op: 'go', seq, size }, 'sent')),
        );
        await all;
        const ms = performance.now() - t0;
        const c1 = cpuOf(clients);
        const done = await sent;
        if (round < warmup) continue;
        times.push(ms);
        loops.push(Math.max(...done.map((s) => s.ms)));
        cpus.push(done.reduce((a, s) => a + s.cpuUs, 0) / n);
        clientCpus.push((c1 - c0) / n);
      }
    const how =
      mode === 'tcp'
        ? `raw TCP: each server process writes one complete WebSocket frame (${size + (size > 125 ? 4 : 2)} bytes, an Event frame's size) per socket in one loop, each client reads bytes and parses nothing`
        : `plain ws: each server process calls ws.send (${size} bytes, an Event frame's size) per socket in one loop, each client's ws parses the message`;
    report(
      times,
      `the floor, no framework: ${n} sockets over ${g} server processes, ${clients.length} client processes, all on this machine; ${how}; from the bench's IPC to every server process until every client process read it on all its sockets; the server processes' write loop took ${loops.map((x) => x.toFixed(0)).join(', ')} ms (the slowest of them, per publish), their CPU per socket ${cpus.map((x) => x.toFixed(1)).join(', ')} µs (summed ÷ the sockets); the client processes' CPU per socket over each publish (/proc, 10 ms ticks) ${clientCpus.map((x) => x.toFixed(1)).join(', ')} µs`,
    );
  } finally {
    await Promise.all([...clients, ...servers].map((p) => p.stop()));
  }
}
