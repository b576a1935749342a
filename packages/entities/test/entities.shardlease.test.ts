// The shard-lease mode (`leaseScope: 'shard'`) on one node with a SQLite store: a node takes one
// lease per shard, on the first activation of one of its keys, and activations of the shard's keys
// (re-activations after passivation included) take no lease of their own; the fencing guarantee
// holds at the shard: once another owner takes the shard's lease, every write of this node's
// activations of that shard is refused, and the renewal that notices ends them. The same mode
// across hosts with kill -9 and partitions: FN_LEASE_SCOPE=shard node scripts/entities-faults.mjs.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { UnhandledWatch } from '@ergo-ts/test-support';
import { LogLevel, startNode } from 'ergo-ts';

import {
  ENTITIES_DEFAULTS,
  SHARD_LEASE_KIND,
  SqliteStore,
  entity,
  shardOf,
  startEntities,
  type EntitiesOptions,
} from '../src/index.js';
import { counterKind } from './counter.js';
import { EventLog } from './events.js';
import { LogRecords } from './log_records.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-shardlease-'));
const watch = new UnhandledWatch('@ergo-ts/entities shard leases');
const log = new EventLog();
let n = 0;
before(() => watch.start());
after(() => {
  log.close();
  rmSync(dir, { recursive: true, force: true });
  watch.stop();
});

async function setup(
  t: { after(fn: () => Promise<void>): void },
  passivateAfterMs: number,
  extra: Partial<EntitiesOptions> = {},
) {
  const store = SqliteStore.open(join(dir, `s${++n}.db`));
  const node = await startNode(`shardlease${n}_${process.pid}@localhost`, { log: { level: 'warning' } });
  const kind = counterKind(passivateAfterMs);
  const entities = await startEntities(node, { store, kinds: [kind], leaseScope: 'shard', ...extra });
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  return { node, store, entities, kind };
}

test('one lease per shard: activations and re-activations of its keys take none of their own', async (t) => {
  const { node, store, entities, kind } = await setup(t, 50);
  const keys = Array.from({ length: 24 }, (_, i) => `k${i}`);
  const shards = new Set(keys.map((k) => shardOf(k, ENTITIES_DEFAULTS.shards)));
  assert.ok(shards.size < keys.length, 'some keys share a shard');
  for (const [i, key] of keys.entries()) assert.equal(await entities.call(entity(kind, key), { set: i }), i);
  assert.equal(entities.stats().store.acquire!.count, shards.size, 'one acquire per shard, not per key');
  for (const key of keys)
    assert.equal(await store.lease({ kind: 'counter', key }), undefined, `${key} has no lease row`);
  // Every key passivates, then activates again with its state, still under the shard's lease.
  await log.wait(
    () =>
      keys.every((key) => log.events.some((e) => e.event === 'passivated' && e.key === key && e.node === node.name)),
    'every key passivated',
  );
  for (const [i, key] of keys.entries()) assert.equal(await entities.call(entity(kind, key), 'get'), i);
  assert.equal(entities.stats().store.acquire!.count, shards.size, 'no acquire for re-activations');
});

test('a shard lease taken over: this node’s writes of that shard are refused and its activations end', async (t) => {
  const { node, store, entities, kind } = await setup(t, 0, { leaseTtlMs: 60_000, renewIntervalMs: 100 });
  const records = new LogRecords(node);
  // Two keys of one shard.
  const first = 'a0';
  const s = shardOf(first, ENTITIES_DEFAULTS.shards);
  let second = '';
  for (let i = 1; second === ''; i++) if (shardOf(`a${i}`, ENTITIES_DEFAULTS.shards) === s) second = `a${i}`;
  assert.equal(await entities.call(entity(kind, first), { set: 1 }), 1);
  assert.equal(await entities.call(entity(kind, second), { set: 2 }), 2);
  const from = log.events.length;
  // What the other side of a partition does once the lease ended: take the shard and write.
  const shard = { kind: SHARD_LEASE_KIND, key: String(s) };
  const held = await store.lease(shard);
  assert.ok(held !== undefined);
  await store.release(shard, held.token);
  const taken = await store.acquire({ ...shard, owner: 'other-side#1', ttlMs: 60_000 });
  assert.ok(taken.acquired && taken.token === held.token + 1);
  await store.write({
    kind: 'counter',
    key: first,
    lease: shard,
    token: taken.token,
    expectedVersion: 1,
    state: { n: 10, adds: 0 },
  });
  // The old activations are fenced: a write is refused (the activation still ran) or the key is
  // not available here (the renewal ended it, and the shard is the other side's now).
  await assert.rejects(entities.call(entity(kind, first), { set: 99 }, { timeout: 2000 }), (e: { code?: string }) =>
    ['ERR_ENTITY_STALE_TOKEN', 'ERR_ENTITY_UNAVAILABLE'].includes(e.code ?? ''),
  );
  await log.wait((e) => e.event === 'stopped' && e.key === second && e.node === node.name, 'second key ended', from);
  await log.wait((e) => (e.event === 'refused' || e.event === 'stopped') && e.key === first, 'first key ended', from);
  assert.deepEqual((await store.load({ kind: 'counter', key: first })).state, { n: 10, adds: 0 });
  // Each ended activation is one warning naming its kind, key and token; no abnormal termination.
  const token = held.token;
  for (const key of [first, second]) {
    const lines = records.lines(LogLevel.Warning, new RegExp(`^entity counter/${key}: lease lost`));
    assert.equal(lines.length, 1, `${key}: ${lines.join(' | ')}`);
    assert.match(lines[0]!, new RegExp(`\\(token ${token}\\)`));
  }
  assert.deepEqual(records.errors(), []);
});

test('a write refused as stale makes its shard’s lease unconfirmed: the shard’s other activations confirm again before a side effect, and learn it is lost', async (t) => {
  // A renewal far off: before the fix, the second key went on confirming the shard from the last
  // renewal and ran a step after the shard had passed on (the fault checker saw one step on each side).
  const { entities, store, kind } = await setup(t, 0, { leaseTtlMs: 120_000, renewIntervalMs: 60_000 });
  const first = 'b0';
  const s = shardOf(first, ENTITIES_DEFAULTS.shards);
  let second = '';
  for (let i = 1; second === ''; i++) if (shardOf(`b${i}`, ENTITIES_DEFAULTS.shards) === s) second = `b${i}`;
  assert.equal(await entities.call(entity(kind, first), { set: 1 }), 1);
  assert.equal(await entities.call(entity(kind, second), { set: 2 }), 2);
  const shard = { kind: SHARD_LEASE_KIND, key: String(s) };
  const held = await store.lease(shard);
  assert.ok(held !== undefined);
  assert.equal(await entities.confirmLease(kind.name, second, held.token), true, 'confirmed while held');
  await store.release(shard, held.token);
  const taken = await store.acquire({ ...shard, owner: 'other-side#1', ttlMs: 60_000 });
  assert.ok(taken.acquired);
  await assert.rejects(entities.call(entity(kind, first), { set: 99 }, { timeout: 2000 }), (e: { code?: string }) =>
    ['ERR_ENTITY_STALE_TOKEN', 'ERR_ENTITY_UNAVAILABLE'].includes(e.code ?? ''),
  );
  assert.equal(
    await entities.confirmLease(kind.name, second, held.token),
    false,
    'the shard is not ours: no side effect',
  );
});
