// A singleton projection's lease (projection/singleton_lease.ts) is taken over at once from a
// runner declared dead only when the store says that runner is gone — its liveness claim released
// (contract/liveness.ts) — as a key's lease is (runtime/leases.ts): a runner whose node was
// declared down while its process lives (paused past failure detection, cut off from its peers but
// not from the store) keeps its lease until it runs out, and writes nothing under a stale token.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { UnhandledWatch } from '@ergo-ts/test-support';
import { startNode } from 'ergo-ts';

import { SqliteStore } from '../src/index.js';
import { PROJECTION_LEASE_KIND, SingletonLease } from '../src/projection/singleton_lease.js';

const watch = new UnhandledWatch('@ergo-ts/entities projection liveness');
before(() => watch.start());
after(() => watch.stop());

test('a singleton runner declared dead keeps its lease while its liveness claim is held; released, it is taken over at once', async (t) => {
  const node = await startNode(`pjlive_${process.pid}@localhost`, { log: { level: 'error' } });
  t.after(() => node.stop());
  // One process: a ':memory:' store keeps each claim until it is released.
  const store = SqliteStore.open(':memory:');
  t.after(() => store.close());
  const id = { kind: PROJECTION_LEASE_KIND, key: 'view' };
  const gone = (holder: string): Promise<boolean> => store.livenessReleased(holder);
  const ttlMs = 3_600_000; // never runs out within the test: only a takeover moves the lease
  const a = new SingletonLease({ store, name: 'view', owner: 'a@h#1', ttlMs, dead: () => false, gone, log: node.log });
  const claim = await store.claimLiveness('a@h#1');
  assert.equal(await a.take(), true);

  // b's node declares a's down (a pause, a partition), but a's claim is held: a lives.
  const b = new SingletonLease({
    store,
    name: 'view',
    owner: 'b@h#1',
    ttlMs,
    dead: (h) => h === 'a@h#1',
    gone,
    log: node.log,
  });
  assert.equal(await b.take(), false, 'declared dead, not gone: its lease is waited out');
  assert.equal((await store.lease(id))?.owner, 'a@h#1');
  assert.equal((await store.lease(id))?.token, a.token);
  await a.saveOffset(5);
  assert.equal(await a.loadOffset(), 5, 'a still writes under its token');

  // a's process ends (its claim released): b takes over at once, a's token is stale.
  await claim.release();
  assert.equal(await b.take(), true, 'gone: taken over at once, its lease not run out');
  assert.equal(b.token, a.token + 1);
  await assert.rejects(a.saveOffset(6), { code: 'ERR_ENTITY_STALE_TOKEN' });
  assert.equal(await b.loadOffset(), 5);
});

test('asking the store fails: the lease is waited out, and the failure logged, not thrown', async (t) => {
  const node = await startNode(`pjlive2_${process.pid}@localhost`, { log: { level: 'error' } });
  t.after(() => node.stop());
  const store = SqliteStore.open(':memory:');
  t.after(() => store.close());
  const a = new SingletonLease({
    store,
    name: 'v',
    owner: 'a@h#1',
    ttlMs: 3_600_000,
    dead: () => false,
    gone: () => Promise.resolve(true),
    log: node.log,
  });
  assert.equal(await a.take(), true);
  const b = new SingletonLease({
    store,
    name: 'v',
    owner: 'b@h#1',
    ttlMs: 3_600_000,
    dead: () => true,
    gone: () => Promise.reject(Object.assign(new Error('store unreachable'), { code: 'ERR_ENTITY_STORE_UNAVAILABLE' })),
    log: node.log,
  });
  assert.equal(await b.take(), false);
  assert.equal((await store.lease({ kind: PROJECTION_LEASE_KIND, key: 'v' }))?.owner, 'a@h#1');
});
