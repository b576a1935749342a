// A mesh formed all at once (issue 64, item 2): N ergo-ts nodes, each an OS process alone in a
// network-namespace test host with its own embedded registrar (as harness.ts starts them), and as
// soon as all are up every node calls every other node at once (`inflight` = N − 1 by default).
// It counts the calls that failed, by code and by pair, and keeps every node's whole log, so a
// lost call can be followed on both sides. Nothing else runs (no idle, fan-out, cut or kills).
// Root and `ip` needed (what the test hosts need).
//
//   node bench/dist/cluster/mesh_at_once.js [--nodes 50] [--runs 1] [--wave 10] [--inflight N-1]
//        [--timeout 10000] [--level warning|info|debug] [--logs DIR (every node's stderr, per run)]
//
// Prints per run: the calls that succeeded, the failures by code, each failing pair (caller →
// callee: code, message), the warnings of every node counted by kind, the nodes' CPU seconds
// for the mesh phase and the load average; at the end one JSON line per run.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestHosts, hostsAvailable, type Host } from '@ergo-ts/test-support';
import { cpuSeconds, ErgoMember } from './members.js';

const here = dirname(fileURLToPath(import.meta.url));
const NODE_SCRIPT = join(here, 'scale_node.js');
const READY_MS = 180_000;

/** What one run measured. */
export interface MeshAtOnceFigures {
  nodes: number;
  calls: number;
  failed: number;
  failedBy: Record<string, number>;
  /** Each failed call: caller, callee, code, message. */
  failures: { from: string; to: string; code: string; message: string }[];
  /** Warning lines of every node, by kind (the message with names and numbers blanked). */
  warnings: Record<string, number>;
  meshMs: number;
  /** CPU seconds (user + system) the nodes spent from all up until the mesh ended. */
  meshCpuS: number;
  /** CPU seconds the whole machine spent meanwhile (every process: the nodes' share is the rest's complement). */
  machineCpuS: number;
  upMs: number;
  /** The 1-minute load average before and after the run. */
  load: [number, number];
}

/** CPU seconds every process of the machine has spent (busy time of /proc/stat's first line). */
function machineCpuSeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
  const busy = f.slice(0, 8).reduce((s, x, i) => (i === 3 || i === 4 ? s : s + x), 0);
  return busy / 100;
}

/** A warning line's kind: names, addresses and numbers blanked. */
function warningKind(line: string): string {
  const m = /\[warning\][^:]*: (.*)$/.exec(line);
  const text = m?.[1] ?? line;
  return text
    .replace(/s\d+@[\d.]+/g, 'NODE')
    .replace(/\d+(\.\d+)?/g, '#')
    .slice(0, 120);
}

async function oneRun(
  n: number,
  wave: number,
  inflight: number,
  timeout: number,
  level: string,
  logs: string | undefined,
): Promise<MeshAtOnceFigures> {
  const load0 = loadavg()[0]!;
  const names = Array.from({ length: n }, (_, i) => `s${i}`);
  const hosts = await TestHosts.create({ names, staticNeighbours: true });
  const stderr = new Map<string, string[]>();
  const members: ErgoMember[] = [];
  try {
    const start = (h: Host): ErgoMember => {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        SC_NAME: h.name,
        SC_ADDRESS: h.address,
        SC_COOKIE: 'mesh-cookie',
        SC_EXPECT: String(n),
        SC_LOG_LEVEL: level,
      };
      delete env['NODE_TEST_CONTEXT'];
      const proc = h.spawn(process.execPath, [NODE_SCRIPT], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env });
      const m = new ErgoMember(`${h.name}@${h.address}`, h, proc);
      const lines: string[] = [];
      stderr.set(m.name, lines);
      proc.stderr?.on('data', (d: string) => lines.push(d));
      return m;
    };
    const t0 = performance.now();
    for (let i = 0; i < n; i += wave) {
      const batch = hosts.hosts.slice(i, Math.min(n, i + wave)).map(start);
      members.push(...batch);
      await Promise.all(batch.map((m) => m.ready(READY_MS)));
    }
    const upMs = performance.now() - t0;
    const pids = members.map((m) => m.proc.pid!);
    const cpu0 = cpuSeconds(pids);
    const machine0 = machineCpuSeconds();
    const m0 = performance.now();
    const answers = await Promise.all(
      members.map((m, i) =>
        m.mesh(
          Array.from({ length: n - 1 }, (_, k) => members[(i + 1 + k) % n]!.name),
          Math.min(inflight, n - 1),
          timeout,
        ),
      ),
    );
    const meshMs = performance.now() - m0;
    const meshCpuS = cpuSeconds(pids) - cpu0;
    const machineCpuS = machineCpuSeconds() - machine0;
    const failedBy: Record<string, number> = {};
    const failures: MeshAtOnceFigures['failures'] = [];
    answers.forEach((a, i) => {
      for (const [code, k] of Object.entries(a.failed)) failedBy[code] = (failedBy[code] ?? 0) + k;
      for (const f of a.failures ?? []) failures.push({ from: members[i]!.name, ...f });
    });
    const warnings: Record<string, number> = {};
    for (const [name, chunks] of stderr) {
      const text = chunks.join('');
      if (logs !== undefined) writeFileSync(join(logs, `${name.split('@')[0]}.log`), text);
      for (const line of text.split('\n'))
        if (line.includes('[warning]')) warnings[warningKind(line)] = (warnings[warningKind(line)] ?? 0) + 1;
    }
    return {
      nodes: n,
      calls: answers.reduce((s, a) => s + a.calls, 0),
      failed: failures.length,
      failedBy,
      failures,
      warnings,
      meshMs,
      meshCpuS,
      machineCpuS,
      upMs,
      load: [load0, loadavg()[0]!],
    };
  } finally {
    for (const m of members) m.kill();
    await hosts.dispose();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: string): string => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : dflt;
  };
  const why = hostsAvailable();
  if (why !== undefined) {
    console.error(`mesh-at-once: cannot run here: test hosts: ${why}`);
    process.exit(2);
  }
  const n = Number(opt('nodes', '50'));
  const runs = Number(opt('runs', '1'));
  const wave = Number(opt('wave', '10'));
  const inflight = Number(opt('inflight', String(n - 1)));
  const timeout = Number(opt('timeout', '10000'));
  const level = opt('level', 'warning');
  const logs = opt('logs', '');
  const all: MeshAtOnceFigures[] = [];
  for (let r = 0; r < runs; r++) {
    const dir = logs === '' ? undefined : join(logs, `run${r + 1}`);
    if (dir !== undefined) mkdirSync(dir, { recursive: true });
    const f = await oneRun(n, wave, inflight, timeout, level, dir);
    all.push(f);
    console.log(
      `run ${r + 1}: ${n} nodes up in ${(f.upMs / 1000).toFixed(1)} s; mesh ${f.calls - f.failed}/${f.calls} ok in ${(f.meshMs / 1000).toFixed(1)} s, ` +
        `${f.meshCpuS.toFixed(1)} s CPU of the machine's ${f.machineCpuS.toFixed(1)} (${((f.meshCpuS * 1000) / ((n * (n - 1)) / 2)).toFixed(2)} ms per connection); load ${f.load[0].toFixed(1)} → ${f.load[1].toFixed(1)}` +
        (f.failed > 0 ? `; failed ${JSON.stringify(f.failedBy)}` : ''),
    );
    for (const x of f.failures.slice(0, 20)) console.log(`  ${x.from} → ${x.to}: ${x.code} ${x.message}`);
    if (f.failures.length > 20) console.log(`  … ${f.failures.length - 20} more`);
    for (const [k, c] of Object.entries(f.warnings).sort((a, b) => b[1] - a[1])) console.log(`  ${c} × ${k}`);
  }
  for (const f of all) console.log(JSON.stringify({ ...f, failures: f.failures.length }));
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
