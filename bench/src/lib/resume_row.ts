// The kill -9 resume row of the entities suite, shared by both sides (lib/entities_resume.ts for
// ergo-ts, lib/effect_resume.ts for Effect's workflow engine): its shape, the per-order outcome
// each side reads back from the store, the check that every order resumed exactly once, and the
// figures.
//
// Definition (the same on both sides). Per round, two members share a fresh PostgreSQL database;
// the bench process is one of them (the survivor, and the client), the other is a separate OS
// process (the owner). ORDERS orders whose owner is that process are put in flight: half placed
// (a 10 min payment window) and paid, waiting for their shipment; half placed with a payment
// window due MARGIN ms after the kill, unpaid. Then the owner is killed with SIGKILL, and at once
// the client sends each paid order's shipment. An order's resume time is
//
//     (when its next step ran on the survivor) − max(the kill, when that step was due)
//
// where the step is 'shipped' for a paid order (due at the kill: its shipment is sent then) and
// 'cancelled' for an unpaid one (due at its window's end); the time is taken by the step itself
// (Date.now() in the handler or activity that enters the state, then stored with it), so polling
// adds nothing. Every order must end in its expected state with each state entered once, the
// last step run by the survivor: a lost, doubled or misplaced order fails the row (the child
// exits non-zero, naming the orders).

import { execFileSync } from 'node:child_process';
import { PG_BIN } from '@ergo-ts/test-support';

import { reportSamples } from './measure.js';
import type { Report, SuiteContext } from './types.js';

/** The row's sizes and names (both sides). */
export interface ResumeRow {
  group: string;
  /** The rows' name, before the statistic: `… median (PostgreSQL)` etc. */
  base: string;
  label: string;
  /** Paid orders per round (shipment sent at the kill). */
  paid: number;
  /** Unpaid orders per round (window due MARGIN ms after the kill). */
  unpaid: number;
  /** How long after the kill the unpaid orders' windows end (ms). */
  marginMs: number;
  /** How long unpaid orders have between being placed and the kill (placement, on a loaded machine). */
  placeSlackMs: number;
  /** The paid orders' payment window (never reached in a round). */
  paidWindowMs: number;
  /** How long after the kill every order must have resumed, else it counts as lost. */
  deadlineMs: number;
}

export function resumeRow(ctx: SuiteContext, group: string, label: string): ResumeRow {
  return {
    group,
    base: 'order workflow: time to resume after kill -9',
    label,
    paid: ctx.quick ? 8 : 12,
    unpaid: ctx.quick ? 8 : 12,
    marginMs: 300,
    placeSlackMs: 5000,
    paidWindowMs: 600_000,
    deadlineMs: 180_000,
  };
}

/**
 * How often the client reads the orders' states while it waits for them (both sides). The figures
 * come from the steps' own times, not from these reads; the reads only load the survivor.
 */
export const POLL_MS = 100;
/** The pause before a send or read that failed (during the failover) is tried again (both sides). */
export const RETRY_MS = 50;

/** One order as read back from the store after the round. */
export interface OrderOutcome {
  id: string;
  /** 'ship': paid before the kill, shipment sent at the kill; 'timeout': unpaid, window due after the kill. */
  kind: 'ship' | 'timeout';
  /** The states entered, in order (undefined: no final state within the deadline). */
  history: string[] | undefined;
  /** When its last step ran (epoch ms). */
  at: number;
  /** Who ran its last step (a node name, a process id). */
  by: string;
  /** When the payment window ends (epoch ms; timeout orders). */
  dueAt: number;
}

const EXPECTED = { ship: 'new,paid,shipped', timeout: 'new,cancelled' };

/** The orders' resume times (ms), or an Error naming every order that did not resume exactly once. */
export function checkOutcomes(
  outcomes: OrderOutcome[],
  killAt: number,
  survivor: string,
  deadlineMs: number,
): number[] {
  const problems: string[] = [];
  const times: number[] = [];
  for (const o of outcomes) {
    const h = o.history?.join(',');
    if (h === undefined)
      problems.push(`${o.id} (${o.kind}): no final state within ${Math.round(deadlineMs / 1000)} s of the kill (lost)`);
    else if (h !== EXPECTED[o.kind])
      problems.push(`${o.id} (${o.kind}): states entered ${h}, expected ${EXPECTED[o.kind]}`);
    else if (o.by !== survivor)
      problems.push(`${o.id} (${o.kind}): last step run by ${o.by}, not the survivor ${survivor}`);
    else if (o.at < killAt) problems.push(`${o.id} (${o.kind}): last step ran before the kill`);
    else times.push(o.at - Math.max(killAt, o.kind === 'timeout' ? o.dueAt : killAt));
  }
  if (problems.length > 0)
    throw new Error(
      `order workflow resume: ${problems.length} of ${outcomes.length} orders did not resume exactly once:\n  ${problems.join('\n  ')}`,
    );
  return times;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** One round's figures. */
export interface RoundFigures {
  times: number[];
  ship: number[];
  timeout: number[];
}

/**
 * Reports the row: median, p99 and max of each round's resume times (the figure: the median over
 * rounds of each), the note giving every order of every round and `what` (what this side does).
 */
export function reportResume(report: Report, r: ResumeRow, rounds: RoundFigures[], what: string): void {
  const all = rounds.flatMap((x) => x.times).sort((a, b) => a - b);
  const med = (xs: number[]): number =>
    percentile(
      [...xs].sort((a, b) => a - b),
      50,
    );
  const n = r.paid + r.unpaid;
  const note =
    `${rounds.length} round(s) (no warm-up: each a fresh pair of processes), each ${n} orders in flight on the killed member (${r.paid} paid, shipment sent at the kill; ` +
    `${r.unpaid} unpaid, window due ${r.marginMs} ms after the kill); from max(kill, due) to the step run on the survivor; ` +
    `resumed ${all.length}/${rounds.length * n} exactly once; all orders: median ${all.length > 0 ? med(all).toFixed(0) : '-'} ms ` +
    `(shipments ${med(rounds.flatMap((x) => x.ship)).toFixed(0)}, windows ${med(rounds.flatMap((x) => x.timeout)).toFixed(0)}), ` +
    `p99 ${percentile(all, 99).toFixed(0)}, max ${all[all.length - 1]!.toFixed(0)} ms; ${what}`;
  const stats: [string, (xs: number[]) => number][] = [
    ['median', (xs) => percentile(xs, 50)],
    ['p99', (xs) => percentile(xs, 99)],
    ['max', (xs) => xs[xs.length - 1]!],
  ];
  for (const [stat, f] of stats)
    reportSamples(
      report,
      {
        group: r.group,
        name: `${r.base}, ${stat} (${r.label})`,
        unit: 'ms',
        note:
          stat === 'median'
            ? note
            : `each round's ${stat} of its orders' resume times (the definition: the median row)`,
        better: 'lower',
      },
      rounds.map((x) => f([...x.times].sort((a, b) => a - b))),
    );
}

/** Splits one round's times by order kind (for the note). */
export function roundFigures(outcomes: OrderOutcome[], times: number[]): RoundFigures {
  return {
    times,
    ship: times.filter((_, i) => outcomes[i]!.kind === 'ship'),
    timeout: times.filter((_, i) => outcomes[i]!.kind === 'timeout'),
  };
}

/**
 * A round whose orders took longer to be placed than the unpaid ones' windows leave before the
 * kill (a loaded machine): nothing was killed yet, and the round is run again with more time.
 */
export class SlowPlacement extends Error {}

/** Thrown by a round when the kill would come after the first window ends. */
export function slowPlacement(slackMs: number): SlowPlacement {
  return new SlowPlacement(`placing the orders took longer than ${slackMs} ms: the windows would end before the kill`);
}

/**
 * Runs `ctx.rounds` rounds of `round(row, n)` (n: a number unique to each attempt); a round whose
 * placement was too slow is run again with three times the slack, at most twice.
 */
export async function resumeRounds(
  ctx: SuiteContext,
  r: ResumeRow,
  round: (row: ResumeRow, n: number) => Promise<RoundFigures>,
): Promise<RoundFigures[]> {
  const out: RoundFigures[] = [];
  let n = 0;
  for (let i = 0; i < ctx.rounds; i++) {
    for (let slack = r.placeSlackMs, tries = 0; ; slack *= 3, tries++) {
      try {
        out.push(await round({ ...r, placeSlackMs: slack }, ++n));
        break;
      } catch (e) {
        if (!(e instanceof SlowPlacement) || tries >= 2) throw e;
        console.error(`resume row: ${e.message}; this round again with ${slack * 3} ms`);
      }
    }
  }
  return out;
}

/** Creates database `name` on the server at `url` (PostgreSQL's createdb); returns its URL. */
export function createDatabase(url: string, name: string): string {
  const u = new URL(url);
  execFileSync(`${PG_BIN}/createdb`, ['-h', u.hostname, '-p', u.port, '-U', u.username || 'postgres', name], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  u.pathname = `/${name}`;
  return u.toString();
}

/** Resolves after `ms`. */
export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves once `f()` is truthy (checked every `everyMs`), rejects with `what` after `withinMs`. */
export async function until<T>(
  what: string,
  withinMs: number,
  f: () => Promise<T | undefined | false>,
  everyMs = 20,
): Promise<T> {
  const end = Date.now() + withinMs;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
    await pause(everyMs);
  }
}
