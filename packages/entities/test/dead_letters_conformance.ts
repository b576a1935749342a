// The dead-letter conformance suite (contract/dead_letters.ts's rules), run against each store
// (store.dead_letters.test.ts: memory and SQLite; store.postgres.test.ts: PostgreSQL): failed
// attempts counted under the fencing token (a stale one counts nothing), the move to the dead
// letters at maxAttempts in the same step (never in both places, never in neither), a sender's
// retry of a dead-lettered id is a duplicate, retry moves it back with its count at 0, drop
// records it processed, a file or database reopened keeps them, and bad input gets coded errors.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { ignoredThenAwaited } from '@ergo-ts/test-support';

import { isDeadLetterStore, type DeadLetterStore, type EntityId, type EntityStore } from '../src/index.js';
import type { Fresh } from './store_conformance.js';

type Both = EntityStore & DeadLetterStore;

/** Registers the dead-letter conformance tests; `fresh` gives each test an empty store of its own. */
export function deadLetterConformance(fresh: () => Promise<Fresh>): void {
  const id: EntityId = { kind: 'counter', key: 'p1' };
  const open = async (t: {
    after(fn: () => Promise<void>): void;
  }): Promise<{ s: Both; again: () => Promise<Both> }> => {
    const { store, again } = await fresh();
    t.after(() => store.close());
    assert.ok(isDeadLetterStore(store), `${store.name} keeps dead letters`);
    return { s: store as Both, again: () => again() as Promise<Both> };
  };
  const lease = async (s: Both, key = 'p1', owner = 'a'): Promise<number> => {
    const l = await s.acquire({ kind: 'counter', key, owner, ttlMs: 60_000 });
    assert.ok(l.acquired);
    return l.token;
  };
  const failed = (s: Both, token: number, messageId: string, maxAttempts = 3) =>
    s.inboxFailed({ ...id, token, messageId, error: `boom ${messageId}`, maxAttempts });

  test('dead letters: failures are counted under the token; at maxAttempts the message leaves the inbox for the dead letters in one step', async (t) => {
    const { s, again } = await open(t);
    const token = await lease(s);
    assert.equal(await s.enqueue(id, 'm1', { add: 1 }), 'accepted');
    assert.equal(await s.enqueue(id, 'm2', { add: 2 }), 'accepted');
    assert.deepEqual(await failed(s, token, 'm1'), { attempts: 1, deadLettered: false });
    assert.deepEqual(await failed(s, token, 'm1'), { attempts: 2, deadLettered: false });
    // A stale token counts nothing.
    await ignoredThenAwaited(() => failed(s, token + 1, 'm1'), 'ERR_ENTITY_STALE_TOKEN');
    assert.deepEqual(await failed(s, token, 'm1'), { attempts: 3, deadLettered: true });
    assert.deepEqual(
      (await s.inbox(id)).map((m) => m.id),
      ['m2'],
    );
    const dead = await s.deadLetters({ limit: 10 });
    assert.equal(dead.length, 1);
    const d = dead[0]!;
    assert.deepEqual(
      { kind: d.kind, key: d.key, id: d.id, message: d.message, attempts: d.attempts, error: d.error },
      { kind: 'counter', key: 'p1', id: 'm1', message: { add: 1 }, attempts: 3, error: 'boom m1' },
    );
    assert.ok(d.deadAt >= d.acceptedAt && d.acceptedAt > 0, 'accepted, then moved');
    // A sender's retry of the id is a duplicate: the poison message stays out of the inbox.
    assert.equal(await s.enqueue(id, 'm1', { add: 1 }), 'duplicate');
    assert.deepEqual(
      (await s.pendingInbox!(10)).map((p) => p.count),
      [1],
    );
    // A message no longer in the inbox (moved, or handled) counts nothing.
    assert.deepEqual(await failed(s, token, 'm1'), { attempts: 0, deadLettered: false });
    assert.deepEqual(await failed(s, token, 'nope'), { attempts: 0, deadLettered: false });
    // Kept: the store opened again reads them.
    const s2 = await again();
    t.after(() => s2.close());
    assert.deepEqual(
      (await s2.deadLetters({ limit: 10 })).map((x) => x.id),
      ['m1'],
    );
  });

  test('dead letters: retry moves one back to the end of the inbox with its count at 0; drop records its id processed', async (t) => {
    const { s } = await open(t);
    const token = await lease(s);
    for (const m of ['m1', 'm2', 'm3']) await s.enqueue(id, m, { add: 1 });
    assert.equal((await failed(s, token, 'm1', 1)).deadLettered, true);
    assert.equal((await failed(s, token, 'm2', 1)).deadLettered, true);
    assert.deepEqual(await s.retryDeadLetter(id, 'm1'), { id: 'm1', message: { add: 1 } });
    assert.deepEqual(
      (await s.inbox(id)).map((m) => m.id),
      ['m3', 'm1'],
    );
    assert.deepEqual(await failed(s, token, 'm1', 2), { attempts: 1, deadLettered: false }, 'counted from 0 again');
    assert.equal(await s.retryDeadLetter(id, 'm1'), undefined, 'no such dead letter any more');
    assert.equal(await s.dropDeadLetter(id, 'm2'), true);
    assert.equal(await s.dropDeadLetter(id, 'm2'), false);
    assert.equal(await s.processed(id, 'm2'), true);
    assert.equal(await s.enqueue(id, 'm2', { add: 1 }), 'duplicate');
    assert.deepEqual(await s.deadLetters({ limit: 10 }), []);
  });

  test('dead letters: the list is oldest first, by kind, bounded; a shard lease fences the count; bad input gets ERR_ENTITY_INCORRECT', async (t) => {
    const { s } = await open(t);
    const shard = await s.acquire({ kind: '~shard', key: '7', owner: 'a', ttlMs: 60_000 });
    assert.ok(shard.acquired);
    const fence = { token: shard.token, lease: { kind: '~shard', key: '7' } };
    for (const [kind, key] of [
      ['counter', 'x'],
      ['other', 'y'],
      ['counter', 'z'],
    ] as const) {
      await s.enqueue({ kind, key }, 'm', 1);
      const r = await s.inboxFailed({ kind, key, ...fence, messageId: 'm', error: 'e', maxAttempts: 1 });
      assert.equal(r.deadLettered, true);
    }
    assert.deepEqual(
      (await s.deadLetters({ limit: 10 })).map((d) => d.key),
      ['x', 'y', 'z'],
    );
    assert.deepEqual(
      (await s.deadLetters({ kind: 'counter', limit: 10 })).map((d) => d.key),
      ['x', 'z'],
    );
    assert.deepEqual(
      (await s.deadLetters({ limit: 1 })).map((d) => d.key),
      ['x'],
    );
    await ignoredThenAwaited(() => s.deadLetters({ limit: 0 }), 'ERR_ENTITY_INCORRECT');
    await ignoredThenAwaited(() => s.deadLetters({ kind: '', limit: 1 }), 'ERR_ENTITY_INCORRECT');
    await ignoredThenAwaited(
      () => s.inboxFailed({ ...id, token: 1, messageId: '', error: '', maxAttempts: 1 }),
      'ERR_ENTITY_INCORRECT',
    );
    await ignoredThenAwaited(
      () => s.inboxFailed({ ...id, token: 1, messageId: 'm', error: '', maxAttempts: 0 }),
      'ERR_ENTITY_INCORRECT',
    );
    await ignoredThenAwaited(() => s.retryDeadLetter(id, ''), 'ERR_ENTITY_INCORRECT');
    await ignoredThenAwaited(() => s.dropDeadLetter({ kind: '', key: 'k' }, 'm'), 'ERR_ENTITY_INCORRECT');
  });
}
