// The conformance of `EntityStore.listStates` (an operator's listing of a kind's keys with their
// states, what `entities.workflows.list` reads), run against each store by its own test file:
// only keys with a stored state, only the kind asked, in UTF-8 byte order (a key above the BMP
// sorts after U+FF41 there, before it in JavaScript's UTF-16 order), paged by `after`, and coded
// errors for a bad page and a closed store.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import type { EntityStore } from '../src/index.js';

/** Registers the listStates tests; `fresh` gives each test an empty store of its own. */
export function statesConformance(fresh: () => Promise<{ store: EntityStore }>): void {
  test('listStates pages a kind’s keys with their states in UTF-8 byte order, after a cursor', async (t) => {
    const { store } = await fresh();
    t.after(() => store.close());
    const list = store.listStates!.bind(store);
    const keys = ['b', 'a', 'é', '\u{1F600}', '\uFF41', 'a1'];
    for (const [i, key] of keys.entries()) {
      const lease = await store.acquire({ kind: 'wfl', key, owner: 'o', ttlMs: 60_000 });
      assert.ok(lease.acquired);
      await store.write({ kind: 'wfl', key, token: lease.token, expectedVersion: 0, state: { n: i } });
      if (key === 'b') await store.write({ kind: 'wfl', key, token: lease.token, expectedVersion: 1, state: { n: 9 } });
    }
    // A key leased but never written, and another kind's key: not listed.
    await store.acquire({ kind: 'wfl', key: 'leased', owner: 'o', ttlMs: 60_000 });
    const other = await store.acquire({ kind: 'wfl-other', key: 'a', owner: 'o', ttlMs: 60_000 });
    assert.ok(other.acquired);
    await store.write({ kind: 'wfl-other', key: 'a', token: other.token, expectedVersion: 0, state: 1 });

    const all = await list('wfl', { limit: 100 });
    assert.deepEqual(
      all.map((s) => s.key),
      ['a', 'a1', 'b', 'é', '\uFF41', '\u{1F600}'],
    );
    assert.deepEqual(all[2], { key: 'b', state: { n: 9 }, version: 2 });
    assert.deepEqual(all[0], { key: 'a', state: { n: 1 }, version: 1 });
    const first = await list('wfl', { limit: 2 });
    assert.deepEqual(
      first.map((s) => s.key),
      ['a', 'a1'],
    );
    const second = await list('wfl', { limit: 3, after: 'a1' });
    assert.deepEqual(
      second.map((s) => s.key),
      ['b', 'é', '\uFF41'],
    );
    const last = await list('wfl', { limit: 3, after: '\uFF41' });
    assert.deepEqual(
      last.map((s) => s.key),
      ['\u{1F600}'],
    );
    assert.deepEqual(await list('wfl', { limit: 3, after: '\u{1F600}' }), []);
    assert.deepEqual(await list('none', { limit: 3 }), []);
  });

  test('listStates refuses a bad page (ERR_ENTITY_INCORRECT) and a closed store (ERR_ENTITY_STORE_CLOSED)', async () => {
    const { store } = await fresh();
    for (const limit of [0, -1, 1.5, 10_001, Number.NaN])
      await assert.rejects(store.listStates!('k', { limit }), { code: 'ERR_ENTITY_INCORRECT' }, String(limit));
    await assert.rejects(store.listStates!('', { limit: 1 }), { code: 'ERR_ENTITY_INCORRECT' });
    await assert.rejects(store.listStates!('k', { limit: 1, after: '' }), { code: 'ERR_ENTITY_INCORRECT' });
    await assert.rejects(store.listStates!('k', null as never), { code: 'ERR_ENTITY_INCORRECT' });
    await store.close();
    await assert.rejects(store.listStates!('k', { limit: 1 }), { code: 'ERR_ENTITY_STORE_CLOSED' });
  });
}
