// Durable-execution engines offered more than they can do (`--only=workflows-overload`, issue 89;
// `--only=workflows-order-spike`, issue 95; `--only=workflows-overload-kill`, a member killed -9 at
// 2× capacity: lib/workflows_overload_kill.ts; `--only=workflows-overload-failover`, the primary of
// a Patroni cluster killed -9 at 2× capacity: lib/workflows_overload_failover.ts, where Debian's
// patroni, haproxy and etcd-server are installed). The rows and how they are taken:
// lib/workflows_overload_rows.ts; the open-loop driver: lib/workflows_open_loop.ts; each engine's
// set-up: lib/workflows_overload_ergo.ts (three members + a client-only API node) and
// lib/workflows_overload_peers.ts (Restate, DBOS). Each engine runs in its own bench child with a
// PostgreSQL 15 (fsync on) started for it: the engine's store (ergo-ts, DBOS) and the `effects`
// table its steps write through the user's own pool (every engine). An engine whose package or
// server is missing reports nothing and says why; the other columns still run.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import pg from 'pg';

import type { FigureSpec, Report, ScenarioSpec, SuiteContext } from '../lib/types.js';
import { benchPostgres, pkgVersion, unloadable } from '../lib/workflows_setup.js';
import type { OverloadTarget } from '../lib/workflows_open_loop.js';
import { measureOrderSpike, measureOverload } from '../lib/workflows_overload_rows.js';
import { killFigures, measureKill } from '../lib/workflows_overload_kill.js';
import { measurePgHaFailover, pgHaFigures } from '../lib/workflows_overload_failover.js';
import { EFFECTS_DDL } from '../net/workflows_overload_kinds.js';

/** The open-loop row's columns. */
export const PEERS = ['ergo-ts', 'restate', 'dbos'] as const;

/**
 * The open-loop row for each engine (about a minute each, longer when an engine collapses and its
 * drain runs on), and on ergo-ts the order spike (its phases, then the drain), a member's kill at
 * 2× and the store's failover at 2× (three rounds on a Patroni cluster of its own).
 */
export const scenarios: ScenarioSpec[] = [
  { id: 'workflows-overload', peers: [...PEERS], timeout: 900 },
  { id: 'workflows-order-spike', peers: ['ergo-ts'], timeout: 600 },
  { id: 'workflows-overload-kill', peers: ['ergo-ts'], timeout: 600 },
  { id: 'workflows-overload-failover', peers: ['ergo-ts'], timeout: 1200 },
];

/** Issue 89's goals: a member's kill -9 back within 10 s, a store failover's engine's part ≤ 1 s. */
export const figures: FigureSpec[] = [...killFigures, ...pgHaFigures];

/** Starts `peer`'s engine on `url` (its effects pool `effects`), or says why it cannot run. */
async function startTarget(peer: string, url: string, effects: pg.Pool, dir: string): Promise<OverloadTarget | string> {
  if (peer === 'restate') {
    const { restateBinary } = await import('../lib/workflows_restate.js');
    const found = restateBinary();
    if ('missing' in found) return `Restate column skipped: ${found.missing}`;
    const why = await unloadable('@restatedev/restate-sdk');
    if (why !== undefined) return `Restate column skipped: ${why}`;
    const { startRestateOverload } = await import('../lib/workflows_overload_peers.js');
    return startRestateOverload(
      found.bin,
      `${found.version}, SDK ${pkgVersion('@restatedev/restate-sdk')}`,
      url,
      effects,
    );
  }
  if (peer === 'dbos') {
    const why = await unloadable('@dbos-inc/dbos-sdk');
    if (why !== undefined) return `DBOS column skipped: ${why}`;
    const { startDbosOverload } = await import('../lib/workflows_overload_peers.js');
    return startDbosOverload(url, pkgVersion('@dbos-inc/dbos-sdk'), url, effects);
  }
  const mod = (await import('@ergo-ts/entities')) as object;
  if (!('defineWorkflow' in mod)) return 'ergo-ts workflow engine not built on this branch';
  const { startErgoOverload } = await import('../lib/workflows_overload_ergo.js');
  return startErgoOverload(url, effects, dir);
}

/** Runs `f`, but gives up waiting after `ms` (a stop that hangs must not hold the child up). */
async function bounded(what: string, ms: number, f: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((r) => {
    timer = setTimeout(() => {
      console.error(`${what} did not end within ${ms} ms; going on`);
      r();
    }, ms);
  });
  await Promise.race([f(), late]);
  clearTimeout(timer);
}

/**
 * Runs `ctx.scenario` for `ctx.peer` (without a context: every row of every engine in turn), each
 * on a fresh PostgreSQL server and a fresh directory for the members' logs.
 */
export async function workflowsOverloadSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  const c: SuiteContext = ctx ?? { scenario: undefined, peer: 'ergo-ts', rounds: 1, warmup: 0, quick: true };
  const runs: { scenario: string; peer: string }[] =
    ctx === undefined
      ? [
          ...PEERS.map((peer) => ({ scenario: 'workflows-overload', peer })),
          { scenario: 'workflows-order-spike', peer: 'ergo-ts' },
          { scenario: 'workflows-overload-kill', peer: 'ergo-ts' },
          { scenario: 'workflows-overload-failover', peer: 'ergo-ts' },
        ]
      : [{ scenario: c.scenario ?? 'workflows-overload', peer: c.peer }];
  for (const { scenario, peer } of runs) {
    const db = await benchPostgres(`wfo_${peer.replace('-', '_')}`, 300);
    if (typeof db === 'string') {
      console.error(`workflows overload: ${peer} skipped: ${db}`);
      continue;
    }
    const dir = mkdtempSync(join(tmpdir(), 'ergo-bench-overload-'));
    const effects = new pg.Pool({ connectionString: db.url, max: 4 });
    // An idle session the server ends is the pool's to drop, not a crash of the child.
    effects.on('error', () => undefined);
    try {
      for (const ddl of EFFECTS_DDL) await effects.query(ddl);
      if (scenario === 'workflows-overload-failover') {
        // Its own store (a Patroni cluster), the effects on this server.
        await measurePgHaFailover((row) => report({ ...row, peer }), c, { effects, effectsUrl: db.url, dir });
        continue;
      }
      const target = await startTarget(peer, db.url, effects, dir);
      if (typeof target === 'string') {
        console.error(target);
        continue;
      }
      const tagged: Report = (row) => report({ ...row, peer });
      try {
        if (scenario === 'workflows-order-spike') await measureOrderSpike(tagged, c, target);
        else if (scenario === 'workflows-overload-kill') await measureKill(tagged, c, target);
        else await measureOverload(tagged, c, target);
      } finally {
        await bounded(`${peer}: the engine's stop`, 30_000, () => target.close());
      }
    } finally {
      await effects.end();
      // The server's stop ends every session still open in this child (an engine's stop that
      // did not finish within its bound leaves some): pg reports each as an 'error' event
      // (SQLSTATE 57P01), which must not turn a run whose rows are reported into a failure.
      const ended = (e: unknown): void => {
        if ((e as { code?: unknown }).code !== '57P01') throw e;
        console.error(`workflows overload: a session ended by the server's stop: ${(e as Error).message}`);
      };
      process.on('uncaughtException', ended);
      try {
        await db.server.stop();
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        process.off('uncaughtException', ended);
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
