// Compile-time checks of workflow updates (this file is type-checked by the build, never run): an
// update's input and answer are typed from its declaration on the caller's handle, the test kit's
// handle and in the body; a wrong name, input or answer is a compile error; `ctx.update` of several
// names gives a union told apart by `name`; `defineUpdate` types a validator's parameter.

import { schema } from 'ergo-ts';

import { defineUpdate, defineWorkflow, type Entities, type WorkflowContext } from '../src/index.js';
import type { TestEntities } from '../src/testing/index.js';

const Updates = {
  add: defineUpdate({
    input: schema.object({ sku: schema.string(), qty: schema.number() }),
    output: schema.number(),
    validate: (i) => {
      const qty: number = i.qty;
      // @ts-expect-error the input has no field 'price'
      void i.price;
      void qty;
    },
  }),
  close: { input: schema.unknown(), output: schema.string() },
};

export const Cart = defineWorkflow('types-cart', { updates: Updates }, async (ctx, input: { max: number }) => {
  const u = await ctx.update('add');
  const qty: number = u.input.qty;
  await u.reply(qty);
  // @ts-expect-error the answer of 'add' is a number
  await u.reply('two');
  // @ts-expect-error an update the workflow does not declare
  await ctx.update('remove');
  const either = await ctx.update(['add', 'close']);
  if (either.name === 'add') {
    const sku: string = either.input.sku;
    void sku;
    await either.reply(1);
  } else {
    // @ts-expect-error 'close' answers a string
    await either.reply(1);
    await either.reply('closed');
  }
  await either.fail(new Error('any error'));
  return input.max;
});

export async function callers(entities: Entities, kit: TestEntities, ctx: WorkflowContext<{}, {}, {}, typeof Updates>) {
  const h = entities.workflows.handle(Cart, 'c1');
  const n: number = await h.update('add', { sku: 'pen', qty: 1 }, { updateId: 'u1', timeoutMs: 1000 });
  const s: string = await h.update('close', null);
  // @ts-expect-error qty is a number
  await h.update('add', { sku: 'pen', qty: '1' });
  // @ts-expect-error an update the workflow does not declare
  await h.update('remove', {});
  // @ts-expect-error the answer of 'add' is a number
  const wrong: string = await h.update('add', { sku: 'pen', qty: 1 });
  // @ts-expect-error updateId is a string
  await h.update('add', { sku: 'pen', qty: 1 }, { updateId: 7 });
  const started = await h.startUpdate('add', { sku: 'pen', qty: 1 }, { waitForStage: 'ACCEPTED', updateId: 'u2' });
  const got: number = await started.result({ timeoutMs: 1000 });
  const byId: string = await h.getUpdateHandle('u3', 'close').result();
  // @ts-expect-error the answer of 'add' is a number
  const wrongStarted: string = await started.result();
  // @ts-expect-error a stage is 'ACCEPTED' or 'COMPLETED'
  await h.startUpdate('add', { sku: 'pen', qty: 1 }, { waitForStage: 'ADMITTED' });
  // @ts-expect-error an update the workflow does not declare
  h.getUpdateHandle('u4', 'remove');
  const kitStarted: number = await (
    await kit.workflows.handle(Cart, 'c1').startUpdate('add', { sku: 'ink', qty: 1 })
  ).result();
  void [got, byId, wrongStarted, kitStarted];
  const k: number = await kit.workflows.handle(Cart, 'c1').update('add', { sku: 'ink', qty: 2 });
  // @ts-expect-error the kit's handle is typed the same
  await kit.workflows.handle(Cart, 'c1').update('add', { sku: 'ink' });
  const u = await ctx.update('close');
  await u.reply('ok');
  void n;
  void s;
  void wrong;
  void k;
}
