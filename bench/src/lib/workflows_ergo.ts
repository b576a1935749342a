// ergo-ts' column of the workflows suite: the workflow engine of @ergo-ts/entities
// (`defineWorkflow`, net/workflows_ergo_member.ts), on the same PostgreSQL server as DBOS and Effect.
//
// Rows 1–4: one member (net/workflows_ergo_member.ts) in a child process, the client sending it
// requests over IPC as for DBOS and Effect. Row 5: two members on the same PostgreSQL store (a
// fresh table prefix), the sleepers started on member A; the kill -9 hits A, member B takes its
// workflows over; after each round A is started again under its name (it rejoins) for the next.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { IpcWorker, freePort, type Engine } from './workflows_engine.js';

const MEMBER = join(dirname(fileURLToPath(import.meta.url)), '..', 'net', 'workflows_ergo_member.js');

/** Why the column cannot run on this branch, or undefined when @ergo-ts/entities has workflows. */
export async function ergoWorkflowsMissing(): Promise<string | undefined> {
  const mod = (await import('@ergo-ts/entities')) as object;
  return 'defineWorkflow' in mod ? undefined : 'ergo-ts workflow engine not built on this branch';
}

/** Starts the ergo-ts engine on the PostgreSQL database at `url`; `log` is the step log. */
export async function startErgo(url: string, log: string): Promise<Engine> {
  const tag = `${process.pid}`;
  const member = (name: string, port: number, prefix: string, members: string): IpcWorker =>
    new IpcWorker(MEMBER, {
      WF_PG_URL: url,
      WF_LOG: log,
      ERGO_NAME: name,
      ERGO_PORT: String(port),
      ERGO_PREFIX: prefix,
      ERGO_MEMBERS: members,
    });
  let single: IpcWorker | undefined = member(`wf${tag}@localhost`, await freePort(), `wf${tag}_`, '');
  await single.whenReady();
  type Pair = { a: IpcWorker; b: IpcWorker; restartA: () => IpcWorker };
  let pair: Pair | undefined;
  // Row 5 starts its 50 sleepers at once: they share one switch to the pair (each starting its
  // own pair of members was 100 processes of 10 connections each, past max_connections).
  let pairing: Promise<Pair> | undefined;
  const toPair = (): Promise<Pair> =>
    (pairing ??= (async () => {
      await single?.close();
      single = undefined;
      const [pa, pb] = [await freePort(), await freePort()];
      const [na, nb] = [`wfa${tag}@localhost`, `wfb${tag}@localhost`];
      const members = `${na}=${pa},${nb}=${pb}`;
      const restartA = () => member(na, pa, `wfr${tag}_`, members);
      const p: Pair = { a: restartA(), b: member(nb, pb, `wfr${tag}_`, members), restartA };
      pair = p;
      await Promise.all([p.a.whenReady(), p.b.whenReady()]);
      return p;
    })());
  const one = (): IpcWorker => single ?? pair!.a;
  return {
    steps: async (id, n) => void (await one().request({ op: 'steps', id, n })),
    queuedSteps: async (id, n) => void (await one().request({ op: 'qsteps', id, n })),
    fanOut: async (id, n, queued) => void (await one().request({ op: 'fanout', id, n, queued })),
    manyUnits: async (id, n, queued) => void (await one().request({ op: 'many', id, n, queued })),
    heartbeats: async (id, n, beat) => void (await one().request({ op: 'beats', id, n, beat })),
    nap: async (id, ms) => (await one().request({ op: 'nap', id, ms })) as number,
    beforeResume: async () => void (await toPair()),
    startSleeper: async (id, ms) => void (await (await toPair()).a.request({ op: 'start', id, ms })),
    crash: async () => void (await pair!.a.kill()),
    async afterRound() {
      pair!.a = pair!.restartA();
      await pair!.a.whenReady();
    },
    async close() {
      await single?.close();
      await pair?.a.close();
      await pair?.b.close();
    },
  };
}
