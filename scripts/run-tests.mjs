#!/usr/bin/env node
// `node scripts/run-tests.mjs <command...>` runs the command (the workspaces' tests) with
// ERGO_TEST_FAILURES naming a fresh file; each strict test run (scripts/strict-test.mjs) appends
// its failed tests there (scripts/failures-reporter.mjs). When the command ends, the failures are
// printed again, last, so the end of the output — all a truncated CI log may keep — names every
// failed test with its error. Exits with the command's status.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [cmd, ...args] = process.argv.slice(2);
if (cmd === undefined) {
  process.stderr.write('usage: node scripts/run-tests.mjs <command> [arguments...]\n');
  process.exit(2);
}
const dir = mkdtempSync(join(tmpdir(), 'ergo-failures-'));
const file = join(dir, 'failures.txt');
const run = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ERGO_TEST_FAILURES: file } });
const failures = existsSync(file) ? readFileSync(file, 'utf8') : '';
rmSync(dir, { recursive: true, force: true });
if (failures !== '') process.stdout.write(`\n== failed tests (repeated from above)\n\n${failures}`);
if (run.error !== undefined) throw run.error;
process.exit(run.status ?? 1);
