// The workflow kind the operator tests run (entities.workflows.ops.test.ts): one definition whose
// input picks how an instance ends up — completed (two steps), sleeping an hour, waiting for the
// signal `approve`, or failed at its `charge` step (a terminal error while `chargeFails` says so;
// an operator's resume runs that step again, which then succeeds).

import { schema } from 'ergo-ts';

import { defineWorkflow, terminalError } from '../src/index.js';

/** How an instance of {@link OpsFlow} ends up. */
export type OpsMode = 'complete' | 'sleep' | 'signal' | 'fail';

const charge = { fails: true };

/** Whether the `charge` step of a `fail` instance throws (a resume after setting it false completes it). */
export function setChargeFails(fails: boolean): void {
  charge.fails = fails;
}

/** The operator tests' workflow (see the top of this file). */
export const OpsFlow = defineWorkflow(
  'opsflow',
  async (ctx, input: { mode: OpsMode }) => {
    const first = await ctx.step('reserve', () => 1);
    if (input.mode === 'sleep') await ctx.sleep(3_600_000);
    if (input.mode === 'signal') {
      const ok = await ctx.signal('approve');
      return { first, approved: ok.by };
    }
    if (input.mode === 'fail')
      await ctx.step('charge', () => {
        if (charge.fails) throw terminalError(new Error('card declined'));
        return 'charged';
      });
    const second = await ctx.step('ship', () => 2);
    return { first, second };
  },
  { signals: { approve: schema.object({ by: schema.string() }) } },
);
