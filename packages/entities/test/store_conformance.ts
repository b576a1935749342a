// The store conformance suite: the rules every EntityStore keeps, run against each store (the
// SQLite one on a temporary file, store.sqlite.test.ts; the PostgreSQL one on a real server,
// store.postgres.test.ts; the in-memory one, store.memory.test.ts): leases with a fencing token that only grows, conditional writes refused
// with a stale token (and nothing written), the inbox persisted before acknowledgement,
// de-duplication by message id in the same transaction as the state change, snapshots and
// events, renewal, two stores on one database (as two OS processes share it), concurrent
// acquirers and writers, reopening, and coded errors for bad input and a closed store.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { eventually, ignoredThenAwaited } from '@ergo-ts/test-support';

import type { EntityId, EntityStore } from '../src/index.js';

/** A fresh, empty store, and a way to open another store on the same database. */
export interface Fresh {
  store: EntityStore;
  again(): Promise<EntityStore>;
}

/** Registers the conformance tests; `fresh` gives each test an empty store of its own. */
export function storeConformance(fresh: () => Promise<Fresh>): void {
  const id: EntityId = { kind: 'counter', key: 'k1' };

  test('a new key’s lease has token 1; another owner is refused while it is held', async (t) => {
    const { store } = await fresh();
    t.after(() => store.close());
    const a = await store.acquire({ ...id, owner: 'a', ttlMs: 60_000 });
    assert.deepEqual(a, { acquired: true, token: 1 });
    const b = await store.acquire({ ...id, owner: 'b', ttlMs: 60_000 });
    assert.equal(b.acquired, false);
    assert.ok(!b.acquired && b.holder === 'a' && b.expiresAt > Date.now());
    // The same owner taking it again gets a new token: its older activation is fenced off too.
    assert.deepEqual(await store.acquire({ ...id, owner: 'a', ttlMs: 60_000 }), { acquired: true, token: 2 });
    // Other keys and kinds are independent.
    assert.deepEqual(await store.acquire({ kind: 'counter', key: 'k2', owner: 'b', ttlMs: 60_000 }), {
      acquired: true,
      token: 1,
    });
    assert.deepEqual(await store.acquire({ kind: 'other', key: 'k1', owner: 'b', ttlMs: 60_000 }), {
      acquired: true,
      token: 1,
    });
  });

  test('takeOverFrom takes a lease its named (dead) holder still holds, at once, with a newer token that fences the holder', async (t) => {
    const { store } = await fresh();
    t.after(() => store.close());
    const a = await store.acquire({ ...id, owner: 'a#1', ttlMs: 600_000 });
    assert.ok(a.acquired);
    await store.write({ ...id, token: a.token, expectedVersion: 0, state: 'a' });
    // Naming another owner than the holder takes nothing.
    const wrong = await store.acquire({ ...id, owner: 'b#1', ttlMs: 600_000, takeOverFrom: 'c#1' });
    assert.ok(!wrong.acquired && wrong.holder === 'a#1');
    // Naming the holder takes its unexpired lease now.
    const b = await store.acquire({ ...id, owner: 'b#1', ttlMs: 600_000, takeOverFrom: 'a#1' });
    assert.deepEqual(b, { acquired: true, token: a.token + 1 });
    assert.equal((await store.lease(id))?.owner, 'b#1');
    // The old holder, resumed (it was only paused, or cut off), has every write and renewal refused.
    await assert.rejects(store.write({ ...id, token: a.token, expectedVersion: 1, state: 'stale' }), {
      code: 'ERR_ENTITY_STALE_TOKEN',
    });
    assert.deepEqual(await store.renew(id.kind, 'a#1', new Map([[id.key, a.token]]), 600_000), [id.key]);
    assert.equal(await store.write({ ...id, token: b.token, expectedVersion: 1, state: 'b' }), 2);
    // The old holder cannot take it back by naming the new one unless it declares it dead too;
    // a plain acquire is refused while b holds it.
    const back = await store.acquire({ ...id, owner: 'a#1', ttlMs: 600_000 });
    assert.ok(!back.acquired && back.holder === 'b#1');
    await ignoredThenAwaited(
      () => store.acquire({ ...id, owner: 'a#1', ttlMs: 1, takeOverFrom: '' }),
      'ERR_ENTITY_INCORRECT',
    );
    assert.deepEqual(await store.load(id), { state: 'b', version: 2 });
  });

  test('a released or expired lease goes to the next owner with a higher token', async (t) => {
    const { store } = await fresh();
    t.after(() => store.close());
    const a = await store.acquire({ ...id, owner: 'a', ttlMs: 60_000 });
    assert.ok(a.acquired);
    await store.release(id, a.token);
    const b = await store.acquire({ ...id, owner: 'b', ttlMs: 1 });
    assert.deepEqual(b, { acquired: true, token: 2 });
    // b's lease lasts 1 ms: once the clock has passed its end, c takes it over.
    const lease = await store.lease(id);
    await eventually(() => Date.now() > lease!.expiresAt, 'the 1 ms lease ended');
    assert.deepEqual(await store.acquire({ ...id, owner: 'c', ttlMs: 60_000 }), { acquired: true, token: 3 });
    // A release with a stale token changes nothing.
    await store.release(id, 2);
    assert.equal((await store.lease(id))?.owner, 'c');
  });

  test('a write with a stale token is refused with ERR_ENTITY_STALE_TOKEN and writes nothing', async (t) => {
    const { store } = await fresh();
    t.after(() => store.close());
    const a = await store.acquire({ ...id, owner: 'a', ttlMs: 60_000 });
    assert.ok(a.acquired);
    assert.equal(await store.write({ ...id, token: a.token, expectedVersion: 0, state: { n: 1 } }), 1);
    await store.release(id, a.token);
    const b = await store.acquire({ ...id, owner: 'b', ttlMs: 60_000 });
    assert.ok(b.acquired && b.token === a.token + 1);
    await assert.rejects(store.write({ ...id, token: a.token, expectedVersion: 1, state: { n: 99 } }), {
      code: 'ERR_ENTITY_STALE_TOKEN',
    });
    assert.deepEqual(await store.load(id), { state: { n: 1 }, version: 1 });
    assert.equal(await store.write({ ...id, token: b.token, expectedVersion: 1, state: { n: 2 } }), 2);
    assert.deepEqual(await store.load(id), { state: { n: 2 }, version: 2 });
    // A token no lease ever had (no lease for the key at all) is stale too.
    await assert.rejects(store.write({ kind: 'counter', key: 'none', token: 1, expectedVersion: 0, state: 1 }), {
      code: 'ERR_ENTITY_STALE_TOKEN',
    });
  });

  test('a write under another lease (a shard lease) is fenced by that lease’s token, not the key’s', async (t) => {
    const { store } = await fresh();
    t.after(() => store.close());
    const shard: EntityId = { kind: '~shard', key: '7' };
    const a = await store.acquire({ ...shard, owner: 'a', ttlMs: 60_000 });
    assert.ok(a.acquired);
    // The key has no lease of its own: the shard's token is the one checked.
    assert.equal(await store.write({ ...id, lease: shard, token: a.token, expectedVersion: 0, state: { n: 1 } }), 1);
    assert.equal(
      await store.write({ ...id, key: 'k2', lease: shard, token: a.token, expectedVersion: 0, state: 2 }),
      1,
    );
    await store.release(shard, a.token);
    const b = await store.acquire({ ...shard, owner: 'b', ttlMs: 60_000 });
    assert.ok(b.acquired && b.token === a.token + 1);
    await assert.rejects(store.write({ ...id, lease: shard, token: a.token, expectedVersion: 1, state: { n: 99 } }), {
      code: 'ERR_ENTITY_STALE_TOKEN',
    });
    assert.deepEqual(await store.load(id), { state: { n: 1 }, version: 1 });
    assert.equal(await store.write({ ...id, lease: shard, token: b.token, expectedVersion: 1, state: { n: 2 } }), 2);
    // Without `lease` the key's own (absent) lease is checked: refused.
    await assert.rejects(store.write({ ...id, token: b.token, expectedVersion: 2, state: { n: 3 } }), {
      code: 'ERR_ENTITY_STALE_TOKEN',
    });
  });

  test('a write expecting another version is refused with ERR_ENTITY_VERSION_CONFLICT', async (t) => {
    const { store } = await fresh();
    t.after(() => store.close());
    const a = await store.acquire({ ...id, owner: 'a', ttlMs: 60_000 });
    assert.ok(a.acquired);
    await store.write({ ...id, token: a.token, expectedVersion: 0, state: 'one' });
    await assert.rejects(store.write({ ...id, token: a.token, expectedVersion: 0, state: 'two' }), {
      code: 'ERR_ENTITY_VERSION_CONFLICT',
    });
    assert.deepEqual(await store.load(id), { state: 'one', version: 1 });
  });

  test('writes asked for together (one turn: one group commit) are refused alone: a stale token, a version conflict or an id processed twice fails only its own write', async (t) => {
    const { store } = await fresh();
    t.after(() => store.close());
    const ids = ['g1', 'g2', 'g3', 'g4', 'g5'].map((key) => ({ kind: 'counter', key }));
    const tokens: number[] = [];
    for (const k of ids) {
      const a = await store.acquire({ ...k, owner: 'a', ttlMs: 60_000 });
      assert.ok(a.acquired);
      tokens.push(a.token);
    }
    assert.equal(await store.enqueue(ids[4]!, 'm1', 'hello'), 'accepted');
    assert.equal(
      await store.write({ ...ids[4]!, token: tokens[4]!, expectedVersion: 0, state: 0, processed: 'm1' }),
      1,
    );
    // Asked for in one turn: g2's token is stale, g4 expects a version it does not have, g5's
    // message id was processed already; g1 and g3 (with an event) are fine.
    const outcomes = await Promise.allSettled([
      store.write({ ...ids[0]!, token: tokens[0]!, expectedVersion: 0, state: 'one' }),
      store.write({ ...ids[1]!, token: tokens[1]! + 1, expectedVersion: 0, state: 'stale' }),
      store.write({ ...ids[2]!, token: tokens[2]!, expectedVersion: 0, events: [3], state: 3 }),
      store.write({ ...ids[3]!, token: tokens[3]!, expectedVersion: 5, state: 'conflict' }),
      store.write({ ...ids[4]!, token: tokens[4]!, expectedVersion: 1, state: 1, processed: 'm1' }),
      store.write({ ...ids[0]!, token: tokens[0]!, expectedVersion: 1, state: 'two' }),
    ]);
    const codes = outcomes.map((o) =>
      o.status === 'fulfilled' ? o.value : ((o.reason as { code?: string }).code ?? 'refused'),
    );
    // The id processed twice: refused (each store with its own error: a primary key's, the memory store's).
    assert.notEqual(outcomes[4]!.status, 'fulfilled');
    codes[4] = 'refused';
    assert.deepEqual(codes, [1, 'ERR_ENTITY_STALE_TOKEN', 1, 'ERR_ENTITY_VERSION_CONFLICT', 'refused', 2]);
    assert.deepEqual(await store.load(ids[0]!), { state: 'two', version: 2 });
    assert.deepEqual(await store.load(ids[1]!), { state: undefined, version: 0 });
    assert.deepEqual(await store.load(ids[2]!), { state: 3, version: 1 });
    assert.equal((await store.events(ids[2]!, 0)).length, 1);
    assert.deepEqual(await store.load(ids[3]!), { state: undefined, version: 0 });
    assert.deepEqual(await store.load(ids[4]!), { state: 0, version: 1 });
  });

  test('the inbox keeps accepted messages in order; a processed id is removed and never accepted again', async (t) => {
    const { store } = await fresh();
    t.after(() => store.close());
    assert.equal(await store.enqueue(id, 'm1', { add: 1 }), 'accepted');
    assert.equal(await store.enqueue(id, 'm2', { add: 2 }), 'accepted');
    assert.equal(await store.enqueue(id, 'm1', { add: 1 }), 'duplicate');
    assert.deepEqual(await store.inbox(id), [
      { id: 'm1', message: { add: 1 } },
      { id: 'm2', message: { add: 2 } },
    ]);
    const a = await store.acquire({ ...id, owner: 'a', ttlMs: 60_000 });
    assert.ok(a.acquired);
    await store.write({ ...id, token: a.token, expectedVersion: 0, state: 1, processed: 'm1' });
    assert.deepEqual(await store.inbox(id), [{ id: 'm2', message: { add: 2 } }]);
    assert.equal(await store.processed(id, 'm1'), true);
    assert.equal(await store.processed(id, 'm2'), false);
    assert.equal(await store.enqueue(id, 'm1', { add: 1 }), 'duplicate');
    assert.deepEqual(await store.inbox(id), [{ id: 'm2', message: { add: 2 } }]);
  });

  test('pendingInbox lists the keys with unprocessed messages, the oldest acceptance first, bounded by its limit', async (t) => {
    const { store, again } = await fresh();
    const other = await again();
    t.after(() => Promise.all([store.close(), other.close()]));
    assert.deepEqual(await store.pendingInbox!(10), []);
    const before = Date.now();
    const ids = ['a', 'b', 'c'].map((key) => ({ kind: 'counter', key }));
    // The next millisecond (acceptance times are in ms: two in one would tie).
    const tick = async (): Promise<void> => {
      const t = Date.now();
      await eventually(() => Date.now() > t + 1, 'the next millisecond');
    };
    // Accepted in the order b, a, c (c by the other connection), two messages for b.
    await store.enqueue(ids[1]!, 'm1', 1);
    await tick();
    await store.enqueue(ids[0]!, 'm1', 1);
    await store.enqueue(ids[1]!, 'm2', 2);
    await tick();
    await other.enqueue(ids[2]!, 'm1', 1);
    const all = await other.pendingInbox!(10);
    assert.deepEqual(
      all.map((p) => [p.kind, p.key, p.count]),
      [
        ['counter', 'b', 2],
        ['counter', 'a', 1],
        ['counter', 'c', 1],
      ],
    );
    // The stores stamp with their own clock (PostgreSQL: the server's): a loose check of the times.
    for (const p of all) assert.ok(Math.abs(p.oldestAcceptedAt - before) < 60_000, `${p.key}: ${p.oldestAcceptedAt}`);
    assert.ok(
      all[0]!.oldestAcceptedAt <= all[1]!.oldestAcceptedAt && all[1]!.oldestAcceptedAt <= all[2]!.oldestAcceptedAt,
    );
    assert.deepEqual(
      (await store.pendingInbox!(2)).map((p) => p.key),
      ['b', 'a'],
    );
    // A processed message leaves the list; a key whose inbox empties is gone from it.
    const lease = await store.acquire({ ...ids[1]!, owner: 'o', ttlMs: 60_000 });
    assert.ok(lease.acquired);
    await store.write({ ...ids[1]!, token: lease.token, expectedVersion: 0, state: 1, processed: 'm1' });
    const left = await store.pendingInbox!(10);
    assert.deepEqual(
      left.find((p) => p.key === 'b'),
      { kind: 'counter', key: 'b', oldestAcceptedAt: left.find((p) => p.key === 'b')!.oldestAcceptedAt, count: 1 },
    );
    await store.write({ ...ids[1]!, token: lease.token, expectedVersion: 1, state: 2, processed: 'm2' });
    assert.deepEqual(
      (await store.pendingInbox!(10)).map((p) => p.key),
      ['a', 'c'],
    );
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 31])
      await assert.rejects(store.pendingInbox!(bad), { code: 'ERR_ENTITY_INCORRECT' });
  });

  test('de-duplication is in the state change’s transaction: a refused write leaves the message pending', async (t) => {
    const { store } = await fresh();
    t.after(() => store.close());
    const a = await store.acquire({ ...id, owner: 'a', ttlMs: 60_000 });
    assert.ok(a.acquired);
    await store.enqueue(id, 'm1', 'inc');
    await store.release(id, a.token);
    const b = await store.acquire({ ...id, owner: 'b', ttlMs: 60_000 });
    assert.ok(b.acquired);
    await assert.rejects(store.write({ ...id, token: a.token, expectedVersion: 0, state: 1, processed: 'm1' }), {
      code: 'ERR_ENTITY_STALE_TOKEN',
    });
    assert.equal(await store.processed(id, 'm1'), false);
    assert.deepEqual(await store.inbox(id), [{ id: 'm1', message: 'inc' }]);
    assert.deepEqual(await store.load(id), { state: undefined, version: 0 });
    // The same id processed twice in one key is refused by the store itself (primary key): the
    // second write fails and the state stays at the first.
    await store.write({ ...id, token: b.token, expectedVersion: 0, state: 1, processed: 'm1' });
    await assert.rejects(store.write({ ...id, token: b.token, expectedVersion: 1, state: 2, processed: 'm1' }));
    assert.deepEqual(await store.load(id), { state: 1, version: 1 });
  });

  test('an enqueue racing the write that processes the same id (another connection) never accepts it again', async (t) => {
    const { store, again } = await fresh();
    const other = await again();
    t.after(() => Promise.all([store.close(), other.close()]));
    const a = await store.acquire({ ...id, owner: 'a', ttlMs: 60_000 });
    assert.ok(a.acquired);
    // Each round: the id is in the inbox; one store processes it while the other re-sends it.
    // Whichever runs first, the re-send finds it pending or processed: 'duplicate', and the
    // inbox ends empty (an enqueue that missed the committed write would leave a row behind).
    for (let i = 0; i < 40; i++) {
      assert.equal(await store.enqueue(id, `m${i}`, i), 'accepted');
      const [version, resent]: [number, 'accepted' | 'duplicate'] = await Promise.all([
        store.write({ ...id, token: a.token, expectedVersion: i, state: i + 1, processed: `m${i}` }),
        other.enqueue(id, `m${i}`, i),
      ]);
      assert.equal(version, i + 1);
      assert.equal(resent, 'duplicate', `round ${i}`);
      assert.deepEqual(await store.inbox(id), [], `round ${i}`);
    }
  });

  test('events append after the snapshot; load gives the snapshot and events() the rest', async (t) => {
    const { store } = await fresh();
    t.after(() => store.close());
    const a = await store.acquire({ ...id, owner: 'a', ttlMs: 60_000 });
    assert.ok(a.acquired);
    assert.equal(await store.write({ ...id, token: a.token, expectedVersion: 0, events: ['+1', '+2'] }), 2);
    assert.equal(await store.write({ ...id, token: a.token, expectedVersion: 2, events: ['+3'], state: 6 }), 3);
    assert.equal(await store.write({ ...id, token: a.token, expectedVersion: 3, events: ['+4'] }), 4);
    assert.deepEqual(await store.load(id), { state: 6, version: 3 });
    assert.deepEqual(await store.events(id, 3), [{ version: 4, event: '+4', type: '', schemaVersion: 1 }]);
    assert.deepEqual(
      (await store.events(id, 0)).map((e) => e.event),
      ['+1', '+2', '+3', '+4'],
    );
  });

  test('renew extends this owner’s current leases and names the keys taken over', async (t) => {
    const { store } = await fresh();
    t.after(() => store.close());
    const k1 = await store.acquire({ kind: 'c', key: 'k1', owner: 'a', ttlMs: 60_000 });
    const k2 = await store.acquire({ kind: 'c', key: 'k2', owner: 'a', ttlMs: 60_000 });
    assert.ok(k1.acquired && k2.acquired);
    await store.release({ kind: 'c', key: 'k2' }, k2.token);
    assert.ok((await store.acquire({ kind: 'c', key: 'k2', owner: 'b', ttlMs: 60_000 })).acquired);
    const before = (await store.lease({ kind: 'c', key: 'k1' }))!.expiresAt;
    const lost = await store.renew(
      'c',
      'a',
      new Map([
        ['k1', k1.token],
        ['k2', k2.token],
      ]),
      120_000,
    );
    assert.deepEqual(lost, ['k2']);
    assert.ok((await store.lease({ kind: 'c', key: 'k1' }))!.expiresAt > before);
    assert.equal((await store.lease({ kind: 'c', key: 'k2' }))!.owner, 'b');
  });

  test('two stores on one database see one lease (as two OS processes sharing it do), and data survives reopening', async () => {
    const { store: one, again } = await fresh();
    const two = await again();
    const a = await one.acquire({ ...id, owner: 'a', ttlMs: 60_000 });
    assert.ok(a.acquired);
    const b = await two.acquire({ ...id, owner: 'b', ttlMs: 60_000 });
    assert.ok(!b.acquired && b.holder === 'a');
    await one.write({ ...id, token: a.token, expectedVersion: 0, state: { saved: true } });
    assert.deepEqual(await two.load(id), { state: { saved: true }, version: 1 });
    await one.close();
    await two.close();
    const reopened = await again();
    assert.deepEqual(await reopened.load(id), { state: { saved: true }, version: 1 });
    assert.equal((await reopened.lease(id))?.token, 1);
    await reopened.close();
  });

  test('concurrent acquirers of one free key: exactly one gets it; concurrent writers: exactly one write per version', async (t) => {
    const { store, again } = await fresh();
    const others = await Promise.all([again(), again(), again()]);
    t.after(async () => {
      await store.close();
      for (const o of others) await o.close();
    });
    const all = [store, ...others];
    const results = await Promise.all(all.map((s, i) => s.acquire({ ...id, owner: `o${i}`, ttlMs: 60_000 })));
    const won = results.filter((r) => r.acquired);
    assert.equal(won.length, 1);
    const token = (won[0] as { token: number }).token;
    // Every store tries to write version 1 with the winner's token: one succeeds, the rest conflict.
    const writes = await Promise.allSettled(all.map((s, i) => s.write({ ...id, token, expectedVersion: 0, state: i })));
    assert.equal(writes.filter((w) => w.status === 'fulfilled').length, 1);
    for (const w of writes)
      if (w.status === 'rejected') assert.equal((w.reason as { code?: string }).code, 'ERR_ENTITY_VERSION_CONFLICT');
    // Concurrent enqueues of one id: one 'accepted'.
    const enq = await Promise.all(all.map((s) => s.enqueue(id, 'same', { n: 1 })));
    assert.deepEqual(enq.filter((r) => r === 'accepted').length, 1);
    assert.equal((await store.inbox(id)).length, 1);
  });

  test('a value the codec cannot keep is refused with ERR_ENTITY_UNSTORABLE and writes nothing', async (t) => {
    const { store } = await fresh();
    t.after(() => store.close());
    const a = await store.acquire({ ...id, owner: 'a', ttlMs: 60_000 });
    assert.ok(a.acquired);
    await assert.rejects(store.write({ ...id, token: a.token, expectedVersion: 0, state: { run: () => 1 } }), {
      code: 'ERR_ENTITY_UNSTORABLE',
    });
    await assert.rejects(store.enqueue(id, 'm', Symbol('m')), { code: 'ERR_ENTITY_UNSTORABLE' });
    assert.deepEqual(await store.load(id), { state: undefined, version: 0 });
    assert.deepEqual(await store.inbox(id), []);
  });

  test('bad input gets ERR_ENTITY_INCORRECT; a closed store rejects with ERR_ENTITY_STORE_CLOSED; none of it leaks', async () => {
    const { store } = await fresh();
    await ignoredThenAwaited(() => store.acquire({ kind: 'c', key: '', owner: 'a', ttlMs: 1 }), 'ERR_ENTITY_INCORRECT');
    await ignoredThenAwaited(
      () => store.acquire({ kind: 'c', key: 'x'.repeat(201), owner: 'a', ttlMs: 1 }),
      'ERR_ENTITY_INCORRECT',
    );
    await ignoredThenAwaited(() => store.acquire({ kind: 'c', key: 'k', owner: '', ttlMs: 1 }), 'ERR_ENTITY_INCORRECT');
    await ignoredThenAwaited(
      () => store.acquire({ kind: 'c', key: 'k', owner: 'a', ttlMs: 0 }),
      'ERR_ENTITY_INCORRECT',
    );
    await ignoredThenAwaited(() => store.enqueue(id, '', 1), 'ERR_ENTITY_INCORRECT');
    await store.close();
    await store.close(); // idempotent
    await ignoredThenAwaited(() => store.load(id), 'ERR_ENTITY_STORE_CLOSED');
    await ignoredThenAwaited(
      () => store.write({ ...id, token: 1, expectedVersion: 0, state: 1 }),
      'ERR_ENTITY_STORE_CLOSED',
    );
  });

  test('events record their type and schema version; the journal reads a kind’s events by offset and by tag', async (t) => {
    const { store } = await fresh();
    t.after(() => store.close());
    const k1: EntityId = { kind: 'cart', key: 'k1' };
    const k2: EntityId = { kind: 'cart', key: 'k2' };
    const o: EntityId = { kind: 'other', key: 'k1' };
    const tok = async (x: EntityId): Promise<number> => {
      const l = await store.acquire({ ...x, owner: 'a', ttlMs: 60_000 });
      assert.ok(l.acquired);
      return l.token;
    };
    const [t1, t2, t3] = [await tok(k1), await tok(k2), await tok(o)];
    const m = (type: string, schemaVersion = 1, tags: string[] = []) => ({ type, schemaVersion, tags });
    await store.write({ ...k1, token: t1, expectedVersion: 0, events: ['a1', 'a2'], eventMeta: [m('x'), m('y', 2)] });
    await store.write({ ...o, token: t3, expectedVersion: 0, events: ['o1'], eventMeta: [m('x', 1, ['t'])] });
    await store.write({ ...k2, token: t2, expectedVersion: 0, events: ['b1'], eventMeta: [m('x', 1, ['t', 'u'])] });
    await store.write({ ...k1, token: t1, expectedVersion: 2, events: ['a3'], eventMeta: [m('x', 3, ['t'])] });
    assert.deepEqual(await store.events(k1, 1), [
      { version: 2, event: 'a2', type: 'y', schemaVersion: 2 },
      { version: 3, event: 'a3', type: 'x', schemaVersion: 3 },
    ]);
    const all = await store.readJournal({ kind: 'cart', after: 0, limit: 100 });
    assert.deepEqual(
      all.map((e) => [e.key, e.version, e.type, e.schemaVersion, e.event]),
      [
        ['k1', 1, 'x', 1, 'a1'],
        ['k1', 2, 'y', 2, 'a2'],
        ['k2', 1, 'x', 1, 'b1'],
        ['k1', 3, 'x', 3, 'a3'],
      ],
    );
    for (let i = 1; i < all.length; i++) assert.ok(all[i]!.offset > all[i - 1]!.offset, 'offsets grow');
    assert.ok(all.every((e) => e.kind === 'cart'));
    // Resumable: after an offset, with a limit.
    assert.deepEqual(
      (await store.readJournal({ kind: 'cart', after: all[1]!.offset, limit: 100 })).map((e) => e.event),
      ['b1', 'a3'],
    );
    assert.deepEqual(
      (await store.readJournal({ kind: 'cart', after: 0, limit: 1 })).map((e) => e.event),
      ['a1'],
    );
    // By tag, within the kind.
    const tagged = await store.readJournal({ kind: 'cart', tag: 't', after: 0, limit: 100 });
    assert.deepEqual(
      tagged.map((e) => e.event),
      ['b1', 'a3'],
    );
    assert.deepEqual(
      tagged.map((e) => e.offset),
      [all[2]!.offset, all[3]!.offset],
    );
    assert.deepEqual(
      (await store.readJournal({ kind: 'cart', tag: 't', after: all[2]!.offset, limit: 100 })).map((e) => e.event),
      ['a3'],
    );
    assert.deepEqual(await store.readJournal({ kind: 'cart', tag: 'none', after: 0, limit: 100 }), []);
    // Bad input: coded, nothing written.
    await ignoredThenAwaited(() => store.readJournal({ kind: 'cart', after: 0, limit: 0 }), 'ERR_ENTITY_INCORRECT');
    await ignoredThenAwaited(() => store.readJournal({ kind: 'cart', after: -1, limit: 1 }), 'ERR_ENTITY_INCORRECT');
    await ignoredThenAwaited(
      () => store.write({ ...k2, token: t2, expectedVersion: 1, events: ['b2'], eventMeta: [] }),
      'ERR_ENTITY_INCORRECT',
    );
    assert.equal((await store.events(k2, 0)).length, 1);
  });

  test('a write with events: [] keeps the version: a snapshot, or a processed id, of an event-sourced key', async (t) => {
    const { store } = await fresh();
    t.after(() => store.close());
    const a = await store.acquire({ ...id, owner: 'a', ttlMs: 60_000 });
    assert.ok(a.acquired);
    assert.equal(await store.write({ ...id, token: a.token, expectedVersion: 0, events: ['+1', '+2'] }), 2);
    await store.enqueue(id, 'm1', 'noop');
    assert.equal(await store.write({ ...id, token: a.token, expectedVersion: 2, events: [], processed: 'm1' }), 2);
    assert.equal(await store.processed(id, 'm1'), true);
    assert.deepEqual(await store.inbox(id), []);
    assert.equal(await store.write({ ...id, token: a.token, expectedVersion: 2, events: [], state: 3 }), 2);
    assert.deepEqual(await store.load(id), { state: 3, version: 2 });
    assert.deepEqual(await store.events(id, 2), []);
    assert.equal(await store.write({ ...id, token: a.token, expectedVersion: 2, events: ['+3'] }), 3);
  });

  test('projection offsets are stored per name and survive reopening', async () => {
    const { store, again } = await fresh();
    assert.equal(await store.loadOffset('p1'), undefined);
    await store.saveOffset('p1', 7);
    await store.saveOffset('p2', 3);
    await store.saveOffset('p1', 12);
    await ignoredThenAwaited(() => store.saveOffset('p1', -1), 'ERR_ENTITY_INCORRECT');
    await ignoredThenAwaited(() => store.saveOffset('', 1), 'ERR_ENTITY_INCORRECT');
    await store.close();
    const reopened = await again();
    assert.equal(await reopened.loadOffset('p1'), 12);
    assert.equal(await reopened.loadOffset('p2'), 3);
    await reopened.close();
  });

  test('a journal reader beside concurrent writers on several connections never skips an event', async (t) => {
    const { store, again } = await fresh();
    const writers = await Promise.all([again(), again(), again(), again()]);
    t.after(async () => {
      await store.close();
      for (const w of writers) await w.close();
    });
    const rounds = 25;
    let writing = true;
    const write = async (s: EntityStore, i: number): Promise<void> => {
      const key: EntityId = { kind: 'conc', key: `w${i}` };
      const l = await s.acquire({ ...key, owner: `o${i}`, ttlMs: 60_000 });
      assert.ok(l.acquired);
      for (let r = 0; r < rounds; r++)
        await s.write({
          ...key,
          token: l.token,
          expectedVersion: 2 * r,
          events: [`${i}.${2 * r}`, `${i}.${2 * r + 1}`],
        });
    };
    // The reader follows the journal as a projection does: from the last offset it saw.
    const seen: { offset: number; event: unknown }[] = [];
    const read = async (): Promise<void> => {
      for (;;) {
        const last = seen.at(-1)?.offset ?? 0;
        // Whether writing had ended, taken before the read: an empty batch from a read begun
        // while the last write was still committing says nothing about that write.
        const done = !writing;
        const batch = await store.readJournal({ kind: 'conc', after: last, limit: 7 });
        seen.push(...batch);
        if (done && batch.length === 0) return;
        if (batch.length === 0) await new Promise((r) => setImmediate(r));
      }
    };
    const reader = read();
    await Promise.all(writers.map((w, i) => write(w, i)));
    writing = false;
    await reader;
    const final = await store.readJournal({ kind: 'conc', after: 0, limit: 10_000 });
    assert.equal(final.length, writers.length * rounds * 2);
    assert.deepEqual(
      seen.map((e) => e.offset),
      final.map((e) => e.offset),
      'the live reader saw every event, in the final order',
    );
  });
}
