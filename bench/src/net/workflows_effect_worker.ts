// Effect's side of the workflows suite (suites/workflows.ts): the three workflows
// (net/workflows_serve.ts describes them) on Effect's workflow engine (`effect/workflow`), set up
// as the entities suite's workflow row sets it up (lib/effect_workflow.ts' engineLayer:
// ClusterWorkflowEngine on a SingleRunner, its messages in PostgreSQL at WF_PG_URL). Each step is
// an Activity (its result stored before the workflow goes on), each sleep a DurableClock with
// `inMemoryThreshold: 0` (stored as a wake-up message: by default Effect sleeps 60 s or less in
// memory, which a restarted process would begin again in full). The process runs the engine and
// starts the workflows (`execute`; `discard: true` resolves once the workflow is stored); forked
// again after a kill -9, its runner takes every shard at once (runner storage in memory) and
// replays the stored workflows.

import { Effect, Layer, Schema } from 'effect';
import { Activity, DurableClock, Workflow, type WorkflowEngine } from 'effect/workflow';

import { engineLayer } from '../lib/effect_workflow.js';
import { logStep, serveWorker } from './workflows_serve.js';

const Steps = Workflow.make('WfSteps', {
  payload: { id: Schema.String, n: Schema.Number },
  success: Schema.Number,
  idempotencyKey: ({ id }) => id,
});
const Nap = Workflow.make('WfNap', {
  payload: { id: Schema.String, ms: Schema.Number },
  success: Schema.Number,
  idempotencyKey: ({ id }) => id,
});
const Sleeper = Workflow.make('WfSleeper', {
  payload: { id: Schema.String, ms: Schema.Number },
  idempotencyKey: ({ id }) => id,
});

const now = (name: string) => Activity.make({ name, success: Schema.Number, execute: Effect.sync(() => Date.now()) });
const nap = (ms: number) => DurableClock.sleep({ name: 'nap', duration: ms, inMemoryThreshold: 0 });

const WorkflowsLive = Layer.mergeAll(
  Steps.toLayer(
    Effect.fnUntraced(function* ({ n }) {
      let acc = 0;
      for (let i = 0; i < n; i++) {
        const prev = acc;
        acc = yield* Activity.make({ name: `s${i}`, success: Schema.Number, execute: Effect.sync(() => prev + 1) });
      }
      return acc;
    }),
  ),
  Nap.toLayer(
    Effect.fnUntraced(function* ({ ms }) {
      const t0 = yield* now('t0');
      yield* nap(ms);
      const t1 = yield* now('t1');
      return t1 - t0 - ms;
    }),
  ),
  Sleeper.toLayer(
    Effect.fnUntraced(function* ({ id, ms }) {
      yield* Activity.make({ name: 'a', success: Schema.Number, execute: Effect.sync(() => logStep(id, 'a')) });
      yield* nap(ms);
      yield* Activity.make({ name: 'b', success: Schema.Number, execute: Effect.sync(() => logStep(id, 'b')) });
    }),
  ),
);

const program = Effect.gen(function* () {
  const services = yield* Effect.context<WorkflowEngine.WorkflowEngine>();
  const run = <A, E>(e: Effect.Effect<A, E, WorkflowEngine.WorkflowEngine>): Promise<A> =>
    Effect.runPromise(e.pipe(Effect.provide(services)));
  serveWorker({
    steps: (id, n) => run(Steps.execute({ id, n })),
    nap: (id, ms) => run(Nap.execute({ id, ms })),
    start: async (id, ms) => void (await run(Sleeper.execute({ id, ms }, { discard: true }))),
  });
  yield* Effect.never;
});

await Effect.runPromise(
  Effect.scoped(
    program.pipe(Effect.provide(WorkflowsLive.pipe(Layer.provideMerge(engineLayer(process.env.WF_PG_URL!))))),
  ),
);
