// Links per connection (issue 47): ergo-ts, as Go Ergo, opens a pool of TCP links per connected
// pair — as many as the accepting node announces (`network.acceptors[i].poolSize`, Ergo's default
// 3). A call's request goes on the caller's link (pool key: the caller's PID id) and its reply on
// the replier's (the echo's PID id), so with 3 links the two are on different links two times out
// of three. Whether 1 link or 3 is the better default between two ergo-ts nodes is measured here:
// two nodes in two test hosts (the same hosts and conditions as suites/hosts.ts: direct, 1 ms and
// 20 ms of round trip, 1 % and 5 % loss each way), both acceptors set to N links, and per
// condition and direction:
//
// - sequential calls: rate, p50, p99 (one caller, one call after the other);
// - CALLERS calls in flight: rate and p99 (CALLERS callers on the calling node, each making its
//   share of calls one after the other, all at once — where a pool could spread the load);
// - send 1→1: windowed sends (chunks of 1000, ≤ 2 in flight), as in suites/hosts.ts.
//
// Both directions: a dials b (a's static route), so "dialler → acceptor" is a calling b's echo
// and "acceptor → dialler" is b calling a's echo over the connection a opened.
//
// Opt-in, because the matrix takes about 25 minutes: `BENCH_POOL_SIZES=1,3 npm run bench --
// --only=hosts-pool`. Without $BENCH_POOL_SIZES this module lists no scenario and the default run
// is unchanged. Each link count is a column, measured in its own child process: the first size
// of the list is the "ergo-ts" column (so "vs links-N" is first ÷ N), the others `links-N`.
// $BENCH_POOL_SCALE multiplies every count (e.g. 0.01 for a quick check that it runs).

import { hostsAvailable, type TestHosts } from '@ergo-ts/test-support';
import { rate, reportSamples } from '../lib/measure.js';
import type { Report, ScenarioSpec, SuiteContext } from '../lib/types.js';
import { CONDITIONS, makeHosts, percentile, startProc, type Condition, type Proc } from './hosts.js';

/** Calls in flight in the concurrent rows (one caller process each). */
const CALLERS = 8;
/** Calls of a concurrent round per sequential call of the condition (so a round lasts about as long). */
const CONC_FACTOR = 4;

/** Link counts compared, from $BENCH_POOL_SIZES (e.g. "1,3"); empty when unset (the suite is off). */
export const POOL_SIZES: number[] = parseSizes(process.env.BENCH_POOL_SIZES);
const SCALE = Number(process.env.BENCH_POOL_SCALE ?? '1');
if (!(SCALE > 0)) throw new Error(`BENCH_POOL_SCALE must be a number > 0 (is ${process.env.BENCH_POOL_SCALE})`);

function parseSizes(v: string | undefined): number[] {
  if (v === undefined || v.trim() === '') return [];
  const sizes = v.split(',').map((s) => Number(s.trim()));
  for (const n of sizes)
    if (!Number.isInteger(n) || n < 1 || n > 255)
      throw new Error(`BENCH_POOL_SIZES: '${v}' (integers 1..255, e.g. 1,3)`);
  if (new Set(sizes).size !== sizes.length) throw new Error(`BENCH_POOL_SIZES: '${v}' repeats a size`);
  return sizes;
}

const links = (n: number): string => `${n} link${n === 1 ? '' : 's'}`;

/** The table of this suite; its title says which link count the "ergo-ts" column holds. */
export const G_POOL = `links per connection (across hosts; ergo-ts column: ${links(POOL_SIZES[0] ?? 1)})`;

/** The column of a link count: the first size is the ergo-ts column, the others `links-N`. */
function peerOf(size: number): string {
  return size === POOL_SIZES[0] ? 'ergo-ts' : `links-${size}`;
}

function sizeOf(peer: string): number {
  if (peer === 'ergo-ts') return POOL_SIZES[0]!;
  const m = /^links-(\d+)$/.exec(peer);
  if (m === null || !POOL_SIZES.includes(Number(m[1]))) throw new Error(`no link count for peer '${peer}'`);
  return Number(m[1]);
}

/** One scenario per condition, one JS peer (child process) per link count; none when off. */
export const scenarios: ScenarioSpec[] =
  POOL_SIZES.length === 0
    ? []
    : Object.keys(CONDITIONS).map((id) => ({
        id: `hosts-pool-${id}`,
        peers: POOL_SIZES.map(peerOf),
        timeout: 1800,
      }));

const scaled = (n: number): number => Math.max(1, Math.round(n * SCALE));

/** Who calls whom: the node that dialled the connection, or the one that accepted it. */
interface Direction {
  label: string;
  from: Proc;
  /** The target node for the caller's commands (undefined: the dialler's own peer, b). */
  peer: string | undefined;
  /** The other side, which answers (for its echo's PID id). */
  to: Proc;
}

async function ask(p: Proc, dir: Direction, cmd: Record<string, unknown>): Promise<Record<string, unknown>> {
  return p.ask(dir.peer === undefined ? cmd : { ...cmd, peer: dir.peer });
}

/** The connection's link count as each side sees it; throws unless both have `size`. */
async function checkLinks(
  client: Proc,
  server: Proc,
  clientName: string,
  size: number,
  when: string,
): Promise<{ echoA: number; echoB: number }> {
  const a = await client.ask({ cmd: 'info' });
  const b = await server.ask({ cmd: 'info', peer: clientName });
  if (a['poolSize'] !== size || b['poolSize'] !== size)
    throw new Error(
      `${when}: expected ${links(size)} per connection, the dialler has ${String(a['poolSize'])}, the acceptor ${String(b['poolSize'])}`,
    );
  return { echoA: a['echo'] as number, echoB: b['echo'] as number };
}

async function measure(report: Report, c: Condition, size: number, ctx: SuiteContext, hosts: TestHosts): Promise<void> {
  const rounds = Math.min(ctx.rounds, 3);
  const a = hosts.host('a');
  const b = hosts.host('b');
  const pool = { XH_POOL: String(size) };
  const server = await startProc(b, ['server'], { XH_ADDRESS: b.address, ...pool });
  const client = await startProc(a, ['client', String(server.ready['name']), String(server.ready['port'])], {
    XH_ADDRESS: a.address,
    XH_PEER: b.address,
    ...pool,
  });
  const clientName = String(client.ready['name']);
  try {
    // a dials b (and opens the pool) before b may call a over that connection.
    await client.ask({ cmd: 'calls', total: 1 });
    const { echoA, echoB } = await checkLinks(client, server, clientName, size, 'after the dial');
    const dirs: Direction[] = [
      { label: 'dialler → acceptor', from: client, peer: undefined, to: server },
      { label: 'acceptor → dialler', from: server, peer: clientName, to: client },
    ];
    for (const dir of dirs) {
      const echo = dir.to === server ? echoB : echoA;
      await direction(report, c, size, rounds, dir, echo);
    }
    // A link lost under loss would be re-dialled and change what was measured: say so.
    await checkLinks(client, server, clientName, size, 'after the measurements');
  } finally {
    client.child.kill();
    server.child.kill();
  }
}

async function direction(
  report: Report,
  c: Condition,
  size: number,
  rounds: number,
  dir: Direction,
  echo: number,
): Promise<void> {
  const row = (what: string): string => `${what}, ${c.label}, ${dir.label}`;
  const base = `${links(size)} per connection (both acceptors)`;

  // Sequential calls; the first round warms up.
  const calls = scaled(c.calls);
  const rates: number[] = [];
  const lat: number[] = [];
  const paths: string[] = [];
  for (let r = 0; r < rounds + 1; r++) {
    const v = await ask(dir.from, dir, { cmd: 'calls', total: calls });
    if (r === 0) continue;
    rates.push(rate(calls, v['ms'] as number));
    lat.push(...(v['lat'] as number[]));
    // Request on the caller's link, reply on the echo's (pool key = PID id % 255, link = key % size).
    paths.push(`${((v['caller'] as number) % 255) % size}/${(echo % 255) % size}`);
  }
  const seqNote = `${base}; ${calls} sequential calls${size > 1 ? `; request/reply link per round: ${paths.join(', ')}` : ''}`;
  reportSamples(report, { group: G_POOL, name: row('call rate'), unit: 'calls/s', note: seqNote }, rates);
  latency(report, row('call latency p50'), lat, 50, seqNote);
  latency(report, row('call latency p99'), lat, 99, seqNote);

  // CALLERS callers at once.
  const total = scaled(c.calls * CONC_FACTOR);
  const conc: number[] = [];
  const clat: number[] = [];
  let done = 0;
  for (let r = 0; r < rounds + 1; r++) {
    const v = await ask(dir.from, dir, { cmd: 'conc', total, callers: CALLERS });
    if (r === 0) continue;
    done = v['calls'] as number;
    conc.push(rate(done, v['ms'] as number));
    clat.push(...(v['lat'] as number[]));
  }
  const concNote = `${base}; ${done} calls by ${CALLERS} callers at once`;
  reportSamples(
    report,
    { group: G_POOL, name: row(`call rate, ${CALLERS} in flight`), unit: 'calls/s', note: concNote },
    conc,
  );
  latency(report, row(`call latency p99, ${CALLERS} in flight`), clat, 99, concNote);

  // Windowed sends 1→1.
  const sends = scaled(c.sends);
  const srates: number[] = [];
  for (let r = 0; r < rounds + 1; r++) {
    const v = await ask(dir.from, dir, { cmd: 'send', total: sends });
    if (r > 0) srates.push(rate(sends, v['ms'] as number));
  }
  reportSamples(
    report,
    { group: G_POOL, name: row('send 1→1'), unit: 'msg/s', note: `${base}; ${sends / 1e3}K ints, windowed` },
    srates,
  );
}

function latency(report: Report, name: string, latUs: number[], p: number, note: string): void {
  report({
    group: G_POOL,
    name,
    unit: 'ms',
    value: percentile(
      latUs.map((x) => x / 1000),
      p,
    ),
    better: 'lower',
    note: `${note}; ${latUs.length} calls`,
  });
}

/** The suite: one condition per scenario, at the link count of `ctx.peer` (see the top). */
export async function hostsPoolSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  if (POOL_SIZES.length === 0) {
    console.log('links per connection: off (BENCH_POOL_SIZES=1,3 npm run bench -- --only=hosts-pool)');
    return;
  }
  const c: SuiteContext = ctx ?? { scenario: undefined, peer: 'ergo-ts', rounds: 3, warmup: 1, quick: true };
  const why = hostsAvailable();
  if (why !== undefined) {
    console.log(`links per connection: skipped, test hosts unavailable: ${why}`);
    return;
  }
  const size = sizeOf(c.peer);
  for (const [id, cond] of Object.entries(CONDITIONS)) {
    if (c.scenario !== undefined && c.scenario !== `hosts-pool-${id}`) continue;
    const hosts = await makeHosts(cond);
    try {
      await measure(report, cond, size, c, hosts);
    } finally {
      await hosts.dispose();
    }
  }
}
