// The proof that generated projects work: for a matrix of flag sets (the README example, each
// option alone, a deep tree, TLS, the defaults), generate a project with the real bin, install
// ergo-ts from this repository's `npm pack` tarballs (third-party dev tools from the registry,
// installed once and shared through a node_modules symlink), then `npm run build`, `npm test`
// and `npm start`: the node comes up, a node started here calls one generated process over the
// network ('ping' → 'pong'), and SIGTERM stops it with exit code 0. With --with-observer the
// Observer (from @ergo-ts/observer's tarball, on a free port) serves its UI page; with
// --with-logger rotate the log lands in logs/<package>.log under the project.

import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { startPostgres, type Postgres } from '@ergo-ts/test-support';
import { NetworkMode, ProcessID, startNode, type Node } from 'ergo-ts';

import { parseCliArgs } from '../src/args.js';
import { buildProject, pingTarget } from '../src/model.js';
import { parseParamSpec } from '../src/params.js';
import { defaultAnswers } from '../src/prompts.js';

import { README_EXAMPLE } from './fixtures.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
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
/** The PostgreSQL server of the `--entity-store postgres` set (started when that set runs). */
let postgres: Postgres | undefined;
const dirs = new Map<string, string>();

describe(
  'generated projects build, test and run (from npm pack tarballs)',
  { concurrency: Math.min(2, availableParallelism()) },
  () => {
    before(async () => {
      tmp = mkdtempSync(join(tmpdir(), 'create-ergo-ts-'));
      const packed = JSON.parse(
        (await ok('node', [join(ROOT, 'scripts/pack.mjs'), join(tmp, 'pack')], ROOT)).stdout,
      ) as Record<string, string>;
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
      probe = await startNode(`matrix_probe_${process.pid}@localhost`, {
        log: { defaultLogger: { disable: true } },
        network: { mode: NetworkMode.Hidden, cookie: COOKIE, registrar: null, insecureSkipVerify: true },
      });
    });

    after(async () => {
      await probe?.stop();
      await postgres?.stop();
      if (tmp !== '' && process.env['KEEP_MATRIX'] !== '1') rmSync(tmp, { recursive: true, force: true });
    });

    SETS.forEach(([label, args], n) => {
      test(label, async () => {
        const dir = dirs.get(label)!;
        // The postgres entity store: a real server, its URL in ERGO_ENTITY_DB for the tests and the node.
        let env = ENV;
        if (args.includes('postgres')) {
          postgres ??= await startPostgres();
          env = { ...ENV, ERGO_ENTITY_DB: postgres.url };
        }
        await ok('npm', ['run', 'build'], dir);
        const tests = (await ok('npm', ['test'], dir, env)).out;
        // The entity test ran (not skipped): with postgres, against the server above.
        if (args.includes('--with-entity')) assert.match(tests, /^(?:# |ℹ )skipped 0$/m, tests);
        // node:test's summary: TAP on Node 20 ("# fail 0"), the spec reporter from Node 22 ("ℹ fail 0").
        assert.match(tests, /^(?:# |ℹ )fail 0$/m, tests);
        assert.match(tests, /^(?:# |ℹ )pass [1-9]/m, tests);
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
        const { out, log } = await startCallStop(dir, name, target.lo, project.tls, project.observer, logFile, env);
        // Lines as the demo prints them: ISO times; a process's registered name beside its PID.
        const iso = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[info\] /;
        if (project.loggers.length === 0) {
          assert.match(out, new RegExp(`${iso.source}.* is up \\(pid `, 'm'), out);
          assert.match(out, new RegExp(`${iso.source}<[0-9A-F]{8}\\.0\\.\\d+> '\\w+': `, 'm'), out);
          assert.doesNotMatch(out, /\x1b\[/, 'no colours when the output is a pipe');
        }
        if (args.includes('--with-entity')) assert.match(out, /application entities \(temporary\) started/, out);
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
 * `npm start`, wait for the ready line (on the console, or in the rotate logger's `logFile`), fetch
 * the Observer's page when there is one, call `target` from the probe node, SIGTERM the node,
 * expect exit 0 and "graceful shutdown". Returns the console output and the log file's text.
 */
async function startCallStop(
  dir: string,
  name: string,
  target: string,
  tls: boolean,
  observer: boolean,
  logFile: string | undefined,
  env: NodeJS.ProcessEnv = ENV,
): Promise<{ out: string; log: string }> {
  // ERGO_OBSERVER_PORT=0: a free port for the Observer (read from its "observer: <url>" line).
  const child: ChildProcess = spawn('npm', ['start', '--', '--name', name, '--cookie', COOKIE, '--port', '0'], {
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
        reject(new Error(`npm start ended before the node was up (${r.code ?? r.signal}):\n${all().slice(-4000)}`)),
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
    assert.equal(r.code, 0, `npm start after SIGTERM: ${r.code ?? r.signal}\n${all().slice(-4000)}`);
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
