// Across hosts: two nodes in two network namespaces (the repository's test hosts,
// @ergo-ts/test-support, docs/testhosts.md) under five network conditions — direct, 1 ms and
// 20 ms of round trip (0.5 / 10 ms each way through the harness's delay relay), 1 % and 5 % loss
// each way — measured for ergo-ts, Go Ergo and the raw path in the same run:
//
// - call rate, p50/p99: `CALLS` sequential calls from an actor on host a to an echo on host b.
//   Go Ergo's rate is ergo-bench's own `net2-call` (its two OS processes run one per host, below);
//   Go's latencies come from two ergo-peer nodes (a's `ctl` calls b's `echo`, one JSON line per
//   call: the JSON work adds tens of µs, an upper bound). raw-tcp: 13-byte frames ping-ponged
//   between the same hosts, the path's own round trip.
// - send 1→1: windowed sends (chunks of 1000, ≤ 2 in flight), ergo-ts and ergo-bench's
//   `net2-send-1to1`.
// - kill -9 → node down: a process on a monitors b's node; b's OS process is killed; the time
//   until a gets the node-down message (3 repetitions).
// - silent cut → node down (direct only): a calls b every 100 ms and monitors its node; the pair
//   is cut both ways with nft drop rules (sockets stay open); the time until a declares b down,
//   capped at CUT_CAP_S (a side that never notices reports nothing and says so).
//
// ergo-bench starts its second process itself (the binary re-executes itself, found through
// /proc/self/exe). To put that process on host b, the suite starts ergo-bench from a file it then
// replaces by a wrapper that runs the real binary inside b's namespace (Go's os.Executable strips
// " (deleted)" from /proc/self/exe), and bridges the two loopback addresses ergo-bench uses
// (127.0.0.1:4499 for its registrar, 127.0.0.1:11145 for the second node) across the hosts with
// nft NAT rules; every other packet goes host to host like ergo-ts's. This needs root, `ip`,
// `nft`, `tc` (the test hosts' own requirements); without them the suite prints why and reports
// nothing.

import type { ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { hostsAvailable, TestHosts, type Host } from '@ergo-ts/test-support';
import { rate, reportSamples } from '../lib/measure.js';
import type { Report, ScenarioSpec, SuiteContext } from '../lib/types.js';

const here = dirname(fileURLToPath(import.meta.url));
const NODE_SCRIPT = join(here, '..', 'net', 'hosts_node.js');
const SHARED = resolve(here, '..', '..', '..', '..', 'shared', 'peers');
const CUT_CAP_S = 40;
const FAILOVERS = 3;

export const G_HOSTS = 'across hosts';

/** A network condition between the two hosts, with the operation counts measured under it. */
export interface Condition {
  label: string;
  /** One-way delay (ms) through the relay. */
  delay?: number;
  /** Loss each way (%). */
  loss?: number;
  calls: number;
  sends: number;
  cut?: boolean;
}

/** The five conditions, by scenario suffix (also measured per link count by hosts_pool.ts). */
export const CONDITIONS: Record<string, Condition> = {
  direct: { label: 'direct', calls: 20_000, sends: 1_000_000, cut: true },
  rtt1: { label: '1 ms RTT', delay: 0.5, calls: 2_000, sends: 300_000 },
  rtt20: { label: '20 ms RTT', delay: 10, calls: 200, sends: 200_000 },
  loss1: { label: '1 % loss', loss: 1, calls: 3_000, sends: 300_000 },
  loss5: { label: '5 % loss', loss: 5, calls: 1_000, sends: 200_000 },
};

export const scenarios: ScenarioSpec[] = Object.keys(CONDITIONS).map((id) => ({
  id: `hosts-${id}`,
  peers: ['ergo-ts', 'go', 'raw-tcp'],
  timeout: 900,
}));

const rowName = (what: string, c: Condition): string => `${what}, ${c.label}`;

/** The `p`-th percentile (nearest rank) of `xs`. */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Two test hosts, a and b, with the condition's delay or loss between them. */
export async function makeHosts(c: Condition): Promise<TestHosts> {
  const hosts = await TestHosts.create({ names: ['a', 'b'] });
  if (c.delay !== undefined) await hosts.delay('a', 'b', { ms: c.delay });
  if (c.loss !== undefined) await hosts.loss('a', 'b', c.loss);
  return hosts;
}

// --- ergo-ts processes in the hosts ------------------------------------------------------------

/** A hosts_node.js process in a test host, driven over IPC. */
export interface Proc {
  child: ChildProcess;
  ready: Record<string, unknown>;
  ask(cmd: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** The next message with this key set (e.g. `watching`). */
  signal(key: string): Promise<void>;
}

/** Starts hosts_node.js with `args` (its role first) in `host` and waits for its ready message. */
export async function startProc(host: Host, args: string[], env: Record<string, string>): Promise<Proc> {
  const child = host.spawn(process.execPath, [NODE_SCRIPT, ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  const ready = await new Promise<Record<string, unknown>>((res, rej) => {
    child.once('message', (m) => res(m as Record<string, unknown>));
    child.once('exit', (code) => rej(new Error(`${args[0]} in ${host.name} exited (${String(code)})`)));
  });
  let next = 0;
  const ask = (cmd: Record<string, unknown>): Promise<Record<string, unknown>> =>
    new Promise((res, rej) => {
      const id = ++next;
      const on = (m: Record<string, unknown>): void => {
        if (m['id'] !== id || m['watching'] === true) return;
        child.off('message', on);
        if (m['ok'] === true) res(m['value'] as Record<string, unknown>);
        else rej(new Error(String(m['error'])));
      };
      child.on('message', on);
      child.send({ id, ...cmd });
    });
  const signal = (key: string): Promise<void> =>
    new Promise((res) => {
      const on = (m: Record<string, unknown>): void => {
        if (m[key] !== true) return;
        child.off('message', on);
        res();
      };
      child.on('message', on);
    });
  return { child, ready, ask, signal };
}

async function tsPair(hosts: TestHosts): Promise<{ server: Proc; client: Proc }> {
  const a = hosts.host('a');
  const b = hosts.host('b');
  const server = await startProc(b, ['server'], { XH_ADDRESS: b.address });
  const client = await startProc(a, ['client', String(server.ready['name']), String(server.ready['port'])], {
    XH_ADDRESS: a.address,
    XH_PEER: b.address,
  });
  return { server, client };
}

function within<T>(p: Promise<T>, s: number): Promise<T | undefined> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => res(undefined), s * 1000);
    p.then(
      (v) => {
        clearTimeout(t);
        res(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        rej(e);
      },
    );
  });
}

async function ergoTs(report: Report, c: Condition, ctx: SuiteContext, hosts: TestHosts): Promise<void> {
  const rounds = Math.min(ctx.rounds, 3);
  const { server, client } = await tsPair(hosts);
  const rates: number[] = [];
  const lat: number[] = [];
  for (let r = 0; r < rounds + 1; r++) {
    const v = await client.ask({ cmd: 'calls', total: c.calls });
    if (r === 0) continue; // warm-up
    rates.push(rate(c.calls, v['ms'] as number));
    lat.push(...(v['lat'] as number[]));
  }
  const note = `${c.calls} sequential calls, a → b`;
  reportSamples(report, { group: G_HOSTS, name: rowName('call rate', c), unit: 'calls/s', note }, rates);
  latencyRows(report, c, 'ergo-ts', lat, note);
  const sends: number[] = [];
  for (let r = 0; r < rounds + 1; r++) {
    const v = await client.ask({ cmd: 'send', total: c.sends });
    if (r > 0) sends.push(rate(c.sends, v['ms'] as number));
  }
  reportSamples(
    report,
    { group: G_HOSTS, name: rowName('send 1→1', c), unit: 'msg/s', note: `${c.sends / 1e3}K ints, windowed` },
    sends,
  );
  client.child.kill();
  server.child.kill();

  const downs: number[] = [];
  for (let i = 0; i < FAILOVERS; i++) {
    const p = await tsPair(hosts);
    const watching = p.client.signal('watching');
    const down = p.client.ask({ cmd: 'watch', every: 0 });
    await watching;
    const t0 = process.hrtime.bigint();
    p.server.child.kill('SIGKILL');
    const v = await down;
    downs.push(Number(BigInt(v['down'] as string) - t0) / 1e6);
    p.client.child.kill();
  }
  failoverRow(report, c, 'ergo-ts', downs);
  if (c.cut === true) {
    const p = await tsPair(hosts);
    const watching = p.client.signal('watching');
    const down = p.client.ask({ cmd: 'watch', every: 100 });
    await watching;
    const t0 = process.hrtime.bigint();
    const cut = await hosts.partition('a', 'b');
    const v = await within(down, CUT_CAP_S);
    if (v === undefined) console.log(`ergo-ts: a silent cut was not noticed within ${CUT_CAP_S} s`);
    else cutRow(report, c, 'ergo-ts', Number(BigInt(v['down'] as string) - t0) / 1e9);
    await cut.heal();
    p.client.child.kill();
    p.server.child.kill();
  }
}

function latencyRows(report: Report, c: Condition, peer: string, latUs: number[], note: string): void {
  const ms = latUs.map((x) => x / 1000);
  for (const [p, what] of [
    [50, 'call latency p50'],
    [99, 'call latency p99'],
  ] as const) {
    report({
      group: G_HOSTS,
      name: rowName(what, c),
      unit: 'ms',
      value: percentile(ms, p),
      better: 'lower',
      peer,
      note: `${note}; ${ms.length} calls`,
    });
  }
}

function failoverRow(report: Report, c: Condition, peer: string, ms: number[]): void {
  reportSamples(
    report,
    {
      group: G_HOSTS,
      name: rowName('kill -9 → node down', c),
      unit: 'ms',
      better: 'lower',
      peer,
      note: `${ms.length} kills of b's OS process; a monitors b's node`,
    },
    ms,
  );
}

function cutRow(report: Report, c: Condition, peer: string, s: number): void {
  report({
    group: G_HOSTS,
    name: rowName('silent cut → node down', c),
    unit: 's',
    value: s,
    better: 'lower',
    peer,
    note: 'a calls b every 100 ms; both ways dropped by nft, sockets open; default settings',
  });
}

// --- raw TCP ------------------------------------------------------------------------------------

async function rawTcp(report: Report, c: Condition, ctx: SuiteContext, hosts: TestHosts): Promise<void> {
  const a = hosts.host('a');
  const b = hosts.host('b');
  const server = await startProc(b, ['raw'], { XH_ADDRESS: b.address });
  const client = await startProc(a, ['client', '-', '-'], { XH_ADDRESS: a.address, XH_PEER: b.address });
  const rates: number[] = [];
  const lat: number[] = [];
  for (let r = 0; r < Math.min(ctx.rounds, 3) + 1; r++) {
    const v = await client.ask({ cmd: 'raw', port: server.ready['port'], total: c.calls });
    if (r === 0) continue;
    rates.push(rate(c.calls, v['ms'] as number));
    lat.push(...(v['lat'] as number[]));
  }
  const note = `${c.calls} 13-byte frames ping-ponged, a → b`;
  reportSamples(
    report,
    { group: G_HOSTS, name: rowName('call rate', c), unit: 'calls/s', peer: 'raw-tcp', note },
    rates,
  );
  latencyRows(report, c, 'raw-tcp', lat, note);
  client.child.kill();
  server.child.kill();
}

// --- Go Ergo -------------------------------------------------------------------------------------

/** NAT rules that bridge ergo-bench's loopback addresses between the two hosts (see the top). */
function natRules(self: Host, other: Host, ports: string): string {
  return [
    'table ip ergo_bench_xhost {',
    ' chain out {',
    '  type nat hook output priority -100;',
    `  ip daddr 127.0.0.1 tcp dport { ${ports} } dnat to ${other.address}`,
    `  ip daddr 127.0.0.1 udp dport { ${ports} } dnat to ${other.address}`,
    ' }',
    ' chain post {',
    '  type nat hook postrouting priority 100;',
    `  ip daddr ${other.address} ip saddr 127.0.0.1 snat to ${self.address}`,
    ' }',
    ' chain pre {',
    '  type nat hook prerouting priority -100;',
    '  iifname != "lo" tcp dport { 4499, 11144-11199 } dnat to 127.0.0.1',
    '  iifname != "lo" udp dport 4499 dnat to 127.0.0.1',
    ' }',
    '}',
    '',
  ].join('\n');
}

interface GoSummaryLine {
  type: string;
  scenario: string;
  samples?: number[];
  error?: string;
}

/** ergo-bench's net2-call and net2-send-1to1 with its second process on host b. */
async function goBench(c: Condition, ctx: SuiteContext, hosts: TestHosts, bin: string): Promise<GoSummaryLine[]> {
  const a = hosts.host('a');
  const b = hosts.host('b');
  const dir = mkdtempSync(join(tmpdir(), 'ergo-bench-xhost-'));
  try {
    for (const [h, o, ports] of [
      [a, b, '11145'],
      [b, a, '4499'],
    ] as const) {
      writeFileSync(join(dir, `${h.name}.nft`), natRules(h, o, ports));
      await h.exec('sysctl', ['-qw', 'net.ipv4.conf.all.route_localnet=1', 'net.ipv4.conf.default.route_localnet=1']);
      await h.exec('nft', ['-f', join(dir, `${h.name}.nft`)]);
    }
    // On b, 4499 and 11144 are taken so that the second node registers with a's registrar and
    // listens on 11145 (ergo-bench's first node, on a, has 11144).
    const hold = b.spawn(
      process.execPath,
      [
        '-e',
        "const n=require('net');let k=0;const up=()=>{if(++k===2)console.log('up')};" +
          "n.createServer().listen(11144,'127.0.0.1',up);n.createServer().listen(4499,'127.0.0.1',up)",
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise((res, rej) => {
      hold.stdout!.once('data', res);
      hold.once('exit', (code) => rej(new Error(`the port holder on b exited (${String(code)})`)));
    });
    const real = join(dir, 'ergo-bench.real');
    const front = join(dir, 'ergo-bench');
    copyFileSync(bin, real);
    chmodSync(real, 0o755);
    writeFileSync(`${front}.wrap`, `#!/bin/sh\nexec ip netns exec ${b.namespace} ${real} "$@"\n`);
    chmodSync(`${front}.wrap`, 0o755);
    copyFileSync(bin, front);
    const rounds = Math.min(ctx.rounds, 3);
    const args = [
      '-s=net2-call,net2-send-1to1',
      '-fresh=false',
      `-rounds=${rounds}`,
      '-warmup=1',
      `-net-call-total=${c.calls}`,
      `-net-send-total=${c.sends}`,
      '-timeout=600s',
    ];
    // The shell opens the binary, removes it, puts the wrapper in its place and execs the open
    // file: /proc/self/exe then names the wrapper's path.
    const launch = `exec 3<"$1"; rm -f "$1"; mv "$1.wrap" "$1"; shift; exec /proc/self/fd/3 "$@"`;
    const child = a.spawn('sh', ['-c', launch, 'sh', front, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines: GoSummaryLine[] = [];
    readline.createInterface({ input: child.stdout! }).on('line', (l) => {
      if (l.startsWith('{"type":')) lines.push(JSON.parse(l) as GoSummaryLine);
    });
    await new Promise((res) => child.once('exit', res));
    hold.kill();
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface GoPeer {
  child: ChildProcess;
  name: string;
  port: number;
  write(cmd: Record<string, unknown>): void;
  /** The next stdout line matching `pred`, with its arrival time (ns, monotonic). */
  next(pred: (j: Record<string, unknown>) => boolean): Promise<{ line: Record<string, unknown>; at: bigint }>;
  lines: { line: Record<string, unknown>; at: bigint }[];
}

async function goPeer(host: Host, bin: string, extra: string[]): Promise<GoPeer> {
  const name = `${host.name}@${host.address}`;
  const child = host.spawn(
    bin,
    [
      '-name',
      name,
      '-registrar',
      'none',
      '-cookie',
      'xhost',
      '-loglevel',
      'error',
      '-log-stdout',
      'disabled',
      ...extra,
    ],
    { stdio: ['pipe', 'pipe', 'ignore'] },
  );
  const waiters: { pred: (j: Record<string, unknown>) => boolean; res: (v: GoPeer['lines'][number]) => void }[] = [];
  const lines: GoPeer['lines'] = [];
  readline.createInterface({ input: child.stdout! }).on('line', (l) => {
    const at = process.hrtime.bigint();
    const line = JSON.parse(l) as Record<string, unknown>;
    const w = waiters.findIndex((x) => x.pred(line));
    if (w >= 0) waiters.splice(w, 1)[0]!.res({ line, at });
    else if (line['kind'] === 'result') lines.push({ line, at });
  });
  const next = (pred: (j: Record<string, unknown>) => boolean): Promise<GoPeer['lines'][number]> =>
    new Promise((res) => waiters.push({ pred, res }));
  const ready = await next((j) => j['kind'] === 'ready' || j['kind'] === 'fatal');
  if (ready.line['kind'] !== 'ready') throw new Error(`ergo-peer: ${JSON.stringify(ready.line)}`);
  return {
    child,
    name,
    port: ready.line['port'] as number,
    write: (cmd) => child.stdin!.write(`${JSON.stringify(cmd)}\n`),
    next,
    lines,
  };
}

async function goPeerPair(hosts: TestHosts, bin: string): Promise<{ a: GoPeer; b: GoPeer }> {
  const b = await goPeer(hosts.host('b'), bin, []);
  const route = `${b.name.replace(/\./g, '\\.')}=${hosts.host('b').address}:${b.port}`;
  const a = await goPeer(hosts.host('a'), bin, ['-route', route]);
  return { a, b };
}

async function goErgo(report: Report, c: Condition, ctx: SuiteContext, hosts: TestHosts): Promise<void> {
  const benchBin = process.env.ERGO_BENCH_BIN ?? join(SHARED, 'ergo-bench', 'ergo-bench');
  const peerBin = process.env.ERGO_PEER ?? join(SHARED, 'ergo-peer', 'ergo-peer');
  if (existsSync(benchBin)) {
    for (const s of await goBench(c, ctx, hosts, benchBin)) {
      if (s.type === 'error') console.log(`ergo-bench ${s.scenario}: ${s.error}`);
      if (s.type !== 'summary') continue;
      const call = s.scenario === 'net2-call';
      reportSamples(
        report,
        {
          group: G_HOSTS,
          name: rowName(call ? 'call rate' : 'send 1→1', c),
          unit: call ? 'calls/s' : 'msg/s',
          peer: 'go',
          note: `ergo-bench ${s.scenario}, its two processes on a and b`,
        },
        s.samples ?? [],
      );
    }
  } else console.log(`Go Ergo: ergo-bench not found at ${benchBin}`);
  if (!existsSync(peerBin)) {
    console.log(`Go Ergo: ergo-peer not found at ${peerBin}`);
    return;
  }
  // Latencies: a's ctl calls b's echo, one call after the other (async lines run in order).
  const { a, b } = await goPeerPair(hosts, peerBin);
  const to = { name: 'echo', node: b.name };
  const lat: number[] = [];
  for (let r = 0; r < Math.min(ctx.rounds, 3) + 1; r++) {
    a.lines.length = 0;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < c.calls; i++) a.write({ cmd: 'call', async: true, id: i, to, req: i, timeout: 60 });
    await a.next((j) => j['kind'] === 'result' && j['id'] === c.calls - 1).then((last) => a.lines.push(last));
    if (r === 0) continue;
    let prev = t0;
    for (const { at } of a.lines) {
      lat.push(Number(at - prev) / 1000);
      prev = at;
    }
  }
  latencyRows(report, c, 'go', lat, `${c.calls} sequential calls ergo-peer a → ergo-peer b (JSON lines): upper bound`);
  a.child.stdin!.end();
  b.child.stdin!.end();
  a.child.kill('SIGKILL');
  b.child.kill('SIGKILL');

  const downs: number[] = [];
  for (let i = 0; i < FAILOVERS; i++) {
    const p = await goPeerPair(hosts, peerBin);
    p.a.write({ cmd: 'call', id: 'warm', to: { name: 'echo', node: p.b.name }, req: 1 });
    await p.a.next((j) => j['id'] === 'warm');
    p.a.write({ cmd: 'monitor', id: 'mon', target: { node: p.b.name } });
    await p.a.next((j) => j['id'] === 'mon');
    const down = p.a.next((j) => j['kind'] === 'down');
    const t0 = process.hrtime.bigint();
    p.b.child.kill('SIGKILL');
    downs.push(Number((await down).at - t0) / 1e6);
    p.a.child.kill('SIGKILL');
  }
  failoverRow(report, c, 'go', downs);
  if (c.cut === true) {
    const p = await goPeerPair(hosts, peerBin);
    p.a.write({ cmd: 'call', id: 'warm', to: { name: 'echo', node: p.b.name }, req: 1 });
    await p.a.next((j) => j['id'] === 'warm');
    p.a.write({ cmd: 'monitor', id: 'mon', target: { node: p.b.name } });
    await p.a.next((j) => j['id'] === 'mon');
    const down = p.a.next((j) => j['kind'] === 'down');
    const cut = await hosts.partition('a', 'b');
    const t0 = process.hrtime.bigint();
    const ticker = setInterval(
      () => p.a.write({ cmd: 'call', async: true, to: { name: 'echo', node: p.b.name }, req: 1, timeout: 1 }),
      100,
    );
    const v = await within(down, CUT_CAP_S);
    clearInterval(ticker);
    if (v === undefined) console.log(`Go Ergo: a silent cut was not noticed within ${CUT_CAP_S} s`);
    else cutRow(report, c, 'go', Number(v.at - t0) / 1e9);
    await cut.heal();
    p.a.child.kill('SIGKILL');
    p.b.child.kill('SIGKILL');
  }
}

// --- the suite -------------------------------------------------------------------------------------

export async function hostsSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  const c: SuiteContext = ctx ?? { scenario: undefined, peer: 'ergo-ts', rounds: 3, warmup: 1, quick: true };
  const why = hostsAvailable();
  if (why !== undefined) {
    console.log(`across hosts: skipped, test hosts unavailable: ${why}`);
    return;
  }
  for (const [id, cond] of Object.entries(CONDITIONS)) {
    if (c.scenario !== undefined && c.scenario !== `hosts-${id}`) continue;
    const hosts = await makeHosts(cond);
    try {
      if (c.peer === 'go') await goErgo(report, cond, c, hosts);
      else if (c.peer === 'raw-tcp') await rawTcp(report, cond, c, hosts);
      else await ergoTs(report, cond, c, hosts);
    } finally {
      await hosts.dispose();
    }
  }
}
