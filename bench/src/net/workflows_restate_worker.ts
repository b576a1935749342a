// The Restate side of the workflows suite (lib/workflows_restate.ts): the three workflows
// (net/workflows_serve.ts describes them) with the TypeScript SDK, served over HTTP/2 on
// 127.0.0.1:RESTATE_SDK_PORT, each step a `ctx.run` (journaled by the server before the workflow
// goes on), each sleep a `ctx.sleep` (a timer the server keeps). Tells the parent `{ ready: true }`
// once it listens; a crash round kills it with SIGKILL and forks it again on the same port.

import * as restate from '@restatedev/restate-sdk';

import { logStep } from './workflows_serve.js';

const steps = restate.workflow({
  name: 'steps',
  handlers: {
    run: async (ctx: restate.WorkflowContext, input: { n: number }): Promise<number> => {
      let acc = 0;
      for (let i = 0; i < input.n; i++) {
        const prev = acc;
        acc = await ctx.run(`s${i}`, () => prev + 1);
      }
      return acc;
    },
  },
});

const nap = restate.workflow({
  name: 'nap',
  handlers: {
    run: async (ctx: restate.WorkflowContext, input: { ms: number }): Promise<number> => {
      const t0 = await ctx.run('t0', () => Date.now());
      await ctx.sleep(input.ms);
      const t1 = await ctx.run('t1', () => Date.now());
      return t1 - t0 - input.ms;
    },
  },
});

const sleeper = restate.workflow({
  name: 'sleeper',
  handlers: {
    run: async (ctx: restate.WorkflowContext, input: { ms: number }): Promise<void> => {
      const id = ctx.key;
      await ctx.run('a', () => logStep(id, 'a'));
      await ctx.sleep(input.ms);
      await ctx.run('b', () => logStep(id, 'b'));
    },
  },
});

await restate.serve({ services: [steps, nap, sleeper], port: Number(process.env.RESTATE_SDK_PORT) });
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });
