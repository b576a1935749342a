// Erlang distribution (issue 12 performance): a windowed send 1→1 and sequential gen_server calls
// from an ergo-ts node to a real Erlang node (`@ergo-ts/erlang`), beside the same shapes between
// two Erlang VMs (bench/erlang/bench_dist.erl) in the same run.
//
// ergo-ts side: the child compiles bench_dist.erl, starts `erl -name bench_rx_<pid>@127.0.0.1`
// running bench_dist:serve() (a receiver spawner and a gen_server echo), attaches the Erlang
// distribution to an ergo-ts node, then measures. Send: an actor sends TOTAL small integers to the
// Erlang receiver in chunks of CHUNK with at most WINDOW chunks unacknowledged; the clock stops at
// the receiver's `done`. Call: an actor calls `{bench_echo, Node}` TOTAL times in a row.
// Skipped (with the reason) when `erl` is not installed.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Actor, ProcessID, startNode, type Atom, type PID, type Ref } from 'ergo-ts';
import { attachErlang, atom, isAtom, tuple, ErlTuple } from '@ergo-ts/erlang';
import { median, rate, reportSamples, runRounds } from '../lib/measure.js';
import type { Report, ScenarioSpec, SuiteContext } from '../lib/types.js';

const GROUP = 'Erlang distribution';
const N_SEND = 'send 1→1 across the distribution, windowed';
const N_CALL = 'sequential gen_server call across the distribution';
const CHUNK = 1000;
const WINDOW = 2;
const SEND_TOTAL = 300_000;
const CALL_TOTAL = 20_000;

export const scenarios: ScenarioSpec[] = [
  {
    id: 'send',
    peers: ['ergo-ts'],
    erlang: {
      module: 'bench_dist',
      fun: 'send',
      args: [SEND_TOTAL, CHUNK, WINDOW],
      rows: { dist_send: { group: GROUP, name: N_SEND, unit: 'msg/s' } },
    },
  },
  {
    id: 'call',
    peers: ['ergo-ts'],
    erlang: {
      module: 'bench_dist',
      fun: 'call',
      args: [CALL_TOTAL],
      rows: { dist_call: { group: GROUP, name: N_CALL, unit: 'calls/s' } },
    },
  },
];

/** Sends `total` integers to an Erlang receiver it asks `bench_ctl` for, windowed by acks. */
class Sender extends Actor {
  remote = '' as Atom;
  chunk = CHUNK;
  chunks = 0;
  sent = 0;
  total = 0;
  rx: PID | null = null;
  caller: [PID, Ref] | null = null;
  t0 = 0;

  // answered later (sendResponse on `done`): an async handler would hold the acks back
  override handleCall(from: PID, ref: Ref, req: unknown): unknown {
    this.total = req as number;
    this.caller = [from, ref];
    this.chunks = Math.floor(this.total / this.chunk);
    this.sent = 0;
    this.send(new ProcessID('bench_ctl' as Atom, this.remote), tuple(atom('rx'), this.pid, this.chunk, this.total));
    return undefined;
  }

  override handleMessage(_from: PID, m: unknown): undefined {
    if (isAtom(m, 'ack')) {
      if (this.sent < this.chunks) this.sendChunk();
    } else if (isAtom(m, 'done')) {
      const [from, ref] = this.caller!;
      this.sendResponse(from, ref, rate(this.total, performance.now() - this.t0));
    } else if (m instanceof ErlTuple && isAtom(m.get(0), 'rx')) {
      this.rx = m.get(1) as PID;
      this.t0 = performance.now();
      const first = Math.min(WINDOW, this.chunks);
      for (let i = 0; i < first; i++) this.sendChunk();
    }
    return undefined;
  }

  private sendChunk(): void {
    const rx = this.rx!;
    for (let i = 0; i < this.chunk; i++) this.send(rx, 1);
    this.sent++;
  }
}

const CPU_CLOCK = process.env.BENCH_CLOCK === 'cpu';

/** CPU time (µs, user + system) of another process of this host, from /proc; 0 where unreadable. */
function procCpu(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
  } catch {
    return 0;
  }
}
/** Clock ticks per second of /proc times (100 on Linux). */
const CLK_TCK = 100;

/**
 * BENCH_CLOCK=cpu: a call round is timed with this process' CPU time (the ergo-ts caller), and
 * the note gives the CPU µs per call of each side. erl's CPU (from /proc, 10 ms ticks) includes
 * its schedulers' busy waiting, so it is shown but not counted in the figure.
 */
class CpuSplit {
  readonly perOp: { self: number; erl: number }[] = [];
  constructor(private readonly erlPid: number | undefined) {}
  async measure(total: number, round: () => Promise<unknown>): Promise<number> {
    const e0 = procCpu(this.erlPid);
    const c0 = process.cpuUsage();
    await round();
    const c = process.cpuUsage(c0);
    const self = c.user + c.system;
    this.perOp.push({ self: self / total, erl: (procCpu(this.erlPid) - e0) / total });
    return rate(total, self / 1000);
  }
  note(rounds: number): string {
    const last = this.perOp.slice(-rounds);
    const self = median(last.map((x) => x.self)).toFixed(1);
    const erl = median(last.map((x) => x.erl)).toFixed(1);
    return `BENCH_CLOCK=cpu: calls per CPU-second of the ergo-ts process; CPU µs/call ${self} here, ${erl} in erl (its busy waiting included)`;
  }
}

/** Calls `{bench_echo, Node}` `total` times in a row. */
class Caller extends Actor {
  remote = '' as Atom;
  override async handleCall(_from: PID, _ref: unknown, req: unknown): Promise<number> {
    const total = req as number;
    const echo = new ProcessID('bench_echo' as Atom, this.remote);
    const t0 = performance.now();
    for (let i = 0; i < total; i++) await this.call(echo, i);
    return rate(total, performance.now() - t0);
  }
}

function startErl(dir: string, name: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      'erl',
      ['-name', name, '-setcookie', 'bench', '-noshell', '-pa', dir, '-eval', 'bench_dist:serve().'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.on('error', reject);
    p.on('exit', (code) => reject(new Error(`erl exited (${code}) before it was ready: ${out}`)));
    p.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('ready')) resolve(p);
    });
  });
}

export async function erlangDistSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  const c: SuiteContext = ctx ?? { scenario: undefined, peer: 'ergo-ts', rounds: 5, warmup: 1, quick: false };
  if (c.peer !== 'ergo-ts') return;
  const dir = mkdtempSync(join(tmpdir(), 'bench-dist-'));
  const src = fileURLToPath(new URL('../../erlang/', import.meta.url));
  const erlc = spawnSync('erlc', ['-o', dir, join(src, 'bench_dist.erl'), join(src, 'bench_util.erl')], {
    encoding: 'utf8',
  });
  if (erlc.error !== undefined || erlc.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    console.log(
      `# Erlang distribution suite skipped: erlc unavailable or failed (${erlc.error?.message ?? erlc.stderr})`,
    );
    return;
  }
  const remote = `bench_rx_${process.pid}@127.0.0.1` as Atom;
  const erl = await startErl(dir, remote);
  const node = await startNode(`bench_ts_${process.pid}@127.0.0.1`, { log: { defaultLogger: { disable: true } } });
  try {
    await attachErlang(node, { cookie: 'bench', host: '127.0.0.1' });
    const scale = c.quick ? 4 : 1;
    if (c.scenario === undefined || c.scenario === 'send') {
      const pid = await node.spawn(() => Object.assign(new Sender(), { remote }));
      const samples = await runRounds(
        c,
        () => node.call(pid, SEND_TOTAL / scale, { timeout: 120_000 }) as Promise<number>,
      );
      reportSamples(report, { group: GROUP, name: N_SEND, unit: 'msg/s' }, samples);
    }
    if (c.scenario === undefined || c.scenario === 'call') {
      const pid = await node.spawn(() => Object.assign(new Caller(), { remote }));
      const total = CALL_TOTAL / scale;
      const cpu = new CpuSplit(erl.pid);
      const samples = await runRounds(c, () =>
        CPU_CLOCK
          ? cpu.measure(total, () => node.call(pid, total, { timeout: 120_000 }))
          : (node.call(pid, total, { timeout: 120_000 }) as Promise<number>),
      );
      reportSamples(
        report,
        { group: GROUP, name: N_CALL, unit: 'calls/s', ...(CPU_CLOCK ? { note: cpu.note(c.rounds) } : {}) },
        samples,
      );
    }
  } finally {
    await node.stop();
    erl.removeAllListeners('exit');
    erl.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
