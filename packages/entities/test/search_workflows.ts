// The workflow kinds the search tests run (entities.workflows.search*.test.ts): `SearchOrder`
// declares three search attributes and sets them from its input before it ends as its input says
// (completed, failed at a step, or sleeping an hour: running); `SearchRefund`, a second kind,
// sets one; `SearchBad` tries an attribute its definition does not declare and returns the code
// it was refused with; `SearchRepeat` sets one value 100 times. And `WfTagged`, which the
// distributed search test runs in its nodes (entity_node.ts, entities.workflows.search.dist.test.ts):
// a change of its search attributes (`phase`: the step about to run) before each step, so an
// instance's index row changes with most of its journal writes while its owner is killed or
// paused — the row must always be the one its committed record derives.

import { defineWorkflow, terminalError } from '../src/index.js';

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** How an instance of {@link SearchOrder} ends up. */
export type SearchMode = 'complete' | 'fail' | 'sleep';

/** A search test's order workflow (see the top of this file). */
export const SearchOrder = defineWorkflow(
  'search-order',
  async (ctx, input: { customer: string; total: number; vip?: boolean; mode: SearchMode }) => {
    await ctx.setAttributes({ customer: input.customer, total: input.total });
    if (input.vip !== undefined) await ctx.setAttributes({ vip: input.vip });
    await ctx.step('reserve', () => input.total);
    if (input.mode === 'sleep') await ctx.sleep(3_600_000);
    if (input.mode === 'fail')
      await ctx.step('charge', () => {
        throw terminalError(new Error('card declined'));
      });
    // Set again after the steps: a replay sets the same values and writes nothing for them.
    await ctx.setAttributes({ customer: input.customer });
    return input.total;
  },
  { attributes: { customer: 'string', total: 'number', vip: 'boolean' } },
);

/** A second kind: searches across kinds see both. */
export const SearchRefund = defineWorkflow(
  'search-refund',
  async (ctx, input: { customer: string }) => {
    await ctx.setAttributes({ customer: input.customer });
    return ctx.step('refund', () => 'refunded');
  },
  { attributes: { customer: 'string' } },
);

/** Sets what its definition does not declare (past the types): the refusal's code is its output. */
export const SearchBad = defineWorkflow(
  'search-bad',
  async (ctx, input: { set: Record<string, unknown> }) => {
    try {
      await ctx.setAttributes(input.set as never);
      return 'set';
    } catch (err) {
      return (err as { code?: string }).code ?? 'no code';
    }
  },
  { attributes: { n: 'number' } },
);

/** Sets the same value 100 times, then another once: only changes are written. */
export const SearchRepeat = defineWorkflow(
  'search-repeat',
  async (ctx) => {
    for (let i = 0; i < 100; i++) await ctx.setAttributes({ n: 1 });
    await ctx.setAttributes({ n: 2 });
    return 'done';
  },
  { attributes: { n: 'number' } },
);

/** The input of {@link WfTagged}. */
export interface TaggedInput {
  readonly customer: string;
  /** How many steps. */
  readonly steps: number;
  /** How long each step's work takes, in ms. */
  readonly stepMs: number;
}

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
