// Durations as Temporal writes them, and the failure converter: Temporal's failure classes through
// the form the journal keeps and back, their own fields and causes kept.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  RetryState,
  TimeoutFailure,
  TimeoutType,
  fromStored,
  msToNumber,
  toStorable,
} from '../src/common/index.js';

test("durations: ms, '5s', '1 minute', '2h', '1.5 days'; a bad one is refused with a code", () => {
  assert.equal(msToNumber(250), 250);
  assert.equal(msToNumber('5s'), 5_000);
  assert.equal(msToNumber('1 minute'), 60_000);
  assert.equal(msToNumber('1min'), 60_000);
  assert.equal(msToNumber('2h'), 7_200_000);
  assert.equal(msToNumber('1.5 days'), 129_600_000);
  assert.equal(msToNumber('1 millisecond'), 1);
  assert.throws(() => msToNumber('soon'), { code: 'ERR_TEMPORAL_INCORRECT' });
  assert.throws(() => msToNumber(-1), { code: 'ERR_TEMPORAL_INCORRECT' });
});

/** What the journal does to an error: keeps name, message, stack, details and cause, not the class. */
function throughJournal(e: unknown): Error {
  const x = e as Error & { details?: unknown };
  const cause = x.cause === undefined ? undefined : throughJournal(x.cause);
  const out = new Error(x.message, cause === undefined ? undefined : { cause });
  out.name = x.name;
  if (x.details !== undefined) (out as { details?: unknown }).details = structuredClone(x.details);
  return out;
}

test('a failure chain keeps its classes and fields through the journal', async () => {
  const inner = ApplicationFailure.create({
    message: 'card declined',
    type: 'Declined',
    nonRetryable: true,
    details: [42],
  });
  const outer = new ActivityFailure(
    'Activity task failed',
    'charge',
    'k1',
    RetryState.NON_RETRYABLE_FAILURE,
    undefined,
    inner,
  );
  const back = await fromStored(throughJournal(await toStorable(outer)));
  assert.ok(back instanceof ActivityFailure);
  assert.equal(back.activityType, 'charge');
  assert.equal(back.retryState, RetryState.NON_RETRYABLE_FAILURE);
  assert.ok(back.cause instanceof ApplicationFailure);
  assert.equal(back.cause.type, 'Declined');
  assert.equal(back.cause.nonRetryable, true);
  assert.deepEqual(back.cause.details, [42]);
  const t = await fromStored(
    throughJournal(await toStorable(new TimeoutFailure('late', undefined, TimeoutType.HEARTBEAT))),
  );
  assert.ok(t instanceof TimeoutFailure && t.timeoutType === TimeoutType.HEARTBEAT);
});

test("ergo-ts's own errors and plain errors come out as Temporal's classes", async () => {
  const cancel = Object.assign(new Error('workflow: cancelled'), { code: 'ERR_WORKFLOW_CANCELLED' });
  assert.ok((await fromStored(cancel)) instanceof CancelledFailure);
  const timeout = Object.assign(new Error('no heartbeat for 5000 ms'), { code: 'ERR_WORKFLOW_TIMEOUT' });
  const t = await fromStored(timeout);
  assert.ok(t instanceof TimeoutFailure && t.timeoutType === TimeoutType.HEARTBEAT);
  const plain = await fromStored(new TypeError('bad'));
  assert.ok(plain instanceof ApplicationFailure && plain.type === 'TypeError' && plain.message === 'bad');
});
