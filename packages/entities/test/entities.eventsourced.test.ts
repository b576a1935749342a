// Event-sourced entities on one node with a SQLite store on a temporary file: persisted events
// are stored (type, schema version) before a call's reply and folded into the state; an
// activation rebuilds from the latest snapshot plus the events after it; snapshots every
// `snapshotEvery` events and on passivation; events stored with an older schema version are
// upcast; an event that fails its schema is refused and writes nothing; a persist under a stale
// token is refused; durable sends are applied once per id; a projection resumes after a restart
// from its stored offset without losing an event.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { UnhandledWatch, eventually } from '@ergo-ts/test-support';
import { Actor, startNode, type Node, type PID, type Ref } from 'ergo-ts';

import {
  SqliteStore,
  defineEventSourcedEntity,
  entity,
  startEntities,
  startProjection,
  type Entities,
  type JournalEvent,
} from '../src/index.js';
import { CartEntity, CartEvents, CartProtocol, cartKind } from './cart.js';
import { EventLog } from './events.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-es-'));
const watch = new UnhandledWatch('@ergo-ts/entities event sourcing');
const log = new EventLog();
let n = 0;
before(() => watch.start());
after(() => {
  log.close();
  rmSync(dir, { recursive: true, force: true });
  watch.stop();
});

type Kind = ReturnType<typeof cartKind>;

/** A node with the runtime on `path` (a new file unless given); stopped after the test. */
async function setup(
  t: { after(fn: () => Promise<void> | void): void },
  kind: Kind = cartKind(),
  path = join(dir, `es${++n}.db`),
): Promise<{ node: Node; store: SqliteStore; entities: Entities; kind: Kind; path: string }> {
  const store = SqliteStore.open(path);
  const node = await startNode(`es${++n}_${process.pid}@localhost`, { log: { level: 'warning' } });
  const entities = await startEntities(node, { leaseScope: 'key', store, kinds: [kind] });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await entities.stop();
    await node.stop();
    await store.close();
  };
  t.after(stop);
  return { node, store, entities, kind, path };
}

test('persisted events are stored with their type and schema version before the reply, and folded into the state', async (t) => {
  const { store, entities, kind } = await setup(t);
  const c = entity(kind, 'c1');
  assert.equal(await entities.call(c, { put: 'apple', qty: 2 }), 1);
  // The reply came after the write.
  assert.deepEqual(await store.events({ kind: 'cart', key: 'c1' }, 0), [
    { version: 1, event: { type: 'added', sku: 'apple', qty: 2 }, type: 'added', schemaVersion: 2 },
  ]);
  assert.equal(await entities.call(c, { putTwo: 'pear' }), 3);
  assert.equal(await entities.call(c, { remove: 'apple' }), 4);
  assert.deepEqual(await entities.call(c, 'items'), { pear: 2 });
  const types = (await store.readJournal({ kind: 'cart', after: 0, limit: 10 })).map((e) => e.type);
  assert.deepEqual(types, ['added', 'added', 'added', 'removed']);
  // A call that persists nothing writes nothing.
  assert.deepEqual(await entities.call(c, 'items'), { pear: 2 });
  assert.equal((await store.events({ kind: 'cart', key: 'c1' }, 0)).length, 4);
});

test('an event that fails its schema is refused with ERR_ENTITY_EVENT_INVALID, writes nothing, and the activation goes on', async (t) => {
  const { store, entities, kind } = await setup(t);
  const c = entity(kind, 'v1');
  assert.equal(await entities.call(c, { put: 'a', qty: 1 }), 1);
  const token = (await store.lease({ kind: 'cart', key: 'v1' }))!.token;
  await assert.rejects(entities.call(c, 'bad'), { code: 'ERR_ENTITY_EVENT_INVALID' });
  assert.equal((await store.events({ kind: 'cart', key: 'v1' }, 0)).length, 1);
  assert.deepEqual(await entities.call(c, 'items'), { a: 1 });
  assert.equal((await store.lease({ kind: 'cart', key: 'v1' }))!.token, token, 'the same activation');
  // Assigning the state directly is refused too, with a code.
  assert.equal(await entities.call(c, 'assign'), 'ERR_ENTITY_INCORRECT');
  assert.deepEqual(await entities.call(c, 'items'), { a: 1 });
});

test('snapshots every snapshotEvery events (in the events’ transaction) and on passivation; activation rebuilds from snapshot + events', async (t) => {
  // Passivation only once the four calls are done: a second's idleness (50 ms passivated it between
  // two calls under load, and the snapshot came at the passivation instead of the third event).
  const kind = cartKind({ snapshotEvery: 3, passivateAfterMs: 1000 });
  const { store, entities } = await setup(t, kind);
  const c = entity(kind, 's1');
  const id = { kind: 'cart', key: 's1' };
  for (let i = 1; i <= 4; i++) assert.equal(await entities.call(c, { put: `i${i}`, qty: i }), i);
  // A snapshot at version 3 (the third event's write), none at 4 yet.
  const snap = await store.load(id);
  assert.equal(snap.version, 3);
  assert.deepEqual(snap.state, { items: { i1: 1, i2: 2, i3: 3 } });
  const from = log.events.length;
  await log.wait((e) => e.event === 'passivated' && e.key === 's1', 'passivated', from);
  // Passivation wrote a snapshot at the head.
  assert.deepEqual(await store.load(id), { state: { items: { i1: 1, i2: 2, i3: 3, i4: 4 } }, version: 4 });
  assert.equal((await store.events(id, 0)).length, 4, 'the events stay');
  // Rebuild from the snapshot plus the events after it: replace the snapshot by a marked one (as
  // if the fold had been different): the activation starts from it, so it reads the snapshot.
  const lease = await store.acquire({ ...id, owner: 'test#1', ttlMs: 60_000 });
  assert.ok(lease.acquired);
  await store.write({ ...id, token: lease.token, expectedVersion: 4, events: [], state: { items: { marker: 1 } } });
  await store.write({
    ...id,
    token: lease.token,
    expectedVersion: 4,
    events: [{ type: 'added', sku: 'late', qty: 5 }],
    eventMeta: [{ type: 'added', schemaVersion: 2 }],
  });
  await store.release(id, lease.token);
  assert.deepEqual(await entities.call(c, 'items'), { marker: 1, late: 5 });
  assert.equal(await entities.call(c, { put: 'next', qty: 1 }), 6);
});

test('events stored with an older schema version are upcast when the entity rebuilds', async (t) => {
  const { store, entities, kind } = await setup(t);
  const id = { kind: 'cart', key: 'u1' };
  const lease = await store.acquire({ ...id, owner: 'old-version#1', ttlMs: 60_000 });
  assert.ok(lease.acquired);
  // Written by an older version of the kind: `added` v1 had no qty.
  await store.write({
    ...id,
    token: lease.token,
    expectedVersion: 0,
    events: [
      { type: 'added', sku: 'a' },
      { type: 'added', sku: 'a' },
      { type: 'removed', sku: 'zz' },
    ],
    eventMeta: [
      { type: 'added', schemaVersion: 1 },
      { type: 'added', schemaVersion: 1 },
      { type: 'removed', schemaVersion: 1 },
    ],
  });
  await store.release(id, lease.token);
  assert.deepEqual(await entities.call(entity(kind, 'u1'), 'items'), { a: 2 });
  assert.equal(await entities.call(entity(kind, 'u1'), { put: 'a', qty: 3 }), 4);
  assert.deepEqual(await entities.call(entity(kind, 'u1'), 'items'), { a: 5 });
  // A kind that lacks an upcaster for a version below the current one is refused when declared.
  assert.throws(
    () =>
      defineEventSourcedEntity('cart2', {
        protocol: CartProtocol,
        events: CartEvents,
        entity: CartEntity,
        initialState: () => ({ items: {} }),
        applyEvent: (s) => s,
        eventVersions: { added: 3 },
        upcast: { added: { 1: (o: unknown) => o } },
      }),
    { code: 'ERR_ENTITY_INCORRECT' },
  );
});

test('a persist under a stale token is refused (ERR_ENTITY_STALE_TOKEN), writes nothing, and ends the activation', async (t) => {
  const { store, entities, kind } = await setup(t);
  const c = entity(kind, 'f1');
  const id = { kind: 'cart', key: 'f1' };
  assert.equal(await entities.call(c, { put: 'a', qty: 1 }), 1);
  const token = (await store.lease(id))!.token;
  await store.release(id, token);
  const other = await store.acquire({ ...id, owner: 'intruder#1', ttlMs: 60_000 });
  assert.ok(other.acquired && other.token === token + 1);
  const from = log.events.length;
  await assert.rejects(entities.call(c, { put: 'b', qty: 1 }), { code: 'ERR_ENTITY_STALE_TOKEN' });
  const refused = await log.wait((e) => e.event === 'refused' && e.key === 'f1', 'refused', from);
  assert.equal(refused.token, token);
  await log.wait((e) => e.event === 'stopped' && e.key === 'f1', 'stopped', from);
  assert.deepEqual(
    (await store.events(id, 0)).map((e) => e.event),
    [{ type: 'added', sku: 'a', qty: 1 }],
  );
});

test('durable sends to an event-sourced entity: applied once per id, the id recorded with the events; the inbox replays on activation', async (t) => {
  const { store, entities, kind } = await setup(t);
  const c = entity(kind, 'd1');
  const id = { kind: 'cart', key: 'd1' };
  assert.equal(await entities.sendDurable(c, { add: 'a', qty: 1 }, 'm1'), 'accepted');
  assert.equal(await entities.sendDurable(c, { add: 'a', qty: 1 }, 'm1'), 'duplicate');
  assert.equal(await entities.sendDurable(c, { add: 'b', qty: 2 }, 'm2'), 'accepted');
  await eventually(async () => (await store.processed(id, 'm2')) && (await store.inbox(id)).length === 0, 'processed');
  assert.deepEqual(await entities.call(c, 'items'), { a: 1, b: 2 });
  assert.equal((await store.events(id, 0)).length, 2);
  assert.equal(await entities.sendDurable(c, { add: 'a', qty: 1 }, 'm1'), 'duplicate');
  // Accepted while no activation ran (enqueued straight into the store): replayed on activation, once.
  const id2 = { kind: 'cart', key: 'd2' };
  assert.equal(await store.enqueue(id2, 'x1', { add: 'z', qty: 4 }), 'accepted');
  assert.deepEqual(await entities.call(entity(kind, 'd2'), 'items'), { z: 4 });
  assert.equal(await store.processed(id2, 'x1'), true);
  assert.equal(await entities.sendDurable(entity(kind, 'd2'), { add: 'z', qty: 4 }, 'x1'), 'duplicate');
  assert.deepEqual(await entities.call(entity(kind, 'd2'), 'items'), { z: 4 });
});

/** A projection target process: records each event and acknowledges it by replying. */
class Recorder extends Actor {
  seen: JournalEvent[] = [];
  override handleCall(_from: PID, _ref: Ref, e: unknown): unknown {
    this.seen.push(e as JournalEvent);
    return 'ok';
  }
  override handleInspect(): Record<string, string> {
    return { seen: JSON.stringify(this.seen.map((e) => e.offset)) };
  }
}

test('a projection delivers every event in offset order and resumes after a restart from its stored offset, losing none', async (t) => {
  const first = await setup(t);
  const kind = first.kind;
  const puts = async (es: Entities, keys: string[], sku: string): Promise<void> => {
    for (const k of keys) await es.call(entity(kind, k), { put: sku, qty: 1 });
  };
  await puts(first.entities, ['p1', 'p2', 'p3'], 'gift-a');
  await puts(first.entities, ['p2'], 'plain');
  const got: JournalEvent[] = [];
  const p1 = await startProjection(first.node, {
    name: 'totals',
    store: first.store,
    kind,
    handler: (e) => {
      got.push(e);
    },
    batchSize: 2,
    pollIntervalMs: 20,
  });
  await eventually(() => got.length === 4, 'four delivered');
  await puts(first.entities, ['p3'], 'more');
  await eventually(() => got.length === 5, 'five delivered');
  await eventually(async () => (await first.store.loadOffset('totals')) === got[4]!.offset, 'offset stored');
  await p1.stop();
  // Written while no projection runs; then the node and store restart.
  await puts(first.entities, ['p1', 'p4'], 'late');
  await first.entities.stop();
  await first.node.stop();
  await first.store.close();
  const second = await setup(t, kind, first.path);
  const again: JournalEvent[] = [];
  const p2 = await startProjection(second.node, {
    name: 'totals',
    store: second.store,
    kind,
    handler: async (e) => {
      again.push(e);
    },
  });
  t.after(() => p2.stop());
  await eventually(() => again.length === 2, 'the two later events delivered');
  const all = [...got, ...again];
  for (let i = 1; i < all.length; i++) assert.ok(all[i]!.offset > all[i - 1]!.offset, 'in offset order, none twice');
  const journal = await second.store.readJournal({ kind: 'cart', after: 0, limit: 100 });
  assert.deepEqual(
    all.map((e) => e.offset),
    journal.map((e) => e.offset),
    'none lost',
  );
  assert.deepEqual(
    again.map((e) => [e.key, e.type, e.event]),
    [
      ['p1', 'added', { type: 'added', sku: 'late', qty: 1 }],
      ['p4', 'added', { type: 'added', sku: 'late', qty: 1 }],
    ],
  );
  // By tag, to a process that acknowledges each event by replying.
  const recorder = await second.node.spawn(Recorder, {});
  const p3 = await startProjection(second.node, {
    name: 'gifts',
    store: second.store,
    kind,
    tag: 'gift',
    handler: recorder,
  });
  t.after(() => p3.stop());
  await eventually(() => p3.delivered() === 3, 'three gifts delivered');
  assert.deepEqual(
    (await second.store.readJournal({ kind: 'cart', tag: 'gift', after: 0, limit: 10 })).map((e) => e.key),
    ['p1', 'p2', 'p3'],
  );
});

test('a projection whose handler fails gets the same event again; nothing after it is delivered first', async (t) => {
  const { node, store, entities, kind } = await setup(t);
  for (const k of ['h1', 'h2', 'h3']) await entities.call(entity(kind, k), { put: 'x', qty: 1 });
  const seen: string[] = [];
  let failures = 0;
  const p = await startProjection(node, {
    name: 'flaky',
    store,
    kind,
    retryIntervalMs: 10,
    handler: (e) => {
      if (e.key === 'h2' && failures < 2) {
        failures++;
        throw new Error('not now');
      }
      seen.push(e.key);
    },
  });
  t.after(() => p.stop());
  await eventually(() => seen.length === 3, 'all delivered');
  assert.deepEqual(seen, ['h1', 'h2', 'h3']);
  assert.equal(failures, 2);
});

test('an event-sourced host’s inspection shows its recent events', async (t) => {
  const { node, entities, kind } = await setup(t);
  const c = entity(kind, 'i1');
  for (let i = 0; i < 25; i++) await entities.call(c, { put: `s${i}`, qty: 1 });
  const h = await node.inspect('~entity/cart/i1');
  const recent = JSON.parse(h.recent_events!) as { version: number; type: string }[];
  assert.equal(recent.length, 20);
  assert.equal(recent[0]!.version, 6);
  assert.equal(recent.at(-1)!.version, 25);
  assert.equal(recent.at(-1)!.type, 'added');
});

test('an event-sourced activation that hands off (drain) writes a snapshot at its head first', async (t) => {
  const { store, entities, kind } = await setup(t);
  const c = entity(kind, 'h1');
  for (let i = 1; i <= 3; i++) assert.equal(await entities.call(c, { put: `x${i}`, qty: 1 }), i);
  assert.deepEqual(await store.load({ kind: 'cart', key: 'h1' }), { state: undefined, version: 0 }, 'no snapshot yet');
  const from = log.events.length;
  await entities.drain();
  await log.wait((e) => e.event === 'passivated' && e.key === 'h1' && e.reason === 'hand-off', 'handed off', from);
  assert.deepEqual(await store.load({ kind: 'cart', key: 'h1' }), {
    state: { items: { x1: 1, x2: 1, x3: 1 } },
    version: 3,
  });
});

test('a durable message’s handler persists once: a second persist is refused (ERR_ENTITY_INCORRECT) and its id stays with the first events', async (t) => {
  const { store, entities, kind } = await setup(t);
  const c = entity(kind, 't1');
  const id = { kind: 'cart', key: 't1' };
  const from = log.events.length;
  assert.equal(await entities.sendDurable(c, { addTwice: 'a' }, 'twice-1'), 'accepted');
  // The handler throws at its second persist: the activation ends (a panic of its process).
  await log.wait((e) => e.event === 'stopped' && e.key === 't1', 'stopped', from);
  assert.equal(await store.processed(id, 'twice-1'), true);
  assert.equal((await store.events(id, 0)).length, 1, 'the first persist, written with the id');
  // The next activation rebuilds it; the message is not applied again.
  assert.deepEqual(await entities.call(c, 'items'), { a: 1 });
  assert.equal(await entities.sendDurable(c, { addTwice: 'a' }, 'twice-1'), 'duplicate');
});
