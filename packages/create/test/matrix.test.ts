// The proof that generated projects work, for a matrix of flag sets (the README example, each
// option alone, a deep tree, TLS, the defaults, the entity stores). What is proven for EVERY set:
// - the real bin generates it (the first set's bin comes from create-ergo-ts's own `npm pack`
//   tarball, run with `npm exec` as users do; the others run the same file from dist);
// - it type-checks on its own: one `tsc -b` over all the projects, each its own program with its
//   own tsconfig (a file that compiles only beside another project's cannot pass), against
//   ergo-ts, @ergo-ts/websocket, @ergo-ts/observer and @ergo-ts/entities installed from their
//   tarballs (one real `npm install`; the dev tools from the registry; shared by a node_modules
//   symlink);
// - every one of its generated test files runs and passes (at least one test each, none failed,
//   none skipped): the test files of all sets run in one `node --test --test-isolation=none`
//   process (each file in a process of its own costs a second of CPU, ~60 of them), with a
//   reporter that says which file each result came from;
// - its node starts (`node --import ergo-ts/register dist/src/node.js`, as the README says to run it
//   in production), a node started here calls one generated process over the network ('ping' →
//   'pong'), and SIGTERM stops it with exit code 0 and "graceful shutdown".
// Only for the FIRST set (the README example): `npm test` as users run it (tsc -b, then each test
// file in a process of its own) and `npm start` (prestart's tsc -b, then the node under npm).
// For some sets: with --with-observer the Observer (from @ergo-ts/observer's tarball, on a free
// port) serves its UI page; with --with-logger rotate the log lands in logs/<package>.log; with
// the postgres entity store, the tests, the node and `npm run cluster` use a real PostgreSQL server;
// the SQLite workflow set's node is given a postgres:// ERGO_ENTITY_DB, which opens PostgreSQL too.

import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { PG_BIN, eventually, packedTarballs, startPostgres, type Postgres } from '@ergo-ts/test-support';
import { NetworkMode, ProcessID, startNode, type Node } from 'ergo-ts';

import { parseCliArgs } from '../src/args.js';
import { buildProject, pingTarget } from '../src/model.js';
import { parseParamSpec } from '../src/params.js';
import { defaultAnswers } from '../src/prompts.js';

import { README_EXAMPLE } from './fixtures.js';
import type { TestResult } from './results_reporter.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
/** The reporter the run over every project's tests uses: a JSON line per result, with its file. */
const REPORTER = fileURLToPath(new URL('./results_reporter.js', import.meta.url));
const COOKIE = 'matrix-cookie';

/** Flag sets: a name and the arguments after `npm create ergo-ts@latest`. Servers listen on port 0. */
const MATRIX: [string, string[]][] = [
  [
    'readme example (ports 0)',
    README_EXAMPLE.map((a) => a.replace('{port:9090}', '{port:0}').replace(/^(MyTcp|MyUdp)$/, '$1{port:0}')),
  ],
  ['app alone', ['AppNode', '--with-app', 'MyApp{mode:perm}', '--with-actor', 'MyApp:MyActor']],
  [
    'sup alone',
    [
      'SupNode',
      '--with-sup',
      'MySup{type:rfo,strategy:perm}',
      '--with-actor',
      'MySup:First',
      '--with-actor',
      'MySup:Second',
    ],
  ],
  ['actor alone', ['ActorNode', '--with-actor', 'MyActor']],
  ['pool alone', ['PoolNode', '--with-pool', 'MyPool{size:2}']],
  ['web alone', ['WebNode', '--with-web', 'MyWeb{port:0}']],
  ['tcp alone', ['TcpNode', '--with-tcp', 'MyTcp{port:0}']],
  ['udp alone', ['UdpNode', '--with-udp', 'MyUdp{port:0}']],
  ['msg (and an actor to call)', ['MsgNode', '--with-msg', 'Hello', '--with-msg', 'Bye', '--with-actor', 'MyActor']],
  [
    'logger and observer (and an actor)',
    ['ExtrasNode', '--with-logger', 'rotate', '--with-observer', '--with-actor', 'MyActor'],
  ],
  [
    'deep tree',
    [
      'DeepNode',
      '--with-app',
      'Core',
      '--with-sup',
      'Core:Top{type:afo}',
      '--with-sup',
      'Top:Mid{type:sofo}',
      '--with-actor',
      'Mid:Task',
      '--with-actor',
      'Top:Leaf',
      '--with-pool',
      'Top:Workers',
      '--with-actor',
      'Director',
      '--with-actor',
      'Director:Assistant',
      '--with-tcp',
      'Gate{port:0}',
      '--with-sup',
      'Gate:Sessions',
      '--with-actor',
      'Sessions:Session',
    ],
  ],
  [
    'tls (and websocket)',
    [
      'SecureNode{tls}',
      '--with-web',
      'Api{port:0,tls,websocket}',
      '--with-tcp',
      'Line{port:0,tls}',
      '--with-actor',
      'MyActor',
    ],
  ],
  ['defaults (--yes)', ['Defaults', '--yes']],
  ['entity (sqlite, and an actor)', ['EntityNode', '--with-entity', 'Cart', '--with-actor', 'MyActor']],
  [
    'entity (postgres, and an actor)',
    ['PgEntityNode', '--with-entity', 'Cart', '--entity-store', 'postgres', '--with-actor', 'MyActor'],
  ],
  ['workflow (a 3-node cluster, and an actor)', ['FlowNode', '--with-workflow', 'Order', '--with-actor', 'MyActor']],
  [
    'workflow (postgres: the 3-node cluster on PostgreSQL, and an actor)',
    ['PgFlowNode', '--with-workflow', 'Order', '--entity-store', 'postgres', '--with-actor', 'MyActor'],
  ],
];

// Nested runs must not think they are part of this one: npm's workspace run, node:test's
// child-process context (with it, the generated project's `node --test` would skip its files).
// Nor are they covered: under c8 (NODE_V8_COVERAGE) every tsc and npm of 13 projects wrote its
// coverage, which made this file five times slower, for code that is not this repository's.
const ENV: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) =>
      k !== 'NODE_TEST_CONTEXT' &&
      k !== 'NODE_V8_COVERAGE' &&
      !/^npm_(package_|lifecycle_|config_workspace|config_include_workspace)/i.test(k),
  ),
);

// MATRIX_ONLY=<regexp> runs the matching flag sets only (for working on one template).
const ONLY = process.env['MATRIX_ONLY'] !== undefined ? new RegExp(process.env['MATRIX_ONLY']) : undefined;
const SETS = MATRIX.filter(([label]) => ONLY === undefined || ONLY.test(label));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr, interleaved. */
  out: string;
  stdout: string;
}

function exec(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = ENV): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, out, stdout }));
  });
}

async function ok(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = ENV): Promise<Run> {
  const r = await exec(cmd, args, cwd, env);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')} in ${cwd} failed (${r.code ?? r.signal}):\n${r.out.slice(-4000)}`);
  return r;
}

let tmp = '';
let probe: Node | undefined;
/** The PostgreSQL server of the `--entity-store postgres` and workflow sets (started before the run when one is in it). */
let postgres: Postgres | undefined;
/** Each set's project folder. */
const dirs = new Map<string, string>();
/** The one `tsc -b` over every project. */
let compiled: Run | undefined;
/** Every generated test's result, from the one `node --test` run over every project's test files. */
let results: TestResult[] = [];
let testRun: Run | undefined;

/** The compiled test files of a project: one per test/*.test.ts (missing ones are the set's failure). */
function testFiles(dir: string): string[] {
  return readdirSync(join(dir, 'test'))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(dir, 'dist', 'test', f.replace(/\.ts$/, '.js')));
}

describe(
  'generated projects build, test and run (from npm pack tarballs)',
  { concurrency: Math.min(2, availableParallelism()) },
  () => {
    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'create-ergo-ts-'));
      // scripts/pack.mjs's tarballs, packed once for this file and from.test.ts when they run together.
      const packed = await packedTarballs(ROOT, join(tmp, 'pack'));
      const tarball = packed['ergo-ts'];
      const websocket = packed['@ergo-ts/websocket'];
      const observer = packed['@ergo-ts/observer'];
      const entities = packed['@ergo-ts/entities'];
      assert.ok(
        tarball !== undefined && websocket !== undefined && observer !== undefined && entities !== undefined,
        'pack.mjs packed ergo-ts, @ergo-ts/websocket, @ergo-ts/observer and @ergo-ts/entities',
      );
      // The first set runs the bin as users do, from create-ergo-ts's own tarball; the others
      // run the same file straight from dist.
      const createTarball = packed['create-ergo-ts'];
      assert.ok(createTarball !== undefined, 'pack.mjs packed create-ergo-ts');
      for (const [n, [label, args]] of SETS.entries()) {
        const { out } =
          n === 0
            ? await ok('npm', ['exec', '--yes', `--package=${createTarball}`, '--', 'create-ergo-ts', ...args], tmp)
            : await ok('node', [CLI, ...args], tmp);
        assert.match(out, /Created /, label);
        dirs.set(label, join(tmp, parseParamSpec(args[0]!, 'node name').name.toLowerCase()));
      }
      // One real install (ergo-ts, @ergo-ts/websocket and @ergo-ts/observer from their tarballs,
      // the dev tools the generated package.json names, ws for the WebSocket test), shared by
      // every other project.
      const [first, ...rest] = [...dirs.values()];
      const extra = [websocket, observer, entities, 'ws@^8.23.0', '@types/ws@^8.18.2'];
      await ok('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, ...extra], first!);
      for (const dir of rest) symlinkSync(join(first!, 'node_modules'), join(dir, 'node_modules'), 'dir');
      // The postgres sets' tests need the server during the run over every project's tests.
      if (SETS.some(([, args]) => args.includes('postgres') || args.includes('--with-workflow')))
        postgres = await startPostgres();
      probe = await startNode(`matrix_probe_${process.pid}@localhost`, {
        log: { defaultLogger: { disable: true } },
        network: { mode: NetworkMode.Hidden, cookie: COOKIE, registrar: null, insecureSkipVerify: true },
      });
      // One tsc for every project (parsed declaration files shared between them), with the
      // TypeScript the install put in; each set's test looks at its own files' errors.
      const tsc = join(first!, 'node_modules', 'typescript', 'bin', 'tsc');
      compiled = await exec(
        'node',
        [tsc, '-b', '--pretty', 'false', ...[...dirs.values()].map((d) => basename(d))],
        tmp,
      );
      const files = [...dirs.values()].flatMap(testFiles).filter((f) => existsSync(f));
      testRun = await exec(
        'node',
        ['--test', '--test-isolation=none', `--test-reporter=${REPORTER}`, ...files],
        tmp,
        postgres !== undefined ? { ...ENV, ERGO_ENTITY_DB: postgres.url } : ENV,
      );
      results = testRun.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as TestResult);
    });

    after(async () => {
      await probe?.stop();
      await postgres?.stop();
      if (tmp !== '' && process.env['KEEP_MATRIX'] !== '1') rmSync(tmp, { recursive: true, force: true });
    });

    test('one tsc -b type-checks every project; their tests, run together, pass', () => {
      assert.equal(compiled!.code, 0, `tsc -b failed:\n${compiled!.out.slice(-4000)}`);
      assert.equal(testRun!.code, 0, `node --test failed:\n${testRun!.out.slice(-4000)}`);
    });

    SETS.forEach(([label, args], n) => {
      test(label, async () => {
        const dir = dirs.get(label)!;
        // The postgres entity store: a real server, its URL in ERGO_ENTITY_DB for the tests and the node.
        // A workflow set's node and cluster use a database of their own: the sets run two at a
        // time, and nodes of two sets must not take each other's shard leases in one database.
        const flow = args.includes('--with-workflow');
        const db = flow ? await createDatabase(`matrix${n}`) : postgres?.url;
        const pgEnv = { ...ENV, ERGO_ENTITY_DB: db };
        const env = args.includes('postgres') ? pgEnv : ENV;
        // A SQLite project's node given a postgres:// ERGO_ENTITY_DB opens PostgreSQL (src/store.ts).
        const flowOnSqlite = flow && !args.includes('postgres');
        // Type-checked: no error in the project's files (tsc -b prints their paths from tmp).
        const own = compiled!.out.split('\n').filter((l) => l.startsWith(`${basename(dir)}/`));
        assert.deepEqual(own, [], `tsc -b errors in ${dir}`);
        // Each generated test file ran: at least one test passed, none failed, none skipped.
        for (const file of testFiles(dir)) {
          const mine = results.filter((r) => r.file === file);
          const failed = mine.filter((r) => r.outcome === 'fail');
          assert.deepEqual(failed, [], `${file} failed:\n${failed.map((f) => `${f.name}: ${f.error}`).join('\n')}`);
          const skipped = mine.filter((r) => r.skip !== undefined || r.todo !== undefined);
          assert.deepEqual(skipped, [], `${file} skipped tests`);
          assert.ok(
            mine.some((r) => r.outcome === 'pass' && r.nesting === 0),
            `${file} ran no test:\n${testRun!.out.slice(-4000)}`,
          );
        }
        if (n === 0) {
          // `npm test` as users run it: tsc -b (up to date here), then a process per test file.
          const tests = (await ok('npm', ['test'], dir, env)).out;
          // node:test's summary: TAP on Node 20 ("# fail 0"), the spec reporter from Node 22 ("ℹ fail 0").
          assert.match(tests, /^(?:# |ℹ )fail 0$/m, tests);
          assert.match(tests, /^(?:# |ℹ )skipped 0$/m, tests);
          assert.match(tests, /^(?:# |ℹ )pass [1-9]/m, tests);
        }
        const name = `matrix${n}_${process.pid}@localhost`;
        const opts = parseCliArgs(args);
        const project = buildProject(
          opts.shaped
            ? {
                name: opts.name!,
                declarations: opts.declarations,
                loggers: opts.loggers,
                observer: opts.observer,
                tls: opts.tls,
                commandLine: '',
              }
            : {
                name: opts.name!,
                declarations: defaultAnswers().declarations,
                loggers: [],
                observer: false,
                tls: false,
                commandLine: '',
              },
        );
        const target = pingTarget(project);
        assert.ok(target !== undefined, `${label}: the matrix calls one generated process`);
        assert.doesNotMatch(readFileSync(join(dir, 'README.md'), 'utf8'), /not generated|not published/i);
        const rotate = project.loggers.includes('rotate');
        // Colored or rotate alone: the default logger is off, so the node's lines come from them.
        const logFile = rotate ? join(dir, 'logs', `${project.packageName}.log`) : undefined;
        if (logFile !== undefined) rmSync(logFile, { force: true });
        // The first set through `npm start`; the others run the node as production does.
        const how = n === 0 ? 'npm start' : 'node';
        const { out, log } = await startCallStop(
          how,
          dir,
          name,
          target.lo,
          project.tls,
          project.observer,
          logFile,
          flowOnSqlite ? pgEnv : env,
        );
        // Lines as the demo prints them: ISO times; a process's registered name beside its PID.
        const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[info\] /;
        if (project.loggers.length === 0) {
          assert.match(out, new RegExp(`${iso.source}.* is up \\(pid `, 'm'), out);
          assert.match(out, new RegExp(`${iso.source}<[0-9A-F]{8}\\.0\\.\\d+> '\\w+': `, 'm'), out);
          assert.doesNotMatch(out, /\x1b\[/, 'no colours when the output is a pipe');
        }
        if (args.includes('--with-entity')) assert.match(out, /application entities \(temporary\) started/, out);
        if (args.includes('--with-entity') || args.includes('--with-workflow')) {
          const pg = args.includes('postgres') || flowOnSqlite;
          assert.match(
            out,
            pg ? /entities: store postgres:\/\/127\.0\.0\.1:/ : /entities: store sqlite:\/.*entities\.db/,
            out,
          );
        }
        if (flow) await clusterStartSignalResult(dir, project.packageName, args.includes('postgres') ? db : undefined);
        if (logFile !== undefined) {
          assert.match(log, new RegExp(`${iso.source}.* is up \\(pid `, 'm'), 'the rotate log file has the lines');
          assert.match(log, /graceful shutdown/);
          if (!project.loggers.includes('colored')) assert.doesNotMatch(out, /is up/, 'the default logger is off');
        }
      });
    });
  },
);

/**
 * Start the node (`npm start`, or `node --import ergo-ts/register dist/src/node.js`), wait for the
 * ready line (on the console, or in the rotate logger's `logFile`), fetch the Observer's page when
 * there is one, call `target` from the probe node, SIGTERM the node, expect exit 0 (of npm too)
 * and "graceful shutdown". Returns the console output and the log file's text.
 */
async function startCallStop(
  how: 'npm start' | 'node',
  dir: string,
  name: string,
  target: string,
  tls: boolean,
  observer: boolean,
  logFile: string | undefined,
  env: NodeJS.ProcessEnv = ENV,
): Promise<{ out: string; log: string }> {
  // ERGO_OBSERVER_PORT=0: a free port for the Observer (read from its "observer: <url>" line).
  const options = ['--name', name, '--cookie', COOKIE, '--port', '0'];
  const [cmd, args] =
    how === 'npm start'
      ? ['npm', ['start', '--', ...options]]
      : ['node', ['--import', 'ergo-ts/register', 'dist/src/node.js', ...options]];
  const child: ChildProcess = spawn(cmd, args, {
    cwd: dir,
    env: { ...env, ERGO_OBSERVER_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const readLog = (): string => (logFile !== undefined && existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const all = (): string => out + readLog();
  const exited = new Promise<Run>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, out, stdout: '' })),
  );
  let nodePid = 0;
  let poll: NodeJS.Timeout | undefined;
  try {
    const ready = await new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = (): void => {
        const m = /is up \(pid (\d+)\), accepting nodes on (\S+):(\d+)( \(TLS\))?/.exec(all());
        if (m !== null) resolve(m);
      };
      const onData = (d: Buffer): void => {
        out += d.toString();
        check();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      // The rotate logger writes its file with no console output to wake us: look at it now and then.
      if (logFile !== undefined) poll = setInterval(check, 100);
      void exited.then((r) =>
        reject(new Error(`${how} ended before the node was up (${r.code ?? r.signal}):\n${all().slice(-4000)}`)),
      );
    });
    clearInterval(poll);
    nodePid = Number(ready[1]);
    assert.equal(ready[4] !== undefined, tls, 'the acceptor uses TLS exactly when asked');
    if (observer) {
      const url = /observer: (http:\/\/\S+)/.exec(all());
      assert.ok(url !== null, `the node prints the Observer's URL:\n${all().slice(-4000)}`);
      assert.doesNotMatch(url[1]!, /:9911$/, 'ERGO_OBSERVER_PORT=0 picked a free port');
      const res = await fetch(`${url[1]!}/`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
      assert.match(await res.text(), /<title>Ergo Observer<\/title>[\s\S]*\/app\.js/, "the Observer UI's page (built)");
    }
    probe!.network().addRoute(
      `^${name.replace(/[.@]/g, '\\$&')}$`,
      {
        route: {
          host: ready[2]!,
          port: Number(ready[3]),
          tls,
          handshakeVersion: { name: '', release: '' },
          protoVersion: { name: '', release: '' },
        },
      },
      0,
    );
    // The call's timeout also covers connecting (TLS for some variants) while other builds run.
    assert.equal(await probe!.call(new ProcessID(target, name), 'ping', { timeout: 30_000 }), 'pong');
    process.kill(nodePid, 'SIGTERM');
    const r = await exited;
    nodePid = 0;
    assert.equal(r.code, 0, `${how} after SIGTERM: ${r.code ?? r.signal}\n${all().slice(-4000)}`);
    assert.match(all(), /graceful shutdown/);
    return { out, log: readLog() };
  } finally {
    clearInterval(poll);
    if (nodePid !== 0) {
      try {
        process.kill(nodePid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** A new database `name` on the matrix's PostgreSQL server (`createdb`, as a user makes one); its URL. */
async function createDatabase(name: string): Promise<string> {
  assert.ok(postgres !== undefined, 'the PostgreSQL server runs');
  await ok(join(PG_BIN, 'createdb'), ['-h', postgres.host, '-p', String(postgres.port), '-U', 'postgres', name], tmp);
  return `postgres://postgres@${postgres.host}:${postgres.port}/${name}`;
}

/** Cluster bases handed out by this process: two sets run at once and must not overlap. */
const clusterBases: number[] = [];

/**
 * A free TCP port P such that P..P+2 and P+10..P+12 are free too (the cluster's nodes and HTTP),
 * below the kernel's ephemeral range: a port in it may be taken by any outgoing connection (npm's,
 * PostgreSQL clients') between this check and the members' bind (EADDRINUSE), one below it only
 * by a server that asks for it.
 */
async function freeClusterBase(): Promise<number> {
  const free = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const srv = createNetServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
  let high = 32_768;
  try {
    high = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || high;
  } catch {
    // not Linux: the IANA range's start
  }
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 15_000 + Math.floor(Math.random() * Math.max(1000, high - 15_000 - 13));
    if (clusterBases.some((b) => Math.abs(b - base) <= 12)) continue;
    const ports = [0, 1, 2, 10, 11, 12].map((d) => base + d);
    if ((await Promise.all(ports.map(free))).every(Boolean)) {
      clusterBases.push(base);
      return base;
    }
  }
  throw new Error('no free ports for the cluster');
}

/**
 * `npm run cluster -- --port P` as the README says (with `ERGO_ENTITY_DB=<db>` when `db` is given,
 * else on the project's SQLite file): three member processes come up, each on that store; a
 * workflow is started through member 0's HTTP front door, signalled through member 1's, and its
 * result read through member 2's; SIGTERM stops the three (exit code 0, "cluster stopped").
 * `pkg`: the project's package name, which the members' node names start with.
 */
async function clusterStartSignalResult(dir: string, pkg: string, db?: string): Promise<void> {
  const base = await freeClusterBase();
  rmSync(join(dir, 'cluster.db'), { force: true });
  const child = spawn('npm', ['run', 'cluster', '--', '--port', String(base)], {
    cwd: dir,
    env: db === undefined ? ENV : { ...ENV, ERGO_ENTITY_DB: db },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  try {
    await eventually(
      () => (out.match(/^member .* http:\/\/127\.0\.0\.1:\d+$/gm) ?? []).length === 3,
      `three members up:\n${out}`,
      {
        timeoutMs: 60_000,
        intervalMs: 100,
      },
    );
    // Each member on the one store: PostgreSQL at ERGO_ENTITY_DB, or the project's cluster.db.
    const stores = (out.match(/^member .*, store (\S+), http:/gm) ?? []).map((l) => /, store (\S+),/.exec(l)![1]);
    const store =
      db === undefined ? `sqlite:${join(dir, 'cluster.db')}` : `postgres://${new URL(db).host}${new URL(db).pathname}`;
    assert.deepEqual(stores, [store, store, store], out);
    const http = async (port: number, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, json: await res.json() };
    };
    const started = await http(base + 10, '/order/o1', { item: 'book', coolOffMs: 200 });
    assert.equal(started.status, 201, JSON.stringify(started.json));
    assert.equal(started.json.created, true);
    const signalled = await http(base + 11, '/order/o1/approve', { by: 'alice' });
    assert.deepEqual(signalled.json, { signal: 'accepted' });
    const result = await http(base + 12, '/order/o1');
    assert.equal(result.status, 200, JSON.stringify(result.json));
    assert.equal(result.json.node, `${pkg}2@localhost`);
    assert.equal(result.json.output.approvedBy, 'alice');
    assert.equal(result.json.output.shipped, 'shipped book');
    // The step's idempotency key: <workflow>/<id>/<seq>/step:<name>.
    assert.equal(result.json.output.reserved, 'reserved book (order/o1/0/step:reserve)');
  } finally {
    // The npm process group: npm, the launcher and its three members.
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await exited;
  await eventually(() => /cluster stopped/.test(out), `the cluster stopped:\n${out}`, {
    timeoutMs: 30_000,
    intervalMs: 100,
  });
  // On PostgreSQL nothing fell back to a SQLite file.
  if (db !== undefined) assert.equal(existsSync(join(dir, 'cluster.db')), false, 'no cluster.db beside PostgreSQL');
}
