// Membership from the Leader (`members: 'leader'`): each node, in its own OS process, runs a
// Leader actor (ergo-ts/act) of one election cluster, and the entity members are the nodes of its
// live peers. No entities option lists the members: a node whose Leader joins the election (its
// bootstrap names the first two; they learn of it from its election messages) becomes a member
// and takes its shards, whose entities hand off to it with their state; a node that drains is
// left out at once although its Leader still runs, and hands its entities to the others.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { type EntitiesStats } from '../src/index.js';
import {
  EntityNode,
  freeTcpUdpPort,
  joinKeys,
  ownerAmong,
  seeMembers,
  startTwo,
  type ClusterSettings,
} from './dist_helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-leader-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const owner = ownerAmong;

test('members from the Leader: a node joining the election takes its shards, a draining one hands off', async (t) => {
  const names = ['a', 'b', 'c'].map((n) => `el${n}${process.pid}@localhost`);
  const settings: ClusterSettings = {
    registrar: await freeTcpUdpPort(),
    members: ['leader'],
    db: join(dir, 'entities.db'),
    leaseMs: 60_000, // longer than any call's timeout: moving an entity must not wait for its lease
    renewMs: 20_000,
    passivateMs: 0,
    bootstrap: names.slice(0, 2),
  };
  const nodes = await startTwo(t, names, settings);
  const [a, b] = nodes as [EntityNode, EntityNode];

  const two = names.slice(0, 2);
  const { moving, staying } = joinKeys(names);
  const all = [...moving, ...staying];
  for (const [i, key] of all.entries()) assert.equal(await a.cmd('call', { key, req: { set: i } }), i);

  // c joins the election (its Leader bootstraps with a and b, which do not list c).
  const c = await EntityNode.start(names[2]!, { ...settings, bootstrap: names });
  nodes.push(c);
  await seeMembers([a, b, c]);
  for (const [i, key] of moving.entries()) {
    const old = owner(key, two) === a.name ? a : b;
    await old.event((e) => e.event === 'passivated' && e.reason === 'hand-off' && e.key === key, `${key} handed off`);
    assert.equal(await a.cmd('call', { key, req: 'get' }), i, `${key} keeps its state`);
    assert.match(String(await b.cmd('call', { key, req: 'where' })), new RegExp(`^${c.name} `), `${key} moved to c`);
  }
  for (const key of staying)
    assert.match(String(await c.cmd('call', { key, req: 'where' })), new RegExp(`^${owner(key, two)} `), key);
  assert.ok(((await c.cmd('stats')) as EntitiesStats).shardsOwned > 0, 'c owns shards');

  // b drains: its Leader still runs, yet a and c leave it out and its entities move with their state.
  const onB = all.filter((k) => owner(k, names) === b.name);
  assert.equal(onB.length, 2);
  assert.equal(await b.cmd('drain'), 'drained');
  await seeMembers([a, c]);
  for (const key of onB) {
    assert.ok(
      b.events.some((e) => e.reason === 'hand-off' && e.key === key),
      `b handed ${key} off`,
    );
    assert.equal(await c.cmd('call', { key, req: 'get' }), all.indexOf(key), key);
    assert.doesNotMatch(String(await a.cmd('call', { key, req: 'where' })), new RegExp(`^${b.name} `));
  }
  // b's node stops (its Leader ends): the others still see a and c.
  await b.stop();
  await seeMembers([a, c]);
  assert.equal(((await a.cmd('stats')) as EntitiesStats).members.length, 2);
});
