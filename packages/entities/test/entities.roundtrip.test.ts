// Stored values round-trip exactly, or are refused when written, on the memory store, SQLite and
// PostgreSQL with their default codec (structuredCodec), through the real runtime: a state, the
// events of an event-sourced entity, a durable message and a reminder's payload holding Map, Set,
// Date, bigint, Uint8Array, undefined and a user key named like the codec's tag come back equal
// (deepStrictEqual: same classes) from the running entity, from the store, and after a restart
// (every store closed and opened again, a new node and runtime). A state, a durable message, a
// reminder payload or an event holding a function is refused with ERR_ENTITY_UNSTORABLE, which
// names the place; the caller gets it, the store holds what it held before, and the key works on.
// Rows written by jsonCodec (the default before) decode exactly as they did.

import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { test } from 'node:test';

import { eventually, filePostgres } from '@ergo-ts/test-support';
import { startNode, type Node } from 'ergo-ts';

import {
  MemoryStore,
  MemoryStoreData,
  PostgresStore,
  SqliteStore,
  entity,
  jsonCodec,
  startEntities,
  type Entities,
  type EntityStore,
  type ReminderStore,
  type StoreCodec,
} from '../src/index.js';
import { LedgerKind, RichKind, rich, unstorable, type Rich, type RichState } from './roundtrip_kinds.js';

const pg = filePostgres({ what: '@ergo-ts/entities values that round-trip', dirPrefix: 'ergo-entities-roundtrip-' });
const { dir, missing } = pg;

type Store = EntityStore & ReminderStore;

/** One store's place (a memory data set, a file, a table prefix): stores opened on it share its rows. */
interface Place {
  open(codec?: StoreCodec): Promise<Store>;
}

let n = 0;
const backends: { name: string; place: () => Place; skip?: string }[] = [
  {
    name: 'memory store',
    place: () => {
      const data = new MemoryStoreData();
      return { open: (codec) => Promise.resolve(new MemoryStore(codec === undefined ? {} : { codec }, data)) };
    },
  },
  {
    name: 'SQLite',
    place: () => {
      const path = join(dir, `rt${++n}.db`);
      return { open: (codec) => Promise.resolve(SqliteStore.open(path, codec === undefined ? {} : { codec })) };
    },
  },
  {
    name: 'PostgreSQL',
    ...(missing === undefined ? {} : { skip: missing }),
    place: () => {
      const tablePrefix = `rt${++n}_`;
      return {
        open: (codec) => PostgresStore.open(pg.url, { tablePrefix, ...(codec === undefined ? {} : { codec }) }),
      };
    },
  },
];

/** A node with the runtime on a store opened on `place`; `stop` ends all three (the store closed). */
async function start(place: Place): Promise<{ entities: Entities; store: Store; node: Node; stop(): Promise<void> }> {
  const store = await place.open();
  const node = await startNode(`rt${++n}_${process.pid}@localhost`, { log: { level: 'error' } });
  const entities = await startEntities(node, {
    leaseScope: 'key',
    store,
    kinds: [RichKind, LedgerKind],
    reminders: { pollMs: 20 },
  });
  let stopped = false;
  return {
    entities,
    store,
    node,
    async stop() {
      if (stopped) return;
      stopped = true;
      await entities.stop();
      await node.stop();
      await store.close();
    },
  };
}

const richKey = { kind: RichKind.name, key: 'k1' };
const ledgerKey = { kind: LedgerKind.name, key: 'l1' };
const r = entity(RichKind, richKey.key);
const l = entity(LedgerKind, ledgerKey.key);

for (const b of backends) {
  test(`${b.name}: a state, events, a durable message and a reminder payload come back exactly, after a restart too`, async (t) => {
    if (b.skip !== undefined) return t.skip(b.skip);
    const place = b.place();
    let run = await start(place);
    t.after(() => run.stop());

    // A state: saved before the reply, read back from the store as it was.
    assert.equal(await run.entities.call(r, { put: rich(1) }), 'ok');
    assert.deepStrictEqual((await run.store.load(richKey)).state, { durable: [], put: rich(1) });
    // A durable message: stored in the inbox before the acknowledgement, then handled.
    assert.equal(await run.entities.sendDurable(r, { durable: rich(2) }, 'm1'), 'accepted');
    // A reminder's payload: stored with the reminder, delivered (a durable message) when it fires.
    assert.equal(await run.entities.call(r, { remind: 'later', payload: rich(3), afterMs: 1 }), 'ok');
    const expected: RichState = { durable: [rich(2)], put: rich(1), fired: rich(3) };
    await eventually(async () => {
      const s = (await run.entities.call(r, 'get')) as RichState;
      return s.fired !== undefined && s.durable.length === 1;
    }, 'the durable message handled and the reminder fired');
    assert.deepStrictEqual(await run.entities.call(r, 'get'), expected);
    // Events: stored before the reply, folded into the state.
    assert.equal(await run.entities.call(l, { set: rich(4) }), 1);
    assert.equal(await run.entities.call(l, { set: rich(5) }), 2);
    assert.deepStrictEqual(await run.entities.call(l, 'get'), [rich(4), rich(5)]);

    // Everything closed, opened again on the same rows: a new node, runtime and store.
    await run.stop();
    run = await start(place);
    assert.deepStrictEqual((await run.store.load(richKey)).state, expected);
    assert.deepStrictEqual(await run.entities.call(r, 'get'), expected);
    assert.deepStrictEqual(
      (await run.store.events(ledgerKey, 0)).map((e) => e.event),
      [rich(4), rich(5)].map((value) => ({ type: 'set', value })),
    );
    assert.deepStrictEqual(await run.entities.call(l, 'get'), [rich(4), rich(5)]);
    // A reminder waiting in the store (due in an hour) keeps its payload across a restart as well.
    assert.equal(await run.entities.call(r, { remind: 'later/again', payload: rich(6), afterMs: 3_600_000 }), 'ok');
    await run.stop();
    const store = await place.open();
    t.after(() => store.close());
    assert.deepStrictEqual(
      (await store.reminders(richKey)).map((x) => [x.name, x.payload]),
      [['later/again', rich(6)]],
    );
  });

  test(`${b.name}: what cannot be kept exactly is refused when written (ERR_ENTITY_UNSTORABLE, naming the place); nothing is written`, async (t) => {
    if (b.skip !== undefined) return t.skip(b.skip);
    const run = await start(b.place());
    t.after(() => run.stop());
    const { entities, store } = run;
    const refused = (where: string) => (e: unknown) => {
      assert.equal((e as { code?: unknown }).code, 'ERR_ENTITY_UNSTORABLE');
      assert.ok((e as Error).message.endsWith(`${where}.items.get("a").when: a function`), (e as Error).message);
      return true;
    };
    assert.equal(await entities.call(r, { put: rich(1) }), 'ok');
    const before = await store.load(richKey);

    // A state: the save after the handler is refused; the caller gets the code, the store keeps
    // the last state, and the next call activates the key again from it.
    await assert.rejects(entities.call(r, 'bad'), refused('state'));
    assert.deepStrictEqual(await store.load(richKey), before);
    assert.deepStrictEqual(await entities.call(r, 'get'), { durable: [], put: rich(1) });

    // A durable message: refused before the inbox holds it.
    await assert.rejects(
      entities.sendDurable(r, { durable: unstorable() as Rich }, 'bad-1'),
      refused('message.durable'),
    );
    assert.deepStrictEqual(await store.inbox(richKey), []);
    assert.equal(await store.processed(richKey, 'bad-1'), false);

    // A reminder's payload: `remind` rejects in the handler, and no reminder is stored.
    assert.deepStrictEqual(await entities.call(r, { remind: 'later/bad', payload: unstorable(), afterMs: 1 }), {
      code: 'ERR_ENTITY_UNSTORABLE',
      message: 'entity: value cannot be stored exactly: reminders["later/bad"].payload.items.get("a").when: a function',
    });
    assert.deepStrictEqual(await store.reminders(richKey), []);

    // An event: persist rejects, the caller gets the code, no event is stored.
    await assert.rejects(entities.call(l, 'setBad'), refused('events[0].value'));
    assert.deepStrictEqual(await store.events(ledgerKey, 0), []);
    assert.deepStrictEqual(await store.load(ledgerKey), { state: undefined, version: 0 });
    assert.equal(await entities.call(l, { set: rich(7) }), 1);
    assert.deepStrictEqual(await entities.call(l, 'get'), [rich(7)]);
    assert.deepStrictEqual(await store.load(richKey), before);
  });

  test(`${b.name}: rows written by jsonCodec decode exactly as they did; plain values are written as jsonCodec writes them`, async (t) => {
    if (b.skip !== undefined) return t.skip(b.skip);
    const place = b.place();
    const id = { kind: 'old', key: 'o1' };
    // What jsonCodec wrote: dates as strings, and objects whose keys look like the new codec's tags.
    const state = { at: new Date(0), tagLike: { '~t': 'Map', v: [['a', 1]] }, list: [1, 'two', null] };
    const event = { '~t': 'BigInt', v: '12' };
    const message = { '~t': 'undefined' };
    const payload = { '~t': 'Date', v: 0 };
    const asJson = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;
    const old = await place.open(jsonCodec);
    const a = await old.acquire({ ...id, owner: 'o', ttlMs: 60_000 });
    assert.ok(a.acquired);
    await old.write({ ...id, token: a.token, expectedVersion: 0, state, events: [event] });
    assert.equal(await old.enqueue(id, 'm1', message), 'accepted');
    await old.putReminders(id, { token: a.token }, [{ name: 'r', shard: 0, dueAt: 1, payload }]);
    await old.close();

    const now = await place.open();
    t.after(() => now.close());
    assert.deepStrictEqual(await now.load(id), { state: asJson(state), version: 1 });
    assert.deepStrictEqual((await now.events(id, 0))[0]!.event, asJson(event));
    assert.deepStrictEqual(await now.inbox(id), [{ id: 'm1', message: asJson(message) }]);
    assert.deepStrictEqual((await now.reminders(id))[0]!.payload, asJson(payload));

    // Plain values the default codec writes are what jsonCodec writes: an old reader reads them.
    await now.write({ ...id, token: a.token, expectedVersion: 1, state: asJson(state) });
    await now.close();
    const reader = await place.open(jsonCodec);
    t.after(() => reader.close());
    assert.deepStrictEqual(await reader.load(id), { state: asJson(state), version: 2 });
    // A value with tags read by jsonCodec is an error, never a misread value.
    await reader.close();
    const tagged = await place.open();
    await tagged.write({ ...id, token: a.token, expectedVersion: 2, state: { at: new Date(0) } });
    await tagged.close();
    const misread = await place.open(jsonCodec);
    t.after(() => misread.close());
    await assert.rejects(misread.load(id), { code: 'ERR_ENTITY_STORE_CODEC' });
  });
}
