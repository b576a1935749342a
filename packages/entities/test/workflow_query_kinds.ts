// The workflow kinds the consistent-query tests run (entities.workflows.consistent_query.test.ts):
// the same tally written three ways a Temporal team writes it — the body takes each signal itself
// (`ctx.signal` in a loop), a handler beside the body takes it (`ctx.onSignal` + `ctx.condition`),
// and a `ctx.select` loop — each with a `total` query, so a query sent right after an acknowledged
// signal can be checked against the signals sent.

import { schema } from 'ergo-ts';

import { defineUpdate, defineWorkflow } from '../src/index.js';

/** The body takes each `add` itself; a negative one ends it. */
export const WfQTake = defineWorkflow(
  'wfqtake',
  { signals: { add: schema.number() }, queries: { total: schema.number() } },
  async (ctx): Promise<number> => {
    let total = 0;
    ctx.onQuery('total', () => total);
    for (;;) {
      const n = await ctx.signal('add');
      if (n < 0) return total;
      total += n;
    }
  },
);

/** A handler beside the body takes each `add`; `stop` ends the wait; `set` (an update) replaces the total. */
export const WfQHandler = defineWorkflow(
  'wfqhandler',
  {
    signals: { add: schema.number(), stop: schema.unknown() },
    queries: { total: schema.number() },
    updates: { set: defineUpdate({ input: schema.number(), output: schema.number() }) },
  },
  async (ctx): Promise<number> => {
    let total = 0;
    let stopped = false;
    ctx.onQuery('total', () => total);
    ctx.onSignal('add', (n) => {
      total += n;
    });
    ctx.onSignal('stop', () => {
      stopped = true;
    });
    ctx.onUpdate('set', (n) => (total = n));
    await ctx.condition(() => stopped);
    return total;
  },
);

/** A `ctx.select` loop takes each `add` (or a `stop`). */
export const WfQSelect = defineWorkflow(
  'wfqselect',
  { signals: { add: schema.number(), stop: schema.unknown() }, queries: { total: schema.number() } },
  async (ctx): Promise<number> => {
    let total = 0;
    ctx.onQuery('total', () => total);
    for (;;) {
      const got = await ctx.select({ add: { signal: 'add' }, stop: { signal: 'stop' } });
      if (got.branch === 'stop') return total;
      total += got.value;
    }
  },
);
