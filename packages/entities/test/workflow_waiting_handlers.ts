// The workflow kind of the waiting-handler tests (entities.workflows.handler_waits.test.ts): its
// signal and update handlers wait themselves — a durable sleep, a step, a condition other handlers
// make true — while the body waits in `ctx.condition`, the way Temporal code writes them.

import { schema } from 'ergo-ts';

import { defineUpdate, defineWorkflow } from '../src/index.js';

/** What {@link WfWaits} returns. */
export interface WaitsOutput {
  readonly total: number;
  /** What the handlers did, in order. */
  readonly order: readonly string[];
}

/**
 * `add` signals add to a total; `later` signals sleep, then add; `nap` updates sleep, add through a
 * step, and answer the total; `atLeast` updates wait in a condition until the total reaches their
 * `min` (other handlers, handed their messages in that condition, raise it); `twice` updates ask
 * two sleeps at once (the second refused, the first awaited); `stop` ends the body's wait.
 */
export const WfWaits = defineWorkflow(
  'wfwaits',
  {
    signals: {
      add: schema.number(),
      later: schema.object({ ms: schema.number(), n: schema.number() }),
      stop: schema.unknown(),
    },
    queries: { total: schema.number(), order: schema.array(schema.string()) },
    updates: {
      nap: defineUpdate({ input: schema.object({ ms: schema.number(), n: schema.number() }), output: schema.number() }),
      atLeast: defineUpdate({ input: schema.object({ min: schema.number() }), output: schema.number() }),
      twice: defineUpdate({ input: schema.number(), output: schema.number() }),
    },
  },
  async (ctx): Promise<WaitsOutput> => {
    let total = 0;
    let stopped = false;
    const order: string[] = [];
    ctx.onQuery('total', () => total);
    ctx.onQuery('order', () => order);
    ctx.onSignal('add', (n) => {
      total += n;
      order.push(`add ${n}`);
    });
    ctx.onSignal('later', async ({ ms, n }) => {
      await ctx.sleep(ms);
      total += n;
      order.push(`later ${n}`);
    });
    ctx.onSignal('stop', () => {
      stopped = true;
    });
    ctx.onUpdate('nap', async ({ ms, n }) => {
      order.push(`nap ${n} sleeps`);
      await ctx.sleep(ms);
      total += await ctx.step(`after nap ${n}`, () => n);
      order.push(`nap ${n} woke`);
      return total;
    });
    ctx.onUpdate('atLeast', async ({ min }) => {
      order.push(`atLeast ${min} waits`);
      await ctx.condition(() => total >= min);
      order.push(`atLeast ${min} holds`);
      return total;
    });
    ctx.onUpdate('twice', async (ms) => {
      const first = ctx.sleep(ms);
      try {
        await ctx.sleep(ms); // refused: its handler already waits
      } finally {
        await first;
      }
      return total;
    });
    await ctx.condition(() => stopped);
    await ctx.allHandlersFinished();
    return { total, order };
  },
);
