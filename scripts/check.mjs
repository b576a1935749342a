#!/usr/bin/env node
// `npm run check`: every gate CI runs before the tests, in order, each timed. A failing step does
// not hide the others: all run (except after a failed build, which the rest need, and after a
// failed pack, which the two packaging steps need), and the check fails at the end if any did.
// Independent steps run side by side. Steps: build, layers (scripts/check-layers.mjs), lint, format:check, docs, check:types (every
// package's type-level tests, scripts/check-types.mjs), pack (scripts/pack.mjs, once, into a
// temporary folder; with ERGO_PACK_DIR, scripts/pack-shared.mjs: one pack shared with the test
// run), check:publish and check:docs (both on those tarballs).
// Usage: node scripts/check.mjs [--skip STEP]... — a skipped step is one the caller runs itself
// (CI runs format:check beside the build, which it does not need: .ci/run).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const packDir = mkdtempSync(join(tmpdir(), 'ergo-ts-check-pack-'));
const packed = join(packDir, 'packed.json');
const npmRun = (script, ...args) => ['npm', ['run', '--silent', script, ...(args.length > 0 ? ['--', ...args] : [])]];
/** name, command, the step whose failure makes it pointless (then it is not run), and whether it runs at full priority. */
const allSteps = [
  { name: 'build', cmd: npmRun('build') },
  { name: 'layers', cmd: [process.execPath, [join(root, 'scripts', 'check-layers.mjs')]] },
  { name: 'lint', cmd: npmRun('lint'), needs: 'build', critical: true },
  { name: 'format:check', cmd: npmRun('format:check'), needs: 'build' },
  { name: 'docs', cmd: npmRun('docs', '--check'), needs: 'build' },
  { name: 'check:types', cmd: npmRun('check:types'), needs: 'build' },
  {
    name: 'pack',
    // With ERGO_PACK_DIR (CI), the pack the test run makes too, made once for both.
    cmd: [
      process.execPath,
      [join(root, 'scripts', process.env.ERGO_PACK_DIR ? 'pack-shared.mjs' : 'pack.mjs'), packDir],
    ],
    needs: 'build',
  },
  { name: 'check:publish', cmd: npmRun('check:publish', '--packed', packed), needs: 'pack' },
  { name: 'check:docs', cmd: npmRun('check:docs', '--packed', packed), needs: 'pack' },
];
const skip = [];
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i + 1];
  if (process.argv[i] !== '--skip' || name === undefined) {
    console.error('usage: node scripts/check.mjs [--skip STEP]...');
    process.exit(2);
  }
  // Only a step no other step needs: skipping the build or the pack would skip what follows them.
  if (!allSteps.some((s) => s.name === name) || allSteps.some((s) => s.needs === name)) {
    console.error(`check: --skip ${name}: not a step, or one others need`);
    process.exit(2);
  }
  skip.push(name);
}
const steps = allSteps.filter((s) => !skip.includes(s.name));
// Steps whose prerequisite has passed run side by side (at most PARALLEL at once: lint and the
// docs check are each busy on a core), each one's output held and printed whole when it ends.
// Lint is the longest step and runs on one thread: the others run at a lower CPU priority (nice
// 10), so lint keeps a core and the rest share what is left, instead of lint ending last, alone,
// with a core idle beside it (on two cores the check took 130-150 s, lint 116-142 s of it).
const NICE = existsSync('/usr/bin/nice') ? '/usr/bin/nice' : undefined;
const PARALLEL = 3;
const results = [];
const t0 = Date.now();
try {
  await runSteps();
} finally {
  rmSync(packDir, { recursive: true, force: true });
}
console.log('\n== check summary');
for (const r of results)
  console.log(
    `  ${r.ok ? 'ok     ' : r.skipped ? 'skipped' : 'FAILED '} ${r.step.padEnd(13)} ${r.seconds.toFixed(0).padStart(4)} s`,
  );
for (const name of skip) console.log(`  -       ${name.padEnd(13)} (--skip: run by the caller)`);
if (results.some((r) => !r.ok)) process.exit(1);
console.log(`  total ${((Date.now() - t0) / 1000).toFixed(0)} s`);

/** Runs every step once its prerequisite is done (a failed one skips the steps that need it). */
function runSteps() {
  const pending = [...steps];
  let running = 0;
  return new Promise((done) => {
    const next = () => {
      for (let i = 0; i < pending.length && running < PARALLEL;) {
        const step = pending[i];
        const needed = step.needs === undefined ? undefined : results.find((r) => r.step === step.needs);
        if (step.needs !== undefined && needed === undefined) {
          i++; // its prerequisite has not ended yet
          continue;
        }
        pending.splice(i, 1);
        if (needed !== undefined && !needed.ok) {
          results.push({ step: step.name, ok: false, skipped: true, seconds: 0 });
          continue;
        }
        running++;
        runStep(step).then((r) => {
          running--;
          results.push(r);
          next();
        });
      }
      if (running === 0 && pending.length === 0) {
        results.sort((a, b) => steps.findIndex((s) => s.name === a.step) - steps.findIndex((s) => s.name === b.step));
        done();
      }
    };
    next();
  });
}

/** One step, its output collected and printed when it ends; never rejects. */
function runStep(step) {
  const started = Date.now();
  return new Promise((done) => {
    const [cmd, args] =
      step.critical || NICE === undefined ? step.cmd : [NICE, ['-n', '10', step.cmd[0], ...step.cmd[1]]];
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    child.on('error', (err) => chunks.push(Buffer.from(`could not start: ${err.message}\n`)));
    child.on('close', (status) => {
      const seconds = (Date.now() - started) / 1000;
      const out = Buffer.concat(chunks).toString('utf8').trimEnd();
      console.log(`\n== ${step.name} (${seconds.toFixed(0)} s)${out === '' ? '' : `\n${out}`}`);
      done({ step: step.name, ok: status === 0, seconds });
    });
  });
}
