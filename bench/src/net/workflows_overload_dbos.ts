// DBOS Transact's side of the workflows overload suite (lib/workflows_overload_peers.ts): the
// open-loop row's workflow (net/workflows_overload_kinds.ts describes it) registered with
// `DBOS.registerWorkflow`, 3 steps, each a `DBOS.runStep` inserting one row into `effects` through
// the user's own `pg` pool (WF_EFFECTS_URL), on the system database WF_PG_URL, every setting at its
// default. The process is the application: the bench's `steps` request starts the workflow
// (`DBOS.startWorkflow`, stored before it returns) and awaits `getResult()`; a start that throws is
// answered "start refused: …" so the bench counts it as a refusal, not a failed workflow.

import { DBOS } from '@dbos-inc/dbos-sdk';

import { recordEffect } from './workflows_overload_kinds.js';
import { serveWorker } from './workflows_serve.js';

DBOS.setConfig({ name: 'ergo-bench-overload', systemDatabaseUrl: process.env.WF_PG_URL!, logLevel: 'error' });

const load = DBOS.registerWorkflow(
  async (tag: string, id: string): Promise<number> => {
    for (let i = 0; i < 3; i++) await DBOS.runStep(() => recordEffect(tag, id, `s${i}`), { name: `s${i}` });
    return 3;
  },
  { name: 'oload' },
);

await DBOS.launch();
const unsupported = (): never => {
  throw new Error('the overload worker runs the load workflow only');
};
serveWorker({
  steps: async (id) => {
    const tag = id.slice(0, id.lastIndexOf('.'));
    let handle;
    try {
      handle = await DBOS.startWorkflow(load, { workflowID: id })(tag, id);
    } catch (e) {
      throw new Error(`start refused: ${e instanceof Error ? e.message : String(e)}`);
    }
    return handle.getResult();
  },
  nap: unsupported,
  start: unsupported,
});
