// The workflows the workflow fault checker (wf_faults.ts) runs in its nodes (faults_node.ts), and
// the outside "mail server" they call: a file every node appends to (the test hosts share the file
// system), one JSON line per delivery with the operation's idempotency key (opaque here), the
// effect it stands for (`<instance>/<what>`), the time and the process (`<node>#<incarnation>`).
// The checker reads it as a mail server would: raw deliveries, and effects applied once per
// idempotency key (a repeat of a key is de-duplicated).
//   - `wfsaga`: `reserve-<i>` steps, each with a compensation (`undo-<i>`) pushed before it runs
//     (so a reservation that may have been made is undone); on bodies of version 2 and later, an
//     `audit-v<k>` step behind `ctx.patched('v<k>')` for each k in 2..version (a rolling deploy's
//     new path); `charge` (transiently failing on its first attempt when `flaky`, failing
//     terminally when `fail`; its retry backoff `backoffMs`), its compensation `refund` pushed once it succeeded; an outbox-like
//     `mail` step, then 'done'. Any failure, and a cancel, runs the compensations newest first:
//     'rolled-back', or the cancel rethrown (the instance ends `cancelled`);
//   - `wfsleep`: durable sleeps, each followed by a step that records when it ran;
//   - `wfsignals`: waits for `count` signals `item`, consuming each in a step; returns their ids;
//   - `wfparent`: a step, a child workflow `wfchild` (a step, a sleep), a step; returns 2(x+1)+1;
//   - `wfcan`: a continue-as-new chain: each run waits for one signal `item`, consumes it in a
//     step and continues as new with it until it has `count`; returns their ids in order (signals
//     sent while a run ends carry over to the next);
//   - `wforder`: an order (issue 78's shape): `reserve` and `charge` (each compensated: `unreserve`,
//     `refund`), a durable sleep, a wait for signal `confirm` with a timeout, then `ship`:
//     'shipped'; a wait that timed out rolls back: 'expired'; a cancel rolls back and ends
//     `cancelled`. It never fails: an engine error thrown into it would end it `failed`;
//   - `wfupd`: takes `count` updates `add` (each with the checker's id as its update id), applies
//     each in a step, sets the search attribute `taken` and answers `<uid>@<position>`; returns
//     the ids in the order taken.
// Every step delivers first, then works `stepMs`: a kill -9 in that window replays the step, and
// its effect reaches the sink twice with one key (the "email sent twice" case).

import { appendFileSync } from 'node:fs';
import { basename } from 'node:path';

import { schema } from 'ergo-ts';

import { defineWorkflow, terminalError } from '../src/index.js';

/** One delivery to the sink. */
export interface Delivery {
  /** The operation's idempotency key (a step's or a compensation's own), opaque to the checker. */
  readonly k: string;
  /** The effect it stands for, `<instance id>/<what>`: one effect must be applied under one key. */
  readonly e: string;
  /** A value the effect carries (a signal id). */
  readonly v?: unknown;
  /** When it was delivered (epoch ms; every host shares one clock). */
  readonly at: number;
  readonly node: string;
  /** The process that delivered it: `<node>#<incarnation>` (its log's name), when known. */
  readonly src?: string;
}

// The process's name as the harness knows it: its log file's name (FN_LOG is `<dir>/<node>#<n>.log`).
const source = process.env.FN_LOG === undefined ? undefined : basename(process.env.FN_LOG, '.log');

/** Delivers an effect to the sink (FN_SINK); a small line appended whole. */
export function deliver(k: string, e: string, v?: unknown): void {
  const file = process.env.FN_SINK;
  if (file === undefined || file === '') return;
  const d: Delivery = {
    k,
    e,
    ...(v === undefined ? {} : { v }),
    at: Date.now(),
    node: process.env.FN_NAME ?? '',
    ...(source === undefined ? {} : { src: source }),
  };
  appendFileSync(file, `${JSON.stringify(d)}\n`);
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The input of {@link WfSaga}. */
export interface SagaInput {
  readonly items: number;
  readonly fail: boolean;
  readonly flaky: boolean;
  readonly stepMs: number;
  /**
   * The charge's retry backoff after its failed first attempt (`flaky`), in ms (default 50): the
   * checker's `backoff` fault hands the instance off while it waits this out.
   */
  readonly backoffMs?: number;
}

/**
 * The saga of body version `version` (1: no patch; k ≥ 2 adds an `audit-v<j>` step behind
 * `ctx.patched('v<j>')` for each j in 2..k, after the reservations). Reservations with their
 * compensations, a charge that may fail for good (its refund pushed once it succeeded), a mail.
 */
export function sagaOf(version: number) {
  return defineWorkflow(
    'wfsaga',
    async (ctx, input: SagaInput) => {
      try {
        for (let i = 0; i < input.items; i++) {
          // Pushed before the step: a reservation a crash left unjournaled (then struck by a
          // cancel on replay) may have been made, so it is undone too (the receiver ignores an
          // undo of nothing). The same advice as Temporal's sagas.
          ctx.compensate(`reserve-${i}`, async ({ idempotencyKey }) => {
            deliver(idempotencyKey, `${ctx.id}/undo-${i}`);
            await delay(input.stepMs);
          });
          await ctx.step(`reserve-${i}`, async ({ idempotencyKey }) => {
            deliver(idempotencyKey, `${ctx.id}/reserve-${i}`);
            await delay(input.stepMs);
            return true;
          });
        }
        for (let v = 2; v <= version; v++)
          if (ctx.patched(`v${v}`))
            await ctx.step(`audit-v${v}`, async ({ idempotencyKey }) => {
              deliver(idempotencyKey, `${ctx.id}/audit-v${v}`);
              await delay(input.stepMs);
              return true;
            });
        await ctx.step(
          'charge',
          async ({ idempotencyKey, attempt }) => {
            if (input.flaky && attempt === 1) throw new Error('gateway busy');
            if (input.fail) throw terminalError(new Error('card declined'));
            deliver(idempotencyKey, `${ctx.id}/charge`);
            await delay(input.stepMs);
            return true;
          },
          {
            retry: {
              initialMs: input.backoffMs ?? 50,
              maxMs: Math.max(input.backoffMs ?? 50, 10_000),
            },
            compensate: async (_charged, { idempotencyKey }) => {
              deliver(idempotencyKey, `${ctx.id}/refund`);
              await delay(input.stepMs);
            },
          },
        );
        await ctx.step('mail', async ({ idempotencyKey }) => {
          deliver(idempotencyKey, `${ctx.id}/mail`);
          await delay(input.stepMs);
          return true;
        });
        return 'done';
      } catch (err) {
        await ctx.runCompensations();
        if (ctx.cancelled) throw err;
        return 'rolled-back';
      }
    },
    { resumeAfterMs: 1000 },
  );
}

/** The saga of body version 1. */
export const WfSaga = sagaOf(1);

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

/** The input of {@link WfCan}: the signals to take in all, and those taken by the runs before. */
export interface CanInput {
  readonly count: number;
  readonly got: readonly string[];
  readonly stepMs: number;
}

/** One signal per run, consumed in a step; continues as new until `count`; returns their ids in order. */
export const WfCan = defineWorkflow(
  'wfcan',
  async (ctx, input: CanInput): Promise<string[]> => {
    const { sid } = await ctx.signal('item');
    await ctx.step('consume', async ({ idempotencyKey }) => {
      deliver(idempotencyKey, `${ctx.id}/consume/${sid}`, sid);
      await delay(input.stepMs);
      return sid;
    });
    const got = [...input.got, sid];
    if (got.length < input.count) return ctx.continueAsNew({ ...input, got });
    return got;
  },
  { signals: { item: schema.object({ sid: schema.string() }) } },
);

/** The input of {@link WfOrder}. */
export interface OrderInput {
  readonly sleepMs: number;
  readonly confirmMs: number;
  readonly stepMs: number;
}

/** An order: reserve, charge, a sleep, a confirmation with a timeout, ship (see the top of this file). */
export const WfOrder = defineWorkflow(
  'wforder',
  async (ctx, input: OrderInput): Promise<string> => {
    const effect =
      (what: string) =>
      async ({ idempotencyKey }: { idempotencyKey: string }): Promise<boolean> => {
        deliver(idempotencyKey, `${ctx.id}/${what}`);
        await delay(input.stepMs);
        return true;
      };
    try {
      await ctx.step('reserve', effect('reserve'), { compensate: (_r, info) => effect('unreserve')(info) });
      await ctx.step('charge', effect('charge'), { compensate: (_r, info) => effect('refund')(info) });
      await ctx.sleep(input.sleepMs);
      try {
        await ctx.signal('confirm', { timeoutMs: input.confirmMs });
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'ERR_WORKFLOW_TIMEOUT') throw err;
        await ctx.runCompensations();
        return 'expired';
      }
      await ctx.step('ship', effect('ship'));
      return 'shipped';
    } catch (err) {
      await ctx.runCompensations();
      throw err;
    }
  },
  { signals: { confirm: schema.object({ sid: schema.string() }) }, resumeAfterMs: 1000 },
);

/** The input of {@link WfUpd}. */
export interface UpdInput {
  readonly count: number;
  readonly stepMs: number;
}

/** The answer {@link WfUpd} gives update `uid` taken at `position` (from 0). */
export const updAnswer = (uid: string, position: number): string => `${uid}@${position}`;

/** Takes `count` updates, each applied in a step and answered with its position; returns their ids in order. */
export const WfUpd = defineWorkflow(
  'wfupd',
  {
    updates: { add: { input: schema.object({ uid: schema.string() }), output: schema.string() } },
    attributes: { taken: 'number' },
  },
  async (ctx, input: UpdInput): Promise<string[]> => {
    const got: string[] = [];
    for (let i = 0; i < input.count; i++) {
      const u = await ctx.update('add');
      const { uid } = u.input;
      await ctx.step(`apply-${i}`, async ({ idempotencyKey }) => {
        deliver(idempotencyKey, `${ctx.id}/apply/${uid}`, uid);
        await delay(input.stepMs);
        return uid;
      });
      got.push(uid);
      await ctx.setAttributes({ taken: got.length });
      await u.reply(updAnswer(uid, i));
    }
    return got;
  },
);

/** Every workflow kind of the checker with the saga of body version `version`, for the nodes' `kinds`. */
export function wfKinds(version: number) {
  return [sagaOf(version), WfSleep, WfSignals, WfChild, WfParent, WfCan, WfUpd, WfOrder] as const;
}

/** Every workflow kind of the checker, body version 1. */
export const WF_KINDS = wfKinds(1);

/** The workflows the checker starts (the child is started by its parent). */
export type WfName = 'wfsaga' | 'wfsleep' | 'wfsignals' | 'wfparent' | 'wfcan' | 'wfupd' | 'wforder';
