// `npm run bench`: runs every suite of bench/dist/suites/ — each scenario, for each peer, in a
// fresh child process — plus the Erlang/OTP peer of each scenario when `erl` is installed and the
// Go Ergo 3.2 peer when `ergo-bench` is there, then prints one table per group (figures side by
// side, ratios, targets met or not) and writes the results to bench/.bench-tmp/latest.json.
//
// Options (after `npm run bench --`; `--opt=v` or `--opt v`):
//   --quick              3 measured rounds instead of 5
//   --rounds=N --warmup=N  (defaults 5 and 2)
//   --only=a,b           run only suites/scenarios whose "suite/scenario" contains a or b
//   --list               list the suite/scenario ids and their peers, run nothing
//   --spread=N           fresh processes of the spread row (default: the scenario's, 10)
//   --no-wait            measure each child once, without waiting for a quiet machine (busy
//                        figures are still flagged with "!"): quick checks on a shared machine
//   --no-erlang --no-nact --no-go
//   --erl-flags="..."    extra flags for every `erl` run (both Erlang columns)
//   --json=path          where to write the JSON (default bench/.bench-tmp/latest.json)
// Go Ergo: $ERGO_BENCH_BIN, else ../shared/peers/ergo-bench/ergo-bench from the repository root.
// $BENCH_V8: extra V8/Node flags for every JS child, space-separated (e.g.
// `BENCH_V8="--single-threaded-gc --max-semi-space-size=1"`): to test a runtime setting against
// the same suites; the flags are recorded in the JSON (`options.v8`).

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, platform, release as osRelease, totalmem } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addFigures } from './lib/figures.js';
import { median } from './lib/measure.js';
import { prepareErlang, runErlang, type ErlangInfo } from './lib/erlang.js';
import { GO_PEERS, prepareGo, runGo, type GoInfo } from './lib/goergo.js';
import { runChild, type ChildResult } from './lib/proc.js';
import { BUSY_CORES, fmt, fmtWithUnit, PEER_LABEL, renderResults, Results, resultsJSON } from './lib/results.js';
import { CPU_PREFIX, LIST_PREFIX, ROW_PREFIX, type FigureSpec, type Row, type ScenarioSpec } from './lib/types.js';

const here = dirname(fileURLToPath(import.meta.url)); // bench/dist
const benchDir = resolve(here, '..');
const repoRoot = resolve(benchDir, '..');
const suitesDir = join(here, 'suites');
const childPath = join(here, 'child.js');
const tmpDir = join(benchDir, '.bench-tmp');
/** Extra flags for every JS child ($BENCH_V8, see the header). */
const V8_FLAGS = (process.env.BENCH_V8 ?? '').split(/\s+/).filter((f) => f !== '');

/** Suites run first, in this order; any other file in suites/ follows alphabetically. */
const SUITE_ORDER = ['messaging', 'processes', 'events', 'edf', 'web', 'network'];
/** Suites the runner expects; a missing one is reported as not available (not as a failure). */
const EXPECTED = ['edf'];
const DEFAULT_TIMEOUT_S = 180;

interface Options {
  rounds: number;
  warmup: number;
  quick: boolean;
  only: string[];
  erlang: boolean;
  nact: boolean;
  go: boolean;
  list: boolean;
  /** Do not wait for a quiet machine nor repeat busy measurements. */
  noWait: boolean;
  /** Fresh processes for scenarios that ask for several (undefined: the scenario's own count). */
  spread: number | undefined;
  erlFlags: string[];
  json: string;
}

const USAGE =
  'usage: npm run bench -- [--quick] [--rounds=N] [--warmup=N] [--only=a,b] [--list] [--spread=N] [--no-wait] [--no-erlang] [--no-nact] [--no-go] [--erl-flags="..."] [--json=path]';
/** A bad command line: printed without a stack trace. */
class UsageError extends Error {}

/** Options that take a value (as `--opt=v` or `--opt v`). */
const VALUED = ['--rounds', '--warmup', '--only', '--spread', '--erl-flags', '--json'];

function parseArgs(argv: string[]): Options {
  const o: Options = {
    rounds: 5,
    warmup: 2,
    quick: false,
    only: [],
    erlang: true,
    nact: true,
    go: true,
    list: false,
    noWait: false,
    spread: undefined,
    erlFlags: [],
    json: join(tmpDir, 'latest.json'),
  };
  let rounds: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    let [k, v] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (v === undefined && VALUED.includes(k)) {
      v = argv[++i];
      if (v === undefined) throw new UsageError(`${k} needs a value\n${USAGE}`);
    }
    if (k === '--quick') o.quick = true;
    else if (k === '--rounds') rounds = Number(v);
    else if (k === '--warmup') o.warmup = Number(v);
    else if (k === '--only') o.only = v!.split(',').filter((s) => s !== '');
    else if (k === '--list') o.list = true;
    else if (k === '--no-wait') o.noWait = true;
    else if (k === '--spread') o.spread = Number(v);
    else if (k === '--no-erlang') o.erlang = false;
    else if (k === '--no-nact') o.nact = false;
    else if (k === '--no-go') o.go = false;
    else if (k === '--erl-flags') o.erlFlags = v!.split(/\s+/).filter((s) => s !== '');
    else if (k === '--json') o.json = resolve(v!);
    else if (k === '--help' || k === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new UsageError(`unknown option ${a}\n${USAGE}`);
  }
  o.rounds = rounds ?? (o.quick ? 3 : 5);
  if (!Number.isInteger(o.rounds) || o.rounds < 1 || !Number.isInteger(o.warmup) || o.warmup < 0)
    throw new UsageError('--rounds must be an integer ≥ 1 and --warmup ≥ 0');
  if (o.spread !== undefined && (!Number.isInteger(o.spread) || o.spread < 1))
    throw new UsageError('--spread must be an integer ≥ 1');
  return o;
}

const log = (s = ''): void => void process.stdout.write(s + '\n');
const indent = (prefix: string) => (line: string) => log(`${prefix}${line}`);

/** The suite files present in dist/suites, in run order. */
function discoverSuites(): { name: string; file: string }[] {
  const files = existsSync(suitesDir) ? readdirSync(suitesDir).filter((f) => f.endsWith('.js')) : [];
  const names = files.map((f) => basename(f, '.js'));
  const ordered = [
    ...SUITE_ORDER.filter((n) => names.includes(n)),
    ...names.filter((n) => !SUITE_ORDER.includes(n)).sort(),
  ];
  return ordered.map((name) => ({ name, file: join(suitesDir, `${name}.js`) }));
}

function selected(o: Options, id: string): boolean {
  return o.only.length === 0 || o.only.some((s) => id.includes(s));
}

function childFailure(r: ChildResult): string {
  // The error's own lines first (a long stack would push its message out of the last 8): the
  // last 24 of them (6 cut the head off an error naming each of 7 gateways' state, the 100,000-tab
  // run of 2026-11-29 08:40 lost its message so).
  const lines = r.stderr.trim().split('\n');
  const said = lines.filter((l) => !/^\s+at /.test(l)).slice(-24);
  const tail = [...said, ...lines.slice(-4).filter((l) => !said.includes(l))].join('\n      ');
  return r.timedOut
    ? `timed out after ${(r.ms / 1000).toFixed(0)} s`
    : `exit code ${r.code}${tail !== '' ? `:\n      ${tail}` : ''}`;
}

/** Busy CPU milliseconds of the whole machine (all cores) so far. */
function machineBusyMs(): number {
  let t = 0;
  for (const c of cpus()) t += c.times.user + c.times.nice + c.times.sys + c.times.irq;
  return t;
}

/** Attempts per child when other processes compete for the CPU (the quietest attempt is kept; 1 with --no-wait). */
let maxAttempts = 3;
/** How long to wait for the machine to calm down before an attempt. */
const QUIET_WAIT_MS = 30_000;
/** Total time the whole run may spend waiting and re-measuring for a quiet machine. */
let quietBudgetMs = 120_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Cores other processes use right now (sampled over `ms`). */
async function othersNow(ms: number): Promise<number> {
  const b0 = machineBusyMs();
  const s0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(ms);
  const s = process.cpuUsage(s0);
  return (machineBusyMs() - b0 - (s.user + s.system) / 1000) / (performance.now() - t0);
}

/** Waits (up to QUIET_WAIT_MS) until other processes use less than BUSY_CORES. */
async function waitQuiet(): Promise<void> {
  if (quietBudgetMs <= 0) return;
  const t0 = performance.now();
  let said = false;
  for (;;) {
    const others = await othersNow(300);
    quietBudgetMs -= 300;
    if (others <= BUSY_CORES) return;
    if (performance.now() - t0 > QUIET_WAIT_MS || quietBudgetMs <= 0) {
      log(
        `      (machine still busy after ${QUIET_WAIT_MS / 1000} s: ~${others.toFixed(2)} cores used by other processes; measuring anyway)`,
      );
      return;
    }
    if (!said) log(`      (waiting for the machine to calm down: other processes use ~${others.toFixed(2)} cores)`);
    said = true;
  }
}

/** One attempt of a child: its rows, its result and the cores other processes used meanwhile. */
interface Attempt {
  rows: Row[];
  r: ChildResult;
  others: number;
}

/**
 * CPU milliseconds (user + system) of this process' terminated children, from /proc/self/stat
 * (cutime + cstime, in USER_HZ = 100 ticks/s); undefined off Linux. This counts everything the
 * child used, system time included (Erlang's own `statistics(runtime)` leaves system time out).
 */
function childrenCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) * 10;
  } catch {
    return undefined;
  }
}

/**
 * Runs a child and measures whether other processes competed for the CPU meanwhile: machine busy
 * time minus the child's CPU time and the runner's, per wall second. The child's CPU time comes
 * from the kernel (/proc), or else from its own `@@cpu` line.
 */
async function attempt(run: (onRow: (row: Row) => void) => Promise<ChildResult>): Promise<Attempt> {
  const rows: Row[] = [];
  const busy0 = machineBusyMs();
  const self0 = process.cpuUsage();
  const kids0 = childrenCpuMs();
  const r = await run((row) => {
    rows.push(row);
    const peer = PEER_LABEL[row.peer ?? 'ergo-ts'] ?? row.peer;
    const xs = row.samples !== undefined && row.samples.length > 0 ? row.samples : [row.value];
    const spread =
      xs.length > 1
        ? ` (median of ${xs.length}; ${fmt(Math.min(...xs), row.unit)}…${fmt(Math.max(...xs), row.unit)})`
        : '';
    log(`      ${peer}: ${row.name} = ${fmtWithUnit(median(xs), row.unit)}${spread}`);
  });
  const busy = machineBusyMs() - busy0;
  const self = process.cpuUsage(self0);
  const kids1 = childrenCpuMs();
  let childCpu: number | undefined = kids0 !== undefined && kids1 !== undefined ? kids1 - kids0 : undefined;
  if (childCpu === undefined) {
    const cpuLine = r.lines.find((l) => l.startsWith(CPU_PREFIX));
    if (cpuLine !== undefined) childCpu = (JSON.parse(cpuLine.slice(CPU_PREFIX.length)) as { cpuMs: number }).cpuMs;
  }
  const others = childCpu === undefined ? 0 : Math.max(0, (busy - childCpu - (self.user + self.system) / 1000) / r.ms);
  return { rows, r, others };
}

/**
 * Runs a child up to maxAttempts times while other processes compete for the CPU (memory figures do
 * not care, so those are never repeated), keeps the quietest attempt, and records its rows.
 */
async function measured(
  results: Results,
  label: string,
  run: (onRow: (row: Row) => void) => Promise<ChildResult>,
): Promise<ChildResult> {
  let best: Attempt | undefined;
  for (let a = 1; a <= maxAttempts; a++) {
    await waitQuiet();
    const at = await attempt(run);
    if (a > 1) quietBudgetMs -= at.r.ms;
    if (best === undefined || at.r.code !== 0 || at.others < best.others) best = at;
    const cpuBound = at.rows.some((row) => !row.unit.startsWith('B'));
    if (at.r.code !== 0 || at.others <= BUSY_CORES || !cpuBound) break;
    const again = a < maxAttempts && quietBudgetMs > 0;
    log(
      `      ⚠ other processes used ~${at.others.toFixed(2)} cores during this measurement${again ? ': measuring again' : ''}`,
    );
    if (!again) break;
  }
  for (const row of best!.rows) results.add(row, best!.others);
  if (best!.others > BUSY_CORES && best!.rows.some((row) => !row.unit.startsWith('B'))) {
    results.busy.push({ what: label, otherCores: best!.others });
    log(
      `      ⚠ kept the quietest attempt (other processes used ~${best!.others.toFixed(2)} cores): figures unreliable`,
    );
  }
  return best!.r;
}

/**
 * Runs one suite child (one scenario and peer, or the whole suite); scenarios that ask for
 * several fresh processes (`processes`, `--spread`) run that many children one after another.
 */
async function runJS(
  o: Options,
  results: Results,
  suite: string,
  file: string,
  sc: ScenarioSpec | undefined,
  peer: string,
): Promise<void> {
  const n = sc?.processes !== undefined ? (o.spread ?? sc.processes) : 1;
  for (let i = 1; i <= n; i++)
    await runJSOnce(o, results, suite, file, sc, peer, n > 1 ? ` (process ${i} of ${n})` : '');
}

async function runJSOnce(
  o: Options,
  results: Results,
  suite: string,
  file: string,
  sc: ScenarioSpec | undefined,
  peer: string,
  which: string,
): Promise<void> {
  const scenario = sc?.id;
  const label = `${suite}${scenario !== undefined ? `/${scenario}` : ''} [${peer}]${which}`;
  log(`  ▸ ${label}`);
  const timeoutS = sc?.timeout ?? DEFAULT_TIMEOUT_S;
  const warmup = Math.max(o.warmup, sc?.minWarmup ?? 0);
  const args = [
    '--expose-gc',
    ...V8_FLAGS,
    ...(sc?.nodeFlags ?? []),
    childPath,
    'run',
    file,
    scenario ?? '-',
    peer,
    String(o.rounds),
    String(warmup),
    o.quick ? '1' : '0',
  ];
  const r = await measured(results, label, (onRow) =>
    runChild(
      process.execPath,
      args,
      [ROW_PREFIX, CPU_PREFIX],
      timeoutS * 1000,
      (line) => {
        if (line.startsWith(ROW_PREFIX)) onRow({ peer, ...(JSON.parse(line.slice(ROW_PREFIX.length)) as Row) });
      },
      indent('      | '),
    ),
  );
  for (const l of r.stderr.trim().split('\n')) if (r.code === 0 && l.trim() !== '') log(`      ! ${l}`);
  if (r.code !== 0) {
    results.failures.push({ what: label, detail: childFailure(r) });
    log(`      FAILED: ${childFailure(r)}`);
  } else if (!r.lines.some((l) => l.startsWith(ROW_PREFIX))) log('      (no figures reported)');
}

/**
 * The Erlang peers: the VM as it starts by default (one scheduler per core) and pinned to one
 * scheduler (`+S 1`), the fair match for single-threaded ergo-ts and nact — on 2 cores the
 * default is often slower for one producer and one consumer (cross-scheduler wake-ups).
 */
const ERLANG_PEERS: { peer: string; flags: string[] }[] = [
  { peer: 'erlang', flags: [] },
  { peer: 'erlang-1', flags: ['+S', '1'] },
];

async function runErl(
  o: Options,
  info: ErlangInfo,
  results: Results,
  suite: string,
  sc: ScenarioSpec,
  peer: string,
  flags: string[],
): Promise<void> {
  const spec = sc.erlang!;
  const label = `${suite}/${sc.id} [${peer}]`;
  log(`  ▸ ${label}`);
  const r = await measured(results, label, (onRow) =>
    runErlang(
      info,
      spec,
      o.rounds,
      Math.max(o.warmup, sc.minWarmup ?? 0),
      [...o.erlFlags, ...flags],
      (sc.timeout ?? DEFAULT_TIMEOUT_S) * 1000,
      (er) => {
        const target = spec.rows[er.id];
        if (target === undefined) {
          log(`      ! Erlang printed an unknown id '${er.id}'`);
          return;
        }
        onRow({ ...target, peer, value: median(er.samples), samples: er.samples, note: er.note });
      },
      indent('      | '),
    ),
  );
  const errors = r.lines.filter((l) => l.startsWith('@@error'));
  if (r.code !== 0 || errors.length > 0) {
    const detail = errors.length > 0 ? errors.join('\n') : childFailure(r);
    results.failures.push({ what: label, detail });
    log(`      FAILED: ${detail}`);
  }
}

/** Runs the Go Ergo peer of a scenario with GOMAXPROCS=`procs` (a fresh ergo-bench process). */
async function runGoPeer(
  o: Options,
  info: GoInfo,
  results: Results,
  suite: string,
  sc: ScenarioSpec,
  peer: string,
  procs: number,
): Promise<void> {
  const spec = sc.go!;
  const label = `${suite}/${sc.id} [${peer}, GOMAXPROCS=${procs}]`;
  log(`  ▸ ${label}`);
  const r = await measured(results, label, (onRow) =>
    runGo(
      info,
      spec,
      procs,
      o.rounds,
      Math.max(o.warmup, sc.minWarmup ?? 0),
      (sc.timeout ?? DEFAULT_TIMEOUT_S) * 1000,
      (g) => {
        if (g.unit !== spec.unit)
          log(`      ! ergo-bench reported ${g.scenario} in ${g.unit}, the row is in ${spec.unit}`);
        const row: Row = {
          group: spec.group,
          name: spec.name,
          unit: spec.unit,
          peer,
          value: g.median,
          samples: g.samples,
          note: g.note,
        };
        if (spec.better !== undefined) row.better = spec.better;
        onRow(row);
      },
      indent('      | '),
    ),
  );
  const errors = r.lines.filter((l) => l.includes('"type":"error"'));
  if (r.code !== 0 || errors.length > 0) {
    const detail = errors.length > 0 ? errors.join('\n') : childFailure(r);
    results.failures.push({ what: label, detail });
    log(`      FAILED: ${detail}`);
  }
}

/** Prints the suite/scenario ids (what --only matches) and who runs them. */
async function listScenarios(o: Options, suites: { name: string; file: string }[]): Promise<void> {
  for (const { name, file } of suites) {
    const listing = await runChild(
      process.execPath,
      [childPath, 'list', file],
      [LIST_PREFIX],
      60_000,
      () => {},
      indent('      | '),
    );
    if (listing.code !== 0 || listing.lines.length === 0) {
      log(`${name}: not available (${childFailure(listing)})`);
      continue;
    }
    const list = JSON.parse(listing.lines[0]!.slice(LIST_PREFIX.length)) as { scenarios: ScenarioSpec[] | null };
    if (list.scenarios === null) {
      log(`${name}  (one child: ergo-ts)`);
      continue;
    }
    for (const sc of list.scenarios) {
      const who = [
        ...(sc.peers ?? ['ergo-ts']),
        ...(sc.erlang !== undefined ? (sc.erlang.columns ?? ['erlang', 'erlang-1']) : []),
        ...(sc.go !== undefined ? ['go', 'go-1'] : []),
      ];
      const procs = sc.processes !== undefined ? `, ${o.spread ?? sc.processes} fresh processes` : '';
      log(`${`${name}/${sc.id}`.padEnd(34)} ${who.map((p) => PEER_LABEL[p] ?? p).join(', ')}${procs}`);
    }
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.noWait) {
    maxAttempts = 1;
    quietBudgetMs = 0;
  }
  if (o.list) {
    await listScenarios(o, discoverSuites());
    return;
  }
  const t0 = performance.now();
  const results = new Results();
  mkdirSync(tmpDir, { recursive: true });

  const cpu = cpus();
  log(`ergo-ts benchmarks — ${new Date().toISOString()}`);
  log(
    `machine: ${cpu[0]?.model ?? 'unknown CPU'} × ${cpu.length}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ${platform()} ${osRelease()}`,
  );
  log(
    `node ${process.version} (V8 ${process.versions.v8}); every scenario runs in a fresh child process (--expose-gc)`,
  );
  log(
    `figures: median of ${o.rounds} measured rounds after ${o.warmup} warm-up round(s) (no forced GC between rounds: steady state)`,
  );
  if (o.noWait)
    log(
      `busy-machine guard off (--no-wait): each child runs once; a measurement during which other processes use > ${BUSY_CORES} cores is flagged "!"`,
    );
  else
    log(
      `busy-machine guard: a measurement during which other processes use > ${BUSY_CORES} cores is flagged and repeated (up to ${maxAttempts} attempts, quietest kept)`,
    );

  let erl: ErlangInfo = { available: false, reason: 'disabled with --no-erlang' };
  if (o.erlang) erl = prepareErlang(join(benchDir, 'erlang'), join(tmpDir, 'erlang-beam'), o.erlFlags);
  if (erl.available)
    log(
      `Erlang/OTP ${erl.release}: ${erl.schedulers} scheduler(s)${o.erlFlags.length > 0 ? ` (erl ${o.erlFlags.join(' ')})` : ''}; erl start-up is not timed (the scripts time themselves)`,
    );
  else {
    log(`Erlang skipped: ${erl.reason}`);
    results.skipped.push({ what: 'erlang', detail: erl.reason ?? '' });
  }
  if (!o.nact) results.skipped.push({ what: 'nact', detail: 'disabled with --no-nact' });
  let go: GoInfo = { available: false, reason: 'disabled with --no-go' };
  if (o.go) go = prepareGo(repoRoot);
  if (go.available)
    log(
      `Go Ergo: ${relative(process.cwd(), go.bin!) || go.bin}, columns GOMAXPROCS=${GO_PEERS.map((g) => g.procs).join(' and ')}; each scenario in a fresh ergo-bench process (it times itself)`,
    );
  else {
    log(`Go Ergo skipped: ${go.reason}`);
    results.skipped.push({ what: 'go', detail: go.reason ?? '' });
  }

  const suites = discoverSuites();
  for (const name of EXPECTED) {
    if (!suites.some((s) => s.name === name) && selected(o, name)) {
      log(`${name} suite not available (bench/src/suites/${name}.ts is not there yet)`);
      results.skipped.push({ what: `${name} suite`, detail: 'not available' });
    }
  }

  for (const { name, file } of suites) {
    const listing = await runChild(
      process.execPath,
      [childPath, 'list', file],
      [LIST_PREFIX],
      60_000,
      () => {},
      indent('      | '),
    );
    if (listing.code !== 0 || listing.lines.length === 0) {
      const detail = childFailure(listing);
      if (selected(o, name)) {
        log(`${name} suite not available: ${detail}`);
        results.failures.push({ what: `${name} suite (import)`, detail });
      }
      continue;
    }
    const list = JSON.parse(listing.lines[0]!.slice(LIST_PREFIX.length)) as {
      scenarios: ScenarioSpec[] | null;
      figures: FigureSpec[];
      hasSuite: boolean;
    };
    addFigures(list.figures);
    if (!list.hasSuite) {
      if (selected(o, name)) results.failures.push({ what: `${name} suite`, detail: 'exports no *Suite function' });
      continue;
    }
    if (list.scenarios === null) {
      if (!selected(o, name)) continue;
      log(`\n● ${name}`);
      await runJS(o, results, name, file, undefined, 'ergo-ts');
      continue;
    }
    const todo = list.scenarios.filter((sc) => selected(o, `${name}/${sc.id}`));
    if (todo.length === 0) continue;
    log(`\n● ${name}`);
    for (const sc of todo) {
      const erlPeers = ERLANG_PEERS.filter((e) => sc.erlang?.columns?.includes(e.peer) ?? true);
      for (const row of Object.values(sc.erlang?.rows ?? {}))
        for (const e of erlPeers) results.expect(row.group, e.peer);
      for (const peer of sc.peers ?? ['ergo-ts']) {
        if (peer === 'nact' && !o.nact) continue;
        await runJS(o, results, name, file, sc, peer);
      }
      if (sc.erlang !== undefined && erl.available)
        for (const e of erlPeers) await runErl(o, erl, results, name, sc, e.peer, e.flags);
      if (sc.go !== undefined) {
        for (const g of GO_PEERS) results.expect(sc.go.group, g.peer);
        if (!go.available) continue;
        if (!go.scenarios!.has(sc.go.scenario)) {
          log(`  ▸ ${name}/${sc.id} [go]: ergo-bench has no scenario '${sc.go.scenario}': Go columns empty`);
          results.skipped.push({ what: `go ${sc.go.scenario}`, detail: 'not in ergo-bench -list' });
          continue;
        }
        for (const g of GO_PEERS) await runGoPeer(o, go, results, name, sc, g.peer, g.procs);
      }
    }
  }

  const seconds = (performance.now() - t0) / 1000;
  log('\n════════ results ════════');
  log(
    `figures: median of ${o.rounds} rounds after ${o.warmup} warm-up (more where a scenario asks for it); "vs X" = ergo-ts ÷ X (for ↓ rows lower is better, so < 1 favours ergo-ts)`,
  );
  log('"met": ergo-ts meets the target in this run ("?": the target names a peer that was not measured)');
  if (results.busy.length > 0)
    log(`"!" after a figure: other processes used > ${BUSY_CORES} cores while it was measured — unreliable`);
  for (const l of renderResults(results)) log(l);
  log('');
  if (!erl.available) log(`Erlang column empty: ${erl.reason}`);
  else
    log(
      `"Erlang": the VM's default, ${erl.schedulers} scheduler(s) (one per core); "Erlang +S1": erl +S 1, one scheduler. ergo-ts and nact use one thread.`,
    );
  if (!go.available) log(`Go Ergo columns empty: ${go.reason}`);
  else
    log(
      `"Go Ergo": ergo-bench (Go Ergo 3.2) with GOMAXPROCS=${GO_PEERS[0]!.procs}; "Go Ergo P1": GOMAXPROCS=1, the like-for-like match for single-threaded ergo-ts.`,
    );
  for (const s of results.skipped) if (s.what !== 'erlang' && s.what !== 'go') log(`skipped: ${s.what}: ${s.detail}`);
  for (const f of results.failures) log(`FAILED: ${f.what}: ${f.detail}`);
  if (results.busy.length > 0) {
    const shown = results.busy.slice(0, 12).map((b) => `${b.what} ${b.otherCores.toFixed(2)}`);
    const more =
      results.busy.length > shown.length
        ? `, … ${results.busy.length - shown.length} more (all in the JSON, "busy")`
        : '';
    log(
      `⚠ the machine was busy during ${results.busy.length} measurement(s) (other processes used > ${BUSY_CORES} cores): ${shown.join(', ')}${more}`,
    );
    log('  rerun them on a quiet machine (e.g. npm run bench -- --only=<suite/scenario>) before drawing conclusions');
  } else log('machine quiet: no other process used more than 0.25 cores during any measurement');

  const json = resultsJSON(results, {
    date: new Date().toISOString(),
    seconds,
    machine: {
      cpu: cpu[0]?.model,
      cores: cpu.length,
      memoryGiB: totalmem() / 2 ** 30,
      os: `${platform()} ${osRelease()}`,
      node: process.version,
      v8: process.versions.v8,
    },
    erlang: erl.available
      ? { available: true, release: erl.release, schedulers: erl.schedulers, flags: o.erlFlags }
      : { available: false, reason: erl.reason },
    go: go.available
      ? { available: true, bin: go.bin, gomaxprocs: GO_PEERS.map((g) => g.procs) }
      : { available: false, reason: go.reason },
    options: {
      rounds: o.rounds,
      warmup: o.warmup,
      quick: o.quick,
      only: o.only,
      spread: o.spread ?? null,
      v8: V8_FLAGS,
    },
    methodology:
      'each scenario and peer in a fresh process; figure = median of the measured rounds after warm-up (spread rows: median of the per-process medians); no forced GC between rounds; Erlang scripts and ergo-bench time themselves inside their process; a measurement during which other processes used > 0.25 cores is repeated (quietest attempt kept) and flagged in `busy`',
  });
  mkdirSync(dirname(o.json), { recursive: true });
  writeFileSync(o.json, JSON.stringify(json, null, 2) + '\n');
  log(`results written to ${relative(process.cwd(), o.json) || o.json}; total ${seconds.toFixed(0)} s`);
  if (results.failures.length > 0) process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(
    `${e instanceof UsageError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(1);
});
