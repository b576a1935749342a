// The inbox sweeper across OS processes (runtime/inbox_sweeper.ts), run on each store
// (entities.inbox.dist.test.ts: SQLite; entities.inbox.dist.postgres.test.ts: PostgreSQL). A
// durable message is acknowledged once its key's inbox holds it; here its owner then never writes
// it (the fixture's 'hangwrites': every write of a 'hang…' key never settles) and dies: killed
// with kill -9, paused past its lease and then killed, or the whole cluster killed and started
// again. No caller touches the key afterwards: the test reads the entity's state from the store
// (a call would activate the key itself), so only the sweeper can have handled the message. The
// delays from the owner's death seen (or the members being up) to the message handled are printed,
// not asserted.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';

import { eventually } from '@ergo-ts/test-support';

import type { EntityStore } from '../src/index.js';
import { EntityNode, freeTcpUdpPort, openStore, ownerAmong, seeMembers, type ClusterSettings } from './dist_helpers.js';

/** Where one test's cluster keeps its store: `db` (and `prefix` for PostgreSQL tables). */
export type InboxStoreFor = (tag: string) => Promise<{ db: string; prefix?: string }>;

/** Keys owned by `owner` among `names`, named `hang<tag><i>`. */
function keysOwnedBy(owner: string, names: string[], tag: string, count: number): string[] {
  return Array.from({ length: 400 }, (_, i) => `hang${tag}${i}`)
    .filter((k) => ownerAmong(k, names) === owner)
    .slice(0, count);
}

/** Resolves with the time (Date.now()) once every key's counter was added to once, read from the store. */
async function handled(store: EntityStore, keys: string[], what: string): Promise<number> {
  await eventually(
    async () => {
      for (const key of keys) {
        const { state } = await store.load({ kind: 'counter', key });
        if ((state as { adds?: number } | undefined)?.adds !== 1) return false;
      }
      return true;
    },
    what,
    { timeoutMs: 60_000, intervalMs: 20 },
  );
  return Date.now();
}

/** Resolves with the time once `node` no longer lists `gone` as a member. */
async function seesGone(node: EntityNode, gone: string): Promise<number> {
  await eventually(
    async () => !((await node.cmd('members')) as string[]).includes(gone),
    `${node.name} sees ${gone} down`,
    {
      timeoutMs: 60_000,
      intervalMs: 20,
    },
  );
  return Date.now();
}

/** Registers the cases, each test's store from `db`. */
export function inboxCases(db: InboxStoreFor): void {
  const storeName = (settings: ClusterSettings): string =>
    settings.db.startsWith('postgres') ? 'PostgreSQL' : 'SQLite';

  /** Two nodes `<tag><a|b><pid>` (the first serves the registrar), stopped or killed after the test. */
  async function cluster(
    t: { after(fn: () => Promise<void>): void },
    tag: string,
    extra: Partial<ClusterSettings> = {},
  ): Promise<{ nodes: EntityNode[]; settings: ClusterSettings; store: EntityStore }> {
    const names = ['a', 'b'].map((n) => `${tag}${n}${process.pid}@localhost`);
    const settings: ClusterSettings = {
      registrar: await freeTcpUdpPort(),
      members: names,
      ...(await db(tag)),
      leaseMs: 1500,
      renewMs: 300,
      passivateMs: 0,
      faulty: true,
      ...extra,
    };
    const nodes: EntityNode[] = [];
    t.after(async () => {
      for (const n of nodes) await n.stop();
    });
    for (const name of names) nodes.push(await EntityNode.start(name, settings));
    await seeMembers(nodes);
    const store = await openStore(settings.db, settings.prefix);
    t.after(() => store.close());
    return { nodes, settings, store };
  }

  /** Sends `{ add: 1 }` durably to each key through `via` (each acknowledged as accepted). */
  async function accept(via: EntityNode, keys: string[]): Promise<void> {
    for (const key of keys)
      assert.equal(await via.cmd('durable', { key, req: { add: 1 }, msgId: `m-${key}` }), 'accepted', key);
  }

  test('kill -9 of the owner right after it acknowledged: a survivor handles the message, no call touching the key', async (t) => {
    const { nodes, settings, store } = await cluster(t, 'ik');
    const [a, b] = nodes as [EntityNode, EntityNode];
    const keys = keysOwnedBy(b.name, settings.members, 'k', 3);
    await b.cmd('hangwrites');
    await accept(a, keys);
    assert.equal((await store.pendingInbox!(100)).filter((p) => keys.includes(p.key)).length, keys.length);
    const killedAt = Date.now();
    await b.kill();
    const [detectedAt, handledAt] = await Promise.all([
      seesGone(a, b.name),
      handled(store, keys, 'the survivor handled every accepted message'),
    ]);
    console.log(
      `# ${storeName(settings)}: owner kill -9 → survivor sees it down ${detectedAt - killedAt} ms; down seen → handled ${handledAt - detectedAt} ms (kill → handled ${handledAt - killedAt} ms)`,
    );
    assert.deepEqual(
      (await store.pendingInbox!(100)).filter((p) => keys.includes(p.key)),
      [],
      'the inboxes are empty',
    );
    // The sweeper counts an activation when it resolves, a moment after the handler's write the
    // store shows (read once right after it, the count was short once in CI).
    await eventually(
      async () => (((await a.cmd('stats')) as { inbox?: { activated: number } }).inbox?.activated ?? 0) >= keys.length,
      `the survivor's sweeper activated the keys`,
      { timeoutMs: 60_000, intervalMs: 20 },
    );
  });

  test('an owner paused (SIGSTOP) past its lease, then killed: its accepted message is handled, once', async (t) => {
    const { nodes, settings, store } = await cluster(t, 'ip', { leaseMs: 3000, renewMs: 1000, stallMs: 2000 });
    const [a, b] = nodes as [EntityNode, EntityNode];
    const keys = keysOwnedBy(b.name, settings.members, 'p', 2);
    await b.cmd('hangwrites');
    await accept(a, keys);
    const lease = await store.lease({ kind: 'counter', key: keys[0]! });
    assert.ok(lease !== undefined && lease.owner.startsWith(b.name), `b holds ${keys[0]}'s lease`);
    const pausedAt = Date.now();
    b.proc.kill('SIGSTOP');
    let killed = false;
    t.after(async () => {
      if (!killed) await b.kill();
    });
    const [detectedAt, handledAt] = await Promise.all([
      seesGone(a, b.name),
      handled(store, keys, 'handled while the owner is paused'),
    ]);
    // Past its lease (as it stood at the pause), then killed.
    await eventually(() => Date.now() > lease.expiresAt, 'the paused owner’s lease ended', { timeoutMs: 60_000 });
    killed = true;
    await b.kill();
    console.log(
      `# ${storeName(settings)}: owner SIGSTOP → survivor sees it down ${detectedAt - pausedAt} ms (peerStallTimeout 2000); down seen → handled ${handledAt - detectedAt} ms; handled ${handledAt < lease.expiresAt ? `${lease.expiresAt - handledAt} ms before` : `${handledAt - lease.expiresAt} ms after`} the paused owner's lease (${settings.leaseMs} ms) would end`,
    );
    for (const key of keys)
      assert.deepEqual((await store.load({ kind: 'counter', key })).state, { n: 1, adds: 1 }, `${key} handled once`);
  });

  test('a whole cluster killed (kill -9) and started again: the accepted messages are handled, no call touching the keys', async (t) => {
    const { nodes, settings, store } = await cluster(t, 'iw');
    const [a, b] = nodes as [EntityNode, EntityNode];
    const keys = [...keysOwnedBy(a.name, settings.members, 'wa', 2), ...keysOwnedBy(b.name, settings.members, 'wb', 2)];
    for (const n of nodes) await n.cmd('hangwrites');
    await accept(a, keys);
    for (const n of nodes) await n.kill();
    assert.equal((await store.pendingInbox!(100)).filter((p) => keys.includes(p.key)).length, keys.length);
    // The same names: each node's restart takes over its earlier self's leases at once.
    const again: EntityNode[] = [];
    t.after(async () => {
      for (const n of again) await n.stop();
    });
    const startedAt = Date.now();
    const handledP = handled(store, keys, 'the restarted cluster handled every accepted message');
    again.push(await EntityNode.start(settings.members[0]!, { ...settings, faulty: false }));
    const firstUpAt = Date.now();
    again.push(await EntityNode.start(settings.members[1]!, { ...settings, faulty: false }));
    const upAt = Date.now();
    await seeMembers(again);
    const seenAt = Date.now();
    const handledAt = await handledP;
    console.log(
      `# ${storeName(settings)}: whole-cluster restart (both started in ${upAt - startedAt} ms): handled ${handledAt - firstUpAt} ms after the first member was up, ${handledAt - upAt} ms after the last, ${handledAt - seenAt} ms after both saw each other (negative: before)`,
    );
    for (const key of keys)
      assert.deepEqual((await store.load({ kind: 'counter', key })).state, { n: 1, adds: 1 }, `${key} handled once`);
  });
}
