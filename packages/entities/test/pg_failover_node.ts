// A workflow member on a highly available PostgreSQL (entities.workflows.pg_failover.test.ts, the
// bench's failover row): the entities runtime in a child OS process, its store reached through
// HAProxy (ENT_DB), driven over IPC. It runs `wfha`: steps that record each run in an effects file
// (WF_EFFECTS: `<idempotency key> <run id> <ms>` a line) and return their run id, so the test sees
// which run's result the journal kept; a sleep and a `go` signal after the first step when asked.
// Every runtime event is forwarded with the time it was published (`at`): the test finds the first
// write acknowledged after the primary died. Environment: ENT_NAME, ENT_REGISTRAR, ENT_MEMBERS
// (comma-separated), ENT_DB, ENT_PREFIX, WF_EFFECTS.

import diagnostics from 'node:diagnostics_channel';
import { appendFileSync } from 'node:fs';

import { schema, startNode } from 'ergo-ts';
import { createEmbeddedRegistrar } from 'ergo-ts/net';

import { ENTITIES_CHANNEL, PostgresStore, defineWorkflow, startEntities } from '../src/index.js';
import { fixtureEnv, serveCommands, stopFixture, toParent } from './fixture_ipc.js';

const env = fixtureEnv('pg_failover_node');

/** The input of {@link WfHa}. */
export interface HaInput {
  readonly steps: number;
  /** A sleep after the first step, in ms (0: none). */
  readonly sleepMs: number;
  /** Wait for the `go` signal after the first step (and the sleep). */
  readonly signal: boolean;
}

/** What {@link WfHa} returns: each step's run id (`<step>:<node>#<n>`), and the signal's value (0 without). */
export interface HaOutput {
  readonly steps: readonly string[];
  readonly go: number;
}

let runs = 0;

/** Steps, a sleep and a signal; each step's run is recorded before it returns. */
export const WfHa = defineWorkflow(
  'wfha',
  async (ctx, input: HaInput): Promise<HaOutput> => {
    const steps: string[] = [];
    let go = 0;
    for (let i = 0; i < input.steps; i++) {
      steps.push(
        await ctx.step(`s${i}`, ({ idempotencyKey }) => {
          const id = `${i}:${env('ENT_NAME')}#${++runs}`;
          appendFileSync(env('WF_EFFECTS'), `${idempotencyKey} ${id} ${Date.now()}\n`);
          return Promise.resolve(id);
        }),
      );
      if (i === 0 && input.sleepMs > 0) await ctx.sleep(input.sleepMs);
      if (i === 0 && input.signal) go = await ctx.signal('go');
    }
    return { steps, go };
  },
  { signals: { go: schema.number() } },
);

diagnostics.subscribe(ENTITIES_CHANNEL, (event) => toParent({ kind: 'event', event, at: Date.now() }));

// Node's default for an unhandled rejection is to end the process: the test sees a member exit.
const store = await PostgresStore.open(env('ENT_DB'), { tablePrefix: env('ENT_PREFIX') });
const node = await startNode(env('ENT_NAME'), {
  log: { level: 'warning' },
  network: {
    cookie: 'entities-pg-failover',
    acceptors: [{ port: 0 }],
    registrar: createEmbeddedRegistrar({
      port: Number(env('ENT_REGISTRAR')),
      retryInterval: 200,
      registerTimeout: 15_000,
      resolveTimeout: 15_000,
    }),
  },
});
// The runtime's defaults (leases of 10 s renewed every 3.3 s): longer than a failover through
// Patroni (about 3-4 s), so a member keeps its leases across one.
const entities = await startEntities(node, { store, kinds: [WfHa], members: env('ENT_MEMBERS').split(',') });

interface Command {
  id: number;
  cmd: 'start' | 'signal' | 'result' | 'kept' | 'stop';
  key?: string;
  req?: HaInput;
  value?: number;
  timeout?: number;
  /** A signal sent without an id (the client's request id alone keeps it once). */
  noId?: boolean;
}

serveCommands(async (c: Command): Promise<unknown> => {
  switch (c.cmd) {
    case 'start':
      return (await entities.workflows.start(WfHa, c.key!, c.req!, { timeout: c.timeout ?? 20_000 })).created;
    case 'signal':
      return entities.workflows.handle(WfHa, c.key!).signal('go', c.value!, {
        ...(c.noId === true ? {} : { id: `go-${c.key!}` }),
        timeout: c.timeout ?? 20_000,
      });
    case 'result':
      return entities.workflows.handle(WfHa, c.key!).result({ timeout: c.timeout ?? 120_000 });
    case 'kept': // signals kept and not consumed (a signal kept twice would stay here)
      return (await entities.workflows.handle(WfHa, c.key!).describe()).signals.length;
    case 'stop':
      return stopFixture(entities, node, store);
  }
});
