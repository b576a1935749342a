// The batch tests' target kind (entities.workflows.batch.dist.test.ts, run in entity_node.ts):
// sets its `group` attribute, then waits for a `poke` and an `end` signal. Its record then says
// how many pokes it was sent (taken in its journal, or kept): a batch that signals it must have
// sent exactly one, whatever member died meanwhile.

import { schema } from 'ergo-ts';

import { defineWorkflow } from '../src/index.js';

/** A batch target (see the top of this file). */
export const WfBatchTarget = defineWorkflow(
  'wfbtarget',
  { signals: { poke: schema.string(), end: schema.string() }, attributes: { group: 'string' } },
  async (ctx, input: { readonly group: string }): Promise<string> => {
    await ctx.setAttributes({ group: input.group });
    const p = await ctx.signal('poke');
    return `${p} ${await ctx.signal('end')}`;
  },
);
