// Issue 26 items 3 and 6 for the WebSocket handler: a client resetting after a refused upgrade,
// and a checkOrigin that throws, must leave the node's OS process alive. The scenarios run in the
// ergo package's survival child (its harness is reused from its compiled test folder rather than
// copied: packages/ergo/dist/test/survival.js).

import assert from 'node:assert/strict';
import { test } from 'node:test';

interface SurvivalOutcome {
  result: unknown;
  stdout: string;
  stderr: string;
}
type Survives = (moduleUrl: string, exportName: string) => Promise<SurvivalOutcome>;

const HARNESS = new URL('../../../ergo/dist/test/survival.js', import.meta.url).href;
const { survives } = (await import(HARNESS)) as { survives: Survives };
const S = new URL('./survival.websocket.scenarios.js', import.meta.url).href;

test('websocket: an upgrade refused by checkOrigin, then a client reset, leaves the process alive', async () => {
  const out = await survives(S, 'refusedOriginReset');
  assert.deepEqual(out.result, { status: 'HTTP/1.1 403 Forbidden' });
});

test('websocket: an upgrade for a path not served, then a client reset, leaves the process alive', async () => {
  const out = await survives(S, 'refusedPathReset');
  assert.deepEqual(out.result, { status: 'HTTP/1.1 404 Not Found' });
});

test('websocket: a checkOrigin that throws refuses that upgrade (403, logged); others still connect', async () => {
  const out = await survives(S, 'checkOriginThrows');
  assert.deepEqual(out.result, { refused: 'Unexpected server response: 403', accepted: 'opened' });
  assert.match(out.stdout, /checkOrigin threw \(upgrade refused\)/);
});

test('websocket: an oversized Ping is dropped and a Close with a reason over 123 bytes closes with 1000; the meta does not panic', async () => {
  const out = await survives(S, 'closeReasonTooLong');
  assert.deepEqual(out.result, { code: 1000 });
});
