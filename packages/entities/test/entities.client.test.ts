// A client-only runtime (`role: 'client'`) on one node, no member reachable: its options are
// checked (a client needs the members' names, and is never one of them), it owns no shard, hosts
// no activation and writes no lease; a call it routes fails with ERR_ENTITY_UNAVAILABLE once its
// timeout passes; its manager answers an activation asked of it with ERR_ENTITY_CLIENT_ONLY (what
// a member whose list names the client by mistake gets). Across OS processes, with members dying
// under it: entities.client.dist.test.ts.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { UnhandledWatch } from '@ergo-ts/test-support';
import { ProcessID, startNode, type Atom } from 'ergo-ts';

import { ENTITIES_DEFAULTS, SHARD_LEASE_KIND, SqliteStore, entity, startEntities } from '../src/index.js';
import { counterKind } from './counter.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-client-'));
const watch = new UnhandledWatch('@ergo-ts/entities');
before(() => watch.start());
after(() => {
  rmSync(dir, { recursive: true, force: true });
  watch.stop();
});

test('a client needs the members as a list of names, and is never one of them', async (t) => {
  const store = SqliteStore.open(join(dir, 'options.db'));
  const node = await startNode(`clientopts_${process.pid}@localhost`, { log: { level: 'warning' } });
  t.after(async () => {
    await node.stop();
    await store.close();
  });
  const kinds = [counterKind(0)];
  for (const members of ['registrar', 'leader', [], undefined] as const)
    await assert.rejects(startEntities(node, { store, kinds, role: 'client', ...(members ? { members } : {}) }), {
      code: 'ERR_ENTITY_INCORRECT',
    });
  await assert.rejects(startEntities(node, { store, kinds, role: 'client', members: [node.name, 'm1@localhost'] }), {
    code: 'ERR_ENTITY_INCORRECT',
  });
  await assert.rejects(startEntities(node, { store, kinds, role: 'owner' as never, members: ['m1@localhost'] }), {
    code: 'ERR_ENTITY_INCORRECT',
  });
});

test('a client owns nothing: no shard, no lease, no activation; calls wait for a member; activations asked of it are refused', async (t) => {
  const store = SqliteStore.open(join(dir, 'client.db'));
  const node = await startNode(`client_${process.pid}@localhost`, { log: { level: 'warning' } });
  const kind = counterKind(0);
  const entities = await startEntities(node, {
    store,
    kinds: [kind],
    role: 'client',
    members: [`absent1_${process.pid}@localhost`, `absent2_${process.pid}@localhost`],
    probeIntervalMs: 50,
  });
  t.after(async () => {
    await entities.stop();
    await node.stop();
    await store.close();
  });
  assert.equal(entities.role, 'client');
  assert.deepEqual(entities.members(), []);
  assert.ok(entities.ownerOf(entity(kind, 'k1')).startsWith('absent'), 'routed to a configured member');
  await assert.rejects(entities.call(entity(kind, 'k1'), 'get', { timeout: 300 }), { code: 'ERR_ENTITY_UNAVAILABLE' });
  await assert.rejects(entities.sendDurable(entity(kind, 'k1'), { add: 1 }, 'm1', { timeout: 300 }), {
    code: 'ERR_ENTITY_UNAVAILABLE',
  });
  // The manager asked to activate (a member counting this node by mistake): refused with the code.
  const manager = new ProcessID(ENTITIES_DEFAULTS.name as Atom, node.name);
  await assert.rejects(node.call(manager, { '~entity': 'activate', kind: kind.name, key: 'k1' }), {
    code: 'ERR_ENTITY_CLIENT_ONLY',
  });
  await assert.rejects(entities.activateLocal(kind.name, 'k1'), { code: 'ERR_ENTITY_CLIENT_ONLY' });
  const stats = entities.stats();
  assert.equal(stats.shardsOwned, 0);
  assert.deepEqual(stats.members, []);
  assert.equal(stats.reminders, undefined, 'no reminder scheduler');
  assert.equal(stats.inbox, undefined, 'no inbox sweeper');
  assert.deepEqual(entities.active(), []);
  assert.equal(await store.lease({ kind: kind.name, key: 'k1' }), undefined);
  for (let s = 0; s < ENTITIES_DEFAULTS.shards; s++)
    assert.equal(await store.lease({ kind: SHARD_LEASE_KIND, key: String(s) }), undefined, `shard ${s}`);
  await entities.drain(); // nothing to hand off
});
