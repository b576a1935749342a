// Durable entities (@ergo-ts/entities): what addressing an actor by key costs over a plain call,
// how fast entities activate, and how many durable sends a store takes.
//
// Entity call vs plain call: sequential calls that change nothing (no store write), to one
// activated entity (`entities.call`) and to a plain actor (`node.call`) — local (one node), and
// remote (the entity's owner, or the echo actor, on a second node in a forked OS process; the
// two nodes share the store). Activations/s: `entities.call` to N keys never seen, one at a
// time (each takes the key's lease, loads its state, spawns its host), local. Durable sends/s:
// `sendDurable` with a fresh id each, WINDOW in flight over KEYS entities (each: stored in the
// inbox before the acknowledgement, then processed and written with the processed id in one
// transaction). The SQLite store is a temporary file (synchronous=full); PostgreSQL is a real
// server started for the suite (Debian's postgresql 15, fsync on, on loopback) — its rows are
// skipped when there is none. Effect Cluster (`effect/cluster`, the TypeScript peer) runs the
// local PostgreSQL rows' workload on the same kind of server in its own child process
// (lib/effect_cluster.ts): its figures are the `@effect/cluster` column of those rows.
//
// Each local row of activations and durable sends is measured twice: with a lease per key
// (`leaseScope: 'key'`: every activation takes its key's lease, a store write; the rows keep
// their historical names, without a suffix) and with a lease per shard (the runtime's default
// since 2026-11-25, rows named ', shard leases': a node takes a shard's lease once; activations
// take none and every write is fenced by the shard's token), and a local entity call beside them. Effect Cluster
// locks per shard: its one run is reported on both rows, so it stands beside either. Each
// activation row is measured one key at a time and WINDOW keys at once.
//
// The event-sourced rows (entities_journal.ts: events persisted by one ledger and by many, and the
// activation of a ledger with 1,000 events and a snapshot), the workflow rows and the entity calls
// run on each store with the runtime's default lease scope.

import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Actor, ProcessID, startNode, type Atom, type Node, type PID, type Ref } from 'ergo-ts';
import {
  ENTITIES_DEFAULTS,
  PostgresStore,
  SqliteStore,
  entity,
  startEntities,
  type Entities,
  type EntityStore,
} from '@ergo-ts/entities';
import { postgresMissing, startPostgres, type Postgres } from '@ergo-ts/test-support';

import { rate, reportSamples, runRounds } from '../lib/measure.js';
import { acceptorPort } from '../lib/routes.js';
import type { Report, ScenarioSpec, SuiteContext } from '../lib/types.js';
import { BenchCounter, BenchLedger } from '../net/entities_kind.js';
import { measureJournal } from '../lib/entities_journal.js';
import { measureOrders, workflowRow } from '../lib/entities_workflow.js';
import { BenchOrder } from '../net/entities_order.js';
import { measureResume } from '../lib/entities_resume.js';
import { resumeRow } from '../lib/resume_row.js';

/** The peer name of Effect's columns (lib/effect_cluster.ts' EFFECT_PEER; not imported: Effect may be missing). */
const EFFECT_PEER = 'effect-cluster';

/**
 * Effect's side of the rows, imported only in its own child: where Effect is not installed the
 * child says so and reports nothing, and the ergo-ts children (and the suite's listing) still run.
 */
async function loadEffect() {
  try {
    const [cluster, workflow, resume] = await Promise.all([
      import('../lib/effect_cluster.js'),
      import('../lib/effect_workflow.js'),
      import('../lib/effect_resume.js'),
    ]);
    return { ...cluster, ...workflow, ...resume };
  } catch (e) {
    console.error(
      `entities bench: Effect columns skipped: Effect could not be loaded (${(e as Error).message.split('\n')[0]}); ` +
        'npm install in bench/ brings effect, @effect/platform-node and @effect/sql-pg',
    );
    return undefined;
  }
}

const here = dirname(fileURLToPath(import.meta.url));
const PEER = join(here, '..', 'net', 'entities_peer.js');
const G = 'entities';
const CALLS = 5000;
const WINDOW = 64;
const KEYS = 16;
/** The timeout of the rows with WINDOW in flight: on a machine others load, the default 5 s is too short. */
const LOADED_TIMEOUT = 60_000;

export const scenarios: ScenarioSpec[] = [
  { id: 'entities-sqlite', peers: ['ergo-ts'], timeout: 900 },
  { id: 'entities-postgres', peers: ['ergo-ts', EFFECT_PEER], timeout: 900 },
  // The order workflow's resume after kill -9 (lib/resume_row.ts): its own scenario, so it runs
  // alone (`--only=entities-resume`); Effect's rounds wait out its runner expiry (≈ 35 s each).
  { id: 'entities-resume', peers: ['ergo-ts', EFFECT_PEER], timeout: 900 },
];

class Echo extends Actor {
  override handleCall(_from: PID, _ref: Ref, request: unknown): unknown {
    return request;
  }
}

interface Setup {
  node: Node;
  store: EntityStore;
  entities: Entities;
  peer?: ChildProcess;
  peerName?: string;
  close(): Promise<void>;
}

/** What one lease covers in a run (EntitiesOptions.leaseScope). */
type Scope = 'key' | 'shard';

/** The row-name suffix of a scope: none for key leases (the rows' historical names). */
const scopeTag = (scope: Scope): string => (scope === 'shard' ? ', shard leases' : '');

async function setup(
  db: string,
  open: () => Promise<EntityStore>,
  remote: boolean,
  scope: Scope = ENTITIES_DEFAULTS.leaseScope,
): Promise<Setup> {
  const name = `entbench${process.pid}_${Math.floor(Math.random() * 1e6)}@localhost`;
  const peerName = `entpeer${process.pid}_${Math.floor(Math.random() * 1e6)}@localhost`;
  const node = await startNode(name, {
    network: remote ? { cookie: 'bench', registrar: null, acceptors: [{ port: 0 }] } : undefined,
    log: { defaultLogger: { disable: true } },
  });
  await node.spawnRegister('echo', Echo);
  const store = await open();
  let peer: ChildProcess | undefined;
  if (remote) {
    peer = fork(PEER, [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        ENT_DB: db,
        ENT_NAME: peerName,
        ENT_PEER: name,
        ENT_PEER_PORT: String(acceptorPort(node)),
      },
    });
    const ready = await new Promise<{ port: number }>((res, rej) => {
      peer!.once('message', (m) => res(m as { port: number }));
      peer!.once('exit', (c) => rej(new Error(`entities peer exited (${String(c)})`)));
    });
    const v = { name: '', release: '' };
    node
      .network()
      .addRoute(
        peerName.replace(/\./g, '\\.'),
        { route: { host: '127.0.0.1', port: ready.port, tls: false, handshakeVersion: v, protoVersion: v } },
        0,
      );
  }
  const entities = await startEntities(node, {
    store,
    kinds: [BenchCounter, BenchLedger, BenchOrder],
    leaseScope: scope,
    ...(remote ? { members: [name, peerName], probeIntervalMs: 100 } : {}),
  });
  if (remote) while (entities.members().length < 2) await new Promise((r) => setTimeout(r, 50));
  return {
    node,
    store,
    entities,
    ...(peer === undefined ? {} : { peer, peerName }),
    async close() {
      await entities.stop();
      if (peer !== undefined) {
        const gone = new Promise((r) => peer.once('exit', r));
        peer.disconnect();
        await gone;
      }
      await node.stop();
      await store.close();
    },
  };
}

/** A key this node does (local) or does not (remote) own. */
function keyOwned(s: Setup, remote: boolean): string {
  for (let i = 0; ; i++) {
    const key = `key${i}`;
    if ((s.entities.ownerOf(entity(BenchCounter, key)) === s.node.name) !== remote) return key;
  }
}

/** Rounds of CALLS sequential calls that change nothing to one activated entity (local or remote). */
async function entityCallRate(ctx: SuiteContext, s: Setup, remote: boolean): Promise<number[]> {
  const addr = entity(BenchCounter, keyOwned(s, remote));
  await s.entities.call(addr, 'get');
  return runRounds(ctx, async () => {
    const t0 = performance.now();
    for (let i = 0; i < CALLS; i++) await s.entities.call(addr, 'get');
    return rate(CALLS, performance.now() - t0);
  });
}

async function measureStore(
  report: Report,
  ctx: SuiteContext,
  label: string,
  db: string,
  open: () => Promise<EntityStore>,
) {
  const note = `${label}; ${CALLS} sequential calls per round`;
  for (const remote of [false, true]) {
    const where = remote ? 'remote (two OS processes)' : 'local';
    const s = await setup(db, open, remote);
    try {
      const entityCalls = await entityCallRate(ctx, s, remote);
      reportSamples(report, { group: G, name: `entity call, ${where} (${label})`, unit: 'calls/s', note }, entityCalls);
      const echo = new ProcessID('echo' as Atom, (remote ? s.peerName! : s.node.name) as Atom);
      const plain = await runRounds(ctx, async () => {
        const t0 = performance.now();
        for (let i = 0; i < CALLS; i++) await s.node.call(echo, 'get');
        return rate(CALLS, performance.now() - t0);
      });
      reportSamples(report, { group: G, name: `plain call, ${where} (${label} run)`, unit: 'calls/s', note }, plain);
    } finally {
      await s.close();
    }
  }
  for (const scope of ['key', 'shard'] as const) await measureWrites(report, ctx, label, db, open, scope);
}

/** Activations and durable sends on one node with `scope` leases (and, per shard, a local call). */
async function measureWrites(
  report: Report,
  ctx: SuiteContext,
  label: string,
  db: string,
  open: () => Promise<EntityStore>,
  scope: Scope,
): Promise<void> {
  const tag = scopeTag(scope);
  const s = await setup(db, open, false, scope);
  try {
    if (scope === 'shard') {
      // A call to an active entity takes no lease in either scope: this row checks it costs the same.
      const calls = await entityCallRate(ctx, s, false);
      reportSamples(
        report,
        {
          group: G,
          name: `entity call, local${tag} (${label})`,
          unit: 'calls/s',
          note: `${label}; ${CALLS} sequential calls per round`,
        },
        calls,
      );
    }
    const n = ctx.quick ? 200 : 1000;
    let round = 0;
    const acts = await runRounds(ctx, async () => {
      round++;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await s.entities.call(entity(BenchCounter, `act-${scope}${round}_${i}`), 'get');
      return rate(n, performance.now() - t0);
    });
    reportSamples(
      report,
      {
        group: G,
        name: `activations, local${tag} (${label})`,
        unit: 'activations/s',
        note: `${n} new keys one at a time; ${scope === 'shard' ? 'one lease per shard (taken once)' : 'a lease per key'}`,
      },
      acts,
    );
    // The same, WINDOW new keys at once: activations overlap their store round trips, and with key
    // leases PostgreSQL flushes the lease commits that arrive together in one WAL flush.
    let wround = 0;
    const wide = await runRounds(ctx, async () => {
      wround++;
      const t0 = performance.now();
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < n) {
          const i = next++;
          await s.entities.call(entity(BenchCounter, `actw-${scope}${wround}_${i}`), 'get', {
            timeout: LOADED_TIMEOUT,
          });
        }
      };
      await Promise.all(Array.from({ length: WINDOW }, lane));
      return rate(n, performance.now() - t0);
    });
    reportSamples(
      report,
      {
        group: G,
        name: `activations, ${WINDOW} at once, local${tag} (${label})`,
        unit: 'activations/s',
        note: `${n} new keys, ${WINDOW} in flight; ${scope === 'shard' ? 'one lease per shard (taken once)' : 'a lease per key'}`,
      },
      wide,
    );
    const total = ctx.quick ? 1000 : 4000;
    let id = 0;
    const sends = await runRounds(ctx, async () => {
      const t0 = performance.now();
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < total) {
          const i = next++;
          await s.entities.sendDurable(entity(BenchCounter, `d-${scope}${i % KEYS}`), { add: 1 }, `m-${scope}${++id}`, {
            timeout: LOADED_TIMEOUT,
          });
        }
      };
      await Promise.all(Array.from({ length: WINDOW }, lane));
      return rate(total, performance.now() - t0);
    });
    reportSamples(
      report,
      {
        group: G,
        name: `durable sends, local${tag} (${label})`,
        unit: 'msg/s',
        note: `${total} per round, ${WINDOW} in flight over ${KEYS} entities; acknowledged once stored, each then processed in one transaction`,
      },
      sends,
    );
    // The event-sourced rows (entities_journal.ts) and the workflow row (entities_workflow.ts), once
    // per store: with the default lease scope.
    if (scope === ENTITIES_DEFAULTS.leaseScope) {
      await measureJournal(report, ctx, s, { group: G, label, window: WINDOW, keys: KEYS, timeout: LOADED_TIMEOUT });
      await measureOrders(report, ctx, s.entities, workflowRow(ctx, G, label), LOADED_TIMEOUT);
    }
  } finally {
    await s.close();
  }
}

export async function entitiesSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  const c: SuiteContext = ctx ?? { scenario: undefined, peer: 'ergo-ts', rounds: 5, warmup: 1, quick: false };
  const want = (id: string): boolean => c.scenario === undefined || c.scenario === id;
  const effect = c.peer === EFFECT_PEER;
  if (want('entities-sqlite') && !effect) {
    const dir = mkdtempSync(join(tmpdir(), 'ergo-bench-entities-'));
    const file = join(dir, 'entities.db');
    try {
      await measureStore(report, c, 'SQLite', file, () => Promise.resolve(SqliteStore.open(file)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  for (const id of ['entities-postgres', 'entities-resume'] as const) {
    if (!want(id)) continue;
    let missing: string | undefined;
    try {
      missing = postgresMissing();
    } catch (e) {
      missing = (e as Error).message;
    }
    if (missing !== undefined) {
      console.error(`entities bench: PostgreSQL rows skipped: ${missing}`);
      return;
    }
    const fx = effect ? await loadEffect() : undefined;
    if (effect && fx === undefined) continue;
    const pg: Postgres = await startPostgres();
    try {
      if (id === 'entities-resume') {
        const row = resumeRow(c, G, 'PostgreSQL');
        if (fx !== undefined) await fx.measureEffectResume(report, c, pg.url, row);
        else await measureResume(report, c, pg.url, row);
      } else if (fx !== undefined) {
        await fx.measureEffectCluster(report, c, pg.url, {
          group: G,
          label: 'PostgreSQL',
          calls: CALLS,
          window: WINDOW,
          keys: KEYS,
        });
        await fx.measureEffectWorkflow(report, c, pg.url, workflowRow(c, G, 'PostgreSQL'));
      } else await measureStore(report, c, 'PostgreSQL', pg.url, () => PostgresStore.open(pg.url));
    } finally {
      await pg.stop();
    }
  }
}
