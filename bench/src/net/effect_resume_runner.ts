// The Effect Cluster runner the resume row kills (lib/effect_resume.ts): the order workflow
// (net/effect_resume_order.ts) on a runner of its own OS process, at 127.0.0.1:EFFECT_RUNNER_PORT,
// on the database EFFECT_PG_URL. Reports `{ kind: 'ready' }` over IPC once the runner is up; the
// bench ends it with SIGKILL (or by closing IPC, when a round fails before the kill).

import { Effect } from 'effect';

import { runnerLayer } from './effect_resume_order.js';

const program = Effect.gen(function* () {
  yield* Effect.sync(() => process.send!({ kind: 'ready' }));
  yield* Effect.never;
});
process.on('disconnect', () => process.exit(0));
await Effect.runPromise(
  Effect.scoped(
    program.pipe(Effect.provide(runnerLayer(process.env.EFFECT_PG_URL!, Number(process.env.EFFECT_RUNNER_PORT)))),
  ),
);
