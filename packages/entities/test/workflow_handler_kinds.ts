// The workflow kind the handler tests run (entities.workflows.handlers.test.ts): a tally whose
// body registers signal and update handlers and waits with `ctx.condition` and
// `ctx.allHandlersFinished`, the Temporal way. Its steps count their runs by idempotency key, and
// the `slow` update's step waits at a gate the test opens (to cut a handler short mid-step).

import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

import { schema } from 'ergo-ts';

import { defineUpdate, defineWorkflow } from '../src/index.js';

/** Runs of each step, by idempotency key (this process). */
export const handlerRuns = new Map<string, number>();

/** A gate the `slow` step waits at, by instance id: `entered` settles once a step reached it. */
interface Gate {
  readonly opened: Promise<void>;
  open(): void;
  readonly entered: Promise<void>;
  enter(): void;
}
const gates = new Map<string, Gate>();

/** The gate of instance `id` (made on first use). */
export function gateOf(id: string): Gate {
  let g = gates.get(id);
  if (g === undefined) {
    let open!: () => void;
    let enter!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    const entered = new Promise<void>((r) => (enter = r));
    g = { opened, open, entered, enter };
    gates.set(id, g);
  }
  return g;
}

/** Forgets the step runs and the gates (each case starts afresh). */
export function resetHandlerKinds(): void {
  handlerRuns.clear();
  gates.clear();
}

/** The input of {@link WfTally}. */
export interface TallyInput {
  /** Wait for the signal `open` (taken by `ctx.signal`) before registering the handlers. */
  readonly gated?: boolean;
  /** The condition's timeout, in ms (none: wait for `stop`). */
  readonly timeoutMs?: number;
  /** The `add` handler throws on this value. */
  readonly failOn?: number;
  /** After registering the handlers, the body also waits for `add` itself (refused). */
  readonly both?: boolean;
  /**
   * A folder of gate files (the distributed test, on other processes): the `slow` step waits for
   * `<gates>/<id>.slow` instead of the in-process gate.
   */
  readonly gates?: string;
}

/** What {@link WfTally} returns. */
export interface TallyOutput {
  readonly total: number;
  /** What the condition resolved to (false: its timeout). */
  readonly stopped: boolean;
  /** The handlers' runs, in order. */
  readonly order: readonly string[];
}

/** Counts a step's run here, and in the WF_EFFECTS file when a node sets it (its key and the node). */
const count = (key: string): void => {
  handlerRuns.set(key, (handlerRuns.get(key) ?? 0) + 1);
  const file = process.env.WF_EFFECTS;
  if (file) appendFileSync(file, `${key} ${process.env.ENT_NAME ?? ''}\n`);
};

/** Waits at instance `id`'s gate: its file in `gates`, else the in-process one. */
async function passGate(id: string, gates: string | undefined): Promise<void> {
  if (gates === undefined) {
    const g = gateOf(id);
    g.enter();
    return g.opened;
  }
  const file = join(gates, `${id}.slow`);
  while (!existsSync(file)) await new Promise((r) => setTimeout(r, 20));
}

/**
 * Adds `add` signals to a total, `take` updates take from it (their validator refuses more than
 * it holds; a take of 0 fails), `slow` updates add to it through a step that waits at the gate;
 * `stop` ends the wait.
 */
export const WfTally = defineWorkflow(
  'wftally',
  {
    signals: { add: schema.number(), stop: schema.unknown(), open: schema.unknown() },
    queries: { total: schema.number() },
    updates: {
      take: defineUpdate({ input: schema.object({ n: schema.number() }), output: schema.number() }),
      slow: defineUpdate({ input: schema.object({ n: schema.number() }), output: schema.number() }),
    },
  },
  async (ctx, input: TallyInput): Promise<TallyOutput> => {
    let total = 0;
    let stopped = false;
    const order: string[] = [];
    ctx.onQuery('total', () => total);
    if (input.gated === true) await ctx.signal('open');
    ctx.onSignal('add', (n) => {
      if (n === input.failOn) throw new Error(`add ${n} refused by the handler`);
      total += n;
      order.push(`add ${n}`);
    });
    ctx.onSignal('stop', () => {
      stopped = true;
      order.push('stop');
    });
    ctx.onUpdate(
      'take',
      async ({ n }) => {
        if (n === 0) throw new Error('nothing to take');
        const got = await ctx.step(`take ${n}`, (info) => (count(info.idempotencyKey), n));
        total -= got;
        order.push(`take ${n}`);
        return total;
      },
      {
        validate: ({ n }) => {
          if (n > total) throw new Error(`only ${total} left, asked ${n}`);
        },
      },
    );
    ctx.onUpdate('slow', async ({ n }) => {
      const got = await ctx.step('slow', async (info) => {
        count(info.idempotencyKey);
        await passGate(ctx.id, input.gates);
        return n;
      });
      total += got;
      order.push(`slow ${n}`);
      return total;
    });
    if (input.both === true) await ctx.signal('add');
    const done = await ctx.condition(() => stopped, input.timeoutMs);
    await ctx.allHandlersFinished();
    return { total, stopped: done, order };
  },
);
