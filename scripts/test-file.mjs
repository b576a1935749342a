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
// Once every test has ended, the process should end too: something still holding the event loop
// (a child process, a socket, a timer a fixture left) would keep it to the runner's file limit
// (600 s) with no report, as node:test reports only when the loop drains. So when every
// top-level test (suites included) has completed and LINGER_MS pass with none started, the file
// fails, naming what is still open.
const LINGER_MS = Number(process.env.ERGO_TEST_LINGER_MS ?? 60_000);
let pending = 0;
let linger;
const watchLinger = () => {
  clearTimeout(linger);
  if (pending > 0) return;
  linger = setTimeout(() => {
    const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
    process.stderr.write(
      `\ntest-file: every test of ${file} ended ${LINGER_MS / 1000} s ago, but the process did not exit; still open: ${open.join(', ')}\n`,
    );
    process.exit(1);
  }, LINGER_MS);
  linger.unref();
};
stream.on('test:enqueue', (data) => {
  if (data.nesting === 0) (pending++, watchLinger());
});
stream.on('test:complete', (data) => {
  if (data.nesting === 0) (pending--, watchLinger());
});
// node:test's reporters are either Transform classes (spec) or async generators (ours).
const Spec = spec;
stream.compose(typeof Spec.prototype?._transform === 'function' ? new Spec() : Spec).pipe(process.stdout);
stream.compose(summaryReporter).pipe(createWriteStream(summaryFile));
