// The inbox sweeper (runtime/inbox_sweeper.ts) and a key whose lease another owner holds: it is
// tried again when that lease ends by the store's answer (its expiresAt, plus a small margin),
// not on the poison-message backoff (1, 2, 4, 8 s ... which overshot a 10 s lease to 15 s); and a
// key whose poison message was just moved to the dead letters is tried again at once. The sweeper
// runs on a test clock with a host whose activation answers as the test says; the test moves time
// and records when the key was tried.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';
import { TestClock } from 'ergo-ts/testing';
import type { Log } from 'ergo-ts';

import { InboxSweeper, LEASE_END_MARGIN_MS, type SweeperHost } from '../src/runtime/inbox_sweeper.js';
import { markDeadLettered } from '../src/runtime/host_runtime.js';
import type { ActivateReply } from '../src/runtime/manager_protocol.js';

function host(clock: TestClock, activate: () => Promise<ActivateReply>, tried: number[], warnings: string[]) {
  let scans = 0;
  const h: SweeperHost = {
    pendingInbox: () => {
      scans++;
      return Promise.resolve([{ kind: 'k', key: 'orphan', oldestAcceptedAt: 1, count: 1 }]);
    },
    log: { warning: (f: string) => void warnings.push(f) } as unknown as Log,
    clock,
    shards: 1,
    hosts: () => true,
    owned: () => new Set([0]),
    active: () => false,
    activate: () => {
      tried.push(clock.now());
      return activate();
    },
  };
  return { h, scans: () => scans };
}

test('a key whose lease is held until T is tried again at T plus the margin, not on the backoff; logged once', async () => {
  const clock = new TestClock(0);
  const tried: number[] = [];
  const warnings: string[] = [];
  // The lease of a killed owner, 10 s long, taken at 0: refused until it ends.
  const leaseEnd = 10_000;
  const { h } = host(
    clock,
    () =>
      Promise.resolve(
        clock.now() < leaseEnd
          ? { ok: false, holder: 'old@localhost#1', expiresAt: leaseEnd }
          : ({ ok: true } as ActivateReply),
      ),
    tried,
    warnings,
  );
  const sweeper = new InboxSweeper(h, { pollMs: 1000, retryCapMs: 60_000 });
  sweeper.start();
  await eventually(() => tried.length === 1 && sweeper.stats().inFlight === 0, 'the first try was refused');
  // Time moves a second at a time past the lease's end (each second one scan on the poll timer).
  for (let t = 1000; t <= 20_000; t += 1000) {
    clock.advance(1000);
    await eventually(() => sweeper.stats().inFlight === 0, `settled at ${t} ms`);
    if (sweeper.stats().activated === 1) break;
    // The wake at the lease's end is due inside this second: move to it.
    if (t === leaseEnd) {
      clock.advance(LEASE_END_MARGIN_MS);
      await eventually(() => sweeper.stats().activated === 1, 'activated at the lease’s end');
      break;
    }
  }
  sweeper.stop();
  // Before: tried at 0, 1000, 3000, 7000, then 15 000 (the backoff overshot the lease's end).
  assert.deepEqual(tried, [0, leaseEnd + LEASE_END_MARGIN_MS]);
  assert.equal(sweeper.stats().failed, 0, 'a held lease is not a failure');
  assert.equal(warnings.length, 1);
});

test('a lease answered as released (no holder, ended) is tried again after the margin alone', async () => {
  const clock = new TestClock(50_000);
  const tried: number[] = [];
  let refusals = 1;
  const { h } = host(
    clock,
    () => Promise.resolve(refusals-- > 0 ? { ok: false, holder: '', expiresAt: 0 } : ({ ok: true } as ActivateReply)),
    tried,
    [],
  );
  const sweeper = new InboxSweeper(h, { pollMs: 1000 });
  sweeper.start();
  await eventually(() => tried.length === 1 && sweeper.stats().inFlight === 0, 'the first try was refused');
  clock.advance(LEASE_END_MARGIN_MS);
  await eventually(() => sweeper.stats().activated === 1, 'tried again');
  sweeper.stop();
  assert.deepEqual(tried, [50_000, 50_000 + LEASE_END_MARGIN_MS]);
});

test('a key whose failing message was moved to the dead letters is tried again at once, not after the backoff', async () => {
  const clock = new TestClock(0);
  const tried: number[] = [];
  let n = 0;
  const { h } = host(
    clock,
    () => {
      n++;
      // The first activation fails and its message is moved; the next one runs without it.
      if (n === 1) return Promise.reject(markDeadLettered(new Error('the handler threw')) as Error);
      return Promise.resolve({ ok: true } as ActivateReply);
    },
    tried,
    [],
  );
  const sweeper = new InboxSweeper(h, { pollMs: 1000 });
  sweeper.start();
  await eventually(() => sweeper.stats().activated === 1, 'activated without waiting for the clock');
  sweeper.stop();
  assert.deepEqual(tried, [0, 0]);
});
