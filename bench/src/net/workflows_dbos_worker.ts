// The DBOS Transact side of the workflows suite (suites/workflows.ts): the three workflows
// (net/workflows_serve.ts describes them) registered with `DBOS.registerWorkflow`, each step a
// `DBOS.runStep` (checkpointed in the system database before the workflow goes on), each sleep a
// `DBOS.sleep` (its wake-up time checkpointed), on the PostgreSQL database WF_PG_URL. The process
// is the application: it starts a workflow (`DBOS.startWorkflow`, which stores it before it
// returns) and awaits its result as a request handler would. Every setting is DBOS' default; the
// executor id is the default one ('local'), so the process forked again after a kill -9 recovers
// the workflows the killed one left pending as it launches.

import { DBOS } from '@dbos-inc/dbos-sdk';

import { logStep, serveWorker } from './workflows_serve.js';

DBOS.setConfig({ name: 'ergo-bench', systemDatabaseUrl: process.env.WF_PG_URL!, logLevel: 'error' });

const steps = DBOS.registerWorkflow(
  async (n: number): Promise<number> => {
    let acc = 0;
    for (let i = 0; i < n; i++) {
      const prev = acc;
      acc = await DBOS.runStep(() => Promise.resolve(prev + 1), { name: `s${i}` });
    }
    return acc;
  },
  { name: 'steps' },
);

const nap = DBOS.registerWorkflow(
  async (ms: number): Promise<number> => {
    const t0 = await DBOS.runStep(() => Promise.resolve(Date.now()), { name: 't0' });
    await DBOS.sleep(ms);
    const t1 = await DBOS.runStep(() => Promise.resolve(Date.now()), { name: 't1' });
    return t1 - t0 - ms;
  },
  { name: 'nap' },
);

const sleeper = DBOS.registerWorkflow(
  async (id: string, ms: number): Promise<void> => {
    await DBOS.runStep(() => Promise.resolve(logStep(id, 'a')), { name: 'a' });
    await DBOS.sleep(ms);
    await DBOS.runStep(() => Promise.resolve(logStep(id, 'b')), { name: 'b' });
  },
  { name: 'sleeper' },
);

/** One unit of the fan-out rows: a workflow of one step (DBOS queues hold workflows, not steps). */
const unit = DBOS.registerWorkflow(
  async (i: number): Promise<number> => DBOS.runStep(() => Promise.resolve(i), { name: 'u' }),
  {
    name: 'unit',
  },
);

/**
 * `n` units at once, awaited together: each a child workflow enqueued on queue q4 (a concurrency
 * limit of 4, DBOS' default polling) when `queued`, else started directly.
 */
const fan = DBOS.registerWorkflow(
  async (n: number, queued: boolean): Promise<number> => {
    const handles = [];
    for (let i = 0; i < n; i++) handles.push(await DBOS.startWorkflow(unit, queued ? { queueName: 'q4' } : {})(i));
    return (await Promise.all(handles.map((h) => h.getResult()))).length;
  },
  { name: 'fan' },
);

await DBOS.launch();
await DBOS.registerQueue('q4', { concurrency: 4 });
serveWorker({
  fanout: async (id, n, queued) => (await DBOS.startWorkflow(fan, { workflowID: id })(n, queued)).getResult(),
  many: (id, n, queued) =>
    Promise.all(
      Array.from({ length: n }, async (_, i) =>
        (
          await DBOS.startWorkflow(unit, { workflowID: `${id}-${i}`, ...(queued ? { queueName: 'q4' } : {}) })(i)
        ).getResult(),
      ),
    ),
  steps: async (id, n) => (await DBOS.startWorkflow(steps, { workflowID: id })(n)).getResult(),
  nap: async (id, ms) => (await DBOS.startWorkflow(nap, { workflowID: id })(ms)).getResult(),
  start: async (id, ms) => void (await DBOS.startWorkflow(sleeper, { workflowID: id })(id, ms)),
});
