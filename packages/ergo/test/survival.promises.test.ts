// Issue 26 items 1, 2 and 7: deliveries whose Promise nobody can observe, and Promises the
// framework returns that the user ignores, must never end the OS process. Each scenario runs in
// a child OS process with Node's default unhandled-rejection mode (survival.ts), which must stay
// alive, keep answering calls and stop cleanly.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { survives } from './survival.js';

const S = new URL('./survival.promises.scenarios.js', import.meta.url).href;

/** A guard against a scenario that never finishes (not a timing threshold: each takes ~1 s). */
const HANG = { timeout: 120_000 };

/** What remoteSend-style scenarios resolve with. */
interface Warned {
  line: string;
  warnings?: number;
}

for (const name of ['importantSendToUnknownName', 'importantDeliveryPlainSend', 'importantDeliverySendAfter']) {
  test(`item 1: ${name}: the failed delivery is logged once at warning, with target and reason`, HANG, async () => {
    const { result } = await survives(S, name);
    const r = result as Warned;
    assert.match(r.line, /nobody/);
    assert.match(r.line, /ERR_PROCESS_UNKNOWN|unknown/i);
    assert.equal(r.warnings, 1);
  });
}

test('item 1: node.send with important delivery to an unreachable node is logged, not fatal', HANG, async () => {
  const { result } = await survives(S, 'nodeImportantSendNoRoute');
  assert.match((result as Warned).line, /ghost@host/);
});

test('item 2: a late important reply to a remote caller that timed out is logged, not fatal', HANG, async () => {
  const { result } = await survives(S, 'lateImportantReplyToRemoteCaller');
  const r = result as Warned & { err: string };
  assert.equal(r.err, 'ERR_TIMEOUT');
  assert.match(r.line, /ignored|ERR_RESPONSE_IGNORED/i);
});

const ignored = [
  'ignoredCallTimeout',
  'ignoredRemoteCallNodeDown',
  'ignoredRemoteSpawn',
  'ignoredEventSubscriptions',
  'ignoredSpawnFailingInit',
  'ignoredSpawnFailingAtOnce',
  'ignoredResponseImportant',
  'ignoredImmediateRejections',
  'ignoredNetworkRequests',
];
for (const name of ignored) {
  test(`item 7: ${name}: an ignored failing Promise is logged at debug and never ends the process`, HANG, async () => {
    await survives(S, name);
  });
}
