// Restate's side of the workflows overload suite (lib/workflows_overload_peers.ts): the open-loop
// row's workflow (net/workflows_overload_kinds.ts describes it) with the TypeScript SDK, served over
// HTTP/2 on 127.0.0.1:RESTATE_SDK_PORT: 3 steps, each a `ctx.run` inserting one row into `effects`
// through the user's own `pg` pool (WF_EFFECTS_URL), journaled by the server before the next.
// The workflow's key is "<tag>.<k>": the effects rows carry the tag. Tells the parent
// `{ ready: true }` once it listens.

import * as restate from '@restatedev/restate-sdk';

import { recordEffect } from './workflows_overload_kinds.js';

const load = restate.workflow({
  name: 'oload',
  handlers: {
    run: async (ctx: restate.WorkflowContext): Promise<number> => {
      const id = ctx.key;
      const tag = id.slice(0, id.lastIndexOf('.'));
      for (let i = 0; i < 3; i++) await ctx.run(`s${i}`, () => recordEffect(tag, id, `s${i}`));
      return 3;
    },
  },
});

await restate.serve({ services: [load], port: Number(process.env.RESTATE_SDK_PORT) });
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });
