// ergo-ts workflows while a highly available PostgreSQL fails over (`--only=pg-failover`,
// issue 81): Patroni + etcd + HAProxy on this machine, the primary killed (kill -9) under load,
// several times; the rows and how they are taken: lib/pg_failover_row.ts. Runs where Debian's
// patroni, haproxy, etcd-server and postgresql are installed; elsewhere it says why and reports
// nothing.

import { failoverFigures, measureFailover } from '../lib/pg_failover_row.js';
import type { FigureSpec, Report, ScenarioSpec, SuiteContext } from '../lib/types.js';

/** One scenario, ergo-ts alone (the other engines' HA set-ups are not compared here). */
export const scenarios: ScenarioSpec[] = [{ id: 'pg-failover', peers: ['ergo-ts'], timeout: 900 }];

/** The goal: the engine adds at most 1 s to Patroni's promotion time. */
export const figures: FigureSpec[] = failoverFigures;

/** Runs the failover rounds (see lib/pg_failover_row.ts). */
export async function pgFailoverSuite(report: Report, ctx?: SuiteContext): Promise<void> {
  await measureFailover(report, ctx ?? { scenario: undefined, peer: 'ergo-ts', rounds: 3, warmup: 0, quick: false });
}
