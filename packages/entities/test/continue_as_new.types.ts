// Compile-time checks of `ctx.continueAsNew` (type-checked by the build, never run): its input is
// the workflow's input type, so the wrong shape is a compile error, and it never returns (its
// promise is `Promise<never>`: code after an awaited call is unreachable, and `return` of it adds
// nothing to the workflow's output type).

import { schema } from 'ergo-ts';

import { defineWorkflow, type WorkflowContext, type WorkflowOutput } from '../src/index.js';

export const Poller = defineWorkflow(
  'types-can-poller',
  async (ctx, input: { cursor: string; seen: number }) => {
    const page = await ctx.step('fetch', () => ({ next: `${input.cursor}+`, count: 3 }));
    if (page.count > 0) {
      // @ts-expect-error the input needs `seen`
      await ctx.continueAsNew({ cursor: page.next });
      // @ts-expect-error `seen` is a number
      await ctx.continueAsNew({ cursor: page.next, seen: 'three' });
      // @ts-expect-error not the input's type at all
      await ctx.continueAsNew(42);
      return ctx.continueAsNew({ cursor: page.next, seen: input.seen + page.count });
    }
    return input.seen;
  },
  { signals: { stop: schema.unknown() } },
);

/** `return ctx.continueAsNew(...)` adds nothing to the output type: it stays a number. */
export const output: WorkflowOutput<typeof Poller> = 0;
// @ts-expect-error the output is a number
export const wrongOutput: WorkflowOutput<typeof Poller> = 'text';

/** A context typed with its input takes that input; `Promise<never>` for the rest of the body. */
export async function typed(ctx: WorkflowContext<{}, {}, {}, {}, {}, { n: number }>): Promise<number> {
  const never: never = await ctx.continueAsNew({ n: 1 });
  // @ts-expect-error the input is { n: number }
  await ctx.continueAsNew({ m: 1 });
  return never;
}
