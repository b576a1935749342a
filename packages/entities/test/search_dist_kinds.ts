// The workflow kind the distributed search test runs in its nodes (entity_node.ts,
// entities.workflows.search.dist.test.ts): each step is preceded by a change of its search
// attributes (`phase`: the step about to run), so an instance's index row changes with most of
// its journal writes while its owner is killed or paused — the row must always be the one its
// committed record derives.

import { defineWorkflow } from '../src/index.js';

/** The input of {@link WfTagged}. */
export interface TaggedInput {
  readonly customer: string;
  /** How many steps. */
  readonly steps: number;
  /** How long each step's work takes, in ms. */
  readonly stepMs: number;
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sets `customer`, then `phase` before each step (and `steps` at the end); returns the steps run. */
export const WfTagged = defineWorkflow(
  'wftagged',
  async (ctx, input: TaggedInput) => {
    await ctx.setAttributes({ customer: input.customer, phase: 0 });
    for (let i = 0; i < input.steps; i++) {
      await ctx.setAttributes({ phase: i });
      await ctx.step(`s${i}`, () => delay(input.stepMs));
    }
    await ctx.setAttributes({ phase: input.steps, done: true });
    return input.steps;
  },
  { attributes: { customer: 'string', phase: 'number', done: 'boolean' } },
);
