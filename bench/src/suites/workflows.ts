// Durable-execution engines side by side on this machine (`--only=workflows`): ergo-ts' workflow
// engine (@ergo-ts/entities), Restate (its server from npm and the TypeScript SDK), DBOS Transact
// and Effect's workflow engine (effect/workflow on Effect Cluster). Each engine is one peer, measured
// in its own bench child with its worker, engine and database on this machine (PostgreSQL: Debian's
// 15, started per child, fsync on; Restate: its own RocksDB-based store, WAL fsync on). The rows and
// how they are taken: lib/workflows_rows.ts; each engine's set-up: lib/workflows_*.ts and
// bench/README.md, section "Workflows". An engine whose package is missing or whose binary does not
// run here reports nothing and says why; the other columns still run.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { Report, ScenarioSpec, SuiteContext } from '../lib/types.js';
import { benchPostgres, pkgVersion, unloadable } from '../lib/workflows_setup.js';
import { ipcEngine, type Engine } from '../lib/workflows_engine.js';
import { measureResume, measureRuns } from '../lib/workflows_rows.js';
import { measureCost } from '../lib/workflows_cost.js';
import { measureQueuedStep } from '../lib/workflows_queue.js';
import { measureQueuedFanOut } from '../lib/workflows_queue_fanout.js';
import { measureHeartbeat } from '../lib/workflows_heartbeat.js';

const here = dirname(fileURLToPath(import.meta.url));
const NET = join(here, '..', 'net');

/** The columns: one child process each. */
export const PEERS = ['ergo-ts', 'restate', 'dbos', 'effect-workflow'] as const;

/**
 * The rows, one child per engine (Effect's slow sleeps make its child the longest); the queued
 * fan-out rows (`--only=workflows-queue-fanout`) for the engines with queues of limited concurrency.
 */
export const scenarios: ScenarioSpec[] = [
  { id: 'workflows', peers: [...PEERS], timeout: 1500 },
  { id: 'workflows-queue-fanout', peers: ['ergo-ts', 'dbos'], timeout: 1200 },
];

/** Starts one peer's engine: the engine and what its figures' notes say, or why it cannot run. */
async function startEngine(
  peer: string,
  log: string,
): Promise<{ engine: Engine; what: string; stop: () => Promise<void>; pgUrl?: string } | string> {
  if (peer === 'restate') {
    const { restateBinary, startRestate } = await import('../lib/workflows_restate.js');
    const found = restateBinary();
    if ('missing' in found) return `Restate column skipped: ${found.missing}`;
    const why = await unloadable('@restatedev/restate-sdk');
    if (why !== undefined) return `Restate column skipped: ${why}`;
    const engine = await startRestate(found.bin);
    return {
      engine,
      what: `${found.version}, TypeScript SDK ${pkgVersion('@restatedev/restate-sdk')} in a child process, client: HTTP ingress`,
      stop: () => engine.close(),
    };
  }
  let label: string;
  let start: (url: string) => Promise<Engine>;
  let what: string;
  if (peer === 'dbos' || peer === 'effect-workflow') {
    const pkg = peer === 'dbos' ? '@dbos-inc/dbos-sdk' : 'effect';
    label = peer === 'dbos' ? 'DBOS' : 'Effect';
    const why = await unloadable(pkg);
    if (why !== undefined) return `${label} column skipped: ${why}`;
    const script = join(NET, peer === 'dbos' ? 'workflows_dbos_worker.js' : 'workflows_effect_worker.js');
    start = (url) => ipcEngine(script, { WF_PG_URL: url, WF_LOG: log }, peer === 'dbos');
    what =
      peer === 'dbos'
        ? `DBOS Transact ${pkgVersion(pkg)} in a child process (client: IPC to it), PostgreSQL 15 fsync on`
        : `effect ${pkgVersion(pkg)}, effect/workflow on SingleRunner in a child process (client: IPC to it), PostgreSQL 15 fsync on`;
  } else {
    const ergo = await import('../lib/workflows_ergo.js');
    const missing = await ergo.ergoWorkflowsMissing();
    if (missing !== undefined) return missing;
    label = 'ergo-ts';
    start = (url) => ergo.startErgo(url, log);
    what = 'ergo-ts workflows (@ergo-ts/entities) in child processes (client: IPC), PostgreSQL 15 fsync on';
  }
  const db = await benchPostgres(`wf_${peer.replace('-', '_')}`, 200);
  if (typeof db === 'string') return `${label} column skipped: ${db}`;
  try {
    const engine = await start(db.url);
    return {
      engine,
      what,
      pgUrl: db.url,
      stop: async () => {
        await engine.close();
        await db.server.stop();
      },
    };
  } catch (e) {
    await db.server.stop();
    throw e;
  }
}

/**
 * Runs every row for `ctx.peer` (one engine per child; without a context, every engine in turn),
 * each engine on a fresh step log and, where it needs one, a fresh PostgreSQL server.
 */
export async function workflowsSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  const c: SuiteContext = ctx ?? { scenario: undefined, peer: 'ergo-ts', rounds: 5, warmup: 1, quick: false };
  const peers = ctx === undefined ? PEERS : [c.peer];
  for (const peer of peers) {
    const dir = mkdtempSync(join(tmpdir(), 'ergo-bench-workflows-'));
    const log = join(dir, 'steps.log');
    // The workers inherit the step log's path.
    process.env.WF_LOG = log;
    try {
      const started = await startEngine(peer, log);
      if (typeof started === 'string') {
        console.error(started);
        continue;
      }
      const tagged: Report = (row) => report({ ...row, peer });
      try {
        if (c.scenario === 'workflows-queue-fanout') {
          await measureQueuedFanOut(tagged, c, started.engine, started.what);
          continue;
        }
        await measureRuns(tagged, c, started.engine, started.what);
        await measureCost(tagged, c, started.engine, started.what, started.pgUrl);
        await measureQueuedStep(tagged, c, started.engine, started.what);
        await measureHeartbeat(tagged, c, started.engine, started.what);
        await measureResume(tagged, c, started.engine, log, started.what);
        if (peer === 'ergo-ts') await (await import('../lib/workflows_schedule.js')).measureScheduleLateness(tagged, c);
      } finally {
        await started.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
