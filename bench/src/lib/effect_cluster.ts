// The TypeScript peer of @ergo-ts/entities: Effect Cluster (`effect/cluster`, Effect 4) with its
// SQL storage on the same PostgreSQL server, measured with the same workload as the entities
// suite's local PostgreSQL rows, so they land in one table row each:
//
// - entity call: sequential volatile RPCs (`Get`, no write) to one active entity;
// - activations: one call each to entity ids never seen, one at a time;
// - durable sends: a persisted RPC (`ClusterSchema.Persisted`) sent with `discard: true` — it
//   resolves once the message is stored — WINDOW in flight over KEYS entities; the handler writes
//   the entity's count to a table (an upsert), as an ergo-ts entity writes its state.
//
// Effect Cluster keeps no entity state of its own, so the bench's entity keeps its count in a table
// and reads it when it activates (one SELECT), as an ergo-ts entity loads its stored state: both
// sides do the same work per activation. What still differs, said in the rows' notes: a persisted
// message without a primary key is not de-duplicated (ergo-ts de-duplicates by message id in the
// state's transaction), and Effect locks per shard (ergo-ts' key-lease rows take a lease per key).
// SingleRunner: one runner owns every shard, runner storage in memory.

import { NodeCrypto } from '@effect/platform-node';
import { PgClient } from '@effect/sql-pg';
import { Effect, Layer, Redacted, Schema } from 'effect';
import { ClusterSchema, Entity, SingleRunner } from 'effect/cluster';
import { Rpc } from 'effect/rpc';
import { SqlClient } from 'effect/sql';

import { rate, reportSamples, runRounds } from './measure.js';
import type { Report, SuiteContext } from './types.js';

/** The peer name of Effect Cluster's columns. */
export const EFFECT_PEER = 'effect-cluster';

const Get = Rpc.make('Get', { success: Schema.Number });
const Add = Rpc.make('Add', { payload: { add: Schema.Number }, success: Schema.Number }).annotate(
  ClusterSchema.Persisted,
  true,
);
const Counter = Entity.make('BenchCounter', [Get, Add]);

/** A counter entity: volatile `Get`, persisted `Add` whose handler upserts the count. */
const CounterLayer = Counter.toLayer(
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient;
    const address = yield* Entity.CurrentAddress;
    const key = address.entityId;
    // Loads its state when it activates, as an ergo-ts entity does: the same work on both sides.
    const rows = yield* sql<{ count: string }>`SELECT count FROM bench_counter WHERE key = ${key}`.pipe(Effect.orDie);
    let count = rows.length === 0 ? 0 : Number(rows[0]!.count);
    return Counter.of({
      Get: () => Effect.succeed(count),
      Add: ({ payload }) =>
        Effect.gen(function* () {
          count += payload.add;
          yield* sql`INSERT INTO bench_counter (key, count) VALUES (${key}, ${count})
                     ON CONFLICT (key) DO UPDATE SET count = EXCLUDED.count`;
          return count;
        }).pipe(Effect.orDie),
    });
  }),
  { maxIdleTime: '5 minutes' },
);

/** The three local rows, named as the entities suite names its PostgreSQL rows. */
export interface EffectRows {
  group: string;
  label: string;
  calls: number;
  window: number;
  keys: number;
}

/**
 * Measures Effect Cluster on the PostgreSQL server at `url` and reports the rows for peer
 * {@link EFFECT_PEER}. Creates its tables (Effect's own migrations, and `bench_counter`).
 */
export async function measureEffectCluster(
  report: Report,
  ctx: SuiteContext,
  url: string,
  r: EffectRows,
): Promise<void> {
  const SqlLive = PgClient.layer({ url: Redacted.make(url) });
  // No cap on resident entities: the activation rows make 1,000–4,000 new ids per round, and past
  // Effect's default cap (10,000, kept 5 minutes idle) a full run's later rounds failed with
  // MailboxFull; ergo-ts keeps no such cap either.
  const ClusterLive = SingleRunner.layer({
    runnerStorage: 'memory',
    shardingConfig: { maxResidentEntities: 'unbounded' },
  }).pipe(Layer.provide(SqlLive), Layer.provide(NodeCrypto.layerDigest));
  const AppLive = CounterLayer.pipe(Layer.provideMerge(ClusterLive), Layer.provideMerge(SqlLive));
  const note = `${r.label}; ${r.calls} sequential calls per round`;

  const program = Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient;
    yield* sql`CREATE TABLE IF NOT EXISTS bench_counter (key text PRIMARY KEY, count bigint NOT NULL)`;
    const clientFor = yield* Counter.client;
    const run = <A, E>(e: Effect.Effect<A, E>): Promise<A> => Effect.runPromise(e);
    const one = clientFor('key0');
    yield* one.Get();

    const calls = yield* Effect.promise(() =>
      runRounds(ctx, async () => {
        const t0 = performance.now();
        await run(
          Effect.gen(function* () {
            for (let i = 0; i < r.calls; i++) yield* one.Get();
          }),
        );
        return rate(r.calls, performance.now() - t0);
      }),
    );
    for (const tag of ['', ', shard leases'])
      reportSamples(
        report,
        { group: r.group, name: `entity call, local${tag} (${r.label})`, unit: 'calls/s', note },
        calls,
      );

    const n = ctx.quick ? 200 : 1000;
    let round = 0;
    const acts = yield* Effect.promise(() =>
      runRounds(ctx, async () => {
        round++;
        const t0 = performance.now();
        await run(
          Effect.gen(function* () {
            for (let i = 0; i < n; i++) yield* clientFor(`act${round}_${i}`).Get();
          }),
        );
        return rate(n, performance.now() - t0);
      }),
    );
    // Effect Cluster locks per shard: one run, shown beside ergo-ts' key-lease and shard-lease rows.
    for (const tag of ['', ', shard leases'])
      reportSamples(
        report,
        {
          group: r.group,
          name: `activations, local${tag} (${r.label})`,
          unit: 'activations/s',
          note: `${n} new ids one at a time; each loads its count (one SELECT)`,
        },
        acts,
      );

    let wround = 0;
    const wide = yield* Effect.promise(() =>
      runRounds(ctx, async () => {
        wround++;
        const t0 = performance.now();
        await run(
          Effect.forEach(
            Array.from({ length: n }, (_, i) => i),
            (i) => clientFor(`actw${wround}_${i}`).Get(),
            { concurrency: r.window, discard: true },
          ),
        );
        return rate(n, performance.now() - t0);
      }),
    );
    for (const tag of ['', ', shard leases'])
      reportSamples(
        report,
        {
          group: r.group,
          name: `activations, ${r.window} at once, local${tag} (${r.label})`,
          unit: 'activations/s',
          note: `${n} new ids, ${r.window} in flight; each loads its count (one SELECT)`,
        },
        wide,
      );

    const total = ctx.quick ? 1000 : 4000;
    const sends = yield* Effect.promise(() =>
      runRounds(ctx, async () => {
        const t0 = performance.now();
        await run(
          Effect.forEach(
            Array.from({ length: total }, (_, i) => i),
            (i) => clientFor(`d${i % r.keys}`).Add({ add: 1 }, { discard: true }),
            { concurrency: r.window, discard: true },
          ),
        );
        return rate(total, performance.now() - t0);
      }),
    );
    for (const tag of ['', ', shard leases'])
      reportSamples(
        report,
        {
          group: r.group,
          name: `durable sends, local${tag} (${r.label})`,
          unit: 'msg/s',
          note: `${total} per round, ${r.window} in flight over ${r.keys} entities; persisted RPC sent with discard (resolves once stored), the handler upserts the count; not de-duplicated`,
        },
        sends,
      );
  });
  await Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(AppLive))));
}
