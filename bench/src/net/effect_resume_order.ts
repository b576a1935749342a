// The kill -9 resume row's order on Effect's workflow engine (`effect/workflow` on Effect
// Cluster), shared by the runner the row kills (net/effect_resume_runner.ts) and the one in the
// bench process (lib/effect_resume.ts). The lifecycle is lib/effect_workflow.ts' (enter 'new' →
// race the payment against the payment window → 'paid' → await the shipment → 'shipped'), each
// state entered by an activity that appends it to the order's row with the time and the runner's
// process id, so the bench can tell when and where an order resumed and that no step ran twice.
//
// The runners are deployed as Effect's docs deploy several: `NodeClusterSocket.layer` with SQL
// storage (runners, shard locks and messages in PostgreSQL, shard locks as advisory locks), each
// runner at its own address, runner health by ping; every ShardingConfig value at its default.
// The payment window is a persisted DurableClock (`inMemoryThreshold: 0`): Effect runs clocks of
// 60 s or less as an in-memory sleep by default, which a restarted runner begins again in full.

import { NodeClusterSocket } from '@effect/platform-node';
import { PgClient } from '@effect/sql-pg';
import { Effect, Layer, Option, Redacted, Schema } from 'effect';
import { ClusterWorkflowEngine, RunnerAddress } from 'effect/cluster';
import { SqlClient } from 'effect/sql';
import { Activity, DurableClock, DurableDeferred, Workflow } from 'effect/workflow';

export const Paid = DurableDeferred.make('paid', { success: Schema.String });
export const Shipped = DurableDeferred.make('shipped', { success: Schema.String });

export const ResumeWorkflow = Workflow.make('ResumeOrder', {
  payload: { id: Schema.String, windowMs: Schema.Number },
  success: Schema.String,
  idempotencyKey: ({ id }) => id,
});

/** The orders' table: the states entered, the payment window's end, the last step's time and runner. */
export const createOrderTable = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient;
  yield* sql`CREATE TABLE IF NOT EXISTS resume_order (id text PRIMARY KEY, history text NOT NULL,
             at double precision NOT NULL, by text NOT NULL)`;
});

const OrderLayer = ResumeWorkflow.toLayer(
  Effect.fnUntraced(function* (payload) {
    const sql = yield* SqlClient.SqlClient;
    const enter = (state: string) =>
      Activity.make({
        name: `enter-${state}`,
        execute: Effect.suspend(
          () => sql`INSERT INTO resume_order (id, history, at, by)
                    VALUES (${payload.id}, ${state}, ${Date.now()}, ${String(process.pid)})
                    ON CONFLICT (id) DO UPDATE SET history = resume_order.history || ',' || EXCLUDED.history,
                    at = EXCLUDED.at, by = EXCLUDED.by`,
        ).pipe(Effect.asVoid, Effect.orDie),
      });
    yield* enter('new');
    const paid = yield* DurableDeferred.raceAll({
      name: 'payment',
      success: Schema.Boolean,
      error: Schema.Never,
      effects: [
        DurableDeferred.await(Paid).pipe(Effect.as(true)),
        DurableClock.sleep({ name: 'payment-window', duration: payload.windowMs, inMemoryThreshold: 0 }).pipe(
          Effect.as(false),
        ),
      ],
    });
    if (!paid) {
      yield* enter('cancelled');
      return 'cancelled';
    }
    yield* enter('paid');
    yield* DurableDeferred.await(Shipped);
    yield* enter('shipped');
    return 'shipped';
  }),
);

/** A runner at 127.0.0.1:`port` with the order workflow, on the database at `url`. */
export function runnerLayer(url: string, port: number) {
  const SqlLive = PgClient.layer({ url: Redacted.make(url) });
  const ShardingLive = NodeClusterSocket.layer({
    storage: 'sql',
    shardingConfig: { runnerAddress: Option.some(RunnerAddress.make('127.0.0.1', port)) },
  }).pipe(Layer.provide(SqlLive));
  const EngineLive = ClusterWorkflowEngine.layer.pipe(Layer.provideMerge(ShardingLive));
  return OrderLayer.pipe(Layer.provideMerge(EngineLive), Layer.provideMerge(SqlLive));
}
