// A member running a projection in a child OS process, for the projection tests
// (entities.projection.*.dist.test.ts): a node with the entities runtime on a PostgreSQL store and
// one projection of the tally kind started with `cluster`. Environment: PJ_NAME, PJ_REGISTRAR (the
// embedded registrar's port), PJ_MEMBERS (comma-separated), PJ_DB (postgres:// URL of both the
// store, tables PJ_PREFIX, and the read model, tables PJ_RM), PJ_LEASE_MS, PJ_MODE ('each': at
// least once, each event logged in PJ_RM_log and kept once in PJ_RM_exact; 'exactly': exactly
// once, each batch inserted into PJ_RM_log in the projection's transaction).
// It reports `{ kind: 'ready' }`, `{ kind: 'holding' }` when a held batch is applied but not
// committed, and answers the commands `status`, `members`, `hold` (the next batch waits, applied
// and uncommitted, for `release`), `release` and `stop`.

import { startNode } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';
import pg from 'pg';

import {
  PostgresStore,
  startEntities,
  startExactlyOnceProjection,
  startProjection,
  type JournalEvent,
  type Projection,
} from '../src/index.js';
import { fixtureEnv, serveCommands, toParent } from './fixture_ipc.js';
import { Tally } from './projection_kinds.js';

const env = fixtureEnv('projection_node');
const name = env('PJ_NAME');
const rm = env('PJ_RM');

const store = await PostgresStore.open(env('PJ_DB'), { tablePrefix: env('PJ_PREFIX') });
const pool = new pg.Pool({ connectionString: env('PJ_DB'), max: 4 });
// A connection the server ended while idle in the pool (a paused member's): the next use opens another.
pool.on('error', () => undefined);
const node = await startNode(name, {
  log: { level: 'warning' },
  network: {
    cookie: 'projection-dist',
    acceptors: [{ port: 0 }],
    registrar: createEmbeddedRegistrar({
      port: Number(env('PJ_REGISTRAR')),
      retryInterval: 200,
      registerTimeout: 15_000,
      resolveTimeout: 15_000,
    }),
  },
});
const leaseMs = Number(env('PJ_LEASE_MS'));
const entities = await startEntities(node, {
  store,
  kinds: [Tally],
  members: env('PJ_MEMBERS').split(','),
  leaseTtlMs: leaseMs,
  probeIntervalMs: 100,
});

let hold = false;
let release: () => void = () => undefined;

/** Each event applied: logged (every application) and kept once (the at-least-once read model). */
async function applyEach(e: JournalEvent<{ type: 'added'; n: number }>): Promise<void> {
  await pool.query(`INSERT INTO ${rm}_log (position, n, node) VALUES ($1, $2, $3)`, [e.offset, e.event.n, name]);
  await pool.query(`INSERT INTO ${rm}_exact (position) VALUES ($1) ON CONFLICT DO NOTHING`, [e.offset]);
}

const projection: Projection =
  env('PJ_MODE') === 'each'
    ? await startProjection(node, {
        name: 'tally-view',
        cluster: entities,
        kind: Tally,
        batchSize: 10,
        handler: applyEach,
      })
    : await startExactlyOnceProjection(node, {
        name: 'tally-view',
        cluster: entities,
        kind: Tally,
        batchSize: 10,
        pool,
        offsetsTable: `${rm}_offsets`,
        handleBatch: async (events, tx) => {
          await tx.query(
            `INSERT INTO ${rm}_log (position, n, node) SELECT unnest($1::bigint[]), unnest($2::int[]), $3`,
            [events.map((e) => e.offset), events.map((e) => e.event.n), name],
          );
          if (!hold) return;
          hold = false;
          // Applied, not committed: the test kills or pauses this process now.
          await new Promise<void>((resolve) => {
            release = resolve;
            toParent({ kind: 'holding', from: events[0]!.offset, to: events[events.length - 1]!.offset });
          });
        },
      });

interface Command {
  id: number;
  cmd: 'status' | 'members' | 'hold' | 'release' | 'stop';
}

serveCommands(async (c: Command) => {
  switch (c.cmd) {
    case 'status':
      return { running: projection.running(), offset: projection.offset(), token: projection.token() };
    case 'members':
      return entities.members();
    case 'hold':
      hold = true;
      return 'held';
    case 'release':
      release();
      return 'released';
    case 'stop':
      // The runtime drains first: a running projection hands over on its own (then stop() ends it).
      await entities.stop();
      await projection.stop();
      await node.stop();
      await store.close();
      await pool.end();
      setImmediate(() => process.disconnect());
      return 'stopped';
  }
});
