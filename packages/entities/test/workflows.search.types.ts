// Compile-time checks of workflow search (this file is type-checked by the build, never run): a
// body's `ctx.setAttributes` takes only the attributes its definition declares, each of its type;
// a workflow that declares none cannot set any; `entities.workflows.list` and `count` type the
// attribute filter by the kind given, and their statuses and cursors.

import { defineWorkflow, type Entities } from '../src/index.js';

export const Order = defineWorkflow(
  'types-search-order',
  async (ctx, input: { customer: string; total: number }) => {
    await ctx.setAttributes({ customer: input.customer, total: input.total });
    await ctx.setAttributes({ vip: true });
    // @ts-expect-error an attribute the workflow does not declare
    await ctx.setAttributes({ region: 'eu' });
    // @ts-expect-error customer is a string attribute
    await ctx.setAttributes({ customer: 7 });
    // @ts-expect-error total is a number attribute
    await ctx.setAttributes({ total: '120' });
    return input.total;
  },
  { attributes: { customer: 'string', total: 'number', vip: 'boolean' } },
);

/** The options-first form types the body's attributes the same way. */
export const Refund = defineWorkflow(
  'types-search-refund',
  { attributes: { order: 'string' } },
  async (ctx, input: string) => {
    await ctx.setAttributes({ order: input });
    // @ts-expect-error order is a string attribute
    await ctx.setAttributes({ order: 1 });
  },
);

export const Plain = defineWorkflow('types-search-plain', async (ctx, input: number) => {
  // @ts-expect-error a workflow that declares no attributes sets none
  await ctx.setAttributes({ anything: 1 });
  return input;
});

export async function lists(entities: Entities): Promise<void> {
  const page = await entities.workflows.list({ kind: Order, status: 'failed', attributes: { customer: 'c-7' } });
  const n: number = page.counts.failed + page.counts.total;
  void n;
  await entities.workflows.list({ kind: Order, cursor: page.next, startedAfter: new Date(), endedBefore: 0 });
  // @ts-expect-error an attribute Order does not declare
  await entities.workflows.list({ kind: Order, attributes: { region: 'eu' } });
  // @ts-expect-error total is a number attribute
  await entities.workflows.list({ kind: Order, attributes: { total: '120' } });
  // @ts-expect-error not a status
  await entities.workflows.list({ kind: Order, status: 'asleep' });
  // @ts-expect-error a time bound is a number or a Date
  await entities.workflows.list({ startedAfter: 'yesterday' });
  // By name (the kind not imported): any attribute name, values checked at run time.
  await entities.workflows.list({ kind: 'types-search-order', attributes: { region: 'eu' } });
  const c = await entities.workflows.count({ kind: Order, attributes: { vip: true } });
  const running: number = c.running;
  void running;
  // @ts-expect-error vip is a boolean attribute
  await entities.workflows.count({ kind: Order, attributes: { vip: 'yes' } });
}
