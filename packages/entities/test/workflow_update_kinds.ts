// The workflow kinds the update tests run (entities.workflows.updates.test.ts in process, and
// entities.workflows.updates.dist.test.ts in the nodes of entity_node.ts): a cart the body fills
// by updates it takes and answers, each through a step whose runs are counted (in memory, and in
// the WF_EFFECTS file when a node sets it, one line per run: its idempotency key and the node).

import { appendFileSync } from 'node:fs';

import { schema } from 'ergo-ts';

import { defineUpdate, defineWorkflow, terminalError } from '../src/index.js';

/** Runs of each step, by idempotency key (this process). */
export const updateRuns = new Map<string, number>();

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The input of {@link WfCart}. */
export interface CartInput {
  /** The most items the cart takes: an `add` past it is answered with a failure. */
  readonly limit: number;
  /** Wait for the signal `open` before taking any update (0: no). */
  readonly gated?: boolean;
  /** How long each `add`'s step works, in ms. */
  readonly stepMs?: number;
  /** A deadline for each update wait, in ms (none: wait). */
  readonly waitMs?: number;
}

/**
 * Takes `add` and `checkout` updates in the order they come: `add` reserves its items in a step
 * and answers the cart's new count (fails it, the cart unchanged, past `limit`); `checkout`
 * answers a summary and ends the instance with the count.
 */
export const WfCart = defineWorkflow(
  'wfcart',
  {
    signals: { open: schema.unknown() },
    queries: { count: schema.number() },
    updates: {
      add: defineUpdate({
        input: schema.object({ sku: schema.string(), qty: schema.number() }),
        output: schema.number(),
        validate: (i) => {
          if (i.qty <= 0) throw new Error(`qty must be above 0, got ${i.qty}`);
        },
      }),
      checkout: { input: schema.object({ note: schema.string() }), output: schema.string() },
    },
  },
  async (ctx, input: CartInput) => {
    let count = 0;
    ctx.onQuery('count', () => count);
    if (input.gated === true) await ctx.signal('open');
    for (;;) {
      const u = await ctx.update(['add', 'checkout'], input.waitMs === undefined ? {} : { timeoutMs: input.waitMs });
      if (u.name === 'checkout') {
        await u.reply(`${u.input.note}: ${count} items`);
        return count;
      }
      const { sku, qty } = u.input;
      const next = await ctx.step(`reserve ${sku}`, async ({ idempotencyKey }) => {
        updateRuns.set(idempotencyKey, (updateRuns.get(idempotencyKey) ?? 0) + 1);
        const file = process.env.WF_EFFECTS;
        if (file) appendFileSync(file, `${idempotencyKey} ${process.env.ENT_NAME ?? ''}\n`);
        if ((input.stepMs ?? 0) > 0) await delay(input.stepMs!);
        return count + qty;
      });
      if (next > input.limit) {
        await u.fail(terminalError(Object.assign(new Error(`over the limit of ${input.limit}`), { code: 'ERR_FULL' })));
        continue;
      }
      count = next;
      await u.reply(count);
    }
  },
);
