// Entities on one node, with a SQLite store on a temporary file: the first call activates the
// entity (taking its lease, loading its state), state changes are saved before the reply, an idle
// entity passivates and the next call re-activates it with the saved state and a higher fencing
// token, durable messages are accepted into the inbox before the acknowledgement and processed
// once per id, accepted messages left by an earlier activation are replayed, and an activation
// whose lease was taken over has its next write refused and ends.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { UnhandledWatch, ignoredThenAwaited } from '@ergo-ts/test-support';
import { LogLevel, startNode, type Node } from 'ergo-ts';

import { SqliteStore, entity, startEntities, type Entities } from '../src/index.js';
import { counterKind } from './counter.js';
import { EventLog } from './events.js';
import { LogRecords } from './log_records.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-local-'));
const watch = new UnhandledWatch('@ergo-ts/entities');
const log = new EventLog();
let n = 0;
before(() => watch.start());
after(() => {
  log.close();
  rmSync(dir, { recursive: true, force: true });
  watch.stop();
});

async function setup(
  t: { after(fn: () => Promise<void> | void): void },
  passivateAfterMs = 0,
): Promise<{ node: Node; store: SqliteStore; entities: Entities; kind: ReturnType<typeof counterKind> }> {
  const store = SqliteStore.open(join(dir, `l${++n}.db`));
  const node = await startNode(`entities${n}_${process.pid}@localhost`, { log: { level: 'warning' } });
  const kind = counterKind(passivateAfterMs);
  const entities = await startEntities(node, { leaseScope: 'key', store, kinds: [kind] });
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  return { node, store, entities, kind };
}

test('the first call activates the entity; a changed state is saved before the reply', async (t) => {
  const { node, store, entities, kind } = await setup(t);
  const c = entity(kind, 'c1');
  const from = log.events.length;
  assert.equal(await entities.call(c, 'get'), 0);
  const act = await log.wait(
    (e) => e.event === 'activated' && e.key === 'c1' && e.node === node.name,
    'activated',
    from,
  );
  assert.equal(act.token, 1);
  assert.deepEqual(entities.active(), [{ kind: 'counter', key: 'c1' }]);
  assert.equal(await entities.call(c, { set: 41 }), 41);
  // The reply came after the write: the store already holds it.
  assert.deepEqual(await store.load({ kind: 'counter', key: 'c1' }), { state: { n: 41, adds: 0 }, version: 1 });
  await entities.send(c, { add: 1 });
  assert.equal(await entities.call(c, 'get'), 42);
  assert.equal((await store.load({ kind: 'counter', key: 'c1' })).version, 2);
  // A call that changes nothing writes nothing.
  assert.equal(await entities.call(c, 'get'), 42);
  assert.equal((await store.load({ kind: 'counter', key: 'c1' })).version, 2);
});

test('an idle entity passivates (releasing its lease) and the next call re-activates it with its state', async (t) => {
  const { node, store, entities, kind } = await setup(t, 20);
  const c = entity(kind, 'p1');
  const from = log.events.length;
  assert.equal(await entities.call(c, { set: 7 }), 7);
  const passivated = await log.wait(
    (e) => e.event === 'passivated' && e.key === 'p1' && e.node === node.name,
    'passivated',
    from,
  );
  assert.equal(passivated.token, 1);
  assert.deepEqual(entities.active(), []);
  const lease = await store.lease({ kind: 'counter', key: 'p1' });
  assert.equal(lease?.owner, '', 'the lease was released');
  const again = log.events.length;
  assert.equal(await entities.call(c, 'get'), 7);
  const act = await log.wait((e) => e.event === 'activated' && e.key === 'p1', 're-activated', again);
  assert.equal(act.token, 2);
  assert.equal(act.version, 1);
});

test('a durable message is stored before it is acknowledged and processed once per id', async (t) => {
  const { store, entities, kind } = await setup(t);
  const c = entity(kind, 'd1');
  assert.equal(await entities.sendDurable(c, { add: 5 }, 'm1'), 'accepted');
  assert.equal(await entities.sendDurable(c, { add: 5 }, 'm1'), 'duplicate');
  assert.equal(await entities.sendDurable(c, { add: 2 }, 'm2'), 'accepted');
  // A call queues behind both: by then each was processed.
  assert.equal(await entities.call(c, 'get'), 7);
  assert.equal(await store.processed({ kind: 'counter', key: 'd1' }, 'm1'), true);
  assert.deepEqual(await store.inbox({ kind: 'counter', key: 'd1' }), []);
  assert.equal(await entities.sendDurable(c, { add: 5 }, 'm1'), 'duplicate');
  assert.deepEqual((await store.load({ kind: 'counter', key: 'd1' })).state, { n: 7, adds: 2 });
});

test('messages accepted but not processed by an earlier activation are processed on activation', async (t) => {
  const { store, entities, kind } = await setup(t);
  // What a node that died after the acknowledgement and before processing leaves behind.
  await store.enqueue({ kind: 'counter', key: 'r1' }, 'x1', { add: 3 });
  await store.enqueue({ kind: 'counter', key: 'r1' }, 'x2', { add: 4 });
  assert.equal(await entities.call(entity(kind, 'r1'), 'get'), 7);
  assert.deepEqual(await store.inbox({ kind: 'counter', key: 'r1' }), []);
  assert.equal(await store.processed({ kind: 'counter', key: 'r1' }, 'x2'), true);
});

test('an activation whose lease was taken over has its next write refused and ends, logged once as a warning', async (t) => {
  const { node, store, entities, kind } = await setup(t);
  const records = new LogRecords(node);
  const c = entity(kind, 's1');
  const from = log.events.length;
  assert.equal(await entities.call(c, { set: 1 }), 1);
  const act = await log.wait(
    (e) => e.event === 'activated' && e.key === 's1' && e.node === node.name,
    'activated',
    from,
  );
  // Another owner takes the key (as a node on the other side of a partition would once the
  // lease ended): the running activation's token is now stale.
  await store.release({ kind: 'counter', key: 's1' }, act.token);
  const other = await store.acquire({ kind: 'counter', key: 's1', owner: 'intruder#1', ttlMs: 60_000 });
  assert.ok(other.acquired && other.token === act.token + 1);
  await assert.rejects(entities.call(c, { set: 99 }), { code: 'ERR_ENTITY_STALE_TOKEN' });
  const refused = await log.wait((e) => e.event === 'refused' && e.key === 's1', 'refused', from);
  assert.equal(refused.token, act.token);
  await log.wait((e) => e.event === 'stopped' && e.key === 's1', 'stopped', from);
  assert.deepEqual((await store.load({ kind: 'counter', key: 's1' })).state, { n: 1, adds: 0 });
  // The intruder's lease is untouched by the ended activation.
  assert.equal((await store.lease({ kind: 'counter', key: 's1' }))?.owner, 'intruder#1');
  // One warning names the kind, key and token; the core logs no abnormal termination.
  assert.deepEqual(records.lines(LogLevel.Warning, /lease lost/).length, 1);
  assert.match(
    records.lines(LogLevel.Warning, /lease lost/)[0]!,
    new RegExp(`^entity counter/s1: lease lost \\(token ${act.token}\\)`),
  );
  assert.deepEqual(records.errors(), []);
});

test('bad input is refused with a code; no Promise of the runtime reaches unhandledRejection', async (t) => {
  const { node, store, entities, kind } = await setup(t);
  assert.throws(() => entity(kind, ''), { code: 'ERR_ENTITY_INCORRECT' });
  assert.throws(() => entity(kind, 'x'.repeat(201)), { code: 'ERR_ENTITY_INCORRECT' });
  const c = entity(kind, 'u1');
  await ignoredThenAwaited(() => entities.call({ kind: 'counter', key: '' }, 'get'), 'ERR_ENTITY_INCORRECT');
  await ignoredThenAwaited(() => entities.call(c, 'get', { timeout: 0 }), 'ERR_ENTITY_INCORRECT');
  await ignoredThenAwaited(() => entities.sendDurable(c, { add: 1 }, ''), 'ERR_ENTITY_INCORRECT');
  await ignoredThenAwaited(() => entities.call({ kind: 'nosuch', key: 'k' }, 'get'), 'ERR_ENTITY_INCORRECT');
  await ignoredThenAwaited(
    () => startEntities(node, { leaseScope: 'key', store, kinds: [kind], leaseTtlMs: 10, renewIntervalMs: 10 }),
    'ERR_ENTITY_INCORRECT',
  );
  await ignoredThenAwaited(
    () =>
      startEntities(node, {
        leaseScope: 'key',
        store,
        kinds: [kind],
        name: 'other',
        takeOverFromDeadMembers: 'yes' as never,
      }),
    'ERR_ENTITY_INCORRECT',
  );
  await ignoredThenAwaited(() => startEntities(node, { leaseScope: 'key', store, kinds: [kind] }), 'ERR_TAKEN');
  // Kind names starting with '~' are the runtime's ('~shard' keeps the shard leases).
  for (const name of ['~shard', '~mine'])
    await ignoredThenAwaited(
      () => startEntities(node, { leaseScope: 'key', store, kinds: [{ ...kind, name }], name: 'reserved' }),
      'ERR_ENTITY_INCORRECT',
    );
});
