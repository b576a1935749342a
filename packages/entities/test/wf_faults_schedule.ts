// The workflow fault checker's schedule mode (wf_faults.ts, option `schedule`; wf_faults_run.ts
// `--schedule`): a workflow schedule every 2 s (`wfsched`, starting the one-step kind `wftick`,
// overlap allowAll, a catch-up window of an hour, from a `startAt` the harness chose) runs on the
// checker's three members through every round's faults — kill -9, SIGSTOP, partitions, rolling
// deploys, whole-cluster kill -9 and restart. After the rounds the harness pauses it, reads its
// cursor and every `wftick` row of the store's index; the rule: the instances whose nominal time
// is at or before the cursor are exactly the nominal times from `startAt` to the cursor (none
// missing, none extra; an id is its time, so none doubled), none beyond the cursor but the few a
// crash may have left started before the cursor's save (counted), and each instance ran once
// (its record's `runs` says how many bodies started: more is a resume, never a second start).

import { WorkflowSchedules, defineWorkflow, scheduleRunId } from '../src/index.js';

/** The schedule's id. */
export const SCHEDULE_ID = 'wfsched';
/** Its interval. */
export const SCHEDULE_EVERY_MS = 2000;

/** The one-step workflow the schedule starts. */
export const WfTick = defineWorkflow('wftick', async (ctx, input: { n: number }) => ctx.step('tick', () => input.n));

/** The kinds the checker's members host for the mode. */
export const SCHEDULE_KINDS = [WfTick, WorkflowSchedules] as const;

/** The schedule's options, from `startAt` (a multiple of the interval, a little after now). */
export function scheduleOptions(startAt: number) {
  return {
    spec: { everyMs: SCHEDULE_EVERY_MS, startAt },
    input: { n: 1 },
    policies: { overlap: 'allowAll' as const, catchupWindowMs: 3_600_000 },
    note: 'the fault checker',
  };
}

/** A `startAt` for a schedule created now: the first multiple of the interval ≥ 3 s away. */
export function firstNominal(now: number): number {
  return Math.ceil((now + 3000) / SCHEDULE_EVERY_MS) * SCHEDULE_EVERY_MS;
}

/** What the rule found. */
export interface ScheduleCheck {
  violations: string[];
  /** Nominal times from the first to the cursor. */
  expected: number;
  /** Instances past the cursor: started before a crash lost the cursor's save (the pause then kept it). */
  beyondCursor: number;
  /** Instances whose body started more than once (resumed after a move or crash). */
  resumed: number;
}

/**
 * The rule (see the top of this file): `rows` maps each `wftick` id to its record's `runs` (1 for
 * a body that started once), `cursor` is the paused schedule's.
 */
export function checkSchedule(startAt: number, cursor: number, rows: ReadonlyMap<string, number>): ScheduleCheck {
  const violations: string[] = [];
  const want = new Set<string>();
  for (let t = startAt; t <= cursor; t += SCHEDULE_EVERY_MS) want.add(scheduleRunId(SCHEDULE_ID, t));
  for (const id of want) if (!rows.has(id)) violations.push(`schedule ${SCHEDULE_ID}: the run ${id} was never started`);
  let beyond = 0;
  let resumed = 0;
  const prefix = `${SCHEDULE_ID}-`;
  for (const [id, runs] of rows) {
    if (runs > 1) resumed++;
    if (want.has(id)) continue;
    const t = Date.parse(id.slice(prefix.length));
    if (!id.startsWith(prefix) || !Number.isFinite(t) || t < startAt || (t - startAt) % SCHEDULE_EVERY_MS !== 0)
      violations.push(`schedule ${SCHEDULE_ID}: ${id} is no nominal time of the schedule`);
    else if (t > cursor + 32 * SCHEDULE_EVERY_MS)
      violations.push(`schedule ${SCHEDULE_ID}: ${id} was started past the cursor ${new Date(cursor).toISOString()}`);
    else beyond++;
  }
  return { violations, expected: want.size, beyondCursor: beyond, resumed };
}
