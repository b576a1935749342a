// A gateway that refuses a tab's WebSocket upgrade with HTTP (issue 93): its own server answers
// 408 when no request came within `upgradeTimeout` of its loop's free time (503 with Retry-After
// when the loop overran that wait), before any WebSocket exists. A browser sees that only as a
// socket closed before it opened (1006), and the tab reported ERR_TAB_FRAME ("closed before the
// welcome") and gave up. A socket that closes before its welcome with no refusal frame is now a
// busy gateway's (ERR_TAB_BUSY): the tab, light or full, dials again with jittered backoff until its
// `joinTimeout`, and a join past it rejects with ERR_TAB_BUSY. Here a proxy withholds the requests
// of the first sockets, so the gateway's wait passes and it answers them 408 (or 503).
// tabs.light.chromium.test.ts does the same in a real page.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { within } from '@ergo-ts/test-support';

import { joinGateway } from '../src/index.js';
import { joinLight } from '../src/light/index.js';
import { gatewayNode, quiet, withholdingProxy } from './helpers.js';

/** The gateway's log line of an upgrade it refused for want of a request. */
const NO_REQUEST = /tab socket \(.*\): no request within 100 ms/;

test('a light tab whose first two upgrades are refused with HTTP dials again by itself and joins', async (t) => {
  const { gw, lines } = await gatewayNode(t, { upgradeTimeout: 100 });
  const proxy = await withholdingProxy(t, Number(new URL(gw.url).port), 2);
  const tab = await within(joinLight({ url: proxy.url('/tabs'), token: 't' }), 'the join', 30_000);
  t.after(() => tab.leave());
  assert.ok(tab.connected);
  assert.equal(proxy.connections(), 3, 'two upgrades refused, the third joined');
  assert.equal(lines.count(NO_REQUEST), 2, 'the gateway refused two upgrades');
  assert.equal(gw.tabs().length, 1);
});

test('a full tab the same', async (t) => {
  const { gw, lines } = await gatewayNode(t, { upgradeTimeout: 100 });
  const proxy = await withholdingProxy(t, Number(new URL(gw.url).port), 1);
  const tab = await within(
    joinGateway({ url: proxy.url('/tabs'), token: 't', node: quiet(), reconnect: false }),
    'the join',
    30_000,
  );
  t.after(() => tab.leave());
  assert.equal(proxy.connections(), 2);
  assert.equal(lines.count(NO_REQUEST), 1);
  assert.ok(tab.connected);
});

test('past its joinTimeout a join whose upgrades are refused rejects with ERR_TAB_BUSY (joinTimeout 0: one try)', async (t) => {
  const { gw, lines } = await gatewayNode(t, { upgradeTimeout: 100 });
  const proxy = await withholdingProxy(t, Number(new URL(gw.url).port), Infinity);
  await assert.rejects(
    within(joinLight({ url: proxy.url('/tabs'), token: 't', joinTimeout: 0 }), 'the light join', 30_000),
    { code: 'ERR_TAB_BUSY' },
  );
  assert.equal(proxy.connections(), 1);
  await assert.rejects(
    within(joinGateway({ url: proxy.url('/tabs'), token: 't', node: quiet(), joinTimeout: 0 }), 'the join', 30_000),
    { code: 'ERR_TAB_BUSY' },
  );
  assert.equal(proxy.connections(), 2);
  await lines.until(() => lines.count(NO_REQUEST) === 2, 'both refusals logged');
  assert.equal(gw.tabs().length, 0);
});
