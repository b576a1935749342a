// The test run's warning filter (test/warnings_preload.ts, loaded by the package's `test` script)
// must hide only node:test's MockTimers ExperimentalWarning: a child Node with the preload uses
// mock timers and emits other warnings, and every other warning still reaches stderr.

import { strict as assert } from 'node:assert';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';

import { runScript } from './helpers.js';

const PRELOAD = fileURLToPath(new URL('./warnings_preload.js', import.meta.url));

it('hides the MockTimers ExperimentalWarning and shows every other warning', async () => {
  const script = `
    import { mock } from 'node:test';
    mock.timers.enable({ apis: ['setTimeout'] });
    mock.timers.reset();
    process.emitWarning('The MockTimers API is an experimental feature (emitted again)', 'ExperimentalWarning');
    process.emitWarning('another experimental feature', 'ExperimentalWarning');
    process.emitWarning('an old API', { type: 'DeprecationWarning', code: 'DEP_TEST' });
    process.emitWarning('The MockTimers API is an experimental feature, but a plain warning');
  `;
  const { code, stderr } = await runScript(script, ['--import', PRELOAD]);
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /ExperimentalWarning: The MockTimers API/);
  assert.match(stderr, /ExperimentalWarning: another experimental feature/);
  assert.match(stderr, /\[DEP_TEST\] DeprecationWarning: an old API/);
  assert.match(stderr, /Warning: The MockTimers API is an experimental feature, but a plain warning/);
});
