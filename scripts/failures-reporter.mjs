// A node:test reporter that writes only the failed tests, each with its error (the cause node:test
// wraps, its stack cut to a few lines). scripts/strict-test.mjs adds it beside the spec reporter,
// with a file as its destination, so that a test run can repeat its failures at the very end of
// its output (scripts/run-tests.mjs): a CI log that keeps only its tail still says what failed.

const STACK_LINES = 12;

function describeError(err) {
  // node:test reports ERR_TEST_FAILURE; the test's own error is its cause.
  const e = err?.code === 'ERR_TEST_FAILURE' && err.cause !== undefined ? err.cause : err;
  if (e instanceof Error || (typeof e === 'object' && e !== null && 'message' in e)) {
    const text = String(e.stack ?? `${e.name ?? 'Error'}: ${e.message}`);
    return text.split('\n').slice(0, STACK_LINES).join('\n');
  }
  return String(e);
}

/** Yields one block per failed test; suites that failed only through their tests are left out. */
export default async function* failuresReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:fail') continue;
    const { name, file, details } = event.data;
    if (details?.error?.failureType === 'subtestsFailed') continue;
    const where = file !== undefined ? `${file}\n  ` : '';
    const body = describeError(details?.error).replace(/\n/g, '\n    ');
    yield `✖ ${where}${name}\n    ${body}\n\n`;
  }
}
