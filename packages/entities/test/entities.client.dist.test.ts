// A client-only node (`role: 'client'`) in front of a three-member cluster, every node an OS
// process of its own sharing one SQLite file: the client starts workflows and calls, sends to and
// durably sends to entities owned by each member; one member is killed (kill -9) while its
// workflows sleep; the client's calls to the dead member's keys go on (routed to the survivor that
// takes them over, as a member's calls are) and every workflow completes. The client is never
// counted by the members, never activates anything, and never holds a lease: checked through the
// members' views, the client's own runtime events and stats, and every lease in the store.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';

import { ENTITIES_DEFAULTS, SHARD_LEASE_KIND, type EntitiesStats } from '../src/index.js';
import { EntityNode, freeTcpUdpPort, openStore, ownerAmong, seeMembers, type ClusterSettings } from './dist_helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-client-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** `count` keys starting with `prefix` whose owner among `names` is `owner`. */
function keysOf(owner: string, names: string[], prefix: string, count: number): string[] {
  return Array.from({ length: 400 }, (_, i) => `${prefix}${i}`)
    .filter((k) => ownerAmong(k, names) === owner)
    .slice(0, count);
}

test('a client node calls entities and runs workflows across a 3-member cluster through a kill -9, owning nothing', async (t) => {
  const names = ['a', 'b', 'c'].map((n) => `cl${n}${process.pid}@localhost`);
  const clientName = `clk${process.pid}@localhost`;
  const effects = join(dir, 'effects');
  writeFileSync(effects, '');
  const settings: ClusterSettings = {
    registrar: await freeTcpUdpPort(),
    members: names,
    db: join(dir, 'client.db'),
    leaseMs: 1500,
    renewMs: 300,
    passivateMs: 0,
    leaseScope: 'shard',
    effects,
  };
  const nodes: EntityNode[] = [];
  t.after(async () => {
    for (const n of nodes) await n.stop();
  });
  for (const name of names) nodes.push(await EntityNode.start(name, settings));
  const client = await EntityNode.start(clientName, { ...settings, role: 'client' });
  nodes.push(client);
  const [a, b, c] = nodes as [EntityNode, EntityNode, EntityNode];
  // The members see each other only: the client is connected to them, never counted.
  await seeMembers([a, b, c]);
  await eventually(
    async () => JSON.stringify(await client.cmd('members')) === JSON.stringify([...names].sort()),
    'the client sees the three members',
  );

  const counters = names.flatMap((m) => keysOf(m, names, 'ck', 2));
  const flows = names.flatMap((m) => keysOf(m, names, 'cw', 2));
  const onB = new Set([...counters, ...flows].filter((k) => ownerAmong(k, names) === b.name));
  assert.equal(onB.size, 4);
  for (const [i, key] of counters.entries()) assert.equal(await client.cmd('call', { key, req: { set: i } }), i);
  // Three steps, a sleep of 1.5 s after the first: b dies while its instances sleep.
  for (const key of flows)
    assert.equal(await client.cmd('wfstart', { key, req: { steps: 3, sleepMs: 1500, stepMs: 0 } }), true);
  await b.kill();

  // Every key answers the client again, b's on the survivors that took them over.
  for (const [i, key] of counters.entries()) {
    assert.equal(await client.cmd('call', { key, req: 'get' }), i, `${key} kept its state`);
    assert.equal(await client.cmd('durable', { key, req: { add: 10 }, msgId: `${key}-1` }), 'accepted');
    assert.equal(await client.cmd('call', { key, req: 'get' }), i + 10);
    const [where] = String(await client.cmd('call', { key, req: 'where' })).split(' ');
    assert.ok(where === a.name || where === c.name, `${key} runs on a survivor (${where})`);
  }
  for (const key of flows) assert.equal(await client.cmd('wfresult', { key }), 0 + 1 + 2, `${key} completed`);
  await seeMembers([a, c]);

  // The client owns nothing: no activation, no shard, no lease.
  assert.deepEqual(
    client.events.filter((e) => e.node === clientName),
    [],
    'no runtime event on the client',
  );
  const stats = (await client.cmd('stats')) as EntitiesStats;
  assert.equal(stats.shardsOwned, 0);
  assert.equal(stats.shardsGained, 0);
  assert.deepEqual([...stats.members].sort(), [a.name, c.name].sort());
  for (const m of [a, c]) {
    const s = (await m.cmd('stats')) as EntitiesStats;
    assert.ok(!s.members.includes(clientName), `${m.name} does not count the client`);
  }
  const store = await openStore(settings.db);
  t.after(() => store.close());
  for (let s = 0; s < ENTITIES_DEFAULTS.shards; s++) {
    const lease = await store.lease({ kind: SHARD_LEASE_KIND, key: String(s) });
    assert.ok(lease === undefined || !lease.owner.startsWith(`${clientName}#`), `shard ${s} held by ${lease?.owner}`);
  }
  for (const key of [...counters, ...flows])
    for (const kind of ['counter', 'wfsteps']) assert.equal(await store.lease({ kind, key }), undefined);
});
