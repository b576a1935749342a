// A poison durable message (its handler always throws as the inbox replays, so its key never
// activates) is tried again by the inbox sweeper with capped exponential backoff, not every scan
// (runtime/inbox_sweeper.ts), and redelivery's waits double up to their cap (runtime/redelivery.ts).
// The sweeper runs here on a test clock with a host whose activation of the key always fails:
// the test moves time a scan at a time and records when the key was tried.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { TestClock } from 'ergo-ts/testing';
import type { Log } from 'ergo-ts';

import { InboxSweeper, type SweeperHost } from '../src/runtime/inbox_sweeper.js';
import { redeliveryDelay } from '../src/runtime/redelivery.js';
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

test('redelivery waits 1, 2, 4 ... s between tries, at most 30 s', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 40].map((a) => redeliveryDelay(a)),
    [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000],
  );
});
