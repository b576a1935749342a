// Errors the framework builds on someone else's behalf carry no stack trace (issue 24 §2: V8's
// stack capture was the largest cost of a remote monitor's down and of an exit signal): a
// reason decoded from the wire, the ExitReason of an untrapped exit signal. `stackless` restores
// Error.stackTraceLimit, so the user's own errors keep their frames.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { ErrTimeout, ExitReason, MessageExitPID, PID } from '../src/index.js';
import { stackless } from '../src/lib/stackless.js';
import { exitReason } from '../src/act/handling.js';
import { roundTrip } from '../src/net/index.js';

/** The "    at ..." lines of an error's stack. */
function frames(e: unknown): string[] {
  assert.ok(e instanceof Error);
  return (e.stack ?? '').split('\n').filter((l) => l.trimStart().startsWith('at '));
}

test('stackless builds a real Error without frames and restores the limit', () => {
  const limit = Error.stackTraceLimit;
  const e = stackless(() => new Error('from a peer'));
  assert.ok(e instanceof Error);
  assert.equal(e.message, 'from a peer');
  assert.deepEqual(frames(e), []);
  assert.equal(Error.stackTraceLimit, limit);
  assert.ok(frames(new Error('mine')).length > 0, 'a later error of the user keeps its frames');
});

test('stackless restores the limit when the builder throws', () => {
  const limit = Error.stackTraceLimit;
  assert.throws(
    () =>
      stackless(() => {
        throw new TypeError('boom');
      }),
    TypeError,
  );
  assert.equal(Error.stackTraceLimit, limit);
});

test('a decoded error text has no frames; a registered sentinel is still the sentinel', () => {
  const decoded = roundTrip(new Error('peer says no'));
  assert.ok(decoded instanceof Error);
  assert.equal(decoded.message, 'peer says no');
  assert.deepEqual(frames(decoded), []);
  assert.equal(roundTrip(ErrTimeout), ErrTimeout);
});

test("an exit signal's ExitReason has no frames and keeps Ergo's text and the cause", () => {
  const from = new PID('a@localhost', 1001, 1);
  const reason = new Error('done');
  const r = exitReason(new MessageExitPID(from, reason));
  assert.ok(r instanceof ExitReason);
  assert.equal(r.message, `${from.toString()}: done`);
  assert.equal(r.reason, reason);
  assert.deepEqual(frames(r), []);
});
