// The activation fast paths a store may have (EntityStore.acquireAndLoad and loadActivation), run
// against each store that has them (store.sqlite.test.ts, store.postgres.test.ts): they answer
// what acquire, load and inbox answer one by one, keep the fencing rules (a holder's lease is
// refused, a dead holder's taken over, an older token's writes refused afterwards), and read the
// key after the lease is taken — a write the previous holder committed while the lease was being
// taken is in what the new activation loads, or was refused.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { ignoredThenAwaited } from '@ergo-ts/test-support';

import type { EntityId, EntityStore } from '../src/index.js';
import type { Fresh } from './store_conformance.js';

/** The store's fast paths, failing the test when it has none. */
function fastPaths(store: EntityStore) {
  const { acquireAndLoad, loadActivation } = store;
  assert.ok(acquireAndLoad !== undefined && loadActivation !== undefined, `${store.name} has the fast paths`);
  return { acquireAndLoad: acquireAndLoad.bind(store), loadActivation: loadActivation.bind(store) };
}

/** Registers the tests; `fresh` gives each test an empty store of its own. */
export function activationConformance(fresh: () => Promise<Fresh>): void {
  const id: EntityId = { kind: 'counter', key: 'k1' };

  test('acquireAndLoad: the lease, then the state and the inbox — what acquire, load and inbox answer', async (t) => {
    const { store } = await fresh();
    t.after(() => store.close());
    const { acquireAndLoad, loadActivation } = fastPaths(store);
    const first = await acquireAndLoad({ ...id, owner: 'a', ttlMs: 60_000 });
    assert.deepEqual(first, {
      lease: { acquired: true, token: 1 },
      load: { state: { state: undefined, version: 0 }, inbox: [] },
    });
    assert.equal(await store.write({ ...id, token: 1, expectedVersion: 0, state: { n: 5 } }), 1);
    assert.equal(await store.enqueue(id, 'm1', { add: 1 }), 'accepted');
    assert.equal(await store.enqueue(id, 'm2', { add: 2 }), 'accepted');
    const loaded = await loadActivation(id);
    assert.deepEqual(loaded, { state: await store.load(id), inbox: await store.inbox(id) });
    assert.deepEqual(loaded, {
      state: { state: { n: 5 }, version: 1 },
      inbox: [
        { id: 'm1', message: { add: 1 } },
        { id: 'm2', message: { add: 2 } },
      ],
    });

    // Held by a: another owner is refused (and reads nothing), the lease unchanged.
    const refused = await acquireAndLoad({ ...id, owner: 'b', ttlMs: 60_000 });
    assert.ok(!refused.lease.acquired && refused.lease.holder === 'a' && refused.lease.expiresAt > Date.now());
    assert.equal('load' in refused, false);
    assert.equal((await store.lease(id))?.token, 1);

    // b declares a dead: it takes the lease with the next token and reads what a left.
    const taken = await acquireAndLoad({ ...id, owner: 'b', ttlMs: 60_000, takeOverFrom: 'a' });
    assert.deepEqual(taken, { lease: { acquired: true, token: 2 }, load: loaded });
    assert.deepEqual(await store.lease(id).then((l) => l && { token: l.token, owner: l.owner }), {
      token: 2,
      owner: 'b',
    });
    // a's token is stale now: its write is refused and changes nothing.
    await ignoredThenAwaited(
      () => store.write({ ...id, token: 1, expectedVersion: 1, state: { n: 6 } }),
      'ERR_ENTITY_STALE_TOKEN',
    );
    assert.deepEqual(await store.load(id), { state: { n: 5 }, version: 1 });

    // A released lease is free again; a bad request is refused with a code.
    await store.release(id, 2);
    assert.equal((await acquireAndLoad({ ...id, owner: 'c', ttlMs: 60_000 })).lease.acquired, true);
    await ignoredThenAwaited(() => acquireAndLoad({ ...id, owner: 'c', ttlMs: -1 }), 'ERR_ENTITY_INCORRECT');
    await ignoredThenAwaited(() => loadActivation({ kind: 'counter', key: '' }), 'ERR_ENTITY_INCORRECT');
  });

  test('acquireAndLoad asked for several keys at once (PostgreSQL: one statement) answers each as asked alone', async (t) => {
    const { store } = await fresh();
    t.after(() => store.close());
    const { acquireAndLoad } = fastPaths(store);
    const [held, loaded, twice] = ['held', 'loaded', 'twice'].map((key) => ({ kind: 'counter', key }));
    assert.ok((await store.acquire({ ...held!, owner: 'x', ttlMs: 60_000 })).acquired);
    assert.ok((await store.acquire({ ...loaded!, owner: 'a', ttlMs: 60_000 })).acquired);
    assert.equal(await store.write({ ...loaded!, token: 1, expectedVersion: 0, state: { n: 7 } }), 1);
    assert.equal(await store.enqueue(loaded!, 'm1', { add: 1 }), 'accepted');
    // Asked in one turn, in an order that is not the keys' order; one key twice, by two owners.
    const answers = await Promise.all([
      acquireAndLoad({ kind: 'counter', key: 'zfresh', owner: 'a', ttlMs: 60_000 }),
      acquireAndLoad({ ...held!, owner: 'a', ttlMs: 60_000 }),
      acquireAndLoad({ ...twice!, owner: 'a', ttlMs: 60_000 }),
      acquireAndLoad({ ...loaded!, owner: 'a', ttlMs: 60_000 }),
      acquireAndLoad({ ...twice!, owner: 'b', ttlMs: 60_000 }),
    ]);
    assert.deepEqual(answers[0], {
      lease: { acquired: true, token: 1 },
      load: { state: { state: undefined, version: 0 }, inbox: [] },
    });
    const refused = answers[1]!;
    assert.ok(!refused.lease.acquired && refused.lease.holder === 'x' && !('load' in refused));
    assert.deepEqual(answers[3], {
      lease: { acquired: true, token: 2 },
      load: { state: { state: { n: 7 }, version: 1 }, inbox: [{ id: 'm1', message: { add: 1 } }] },
    });
    // The same key twice: whichever the store took first holds it, the other is refused by it.
    const [ta, tb] = [answers[2]!, answers[4]!];
    assert.equal(Number(ta.lease.acquired) + Number(tb.lease.acquired), 1);
    const winner = ta.lease.acquired ? 'a' : 'b';
    const loser = ta.lease.acquired ? tb : ta;
    assert.ok(!loser.lease.acquired && loser.lease.holder === winner);
    assert.deepEqual(await store.lease(twice!).then((l) => l && { token: l.token, owner: l.owner }), {
      token: 1,
      owner: winner,
    });
    // A bad request among good ones is refused alone.
    const mixed = await Promise.allSettled([
      acquireAndLoad({ kind: 'counter', key: 'good', owner: 'a', ttlMs: 60_000 }),
      acquireAndLoad({ kind: 'counter', key: 'bad', owner: 'a', ttlMs: -1 }),
    ]);
    assert.equal(mixed[0].status, 'fulfilled');
    assert.equal(mixed[1].status === 'rejected' && (mixed[1].reason as { code?: string }).code, 'ERR_ENTITY_INCORRECT');
  });

  test('acquireAndLoad racing the previous holder’s write: the write is refused, or in what the new activation loads', async (t) => {
    const { store, again } = await fresh();
    const other = await again();
    t.after(() => Promise.all([store.close(), other.close()]));
    const { acquireAndLoad } = fastPaths(other);
    let seen = 0;
    let refused = 0;
    for (let i = 0; i < 30; i++) {
      const key = { kind: 'counter', key: `race${i}` };
      // The old holder a has written once; b (another store: another member) takes the key over
      // while a writes again.
      const a = await store.acquire({ ...key, owner: 'a', ttlMs: 60_000 });
      assert.ok(a.acquired);
      await store.write({ ...key, token: a.token, expectedVersion: 0, state: 1 });
      const [w, b] = await Promise.allSettled([
        store.write({ ...key, token: a.token, expectedVersion: 1, state: 2 }),
        acquireAndLoad({ ...key, owner: 'b', ttlMs: 60_000, takeOverFrom: 'a' }),
      ]);
      assert.equal(b.status, 'fulfilled');
      const opened = b.value;
      assert.ok(opened.lease.acquired && 'load' in opened);
      if (w.status === 'fulfilled') {
        seen++;
        assert.deepEqual(opened.load.state, { state: 2, version: 2 }, `key ${key.key}: an accepted write is loaded`);
      } else {
        refused++;
        assert.equal((w.reason as { code?: string }).code, 'ERR_ENTITY_STALE_TOKEN');
        assert.deepEqual(opened.load.state, { state: 1, version: 1 });
      }
      // Either way the key is b's now: a's writes are refused from here on.
      await ignoredThenAwaited(
        () => store.write({ ...key, token: a.token, expectedVersion: 2, state: 3 }),
        'ERR_ENTITY_STALE_TOKEN',
      );
    }
    assert.equal(seen + refused, 30);
  });
}
