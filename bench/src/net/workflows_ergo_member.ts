// ergo-ts' side of the workflows suite (lib/workflows_ergo.ts): one member of @ergo-ts/entities
// with the three workflows (net/workflows_serve.ts describes them), on the PostgreSQL store
// WF_PG_URL (table prefix ERGO_PREFIX). ERGO_NAME is this node's name and ERGO_PORT its acceptor port; ERGO_MEMBERS lists every member as name=port (none
// but this one: a single node). Tells the parent `{ ready: true }` once every member is seen.

import { startNode } from 'ergo-ts';
import { PostgresStore, defineWorkflow, entity, startEntities } from '@ergo-ts/entities';

import { logStep, serveWorker } from './workflows_serve.js';

/** A start or a result may wait on a loaded machine: longer than the runtime's 5 s default. */
const TIMEOUT = { timeout: 30_000 };
/** A fan-out's result waits for all its units (a slow queue: minutes). */
const LONG = { timeout: 600_000 };

const Steps = defineWorkflow('bench-steps', async (ctx, input: { n: number }) => {
  let acc = 0;
  for (let i = 0; i < input.n; i++) {
    const prev = acc;
    acc = await ctx.step(`s${i}`, () => prev + 1);
  }
  return acc;
});
/** The same steps in queue `bench` (a concurrency limit never reached: what a slot costs, lib/workflows_queue.ts). */
const QSteps = defineWorkflow('bench-qsteps', { queue: 'bench' }, async (ctx, input: { n: number }) => {
  let acc = 0;
  for (let i = 0; i < input.n; i++) {
    const prev = acc;
    acc = await ctx.step(`s${i}`, () => prev + 1);
  }
  return acc;
});
/**
 * One step looping `n` times, each turn heartbeating with its progress when `beat` (a heartbeat
 * timeout of 30 s: the details are written at most every 24 s, so none in a run here): what a
 * heartbeat call costs the step (lib/workflows_heartbeat.ts).
 */
const Beats = defineWorkflow('bench-beats', async (ctx, input: { n: number; beat: boolean }) =>
  ctx.step(
    'loop',
    (info) => {
      let acc = 0;
      for (let i = 0; i < input.n; i++) {
        acc += i;
        if (input.beat) info.heartbeat({ done: i });
      }
      return acc;
    },
    { heartbeatTimeoutMs: 30_000 },
  ),
);
/** The queue of the fan-out rows: 4 attempts at once across the cluster (lib/workflows_queue_fanout.ts). */
const FAN_QUEUE = { queue: 'q4' };
/** `n` steps at once, each in queue q4 when `queued` (else in the default queue, unlimited). */
const Fan = defineWorkflow('bench-fan', async (ctx, input: { n: number; queued: boolean }) => {
  const units = Array.from({ length: input.n }, (_, i) => ctx.step(`u${i}`, () => i, input.queued ? FAN_QUEUE : {}));
  return (await Promise.all(units)).length;
});
/** One step, in queue q4 when `queued`. */
const Unit = defineWorkflow('bench-unit', async (ctx, input: { queued: boolean }) =>
  ctx.step('u', () => 1, input.queued ? FAN_QUEUE : {}),
);
const Nap = defineWorkflow('bench-nap', async (ctx, input: { ms: number }) => {
  const t0 = await ctx.step('t0', () => Date.now());
  await ctx.sleep(input.ms);
  const t1 = await ctx.step('t1', () => Date.now());
  return t1 - t0 - input.ms;
});
const Sleeper = defineWorkflow('bench-sleeper', async (ctx, input: { id: string; ms: number }) => {
  await ctx.step('a', () => logStep(input.id, 'a'));
  await ctx.sleep(input.ms);
  await ctx.step('b', () => logStep(input.id, 'b'));
});

const name = process.env.ERGO_NAME!;
const members = (process.env.ERGO_MEMBERS ?? '').split(',').filter((m) => m !== '');
const v = { name: '', release: '' };
const routes = members
  .map((m) => m.split('='))
  .filter(([n]) => n !== name)
  .map(([n, port]) => ({
    match: n!.replace(/\./g, '\\.'),
    route: { route: { host: '127.0.0.1', port: Number(port), tls: false, handshakeVersion: v, protoVersion: v } },
  }));
const store = await PostgresStore.open(process.env.WF_PG_URL!, { tablePrefix: process.env.ERGO_PREFIX! });
const node = await startNode(name, {
  network: { cookie: 'bench', registrar: null, acceptors: [{ port: Number(process.env.ERGO_PORT) }], routes },
  log: { defaultLogger: { disable: true } },
});
const entities = await startEntities(node, {
  store,
  kinds: [Steps, Nap, Sleeper, QSteps, Beats, Fan, Unit],
  workflowQueues: { queues: { bench: { concurrency: 1000 }, q4: { concurrency: 4 } } },
  ...(members.length > 1 ? { members: members.map((m) => m.split('=')[0]!), probeIntervalMs: 100 } : {}),
});
while (entities.members().length < Math.max(1, members.length)) await new Promise((r) => setTimeout(r, 50));

serveWorker({
  steps: async (id, n) => (await entities.workflows.start(Steps, id, { n }, TIMEOUT)).result(),
  qsteps: async (id, n) => (await entities.workflows.start(QSteps, id, { n }, TIMEOUT)).result(),
  beats: async (id, n, beat) => (await entities.workflows.start(Beats, id, { n, beat }, TIMEOUT)).result(),
  nap: async (id, ms) => (await entities.workflows.start(Nap, id, { ms }, TIMEOUT)).result(),
  fanout: async (id, n, queued) => (await entities.workflows.start(Fan, id, { n, queued }, TIMEOUT)).result(LONG),
  many: (id, n, queued) =>
    Promise.all(
      Array.from({ length: n }, async (_, i) =>
        (await entities.workflows.start(Unit, `${id}-${i}`, { queued }, TIMEOUT)).result(LONG),
      ),
    ),
  // Row 5 kills the member that started the sleepers: each one's key is picked among those this
  // member owns (placement hashes keys over the members), its step log still under `id`.
  start: async (id, ms) => {
    let key = id;
    for (let i = 0; entities.ownerOf(entity(Sleeper, key)) !== node.name; i++) key = `${id}~${i}`;
    await entities.workflows.start(Sleeper, key, { id, ms }, TIMEOUT);
  },
});
