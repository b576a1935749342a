// The workflows the workflow fault checker (wf_faults.ts) runs in its nodes (faults_node.ts), and
// the outside "mail server" they call: a file every node appends to (the test hosts share the file
// system), one JSON line per delivery with the step's idempotency key, the effect it stands for
// (`<instance>/<what>`), the time and the node. The checker reads it as a mail server would: raw
// deliveries, and effects applied once per idempotency key (a repeat of a key is de-duplicated).
//   - `wfsaga`: `reserve-<i>` steps, each with a compensation (`undo`), then `charge` (transiently
//     failing on its first attempt when `flaky`, failing terminally when `fail`): on failure the
//     compensations run and it returns 'rolled-back', else an outbox `mail` step and 'done';
//   - `wfsleep`: durable sleeps, each followed by a step that records when it ran;
//   - `wfsignals`: waits for `count` signals `item`, consuming each in a step; returns their ids;
//   - `wfparent`: a step, a child workflow `wfchild` (a step, a sleep), a step; returns 2(x+1)+1.
// Every step delivers first, then works `stepMs`: a kill -9 in that window replays the step, and
// its effect reaches the sink twice with one key (the "email sent twice" case).

import { appendFileSync } from 'node:fs';

import { schema } from 'ergo-ts';

import { defineWorkflow, terminalError } from '../src/index.js';

/** One delivery to the sink. */
export interface Delivery {
  /** The step's idempotency key (`<workflow>/<id>/<operation>`; a compensation's: its step's key + `/undo`). */
  readonly k: string;
  /** The effect it stands for, `<instance id>/<what>`: one effect must be applied under one key. */
  readonly e: string;
  /** A value the effect carries (a signal id). */
  readonly v?: unknown;
  /** When it was delivered (epoch ms; every host shares one clock). */
  readonly at: number;
  readonly node: string;
}

/** Delivers an effect to the sink (FN_SINK); a small line appended whole. */
export function deliver(k: string, e: string, v?: unknown): void {
  const file = process.env.FN_SINK;
  if (file === undefined || file === '') return;
  const d: Delivery = { k, e, ...(v === undefined ? {} : { v }), at: Date.now(), node: process.env.FN_NAME ?? '' };
  appendFileSync(file, `${JSON.stringify(d)}\n`);
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The input of {@link WfSaga}. */
export interface SagaInput {
  readonly items: number;
  readonly fail: boolean;
  readonly flaky: boolean;
  readonly stepMs: number;
}

/** The saga: reservations with compensations, a charge that may fail for good, an outbox mail. */
export const WfSaga = defineWorkflow(
  'wfsaga',
  async (ctx, input: SagaInput) => {
    for (let i = 0; i < input.items; i++)
      await ctx.step(
        `reserve-${i}`,
        async ({ idempotencyKey }) => {
          deliver(idempotencyKey, `${ctx.id}/reserve-${i}`);
          await delay(input.stepMs);
          return { key: idempotencyKey };
        },
        {
          compensate: async (r) => {
            deliver(`${r.key}/undo`, `${ctx.id}/undo-${i}`);
            await delay(input.stepMs);
          },
        },
      );
    try {
      await ctx.step(
        'charge',
        async ({ idempotencyKey, attempt }) => {
          if (input.flaky && attempt === 1) throw new Error('gateway busy');
          if (input.fail) throw terminalError(new Error('card declined'));
          deliver(idempotencyKey, `${ctx.id}/charge`);
          await delay(input.stepMs);
          return true;
        },
        { retry: { initialMs: 50 } },
      );
    } catch {
      await ctx.runCompensations();
      return 'rolled-back';
    }
    await ctx.step('mail', async ({ idempotencyKey }) => {
      deliver(idempotencyKey, `${ctx.id}/mail`);
      await delay(input.stepMs);
      return true;
    });
    return 'done';
  },
  { resumeAfterMs: 1000 },
);

/** The input of {@link WfSleep}. */
export interface SleepInput {
  readonly sleeps: readonly number[];
  readonly stepMs: number;
}

/** Durable sleeps, each followed by a step recording when it ran; returns how many slept. */
export const WfSleep = defineWorkflow('wfsleep', async (ctx, input: SleepInput) => {
  for (let i = 0; i < input.sleeps.length; i++) {
    await ctx.sleep(input.sleeps[i]!);
    await ctx.step(`after-${i}`, async ({ idempotencyKey }) => {
      deliver(idempotencyKey, `${ctx.id}/after-${i}`);
      await delay(input.stepMs);
      return Date.now();
    });
  }
  return input.sleeps.length;
});

/** The input of {@link WfSignals}. */
export interface SignalsInput {
  readonly count: number;
  readonly stepMs: number;
}

/** Waits for `count` signals `item`, consuming each in a step; returns their ids in order. */
export const WfSignals = defineWorkflow(
  'wfsignals',
  async (ctx, input: SignalsInput) => {
    const got: string[] = [];
    for (let i = 0; i < input.count; i++) {
      const { sid } = await ctx.signal('item');
      await ctx.step(`consume-${i}`, async ({ idempotencyKey }) => {
        deliver(idempotencyKey, `${ctx.id}/consume/${sid}`, sid);
        await delay(input.stepMs);
        return sid;
      });
      got.push(sid);
    }
    return got;
  },
  { signals: { item: schema.object({ sid: schema.string() }) } },
);

/** The input of {@link WfChild} and {@link WfParent}. */
export interface ChildInput {
  readonly x: number;
  readonly stepMs: number;
}

/** The child: a step, a short durable sleep; returns 2x. */
export const WfChild = defineWorkflow('wfchild', async (ctx, input: ChildInput) => {
  await ctx.step('work', async ({ idempotencyKey }) => {
    deliver(idempotencyKey, `${ctx.id}/work`);
    await delay(input.stepMs);
    return true;
  });
  await ctx.sleep(300);
  return input.x * 2;
});

/** The id of the child of parent `id`. */
export const childId = (id: string): string => `${id}.child`;

/** The parent: a step, the child `<id>.child` with x + 1, a step with its result; returns 2(x+1)+1. */
export const WfParent = defineWorkflow('wfparent', async (ctx, input: ChildInput) => {
  const a = await ctx.step('prep', async ({ idempotencyKey }) => {
    deliver(idempotencyKey, `${ctx.id}/prep`);
    await delay(input.stepMs);
    return input.x + 1;
  });
  const c = await ctx.child(WfChild, childId(ctx.id), { x: a, stepMs: input.stepMs });
  await ctx.step('notify', async ({ idempotencyKey }) => {
    deliver(idempotencyKey, `${ctx.id}/notify`, c);
    await delay(input.stepMs);
    return true;
  });
  return c + 1;
});

/** Every workflow kind of the checker, for the nodes' `kinds`. */
export const WF_KINDS = [WfSaga, WfSleep, WfSignals, WfChild, WfParent] as const;

/** The workflows the checker starts (the child is started by its parent). */
export type WfName = 'wfsaga' | 'wfsleep' | 'wfsignals' | 'wfparent';
