// What one workflow costs an engine, in figures that do not drift with the machine's speed
// (issue 94): the CPU time of the engine's processes and its database's, and the statements and WAL
// flushes (fsyncs) its database ran, per completed 3-step workflow at 128 in flight.
//
// CPU is read from /proc: every process below this bench child (the engine's workers or members,
// Restate's server and its SDK service, the PostgreSQL server and its backends, which the child
// started), user + system time, before and after the burst; a process that ended inside the burst
// loses its share (pools keep their connections, so backends stay). The child itself (the client)
// is not counted. Statements are PostgreSQL's own count (pg_stat_statements, top-level statements
// of the engine's database, BEGIN and COMMIT included: a statement is at least one round trip);
// WAL flushes are pg_stat_wal's `wal_sync` and transactions pg_stat_database's `xact_commit`: a
// backend hands those counters over when idle, at most once a second, so each reading waits that
// long first (read at once, the burst's flushes were still the backends' own: 0.00 per workflow).
// Restate keeps its own store: only its CPU is read.

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

import { PG_BIN } from '@ergo-ts/test-support';

import type { Report, SuiteContext } from './types.js';
import type { Engine } from './workflows_engine.js';
import { pause } from './workflows_engine.js';
import { G } from './workflows_rows.js';

/** Clock ticks per second of /proc's times (USER_HZ: 100 on Linux). */
const TICKS = 100;

/** Each process's command name (/proc's `comm`), by pid, as last read by {@link descendantsCpu}. */
const commands = new Map<number, string>();

/** CPU seconds (user + system) of each process below `root` now, by pid (root itself left out). */
export function descendantsCpu(root: number = process.pid): Map<number, number> {
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // ended while listed
    }
    // The command sits in parentheses and may hold spaces: fields are counted after its ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    commands.set(Number(name), stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
    parent.set(Number(name), Number(f[1]));
    cpu.set(Number(name), (Number(f[11]) + Number(f[12])) / TICKS);
  }
  const below = new Map<number, number>();
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parent) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const stack = [...(children.get(root) ?? [])];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    below.set(pid, cpu.get(pid) ?? 0);
    stack.push(...(children.get(pid) ?? []));
  }
  return below;
}

/** The CPU seconds spent between two {@link descendantsCpu} readings (processes born since: all of theirs). */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let s = 0;
  for (const [pid, t] of after) s += t - (before.get(pid) ?? 0);
  return s;
}

/** The same, by command name (`node`, `postgres`, `restate-server` ...), largest first. */
export function cpuByCommand(before: Map<number, number>, after: Map<number, number>): [string, number][] {
  const by = new Map<string, number>();
  for (const [pid, t] of after) {
    const c = commands.get(pid) ?? '?';
    by.set(c, (by.get(c) ?? 0) + t - (before.get(pid) ?? 0));
  }
  return [...by].sort((a, b) => b[1] - a[1]);
}

/** Runs psql on the database of `url` with `args` (`-c` statements ...): its output. */
function psql(url: string, args: readonly string[]): string {
  const u = new URL(url);
  return execFileSync(
    `${PG_BIN}/psql`,
    ['-h', u.hostname, '-p', u.port, '-U', u.username || 'postgres', '-d', u.pathname.slice(1), ...args],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

/** How long a PostgreSQL backend may keep its counters before handing them over (PGSTAT_MIN_INTERVAL, 1 s), and a margin. */
const STATS_FLUSH_MS = 1200;

/**
 * pg_stat_statements' calls in the database of `url`, pg_stat_wal's syncs and the database's
 * commits, once the backends handed theirs over (see the top of this file).
 */
async function pgCounters(url: string): Promise<{ statements: number; walSyncs: number; commits: number }> {
  await pause(STATS_FLUSH_MS);
  const out = psql(url, [
    '-At',
    '-c',
    'SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())',
    '-c',
    'SELECT wal_sync FROM pg_stat_wal',
    '-c',
    'SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()',
  ])
    .trim()
    .split('\n');
  return { statements: Number(out[0]), walSyncs: Number(out[1]), commits: Number(out[2]) };
}

/** Statements (and so commits) a {@link pgCounters} reading adds to the counts it reads next (its own three). */
const READING_STATEMENTS = 3;

/**
 * Whether the database of `url` counts statements (pg_stat_statements loaded: `benchPostgres`
 * preloads it); creates the extension in that database when it can.
 */
export function countsStatements(url: string): boolean {
  try {
    psql(url, [
      '-c',
      'CREATE EXTENSION IF NOT EXISTS pg_stat_statements',
      '-c',
      'SELECT count(*) FROM pg_stat_statements',
    ]);
    return true;
  } catch {
    return false;
  }
}

/**
 * The cost rows of `engine`: `n` 3-step workflows, 128 at a time (after the throughput rows: the
 * engine is warm), with the CPU below this child and, when `pgUrl` names the engine's database
 * and it counts statements, its statements and WAL flushes; each divided by `n`.
 */
export async function measureCost(
  report: Report,
  ctx: SuiteContext,
  engine: Engine,
  what: string,
  pgUrl: string | undefined,
): Promise<void> {
  const n = ctx.quick ? 300 : 1000;
  const window = 128;
  const counts = pgUrl !== undefined && countsStatements(pgUrl) ? pgUrl : undefined;
  let seq = 0;
  const pg0 = counts === undefined ? undefined : await pgCounters(counts);
  const cpu0 = descendantsCpu();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      next++;
      await engine.steps(`cost-${process.pid}-${++seq}`, 3);
    }
  };
  await Promise.all(Array.from({ length: window }, lane));
  const cpu1 = descendantsCpu();
  const cpu = cpuBetween(cpu0, cpu1);
  const split = cpuByCommand(cpu0, cpu1)
    .filter(([, t]) => t > 0)
    .map(([c, t]) => `${c} ${((t * 1000) / n).toFixed(2)}`)
    .join(', ');
  const pg1 = counts === undefined ? undefined : await pgCounters(counts);
  const note = `${n} workflows, ${window} at a time, after the throughput rows; ${what}`;
  report({
    group: G,
    name: 'CPU per 3-step workflow, engine + database processes',
    unit: 'ms',
    better: 'lower',
    note: `user + system time of every process below the bench child (engine, its database), from /proc (ms by command: ${split}); ${note}`,
    value: (cpu * 1000) / n,
  });
  if (pg0 === undefined || pg1 === undefined) return;
  report({
    group: G,
    name: 'database statements per 3-step workflow',
    unit: 'statements',
    better: 'lower',
    note: `pg_stat_statements, top-level statements in the engine's database (BEGIN/COMMIT counted; each is a round trip at least); ${note}`,
    value: (pg1.statements - pg0.statements - READING_STATEMENTS) / n,
  });
  report({
    group: G,
    name: 'database transactions (commits) per 3-step workflow',
    unit: 'commits',
    better: 'lower',
    note: `pg_stat_database.xact_commit of the engine's database (a statement outside a transaction is one); ${note}`,
    value: (pg1.commits - pg0.commits - READING_STATEMENTS) / n,
  });
  report({
    group: G,
    name: 'WAL flushes (fsync) per 3-step workflow',
    unit: 'fsyncs',
    better: 'lower',
    note: `pg_stat_wal.wal_sync; ${note}`,
    value: (pg1.walSyncs - pg0.walSyncs) / n,
  });
}
