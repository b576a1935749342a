// Hand-off and the manager, across nodes in separate OS processes on loopback (an embedded
// registrar, one SQLite file shared by the nodes). A rolling restart of every node of a 3-node
// cluster under a steady stream of durable sends and calls: each node drains before it stops (its
// entities save, release their leases and activate on the next owner at once), so no acknowledged
// message is lost or applied twice and no call waits out a lease (the leases outlive every call's
// timeout: a call that waited for one would fail). Then the manager's activations: one key's store
// call stalled does not hold another key's activation; a store failure is a warning naming the key
// and the error code, not a panic; and node.stop() alone drains. Every case runs on one cluster
// (each node is an OS process whose start costs CPU), each on keys of its own: its store fails
// only keys named for the faults ('stall…', 'flaky…'), its leases outlive every call's timeout;
// the rolling restart runs first (the cases after it run on the nodes it restarted), and the
// node.stop() case, which ends node b, runs last.

import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';

import { eventually } from '@ergo-ts/test-support';

import { ENTITIES_DEFAULTS, ownerOfShard, shardOf, type EntitiesStats } from '../src/index.js';
import { EntityNode, freeTcpUdpPort, type ClusterSettings } from './dist_helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-handoff-'));

/** Nodes `<tag>{a,b,c}<pid>` of one cluster, pushed to `nodes` as they start; its settings once all see all. */
async function startCluster(
  tag: string,
  extra: Partial<ClusterSettings>,
  nodes: EntityNode[],
): Promise<ClusterSettings> {
  const names = ['a', 'b', 'c'].map((n) => `${tag}${n}${process.pid}@localhost`);
  const settings: ClusterSettings = {
    registrar: await freeTcpUdpPort(),
    members: names,
    db: join(dir, `${tag}.db`),
    leaseMs: 1500,
    renewMs: 300,
    passivateMs: 0,
    ...extra,
  };
  for (const name of names) nodes.push(await EntityNode.start(name, settings));
  await seeAll(nodes, 3);
  return settings;
}

async function seeAll(nodes: EntityNode[], n: number): Promise<void> {
  for (const x of nodes)
    await eventually(async () => ((await x.cmd('members')) as string[]).length === n, `${x.name} sees ${n} members`);
}

function keyOwnedBy(owner: string, names: string[], prefix: string): string {
  for (let i = 0; ; i++) {
    const key = `${prefix}${i}`;
    if (ownerOfShard(shardOf(key, ENTITIES_DEFAULTS.shards), names) === owner) return key;
  }
}

/** The cluster every case shares: started by the first, stopped after the file. */
const sharedNodes: EntityNode[] = [];
let sharedSettings: Promise<ClusterSettings> | undefined;
after(async () => {
  for (const n of sharedNodes) await n.stop();
});
async function shared(): Promise<{ nodes: EntityNode[]; settings: ClusterSettings }> {
  // Leases of 60 s, calls bounded by 20 s: a key whose lease was left to expire would fail.
  sharedSettings ??= startCluster('hs', { faulty: true, leaseMs: 60_000, renewMs: 20_000 }, sharedNodes);
  return { nodes: sharedNodes, settings: await sharedSettings };
}

/** A cluster of the runtime's default lease scope (a lease per shard), for the rolling restart. */
async function shardScoped(t: TestContext): Promise<{ nodes: EntityNode[]; settings: ClusterSettings }> {
  const nodes: EntityNode[] = [];
  t.after(async () => {
    for (const n of nodes) await n.stop();
  });
  const settings = await startCluster('hd', { leaseMs: 60_000, renewMs: 20_000, leaseScope: 'shard' }, nodes);
  return { nodes, settings };
}

for (const scope of ['key', 'shard'] as const)
  test(`a rolling restart under a steady stream of calls (${scope} leases): every node hands off, nothing acknowledged is lost, no call waits out a lease`, async (t) => {
    // The workers stop before the nodes do when the test fails midway (registered first, so this
    // after hook runs first): against stopped nodes each command rejects at once, and the loop would
    // spin on microtasks, starving the event loop and the hooks.
    let running = true;
    t.after(() => {
      running = false;
    });
    // Leases of 60 s and calls of at most 20 s (the fixture's timeout): a call that had to wait for
    // a lease to expire fails, so every call succeeding shows the leases were released.
    // The shared cluster (its faults are only for keys named for them): each node it restarts is the
    // shared cluster's from then on.
    const { nodes, settings } = scope === 'key' ? await shared() : await shardScoped(t);
    // Four keys owned by each member (names carry the pid, so a fixed list could leave a member
    // owning none, with nothing to hand off).
    const keys = nodes.flatMap((n) => [0, 1, 2, 3].map((j) => keyOwnedBy(n.name, settings.members, `h${j}-`)));
    for (const [i, key] of keys.entries()) assert.equal(await nodes[i % 3]!.cmd('call', { key, req: 'get' }), 0);

    const up = new Set(nodes.map((_, i) => i));
    const pending = new Map<number, Set<Promise<unknown>>>(nodes.map((_, i) => [i, new Set()]));
    const acked = new Map<string, number>(keys.map((k) => [k, 0]));
    const failures: string[] = [];
    let sent = 0;
    const via = (): number => {
      const live = [...up];
      return live[sent % live.length]!;
    };
    const worker = async (w: number): Promise<void> => {
      while (running) {
        const i = via();
        const key = keys[(sent + w) % keys.length]!;
        const seq = sent++;
        const p =
          seq % 3 === 2
            ? nodes[i]!.cmd('call', { key, req: 'get' })
            : nodes[i]!.cmd('durable', { key, req: { add: 1 }, msgId: `${key}-${seq}` }).then((r) => {
                if (r === 'accepted') acked.set(key, acked.get(key)! + 1);
                else failures.push(`${key}-${seq}: ${String(r)}`);
              });
        pending.get(i)!.add(p);
        try {
          await p;
        } catch (e) {
          failures.push(`${key}-${seq} via ${nodes[i]!.name}: ${(e as Error).message}`);
        } finally {
          pending.get(i)!.delete(p);
        }
      }
    };
    const workers = [0, 1, 2].map(worker);
    // Every incarnation's events (a restarted node's old process took its list with it), for the
    // history a failure prints.
    const incarnations = [...nodes];
    const history = (key: string): string => {
      const lines: string[] = [];
      let writes = 0;
      for (const e of incarnations
        .flatMap((n, i) => n.events.map((e, j) => ({ ...e, inc: i, at: n.arrivals[j]! })).filter((e) => e.key === key))
        .sort((x, y) => x.at - y.at)) {
        // Writes in a row are one line: a key's history holds hundreds of them.
        if (e.event === 'written') writes++;
        else {
          if (writes > 0) lines.push(`${writes} written`);
          writes = 0;
          lines.push(
            `${e.inc}:${e.node.split('@')[0]} ${e.event} t${e.token} v${e.version}${e.reason ? ` (${e.reason})` : ''}`,
          );
        }
      }
      if (writes > 0) lines.push(`${writes} written`);
      return lines.join('; ');
    };

    for (let i = 0; i < nodes.length; i++) {
      const old = nodes[i]!;
      up.delete(i);
      await Promise.allSettled([...pending.get(i)!]);
      const before = (await old.cmd('stats')) as EntitiesStats;
      assert.equal(await old.cmd('drain'), 'drained');
      const drained = (await old.cmd('stats')) as EntitiesStats;
      assert.equal(drained.draining, true);
      assert.equal(drained.kinds.counter!.active, 0, `${old.name} runs nothing after its drain`);
      const handedOff = drained.kinds.counter!.handedOff - before.kinds.counter!.handedOff;
      assert.ok(handedOff >= before.kinds.counter!.active && handedOff > 0, `${old.name} handed off ${handedOff}`);
      assert.equal(drained.handOffs, drained.kinds.counter!.handedOff);
      // Hand-off is a passivation whose lease was released; nothing was stopped or refused.
      const ends = old.events.filter((e) => e.event === 'passivated' || e.event === 'stopped' || e.event === 'refused');
      assert.ok(
        ends.every((e) => e.event === 'passivated' && e.reason === 'hand-off'),
        JSON.stringify(ends.filter((e) => e.reason !== 'hand-off')),
      );
      await old.stop();
      nodes[i] = await EntityNode.start(old.name, settings);
      incarnations.push(nodes[i]!);
      await seeAll(nodes, 3);
      up.add(i);
      // The stream goes on through the restarted node before the next one stops.
      const from = sent;
      await eventually(() => sent > from + 10, 'calls through the restarted cluster');
    }
    running = false;
    await Promise.all(workers);

    assert.deepEqual(failures, [], 'every call and durable send succeeded');
    assert.ok(sent > 30, `a steady stream (${sent} operations)`);
    for (const key of keys) {
      // Every acknowledged add applied exactly once (ids unique, the count from the state).
      assert.equal(await nodes[0]!.cmd('call', { key, req: 'get' }), acked.get(key), key);
    }
    // Each hand-off's key activated again under the next token (the released lease, not an expired
    // one; with shard leases a later one, as its shard may have moved more than once meanwhile).
    // The activation's event comes from the key's owner, which may not be the node that answered
    // the reads above: it is waited for, not looked up once.
    const handOffs = nodes.flatMap((n) => n.events).filter((e) => e.reason === 'hand-off' && keys.includes(e.key));
    // A key handed off activates on its next message, and a node that joined last may have been
    // seen by the key's holder only after the stream's last message to it (then the hand-off came
    // after the reads above): one more read of each, after its hand-off, activates it.
    for (const key of new Set(handOffs.map((h) => h.key))) await nodes[0]!.cmd('call', { key, req: 'where' });
    // And every key ends on the node that owns its shard: none stays where a call followed its
    // lease's holder, the node its shard moved from (it would keep the key and the lease for good).
    for (const key of keys) {
      const owner = ownerOfShard(shardOf(key, ENTITIES_DEFAULTS.shards), settings.members)!;
      await eventually(
        async () => String(await nodes[0]!.cmd('call', { key, req: 'where' })).startsWith(`${owner} `),
        `${key} served by its owner ${owner}`,
        { timeoutMs: 20_000 },
      );
    }
    for (const h of handOffs)
      await eventually(
        () =>
          // Every incarnation's: the next activation may have been on a node restarted since (a
          // leave can move a shard between the nodes that stay, and back to one restarted later).
          incarnations.some((n) =>
            n.events.some(
              (e) =>
                e.event === 'activated' &&
                e.key === h.key &&
                (scope === 'key' ? e.token === h.token + 1 : e.token > h.token),
            ),
          ),
        `${h.key} re-activated after token ${h.token}`,
        { timeoutMs: 20_000 },
      ).catch(async (e: unknown) => {
        const where = await nodes[0]!.cmd('call', { key: h.key, req: 'where' }).catch((err: unknown) => String(err));
        const counts = incarnations.map((n, i) => `${i}:${n.name.split('@')[0]}=${n.events.length}`).join(' ');
        throw new Error(
          `${(e as Error).message}; it runs at ${String(where)}; events per incarnation ${counts}; its events, oldest first: ${history(h.key)}`,
          { cause: e },
        );
      });
  });

test('a stalled store call holds only its own key: another key activates meanwhile on the same node', async () => {
  const { nodes, settings } = await shared();
  const [a, b] = nodes as [EntityNode, EntityNode, EntityNode];
  const stalled = keyOwnedBy(b.name, settings.members, 'stall');
  const other = keyOwnedBy(b.name, settings.members, 'free');
  // b's manager activates `stalled`: its lease acquisition does not return until 'unstall'.
  const first = a.cmd('call', { key: stalled, req: { set: 7 } });
  first.catch(() => undefined);
  await eventually(async () => ((await b.cmd('stats')) as EntitiesStats).storeInFlight >= 1, 'b stalled in the store');
  // Meanwhile another key of b activates and answers (per-key serialisation, not per manager).
  assert.equal(await a.cmd('call', { key: other, req: { set: 3 } }), 3);
  const act = await b.event((e) => e.event === 'activated' && e.key === other, 'other key activated');
  assert.equal(act.node, b.name);
  assert.ok(!b.events.some((e) => e.key === stalled), 'the stalled key is still not active');
  await b.cmd('unstall');
  assert.equal(await first, 7);
});

test('a failed store write is a warning naming the key and the error code, not a panic; the next call re-activates', async () => {
  const { nodes, settings } = await shared();
  const [a, b] = nodes as [EntityNode, EntityNode, EntityNode];
  const key = keyOwnedBy(b.name, settings.members, 'flaky');
  await assert.rejects(a.cmd('call', { key, req: { set: 5 } }), /connection reset/);
  await b.event((e) => e.event === 'stopped' && e.key === key, 'the activation ended');
  assert.equal(await a.cmd('call', { key, req: { set: 5 } }), 5);
  assert.equal(await a.cmd('call', { key, req: 'get' }), 5);
  assert.match(b.output, new RegExp(`\\[warning\\].*entity counter/${key}: store failed during call \\(ECONNRESET\\)`));
  assert.doesNotMatch(b.output, /\[panic\]/);
});

test('node.stop() alone drains: its entities hand off with their state and free their leases at once', async () => {
  const { nodes, settings } = await shared();
  const [a, b] = nodes as [EntityNode, EntityNode, EntityNode];
  const logFrom = b.output.length;
  const keys = [0, 1, 2].map((i) => keyOwnedBy(b.name, settings.members, `n${i}-`));
  for (const [i, key] of keys.entries()) assert.equal(await a.cmd('call', { key, req: { set: i + 10 } }), i + 10);
  for (const key of keys) assert.match(String(await a.cmd('call', { key, req: 'where' })), new RegExp(`^${b.name} `));
  assert.equal(await b.cmd('nodestop'), 'stopped');
  await b.exited;
  for (const key of keys)
    assert.ok(
      b.events.some((e) => e.event === 'passivated' && e.reason === 'hand-off' && e.key === key),
      `b handed ${key} off`,
    );
  await seeAll([a], 2);
  for (const [i, key] of keys.entries()) {
    assert.equal(await a.cmd('call', { key, req: 'get' }), i + 10, `${key} keeps its state`);
    assert.doesNotMatch(String(await a.cmd('call', { key, req: 'where' })), new RegExp(`^${b.name} `));
  }
  assert.doesNotMatch(b.output.slice(logFrom), /\[error\]|\[panic\]/);
});

// Registered last, so it runs after the shared cluster stopped (after hooks run in order).
after(() => rmSync(dir, { recursive: true, force: true }));
