// The two ways a single member leaves and comes back that docs/workflows.md describes, on real OS
// processes sharing one store (a SQLite file; a PostgreSQL server started for this file when one
// is installed, skipped with the reason otherwise), with leases far longer than any test (10
// minutes), so a workflow that completes proves its lease was not waited out:
// - a node killed (kill -9) and started again under the same name takes its old leases at once:
//   its previous incarnation's holder is dead to it, and the store confirms that process is gone
//   (its liveness claim: a lock the kernel, or the server, dropped with the process);
// - a node stopped by SIGTERM (`handleSignals: true`) drains: its workflows are handed off (their
//   leases released) to the other member, which completes them, and the process exits with 0.
// Each step's runs are recorded in an effects file (workflow_kinds.ts).

import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually, postgresMissing, startPostgres } from '@ergo-ts/test-support';

import type { EntityStore, WorkflowJournalEntry } from '../src/index.js';
import { EntityNode, freeTcpUdpPort, openStore, ownerAmong, seeMembers, type ClusterSettings } from './dist_helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-wf-restart-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Leases no test waits out: a completion within the test means the lease was taken or released. */
const LONG_LEASE = { leaseMs: 600_000, renewMs: 200_000 };

interface Rec {
  status?: string;
  journal: WorkflowJournalEntry[];
}

/** Where one test keeps its store: `db` (and `prefix` for PostgreSQL tables). */
type StoreFor = (tag: string) => { db: string; prefix?: string };

async function settingsFor(storeFor: StoreFor, tag: string, members: string[]): Promise<ClusterSettings> {
  const effects = join(dir, `${tag}.effects`);
  writeFileSync(effects, '');
  return {
    registrar: await freeTcpUdpPort(),
    members,
    ...storeFor(tag),
    ...LONG_LEASE,
    passivateMs: 0,
    effects,
  };
}

async function record(store: EntityStore, key: string): Promise<Rec> {
  return ((await store.load({ kind: 'wfsteps', key })).state ?? { journal: [] }) as Rec;
}

/** Resolves once every instance is in the state `pred` reads from the store. */
async function until(store: EntityStore, keys: string[], pred: (r: Rec) => boolean, what: string): Promise<void> {
  await eventually(
    async () => {
      for (const key of keys) if (!pred(await record(store, key))) return false;
      return true;
    },
    what,
    { timeoutMs: 60_000, intervalMs: 20 },
  );
}

const sleeping = (r: Rec): boolean => r.journal.some((e) => e.t === 'sleep');
const completed = (r: Rec): boolean => r.status === 'completed';

/** How many times each step ran (its idempotency key → the nodes it ran on). */
function runsOf(effects: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of readFileSync(effects, 'utf8').split('\n')) {
    if (line === '') continue;
    const [key, node] = line.split(' ') as [string, string];
    m.set(key, [...(m.get(key) ?? []), node]);
  }
  return m;
}

/** The cases on one store (`tag` keeps their files, tables and node names apart). */
function cases(label: string, tag: string, storeFor: StoreFor): void {
  test(`${label}: a node killed and started again under the same name takes its old leases at once: its sleeping workflows complete`, async (t) => {
    const name = `wfre${tag}${process.pid}@localhost`;
    const settings = await settingsFor(storeFor, `${tag}same`, [name]);
    const nodes: EntityNode[] = [];
    t.after(async () => {
      for (const n of nodes) await n.stop();
    });
    const store = await openStore(settings.db, settings.prefix);
    t.after(() => store.close());

    const first = await EntityNode.start(name, settings);
    nodes.push(first);
    const keys = ['r1', 'r2', 'r3'];
    // Sleeps long enough to be asleep at the kill; the wake-up after the restart is the sleep's end.
    for (const key of keys)
      assert.equal(await first.cmd('wfstart', { key, req: { steps: 2, sleepMs: 1500, stepMs: 0 } }), true);
    await until(store, keys, sleeping, 'every instance sleeps');
    await first.kill();

    // The same name, the same store: the leases its previous process held (for 10 minutes more)
    // are taken at once, since that process is gone.
    const again = await EntityNode.start(name, settings);
    nodes.push(again);
    for (const key of keys) assert.equal(await again.cmd('wfresult', { key }), 1, key);
    await until(store, keys, completed, 'every instance completed');
    for (const [key, ran] of runsOf(settings.effects!))
      assert.equal(ran.length, 1, `${key} ran once: ${ran.join(', ')}`);
  });

  test(`${label}: SIGTERM to a member with handleSignals: it drains (its workflows handed off, leases released) and exits 0; the other member completes them`, async (t) => {
    const names = ['a', 'b'].map((n) => `wfterm${tag}${n}${process.pid}@localhost`);
    const settings = { ...(await settingsFor(storeFor, `${tag}term`, names)), signals: true };
    const nodes: EntityNode[] = [];
    t.after(async () => {
      for (const n of nodes) await n.stop();
    });
    for (const name of names) nodes.push(await EntityNode.start(name, settings));
    await seeMembers(nodes);
    const [a, b] = nodes as [EntityNode, EntityNode];
    const store = await openStore(settings.db, settings.prefix);
    t.after(() => store.close());

    const keys = Array.from({ length: 200 }, (_, i) => `t${i}`)
      .filter((k) => ownerAmong(k, names) === a.name)
      .slice(0, 3);
    for (const key of keys)
      assert.equal(await a.cmd('wfstart', { key, req: { steps: 2, sleepMs: 1500, stepMs: 0 } }), true);
    await until(store, keys, sleeping, 'every instance sleeps');

    a.proc.kill('SIGTERM');
    await a.exited;
    assert.deepEqual([a.proc.exitCode, a.proc.signalCode], [0, null], 'a graceful exit, not the signal');
    // Each instance was handed off: its lease released, published as a 'passivated' 'hand-off'.
    for (const key of keys)
      assert.ok(
        a.events.some(
          (e) => e.kind === 'wfsteps' && e.key === key && e.event === 'passivated' && e.reason === 'hand-off',
        ),
        `${key} handed off`,
      );
    // The other member takes them at once (a 10-minute lease would otherwise be waited out).
    for (const key of keys) assert.equal(await b.cmd('wfresult', { key }), 1, key);
    await until(store, keys, completed, 'every instance completed');
    for (const [key, ran] of runsOf(settings.effects!))
      assert.equal(ran.length, 1, `${key} ran once: ${ran.join(', ')}`);
  });
}

cases('SQLite', 'sq', (tag) => ({ db: join(dir, `${tag}.db`) }));

const missing = postgresMissing();
if (missing !== undefined) {
  console.log(`# skipped: ${missing}`);
  test('PostgreSQL: the restart and SIGTERM cases', (t) => t.skip(missing));
} else {
  const server = await startPostgres();
  after(() => server.stop());
  cases('PostgreSQL', 'pg', (tag) => ({ db: server.url, prefix: `${tag}_` }));
}
