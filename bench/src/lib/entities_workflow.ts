// The durable-workflow row of the entities suite: the order lifecycle (net/entities_order.ts, a
// durable state machine) driven to 'shipped' ORDERS times, WINDOW orders at once: each order is
// placed (its payment window a durable reminder), paid and shipped by three durable sends (each
// stored before it is acknowledged), then its status is read until it is 'shipped'. Every
// transition is a store write. Effect's workflow engine runs the same lifecycle
// (lib/effect_workflow.ts) for the row's other column.

import { entity, type Entities } from '@ergo-ts/entities';

import { BenchOrder } from '../net/entities_order.js';
import { rate, reportSamples, runRounds } from './measure.js';
import type { Report, SuiteContext } from './types.js';

/** The row's shape, shared with the Effect side so both land in one table row. */
export function workflowRow(ctx: SuiteContext, group: string, label: string) {
  const orders = ctx.quick ? 100 : 400;
  const window = 16;
  return {
    group,
    name: `order workflows completed (${label})`,
    orders,
    window,
    windowMs: 600_000,
    note: `${orders} orders per round, ${window} at once: placed (a 10 min payment window, durable), paid, shipped; each step stored`,
  };
}

/** Measures ergo-ts' order workflows completed per second on `entities`' store. */
export async function measureOrders(
  report: Report,
  ctx: SuiteContext,
  entities: Entities,
  row: ReturnType<typeof workflowRow>,
  timeout: number,
): Promise<void> {
  let round = 0;
  const one = async (id: string): Promise<void> => {
    const order = entity(BenchOrder, id);
    const opts = { timeout };
    await entities.sendDurable(order, { place: row.windowMs }, `${id}/place`, opts);
    await entities.sendDurable(order, { pay: 'card' }, `${id}/pay`, opts);
    await entities.sendDurable(order, { ship: 'trk' }, `${id}/ship`, opts);
    // The three are processed in the order they were accepted; the status shows when the last is.
    for (;;) {
      const state = await entities.call(order, 'status', opts);
      if (state === 'shipped') return;
      if (state === 'cancelled') throw new Error(`order ${id} cancelled`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  const samples = await runRounds(ctx, async () => {
    round++;
    const t0 = performance.now();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < row.orders) await one(`o${round}_${next++}`);
    };
    await Promise.all(Array.from({ length: row.window }, lane));
    return rate(row.orders, performance.now() - t0);
  });
  reportSamples(report, { group: row.group, name: row.name, unit: 'workflows/s', note: row.note }, samples);
}
