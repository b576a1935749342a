#!/usr/bin/env node
// `npm run check`: every gate CI runs before the tests, in order, each timed. A failing step does
// not hide the others: all run (except after a failed build, which the rest need, and after a
// failed pack, which the two packaging steps need), and the check fails at the end if any did.
// Steps: build, lint, format:check, docs, pack (scripts/pack.mjs, once, into a temporary folder),
// check:publish and check:docs (both on those tarballs).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const packDir = mkdtempSync(join(tmpdir(), 'ergo-ts-check-pack-'));
const packed = join(packDir, 'packed.json');
const npmRun = (script, ...args) => ['npm', ['run', '--silent', script, ...(args.length > 0 ? ['--', ...args] : [])]];
/** name, command, and the step whose failure makes it pointless (then it is not run). */
const steps = [
  { name: 'build', cmd: npmRun('build') },
  { name: 'lint', cmd: npmRun('lint'), needs: 'build' },
  { name: 'format:check', cmd: npmRun('format:check'), needs: 'build' },
  { name: 'docs', cmd: npmRun('docs'), needs: 'build' },
  { name: 'pack', cmd: [process.execPath, [join(root, 'scripts', 'pack.mjs'), packDir]], needs: 'build' },
  { name: 'check:publish', cmd: npmRun('check:publish', '--packed', packed), needs: 'pack' },
  { name: 'check:docs', cmd: npmRun('check:docs', '--packed', packed), needs: 'pack' },
];
const results = [];
try {
  for (const step of steps) {
    const needed = results.find((r) => r.step === step.needs);
    if (needed !== undefined && !needed.ok) {
      results.push({ step: step.name, ok: false, skipped: true, seconds: 0 });
      continue;
    }
    const started = Date.now();
    console.log(`\n== ${step.name}`);
    const r = spawnSync(step.cmd[0], step.cmd[1], { cwd: root, stdio: 'inherit' });
    results.push({ step: step.name, ok: r.status === 0, seconds: (Date.now() - started) / 1000 });
  }
} finally {
  rmSync(packDir, { recursive: true, force: true });
}
console.log('\n== check summary');
for (const r of results)
  console.log(
    `  ${r.ok ? 'ok     ' : r.skipped ? 'skipped' : 'FAILED '} ${r.step.padEnd(13)} ${r.seconds.toFixed(0).padStart(4)} s`,
  );
if (results.some((r) => !r.ok)) process.exit(1);
