// Handlers beside the body under a whole-cluster kill -9 mid-handler: two members (OS processes,
// entity_node.ts) and a client-only node, on one SQLite file and on PostgreSQL. A tally
// (workflow_handler_kinds.ts's WfTally) has taken two `add` signals by its handler and runs the
// `slow` update's handler, whose step waits at a gate file; both members are killed at once and
// started again. The journal replays as it was (nothing halts), the handlers run again in their
// journaled order on the new owner — the signals applied once each, the cut step run again under
// the same key — and the update's caller, asking by its id, gets the answer of the state rebuilt.

import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually, postgresMissing, startPostgres } from '@ergo-ts/test-support';

import type { EntityStore } from '../src/index.js';
import type { WorkflowRecord } from '../src/workflow/model/record.js';
import { EntityNode, freeTcpUdpPort, openStore, seeMembers, type ClusterSettings } from './dist_helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-handlers-dist-'));
after(() => rmSync(dir, { recursive: true, force: true }));
/** How long a wait across the nodes may take on a loaded machine (each is an event, looked at every few ms). */
const LONG = { timeoutMs: 60_000 };

async function recordOf(store: EntityStore, id: string): Promise<WorkflowRecord | undefined> {
  return (await store.load({ kind: 'wftally', key: id })).state as WorkflowRecord | undefined;
}

const ops = (r: WorkflowRecord | undefined): string[] => (r?.journal ?? []).map((e) => `${e.t} ${e.n}`);

async function scenario(t: { after(fn: () => Promise<void> | void): void }, db: string, prefix?: string) {
  const gates = mkdtempSync(join(dir, 'gates-'));
  const effects = join(dir, `${prefix ?? 'sqlite'}.effects`);
  writeFileSync(effects, '');
  const stem = `wh${prefix ?? 's'}`;
  const names = ['a', 'b'].map((n) => `${stem}${n}${process.pid}@localhost`);
  const settings: ClusterSettings = {
    registrar: await freeTcpUdpPort(),
    members: names,
    leaseMs: 1500,
    renewMs: 300,
    passivateMs: 0,
    db,
    effects,
    ...(prefix === undefined ? {} : { prefix }),
  };
  const nodes: EntityNode[] = [];
  t.after(async () => {
    for (const n of nodes) await n.stop();
  });
  // The client-only node starts first: it hosts the embedded registrar, which outlives the kill.
  const client = await EntityNode.start(`${stem}k${process.pid}@localhost`, { ...settings, role: 'client' });
  nodes.push(client);
  for (const name of names) nodes.push(await EntityNode.start(name, settings));
  await seeMembers(nodes.slice(1));
  const store = await openStore(db, prefix);
  t.after(() => store.close());
  await eventually(async () => ((await client.cmd('members')) as string[]).length === 2, 'the client sees both', LONG);

  const id = 'k1';
  const signal = (name: string, payload: unknown, msgId: string) =>
    client.cmd('wfsignal', { kind: 'wftally', key: id, req: { name, payload }, msgId, timeout: 60_000 });
  assert.equal(await client.cmd('wfstart', { kind: 'wftally', key: id, req: { gates } }), true);
  assert.equal(await signal('add', 1, 'a1'), 'accepted');
  assert.equal(await signal('add', 2, 'a2'), 'accepted');
  const req = { n: 10, updateId: 'slow-1' };
  const answer = client.cmd('wfupdate', { kind: 'wftally', key: id, req, timeout: 120_000 }, 150_000);
  answer.catch(() => undefined); // looked at below
  // The handler runs its step, which waits at its gate: handed over, not answered.
  await eventually(
    async () => ops(await recordOf(store, id)).includes('handle update:slow'),
    'the slow update handed to its handler',
    LONG,
  );
  await eventually(() => readFileSync(effects, 'utf8').includes('/step:slow '), 'its step runs', LONG);
  const before = ops(await recordOf(store, id));
  assert.deepEqual(before, ['condition ', 'handle signal:add', 'handle signal:add', 'handle update:slow']);

  const members = nodes.filter((n) => names.includes(n.name));
  await Promise.all(members.map((n) => n.kill()));
  const again: EntityNode[] = [];
  for (const name of names) again.push(await EntityNode.start(name, settings));
  nodes.push(...again);
  await seeMembers(again);

  // The new owner replays the handlers and runs the cut step again (it waits at the gate once more).
  await eventually(
    () =>
      readFileSync(effects, 'utf8')
        .split('\n')
        .filter((l) => l.includes('/step:slow ')).length >= 2,
    'the step runs again on the new owner',
    LONG,
  );
  const r = (await recordOf(store, id))!;
  assert.equal(r.blocked, undefined, 'not blocked: the replay did not diverge');
  assert.deepEqual(ops(r).slice(0, before.length), before, 'its journal as it was');
  writeFileSync(join(gates, `${id}.slow`), '');
  assert.equal(await answer, 13, "the caller's one call: the answer of the state the handlers rebuilt");
  assert.equal(await signal('add', 4, 'a4'), 'accepted');
  assert.equal(await signal('stop', null, 'stop'), 'accepted');
  const out = await client.cmd('wfresult', { wf: 'wftally', key: id, timeout: 120_000 }, 150_000);
  assert.deepEqual(out, { total: 17, stopped: true, order: ['add 1', 'add 2', 'slow 10', 'add 4', 'stop'] });
  const done = (await recordOf(store, id))!;
  assert.deepEqual(ops(done), [
    'condition ',
    'handle signal:add',
    'handle signal:add',
    'handle update:slow',
    'step slow',
    'reply slow',
    'handle signal:add',
    'handle signal:stop',
    'condition handlers',
  ]);
  const keys = new Set(
    readFileSync(effects, 'utf8')
      .split('\n')
      .filter((l) => l.includes('/step:slow '))
      .map((l) => l.slice(0, l.lastIndexOf(' '))),
  );
  assert.deepEqual([...keys], [`wftally/${id}/4/step:slow`], 'the step ran under one key');
  for (const n of [...again, client]) assert.doesNotMatch(n.output, /diverged/);
}

test('SQLite: a whole-cluster kill -9 mid-handler: the handlers replay in order, the state is rebuilt', async (t) => {
  await scenario(t, join(dir, 'tally.db'));
});

test('PostgreSQL: a whole-cluster kill -9 mid-handler: the handlers replay in order, the state is rebuilt', async (t) => {
  const missing = postgresMissing();
  if (missing !== undefined) return t.skip(missing);
  const server = await startPostgres();
  t.after(() => server.stop());
  await scenario(t, server.url, 'wtally_');
});
