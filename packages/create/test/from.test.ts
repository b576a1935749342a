// The quick start before the packages are on the registry: `create-ergo-ts --from <path>` makes a
// project that takes ergo-ts from this checkout (its built package folders, linked by npm) or from
// a folder of tarballs made by scripts/pack.mjs (`npm run pack`), with the generator itself run
// from its own tarball as `npx` would. Each project then runs `npm install` (only TypeScript and
// @types/node come from the registry), its build (`tsc -b`, the TypeScript it installed), its
// generated tests (`node --test`, the files in one process), and its node (`node
// dist/src/node.js`): the node comes up, SIGTERM stops it gracefully, exit code 0. What differs
// here is where the packages come from; the `npm test` and `npm start` scripts over the same
// commands are run by matrix.test.ts (its first set). No ergo-ts package may run an install script
// (npm 11 warns about each one on every install), and a packed manifest carries no monorepo scripts.

import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { packedTarballs } from '@ergo-ts/test-support';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CLI = fileURLToPath(new URL('../src/cli.js', import.meta.url));
/** Hang guards (a command that never ends fails the test instead of hanging the run). */
const COMMAND_LIMIT_MS = 240_000;
const UP_LIMIT_MS = 120_000;

// Nested runs must not think they are part of this one: npm's workspace run, node:test's
// child-process context (with it, the generated project's `node --test` would skip its files).
// Nor are they covered (NODE_V8_COVERAGE under c8): npm and tsc are not this repository's code.
const ENV: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) =>
      k !== 'NODE_TEST_CONTEXT' &&
      k !== 'NODE_V8_COVERAGE' &&
      !/^npm_(package_|lifecycle_|config_workspace|config_include_workspace)/i.test(k),
  ),
);

interface Run {
  code: number | string | null;
  out: string;
  stdout: string;
}

function exec(cmd: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), COMMAND_LIMIT_MS);
    child.on('error', (err) => {
      clearTimeout(guard);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code: code ?? signal, out, stdout });
    });
  });
}

async function ok(cmd: string, args: string[], cwd: string): Promise<Run> {
  const r = await exec(cmd, args, cwd);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')} in ${cwd} failed (${r.code}):\n${r.out.slice(-4000)}`);
  return r;
}

/** `npm install` in the project: no ergo-ts package asks npm to run an install script. */
async function install(dir: string): Promise<void> {
  const { out } = await ok('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], dir);
  assert.doesNotMatch(out, /install.scripts|\(prepare|\(postinstall|\(install/i, `npm install:\n${out}`);
}

/**
 * The project builds (its own tsc) and its tests pass; its node comes up, and SIGTERM stops it
 * with exit code 0. The commands of `npm test` and `npm start`, without an npm process around each
 * (and the test files in one process rather than one each: a second of CPU per file saved).
 */
async function testAndStart(dir: string, observer: boolean): Promise<void> {
  await ok('node', [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-b'], dir);
  const files = readdirSync(join(dir, 'test'))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join('dist', 'test', f.replace(/\.ts$/, '.js')));
  const tests = (await ok('node', ['--test', '--test-isolation=none', ...files], dir)).out;
  assert.match(tests, /^ℹ fail 0$/m, tests);
  assert.match(tests, /^ℹ skipped 0$/m, tests);
  assert.match(tests, /^ℹ pass [1-9]/m, tests);
  const name = `from_${process.pid}_${Math.random().toString(36).slice(2, 8)}@localhost`;
  const args = ['dist/src/node.js', '--name', name, '--cookie', 'from-cookie', '--port', '0'];
  const child: ChildProcess = spawn('node', args, {
    cwd: dir,
    env: { ...ENV, ERGO_OBSERVER_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | string | null>((resolve) =>
    child.on('close', (code, signal) => resolve(code ?? signal)),
  );
  let nodePid = 0;
  let guard: NodeJS.Timeout | undefined;
  try {
    const up = await new Promise<RegExpExecArray>((resolve, reject) => {
      const onData = (d: Buffer): void => {
        out += d.toString();
        const m = /is up \(pid (\d+)\)/.exec(out);
        if (m !== null) resolve(m);
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      guard = setTimeout(() => reject(new Error(`the node was not up after ${UP_LIMIT_MS} ms:\n${out}`)), UP_LIMIT_MS);
      void exited.then((code) => reject(new Error(`the node ended before it was up (${code}):\n${out}`)));
    });
    nodePid = Number(up[1]);
    if (observer) {
      const url = /observer: (http:\/\/\S+)/.exec(out);
      assert.ok(url !== null, `the node prints the Observer's URL:\n${out}`);
      const res = await fetch(`${url[1]!}/`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /<title>Ergo Observer<\/title>/, "the Observer's page (its built UI)");
    }
    process.kill(nodePid, 'SIGTERM');
    const code = await exited;
    nodePid = 0;
    assert.equal(code, 0, `the node after SIGTERM:\n${out}`);
    assert.match(out, /graceful shutdown/);
  } finally {
    clearTimeout(guard);
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

function dependencies(dir: string): Record<string, string> {
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> })
    .dependencies;
}

let tmp = '';

describe('create-ergo-ts --from: a project installs, tests and starts before the packages are on the registry', () => {
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'create-ergo-ts-from-'));
  });
  after(() => {
    if (tmp !== '' && process.env['KEEP_FROM'] !== '1') rmSync(tmp, { recursive: true, force: true });
  });

  test('from this checkout: the package folders, linked', { timeout: 480_000 }, async () => {
    const { out } = await ok(
      'node',
      [CLI, 'CheckoutNode', '--with-actor', 'MyActor', '--with-observer', '--from', ROOT],
      tmp,
    );
    assert.match(out, /ergo-ts comes from the clone in /);
    const dir = join(tmp, 'checkoutnode');
    const deps = dependencies(dir);
    assert.deepEqual(Object.keys(deps).sort(), ['@ergo-ts/observer', 'ergo-ts']);
    for (const spec of Object.values(deps)) assert.match(spec, /^file:\.\.\/.*packages\/(ergo|observer)$/);
    assert.match(readFileSync(join(dir, 'README.md'), 'utf8'), /Made with `--from`/);
    await install(dir);
    // Linked: the project runs the checkout's build itself.
    assert.ok(lstatSync(join(dir, 'node_modules', 'ergo-ts')).isSymbolicLink());
    assert.equal(realpathSync(join(dir, 'node_modules', 'ergo-ts')), realpathSync(join(ROOT, 'packages', 'ergo')));
    await testAndStart(dir, true);
  });

  test('from a folder of tarballs, with the generator run from its own tarball', { timeout: 480_000 }, async () => {
    // scripts/pack.mjs's tarballs, packed once for this file and matrix.test.ts when they run together.
    const packed = await packedTarballs(ROOT, join(tmp, 'pack'));
    const createTarball = packed['create-ergo-ts'];
    assert.ok(createTarball !== undefined, 'pack.mjs packed create-ergo-ts');
    const { out } = await ok(
      'npm',
      [
        'exec',
        '--yes',
        `--package=${createTarball}`,
        '--',
        'create-ergo-ts',
        'TarNode',
        '--with-actor',
        'MyActor',
        '--from',
        'pack',
      ],
      tmp,
    );
    assert.match(out, /ergo-ts comes from the tarballs in /);
    const dir = join(tmp, 'tarnode');
    assert.deepEqual(dependencies(dir), { 'ergo-ts': `file:../pack/${packed['ergo-ts']!.split(/[\\/]/).pop()!}` });
    await install(dir);
    // Installed as from the registry: a copy, whose manifest has no scripts and no dev dependencies.
    assert.ok(!lstatSync(join(dir, 'node_modules', 'ergo-ts')).isSymbolicLink());
    const manifest = JSON.parse(readFileSync(join(dir, 'node_modules', 'ergo-ts', 'package.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.equal(manifest['scripts'], undefined);
    assert.equal(manifest['devDependencies'], undefined);
    await testAndStart(dir, false);
  });
});
