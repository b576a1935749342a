// The durable-workflow row's peer: Effect's own workflow engine (`effect/workflow`, Effect 4; the
// Effect 3 line published it as `@effect/workflow`) on Effect Cluster (ClusterWorkflowEngine,
// SingleRunner, its SQL message storage on the same PostgreSQL server), running the order
// lifecycle the ergo-ts row runs as a durable state machine (net/entities_order.ts):
//
//   enter 'new' (an activity writing the order's state) → race the payment (a DurableDeferred a
//   client completes) against the payment window (a DurableClock: a persisted wake-up) → enter
//   'paid' → await the shipment (a second DurableDeferred) → enter 'shipped'.
//
// A client drives each order as the ergo-ts client does: starts it (stored before it resolves),
// completes the payment and the shipment (each stored), then waits for the workflow's result.

import { NodeCrypto } from '@effect/platform-node';
import { PgClient } from '@effect/sql-pg';
import { Effect, Layer, Redacted, Schema } from 'effect';
import { ClusterWorkflowEngine, SingleRunner } from 'effect/cluster';
import { SqlClient } from 'effect/sql';
import { Activity, DurableClock, DurableDeferred, Workflow, type WorkflowEngine } from 'effect/workflow';

import { rate, reportSamples, runRounds } from './measure.js';
import type { Report, SuiteContext } from './types.js';

const Paid = DurableDeferred.make('paid', { success: Schema.String });
const Shipped = DurableDeferred.make('shipped', { success: Schema.String });

const OrderWorkflow = Workflow.make('BenchOrder', {
  payload: { id: Schema.String, windowMs: Schema.Number },
  success: Schema.String,
  idempotencyKey: ({ id }) => id,
});

const OrderLayer = OrderWorkflow.toLayer(
  Effect.fnUntraced(function* (payload) {
    const sql = yield* SqlClient.SqlClient;
    const enter = (state: string) =>
      Activity.make({
        name: `enter-${state}`,
        execute: sql`INSERT INTO bench_order (id, state) VALUES (${payload.id}, ${state})
                     ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state`.pipe(Effect.asVoid, Effect.orDie),
      });
    yield* enter('new');
    const paid = yield* DurableDeferred.raceAll({
      name: 'payment',
      success: Schema.Boolean,
      error: Schema.Never,
      effects: [
        DurableDeferred.await(Paid).pipe(Effect.as(true)),
        DurableClock.sleep({ name: 'payment-window', duration: payload.windowMs }).pipe(Effect.as(false)),
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

/**
 * Effect's workflow engine as the bench runs it: ClusterWorkflowEngine on a SingleRunner (runner
 * storage in memory, messages in SQL) on the PostgreSQL database at `url`, with the SQL client
 * (shared with the workflows suite's Effect worker, net/workflows_effect_worker.ts).
 */
export function engineLayer(url: string) {
  const SqlLive = PgClient.layer({ url: Redacted.make(url) });
  const ClusterLive = SingleRunner.layer({ runnerStorage: 'memory' }).pipe(
    Layer.provide(SqlLive),
    Layer.provide(NodeCrypto.layerDigest),
  );
  return ClusterWorkflowEngine.layer.pipe(Layer.provideMerge(ClusterLive), Layer.provideMerge(SqlLive));
}

/** Where the row goes. */
export interface WorkflowRow {
  group: string;
  name: string;
  note: string;
  orders: number;
  window: number;
  windowMs: number;
}

/** Measures Effect's workflows completed per second on the PostgreSQL server at `url`. */
export async function measureEffectWorkflow(
  report: Report,
  ctx: SuiteContext,
  url: string,
  r: WorkflowRow,
): Promise<void> {
  const AppLive = OrderLayer.pipe(Layer.provideMerge(engineLayer(url)));

  const program = Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient;
    yield* sql`CREATE TABLE IF NOT EXISTS bench_order (id text PRIMARY KEY, state text NOT NULL)`;
    const services = yield* Effect.context<WorkflowEngine.WorkflowEngine>();
    const one = (id: string) =>
      Effect.gen(function* () {
        const payload = { id, windowMs: r.windowMs };
        yield* OrderWorkflow.execute(payload, { discard: true });
        const executionId = yield* OrderWorkflow.executionId(payload);
        const on = { workflow: OrderWorkflow, executionId };
        yield* DurableDeferred.succeed(Paid, { token: DurableDeferred.tokenFromExecutionId(Paid, on), value: 'card' });
        yield* DurableDeferred.succeed(Shipped, {
          token: DurableDeferred.tokenFromExecutionId(Shipped, on),
          value: 'trk',
        });
        const result = yield* OrderWorkflow.execute(payload);
        if (result !== 'shipped') return yield* Effect.die(new Error(`order ${id}: ${result}`));
      });
    let round = 0;
    const samples = yield* Effect.promise(() =>
      runRounds(ctx, async () => {
        round++;
        const t0 = performance.now();
        await Effect.runPromise(
          Effect.forEach(
            Array.from({ length: r.orders }, (_, i) => `o${round}_${i}`),
            one,
            { concurrency: r.window, discard: true },
          ).pipe(Effect.provide(services)),
        );
        return rate(r.orders, performance.now() - t0);
      }),
    );
    reportSamples(report, { group: r.group, name: r.name, unit: 'workflows/s', note: r.note }, samples);
  });
  await Effect.runPromise(Effect.scoped(program.pipe(Effect.provide(AppLive))));
}
