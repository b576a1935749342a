#!/usr/bin/env node
// The strict test run (issue 26): `node scripts/strict-test.mjs <node arguments>` runs
// `node <node arguments>` (a package's node:test command) with scripts/strict-preload.mjs loaded
// into it and into every Node process it starts (NODE_OPTIONS), then fails — whatever the tests
// reported — if any of those processes had an unhandled rejection or an uncaught exception
// (including an 'error' event nobody listened for), and prints each one with its process.
// A test that provokes one on purpose must run that code in a child with NODE_OPTIONS cleared
// (as the survival harness does).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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
const run = spawnSync(process.execPath, process.argv.slice(2), { stdio: 'inherit', env });

const reports = readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
rmSync(dir, { recursive: true, force: true });
if (reports.length > 0) {
  process.stderr.write(
    `\nstrict test run: ${reports.length} process(es) had an unhandled rejection or uncaught exception:\n\n${reports.join('')}`,
  );
  process.exit(1);
}
if (run.error !== undefined) throw run.error;
process.exit(run.status ?? 1);
