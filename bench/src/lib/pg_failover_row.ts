// The failover rows (suites/pg_failover.ts, issue 81): ergo-ts workflows on a highly available
// PostgreSQL — three PostgreSQL 15 members under Debian's Patroni (etcd v2 section,
// synchronous_mode, ttl 10, loop_wait 1, primary_start_timeout 0), HAProxy routing to the primary
// (@ergo-ts/test-support's pg_ha.ts, fsync on here) — with two workflow members in child processes
// (the failover test's workload, packages/entities/test/pg_failover.ts). Each round kills the
// primary's postmaster (kill -9) under load and waits until the cluster is whole again (the old
// primary back as a replica). Rows: the time from the kill to the first workflow write the new
// primary acknowledged (median over rounds) with Patroni's own promotion time beside it, what the
// engine adds to it, and the workflows completed per second before, during and in the 10 s after.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { freeTcpUdpPort, pgHaMissing, startPgHa, type PgHa } from '@ergo-ts/test-support';

import { median } from './measure.js';
import type { FigureSpec, Report, SuiteContext } from './types.js';

/** The rows' group. */
export const G_FAILOVER = 'workflows on HA PostgreSQL (Patroni + HAProxy)';
export const N_FIRST_STEP = 'primary kill -9 → first workflow write on the new primary';
export const N_PATRONI = 'primary kill -9 → Patroni promoted (REST /primary)';
export const N_ADDED = "engine's part (first write − Patroni promoted)";
export const N_BEFORE = 'workflows completed/s before the kill';
export const N_DURING = 'workflows completed/s, kill → first write';
export const N_AFTER = 'workflows completed/s, 10 s after the first write';

/** The goal of issue 81: the engine adds at most 1 s to Patroni's promotion. */
export const failoverFigures: FigureSpec[] = [
  { group: G_FAILOVER, name: N_ADDED, target: { value: 1000, better: 'lower' } },
];

/** What the shared workload module (compiled with the entities package's tests) offers. */
interface Workload {
  haMembers(
    ha: PgHa,
    o: { names: string[]; registrar: number; prefix: string; effects: string },
  ): Promise<{ name: string; stop(): Promise<void>; exitedEarly: string | undefined }[]>;
  runFailover(
    ha: PgHa,
    members: unknown[],
    o: { fault: 'kill'; tag: string; afterMs?: number; chains?: number },
  ): Promise<{
    faultAt: number;
    patroniPrimaryAt: number;
    patroniHistoryAt: number | undefined;
    routedAt: number;
    firstWriteAt: number;
    completedAt: ReadonlyMap<string, number>;
    outputs: ReadonlyMap<string, unknown>;
  }>;
  violations(effects: string, outputs: ReadonlyMap<string, unknown>): { bad: string[]; reruns: number };
}

const here = dirname(fileURLToPath(import.meta.url));
/** Where the workload is once `npm run build` ran (a path string: not part of the bench's own build). */
const WORKLOAD = join(here, '..', '..', '..', 'packages', 'entities', 'dist', 'test', 'pg_failover.js');

/** Why the rows cannot run here, or undefined. */
export function failoverMissing(): string | undefined {
  try {
    return pgHaMissing();
  } catch (e) {
    return (e as Error).message;
  }
}

/** Runs `rounds` failovers (`--quick`: 2) on one cluster and reports the rows. */
export async function measureFailover(report: Report, ctx: SuiteContext): Promise<void> {
  const why = failoverMissing();
  if (why !== undefined) {
    console.error(`pg-failover bench: skipped: ${why}`);
    return;
  }
  const w = (await import(WORKLOAD)) as Workload;
  const rounds = ctx.quick ? 2 : Math.max(3, ctx.rounds);
  const dir = mkdtempSync(join(tmpdir(), 'ergo-bench-pgfo-'));
  const ha = await startPgHa({ settings: { fsync: 'on', full_page_writes: 'on' } });
  const effects = join(dir, 'effects');
  writeFileSync(effects, '');
  const first: number[] = [];
  const patroni: number[] = [];
  const added: number[] = [];
  const before: number[] = [];
  const during: number[] = [];
  const after: number[] = [];
  const notes: string[] = [];
  try {
    const members = await w.haMembers(ha, {
      names: ['a', 'b'].map((n) => `pgfo${n}${process.pid}@localhost`),
      registrar: await freeTcpUdpPort(),
      prefix: 'wfha_',
      effects,
    });
    try {
      for (let r = 0; r < rounds; r++) {
        const run = await w.runFailover(ha, members, { fault: 'kill', tag: `r${r}`, afterMs: 10_000 });
        const done = [...run.completedAt.values()];
        const perSec = (a: number, b: number): number =>
          b > a ? (done.filter((t) => t >= a && t < b).length * 1000) / (b - a) : 0;
        first.push(run.firstWriteAt - run.faultAt);
        patroni.push(run.patroniPrimaryAt - run.faultAt);
        added.push(run.firstWriteAt - run.patroniPrimaryAt);
        before.push(perSec(Math.min(...done), run.faultAt));
        during.push(perSec(run.faultAt, run.firstWriteAt));
        after.push(perSec(run.firstWriteAt, run.firstWriteAt + 10_000));
        const hist = run.patroniHistoryAt === undefined ? '?' : String(run.patroniHistoryAt - run.faultAt);
        notes.push(`${first.at(-1)}/${patroni.at(-1)}/${hist}/${run.routedAt - run.faultAt}`);
        const { bad } = w.violations(effects, run.outputs);
        if (bad.length > 0) throw new Error(`pg-failover bench: round ${r}: ${bad.join('; ')}`);
        for (const m of members)
          if (m.exitedEarly !== undefined) throw new Error(`pg-failover bench: ${m.exitedEarly}`);
        // The old primary back as a replica, a synchronous standby again: the next round starts whole.
        await ha.healthy(120_000);
      }
    } finally {
      for (const m of members) await m.stop();
    }
  } finally {
    await ha.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const setUp =
    'Patroni 3.0.2 (etcd v2, synchronous_mode, ttl 10, loop_wait 1), HAProxy 2.6, PostgreSQL 15 fsync on, 2 members';
  const row = (name: string, xs: number[], unit: string, better: 'lower' | 'higher', note: string): void =>
    report({ group: G_FAILOVER, name, value: median(xs), samples: xs, unit, better, note });
  row(
    N_FIRST_STEP,
    first,
    'ms',
    'lower',
    `${setUp}; per round first write/Patroni REST/Patroni history/HAProxy (ms): ${notes.join(', ')}`,
  );
  row(
    N_PATRONI,
    patroni,
    'ms',
    'lower',
    'kill -9 → a member other than the old primary answers /primary (polled every 20 ms)',
  );
  row(
    N_ADDED,
    added,
    'ms',
    'lower',
    'HAProxy noticing (2 checks 250 ms apart), the pool reconnecting, the retried call',
  );
  row(N_BEFORE, before, 'workflows/s', 'higher', '3-step workflows, 4 chains + 8 long ones');
  row(N_DURING, during, 'workflows/s', 'higher', 'no store');
  row(N_AFTER, after, 'workflows/s', 'higher', 'back to the before figure within 10 s is the goal');
}
