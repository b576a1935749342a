// What one node pays per peer (issue 64, items 4 and 6): memory, file descriptors, idle bytes and
// join time, from one measured node connected to N others. The measured node is an OS process of
// its own; its peers are full nodes too, several to a helper process (PEERS_PER_PROCESS), so the
// machine holds a hundred peers without a hundred Node processes. Every node listens on loopback,
// found through static routes (no registrar). For each N the measured node starts (its memory
// then is the "alone" figure), calls an echo process on each peer, 4 calls at a time (the join:
// wall and CPU per peer, both its dials and its handshakes), settles (two GCs), then idles for
// the window and reports, from /proc: RSS, USS (private pages) and PSS, file descriptors, and the
// bytes and packets loopback carried during the window (`/proc/net/dev`: every pair's heartbeats
// and TCP acknowledgements, both ways, headers included; run it in a network namespace of its own,
// so loopback carries this run's traffic only). docs/scale.md has the figures.
//
//   node bench/dist/cluster/peer_cost.js [--peers 0,50,99] [--idle 30] [--node-args '--max-semi-space-size=1']
//     [--set-flags '--optimize-for-size'] [--links N]
//
// `--links N` sets the peers' acceptors' `ergoPoolSize` (the links the measured node's dial opens
// to each; the default is the acceptor's default). `--node-args` starts the measured node's process with those Node/V8 options (the peers keep
// the defaults); `--set-flags` has the measured node set those V8 flags itself once running
// (`v8.setFlagsFromString`), before it starts; each of these is a variant, and the variants are
// run one after the other for each peer count. For a look inside the measured node after its idle
// window: PEER_COST_SPACES=1 prints V8's heap spaces (committed/used) and external memory on
// stderr, PEER_COST_SNAPSHOT=PREFIX writes a heap snapshot PREFIX-<peers>.heapsnapshot, and
// PEER_COST_LASTRESORT=1 makes its settling GC V8's memory-reducing one instead of two full GCs.
// Run it alone in a network namespace
// (`unshare -n sh -c 'ip link set lo up && node bench/dist/cluster/peer_cost.js ...'`).

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { getHeapSpaceStatistics, setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { Actor, ProcessID, startNode, type Atom, type Node, type PID, type Ref } from 'ergo-ts';
import { acceptorPort, loopbackRoute } from '../lib/routes.js';

const PEERS_PER_PROCESS = 25;
const quiet = { level: 'error' as const };

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}

interface Peer {
  name: string;
  port: number;
}

/** Memory and descriptors of this process, from /proc. */
interface ProcFigures {
  rssMB: number;
  ussMB: number;
  pssMB: number;
  fds: number;
  heapMB: number;
}

interface Report {
  peers: number;
  nodeArgs: string;
  alone: ProcFigures;
  joined: ProcFigures;
  joinMs: number;
  joinCpuMs: number;
  idleSeconds: number;
  idleCpuPct: number;
  /** Loopback bytes and packets per second in the idle window: every pair's traffic, both ways. */
  idleBytes: number;
  idlePackets: number;
}

function procFigures(): ProcFigures {
  const kb = (text: string, key: string): number =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  const r = readFileSync('/proc/self/smaps_rollup', 'utf8');
  const mb = (k: number): number => Math.round(k / 102.4) / 10;
  return {
    rssMB: mb(kb(r, 'Rss')),
    ussMB: mb(kb(r, 'Private_Clean') + kb(r, 'Private_Dirty')),
    pssMB: mb(kb(r, 'Pss')),
    fds: readdirSync('/proc/self/fd').length,
    heapMB: Math.round(process.memoryUsage().heapTotal / 104857.6) / 10,
  };
}

/** Bytes and packets loopback carried so far (the namespace's, so this run's only). */
function loopback(): { bytes: number; packets: number } {
  const line = readFileSync('/proc/net/dev', 'utf8')
    .split('\n')
    .find((l) => l.trim().startsWith('lo:'));
  const f = (line ?? 'lo: 0 0').trim().slice(3).trim().split(/\s+/).map(Number);
  return { bytes: f[0] ?? 0, packets: f[1] ?? 0 };
}

const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

/** A helper process: `count` peers, their names and ports printed as one JSON line; ends with stdin. */
async function peersProcess(first: number, count: number, links: number): Promise<void> {
  const nodes: Node[] = [];
  for (let i = first; i < first + count; i++) {
    const n = await startNode(`peer${i}@localhost`, {
      log: quiet,
      network: {
        cookie: 'c',
        registrar: null,
        acceptors: [{ port: 0, ...(links > 0 ? { ergoPoolSize: links } : {}) }],
      },
    });
    await n.spawnRegister('echo', () => new Echo());
    nodes.push(n);
  }
  console.log(JSON.stringify(nodes.map((n): Peer => ({ name: n.name, port: acceptorPort(n) }))));
  process.stdin.resume();
  await new Promise((done) => process.stdin.once('end', done));
  await Promise.all(nodes.map((n) => n.stop()));
}

/** The measured node: joins every peer of stdin's JSON line, idles, prints its report. */
async function measured(idleSeconds: number): Promise<void> {
  // V8 flags the node could set for itself, once running (PEER_COST_V8_FLAGS, `--set-flags`).
  if (process.env.PEER_COST_V8_FLAGS !== undefined) setFlagsFromString(process.env.PEER_COST_V8_FLAGS);
  const lines = createInterface({ input: process.stdin });
  const peers = JSON.parse((await lines[Symbol.asyncIterator]().next()).value as string) as Peer[];
  const routes = peers.map((p) => ({ match: `^${p.name.replace(/[.$]/g, '\\$&')}$`, route: loopbackRoute(p.port) }));
  const node = await startNode('measured@localhost', {
    log: quiet,
    network: { cookie: 'c', registrar: null, acceptors: [{ port: 0 }], routes },
  });
  gc();
  gc();
  const alone = procFigures();
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let next = 0;
  const caller = async (): Promise<void> => {
    while (next < peers.length) {
      const p = peers[next++]!;
      await node.call(new ProcessID('echo' as Atom, p.name), 1, { timeout: 30_000 });
    }
  };
  await Promise.all([caller(), caller(), caller(), caller()]);
  const joinMs = performance.now() - t0;
  const joinCpuMs = cpuMs(process.cpuUsage(c0));
  const io0 = loopback();
  const c1 = process.cpuUsage();
  await new Promise((done) => setTimeout(done, idleSeconds * 1000));
  const io1 = loopback();
  const idleCpuPct = cpuMs(process.cpuUsage(c1)) / (idleSeconds * 10);
  if (process.env.PEER_COST_LASTRESORT === '1')
    (gc as unknown as (o: object) => void)({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  else {
    gc();
    gc();
  }
  const report: Report = {
    peers: peers.length,
    nodeArgs: [
      ...process.execArgv.filter((a) => a !== '--expose-gc'),
      ...(process.env.PEER_COST_V8_FLAGS === undefined ? [] : [`set at run time: ${process.env.PEER_COST_V8_FLAGS}`]),
    ].join(' '),
    alone,
    joined: procFigures(),
    joinMs,
    joinCpuMs,
    idleSeconds,
    idleCpuPct,
    idleBytes: (io1.bytes - io0.bytes) / idleSeconds,
    idlePackets: (io1.packets - io0.packets) / idleSeconds,
  };
  if (process.env.PEER_COST_SNAPSHOT !== undefined)
    writeHeapSnapshot(`${process.env.PEER_COST_SNAPSHOT}-${peers.length}.heapsnapshot`);
  console.log(JSON.stringify(report));
  if (process.env.PEER_COST_SPACES === '1') {
    const mu = process.memoryUsage();
    const spaces = getHeapSpaceStatistics().map(
      (s) => `${s.space_name} ${(s.space_size / 1048576).toFixed(2)}/${(s.space_used_size / 1048576).toFixed(2)}`,
    );
    console.error(
      `spaces: ${spaces.join(', ')}; external ${(mu.external / 1048576).toFixed(2)} MB, arrayBuffers ${(mu.arrayBuffers / 1048576).toFixed(2)} MB`,
    );
  }
  await node.stop();
}

function startChild(
  args: string[],
  execArgv: string[] = [],
  flags?: string,
): { child: ChildProcess; line: () => Promise<string> } {
  const env = { ...process.env };
  if (flags === undefined) delete env.PEER_COST_V8_FLAGS;
  else env.PEER_COST_V8_FLAGS = flags;
  const child = spawn(process.execPath, [...execArgv, fileURLToPath(import.meta.url), ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env,
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    child,
    line: async () => {
      const r = await lines.next();
      if (r.done === true) throw new Error(`peer_cost: ${args[0]} ended without a report`);
      return r.value as string;
    },
  };
}

async function runOnce(
  peerCount: number,
  idleSeconds: number,
  links: number,
  nodeArgs: string[],
  flags?: string,
): Promise<Report> {
  const helpers: ChildProcess[] = [];
  const peers: Peer[] = [];
  try {
    for (let first = 0; first < peerCount; first += PEERS_PER_PROCESS) {
      const h = startChild([
        'peers',
        String(first),
        String(Math.min(PEERS_PER_PROCESS, peerCount - first)),
        String(links),
      ]);
      helpers.push(h.child);
      peers.push(...(JSON.parse(await h.line()) as Peer[]));
    }
    const m = startChild(['measured', String(idleSeconds)], ['--expose-gc', ...nodeArgs], flags);
    m.child.stdin!.write(JSON.stringify(peers) + '\n');
    const report = JSON.parse(await m.line()) as Report;
    m.child.stdin!.end();
    await new Promise((done) => m.child.once('exit', done));
    return report;
  } finally {
    for (const h of helpers) h.stdin!.end();
    await Promise.all(
      helpers.filter((h) => h.exitCode === null).map((h) => new Promise((done) => h.once('exit', done))),
    );
  }
}

function print(r: Report): void {
  const f = (p: ProcFigures): string =>
    `RSS ${p.rssMB} MB, USS ${p.ussMB} MB, PSS ${p.pssMB} MB, heap ${p.heapMB} MB, ${p.fds} fds`;
  const per = r.peers > 0 ? r.peers : 1;
  console.log(
    `${r.peers} peers${r.nodeArgs === '' ? '' : ` [${r.nodeArgs}]`}: alone ${f(r.alone)}; joined ${f(r.joined)}; ` +
      `per peer ${(((r.joined.ussMB - r.alone.ussMB) * 1024) / per).toFixed(0)} KB USS, ${((r.joined.fds - r.alone.fds) / per).toFixed(2)} fds; ` +
      `join ${r.joinMs.toFixed(0)} ms wall, ${(r.joinCpuMs / per).toFixed(2)} ms CPU per peer; ` +
      `idle ${r.idleSeconds} s: ${r.idleCpuPct.toFixed(2)} % CPU, ${(r.idleBytes / per).toFixed(1)} B/s and ${(r.idlePackets / per).toFixed(2)} packets/s per pair (both ways, headers included)`,
  );
}

async function driver(argv: string[]): Promise<void> {
  let peerCounts = [0, 50, 99];
  let idle = 30;
  let links = 0;
  const variants: { args: string[]; flags?: string }[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--peers') peerCounts = argv[++i]!.split(',').map(Number);
    else if (argv[i] === '--idle') idle = Number(argv[++i]);
    else if (argv[i] === '--links') links = Number(argv[++i]);
    else if (argv[i] === '--node-args') variants.push({ args: argv[++i]!.split(' ').filter((a) => a !== '') });
    else if (argv[i] === '--set-flags') variants.push({ args: [], flags: argv[++i]! });
    else throw new Error(`peer_cost: unknown argument ${argv[i]}`);
  }
  if (variants.length === 0) variants.push({ args: [] });
  console.log(`load average ${loadavg()[0]!.toFixed(1)}`);
  for (const n of peerCounts) for (const v of variants) print(await runOnce(n, idle, links, v.args, v.flags));
  console.log(`load average ${loadavg()[0]!.toFixed(1)}`);
}

if (process.argv[2] === 'peers')
  await peersProcess(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]));
else if (process.argv[2] === 'measured') await measured(Number(process.argv[3]));
else await driver(process.argv.slice(2));
