// The workflow kinds the distributed workflow tests run in their nodes (entity_node.ts): steps
// whose every run is recorded in an effects file (WF_EFFECTS, one line per run: the step's
// idempotency key and the node), so a test sees a step that ran twice; and a sleep between them.

import { appendFileSync } from 'node:fs';

import { defineWorkflow } from '../src/index.js';

/** The input of {@link WfSteps}. */
export interface StepsInput {
  /** How many steps. */
  readonly steps: number;
  /** A sleep after the first step, in ms (0: none). */
  readonly sleepMs: number;
  /** How long each step's work takes, in ms. */
  readonly stepMs: number;
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `steps` steps (each recording its run), sleeping `sleepMs` after the first; returns the steps' sum. */
export const WfSteps = defineWorkflow('wfsteps', async (ctx, input: StepsInput) => {
  let sum = 0;
  for (let i = 0; i < input.steps; i++) {
    sum += await ctx.step(`s${i}`, async ({ idempotencyKey }) => {
      const file = process.env.WF_EFFECTS;
      if (file) appendFileSync(file, `${idempotencyKey} ${process.env.ENT_NAME ?? ''}\n`);
      if (input.stepMs > 0) await delay(input.stepMs);
      return i;
    });
    if (i === 0 && input.sleepMs > 0) await ctx.sleep(input.sleepMs);
  }
  return sum;
});
