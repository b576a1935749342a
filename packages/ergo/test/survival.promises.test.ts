// Issue 26 items 1, 2 and 7: deliveries whose Promise nobody can observe, and Promises the
// framework returns that the user ignores, must never end the OS process. Each scenario runs in
// a child OS process with Node's default unhandled-rejection mode (survival.ts), which must stay
// alive, keep answering calls and stop cleanly. The scenarios (each starts and stops its own
// nodes) run one after another in ONE child, which must pass that check after each of them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { survivesEach, type SurvivalOutcome } from './survival.js';

const S = new URL('./survival.promises.scenarios.js', import.meta.url).href;

/** A guard against a scenario that never finishes (not a timing threshold: each takes ~1 s). */
const HANG = { timeout: 120_000 };

const item1 = ['importantSendToUnknownName', 'importantDeliveryPlainSend', 'importantDeliverySendAfter'];

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
// Every scenario of this file, in the order of its tests, in one child started now.
const outcomes = survivesEach(S, [
  ...item1,
  'nodeImportantSendNoRoute',
  'lateImportantReplyToRemoteCaller',
  ...ignored,
]);
/** The outcome of scenario `name` (a name not run is an error, never a vacuous pass). */
function outcome(name: string): Promise<SurvivalOutcome> {
  const p = outcomes[name];
  if (p === undefined) throw new Error(`scenario ${name} was not run`);
  return p;
}

/** What remoteSend-style scenarios resolve with. */
interface Warned {
  line: string;
  warnings?: number;
}

for (const name of item1) {
  test(`item 1: ${name}: the failed delivery is logged once at warning, with target and reason`, HANG, async () => {
    const { result } = await outcome(name);
    const r = result as Warned;
    assert.match(r.line, /nobody/);
    assert.match(r.line, /ERR_PROCESS_UNKNOWN|unknown/i);
    assert.equal(r.warnings, 1);
  });
}

test('item 1: node.send with important delivery to an unreachable node is logged, not fatal', HANG, async () => {
  const { result } = await outcome('nodeImportantSendNoRoute');
  assert.match((result as Warned).line, /ghost@host/);
});

test('item 2: a late important reply to a remote caller that timed out is logged, not fatal', HANG, async () => {
  const { result } = await outcome('lateImportantReplyToRemoteCaller');
  const r = result as Warned & { err: string };
  assert.equal(r.err, 'ERR_TIMEOUT');
  assert.match(r.line, /ignored|ERR_RESPONSE_IGNORED/i);
});

for (const name of ignored) {
  test(`item 7: ${name}: an ignored failing Promise is logged at debug and never ends the process`, HANG, async () => {
    await outcome(name);
  });
}
