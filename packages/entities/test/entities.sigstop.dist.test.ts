// A lease that ends moves the key: three members in separate OS processes on loopback, sharing one
// SQLite file, with a heartbeat far longer than the lease (peerStallTimeout 30 s, leaseTtlMs
// 1.5 s, a lease per shard). The owner of a key is stopped (SIGSTOP): a call to the key through a
// survivor answers from a survivor while the owner is still paused and still connected (its
// member lease ended; the heartbeat has not declared it down), and a write there stands. Resumed
// (SIGCONT), the old owner's write to its stale activation is refused, or finds the activation
// already ended by its renewal (its shard lease was taken); it drops the key, says hello, counts
// again, and the key's state is the survivor's. A client-only node in front of them routes around
// the paused owner too, and back to it once its member lease is renewed (a client hears no hello).
// Figures are printed (ms from SIGSTOP).
//
// The owner stops itself (entity_node.ts's 'pause' command) between event-loop turns, where it
// holds no SQLite write lock: a SIGSTOP from outside could land inside one of its synchronous write
// transactions (a commit's fsync, under load some milliseconds), and a process paused there keeps
// the shared file's write lock: every other member's lease renewal then fails with
// ERR_ENTITY_STORE_BUSY until it resumes (docs/entities.md, "SQLite shared by processes"; the
// residual window store.sqlite.test.ts covers). Placed at a known point, the test does not depend
// on where the pause lands.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';

import type { EntitiesStats } from '../src/index.js';
import { EntityNode, freeTcpUdpPort, isStopped, ownerAmong, seeMembers, type ClusterSettings } from './dist_helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-sigstop-'));

after(() => rmSync(dir, { recursive: true, force: true }));

test('an owner paused past its lease: its key answers on a survivor before SIGCONT; resumed, its writes are refused and it drops the key', async (t) => {
  const names = ['a', 'b', 'c'].map((n) => `ss${n}${process.pid}@localhost`);
  const settings: ClusterSettings = {
    registrar: await freeTcpUdpPort(),
    members: names,
    db: join(dir, 'sigstop.db'),
    leaseMs: 1500,
    renewMs: 300,
    passivateMs: 0,
    leaseScope: 'shard',
    stallMs: 30_000,
  };
  const nodes: EntityNode[] = [];
  t.after(async () => {
    for (const n of nodes) {
      n.proc.kill('SIGCONT');
      await n.stop();
    }
  });
  for (const name of names) nodes.push(await EntityNode.start(name, settings));
  const [a, b, c] = nodes as [EntityNode, EntityNode, EntityNode];
  await seeMembers(nodes);
  const client = await EntityNode.start(`ssk${process.pid}@localhost`, { ...settings, role: 'client' });
  nodes.push(client);
  const clientSees = async (n: number): Promise<void> => {
    await eventually(async () => ((await client.cmd('members')) as string[]).length === n, `the client sees ${n}`);
  };
  await clientSees(3);
  const key = Array.from({ length: 400 }, (_, i) => `sk${i}`).find((k) => ownerAmong(k, names) === b.name)!;
  assert.equal(await a.cmd('call', { key, req: { set: 7 } }), 7);
  assert.equal(String(await a.cmd('call', { key, req: 'where' })).split(' ')[0], b.name);

  t.after(() => void b.proc.kill('SIGCONT'));
  assert.equal(await b.cmd('pause'), 'pausing');
  await eventually(() => isStopped(b.proc.pid!), 'the owner stopped itself');
  const pausedAt = Date.now();
  // Answered by a survivor while b is paused (the call's timeout is half the heartbeat's).
  assert.equal(await a.cmd('call', { key, req: 'get', timeout: 15_000 }), 7);
  const answeredMs = Date.now() - pausedAt;
  const [where] = String(await a.cmd('call', { key, req: 'where', timeout: 15_000 })).split(' ');
  assert.ok(where === a.name || where === c.name, `the key runs on a survivor (${where})`);
  assert.equal(await c.cmd('call', { key, req: { set: 8 }, timeout: 15_000 }), 8);
  assert.equal(await client.cmd('call', { key, req: 'get', timeout: 15_000 }), 8, 'the client routes around it');
  const survivor = where === a.name ? a : c;
  const moved = survivor.events.find((e) => e.event === 'activated' && e.key === key);
  assert.ok(moved !== undefined && moved.version === 1, 'the survivor loaded the saved state');

  // Resumed: its stale activation, reached by name (what a caller with an old route would do),
  // has its write refused — or its renewal ended it first (the shard lease is the survivor's).
  const stale = b.cmd('local', { key, req: { set: 99 } });
  b.proc.kill('SIGCONT');
  await assert.rejects(stale, (e: { code?: string }) =>
    ['ERR_ENTITY_STALE_TOKEN', 'ERR_PROCESS_UNKNOWN', 'ERR_NAME_UNKNOWN', 'ERR_PROCESS_TERMINATED'].includes(
      e.code ?? '',
    ),
  );
  await eventually(async () => {
    const s = (await b.cmd('stats')) as EntitiesStats;
    return s.kinds.counter?.active === 0;
  }, 'the resumed owner dropped the key');
  await seeMembers([a, b, c]);
  assert.equal(await a.cmd('call', { key, req: 'get', timeout: 15_000 }), 8, 'the survivor’s write stands');
  await clientSees(3);
  assert.equal(await client.cmd('call', { key, req: 'get', timeout: 15_000 }), 8);
  const refused = b.events.some((e) => e.event === 'refused' && e.key === key);
  console.log(
    `# SIGSTOP of the owner (leaseTtlMs 1500, peerStallTimeout 30000): its key answered on a survivor ${answeredMs} ms later; the resumed owner's write ${refused ? 'was refused' : 'found its activation ended'}`,
  );
});
