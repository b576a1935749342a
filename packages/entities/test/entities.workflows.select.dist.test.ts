// The order a team coming from Temporal writes first (workflow_select_kinds.ts's WfOrder: a
// `confirm` signal or a `changeAddress` update, whichever comes first, or its deadline) under a
// whole-cluster kill -9 at every operation: two members (OS processes, entity_node.ts) and a
// client-only node, on one SQLite file and on PostgreSQL. Seven orders are held at seven points of
// the pattern (inside each step, with a select just begun, an update taken but not answered, a
// signal kept while the body works, ended) by gate files their steps wait for; then both members
// are killed at once and started again. Every journal replays as it was (nothing halts), and once
// the gates open and the rest is sent, each order ends as it would have without the kill: the
// update answered once by the caller's one call, the signal consumed once, both selects with the
// branch that came first, and the determinism guard (throw) never tripped.

import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually, postgresMissing, startPostgres } from '@ergo-ts/test-support';

import type { EntityStore } from '../src/index.js';
import type { WorkflowRecord } from '../src/workflow/model/record.js';
import { EntityNode, freeTcpUdpPort, openStore, seeMembers, type ClusterSettings } from './dist_helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-select-dist-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const HOUR = 3_600_000;
/** How long a wait across the nodes may take on a loaded machine (each is an event, looked at every few ms). */
const LONG = { timeoutMs: 60_000 };

/** Where an order is held when the cluster is killed (the gates it waits at, what was sent). */
interface Stage {
  readonly id: string;
  /** The step it is held in (a gate not opened), if any. */
  readonly heldIn?: 'reserve' | 'save' | 'charge';
  readonly update?: boolean;
  readonly signal?: boolean;
  /** What its record shows once it is there. */
  readonly there: (r: WorkflowRecord) => boolean;
}

const ops = (r: WorkflowRecord) =>
  r.journal.map(
    (e) => `${e.t}${e.t === 'select' ? `:${e.done === true ? (e.v as { b: string }).b : 'open'}` : ` ${e.n}`}`,
  );
const has = (r: WorkflowRecord, op: string) => ops(r).includes(op);

const STAGES: Stage[] = [
  { id: 'in-reserve', heldIn: 'reserve', there: (r) => r.journal.length === 1 }, // its now() only
  { id: 'select-begun', there: (r) => has(r, 'select:open') },
  { id: 'update-taken', heldIn: 'save', update: true, there: (r) => has(r, 'select:address') },
  {
    id: 'signal-kept-mid-step',
    heldIn: 'save',
    update: true,
    signal: true,
    there: (r) => has(r, 'select:address') && r.signals.length === 1,
  },
  { id: 'update-answered', update: true, there: (r) => has(r, 'reply changeAddress') && has(r, 'select:open') },
  { id: 'in-charge', heldIn: 'charge', update: true, signal: true, there: (r) => has(r, 'select:confirm') },
  { id: 'ended', update: true, signal: true, there: (r) => r.status === 'completed' },
];

async function recordOf(store: EntityStore, id: string): Promise<WorkflowRecord | undefined> {
  return (await store.load({ kind: 'wforder', key: id })).state as WorkflowRecord | undefined;
}

async function scenario(t: { after(fn: () => Promise<void> | void): void }, db: string, prefix?: string) {
  const gates = mkdtempSync(join(dir, 'gates-'));
  const effects = join(dir, `${prefix ?? 'sqlite'}.effects`);
  writeFileSync(effects, '');
  const open = (id: string, step: string) => writeFileSync(join(gates, `${id}.${step}`), '');
  // The client-only node starts first: it hosts the embedded registrar, which then outlives the
  // members' kill (users of a whole-cluster restart run etcd or a registrar of their own).
  const stem = `ws${prefix ?? 's'}`;
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
  const client = await EntityNode.start(`${stem}k${process.pid}@localhost`, { ...settings, role: 'client' });
  nodes.push(client);
  for (const name of names) nodes.push(await EntityNode.start(name, settings));
  await seeMembers(nodes.slice(1));
  const store = await openStore(db, prefix);
  t.after(() => store.close());
  await eventually(async () => ((await client.cmd('members')) as string[]).length === 2, 'the client sees both', LONG);

  // Every order's steps wait at their gates; each is let through up to where it is to be held.
  const answers = new Map<string, Promise<unknown>>();
  const sendSignal = (id: string) =>
    client.cmd('wfsignal', { kind: 'wforder', key: id, req: { by: 'ann' }, msgId: `confirm-${id}`, timeout: 60_000 });
  /** Once the order's select began, asks its address change (the one call, answered once, asked again by its id). */
  const sendUpdate = async (id: string): Promise<void> => {
    await eventually(async () => has((await recordOf(store, id))!, 'select:open'), `${id}: its select began`, LONG);
    const req = { address: 'B', updateId: `move-${id}` };
    answers.set(id, client.cmd('wfupdate', { kind: 'wforder', key: id, req, timeout: 120_000 }, 150_000));
    answers.get(id)!.catch(() => undefined); // looked at below
  };
  for (const s of STAGES) {
    assert.equal(
      await client.cmd('wfstart', { kind: 'wforder', key: s.id, req: { address: 'A', ttlMs: 24 * HOUR, gates } }),
      true,
    );
    if (s.heldIn !== 'reserve') open(s.id, 'reserve');
    if (s.update === true) {
      if (s.heldIn !== 'save') open(s.id, 'save');
      await sendUpdate(s.id);
    }
    if (s.signal === true) {
      if (s.heldIn === 'save')
        await eventually(
          async () => has((await recordOf(store, s.id))!, 'select:address'),
          `${s.id}: update taken`,
          LONG,
        );
      else await answers.get(s.id);
      assert.equal(await sendSignal(s.id), 'accepted');
    }
    if (s.heldIn !== 'charge') open(s.id, 'charge');
    await eventually(async () => s.there((await recordOf(store, s.id))!), `${s.id}: held where it should be`, LONG);
  }
  const before = new Map<string, string[]>();
  for (const s of STAGES) before.set(s.id, ops((await recordOf(store, s.id))!));

  // The whole cluster, killed at once, and started again.
  const members = nodes.filter((n) => names.includes(n.name));
  const killedAt = Date.now();
  await Promise.all(members.map((n) => n.kill()));
  const again: EntityNode[] = [];
  for (const name of names) again.push(await EntityNode.start(name, settings));
  nodes.push(...again);
  await seeMembers(again);
  console.log(
    `# ${STAGES.length} orders held at: ${STAGES.map((s) => `${s.id} [${before.get(s.id)!.join(', ')}]`).join('; ')}`,
  );
  console.log(`# both members killed (kill -9) and started again in ${Date.now() - killedAt} ms`);

  // Each journal replays as it was: nothing halted (a diverged replay would write `blocked`).
  for (const s of STAGES) {
    const r = (await recordOf(store, s.id))!;
    assert.equal(r.blocked, undefined, `${s.id}: not blocked`);
    assert.deepEqual(ops(r).slice(0, before.get(s.id)!.length), before.get(s.id), `${s.id}: its journal as it was`);
  }
  // The gates open, the rest is sent: every order ends as it would have.
  for (const s of STAGES) for (const step of ['reserve', 'save', 'charge']) open(s.id, step);
  for (const s of STAGES) {
    if (s.update !== true) {
      await sendUpdate(s.id);
    }
    assert.equal(await answers.get(s.id), 'B', `${s.id}: the caller's one update call got its answer`);
    if (s.signal !== true) assert.ok(['accepted', 'duplicate'].includes((await sendSignal(s.id)) as string));
    const out = await client.cmd('wfresult', { wf: 'wforder', key: s.id, timeout: 120_000 }, 150_000);
    assert.deepEqual(out, { status: 'confirmed', address: 'B', by: 'ann', path: ['address', 'confirm'] }, s.id);
    const r = (await recordOf(store, s.id))!;
    assert.deepEqual(
      ops(r),
      ['now ', 'step reserve', 'select:address', 'step save B', 'reply changeAddress', 'select:confirm', 'step charge'],
      `${s.id}: the journal of the pattern`,
    );
    assert.equal(r.updates?.filter((u) => u.out !== undefined).length, 1, `${s.id}: the update answered once`);
    assert.equal(r.signals.length, 0, `${s.id}: the signal consumed`);
  }
  // Each step's effect ran under one idempotency key (at least once: a step killed mid-run runs again).
  const lines = readFileSync(effects, 'utf8').split('\n').filter(Boolean);
  for (const s of STAGES)
    for (const step of ['reserve', 'save B', 'charge']) {
      const keys = new Set(
        lines
          .filter((l) => l.startsWith(`wforder/${s.id}/`) && l.includes(`/step:${step} `))
          .map((l) => l.slice(0, l.lastIndexOf(' '))),
      );
      assert.equal(keys.size, 1, `${s.id}: step ${step} under one key`);
    }
  for (const n of [...again, client]) assert.doesNotMatch(n.output, /ERR_WORKFLOW_NONDETERMINISTIC|diverged/);
}

test('SQLite: a whole-cluster kill -9 at every point of the confirm-or-update pattern loses and repeats nothing', async (t) => {
  await scenario(t, join(dir, 'orders.db'));
});

test('PostgreSQL: a whole-cluster kill -9 at every point of the confirm-or-update pattern loses and repeats nothing', async (t) => {
  const missing = postgresMissing();
  if (missing !== undefined) return t.skip(missing);
  const server = await startPostgres();
  t.after(() => server.stop());
  await scenario(t, server.url, 'wsel_');
});
