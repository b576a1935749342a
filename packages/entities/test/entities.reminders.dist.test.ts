// Durable reminders across nodes in separate OS processes sharing one SQLite file (entity_node.ts):
// the owner of a key is killed (-9) before its reminder is due, and a survivor fires it once, not
// before its time; every node is killed with reminders pending, and a new cluster fires each once.
// The whole-cluster kill is of what the first case left running (its survivors: each node is an
// OS process whose start costs CPU), on keys of its own.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';

import { ENTITIES_DEFAULTS, ownerOfShard, shardOf, type EntityStore, type ReminderStore } from '../src/index.js';
import { EntityNode, freeTcpUdpPort, openStore, seeMembers, type ClusterSettings } from './dist_helpers.js';
import type { TimerState } from './timer_kind.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-reminders-dist-'));
/** The first case's cluster, stopped after the file: the second case kills what is left of it. */
const first: EntityNode[] = [];
const names = ['a', 'b', 'c'].map((n) => `rk${n}${process.pid}@localhost`);
const settings: ClusterSettings = {
  registrar: await freeTcpUdpPort(),
  members: names,
  db: join(dir, 'reminders.db'),
  leaseMs: 1500,
  renewMs: 300,
  passivateMs: 0,
};
after(async () => {
  for (const n of first) await n.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts nodes `names` (pushed to `nodes` as they start, for the caller to stop) and waits until each sees all. */
async function cluster(nodes: EntityNode[], names: string[], settings: ClusterSettings): Promise<EntityNode[]> {
  for (const name of names) nodes.push(await EntityNode.start(name, settings));
  for (const n of nodes)
    await eventually(
      async () => ((await n.cmd('members')) as string[]).length === names.length,
      `${n.name} sees ${names.length}`,
    );
  return nodes;
}

function keyOwnedBy(owner: string, names: string[], prefix: string): string {
  for (let i = 0; ; i++) {
    const key = `${prefix}${i}`;
    if (ownerOfShard(shardOf(key, ENTITIES_DEFAULTS.shards), names) === owner) return key;
  }
}

const remind = async (n: EntityNode, key: string, name: string, when: unknown, payload: unknown): Promise<void> => {
  assert.deepEqual(await n.cmd('timer', { key, req: { remind: name, when, payload } }), { ok: true });
};

test('kill -9 of the owner before a reminder is due: a survivor fires it once, not before its time', async (t) => {
  const [a, b, c] = (await cluster(first, names, settings)) as [EntityNode, EntityNode, EntityNode];
  const key = keyOwnedBy(b.name, names, 'order');
  const store = (await openStore(settings.db)) as EntityStore & ReminderStore;
  t.after(() => store.close());
  await remind(a, key, 'ping', { afterMs: 1500 }, { n: 1 });
  await remind(a, key, 't/later', { afterMs: 3000 }, 2);
  await b.event((e) => e.event === 'activated' && e.kind === 'timer' && e.key === key, 'activated on b');
  const [row] = await store.reminders({ kind: 'timer', key });
  await b.kill();
  const st = await eventually(
    async () => {
      const x = (await c.cmd('timer', { key, req: 'fired' })) as TimerState;
      return x.count === 2 ? x : undefined;
    },
    'both reminders fired on a survivor',
    { timeoutMs: 30_000 },
  );
  assert.deepEqual(st.perName, { ping: 1, 't/later': 1 });
  assert.equal(st.early, 0);
  const ping = st.last.find((f) => f.name === 'ping')!;
  assert.equal(ping.scheduledAt, row!.dueAt);
  assert.ok(ping.firedAt >= ping.scheduledAt, 'not before its time');
  assert.ok(
    [a, c].some((n) => n.events.some((e) => e.event === 'activated' && e.kind === 'timer' && e.key === key)),
    're-activated on a survivor',
  );
  assert.equal(await store.reminderCount(), 0);
});

test('a whole-cluster kill -9 with reminders pending: the next cluster fires each once', async (t) => {
  // Every node the first case left running (its killed owner aside), once each sees just those.
  const nodes = first.filter((n) => n.proc.exitCode === null && n.proc.signalCode === null);
  assert.ok(nodes.length >= 2, 'the first case left a cluster running');
  await seeMembers(nodes);
  const keys = Array.from({ length: 9 }, (_, i) => `w${i}`);
  for (const [i, key] of keys.entries())
    await remind(nodes[i % nodes.length]!, key, 'ping', { afterMs: 2000 }, { n: i });
  for (const n of nodes) await n.kill();
  // The next cluster: two nodes (each an OS process whose start costs CPU; a third adds nothing).
  const nextNames = names.slice(0, 2).map((m) => m.replace(/^rk/, 'rx'));
  const again: EntityNode[] = [];
  t.after(async () => {
    for (const n of again) await n.stop();
  });
  await cluster(again, nextNames, { ...settings, members: nextNames });
  for (const [i, key] of keys.entries()) {
    const st = await eventually(
      async () => {
        const x = (await again[(i + 1) % again.length]!.cmd('timer', { key, req: 'fired' })) as TimerState;
        return x.count >= 1 ? x : undefined;
      },
      `${key} fired after the restart`,
      { timeoutMs: 30_000 },
    );
    assert.equal(st.count, 1, key);
    assert.deepEqual(st.last[0]!.payload, { n: i });
    assert.equal(st.early, 0);
  }
  const store = (await openStore(settings.db)) as EntityStore & ReminderStore;
  t.after(() => store.close());
  await eventually(async () => (await store.reminderCount()) === 0, 'every row removed');
});
