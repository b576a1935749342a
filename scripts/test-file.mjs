// One test file's process for scripts/run-tests.mjs: runs the file with node:test's run() in this
// very process (isolation 'none'), the spec reporter on stdout and the summary reporter
// (test-reporter.mjs) into the file the runner reads.
//
// Why not `node --test file`: that is two Node processes per file (the runner and the file's own),
// and the first does nothing but relay events; at ~0.3 CPU-s a start, that is over a minute of CPU
// per suite run on a 2-core CI machine. Why not `node --test --test-isolation=none file`: the
// file's process would then have `--test` in its execArgv, and every node a test forks inherits
// execArgv (child_process.fork's default), so the fixtures' nodes would start as test runs.
// Here execArgv holds only the workspace's `--import`s, as the file's process had before.
//
// The file still has a process of its own: an unhandled rejection or uncaught exception that the
// strict preload records fails this file and no other.
//
// Usage: node [--import M]... scripts/test-file.mjs FILE SUMMARY_FILE

import { createWriteStream } from 'node:fs';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import summaryReporter from './test-reporter.mjs';

const [file, summaryFile] = process.argv.slice(2);
if (file === undefined || summaryFile === undefined) {
  console.error('usage: node scripts/test-file.mjs FILE SUMMARY_FILE');
  process.exit(2);
}

const stream = run({ files: [file], isolation: 'none' });
// As `node --test` does: a failed run (a failed test, a file that could not load) sets the code.
stream.on('test:summary', (data) => {
  if (!data.success) process.exitCode = 1;
});
// node:test's reporters are either Transform classes (spec) or async generators (ours).
const Spec = spec;
stream.compose(typeof Spec.prototype?._transform === 'function' ? new Spec() : Spec).pipe(process.stdout);
stream.compose(summaryReporter).pipe(createWriteStream(summaryFile));
