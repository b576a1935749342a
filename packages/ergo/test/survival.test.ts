// The survival harness itself: it must tell a process that lives from one that dies, so that
// the survival regression tests built on it can fail.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { survives } from './survival.js';

const SCENARIOS = new URL('./survival.scenarios.js', import.meta.url).href;

test('survival harness: a harmless scenario survives, answers calls and stops with exit 0', async () => {
  const out = await survives(SCENARIOS, 'harmless');
  assert.deepEqual(out.result, { reply: { echo: 'hello' } });
});

test('survival harness: an unhandled rejection in the child is reported as its death', async () => {
  await assert.rejects(survives(SCENARIOS, 'deadly'), /child OS process died \(exit code 1/);
});

test('survival harness: a scenario that throws is reported as such', async () => {
  await assert.rejects(survives(SCENARIOS, 'broken'), /the scenario threw: Error: scenario bug/);
});
