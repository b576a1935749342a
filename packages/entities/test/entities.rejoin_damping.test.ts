// Damping a lapsed member's return (rejoinStableMs, runtime/rejoin.ts; issue 89): three members in
// separate OS processes on loopback sharing one store (a SQLite file; a PostgreSQL database when
// its server binaries are there), 1 s leases per shard, a heartbeat far longer (30 s), so a paused
// member is counted out by its member lease alone. One member stops itself (SIGSTOP) until its
// member lease has ended in the store, three times in a row, while its keys are called through a
// peer.
//
// Flapping: each time it came back its peers counted it in again at once and its shards moved back
// to it, to move away again at its next lapse — each pass a re-activation of its keys. Damped
// (rejoinStableMs 30 s): it says hello only once it has been stable that long, its peers keep it
// out meanwhile, the shards they took stay on them (none moves back while it flaps), its keys are
// activated once elsewhere, and every call is answered meanwhile — those of a key whose shard lease
// it kept by it. Then, with a short wait (2 s), a member back from one lapse counts again once it
// has been stable that long: its shards move back once, and its key runs there again.
// Figures printed: shards moved back and activations per key.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { eventually, postgresMissing, startPostgres } from '@ergo-ts/test-support';

import { ownerOfShard, ENTITIES_DEFAULTS, type EntitiesStats, type EntityStore } from '../src/index.js';
import { readMemberLease } from '../src/runtime/member_lease.js';
import {
  EntityNode,
  freeTcpUdpPort,
  isStopped,
  openStore,
  ownerAmong,
  seeMembers,
  type ClusterSettings,
} from './dist_helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-rejoin-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Where a cluster keeps its store: `db` (and `prefix` for PostgreSQL tables). */
type StoreFor = (tag: string) => Promise<{ db: string; prefix?: string }>;

/** Three members `<tag>{a,b,c}<pid>` on the store `where` gives, with `rejoinMs`; stopped after the test. */
async function cluster(
  t: { after: (fn: () => Promise<void>) => void },
  tag: string,
  where: StoreFor,
  rejoinMs: number,
): Promise<{ nodes: [EntityNode, EntityNode, EntityNode]; names: string[]; store: EntityStore }> {
  const names = ['a', 'b', 'c'].map((n) => `${tag}${n}${process.pid}@localhost`);
  const { db, prefix } = await where(tag);
  const settings: ClusterSettings = {
    registrar: await freeTcpUdpPort(),
    members: names,
    db,
    ...(prefix === undefined ? {} : { prefix }),
    leaseMs: 1000,
    renewMs: 250,
    passivateMs: 0,
    leaseScope: 'shard',
    stallMs: 30_000,
    rejoinMs,
  };
  const nodes: EntityNode[] = [];
  const store = await openStore(db, prefix);
  t.after(async () => {
    for (const n of nodes) {
      n.proc.kill('SIGCONT');
      await n.stop();
    }
    await store.close();
  });
  for (const name of names) nodes.push(await EntityNode.start(name, settings));
  await seeMembers(nodes);
  return { nodes: nodes as [EntityNode, EntityNode, EntityNode], names, store };
}

/** `victim` stops itself and stays stopped until its member lease has ended in the store (past a fifth of the ttl). */
async function lapse(victim: EntityNode, store: EntityStore): Promise<void> {
  assert.equal(await victim.cmd('pause'), 'pausing');
  await eventually(() => isStopped(victim.proc.pid!), `${victim.name} stopped itself`);
  await eventually(
    async () => (await readMemberLease(store, victim.name, 200)).ended,
    `${victim.name}'s member lease ended`,
    { timeoutMs: 60_000 },
  );
}

const members = async (n: EntityNode): Promise<string[]> => (await n.cmd('members')) as string[];
/**
 * The shards the survivors lose between themselves when `names[1]` leaves (the bounded loads move
 * a few: `out`), and those they lose when it comes back (`back`: its own and those few again).
 */
function moves(names: string[]): { out: number; back: number } {
  const survivors = [names[0]!, names[2]!];
  const all = Array.from({ length: ENTITIES_DEFAULTS.shards }, (_, s) => s);
  const changed = (s: number): boolean => ownerOfShard(s, survivors) !== ownerOfShard(s, names);
  return {
    out: all.filter((s) => changed(s) && ownerOfShard(s, names) !== names[1]).length,
    back: all.filter(changed).length,
  };
}
/** How many times `n` logged that it waits to count again after a lapse (membership.ts). */
const waits = (n: EntityNode): number => n.output.split('it takes no shard back for').length - 1;
const lost = async (n: EntityNode): Promise<number> => ((await n.cmd('stats')) as EntitiesStats).shardsLost;

function cases(label: string, where: StoreFor): void {
  test(`${label}: a member that lapses three times in a row takes no shard back while it flaps`, async (t) => {
    const { nodes, names, store } = await cluster(t, `rjf${label[0]!.toLowerCase()}`, where, 30_000);
    const [a, b, c] = nodes;
    const keys = Array.from({ length: 400 }, (_, i) => `rk${i}`)
      .filter((k) => ownerAmong(k, names) === b.name)
      .slice(0, 4);
    for (const key of keys) assert.equal(await a.cmd('call', { key, req: { set: 1 } }), 1);
    const lostBefore = (await lost(a)) + (await lost(c));
    for (let i = 1; i <= 3; i++) {
      const waited = waits(b);
      await lapse(b, store);
      // Answered by a survivor while b is stopped (the first time, the call is what counts b out).
      for (const key of keys) assert.equal(await a.cmd('call', { key, req: 'get', timeout: 15_000 }), 1);
      b.proc.kill('SIGCONT');
      // Back: counted in again by its peer (flapping), or waiting out rejoinStableMs (damped; a
      // later lapse within the wait only starts it anew, or needs no notice: its peers keep it out).
      await eventually(
        async () => (await members(a)).includes(b.name) || waits(b) > waited || (i > 1 && waits(b) > 0),
        `lapse ${i}: b counted in again by a, or waiting`,
        { timeoutMs: 60_000 },
      );
    }
    const movedBack = (await lost(a)) + (await lost(c)) - lostBefore - moves(names).out;
    const activations = keys.map((key) =>
      nodes.reduce((n, node) => n + node.events.filter((e) => e.event === 'activated' && e.key === key).length, 0),
    );
    console.log(
      `# ${label}: three lapses of b (1 s leases): shards moved back to b ${movedBack}, activations per key ${activations.join('/')}`,
    );
    assert.equal(movedBack, 0, 'no shard moved back to the flapping member');
    assert.ok(!(await members(a)).includes(b.name) && !(await members(c)).includes(b.name), 'its peers count it out');
    for (const key of keys) {
      assert.equal(await c.cmd('call', { key, req: 'get', timeout: 15_000 }), 1, 'every key answers meanwhile');
      const runsOn = String(await c.cmd('call', { key, req: 'where', timeout: 15_000 })).split(' ')[0];
      assert.ok(runsOn === a.name || runsOn === c.name, `${key} stays on a survivor (${runsOn})`);
    }
    for (const n of activations) assert.equal(n, 2, 'each key activated on b, then once on a survivor');
  });

  test(`${label}: a member back from a lapse counts again once it has been stable for rejoinStableMs`, async (t) => {
    const { nodes, names, store } = await cluster(t, `rjs${label[0]!.toLowerCase()}`, where, 2000);
    const [a, b, c] = nodes;
    const key = Array.from({ length: 400 }, (_, i) => `rs${i}`).find((k) => ownerAmong(k, names) === b.name)!;
    assert.equal(await a.cmd('call', { key, req: { set: 3 } }), 3);
    const lostBefore = (await lost(a)) + (await lost(c));
    await lapse(b, store);
    assert.equal(await a.cmd('call', { key, req: 'get', timeout: 15_000 }), 3);
    b.proc.kill('SIGCONT');
    await eventually(() => waits(b) > 0, 'b waits before it counts again', { timeoutMs: 60_000 });
    await seeMembers(nodes);
    const m = moves(names);
    const movedBack = (await lost(a)) + (await lost(c)) - lostBefore - m.out;
    console.log(
      `# ${label}: one lapse of b, rejoinStableMs 2000: shards moved back ${movedBack} (one move: ${m.back})`,
    );
    assert.equal(movedBack, m.back, "b's shards moved back once");
    assert.equal(await c.cmd('call', { key, req: 'get', timeout: 15_000 }), 3);
    const runsOn = String(await c.cmd('call', { key, req: 'where', timeout: 15_000 })).split(' ')[0];
    assert.equal(runsOn, b.name, 'its key runs on it again');
  });
}

cases('SQLite', (tag) => Promise.resolve({ db: join(dir, `${tag}.db`) }));

const missing = postgresMissing();
if (missing !== undefined) {
  console.log(`# PostgreSQL skipped: ${missing}`);
  test('rejoin damping on PostgreSQL', (t) => t.skip(missing));
} else {
  const server = await startPostgres();
  after(() => server.stop());
  cases('PostgreSQL', (tag) => Promise.resolve({ db: server.url, prefix: `${tag}_` }));
}
