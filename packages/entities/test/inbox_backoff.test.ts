// A poison durable message (its handler always throws as the inbox replays, so its key never
// activates) is tried again by the inbox sweeper with capped exponential backoff, not every scan
// (runtime/inbox_sweeper.ts), and redelivery's waits double up to their cap (runtime/redelivery.ts).
// The sweeper runs here on a test clock with a host whose activation of the key always fails:
// the test moves time a scan at a time and records when the key was tried. A failure because the
// store could not be reached (a failover) is not the key's: it grows no backoff (issue 89).

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { TestClock } from 'ergo-ts/testing';
import type { Log } from 'ergo-ts';

import { ErrStoreUnavailable } from '../src/contract/errors.js';
import { InboxSweeper, type SweeperHost } from '../src/runtime/inbox_sweeper.js';
import { Redelivery, redeliveryDelay } from '../src/runtime/redelivery.js';
import type { ActivateReply } from '../src/runtime/manager_protocol.js';

test('a key whose activation keeps failing is tried after 1, 2, 4 ... scans’ time, at most retryCapMs apart; logged once', async () => {
  const clock = new TestClock(0);
  let scans = 0;
  const tried: number[] = [];
  const warnings: string[] = [];
  const host: SweeperHost = {
    pendingInbox: () => {
      scans++;
      return Promise.resolve([{ kind: 'k', key: 'poison', oldestAcceptedAt: 1, count: 1 }]);
    },
    log: { warning: (f: string) => void warnings.push(f) } as unknown as Log,
    clock,
    shards: 1,
    hosts: () => true,
    owned: () => new Set([0]),
    active: () => false,
    activate: (): Promise<ActivateReply> => {
      tried.push(clock.now());
      return Promise.reject(new Error('the handler threw'));
    },
  };
  const sweeper = new InboxSweeper(host, { pollMs: 1000, retryCapMs: 8000 });
  sweeper.start();
  await eventually(() => sweeper.stats().failed === 1, 'the first try failed');
  for (let t = 1000; t <= 40_000; t += 1000) {
    clock.advance(1000);
    // Each second of the clock is one scan; a try it starts fails before the next one.
    await eventually(() => scans === t / 1000 + 1, `the scan at ${t} ms`);
    await eventually(() => sweeper.stats().failed === tried.length && sweeper.stats().inFlight === 0, 'the try failed');
  }
  sweeper.stop();
  // Waits of 1, 2, 4, 8 s, then 8 s (the cap) after each failure.
  assert.deepEqual(tried, [0, 1000, 3000, 7000, 15_000, 23_000, 31_000, 39_000]);
  assert.equal(warnings.length, 1);
});

test('a key whose activation failed because the store could not be reached is tried at the next scan; only its own failures back off', async () => {
  const clock = new TestClock(0);
  let scans = 0;
  const tried: number[] = [];
  const host: SweeperHost = {
    pendingInbox: () => {
      scans++;
      return Promise.resolve([{ kind: 'k', key: 'k1', oldestAcceptedAt: 1, count: 1 }]);
    },
    log: { warning: () => undefined } as unknown as Log,
    clock,
    shards: 1,
    hosts: () => true,
    owned: () => new Set([0]),
    active: () => false,
    activate: (): Promise<ActivateReply> => {
      tried.push(clock.now());
      // The store away for the first three tries (a failover), then the handler's own failure.
      const e =
        tried.length <= 3 ? ErrStoreUnavailable.with('the store cannot be reached') : new Error('the handler threw');
      return Promise.reject(e);
    },
  };
  const sweeper = new InboxSweeper(host, { pollMs: 1000, retryCapMs: 60_000 });
  sweeper.start();
  await eventually(() => sweeper.stats().failed === 1, 'the first try failed');
  for (let t = 1000; t <= 10_000; t += 1000) {
    clock.advance(1000);
    await eventually(() => scans === t / 1000 + 1, `the scan at ${t} ms`);
    await eventually(() => sweeper.stats().failed === tried.length && sweeper.stats().inFlight === 0, 'the try failed');
  }
  sweeper.stop();
  // Every scan while the store was away; then 1, 2, 4 s after the handler's own failures.
  assert.deepEqual(tried, [0, 1000, 2000, 3000, 4000, 6000, 10_000]);
});

test('redelivery of a message whose tries failed because the store could not be reached waits 1 s each time, not doubling', async () => {
  const clock = new TestClock(0);
  const sent: number[] = [];
  const r = new Redelivery({
    log: { warning: () => undefined } as unknown as Log,
    clock,
    stopped: () => false,
    send: () => {
      sent.push(clock.now());
      return sent.length <= 4
        ? Promise.reject(ErrStoreUnavailable.with('the store cannot be reached'))
        : Promise.resolve();
    },
  });
  r.redeliver('k', 'k1', new Map([['m1', 1]]));
  for (let n = 1; n <= 4; n++) {
    await eventually(() => sent.length === n, `try ${n}`);
    // Its failure handled (a timer armed): the clock moves to it.
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(1000);
  }
  await eventually(() => sent.length === 5, 'the fifth try');
  r.cancel();
  assert.deepEqual(sent, [0, 1000, 2000, 3000, 4000]);
});

test('redelivery waits 1, 2, 4 ... s between tries, at most 30 s', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 40].map((a) => redeliveryDelay(a)),
    [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000],
  );
});
