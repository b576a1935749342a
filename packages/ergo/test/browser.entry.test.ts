// ergo-ts/browser imported in Node: the browser entry's startNode runs the scenario of
// browser_scenario.ts (the one the Chromium page and Web Worker run), refuses the options it
// has no part for with a code, and its classes are the core's own (one core script per process).
// Also the browser bundle's gzip size against the budget docs/browser.md states.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as browser from '../src/browser.js';
import * as core from '../src/index.js';
import { browserScenario } from './browser_scenario.js';

/** The budget docs/browser.md states for dist/browser/ergo.js gzipped (scripts/bundle-browser.mjs). */
const BROWSER_GZIP_BUDGET = 72 * 1024;

test('the browser entry in Node: a node runs the scenario (call, send, link, monitor, event, supervisor)', async () => {
  const r = await browserScenario(browser, 'entry@localhost');
  assert.equal(r.call, 42);
  assert.equal(r.sent, 5);
  assert.equal(r.linkedEnded, 'link broke');
  assert.equal(r.down, 'bye');
  assert.deepEqual(r.events, [1, 2]);
  assert.notEqual(r.restart.after, r.restart.before);
  assert.equal(r.restart.reply, `pong from ${r.restart.after}`);
  assert.equal(r.networkRefused, 'ERR_UNSUPPORTED');
  assert.ok(r.processesBeforeStop >= 5, `processes: ${r.processesBeforeStop}`);
});

test('the browser entry refuses the network and simulateRemote options with ERR_UNSUPPORTED', async () => {
  await assert.rejects(browser.startNode('net@localhost', { network: {} }), { code: 'ERR_UNSUPPORTED' });
  await assert.rejects(browser.startNode('sim@localhost', { simulateRemote: true }), { code: 'ERR_UNSUPPORTED' });
  await assert.rejects(browser.startNode('no-host'), { code: 'ERR_INCORRECT' });
});

test('the browser entry starts no system application; its classes are the core entry’s', async () => {
  assert.equal(browser.PID, core.PID);
  assert.equal(browser.Actor, core.Actor);
  const node = await browser.startNode('bare@localhost');
  try {
    assert.deepEqual(node.applications(), []);
    // Node's startNode starts the system application (inspectors) by default.
    const full = await core.startNode('full@localhost');
    try {
      assert.notDeepEqual(full.applications(), []);
    } finally {
      await full.stop();
    }
  } finally {
    await node.stop();
  }
});

test('the browser bundle (dist/browser/ergo.js) stays under its gzip budget', (t) => {
  const file = fileURLToPath(new URL('../../dist/browser/ergo.js', import.meta.url));
  if (!existsSync(file)) {
    const why = `no ${file}: run npm run build (scripts/bundle-browser.mjs)`;
    if (process.env.CI === 'true') throw new Error(why);
    t.skip(why);
    return;
  }
  const bytes = readFileSync(file);
  const gzip = gzipSync(bytes, { level: 9 }).length;
  t.diagnostic(`ergo.js: ${bytes.length} bytes minified, ${gzip} gzip (budget ${BROWSER_GZIP_BUDGET})`);
  assert.ok(gzip <= BROWSER_GZIP_BUDGET, `${gzip} bytes gzip, over the budget of ${BROWSER_GZIP_BUDGET}`);
  // No Node built-in left in the bundle's imports (the build fails first; this guards a hand edit).
  assert.doesNotMatch(bytes.toString('utf8'), /from\s*"node:|import\("node:/);
});
