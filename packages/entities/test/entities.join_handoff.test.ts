// A member joins while the first member activates a key of a shard that moves to it: the key's
// activation, still in its init when the first member saw the join, hands off as soon as it is
// registered, and the shard's lease is given back, so the other keys of that shard activate on
// the member that joined at once. The hand-off used to be sent to the activation's PID while its
// init ran, which the core refuses (a process enters the table only after its init): the request
// was dropped, the key stayed on the old member until it passivated (a workflow's default: a
// minute idle), and every other key of the shard bounced between the two members meanwhile (the
// new owner refused for the shard lease the old one held, the old one answered `moved`). The
// pg-failover bench saw it as its chains standing still for a minute after the second member
// joined. Two nodes in one process on one MemoryStore; leases of 60 s, so a key that waited for
// the old member's lease to expire would fail its call.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { UnhandledWatch, eventually } from '@ergo-ts/test-support';
import { startNode } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';

import {
  ENTITIES_DEFAULTS,
  MemoryStore,
  SHARD_LEASE_KIND,
  entity,
  ownerOfShard,
  shardOf,
  startEntities,
  type EntityStore,
} from '../src/index.js';
import { counterKind } from './counter.js';
import { freeTcpUdpPort } from './dist_helpers.js';

const watch = new UnhandledWatch('@ergo-ts/entities join hand-off');
test.before(() => watch.start());
test.after(() => watch.stop());

/** The first key `<prefix><i>` whose shard `owner` owns among `members` (of shard `shard` when given). */
function keyOwnedBy(owner: string, members: string[], prefix: string, shard?: number): string {
  for (let i = 0; ; i++) {
    const key = `${prefix}${i}`;
    const s = shardOf(key, ENTITIES_DEFAULTS.shards);
    if ((shard === undefined || s === shard) && ownerOfShard(s, members, ENTITIES_DEFAULTS.shards) === owner)
      return key;
  }
}

/**
 * `store`, but the first acquire of shard `shard`'s lease waits for `go` (`reached` resolves when
 * it is asked): an activation's init held there while the members change.
 */
function holdingShard(store: EntityStore, shard: number, go: Promise<void>, reached: () => void): EntityStore {
  let held = false;
  return new Proxy(store, {
    get(target, p) {
      if (p === 'acquire')
        return async (req: Parameters<EntityStore['acquire']>[0]) => {
          if (!held && req.kind === SHARD_LEASE_KIND && req.key === String(shard)) {
            held = true;
            reached();
            await go;
          }
          return target.acquire(req);
        };
      const v: unknown = Reflect.get(target, p, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

test('a key activating while its shard moves to a joining member hands off: the shard’s other keys activate there at once', async (t) => {
  const store = new MemoryStore();
  const port = await freeTcpUdpPort();
  const network = () => ({
    cookie: 'entities-join-handoff',
    acceptors: [{ host: '127.0.0.1', port: 0 }],
    registrar: createEmbeddedRegistrar({ port, retryInterval: 100 }),
  });
  const names = ['a', 'b'].map((n) => `joinho${n}_${process.pid}@localhost`);
  const [a, b] = names as [string, string];
  const moving = keyOwnedBy(b, names, 'k');
  const shard = shardOf(moving, ENTITIES_DEFAULTS.shards);
  const sibling = keyOwnedBy(b, names, 'other', shard);
  let letGo!: () => void;
  const go = new Promise<void>((r) => (letGo = r));
  let reached!: () => void;
  const holding = new Promise<void>((r) => (reached = r));

  const kind = counterKind(0); // never passivates: only a hand-off moves a key
  const options = { kinds: [kind], members: names, leaseTtlMs: 60_000, probeIntervalMs: 100 };
  const nodeA = await startNode(a, { log: { level: 'error' }, network: network() });
  const onA = await startEntities(nodeA, { ...options, store: holdingShard(store, shard, go, reached) });
  t.after(async () => {
    letGo();
    await onA.stop();
    await nodeA.stop();
  });
  // Alone, the first member owns every shard: the key activates there, its init held at the lease.
  const first = onA.call(entity(kind, moving), { set: 1 }, { timeout: 30_000 });
  await holding;

  const nodeB = await startNode(b, { log: { level: 'error' }, network: network() });
  const onB = await startEntities(nodeB, { ...options, store });
  t.after(async () => {
    await onB.stop();
    await nodeB.stop();
  });
  await eventually(() => onA.stats().shardsLost > 0 && onB.members().length === 2, 'both see both; the shard moved');
  assert.equal(onA.ownerOf(entity(kind, moving)), b);

  // The init goes on: the activation registers on a member that no longer owns its shard.
  letGo();
  assert.equal(await first, 1);
  // Another key of the shard, asked on its new owner: activated there, well before the old
  // member's 60 s lease would have expired (nor does anything passivate the moved key).
  const where = (await onB.call(entity(kind, sibling), 'where', { timeout: 20_000 })) as string;
  assert.equal(where.split(' ')[0], b, 'the sibling key runs on the member that joined');
  await eventually(() => !onA.active().some((e) => e.key === moving), 'the moved key left the first member');
  assert.equal(await onB.call(entity(kind, moving), 'get', { timeout: 20_000 }), 1, 'its state moved with it');
});
