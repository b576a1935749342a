// Poison events: a stored event the kind's `applyEvent` (or an upcaster) throws on when an activation replays it
// (written by an older version of the code, or by a fold that changed since). As Akka
// Persistence's recovery failure: the activation fails before its entity sees a message, with a
// stable code naming the kind, the key and the event's version, and writes nothing; every call
// to the key fails the same way (the event stays, for the operator to repair), other keys of the
// kind are untouched.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { UnhandledWatch } from '@ergo-ts/test-support';
import { LogLevel, startNode } from 'ergo-ts';

import { ErrEventPoison, SqliteStore, defineEventSourcedEntity, entity, startEntities } from '../src/index.js';
import { CartEntity, CartEvents, CartProtocol, type CartState } from './cart.js';
import { LogRecords } from './log_records.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-poison-'));
const watch = new UnhandledWatch('@ergo-ts/entities poison events');
before(() => watch.start());
after(() => {
  rmSync(dir, { recursive: true, force: true });
  watch.stop();
});

/** The cart's fold, except that it throws on the sku `poison` (a fold that changed since). */
const kind = defineEventSourcedEntity('cart', {
  protocol: CartProtocol,
  events: CartEvents,
  entity: CartEntity,
  initialState: (): CartState => ({ items: {} }),
  applyEvent: (state, event) => {
    if (event.sku === 'poison') throw new RangeError('sku poison is not sold any more');
    if (event.type === 'removed') return state;
    return { items: { ...state.items, [event.sku]: (state.items[event.sku] ?? 0) + event.qty } };
  },
  eventVersions: { added: 2 },
  upcast: {
    added: {
      1: (old: { type: 'added'; sku: string }) => {
        if (old.sku === 'old-poison') throw new TypeError('no upcast for old-poison');
        return { ...old, qty: 1 };
      },
    },
  },
  passivateAfterMs: 0,
});

/** Stores `events` for cart `key` as older code did (its own lease, each at `schemaVersion`). */
async function writtenBefore(store: SqliteStore, key: string, events: unknown[], schemaVersion: number): Promise<void> {
  const id = { kind: 'cart', key };
  const lease = await store.acquire({ ...id, owner: 'old-version#1', ttlMs: 60_000 });
  assert.ok(lease.acquired);
  await store.write({
    ...id,
    token: lease.token,
    expectedVersion: 0,
    events,
    eventMeta: events.map(() => ({ type: 'added', schemaVersion })),
  });
  await store.release(id, lease.token);
}

test('a stored event the fold or an upcaster throws on fails every activation of its key with ERR_ENTITY_EVENT_POISON naming kind, key and version; nothing is written; other keys work', async (t) => {
  const store = SqliteStore.open(join(dir, 'poison.db'));
  const node = await startNode(`poison_${process.pid}@localhost`, { log: { level: 'warning' } });
  const records = new LogRecords(node);
  const entities = await startEntities(node, { store, kinds: [kind] });
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  // Written by an older version of the code: two good events around a poisoned one.
  const id = { kind: 'cart', key: 'p1' };
  await writtenBefore(
    store,
    'p1',
    [
      { type: 'added', sku: 'a', qty: 1 },
      { type: 'added', sku: 'poison', qty: 1 },
      { type: 'added', sku: 'b', qty: 1 },
    ],
    2,
  );

  for (let i = 0; i < 2; i++) {
    const err = await entities.call(entity(kind, 'p1'), 'items').then(
      () => assert.fail('the call to a poisoned key succeeded'),
      (e: unknown) => e as Error & { code?: string },
    );
    assert.ok(ErrEventPoison.is(err), `ERR_ENTITY_EVENT_POISON, got ${String(err)} (${err.code})`);
    assert.match(err.message, /cart\/p1/);
    assert.match(err.message, /version 2\b/);
    assert.match(err.message, /sku poison is not sold any more/);
  }
  // The operator is told at error level, once per failed activation.
  assert.equal(
    records.lines(LogLevel.Error, /ERR_ENTITY_EVENT_POISON|cannot be replayed/).length,
    2,
    JSON.stringify(records.errors()),
  );
  // Nothing written: the three events and no snapshot.
  assert.equal((await store.events(id, 0)).length, 3);
  assert.equal((await store.load(id)).version, 0);
  // An upcaster that throws on a stored event is the same failure.
  await writtenBefore(store, 'p3', [{ type: 'added', sku: 'old-poison' }], 1);
  await assert.rejects(entities.call(entity(kind, 'p3'), 'items'), (err: Error) => {
    assert.ok(ErrEventPoison.is(err), String(err));
    assert.match(err.message, /cart\/p3.*version 1\b.*no upcast for old-poison/);
    return true;
  });
  // Other keys of the kind work.
  assert.equal(await entities.call(entity(kind, 'p2'), { put: 'c', qty: 2 }), 1);
  assert.deepEqual(await entities.call(entity(kind, 'p2'), 'items'), { c: 2 });
});
