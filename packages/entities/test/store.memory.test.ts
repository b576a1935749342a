// The in-memory store: the store conformance suite (store_conformance.ts, the same rules the SQLite
// and PostgreSQL stores keep; `again()` reopens the same data, as a second process would), and
// what is its own: values kept encoded (a value mutated after it was written or read does not
// change what is stored), lease expiry on an injected clock, and bad options. The reminder
// conformance suite (reminder_conformance.ts) runs on it too, 10^5 pending rows included.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { UnhandledWatch } from '@ergo-ts/test-support';
import { TestClock } from 'ergo-ts/testing';

import { MemoryStore, MemoryStoreData, jsonCodec, type StoreCodec } from '../src/index.js';
import { reminderConformance } from './reminder_conformance.js';
import { storeConformance } from './store_conformance.js';
import { statesConformance } from './states_conformance.js';

const watch = new UnhandledWatch('the in-memory entity store');
before(() => watch.start());
after(() => watch.stop());

const fresh = () => {
  const store = new MemoryStore();
  return Promise.resolve({ store, again: () => Promise.resolve(store.reopen()) });
};
storeConformance(fresh);
reminderConformance(fresh);
statesConformance(fresh);

const id = { kind: 'cart', key: 'c1' };

test('memory store: a value mutated after it was written, enqueued or read does not change what is stored', async () => {
  const store = new MemoryStore();
  const a = await store.acquire({ ...id, owner: 'a', ttlMs: 60_000 });
  assert.ok(a.acquired);
  const state = { items: ['book'] };
  await store.write({ ...id, token: a.token, expectedVersion: 0, state, events: [{ added: 'book' }] });
  state.items.push('pen'); // after the write: the store kept what was written
  const message = { add: 'pen' };
  await store.enqueue(id, 'm1', message);
  message.add = 'changed';
  const loaded = await store.load(id);
  assert.deepEqual(loaded, { state: { items: ['book'] }, version: 1 });
  (loaded.state as { items: string[] }).items.push('mutated'); // a read is a copy too
  assert.deepEqual((await store.load(id)).state, { items: ['book'] });
  assert.deepEqual(await store.inbox(id), [{ id: 'm1', message: { add: 'pen' } }]);
  assert.deepEqual(await store.events(id, 0), [{ version: 1, event: { added: 'book' }, type: '', schemaVersion: 1 }]);
  // The default codec keeps a Date (structured_codec.test.ts has the rest).
  await store.write({ ...id, token: a.token, expectedVersion: 1, state: { at: new Date(0) } });
  assert.deepEqual((await store.load(id)).state, { at: new Date(0) });
  await store.close();
});

test('memory store: with jsonCodec, what JSON does not keep is not kept (a Date comes back a string, a bigint is refused)', async () => {
  const store = new MemoryStore({ codec: jsonCodec });
  const a = await store.acquire({ ...id, owner: 'a', ttlMs: 60_000 });
  assert.ok(a.acquired);
  await store.write({ ...id, token: a.token, expectedVersion: 0, state: { at: new Date(0) } });
  assert.deepEqual((await store.load(id)).state, { at: '1970-01-01T00:00:00.000Z' });
  await assert.rejects(store.write({ ...id, token: a.token, expectedVersion: 1, state: { big: 1n } }), {
    code: 'ERR_ENTITY_STORE_CODEC',
  });
  await assert.rejects(store.enqueue(id, 'm', 1n), { code: 'ERR_ENTITY_STORE_CODEC' });
  assert.deepEqual(await store.load(id), { state: { at: '1970-01-01T00:00:00.000Z' }, version: 1 });
  assert.deepEqual(await store.inbox(id), []);
  await store.close();
});

test('memory store: leases expire on the injected clock only', async () => {
  const clock = new TestClock(Date.UTC(2025, 0, 1));
  const store = new MemoryStore({ clock });
  const a = await store.acquire({ ...id, owner: 'a', ttlMs: 1000 });
  assert.deepEqual(a, { acquired: true, token: 1 });
  assert.deepEqual(await store.lease(id), { token: 1, owner: 'a', expiresAt: Date.UTC(2025, 0, 1) + 1000 });
  clock.advance(999);
  assert.deepEqual(await store.acquire({ ...id, owner: 'b', ttlMs: 1000 }), {
    acquired: false,
    holder: 'a',
    expiresAt: Date.UTC(2025, 0, 1) + 1000,
  });
  // A renewal extends it from the clock's now.
  assert.deepEqual(await store.renew(id.kind, 'a', new Map([[id.key, 1]]), 1000), []);
  clock.advance(1000);
  assert.deepEqual(await store.acquire({ ...id, owner: 'b', ttlMs: 1000 }), { acquired: true, token: 2 });
  assert.deepEqual(await store.renew(id.kind, 'a', new Map([[id.key, 1]]), 1000), [id.key]);
  await store.close();
});

test('memory store: a custom codec is used for every value; reopen shares the data, a closed store keeps it', async () => {
  let encoded = 0;
  const codec: StoreCodec = {
    encode: (v) => {
      encoded++;
      return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));
    },
    decode: (t) => JSON.parse(t) as unknown,
  };
  const store = new MemoryStore({ codec });
  const a = await store.acquire({ ...id, owner: 'a', ttlMs: 60_000 });
  assert.ok(a.acquired);
  await store.write({ ...id, token: a.token, expectedVersion: 0, state: { big: 1n } });
  assert.equal(encoded, 1);
  await store.close();
  await assert.rejects(store.load(id), { code: 'ERR_ENTITY_STORE_CLOSED' });
  const again = store.reopen();
  assert.equal(again.data, store.data);
  assert.deepEqual(await again.load(id), { state: { big: '1n' }, version: 1 });
  // A store on data of its own sees nothing of it.
  assert.deepEqual(await new MemoryStore({}, new MemoryStoreData()).load(id), { state: undefined, version: 0 });
});

test('memory store: a bad codec, clock or data is refused with ERR_ENTITY_INCORRECT', () => {
  assert.throws(() => new MemoryStore({ codec: {} as StoreCodec }), { code: 'ERR_ENTITY_INCORRECT' });
  assert.throws(() => new MemoryStore({ clock: {} as TestClock }), { code: 'ERR_ENTITY_INCORRECT' });
  assert.throws(() => new MemoryStore({}, {} as MemoryStoreData), { code: 'ERR_ENTITY_INCORRECT' });
});
