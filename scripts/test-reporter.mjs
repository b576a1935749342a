// A node:test reporter that writes one JSON summary of a test file's run for scripts/run-tests.mjs:
// how many tests passed, failed, were skipped, todo or cancelled, each skip with its reason, and
// each failure with its error (the cause node:test wraps, its stack cut to a few lines). The spec
// reporter beside it writes what a person reads; this one is what the runner counts and repeats
// at the very end of its output, so a CI log that keeps only its tail still says what failed.

import { inspect } from 'node:util';

const STACK_LINES = 12;

function describeError(err) {
  // node:test reports ERR_TEST_FAILURE; the test's own error is its cause.
  const e = err?.code === 'ERR_TEST_FAILURE' && err.cause !== undefined ? err.cause : err;
  let text;
  if (typeof e?.stack === 'string') text = e.stack;
  else if (typeof e?.message === 'string') text = `${typeof e.name === 'string' ? e.name : 'Error'}: ${e.message}`;
  // Anything else (a value deserialized from the test's process may have no prototype, so
  // String() would throw) is shown the way Node shows it.
  else text = inspect(e, { depth: 3 });
  return text.split('\n').slice(0, STACK_LINES).join('\n');
}

/** Yields a single JSON line when the run ends. */
export default async function* summaryReporter(source) {
  const s = { tests: 0, pass: 0, fail: 0, skipped: 0, todo: 0, cancelled: 0, skips: [], failures: [] };
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, details, skip, todo } = event.data;
    // Suites are counted through their tests, as node:test's own summary does; a suite that failed
    // on its own (a hook that threw) is still a failure to report.
    const isSuite = details?.type === 'suite';
    if (event.type === 'test:fail') {
      const error = details?.error;
      if (error?.failureType === 'subtestsFailed') continue;
      if (error?.failureType === 'cancelledByParent') {
        s.cancelled++;
        continue;
      }
      if (!isSuite) s.tests++;
      s.fail++;
      s.failures.push(`✖ ${name}\n    ${describeError(error).replace(/\n/g, '\n    ')}`);
      continue;
    }
    if (isSuite) continue;
    s.tests++;
    if (skip !== undefined && skip !== false) {
      s.skipped++;
      s.skips.push(typeof skip === 'string' ? `${name}: ${skip}` : name);
    } else if (todo !== undefined && todo !== false) s.todo++;
    else s.pass++;
  }
  yield JSON.stringify(s) + '\n';
}
