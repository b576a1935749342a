// Compile-time checks of the workflow API (this file is type-checked by the build, never run): a
// signal's payload, a query's reply, a step's result, a child's input and output, a start's input
// and a result's output are typed from the definition; the wrong type, or a signal or query the
// workflow does not declare, is a compile error. The test kit's handles carry the same types.

import { schema } from 'ergo-ts';

import { defineWorkflow, type Entities, type OutboxInfo, type WorkflowContext } from '../src/index.js';
import type { TestEntities } from '../src/testing/index.js';

const Child = defineWorkflow('types-child', async (ctx, input: number) => {
  const doubled = await ctx.step('double', () => input * 2);
  // @ts-expect-error a step's result is what its function returns (a number here)
  const wrong: string = await ctx.step('again', () => input * 2);
  void wrong;
  // A compensation with options: `run` gets the step's result, typed; the options are a step's.
  await ctx.step('reserve', () => input + 1, {
    compensate: { run: (r: number, { signal }) => signal.aborted || r > 0, timeoutMs: 1_000, retry: false },
  });
  // @ts-expect-error the step's result is a number, not a string
  await ctx.step('hold', () => input, { compensate: { run: (r: string) => r } });
  ctx.compensate('undo', ({ attempt }) => attempt, { timeoutMs: 1_000, retry: { maxAttempts: 3 } });
  // @ts-expect-error timeoutMs is a number
  ctx.compensate('undo-2', () => 1, { timeoutMs: '1s' });
  return doubled;
});

export const Order = defineWorkflow(
  'types-order',
  async (ctx, input: { sku: string; qty: number }) => {
    const reserved: string = await ctx.step('reserve', () => `${input.sku}x${input.qty}`);
    const approval = await ctx.signal('approve');
    const by: string = approval.by;
    // @ts-expect-error the payload of 'approve' has no field 'amount'
    void approval.amount;
    // @ts-expect-error a signal the workflow does not declare
    await ctx.signal('reject');
    ctx.onQuery('status', () => reserved);
    // @ts-expect-error the reply of 'status' is a string
    ctx.onQuery('status', () => 42);
    // @ts-expect-error a query the workflow does not declare
    ctx.onQuery('total', () => 1);
    const twice: number = await ctx.child(Child, `${ctx.id}-child`, input.qty);
    // @ts-expect-error the child's input is a number
    await ctx.child(Child, 'c2', 'three');
    // @ts-expect-error the child's output is a number, not a string
    const childText: string = await ctx.child(Child, 'c3', 3);
    void childText;
    const handle = await ctx.startChild(Child, 'c4', 4);
    const out: number = await handle.result();
    void out;
    const r: number = ctx.random();
    const u: string = ctx.uuid();
    void [r, u, by];
    return { reserved, twice };
  },
  {
    signals: { approve: schema.object({ by: schema.string() }) },
    queries: { status: schema.string() },
  },
);

export async function clientSide(entities: Entities): Promise<void> {
  const h = await entities.workflows.start(Order, 'o1', { sku: 'a', qty: 2 });
  // @ts-expect-error the input needs a qty
  await entities.workflows.start(Order, 'o2', { sku: 'a' });
  await h.signal('approve', { by: 'ann' });
  // @ts-expect-error the payload of 'approve' is { by: string }
  await h.signal('approve', { by: 7 });
  // @ts-expect-error a signal the workflow does not declare
  await h.signal('reject', { by: 'ann' });
  const status: string = await h.query('status');
  // @ts-expect-error the reply of 'status' is a string
  const n: number = await h.query('status');
  // @ts-expect-error a query the workflow does not declare
  await h.query('total');
  const result: { reserved: string; twice: number } = await h.result();
  // @ts-expect-error the output has no field 'total'
  void result.total;
  void [status, n];
}

export async function kitSide(kit: TestEntities): Promise<void> {
  const wf = await kit.workflows.start(Order, 'o1', { sku: 'a', qty: 1 });
  // @ts-expect-error the input's qty is a number
  await kit.workflows.start(Order, 'o2', { sku: 'a', qty: '1' });
  await wf.signal('approve', { by: 'ann' });
  // @ts-expect-error the payload of 'approve' is { by: string }
  await wf.signal('approve', 'ann');
  const out: { reserved: string; twice: number } = await wf.advanceUntilDone();
  // @ts-expect-error the output is an object
  const text: string = await wf.advanceUntilDone();
  void [out, text];
}

export const GoSignals = { go: schema.integer() };

/** A body written apart from its definition takes the context typed by its signals and queries. */
export async function body(ctx: WorkflowContext<typeof GoSignals>): Promise<number> {
  const go: number = await ctx.signal('go');
  // @ts-expect-error 'go' carries a number
  const s: string = await ctx.signal('go');
  void s;
  return go;
}

interface Mail {
  readonly to: string;
}

/** Options before the body: the outbox handlers are typed first, their second parameter needs no annotation. */
export const Welcome = defineWorkflow(
  'types-welcome',
  { outboxes: { email: (m: Mail, { idempotencyKey }) => `${m.to} ${idempotencyKey}` } },
  async (ctx, input: { user: string }) => {
    await ctx.outbox('email', { to: input.user });
    // @ts-expect-error 'email' takes a Mail
    await ctx.outbox('email', { to: 1 });
    // @ts-expect-error no outbox 'sms'
    await ctx.outbox('sms', { to: input.user });
    return 'queued';
  },
);

/** Options after the body: the handler's parameters annotated, the outbox is typed the same. */
export const WelcomeAfter = defineWorkflow(
  'types-welcome-after',
  async (ctx, input: { user: string }) => {
    await ctx.outbox('email', { to: input.user });
    // @ts-expect-error 'email' takes a Mail
    await ctx.outbox('email', 'ann');
    return 'queued';
  },
  { outboxes: { email: (m: Mail, info: OutboxInfo) => `${m.to} ${info.attempt}` } },
);
