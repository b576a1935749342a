// The failover rows (suites/pg_failover.ts, issue 81): ergo-ts workflows on a highly available
// PostgreSQL — three PostgreSQL 15 members under Debian's Patroni (etcd v2 section,
// synchronous_mode, ttl 10, loop_wait 1, primary_start_timeout 0), HAProxy routing to the primary
// (@ergo-ts/test-support's pg_ha.ts, fsync on here) — with two workflow members in child processes
// (the failover test's workload, packages/entities/test/pg_failover.ts). Each round kills the
// primary's postmaster (kill -9) under load and waits until the cluster is whole again (the old
// primary back as a replica). Rows: the time from the kill to the first workflow write the new
// primary acknowledged (median over rounds) with Patroni's own promotion time beside it, what the
// engine adds to it, and the chains' workflows completed per second: their time line in 500 ms
// buckets (lib/pg_failover_timeline.ts), the rate before, during and in the 10 s after, and when the
// rate was back to 90 % of the rate before.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { freeTcpUdpPort, pgHaMissing, startPgHa, type PgHa } from '@ergo-ts/test-support';

import { median } from './measure.js';
import { BACK_SHARE, BEFORE_MS, timeline, timelineLine } from './pg_failover_timeline.js';
import type { FigureSpec, Report, SuiteContext } from './types.js';

/** The rows' group. */
export const G_FAILOVER = 'workflows on HA PostgreSQL (Patroni + HAProxy)';
export const N_FIRST_STEP = 'primary kill -9 → first workflow write on the new primary';
export const N_PATRONI = 'primary kill -9 → Patroni promoted (REST /primary)';
export const N_ADDED = "engine's part (first write − Patroni promoted)";
export const N_BEFORE = 'workflows completed/s before the kill';
export const N_DURING = 'workflows completed/s, kill → first write';
export const N_AFTER = 'workflows completed/s, 10 s after the first write';
export const N_BACK = 'first write → workflows/s back to ≥ 90 % of before';
/**
 * How long the chains run before the kill (the first 3 s, the members' first activations and
 * shard leases, are not in the rate before), and after the first write (to see when the rate is back).
 */
const LOAD_BEFORE_MS = BEFORE_MS + 3000;
const LOAD_AFTER_MS = 15_000;

/** The goal of issue 81: the engine adds at most 1 s to Patroni's promotion. */
export const failoverFigures: FigureSpec[] = [
  { group: G_FAILOVER, name: N_ADDED, target: { value: 1000, better: 'lower' } },
  { group: G_FAILOVER, name: N_BACK, target: { value: 10_000, better: 'lower' } },
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
    o: { fault: 'kill'; tag: string; afterMs?: number; beforeMs?: number; chains?: number },
  ): Promise<{
    faultAt: number;
    patroniPrimaryAt: number;
    patroniHistoryAt: number | undefined;
    routedAt: number;
    firstWriteAt: number;
    completedAt: ReadonlyMap<string, number>;
    issuedAt: ReadonlyMap<string, number>;
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

/** Runs `rounds` failovers (at least 5; `--quick`: 2) on one cluster and reports the rows. */
export async function measureFailover(report: Report, ctx: SuiteContext): Promise<void> {
  const why = failoverMissing();
  if (why !== undefined) {
    console.error(`pg-failover bench: skipped: ${why}`);
    return;
  }
  const w = (await import(WORKLOAD)) as Workload;
  const rounds = ctx.quick ? 2 : Math.max(5, ctx.rounds);
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
  const back: number[] = [];
  const notes: string[] = [];
  const lines: string[] = [];
  const latency: string[] = [];
  /** Rounds whose chains stood still before the kill. */
  const stalled: number[] = [];
  try {
    const members = await w.haMembers(ha, {
      names: ['a', 'b'].map((n) => `pgfo${n}${process.pid}@localhost`),
      registrar: await freeTcpUdpPort(),
      prefix: 'wfha_',
      effects,
    });
    try {
      for (let r = 0; r < rounds; r++) {
        const run = await w.runFailover(ha, members, {
          fault: 'kill',
          tag: `r${r}`,
          beforeMs: LOAD_BEFORE_MS,
          afterMs: LOAD_AFTER_MS,
        });
        // The chains alone: the long workflows (sleeping, waiting for a signal) all complete after the fault.
        const chains = new Map([...run.completedAt].filter(([k]) => k.includes('-ch')));
        const at = { fault: run.faultAt, firstWrite: run.firstWriteAt, until: run.firstWriteAt + LOAD_AFTER_MS };
        const tl = timeline(chains, run.issuedAt, at);
        first.push(run.firstWriteAt - run.faultAt);
        patroni.push(run.patroniPrimaryAt - run.faultAt);
        added.push(run.firstWriteAt - run.patroniPrimaryAt);
        const line = timelineLine(tl, at);
        const lat = `${Math.round(tl.latency.before)}/${Math.round(tl.latency.after)}`;
        console.error(
          `pg-failover bench: round ${r}: workflows/s per 500 ms from ${BEFORE_MS / 1000} s before the kill ` +
            `(|K| kill, |W| first write): ${line}; back after ${tl.backAfter ?? '>' + LOAD_AFTER_MS} ms; ` +
            `latency p50 before/after ${lat} ms`,
        );
        // Chains that stood still before the kill say nothing of the recovery: that round counts in
        // the timing rows only, and is named in the note. (Seen in a run's first round until the
        // runtime's fix of hand-offs to keys still activating: docs/entities.md.)
        if (![...chains.values()].some((t) => t >= run.faultAt - 1000 && t < run.faultAt)) {
          stalled.push(r);
          console.error(`pg-failover bench: round ${r}: no chain completed in the second before the kill`);
        } else {
          before.push(tl.before);
          during.push(tl.during);
          after.push(tl.after10);
          // Not back within the measured time: counted as that time (the median stays honest).
          back.push(tl.backAfter ?? LOAD_AFTER_MS);
          lines.push(`round ${r}'s workflows/s per 500 ms: ${line}`);
          latency.push(lat);
        }
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
  if (before.length === 0) {
    console.error(`pg-failover bench: every round's chains stood still before the kill: no throughput rows`);
    return;
  }
  row(
    N_BEFORE,
    before,
    'workflows/s',
    'higher',
    `the 4 chains of 3-step workflows (8 long ones beside them not counted), the ${BEFORE_MS / 1000} s before the kill`,
  );
  row(N_DURING, during, 'workflows/s', 'higher', 'no store');
  row(N_AFTER, after, 'workflows/s', 'higher', 'the mean of the 10 s after the first write');
  const mid = back.indexOf([...back].sort((a, b) => a - b)[back.length >> 1]!);
  const left =
    stalled.length === 0
      ? ''
      : `; not counted: round ${stalled.join(', ')} (no chain completed in the second before the kill)`;
  row(
    N_BACK,
    back,
    'ms',
    'lower',
    `the first 1 s window from the first write on at ≥ ${BACK_SHARE * 100} % of the rate before ` +
      `(${LOAD_AFTER_MS} ms: not back within it); latency p50 before/after per round (ms): ${latency.join(', ')}; ` +
      `${lines[mid]}${left}`,
  );
}
