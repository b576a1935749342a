#!/usr/bin/env node
// The test runner behind `npm test` (and each workspace's own `npm test`). Runs every compiled test
// file of the workspaces in scripts/test-plan.mjs, each in a Node process of its own (node:test
// run in it by scripts/test-file.mjs, with the spec and summary reporters), several at once: most files spend their time waiting on sockets, timers and child processes, so on a
// 2-core machine a pool of a few files finishes far sooner than node:test's one-file-at-a-time
// default. A file marked `// test-runner: exclusive (why)` near its top runs alone, before the others.
//
// The run is strict: scripts/strict-preload.mjs goes into every Node process of it (each file's
// process and every node a test forks or spawns, through NODE_OPTIONS) and any
// unhandled rejection or uncaught exception fails the file it happened under, even one no test
// noticed. Code that must provoke one on purpose runs in a child with NODE_OPTIONS cleared.
//
// Output: one line per file as it ends (the whole spec output of a file that failed, or of every
// file with --verbose), then the slowest ten files, every failure repeated with its error (the
// tail of a long CI log names what failed), and a closing `N passed, N failed, N skipped` line.
//
// Usage: node scripts/run-tests.mjs [--workspace DIR]... [--smoke] [--proofs] [--concurrency N] [--max-concurrency N]
//          [--verbose] [--filter TEXT] [--file-timeout SECONDS] [--record-times] [--cpu] [--both-passes]
//          [--own-chromium]
// --proofs (`npm run test:proofs`) runs the proof tests at full size (ERGO_TEST_PROOFS=1 in every
// file's environment, read by @ergo-ts/test-support's proofSize): a 20-node cluster instead of 10,
// 100 fault rounds instead of 30. CI runs the smaller size, which takes the same paths.
// ERGO_TEST_CONCURRENCY sets the pool size when --concurrency is absent.
// --max-concurrency N (or ERGO_TEST_MAX_CONCURRENCY; CI passes neither) lets the pool grow past its size
// up to N files, one at a time, while cores idle (scripts/idle-cores.mjs, /proc/stat): the pool's
// files mostly wait on sockets, timers and child processes, and once CI's check beside them has
// ended, four of them left a core idle; a file beyond the size starts only when half a core was
// idle over the last 3 s, 5 s after the last such start.
// --cpu (a measurement, not for CI) runs each file in a cgroup v1 cpuacct group of its own and
// reports its CPU seconds with every descendant's (forked nodes, Chromium, PostgreSQL, npm), the
// top files by CPU and by wall minus CPU (waiting), and the run's CPU utilisation: the question it
// answers is whether the test step is bound by the 2 cores or by files waiting (scripts/cpu-cgroup.mjs).
// The core's files that use only its entry points run on its bundle (`<file> [bundle]`;
// scripts/test-plan.mjs, `bundlePass`), which the run first brings up to date
// (scripts/bundle-core.mjs skips itself when it is); --both-passes runs them on dist/src as well
// (the default under coverage, NODE_V8_COVERAGE, which measures dist/src).
// A file that mentions Chromium borrows a browser the run keeps (scripts/chromium-server.mjs; one
// file at a time each, started only when none is idle) and connects to it (ERGO_TEST_CHROMIUM_WS)
// instead of launching its own; with --own-chromium each launches its own, as a file run alone does.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundlePass, smoke, workspaces } from './test-plan.mjs';
import { entryOnlyTests } from './bundle-core-entries.mjs';
import { cpuGroups } from './cpu-cgroup.mjs';
import { bundleFixtures } from './bundle-fixtures.mjs';
import { idleCores } from './idle-cores.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const here = dirname(fileURLToPath(import.meta.url));
const preload = pathToFileURL(join(here, 'strict-preload.mjs')).href;
const bundlePreload = pathToFileURL(join(here, 'bundle-preload.mjs')).href;
const fileRunner = join(here, 'test-file.mjs');
const timesFile = join(here, 'test-times.json');

/** A file beyond the pool's size starts only while at least this many cores sat idle (last 3 s). */
const IDLE_TO_ADD = 0.5;
/** ... and this long after the last such start, whose own start-up the figure does not show yet. */
const SETTLE_MS = 5000;
/** What the pool did beyond its size (`--max-concurrency`), for the report. */
const poolStats = { peak: 0, extra: 0 };

const opts = parseArgs(process.argv.slice(2));
const started = Date.now();
const cpu = opts.cpu ? cpuGroups() : null;

const files = collectFiles();
if (files.length === 0) {
  console.error('run-tests: no test files found (run `npm run build` first)');
  process.exit(1);
}
runBefore(files);
// One folder for the whole run, shared by its files (ERGO_TEST_RUN_DIR): what several files would
// otherwise each make for themselves, made once by the first that needs it (the packed tarballs:
// @ergo-ts/test-support's packedTarballs). Removed when the run ends.
const runDir = mkdtempSync(join(tmpdir(), 'ergo-test-run-'));
// Node's module compile cache (V8 code cache on disk), shared by every Node process of the run (the
// files, the nodes they fork, npm, tsc): each module is compiled once, then loaded from the cache —
// about a tenth of the CPU of a small file's process. An existing NODE_COMPILE_CACHE (CI sets one
// for all its steps) is kept; none under coverage (NODE_V8_COVERAGE), whose ranges it would blur.
const compileCache =
  process.env.NODE_V8_COVERAGE !== undefined
    ? {}
    : { NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(runDir, 'compile-cache') };
// The entities nodes the tests fork, bundled from what tsc built (scripts/bundle-fixtures.mjs: ~0.2
// CPU-s less each of the ~300-400 starts of a run); not under coverage, which maps dist/src. If
// esbuild fails, the tests fork dist/test as they would without it (and the run says so).
const fixtureBundles =
  process.env.NODE_V8_COVERAGE === undefined && files.some((f) => f.path.includes(`${sep}entities${sep}`))
    ? await bundleFixtures().catch((err) => {
        console.log(`run-tests: the entities fixtures were not bundled (${err}); the tests fork dist/test`);
        return undefined;
      })
    : undefined;
const browsers = chromiumPool();
const results = await runPool(files, opts.concurrency, opts.maxConcurrency);
const browserCpu = await browsers.stop();
rmSync(runDir, { recursive: true, force: true });
const code = report(results, browserCpu);
process.exit(code);

// ---- arguments and files ------------------------------------------------------------------------

function parseArgs(argv) {
  const o = {
    workspaces: [],
    smoke: false,
    proofs: false,
    verbose: false,
    filter: [],
    concurrency: 0,
    maxConcurrency: 0,
    fileTimeout: 600,
    record: false,
    cpu: false,
    bothPasses: process.env.NODE_V8_COVERAGE !== undefined,
    ownChromium: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--workspace') o.workspaces.push(resolve(value()));
    else if (a === '--smoke') o.smoke = true;
    else if (a === '--proofs') o.proofs = true;
    else if (a === '--verbose') o.verbose = true;
    else if (a === '--record-times') o.record = true;
    else if (a === '--cpu') o.cpu = true;
    else if (a === '--both-passes') o.bothPasses = true;
    else if (a === '--own-chromium') o.ownChromium = true;
    else if (a === '--filter') o.filter.push(value());
    else if (a === '--concurrency') o.concurrency = Number(value());
    else if (a === '--max-concurrency') o.maxConcurrency = Number(value());
    else if (a === '--file-timeout') o.fileTimeout = Number(value());
    else usage(`unknown argument ${a}`);
  }
  if (o.concurrency === 0) o.concurrency = Number(process.env.ERGO_TEST_CONCURRENCY ?? 0);
  if (o.concurrency === 0) o.concurrency = Math.max(2, availableParallelism() * 2);
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1) usage('--concurrency must be a positive integer');
  if (o.maxConcurrency === 0) o.maxConcurrency = Number(process.env.ERGO_TEST_MAX_CONCURRENCY ?? 0);
  if (o.maxConcurrency === 0) o.maxConcurrency = o.concurrency;
  if (!Number.isInteger(o.maxConcurrency) || o.maxConcurrency < o.concurrency)
    usage('--max-concurrency must be an integer no smaller than the pool size');
  if (!(o.fileTimeout > 0)) usage('--file-timeout must be a positive number of seconds');
  return o;
}

function usage(problem) {
  console.error(`run-tests: ${problem}`);
  console.error(
    'usage: node scripts/run-tests.mjs [--workspace DIR]... [--smoke] [--proofs] [--concurrency N] [--max-concurrency N] [--verbose] [--filter TEXT] [--file-timeout S] [--record-times] [--cpu] [--both-passes] [--own-chromium]',
  );
  process.exit(2);
}

/** Every test file to run, with its workspace's settings, longest first (by the recorded times). */
function collectFiles() {
  const chosen =
    opts.workspaces.length === 0 ? workspaces : workspaces.filter((w) => opts.workspaces.includes(join(root, w.dir)));
  if (opts.workspaces.length > 0 && chosen.length !== opts.workspaces.length)
    usage(`not a workspace of scripts/test-plan.mjs: ${opts.workspaces.map((w) => relative(root, w)).join(', ')}`);
  const smokeSet = new Set(smoke);
  const times = existsSync(timesFile) ? JSON.parse(readFileSync(timesFile, 'utf8')) : {};
  const out = [];
  for (const w of chosen) {
    const dir = join(root, w.dir, dirname(w.files));
    const [prefix, suffix] = basename(w.files).split('*');
    if (!existsSync(dir)) continue;
    // The bundle pass (scripts/test-plan.mjs): the core's files that reach it only through its
    // entry points run on its bundle, the build users get, instead of on dist/src it is built
    // from; with --both-passes (and under coverage, which measures dist/src) on both.
    const bundled =
      w.dir === bundlePass.dir && !opts.smoke
        ? new Set(entryOnlyTests(join(root, w.dir)).filter((p) => !bundlePass.skip.includes(basename(p))))
        : new Set();
    for (const name of readdirSync(dir).sort()) {
      if (!name.startsWith(prefix) || !name.endsWith(suffix)) continue;
      const path = join(dir, name);
      const passes = !bundled.has(path) ? [false] : opts.bothPasses ? [false, true] : [true];
      for (const bundle of passes) {
        const rel = `${relative(root, path)}${bundle ? ' [bundle]' : ''}`;
        if (opts.smoke && !smokeSet.has(rel)) continue;
        if (opts.filter.length > 0 && !opts.filter.some((f) => rel.includes(f))) continue;
        out.push({
          workspace: w,
          path,
          rel,
          bundle,
          exclusive: exclusiveReason(path),
          chromium: /chromium/i.test(readFileSync(path, 'utf8')),
          expected: times[rel] ?? 30,
        });
      }
    }
  }
  // Files that run alone first: a file alone leaves most of the cores idle, which at the start CI
  // fills with the check it runs beside the tests (.ci/run), while at the end nothing would (the
  // run's one such file, ~17 s alone, ran last). Then longest first: the pool's end is then not
  // one long file started last.
  return out.sort(
    (a, b) => Number(b.exclusive !== undefined) - Number(a.exclusive !== undefined) || b.expected - a.expected,
  );
}

/** The reason a file gives for running alone, or undefined. */
function exclusiveReason(path) {
  const head = readFileSync(path, 'utf8').split('\n', 40).join('\n');
  const m = /\/\/ test-runner: exclusive(?: \((.*)\))?/.exec(head);
  return m === null ? undefined : (m[1] ?? 'marked exclusive');
}

/** Each chosen workspace's `before` script, once; the core's bundle brought up to date for its pass. */
function runBefore(list) {
  if (list.some((f) => f.bundle)) {
    const r = spawnSync(process.execPath, [join(here, 'bundle-core.mjs')], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) console.error(`run-tests: scripts/bundle-core.mjs ended with ${r.status ?? r.signal}`);
  }
  const seen = new Set();
  for (const f of list) {
    const w = f.workspace;
    if (w.before === undefined || seen.has(w)) continue;
    seen.add(w);
    const r = spawnSync(process.execPath, [w.before], { cwd: join(root, w.dir), stdio: 'inherit' });
    if (r.status !== 0) console.error(`run-tests: ${w.dir}: ${w.before} ended with ${r.status ?? r.signal}`);
  }
}

/**
 * The run's Chromium browsers (scripts/chromium-server.mjs), lent to the files that use one (they
 * mention Chromium): a file connects through ERGO_TEST_CHROMIUM_WS instead of launching its own
 * (@ergo-ts/test-support's testChromium), and its browser goes back to the pool when it ends, for
 * the next such file. One file at a time per browser, as when each launched its own, so no file
 * waits on another's pages; a browser is started only when none is idle, so a run starts as many
 * as it had such files running at once (at most the pool's size) instead of one per file. With
 * --own-chromium, or when a browser cannot be started, files launch their own. `stop` ends them
 * all and, under --cpu, gives their CPU seconds (each browser and every page it served).
 */
function chromiumPool() {
  const idle = [];
  const started = [];
  let broken = false;
  const start = async () => {
    const group = cpu?.create() ?? null;
    const script = join(here, 'chromium-server.mjs');
    const [command, args] =
      group === null
        ? [process.execPath, [script]]
        : ['/bin/sh', ['-c', group.joinAndExec, 'sh', process.execPath, script]];
    const child = spawn(command, args, { cwd: root, stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    const server = { child, group, env: {}, exited: new Promise((r) => child.once('close', r)), alive: true };
    void server.exited.then(() => (server.alive = false));
    started.push(server);
    const line = await new Promise((r) => {
      let text = '';
      child.stdout.on('data', (c) => {
        text += c;
        if (text.includes('\n')) r(text.slice(0, text.indexOf('\n')));
      });
      child.once('close', () => r(text));
      child.once('error', () => r(''));
    });
    let answer = {};
    try {
      answer = JSON.parse(line);
    } catch {
      // Nothing readable: a failed start.
    }
    if (typeof answer.wsEndpoint !== 'string') {
      broken = true;
      console.error(
        `run-tests: Chromium did not start (${answer.error ?? (line || 'no answer')}); each file launches its own`,
      );
      return undefined;
    }
    server.env = { ERGO_TEST_CHROMIUM_WS: answer.wsEndpoint };
    return server;
  };
  const stopOne = async (server) => {
    server.child.stdin.end();
    const timer = setTimeout(() => killGroup(server.child.pid), 10_000);
    await server.exited;
    clearTimeout(timer);
    killGroup(server.child.pid);
    return server.group === null ? null : server.group.finish();
  };
  return {
    /** A browser for file `f` while it runs: `env` for its process, `giveBack` when it has ended. */
    async lend(f) {
      const none = { env: {}, giveBack() {} };
      if (opts.ownChromium || broken || !f.chromium) return none;
      let server;
      while (server === undefined && idle.length > 0) {
        const s = idle.pop();
        if (s.alive) server = s;
      }
      server ??= await start();
      if (server === undefined) return none;
      return {
        env: server.env,
        giveBack() {
          if (server.alive) idle.push(server);
        },
      };
    },
    /** Ends every browser; their CPU seconds under --cpu (null otherwise, or if none ran). */
    async stop() {
      const seconds = await Promise.all(started.map(stopOne));
      const known = seconds.filter((x) => x !== null);
      return known.length === 0 ? null : { seconds: known.reduce((a, b) => a + b, 0), count: started.length };
    },
  };
}

// ---- the pool -----------------------------------------------------------------------------------

/**
 * Runs the files, at most `size` at once, or up to `max` while cores idle (a file beyond `size`
 * starts when IDLE_TO_ADD cores were idle over the last 3 s, SETTLE_MS after the previous such
 * start: the cores kept busy, not oversubscribed); an exclusive file waits for an empty pool and
 * runs alone (they come first).
 */
function runPool(list, size, max) {
  const queue = [...list];
  const done = [];
  let running = 0;
  let alone = false;
  let lastExtra = 0;
  const idle = max > size ? idleCores() : null;
  const room = () => {
    if (running < size) return true;
    if (idle === null || running >= max || Date.now() - lastExtra < SETTLE_MS) return false;
    const cores = idle.cores();
    return cores !== null && cores >= IDLE_TO_ADD;
  };
  return new Promise((resolveAll) => {
    // Idle cores show up while files run, not only when one ends: look again each second.
    const ticker = idle === null ? null : setInterval(() => next(), 1000);
    const next = () => {
      while (queue.length > 0 && !alone && room()) {
        // An exclusive file goes when nothing else runs; until then other files fill the pool.
        const i = running === 0 ? 0 : queue.findIndex((f) => f.exclusive === undefined);
        if (i < 0) break;
        const [f] = queue.splice(i, 1);
        if (f.exclusive !== undefined) alone = true;
        if (running >= size) {
          lastExtra = Date.now();
          poolStats.extra++;
        }
        running++;
        poolStats.peak = Math.max(poolStats.peak, running);
        runFile(f).then((r) => {
          running--;
          if (f.exclusive !== undefined) alone = false;
          done.push(r);
          printResult(r);
          next();
        });
      }
      if (running === 0 && queue.length === 0) {
        if (ticker !== null) clearInterval(ticker);
        idle?.stop();
        resolveAll(done);
      }
    };
    next();
  });
}

/** One file in its own process, with a browser of the pool if it uses one; never rejects. */
async function runFile(f) {
  const browser = await browsers.lend(f);
  try {
    return await runProcess(f, browser.env);
  } finally {
    browser.giveBack();
  }
}

/** One file in its own process, strict, with the spec and summary reporters; never rejects. */
function runProcess(f, browserEnv) {
  const strictDir = mkdtempSync(join(tmpdir(), 'ergo-strict-'));
  const summaryFile = join(strictDir, '..', `${basename(strictDir)}.summary.json`);
  const imports = (f.workspace.imports ?? []).flatMap((m) => ['--import', m]);
  // One process per file (scripts/test-file.mjs runs it there with node:test's run()): not
  // `node --test`, which would add a second process per file that only relays its events.
  const args = [...imports, fileRunner, f.path, summaryFile];
  const env = {
    ...process.env,
    ERGO_STRICT_DIR: strictDir,
    ERGO_TEST_RUN_DIR: runDir,
    ...compileCache,
    ...(fixtureBundles !== undefined ? { ERGO_TEST_FIXTURE_BUNDLES: fixtureBundles } : {}),
    ...browserEnv,
    ...(opts.proofs ? { ERGO_TEST_PROOFS: '1' } : {}),
    NODE_OPTIONS:
      `${process.env.NODE_OPTIONS ?? ''} --import=${preload}${f.bundle ? ` --import=${bundlePreload}` : ''}`.trim(),
    FORCE_COLOR: '0',
  };
  const t0 = Date.now();
  // Under --cpu the file starts inside its own cgroup (a shell joins it, then execs node: same pid).
  const group = cpu?.create() ?? null;
  const [command, commandArgs] =
    group === null ? [process.execPath, args] : ['/bin/sh', ['-c', group.joinAndExec, 'sh', process.execPath, ...args]];
  return new Promise((resolveFile) => {
    const child = spawn(command, commandArgs, {
      cwd: join(root, f.workspace.dir),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group: a hung file is ended with everything it started
    });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, opts.fileTimeout * 1000);
    child.on('error', (err) => chunks.push(Buffer.from(`run-tests: could not start: ${err.message}\n`)));
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      // Whatever the file left running (a node a test forgot) goes with it.
      killGroup(child.pid);
      const seconds = (Date.now() - t0) / 1000;
      const cpuSeconds = group === null ? null : group.finish();
      const strict = existsSync(strictDir)
        ? readdirSync(strictDir).map((n) => readFileSync(join(strictDir, n), 'utf8'))
        : [];
      let summary = null;
      try {
        summary = JSON.parse(readFileSync(summaryFile, 'utf8'));
      } catch {
        // No summary: the file's run ended before its reporter did (killed, crashed).
      }
      rmSync(strictDir, { recursive: true, force: true });
      rmSync(summaryFile, { force: true });
      const output = Buffer.concat(chunks).toString('utf8');
      const problems = [];
      if (timedOut) problems.push(`the file did not end within ${opts.fileTimeout} s and was killed`);
      if (strict.length > 0)
        problems.push(
          `${strict.length} process(es) had an unhandled rejection or uncaught exception:\n\n${strict.join('')}`,
        );
      if (summary === null && !timedOut)
        problems.push(`the test run ended with ${status ?? signal} and reported nothing`);
      else if (status !== 0 && summary !== null && summary.fail === 0 && problems.length === 0)
        problems.push(`the test run ended with ${status ?? signal} though no test failed`);
      resolveFile({
        file: f,
        seconds,
        cpuSeconds,
        status,
        output,
        summary,
        problems,
        ok: status === 0 && problems.length === 0,
      });
    });
  });
}

function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

// ---- output -------------------------------------------------------------------------------------

function printResult(r) {
  const s = r.summary;
  const counts =
    s === null
      ? 'no report'
      : `${s.tests} tests${s.skipped > 0 ? `, ${s.skipped} skipped` : ''}${s.fail > 0 ? `, ${s.fail} failed` : ''}`;
  const tag = r.ok ? 'ok  ' : 'FAIL';
  const alone = r.file.exclusive !== undefined ? '  [alone]' : '';
  const cpuText = r.cpuSeconds == null ? '' : ` ${r.cpuSeconds.toFixed(1).padStart(6)} cpu-s`;
  let text = `${tag} ${r.seconds.toFixed(1).padStart(6)} s${cpuText}  ${r.file.rel}  (${counts})${alone}\n`;
  if (s !== null) for (const skip of s.skips) text += `       skipped: ${skip}\n`;
  if (!r.ok || opts.verbose) text += indent(r.output) + '\n';
  for (const p of r.problems) text += `       ${p}\n`;
  process.stdout.write(text);
}

function indent(text) {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `    │ ${l}`)
    .join('\n');
}

/** The closing report; returns the exit code. */
function report(list, browserCpu) {
  const wall = (Date.now() - started) / 1000;
  const total = { tests: 0, pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0 };
  for (const r of list) if (r.summary !== null) for (const k of Object.keys(total)) total[k] += r.summary[k];
  const failed = list.filter((r) => !r.ok);
  const slowest = [...list].sort((a, b) => b.seconds - a.seconds).slice(0, 10);
  let out = `\n== slowest test files\n`;
  for (const r of slowest)
    out += `  ${r.seconds.toFixed(1).padStart(6)} s  ${r.file.rel}${r.file.exclusive !== undefined ? '  [alone]' : ''}\n`;
  const fileTime = list.reduce((n, r) => n + r.seconds, 0);
  const beyond =
    opts.maxConcurrency > opts.concurrency
      ? `; up to ${opts.maxConcurrency} while cores idled: ${poolStats.extra} started beyond ${opts.concurrency}, at most ${poolStats.peak} at once`
      : '';
  out += `\n== ${list.length} files in ${wall.toFixed(0)} s (${fileTime.toFixed(0)} s of file time, ${opts.concurrency} at once${beyond})\n`;
  if (cpu !== null) out += cpu.report(list, wall);
  if (browserCpu != null) {
    const files = list.reduce((n, r) => n + (r.cpuSeconds ?? 0), 0);
    out += `\n== the run's ${browserCpu.count} Chromium browser(s): ${browserCpu.seconds.toFixed(1)} CPU-s (the pages of the files they served; not in the files' figures)`;
    out += `\n  files and browsers together: ${(files + browserCpu.seconds).toFixed(0)} CPU-s\n`;
  }
  if (failed.length > 0) {
    out += `\n== failed (repeated from above)\n\n`;
    for (const r of failed) {
      out += `-- ${r.file.rel}\n`;
      if (r.summary !== null) for (const f of r.summary.failures) out += `${f}\n\n`;
      for (const p of r.problems) out += `${p}\n\n`;
    }
  }
  // A file that failed without a failed test (killed, strict report, crash) counts as one failure.
  const failures = total.fail + failed.filter((r) => r.summary === null || r.summary.fail === 0).length;
  out += `\n${total.pass} passed, ${failures} failed, ${total.skipped} skipped\n`;
  process.stdout.write(out);
  if (opts.record) recordTimes(list);
  return failed.length > 0 ? 1 : 0;
}

/** Keeps each file's time for the next run's longest-first order (scripts/test-times.json). */
function recordTimes(list) {
  const times = existsSync(timesFile) ? JSON.parse(readFileSync(timesFile, 'utf8')) : {};
  for (const r of list) times[r.file.rel] = Math.round(r.seconds * 10) / 10;
  const sorted = Object.fromEntries(Object.entries(times).sort(([a], [b]) => a.localeCompare(b)));
  writeFileSync(timesFile, JSON.stringify(sorted, null, 2) + '\n');
}
