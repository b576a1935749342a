#!/usr/bin/env node
// `npm run check`: every gate CI runs before the tests, in order, each timed. A failing step does
// not hide the others: all run (except after a failed build, which the rest need), and the
// check fails at the end if any did. Steps: build, lint, format:check, docs, check:docs.
import { spawnSync } from 'node:child_process';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const steps = ['build', 'lint', 'format:check', 'docs', 'check:docs'];
const results = [];
for (const step of steps) {
  const started = Date.now();
  console.log(`\n== npm run ${step}`);
  const r = spawnSync('npm', ['run', '--silent', step], { cwd: root, stdio: 'inherit' });
  const ok = r.status === 0;
  results.push({ step, ok, seconds: (Date.now() - started) / 1000 });
  if (!ok && step === 'build') break;
}
console.log('\n== check summary');
for (const r of results)
  console.log(`  ${r.ok ? 'ok    ' : 'FAILED'} ${r.step.padEnd(13)} ${r.seconds.toFixed(0).padStart(4)} s`);
if (results.length < steps.length || results.some((r) => !r.ok)) process.exit(1);
