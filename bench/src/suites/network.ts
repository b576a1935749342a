// Network: ergo-ts nodes connected by the ENP stack over loopback TCP, beside the limits of the
// machine (raw length-prefixed TCP between the same two processes), a real Go Ergo 3.2 node on
// the other end (ergo-peer), and Go Ergo to Go Ergo (ergo-bench's net1-*/net2-* scenarios).
//
// Send 1→1 (two OS processes): a sender on node A sends `total` small integers to a receiver on
// node B (a forked process), in chunks of CHUNK with at most WINDOW chunks in flight (the
// receiver acks every CHUNK; "done" after the last). Raw TCP: the same windowing with 4-byte
// length-prefixed 9-byte frames (one write per chunk), the server acks every CHUNK frames.
// Sequential call: a caller on A calls an echo on B `total` times in a row; raw TCP: a client
// writes one frame and waits for it to come back. One OS process: both nodes in this process.
// ergo-ts ↔ Go: the same shapes against ergo-peer's `echo` (a call returns the request; a send
// is echoed back, so each echo is the ack) — ergo-peer prints one JSON line per message it
// handles, so these figures are a lower bound of what Go Ergo itself can take.
// BENCH_CLOCK=cpu: a round is timed with the CPU time of this process plus the forked peer's (it
// reports its own over IPC), so the figure is operations per CPU-second of both processes, and the
// note gives the CPU µs per operation of each side (for A/B runs on a loaded machine; the Go
// peer's CPU is not counted).

import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Actor, ProcessID, startNode, type Node, type PID, type Ref } from 'ergo-ts';
import { deferred, median, rate, reportSamples, runRounds } from '../lib/measure.js';
import { acceptorPort, loopbackRoute } from '../lib/routes.js';
import type { FigureSpec, Report, ScenarioSpec, SuiteContext } from '../lib/types.js';

const here = dirname(fileURLToPath(import.meta.url));
const PEER_SCRIPT = join(here, '..', 'net', 'peer.js');
const CHUNK = 1000;
const WINDOW = 2;
const SEND_TOTAL = 1_000_000;
const CALL_TOTAL = 50_000;
const GO_SEND_TOTAL = 100_000;
const GO_CALL_TOTAL = 10_000;

export const G_NETWORK = 'network';
export const N_NET_SEND2 = 'network send 1→1, two OS processes';
export const N_NET_CALL2 = 'network sequential call, two OS processes';
export const N_NET_CALL1 = 'network sequential call, one OS process';

export const scenarios: ScenarioSpec[] = [
  {
    id: 'net2-send',
    peers: ['ergo-ts', 'raw-tcp', 'ts-go'],
    go: { scenario: 'net2-send-1to1', group: G_NETWORK, name: N_NET_SEND2, unit: 'msg/s' },
    timeout: 240,
  },
  {
    id: 'net2-call',
    peers: ['ergo-ts', 'raw-tcp', 'ts-go'],
    go: { scenario: 'net2-call', group: G_NETWORK, name: N_NET_CALL2, unit: 'calls/s' },
    timeout: 240,
  },
  {
    id: 'net1-call',
    peers: ['ergo-ts'],
    go: { scenario: 'net1-call', group: G_NETWORK, name: N_NET_CALL1, unit: 'calls/s' },
  },
];

export const figures: FigureSpec[] = [
  { group: G_NETWORK, name: N_NET_SEND2, target: { value: 2e6, better: 'higher' } },
  { group: G_NETWORK, name: N_NET_CALL1, target: { value: 40e3, better: 'higher' } },
  // Issue 47: a network call at raw TCP's pace (the same ping-pong over a bare socket).
  { group: G_NETWORK, name: N_NET_CALL2, target: { better: 'higher', ratios: [{ peer: 'raw-tcp', value: 0.85 }] } },
];

// --- the round clock -----------------------------------------------------------------------------

const CPU_CLOCK = process.env.BENCH_CLOCK === 'cpu';

/** CPU time (µs, user + system) of a forked peer, asked over IPC; 0 without one. */
function peerCpu(child: ChildProcess | null): Promise<number> {
  if (child === null) return Promise.resolve(0);
  return new Promise((res) => {
    const on = (m: unknown): void => {
      const r = m as { kind?: string; cpu?: NodeJS.CpuUsage };
      if (r.kind !== 'cpu' || r.cpu === undefined) return;
      child.off('message', on);
      res(r.cpu.user + r.cpu.system);
    };
    child.on('message', on);
    child.send('cpu');
  });
}

/**
 * Times the measured part of each round: wall time, or with BENCH_CLOCK=cpu the CPU time of this
 * process plus the peer's, keeping each side's CPU µs per operation for the note.
 */
class RoundClock {
  #t0 = 0;
  #self0: NodeJS.CpuUsage = { user: 0, system: 0 };
  #peer0 = 0;
  readonly #perOp: { self: number; peer: number }[] = [];

  constructor(private readonly peer: ChildProcess | null) {}

  async start(): Promise<void> {
    if (!CPU_CLOCK) {
      this.#t0 = performance.now();
      return;
    }
    this.#peer0 = await peerCpu(this.peer);
    this.#self0 = process.cpuUsage();
  }

  /** Milliseconds of the round (`ops` operations). */
  async stop(ops: number): Promise<number> {
    if (!CPU_CLOCK) return performance.now() - this.#t0;
    const u = process.cpuUsage(this.#self0);
    const self = u.user + u.system;
    const peer = (await peerCpu(this.peer)) - this.#peer0;
    this.#perOp.push({ self: self / ops, peer: peer / ops });
    return (self + peer) / 1000;
  }

  /** The CPU split of the measured rounds (medians), for the row's note; empty on the wall clock. */
  note(rounds: number): string {
    if (!CPU_CLOCK) return '';
    const last = this.#perOp.slice(-rounds);
    const f = (v: number): string => (v < 10 ? v.toFixed(3) : v.toFixed(1));
    const self = f(median(last.map((x) => x.self)));
    if (this.peer === null) return `; BENCH_CLOCK=cpu: ${self} CPU µs/op`;
    return `; BENCH_CLOCK=cpu (both processes): CPU µs/op ${self} here, ${f(median(last.map((x) => x.peer)))} in the peer`;
  }
}

// --- processes on the other end ----------------------------------------------------------------

interface Ready {
  kind: 'ready';
  port: number;
  name?: string;
}

async function forkPeer(role: string): Promise<{ child: ChildProcess; ready: Ready }> {
  const child = fork(PEER_SCRIPT, [role], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<Ready>((res, rej) => {
    child.once('message', (m) => res(m as Ready));
    child.once('exit', (code) => rej(new Error(`peer ${role} exited (${String(code)})`)));
  });
  return { child, ready };
}

function goPeerBinary(): string | null {
  const p = process.env.ERGO_PEER ?? resolve(here, '..', '..', '..', '..', 'shared', 'peers', 'ergo-peer', 'ergo-peer');
  return existsSync(p) ? p : null;
}

async function startGoPeer(bin: string): Promise<{ child: ChildProcess; name: string; port: number }> {
  const name = `gobench${process.pid}@localhost`;
  const child = spawn(
    bin,
    ['-name', name, '-registrar', 'none', '-cookie', 'bench', '-loglevel', 'error', '-log-stdout', 'disabled'],
    { stdio: ['pipe', 'pipe', 'ignore'] },
  );
  const rl = readline.createInterface({ input: child.stdout! });
  const ready = await new Promise<{ port: number }>((res, rej) => {
    rl.once('line', (l) => {
      const j = JSON.parse(l) as { kind: string; port: number; error?: string };
      if (j.kind === 'ready') res(j);
      else rej(new Error(`ergo-peer: ${j.error ?? l}`));
    });
    child.once('exit', (c) => rej(new Error(`ergo-peer exited (${String(c)})`)));
  });
  // Its per-message lines must be drained or the pipe fills and blocks the node.
  rl.on('line', () => undefined);
  return { child, name, port: ready.port };
}

async function nodeA(peer: string, port: number, cookie = 'bench'): Promise<Node> {
  return startNode(`bencha${process.pid}@localhost`, {
    network: {
      cookie,
      mode: 1,
      registrar: null,
      routes: [{ match: peer.replace(/\./g, '\\.'), route: loopbackRoute(port) }],
    },
    log: { defaultLogger: { disable: true } },
  });
}

// --- ergo-ts actors --------------------------------------------------------------------------------

/** Windowed sender: on "go" sends WINDOW chunks; each "ack" releases one more; "done" ends. */
class Sender extends Actor {
  to: PID | ProcessID | null = null;
  total = 0;
  sent = 0;
  done: (() => void) | null = null;
  /** Counting echoes instead of acks (Go's echo returns every message). */
  echoes = false;
  got = 0;
  chunk(): void {
    const to = this.to!;
    const n = Math.min(CHUNK, this.total - this.sent);
    for (let i = 0; i < n; i++) this.send(to, ++this.sent);
  }
  override handleMessage(_from: PID, message: unknown): void {
    if (message === 'go') {
      for (let w = 0; w < WINDOW; w++) this.chunk();
    } else if (message === 'ack') {
      this.chunk();
    } else if (message === 'done') {
      this.done?.();
    } else if (this.echoes) {
      this.got++;
      if (this.got === this.total) this.done?.();
      else if (this.got % CHUNK === 0) this.chunk();
    }
  }
}

class Caller extends Actor {
  override async handleCall(_from: PID, _ref: Ref, request: unknown): Promise<unknown> {
    const { to, total } = request as { to: PID | ProcessID; total: number };
    for (let i = 0; i < total; i++) {
      if ((await this.call(to, i)) !== i) throw new Error('wrong reply');
    }
    return total;
  }
}

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}

async function sendRound(
  node: Node,
  to: ProcessID,
  total: number,
  echoes: boolean,
  clock: RoundClock,
): Promise<number> {
  const d = deferred();
  let s: Sender | null = null;
  const pid = await node.spawn(() => (s = new Sender()));
  const sender = s! as Sender;
  Object.assign(sender, { to, total, done: () => d.resolve(), echoes });
  if (!echoes) node.send(to, -total);
  await clock.start();
  node.send(pid, 'go');
  await d.promise;
  const ms = await clock.stop(total);
  node.kill(pid);
  return rate(total, ms);
}

async function callRound(node: Node, to: ProcessID, total: number, clock: RoundClock): Promise<number> {
  const pid = await node.spawn(() => new Caller());
  await clock.start();
  await node.call(pid, { to, total }, { timeout: 600_000 });
  const ms = await clock.stop(total);
  node.kill(pid);
  return rate(total, ms);
}

// --- raw TCP ---------------------------------------------------------------------------------------

function connect(port: number): Promise<net.Socket> {
  return new Promise((res, rej) => {
    const s = net.connect(port, '127.0.0.1', () => res(s));
    s.setNoDelay(true);
    s.once('error', rej);
  });
}

/** Windowed one-way frames: `total` 9-byte frames, one write per chunk. */
async function rawSendRound(port: number, total: number, clock: RoundClock): Promise<number> {
  const s = await connect(port);
  const frame = Buffer.alloc(13);
  frame.writeUInt32BE(9, 0);
  const chunk = Buffer.concat(Array.from({ length: CHUNK }, () => frame));
  let sent = 0;
  let acked = 0;
  const d = deferred();
  const writeChunk = (): void => {
    if (sent >= total) return;
    s.write(chunk);
    sent += CHUNK;
  };
  s.on('data', (b: Buffer) => {
    acked += b.length * CHUNK;
    if (acked >= total) d.resolve();
    else writeChunk();
  });
  await clock.start();
  for (let w = 0; w < WINDOW; w++) writeChunk();
  await d.promise;
  const ms = await clock.stop(total);
  s.destroy();
  return rate(total, ms);
}

/** Ping-pong: one 13-byte frame out, the same back, `total` times. */
async function rawCallRound(port: number, total: number, clock: RoundClock): Promise<number> {
  const s = await connect(port);
  const frame = Buffer.alloc(13);
  frame.writeUInt32BE(9, 0);
  let left = total;
  let have = 0;
  const d = deferred();
  s.on('data', (b: Buffer) => {
    have += b.length;
    while (have >= 13) {
      have -= 13;
      if (--left === 0) return d.resolve();
      s.write(frame);
    }
  });
  await clock.start();
  s.write(frame);
  await d.promise;
  const ms = await clock.stop(total);
  s.destroy();
  return rate(total, ms);
}

// --- the suite ---------------------------------------------------------------------------------------

export async function networkSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  const c: SuiteContext = ctx ?? { scenario: undefined, peer: 'ergo-ts', rounds: 3, warmup: 1, quick: true };
  const want = (id: string): boolean => c.scenario === undefined || c.scenario === id;
  const scale = c.quick ? 0.3 : 1;
  const sendTotal = Math.round(SEND_TOTAL * scale);
  const callTotal = Math.round(CALL_TOTAL * scale);
  const chunking = `chunks of ${CHUNK}, ≤ ${WINDOW} in flight`;

  if (c.peer === 'raw-tcp') {
    if (want('net2-send')) {
      const { child, ready } = await forkPeer('raw-send');
      const clock = new RoundClock(child);
      const s = await runRounds(c, () => rawSendRound(ready.port, sendTotal, clock));
      child.disconnect();
      reportSamples(
        report,
        {
          group: G_NETWORK,
          name: N_NET_SEND2,
          unit: 'msg/s',
          peer: 'raw-tcp',
          note: `raw TCP: ${sendTotal / 1e3}K 13-byte frames, ${chunking}${clock.note(c.rounds)}`,
        },
        s,
      );
    }
    if (want('net2-call')) {
      const { child, ready } = await forkPeer('raw-pingpong');
      const clock = new RoundClock(child);
      const s = await runRounds(c, () => rawCallRound(ready.port, callTotal, clock));
      child.disconnect();
      reportSamples(
        report,
        {
          group: G_NETWORK,
          name: N_NET_CALL2,
          unit: 'calls/s',
          peer: 'raw-tcp',
          note: `raw TCP ping-pong, ${callTotal / 1e3}K round trips${clock.note(c.rounds)}`,
        },
        s,
      );
    }
    return;
  }

  if (c.peer === 'ts-go') {
    const bin = goPeerBinary();
    if (bin === null) return;
    const go = await startGoPeer(bin);
    const node = await nodeA(go.name, go.port);
    try {
      const echo = new ProcessID('echo', go.name);
      await node.network().getNode(go.name);
      if (want('net2-send')) {
        const s = await runRounds(c, () =>
          sendRound(node, echo, GO_SEND_TOTAL * (c.quick ? 0.5 : 1), true, new RoundClock(null)),
        );
        reportSamples(
          report,
          {
            group: G_NETWORK,
            name: N_NET_SEND2,
            unit: 'msg/s',
            peer: 'ts-go',
            note: 'ergo-ts → Go ergo-peer echo (echoed back, one JSON line each): lower bound',
          },
          s,
        );
      }
      if (want('net2-call')) {
        const s = await runRounds(c, () =>
          callRound(node, echo, GO_CALL_TOTAL * (c.quick ? 0.5 : 1), new RoundClock(null)),
        );
        reportSamples(
          report,
          {
            group: G_NETWORK,
            name: N_NET_CALL2,
            unit: 'calls/s',
            peer: 'ts-go',
            note: 'ergo-ts → Go ergo-peer echo (one JSON line per call): lower bound',
          },
          s,
        );
      }
    } finally {
      await node.stopForce();
      go.child.stdin!.end();
      go.child.kill();
    }
    return;
  }

  if (want('net2-send') || want('net2-call')) {
    const { child, ready } = await forkPeer('node');
    const node = await nodeA(ready.name!, ready.port);
    try {
      await node.network().getNode(ready.name!);
      if (want('net2-send')) {
        const clock = new RoundClock(child);
        const s = await runRounds(c, () =>
          sendRound(node, new ProcessID('recv', ready.name!), sendTotal, false, clock),
        );
        reportSamples(
          report,
          {
            group: G_NETWORK,
            name: N_NET_SEND2,
            unit: 'msg/s',
            note: `${sendTotal / 1e3}K ints, ${chunking}, pool of 3 links${clock.note(c.rounds)}`,
          },
          s,
        );
      }
      if (want('net2-call')) {
        const clock = new RoundClock(child);
        const s = await runRounds(c, () => callRound(node, new ProcessID('echo', ready.name!), callTotal, clock));
        reportSamples(
          report,
          {
            group: G_NETWORK,
            name: N_NET_CALL2,
            unit: 'calls/s',
            note: `${callTotal / 1e3}K calls actor → actor across processes${clock.note(c.rounds)}`,
          },
          s,
        );
      }
    } finally {
      await node.stopForce();
      child.disconnect();
    }
  }
  if (want('net1-call')) {
    const b = await startNode(`benchb${process.pid}@localhost`, {
      network: { cookie: 'bench', acceptors: [{ port: 0 }], registrar: null },
      log: { defaultLogger: { disable: true } },
    });
    await b.spawnRegister('echo', () => new Echo());
    const a = await nodeA(b.name, acceptorPort(b));
    try {
      const clock = new RoundClock(null);
      const s = await runRounds(c, () => callRound(a, new ProcessID('echo', b.name), callTotal, clock));
      reportSamples(
        report,
        {
          group: G_NETWORK,
          name: N_NET_CALL1,
          unit: 'calls/s',
          note: `${callTotal / 1e3}K calls, both nodes in one process${clock.note(c.rounds)}`,
        },
        s,
      );
    } finally {
      await a.stopForce();
      await b.stopForce();
    }
  }
}
