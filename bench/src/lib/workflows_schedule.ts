// The workflows suite's schedule row (ergo-ts only): a scheduled start's lateness — from a run's
// nominal time to its instance stored as started (the instance's `startedAt`) — for a schedule
// every second (no jitter, overlap allowAll) of a one-step workflow, on one member in this bench
// child with a SQLite store (synchronous 'normal'). The lateness is the reminder that fires the
// schedule (armed for its due time), the schedule's activation and the start's write. Temporal
// and DBOS have schedules but are not columns of this suite (Temporal) or not measured here (DBOS's
// `@Scheduled` would need its worker changed): their columns say nothing.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { SqliteStore, WorkflowSchedules, defineWorkflow, startEntities } from '@ergo-ts/entities';
import { startNode } from 'ergo-ts';

import { reportSamples } from './measure.js';
import type { Report, SuiteContext } from './types.js';
import { G, percentile } from './workflows_rows.js';

const Tick = defineWorkflow('benchtick', async (ctx, input: { n: number }) => ctx.step('one', () => input.n));

/** How many scheduled runs a round measures (fewer under --quick). */
export function scheduleRuns(ctx: SuiteContext): number {
  return ctx.quick ? 8 : 30;
}

/**
 * Measures the lateness of `scheduleRuns` starts of an every-second schedule, after `ctx.warmup`
 * runs not counted: p50 and p99 rows (ms).
 */
export async function measureScheduleLateness(report: Report, ctx: SuiteContext): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ergo-bench-schedule-'));
  const store = SqliteStore.open(join(dir, 'schedule.db'), { synchronous: 'normal' });
  const node = await startNode(`benchsched${process.pid}@localhost`, { log: { level: 'warning' } });
  const entities = await startEntities(node, { store, kinds: [Tick, WorkflowSchedules] });
  try {
    const runs = scheduleRuns(ctx);
    const skip = Math.max(1, ctx.warmup);
    const id = `lateness-${process.pid}`;
    await entities.workflows.schedules.create(Tick, id, {
      spec: { everyMs: 1000 },
      input: { n: 1 },
      policies: { overlap: 'allowAll' },
    });
    const want = skip + runs;
    for (;;) {
      const page = await entities.workflows.list({ kind: Tick, limit: 1000 });
      if (page.items.length >= want) break;
      await delay(200);
    }
    await entities.workflows.schedules.delete(id);
    const page = await entities.workflows.list({ kind: Tick, limit: 1000 });
    const late = page.items
      .map((i) => ({ nominal: Date.parse(i.id.slice(id.length + 1)), started: i.startedAt ?? NaN }))
      .sort((a, b) => a.nominal - b.nominal)
      .slice(skip, want)
      .map((r) => r.started - r.nominal);
    const note = `${runs} runs of a schedule every second (after ${skip} not counted), nominal time → instance stored as started; one member, SQLite (synchronous normal), in the bench child`;
    reportSamples(report, { group: G, name: 'scheduled start lateness, p50', unit: 'ms', better: 'lower', note }, late);
    report({
      group: G,
      name: 'scheduled start lateness, p99',
      unit: 'ms',
      better: 'lower',
      note,
      value: percentile(late, 99),
    });
  } finally {
    await entities.stop();
    await node.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
