// Every PostgreSQL session of two live members ended at once (pg_terminate_backend of every
// backend: what a failover does to the old primary's sessions), on a real PostgreSQL 15 server
// started for this file. Each member's liveness claim (a session advisory lock, runtime/liveness.ts)
// is free until it claims again, so a member that read a free claim as "gone" would take its
// peer's keys over (issue 89's suspect for slow recovery after a Patroni failover). It must not: a
// peer is asked about only when its node is declared down, and the members stay connected. Every
// key answers after the sessions end from the same member under the same fencing token, and no
// write is refused as stale. No server here: skips with the reason (fails under CI=true).

import { strict as assert } from 'node:assert';
import { after, test } from 'node:test';

import pg from 'pg';

import { eventually, freeTcpUdpPort, postgresMissing, startPostgres } from '@ergo-ts/test-support';
import { startNode, type Node } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';

import { PostgresStore, entity, startEntities, type Entities } from '../src/index.js';
import { counterKind } from './counter.js';

const missing = postgresMissing();
if (missing !== undefined) {
  console.log(`# skipped: ${missing}`);
  test('two members whose store sessions all end', (t) => t.skip(missing));
} else {
  const server = await startPostgres();
  after(() => server.stop());

  test("every store session of two live members ended: no member takes the other's keys over", async (t) => {
    const registrar = await freeTcpUdpPort();
    const names = ['a', 'b'].map((m) => `pgsl${m}${process.pid}@localhost`);
    const counter = counterKind();
    const members: { node: Node; entities: Entities; store: PostgresStore }[] = [];
    t.after(async () => {
      for (const m of members) {
        await m.entities.stop();
        await m.node.stop();
        await m.store.close();
      }
    });
    for (const name of names) {
      const store = await PostgresStore.open(server.url, { tablePrefix: 'pgsl_' });
      const node = await startNode(name, {
        log: { level: 'error' },
        network: {
          cookie: 'pg-sessions-lost',
          acceptors: [{ host: '127.0.0.1', port: 0 }],
          registrar: createEmbeddedRegistrar({ port: registrar, retryInterval: 100 }),
        },
      });
      const entities = await startEntities(node, { store, kinds: [counter], members: names, leaseScope: 'key' });
      members.push({ node, entities, store });
    }
    const [a, b] = members as [(typeof members)[0], (typeof members)[0]];
    for (const m of members)
      await eventually(() => m.entities.members().length === 2, `${m.node.name} sees both members`, {
        timeoutMs: 30_000,
      });
    const keys = Array.from({ length: 24 }, (_, i) => `k${i}`);
    const where = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const key of keys)
        out.push(String(await a.entities.call(entity(counter, key), 'where', { timeout: 20_000 })));
      return out;
    };
    const before = await where();
    const hosts = new Set(before.map((w) => w.split(' ')[0]));
    assert.equal(hosts.size, 2, `the keys are spread over both members: ${before.join(', ')}`);

    // Every other session of the server ends: both members' claims, pools and wakes sessions.
    const direct = new pg.Client({ connectionString: server.url });
    await direct.connect();
    try {
      const ended = await direct.query<{ n: string }>(
        `SELECT count(*) AS n FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE pid <> pg_backend_pid() AND datname = current_database()) t`,
      );
      assert.ok(Number(ended.rows[0]?.n) > 0, 'sessions ended');
      // Both members claim again (their liveness locks held anew on new sessions).
      for (const m of members)
        await eventually(
          async () => !(await b.store.livenessReleased(m.entities.owner)),
          `${m.node.name} claims again`,
          {
            timeoutMs: 30_000,
          },
        );
    } finally {
      await direct.end();
    }

    // Calls from both sides, while and after the claims are taken again: each key on its member still.
    const after = await where();
    assert.deepEqual(after, before, 'every key answers from the same member under the same token');
    for (const key of keys) await b.entities.call(entity(counter, key), { set: 1 }, { timeout: 20_000 });
    assert.deepEqual(await where(), before, 'and after a write to each');
    for (const m of members) {
      const k = m.entities.stats().kinds.counter;
      assert.equal(k?.refused, 0, `${m.node.name}: no write refused as stale`);
      assert.equal(k?.stopped, 0, `${m.node.name}: no activation ended`);
    }
  });
}
