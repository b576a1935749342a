#!/usr/bin/env node
// The strict test run (issue 26): `node scripts/strict-test.mjs <node arguments>` runs
// `node <node arguments>` (a package's node:test command) with scripts/strict-preload.mjs loaded
// into it and into every Node process it starts (NODE_OPTIONS), then fails — whatever the tests
// reported — if any of those processes had an unhandled rejection or an uncaught exception
// (including an 'error' event nobody listened for), and prints each one with its process.
// A test that provokes one on purpose must run that code in a child with NODE_OPTIONS cleared
// (as the survival harness does).

import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const preload = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'strict-preload.mjs')).href;
const dir = mkdtempSync(join(tmpdir(), 'ergo-strict-'));
const env = {
  ...process.env,
  ERGO_STRICT_DIR: dir,
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${preload}`.trim(),
};
// Under scripts/run-tests.mjs (ERGO_TEST_FAILURES set), a second reporter writes the failed tests
// to a file of their own; they go to the run's list of failures (listFailures, below).
const failuresFile = process.env.ERGO_TEST_FAILURES;
const failedDir = mkdtempSync(join(tmpdir(), 'ergo-failed-'));
const run = spawnSync(process.execPath, nodeArguments(process.argv.slice(2)), { stdio: 'inherit', env });

const reports = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
rmSync(dir, { recursive: true, force: true });
listFailures(reports);
if (reports.length > 0) {
  process.stderr.write(
    `\nstrict test run: ${reports.length} process(es) had an unhandled rejection or uncaught exception:\n\n${reports.join('')}`,
  );
  process.exit(1);
}
if (run.error !== undefined) throw run.error;
process.exit(run.status ?? 1);

/** The node arguments, with the failures reporter beside the package's own when asked to list. */
function nodeArguments(argv) {
  if (failuresFile === undefined || !argv.includes('--test')) return argv;
  const isReporter = (a) => /^--test-reporter(=|$)/.test(a);
  const reporters = argv.filter(isReporter).length;
  const destinations = argv.filter((a) => a.startsWith('--test-reporter-destination')).length;
  // Node pairs reporters and destinations by position, and wants one each once there are two: the
  // package's own reporters write to stdout, the failures reporter (last) to its file.
  const added = [];
  if (reporters === 0) added.push('--test-reporter=spec');
  for (let i = destinations; i < Math.max(reporters, 1); i++) added.push('--test-reporter-destination=stdout');
  const reporter = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), 'failures-reporter.mjs')).href;
  added.push(`--test-reporter=${reporter}`, `--test-reporter-destination=${join(failedDir, 'failed.txt')}`);
  let at = argv.indexOf('--test');
  argv.forEach((a, i) => {
    if (a.startsWith('--test-reporter')) at = Math.max(at, i);
  });
  return [...argv.slice(0, at + 1), ...added, ...argv.slice(at + 1)];
}

/** Appends this run's failed tests, strict reports and abnormal end to ERGO_TEST_FAILURES. */
function listFailures(strictReports) {
  const file = join(failedDir, 'failed.txt');
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  rmSync(failedDir, { recursive: true, force: true });
  if (failuresFile === undefined) return;
  if (strictReports.length > 0) text += `strict test run:\n${strictReports.join('')}`;
  if (text === '' && run.status !== 0) text = `the test run ended with ${run.status ?? run.signal}\n\n`;
  if (text !== '') appendFileSync(failuresFile, `-- ${process.cwd()}\n${text}`);
}
