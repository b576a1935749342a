// Projections on one node (memory store): bad options get ERR_ENTITY_INCORRECT and start nothing;
// a projection started with `cluster` takes its lease, stores its offset under the lease's token,
// stops running when another runner takes the lease over (its refused writes change nothing),
// takes it back when it is free, and resumes from the stored offset without a redelivery.

import { strict as assert } from 'node:assert';
import { after, before, test } from 'node:test';

import { UnhandledWatch, eventually } from '@ergo-ts/test-support';
import { startNode } from 'ergo-ts';
import type pg from 'pg';

import {
  MemoryStore,
  PROJECTION_LEASE_KIND,
  inspectEntities,
  projectionsOf,
  startEntities,
  startExactlyOnceProjection,
  startProjection,
  type Entities,
  type JournalEvent,
} from '../src/index.js';
import { Tally, TallyWriter } from './projection_kinds.js';

const watch = new UnhandledWatch('@ergo-ts/entities projections');
before(() => watch.start());
after(() => watch.stop());
let n = 0;

async function setup(t: { after(fn: () => Promise<void>): void }): Promise<{ entities: Entities; store: MemoryStore }> {
  const store = new MemoryStore();
  const node = await startNode(`pj${++n}_${process.pid}@localhost`, { log: { level: 'warning' } });
  const entities = await startEntities(node, { store, kinds: [Tally] });
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  return { entities, store };
}

const incorrect = { code: 'ERR_ENTITY_INCORRECT' };

test('bad options are refused with ERR_ENTITY_INCORRECT, and nothing starts', async (t) => {
  const { entities, store } = await setup(t);
  const node = entities.node;
  const handler = (): void => undefined;
  const before = node.processList().length;
  await assert.rejects(startProjection(node, { name: '', store, kind: Tally, handler }), incorrect);
  await assert.rejects(
    startProjection(node, { name: 'p', store, cluster: entities, kind: Tally, handler } as never),
    incorrect,
  );
  await assert.rejects(startProjection(node, { name: 'p', kind: Tally, handler } as never), incorrect);
  await assert.rejects(
    startProjection(node, { name: 'p', cluster: entities, kind: Tally, handler, batchSize: 0 }),
    incorrect,
  );
  await assert.rejects(startProjection(node, { name: 'p', store, kind: Tally, handler, tag: '' }), incorrect);
  await assert.rejects(
    startProjection(node, { name: 'x'.repeat(600), cluster: entities, kind: Tally, handler }),
    incorrect,
  );
  const pool = { connect: () => undefined, query: () => undefined } as unknown as pg.Pool;
  const handleBatch = async (): Promise<void> => undefined;
  await assert.rejects(
    startExactlyOnceProjection(node, { name: 'p', cluster: entities, kind: Tally, handleBatch } as never),
    incorrect,
  );
  await assert.rejects(
    startExactlyOnceProjection(node, {
      name: 'p',
      cluster: entities,
      kind: Tally,
      pool,
      handleBatch,
      offsetsTable: 'a;b',
    }),
    incorrect,
  );
  await assert.rejects(
    startExactlyOnceProjection(node, { name: 'p', cluster: entities, kind: Tally, pool } as never),
    incorrect,
  );
  assert.equal(node.processList().length, before, 'no process started');
  // One runner per name and node: a second start is refused; once the first stopped, it may start again.
  const p = await startProjection(node, { name: 'once', cluster: entities, kind: Tally, handler });
  await assert.rejects(startProjection(node, { name: 'once', cluster: entities, kind: Tally, handler }), incorrect);
  await p.stop();
  const again = await startProjection(node, { name: 'once', cluster: entities, kind: Tally, handler });
  await again.stop();
});

test('a cluster projection stores its offset under its lease, stands by while another holds it, and resumes', async (t) => {
  const { entities, store } = await setup(t);
  const writer = new TallyWriter(store);
  const got: JournalEvent<{ n: number }>[] = [];
  const p = await startProjection(entities.node, {
    name: 'view',
    cluster: entities,
    kind: Tally,
    batchSize: 3,
    pollIntervalMs: 10,
    standbyIntervalMs: 10,
    leaseTtlMs: 900,
    handler: (e) => void got.push(e),
  });
  t.after(() => p.stop());
  await writer.write(7);
  await eventually(() => got.length === 7, 'seven delivered');
  assert.ok(p.running());
  const id = { kind: PROJECTION_LEASE_KIND, key: 'view' };
  await eventually(
    async () => ((await store.load(id)).state as { offset: number })?.offset === got[6]!.offset,
    'offset stored',
  );
  assert.equal((await store.lease(id))?.token, p.token());

  // Another runner (a member declaring this one dead) takes the lease: this one stands by.
  const other = await store.acquire({ ...id, owner: 'other#1', ttlMs: 60_000, takeOverFrom: entities.owner });
  assert.ok(other.acquired);
  await eventually(() => !p.running(), 'stands by once its lease was taken over');
  await writer.write(4);
  // Its writes under the old token are refused: nothing it does moves the stored offset.
  await assert.rejects(
    store.write({ ...id, token: p.token(), expectedVersion: (await store.load(id)).version, state: { offset: 0 } }),
    { code: 'ERR_ENTITY_STALE_TOKEN' },
  );
  // The other runner leaves without a word: this one takes the lease back and goes on from the stored offset.
  await store.release(id, other.token);
  await eventually(() => p.running() && got.length === 11, 'runs again and delivers the four later events');
  assert.ok(p.token() > other.token);
  const offsets = got.map((e) => e.offset);
  assert.deepEqual(
    offsets,
    [...new Set(offsets)].sort((a, b) => a - b),
    'in order, none twice',
  );
  assert.deepEqual(
    got.map((e) => e.event.n),
    Array.from({ length: 11 }, (_, i) => i + 1),
  );
});

test("a projection's figures: in stats(), the manager's inspection and its handle — running or standing by, caught up, failures — gone once stopped", async (t) => {
  const { entities, store } = await setup(t);
  const writer = new TallyWriter(store);
  let failNext = true;
  const p = await startProjection(entities.node, {
    name: 'figures',
    cluster: entities,
    kind: Tally,
    batchSize: 4,
    pollIntervalMs: 10,
    retryIntervalMs: 10,
    standbyIntervalMs: 10,
    leaseTtlMs: 900,
    handler: () => {
      // The first delivery fails once: counted, its text kept, delivered again.
      if (failNext) {
        failNext = false;
        throw new Error('read model away');
      }
    },
  });
  const listed = () => entities.stats().projections.find((s) => s.name === 'figures');
  assert.equal(listed()?.running, false, 'listed at once, not running before its lease');
  await writer.write(6);
  await eventually(() => listed()?.delivered === 6 && listed()?.caughtUp === true, 'six handled, caught up');
  const s = listed()!;
  assert.equal(s.kind, Tally.name);
  assert.equal(s.mode, 'each');
  assert.equal(s.singleton, true);
  assert.equal(s.running, true);
  assert.equal(s.token, p.token());
  assert.equal(s.offset, p.offset());
  assert.equal(s.failures, 1);
  assert.match(s.lastError ?? '', /read model away/);
  assert.ok(s.lastHandledAt > 0 && s.lastHandledAt <= Date.now());
  assert.deepEqual(p.stats(), listed());
  assert.deepEqual(projectionsOf(entities.node), entities.stats().projections);
  assert.deepEqual(inspectEntities(entities).projections, entities.stats().projections, "in the manager's inspection");

  // Another holder takes the lease: the figures say it stands by.
  const id = { kind: PROJECTION_LEASE_KIND, key: 'figures' };
  const other = await store.acquire({ ...id, owner: 'other#1', ttlMs: 60_000, takeOverFrom: entities.owner });
  assert.ok(other.acquired);
  await eventually(() => listed()?.running === false, 'standing by in the figures');
  await store.release(id, other.token);
  await eventually(() => listed()?.running === true, 'running again');

  await p.stop();
  assert.equal(listed(), undefined, 'a stopped projection is no longer listed');
  assert.equal(p.stats().running, false, 'its handle still reads its last figures');
});
