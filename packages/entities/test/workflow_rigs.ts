// The rigs the workflow cases run on (entities.workflows.select.test.ts, .start_policy.test.ts):
// the test kit (MemoryStore, test clock), and a real runtime on SQLite and on PostgreSQL (wall
// clock), each restartable on the same store, so a case can restart the runtime between its steps
// and check that what it did survives. One `describe` per rig, one test per case.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { postgresMissing, startPostgres } from '@ergo-ts/test-support';
import { startNode } from 'ergo-ts';

import {
  PostgresStore,
  SqliteStore,
  startEntities,
  type AnyWorkflowKind,
  type Entities,
  type EntitiesOptions,
  type EntityStore,
  type WorkflowClient,
} from '../src/index.js';
import type { WorkflowRecord } from '../src/workflow/model/record.js';
import { startTestEntities } from '../src/testing/index.js';

/** What a case needs of its runtime. */
export interface Rig {
  workflows(): WorkflowClient;
  /** Stops the runtime and starts a new one on the same store. */
  restart(): Promise<void>;
  /** The record of `kind`/`id` in the store (undefined: never started). */
  record(kind: string, id: string): Promise<WorkflowRecord | undefined>;
  /** Moves the test clock (the test kit only; undefined on the wall-clock rigs). */
  advanceTime?(ms: number): void;
  /** Fires the reminders due at the test clock's now and waits for them to be handled (the test kit only). */
  fireDueReminders?(): Promise<unknown>;
}

/** What the runtime is started with besides its store and kinds (every rig). */
export type RigOptions = Pick<EntitiesOptions, 'workflowQueues'>;

/** A case: what it checks, on whichever rig. */
export type RigCases = Record<string, (rig: Rig) => Promise<void>>;

/** The record of `kind`/`id` in `store`, undefined for an id never started. */
async function recordIn(store: EntityStore, kind: string, id: string): Promise<WorkflowRecord | undefined> {
  const rec = (await store.load({ kind, key: id })).state as WorkflowRecord | undefined;
  return rec?.status === undefined ? undefined : rec;
}

/**
 * Runs `cases` on the test kit, SQLite and PostgreSQL (`what` names them in the suites' titles),
 * with `kinds`; `fresh` runs before each case (to clear what the kinds count).
 */
export function onEveryRig(
  what: string,
  cases: RigCases,
  kinds: readonly AnyWorkflowKind[],
  fresh: () => void,
  options: RigOptions = {},
): void {
  describe(`${what} on the test kit (MemoryStore, test clock)`, () => {
    for (const [name, run] of Object.entries(cases))
      test(name, async () => {
        fresh();
        await using k = await startTestEntities({ kinds: [...kinds], leaseTtlMs: 3_600_000, ...options });
        await run({
          workflows: () => k.entities.workflows,
          restart: () => k.restart(),
          record: (kind, id) => recordIn(k.store, kind, id),
          advanceTime: (ms) => k.advanceTime(ms),
          fireDueReminders: () => k.fireDueReminders(),
        });
      });
  });
  const dir = mkdtempSync(join(tmpdir(), 'ergo-entities-rigs-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  onStore(`${what} on SQLite (wall clock, restarted between steps)`, cases, kinds, fresh, options, async () =>
    SqliteStore.open(join(dir, `r${++n}.db`), { synchronous: 'normal' }),
  );
  let pg: { url: string; stop(): Promise<void> } | undefined;
  after(async () => {
    await pg?.stop();
  });
  onStore(`${what} on PostgreSQL (wall clock, restarted between steps)`, cases, kinds, fresh, options, async () => {
    pg ??= await startPostgres();
    return PostgresStore.open(pg.url, { tablePrefix: `rig${++n}_` });
  });
}

let nodes = 0;

function onStore(
  title: string,
  cases: RigCases,
  kinds: readonly AnyWorkflowKind[],
  fresh: () => void,
  options: RigOptions,
  open: () => Promise<EntityStore>,
): void {
  describe(title, () => {
    for (const [name, run] of Object.entries(cases))
      test(name, async (t) => {
        if (title.includes('PostgreSQL')) {
          const missing = postgresMissing();
          if (missing !== undefined) return t.skip(missing);
        }
        fresh();
        const store = await open();
        const node = await startNode(`rig${++nodes}-${process.pid}@localhost`, { log: { level: 'warning' } });
        const begin = (): Promise<Entities> =>
          startEntities(node, { store, kinds: [...kinds], reminders: { pollMs: 50 }, ...options });
        let entities = await begin();
        t.after(async () => {
          await entities.stop();
          await node.stop();
          await store.close();
        });
        await run({
          workflows: () => entities.workflows,
          async restart() {
            await entities.stop();
            entities = await begin();
          },
          record: (kind, id) => recordIn(store, kind, id),
        });
      });
  });
}
