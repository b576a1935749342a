// Compile-time checks of ctx.select (this file is type-checked by the build, never run): each
// branch names a signal, an update, a child handle or a sleep the workflow has; a `switch` on
// `branch` narrows `value` to the signal's payload, the taken update (typed reply), the child's
// output or undefined; an undeclared signal or update, a misspelt branch kind or a value read as
// the wrong type is a compile error. And the start options that ride on a start: signal-with-start
// and update-with-start, typed by the kind's signals and updates, and `idReuse`.

import { schema } from 'ergo-ts';

import { defineUpdate, defineWorkflow, type Entities } from '../src/index.js';

const Kid = defineWorkflow('types-select-kid', async (_ctx, input: { n: number }) => ({ doubled: input.n * 2 }));

export const Order = defineWorkflow(
  'types-select-order',
  {
    signals: { confirm: schema.object({ by: schema.string() }), poke: schema.unknown() },
    updates: {
      changeAddress: defineUpdate({ input: schema.object({ address: schema.string() }), output: schema.string() }),
      note: { input: schema.string(), output: schema.number() },
    },
  },
  async (ctx, _input: null) => {
    const kid = await ctx.startChild(Kid, 'k', { n: 2 });
    const first = await ctx.select({
      confirm: { signal: 'confirm' },
      address: { update: 'changeAddress' },
      either: { update: ['changeAddress', 'note'] },
      kid: { child: kid },
      late: { sleep: 60_000 },
    });
    switch (first.branch) {
      case 'confirm': {
        const by: string = first.value.by;
        // @ts-expect-error the payload has no field 'when'
        void first.value.when;
        return by;
      }
      case 'address': {
        const a: string = first.value.input.address;
        await first.value.reply(a);
        // @ts-expect-error changeAddress answers a string
        await first.value.reply(1);
        return a;
      }
      case 'either': {
        if (first.value.name === 'note') await first.value.reply(3);
        else await first.value.reply('x');
        return 'either';
      }
      case 'kid': {
        const d: number = first.value.doubled;
        return String(d);
      }
      case 'late': {
        const none: undefined = first.value;
        return String(none);
      }
      default: {
        // @ts-expect-error every branch is handled above
        const never: string = first.branch;
        return never;
      }
    }
  },
);

export const Refused = defineWorkflow(
  'types-select-refused',
  { signals: { go: schema.unknown() }, updates: { add: { input: schema.number(), output: schema.number() } } },
  async (ctx) => {
    // @ts-expect-error a signal the workflow does not declare
    await ctx.select({ a: { signal: 'stop' } });
    // @ts-expect-error an update the workflow does not declare
    await ctx.select({ a: { update: 'remove' } });
    // @ts-expect-error 'timer' is not a branch kind
    await ctx.select({ a: { timer: 5 } });
    // @ts-expect-error a sleep is a number of ms or { until }
    await ctx.select({ a: { sleep: '5s' } });
    const r = await ctx.select({ go: { signal: 'go' }, add: { update: 'add' } });
    // @ts-expect-error no branch named 'other'
    if (r.branch === 'other') return 0;
    return 1;
  },
);

/** Signal-with-start and update-with-start are typed by the kind's signals and updates. */
export async function starts(entities: Entities): Promise<void> {
  const w = entities.workflows;
  const s = await w.start(Order, 'o1', null, {
    signal: { name: 'confirm', payload: { by: 'ann' } },
    idReuse: 'always',
  });
  const how: 'accepted' | 'duplicate' | undefined = s.signalled;
  void how;
  // The started handle keeps its signal method.
  await s.signal('confirm', { by: 'bo' });
  // @ts-expect-error the payload of 'confirm' has a string 'by'
  await w.start(Order, 'o2', null, { signal: { name: 'confirm', payload: { by: 1 } } });
  // @ts-expect-error a signal the workflow does not declare
  await w.start(Order, 'o3', null, { signal: { name: 'stop', payload: null } });
  // @ts-expect-error idReuse is 'never', 'afterFailure' or 'always'
  await w.start(Order, 'o4', null, { idReuse: 'sometimes' });
  const u = await w.updateWithStart(Order, 'o5', null, { name: 'note', input: 'hi' }, { updateId: 'n-1' });
  const n: number = u.output;
  void n;
  // @ts-expect-error 'note' answers a number
  const wrong: string = (await w.updateWithStart(Order, 'o6', null, { name: 'note', input: 'hi' })).output;
  void wrong;
  // @ts-expect-error the input of 'changeAddress' is { address }
  await w.updateWithStart(Order, 'o7', null, { name: 'changeAddress', input: 'x' });
}
