// A side effect runs only with its activation's lease fresh at the moment it is called (issue 89):
// the lease is checked in the same turn as the call, and confirmed again while it is not. The fault
// checker, on a host loaded with 40 busy loops, found first steps delivered 4–7 s after another
// member had taken their instances over: the awaited check before the attempt had passed, and its
// continuation ran seconds later behind other runs' queued work on a starved CPU.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { withFreshLease } from '../src/workflow/body/effects.js';
import { RunEnded } from '../src/workflow/model/run_host.js';

test('an effect is called in the same turn as a fresh lease check, nothing between them', async () => {
  let confirms = 0;
  let called = false;
  const p = withFreshLease(
    {
      leaseFresh: () => true,
      confirmLease: () => {
        confirms++;
        return Promise.resolve();
      },
    },
    () => {
      called = true;
      return 'done';
    },
  );
  assert.equal(called, true, 'called before withFreshLease returned');
  assert.equal(await p, 'done');
  assert.equal(confirms, 0, 'no store asked while fresh');
});

test('a lease gone stale since the attempt’s check is confirmed again before the effect, and checked once more after', async () => {
  // Stale at the call; the first renewal's answer comes late (stale again by then), the second holds.
  const fresh = [false, false, true];
  const seen: string[] = [];
  const out = await withFreshLease(
    {
      leaseFresh: () => {
        const f = fresh.shift() ?? true;
        seen.push(f ? 'fresh' : 'stale');
        return f;
      },
      confirmLease: () => {
        seen.push('confirm');
        return Promise.resolve();
      },
    },
    () => {
      seen.push('effect');
      return 42;
    },
  );
  assert.equal(out, 42);
  assert.deepEqual(seen, ['stale', 'confirm', 'stale', 'confirm', 'fresh', 'effect']);
});

test('a lease that cannot be confirmed ends the run and the effect is never called', async () => {
  let called = false;
  const err = await withFreshLease(
    { leaseFresh: () => false, confirmLease: () => Promise.reject(new RunEnded('its lease could not be confirmed')) },
    () => {
      called = true;
    },
  ).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof RunEnded);
  assert.equal(called, false);
});
