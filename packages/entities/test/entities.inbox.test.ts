// The inbox sweeper in one process (runtime/inbox_sweeper.ts; the distributed cases are in
// inbox_cases.ts): messages left in a key's inbox (as an owner that died after acknowledging them
// leaves them) are handled once the runtime starts, without a call touching the key, its figures
// show in stats(), a store without `pendingInbox` runs no sweeper, and its options are checked.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { UnhandledWatch, eventually } from '@ergo-ts/test-support';
import { startNode, type Node } from 'ergo-ts';

import { INBOX_DEFAULTS, MemoryStore, entity, startEntities, type EntityStore } from '../src/index.js';
import { counterKind } from './counter.js';

const watch = new UnhandledWatch('@ergo-ts/entities inbox sweeper');
let n = 0;
before(() => watch.start());
after(() => watch.stop());

async function node(t: { after(fn: () => Promise<void>): void }): Promise<Node> {
  const nd = await startNode(`inbox${++n}_${process.pid}@localhost`, { log: { level: 'error' } });
  t.after(() => nd.stop());
  return nd;
}

test('messages waiting in inboxes are handled once the runtime starts, with no call to their keys', async (t) => {
  const store = new MemoryStore();
  const kind = counterKind(0);
  const keys = ['w1', 'w2', 'w3'];
  for (const key of keys) {
    assert.equal(await store.enqueue({ kind: 'counter', key }, `m-${key}`, { add: 2 }), 'accepted');
    assert.equal(await store.enqueue({ kind: 'counter', key }, `n-${key}`, { add: 3 }), 'accepted');
  }
  // A kind this node does not host: left alone (and not counted).
  await store.enqueue({ kind: 'other', key: 'x' }, 'm', 1);
  const nd = await node(t);
  const entities = await startEntities(nd, { store, kinds: [kind], inbox: { pollMs: 50, maxInFlight: 2 } });
  t.after(() => entities.stop());
  await eventually(async () => {
    for (const key of keys) if ((await store.load({ kind: 'counter', key })).version !== 2) return false;
    return true;
  }, 'every waiting message handled');
  for (const key of keys)
    assert.deepEqual(
      (await store.load({ kind: 'counter', key })).state,
      { n: 5, adds: 2 },
      `${key}: each message once`,
    );
  assert.deepEqual(
    (await store.pendingInbox(10)).map((p) => p.kind),
    ['other'],
  );
  await eventually(() => entities.stats().inbox?.pendingKeys === 0, 'the last scan saw nothing waiting');
  const s = entities.stats().inbox!;
  assert.equal(s.activated, 3);
  assert.equal(s.failed, 0);
  assert.equal(s.oldestPendingAgeMs, 0);
  assert.deepEqual(
    entities
      .active()
      .map((a) => a.key)
      .sort(),
    keys,
  );
  // A key the sweeper activated answers a call from its handled state.
  assert.equal(await entities.call(entity(kind, 'w1'), 'get'), 5);
});

test('a store without pendingInbox runs no sweeper (stats have no inbox); bad inbox options are refused', async (t) => {
  const memory = new MemoryStore();
  const { pendingInbox: _, ...rest } = Object.fromEntries(
    (
      [
        'name',
        'acquire',
        'renew',
        'release',
        'load',
        'events',
        'write',
        'enqueue',
        'inbox',
        'processed',
        'lease',
        'close',
        'readJournal',
        'loadOffset',
        'saveOffset',
        'pendingInbox',
      ] as const
    ).map((k) => [
      k,
      typeof memory[k] === 'function' ? (memory[k] as (...a: unknown[]) => unknown).bind(memory) : memory[k],
    ]),
  ) as Record<string, unknown>;
  const nd = await node(t);
  const entities = await startEntities(nd, { store: rest as unknown as EntityStore, kinds: [counterKind(0)] });
  t.after(() => entities.stop());
  assert.equal(entities.stats().inbox, undefined);
  await entities.stop();
  for (const inbox of [{ pollMs: 0 }, { batch: 1.5 }, { maxInFlight: -1 }, { pollMs: 2 ** 31 }])
    await assert.rejects(startEntities(nd, { store: memory, kinds: [counterKind(0)], inbox }), {
      code: 'ERR_ENTITY_INCORRECT',
      message: /inbox\.(pollMs|batch|maxInFlight)/,
    });
  assert.deepEqual(INBOX_DEFAULTS, { pollMs: 1000, batch: 256, maxInFlight: 32, retryCapMs: 60_000, maxAttempts: 10 });
});
