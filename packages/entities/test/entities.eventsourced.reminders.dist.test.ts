// Reminders on an event-sourced kind across nodes in separate OS processes (entity_node.ts; the
// kind is faults_kinds.ts's `esledger`, whose reminder fire persists a `fired` event): the owner
// of a key is killed (-9) just before its reminder is due; the survivor takes the key over, fires
// the reminder — not before its time — and the key's journal holds the message's event and the
// fire's event exactly once each. Two nodes a case: the message goes through the survivor, which
// the key's owner is not (each node is an OS process whose start costs CPU; a third adds nothing
// to what is shown). On SQLite (one file the nodes share) and, where a PostgreSQL
// server can be started, on PostgreSQL. Each run prints the lateness (fire time on the survivor
// minus the due time), the figure in bench/README.md "Entities: reminder lateness after a failover".

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually, postgresMissing, startPostgres } from '@ergo-ts/test-support';

import { ENTITIES_DEFAULTS, ownerOfShard, shardOf, type EntityStore, type ReminderStore } from '../src/index.js';
import { EntityNode, freeTcpUdpPort, openStore, type ClusterSettings } from './dist_helpers.js';
import type { LedgerState } from './faults_kinds.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-es-reminders-dist-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function keyOwnedBy(owner: string, names: string[], prefix: string): string {
  for (let i = 0; ; i++) {
    const key = `${prefix}${i}`;
    if (ownerOfShard(shardOf(key, ENTITIES_DEFAULTS.shards), names) === owner) return key;
  }
}

async function killBeforeDue(
  t: { after(fn: () => Promise<void>): void },
  tag: string,
  db: (names: string[]) => Promise<Pick<ClusterSettings, 'db' | 'prefix'>>,
): Promise<void> {
  const names = ['a', 'b'].map((n) => `${tag}${n}${process.pid}@localhost`);
  const settings: ClusterSettings = {
    registrar: await freeTcpUdpPort(),
    members: names,
    ...(await db(names)),
    leaseMs: 1500,
    renewMs: 300,
    passivateMs: 0,
  };
  const nodes: EntityNode[] = [];
  t.after(async () => {
    for (const n of nodes) await n.stop();
  });
  for (const name of names) nodes.push(await EntityNode.start(name, settings));
  for (const n of nodes)
    await eventually(async () => ((await n.cmd('members')) as string[]).length === names.length, `${n.name} sees 2`);
  const [a, b] = nodes as [EntityNode, EntityNode];
  const key = keyOwnedBy(b.name, names, 'es');
  const store = (await openStore(settings.db, settings.prefix)) as EntityStore & ReminderStore;
  t.after(() => store.close());
  // Sent through a; handled (the reminder put, then the event persisted) on b, the key's owner.
  assert.equal(
    await a.cmd('durable', { kind: 'esledger', key, req: { id: 'm1', remindAfterMs: 3000 }, msgId: 'm1' }),
    'accepted',
  );
  await b.event((e) => e.event === 'written' && e.kind === 'esledger' && e.key === key, 'the event written on b');
  const [row] = await store.reminders({ kind: 'esledger', key });
  assert.ok(row !== undefined, 'the reminder is stored');
  // Killed just before the reminder is due: it comes due while its owner is dead.
  await new Promise((r) => setTimeout(r, Math.max(0, row.dueAt - 100 - Date.now())));
  await b.kill();
  const st = await eventually(
    async () => {
      const s = (await a.cmd('call', { kind: 'esledger', key, timeout: 5000 })) as LedgerState;
      return s.fired.length > 0 ? s : undefined;
    },
    'the reminder fired on the survivor',
    { timeoutMs: 30_000 },
  );
  const fire = st.fired[0]!;
  assert.equal(fire.scheduledAt, row.dueAt);
  assert.ok(fire.firedAt >= fire.scheduledAt, 'not before its time');
  console.log(`# ${tag}: reminder lateness after kill -9 of its owner: ${fire.firedAt - fire.scheduledAt} ms`);
  // Every event exactly once: the message's and the fire's (nothing more fires later either).
  const journal = (await store.events({ kind: 'esledger', key }, 0)).map((e) => e.event as { type: string });
  assert.deepEqual(
    journal.map((e) => e.type),
    ['added', 'fired'],
  );
  // The scheduler removes a one-shot reminder once its fire is accepted into the inbox; the fire
  // can be handled before that removal commits, so the row goes soon after, not necessarily yet.
  await eventually(
    async () => (await store.reminders({ kind: 'esledger', key })).length === 0,
    'the one-shot reminder is gone',
  );
  assert.deepEqual(await store.inbox({ kind: 'esledger', key }), []);
}

test('SQLite: kill -9 of the owner as an event-sourced reminder comes due: a survivor fires it, its event stored once', (t) =>
  killBeforeDue(t, 'esr', () => Promise.resolve({ db: join(dir, 'kill.db') })));

const missing = postgresMissing();
// Started for the file and stopped after every test's own hooks have stopped its nodes.
const server = missing === undefined ? await startPostgres() : undefined;
after(() => server?.stop());
test('PostgreSQL: kill -9 of the owner as an event-sourced reminder comes due: a survivor fires it, its event stored once', async (t) => {
  if (server === undefined) {
    console.log(`# skipped: ${missing}`);
    t.skip(missing);
    return;
  }
  await killBeforeDue(t, 'esp', () => Promise.resolve({ db: server.url, prefix: 'esr_' }));
});
