#!/usr/bin/env node
// The flake check: runs the whole test suite (scripts/run-tests.mjs) several times in a row with
// CPU hogs beside it — busy loops that take a core each, as a loaded CI machine or a neighbour's
// build would — and reports each run's result and time. A test that waits for turns or sleeps
// instead of its event fails here long before it fails in CI. Run after `npm run build`.
//
// Usage: node scripts/soak-tests.mjs [--runs N] [--hogs N] [run-tests arguments...]
// (defaults: 10 runs, 1 hog). Exits 1 if any run failed; each failed run's tail is kept in
// soak-failures/run-K.log.

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
let runs = 10;
let hogs = 1;
const passThrough = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--runs') runs = Number(argv[++i]);
  else if (argv[i] === '--hogs') hogs = Number(argv[++i]);
  else passThrough.push(argv[i]);
}
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(hogs) || hogs < 0) {
  console.error('usage: node scripts/soak-tests.mjs [--runs N] [--hogs N] [run-tests arguments...]');
  process.exit(2);
}

// A hog spins, and now and then checks that this script still runs: killed, it leaves none behind.
const HOG = `for (let i = 0; ; i++) if (i % 1e8 === 0 && process.ppid !== ${process.pid}) process.exit();`;
const hogProcs = Array.from({ length: hogs }, () => spawn(process.execPath, ['-e', HOG], { stdio: 'ignore' }));
const stopHogs = () => hogProcs.forEach((h) => h.kill('SIGKILL'));
process.on('exit', stopHogs);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(130));

const results = [];
for (let k = 1; k <= runs; k++) {
  const t0 = Date.now();
  const { code, output } = await runOnce();
  const seconds = (Date.now() - t0) / 1000;
  const closing = output.trimEnd().split('\n').at(-1) ?? '';
  results.push({ k, code, seconds, closing });
  console.log(`run ${k}/${runs}: ${code === 0 ? 'green' : 'RED'} in ${seconds.toFixed(0)} s — ${closing}`);
  if (code !== 0) {
    const dir = join(root, 'soak-failures');
    mkdirSync(dir, { recursive: true });
    const tail = output.slice(output.lastIndexOf('\n== slowest test files'));
    writeFileSync(
      join(dir, `run-${k}.log`),
      output
        .split('\n')
        .filter((l) => l.startsWith('FAIL'))
        .join('\n') +
        '\n' +
        tail,
    );
  }
}
stopHogs();
const red = results.filter((r) => r.code !== 0).length;
console.log(`\n${runs} runs with ${hogs} CPU hog(s): ${runs - red} green, ${red} red`);
process.exit(red === 0 ? 0 : 1);

function runOnce() {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(root, 'scripts', 'run-tests.mjs'), ...passThrough], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    child.on('close', (code) => done({ code: code ?? 1, output: Buffer.concat(chunks).toString('utf8') }));
  });
}
