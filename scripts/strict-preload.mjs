// The strict test run's preload (issue 26): loaded into every Node process of a test run through
// NODE_OPTIONS by scripts/run-tests.mjs — each test file's process (scripts/test-file.mjs) and
// every node child a test forks or spawns with the inherited environment (fixtures, dist nodes).
// It records each unhandled rejection and each uncaught exception (an 'error' event without a
// listener is one) into the run's report directory; strict-test.mjs fails the run if any was
// recorded, even when the process that saw it went on (node:test only prints some of them, and
// a child's death may go unnoticed by the test that started it).
//
// It changes no behaviour: uncaught exceptions are only observed (uncaughtExceptionMonitor); an
// unhandled rejection in a process where nobody else listens for them is rethrown, which is
// Node's default ('throw' mode), as adding a listener would otherwise switch that off.

import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.ERGO_STRICT_DIR;
const seen = new WeakSet();

function record(kind, err) {
  if (typeof err === 'object' && err !== null) {
    if (seen.has(err)) return;
    seen.add(err);
  }
  const what = err instanceof Error ? (err.stack ?? err.message) : String(err);
  const text = `${kind} in process ${process.pid} (node ${process.argv.slice(1).join(' ')}):\n${what}\n\n`;
  if (dir === undefined) return;
  try {
    appendFileSync(join(dir, `${process.pid}.log`), text);
  } catch {
    // The report directory is gone (the run ended): nothing left to tell.
  }
}

process.on('uncaughtExceptionMonitor', (err, origin) => record(origin, err));

process.on('unhandledRejection', (reason) => {
  record('unhandledRejection', reason);
  // Alone (no test runner, no test's own listener): keep Node's default and end the process.
  if (process.listenerCount('unhandledRejection') === 1) throw reason;
});
