// Compile-time checks of handlers beside the body (this file is type-checked by the build, never
// run): a signal handler's payload and an update handler's input, answer and validator are typed
// from the kind's declarations; a wrong name, payload or answer is a compile error; `condition`
// resolves a boolean and `allHandlersFinished` nothing.

import { schema } from 'ergo-ts';

import { defineUpdate, defineWorkflow } from '../src/index.js';

export const Typed = defineWorkflow(
  'typed-handlers',
  {
    signals: { n: schema.number() },
    updates: { u: defineUpdate({ input: schema.object({ k: schema.string() }), output: schema.number() }) },
  },
  async (ctx) => {
    let total = 0;
    ctx.onSignal('n', (p) => {
      total += p satisfies number;
    });
    // @ts-expect-error the payload is a number
    ctx.onSignal('n', (p: string) => void p);
    // @ts-expect-error a signal the kind does not declare
    ctx.onSignal('x', () => undefined);
    ctx.onUpdate('u', async ({ k }) => k.length + total, { validate: ({ k }) => void (k satisfies string) });
    // @ts-expect-error the answer is a number
    ctx.onUpdate('u', ({ k }) => k);
    // @ts-expect-error an update the kind does not declare
    ctx.onUpdate('v', () => 1);
    // @ts-expect-error the validator's input is the update's
    ctx.onUpdate('u', () => 1, { validate: (i: number) => void i });
    const held: boolean = await ctx.condition(() => total > 0, 1000);
    const none: void = await ctx.allHandlersFinished();
    return { held, none };
  },
);

/** A child handle's signal is typed by the child's signals; scopes run and return what their function does. */
export const TypedParent = defineWorkflow('typed-parent', {}, async (ctx) => {
  const child = await ctx.startChild(Typed, 'c', undefined as never);
  await child.signal('n', 1);
  // @ts-expect-error the payload of 'n' is a number
  await child.signal('n', 'one');
  // @ts-expect-error a signal the child does not declare
  await child.signal('x', 1);
  const scope = ctx.cancellationScope();
  const n: number = await scope.run(async () => 1);
  const cancelled: boolean = scope.cancelled;
  scope.cancel('why');
  const s: string = await ctx.withTimeout(1000, () => 'in time');
  const v: void = await ctx.nonCancellable(() => ctx.sleep(1));
  // @ts-expect-error withTimeout's function returns a string here
  const wrong: number = await ctx.withTimeout(1000, () => 'in time');
  const attempt: number = ctx.workflowInfo().attempt;
  return { n, cancelled, s, v, wrong, attempt };
});
