// The workflow kinds of the select tests (entities.workflows.select.test.ts): the pattern a team
// coming from Temporal writes first — an order that waits for a `confirm` signal or a
// `changeAddress` update, whichever comes first, or its deadline (`Workflow.await` with a timeout,
// a Selector) — plus a parent that waits for its child's end or a signal, and a body that races two
// waits with Promise.race (refused). Every kind runs under the determinism guard in `throw`.

import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

import { schema } from 'ergo-ts';

import { defineUpdate, defineWorkflow } from '../src/index.js';

/** Runs of each step, by idempotency key (this process). */
export const selectRuns = new Map<string, number>();

/**
 * A step's function that counts its runs (here, and in the WF_EFFECTS file when a node sets it)
 * and, with `gates`, waits until the file `<gates>/<id>.<name>` exists: the distributed test holds
 * an order inside a step with it, and kills its member there.
 */
function counted<T>(
  v: T,
  gates?: string,
  id?: string,
  name?: string,
): (info: { idempotencyKey: string }) => Promise<T> {
  return async ({ idempotencyKey }) => {
    selectRuns.set(idempotencyKey, (selectRuns.get(idempotencyKey) ?? 0) + 1);
    const file = process.env.WF_EFFECTS;
    if (file) appendFileSync(file, `${idempotencyKey} ${process.env.ENT_NAME ?? ''}\n`);
    if (gates !== undefined) {
      const gate = join(gates, `${id}.${name}`);
      while (!existsSync(gate)) await new Promise((r) => setTimeout(r, 20));
    }
    return v;
  };
}

/** The input of {@link WfOrder}. */
export interface OrderInput {
  readonly address: string;
  /** How long the order waits for its confirmation, in ms (from its start: address changes do not extend it). */
  readonly ttlMs: number;
  /** Wait for the signal `open` before the first select (what comes meanwhile is kept). */
  readonly gated?: boolean;
  /** A folder of gate files: each step waits for its own (see `counted`). */
  readonly gates?: string;
}

/** What an order ends with. */
export interface OrderOutput {
  readonly status: 'confirmed' | 'expired';
  readonly address: string;
  readonly by?: string;
  /** The branch of each select, in order. */
  readonly path: readonly string[];
}

/**
 * Reserves, then waits for the first of: `confirm` (charges and ends confirmed), `changeAddress`
 * (answers the new address and waits again) or its deadline (releases and ends expired).
 */
export const WfOrder = defineWorkflow(
  'wforder',
  {
    signals: { confirm: schema.object({ by: schema.string() }), open: schema.unknown() },
    updates: {
      changeAddress: defineUpdate({ input: schema.object({ address: schema.string() }), output: schema.string() }),
    },
    queries: { address: schema.string() },
    determinismGuard: 'throw',
  },
  async (ctx, input: OrderInput): Promise<OrderOutput> => {
    let address = input.address;
    const path: string[] = [];
    ctx.onQuery('address', () => address);
    const deadline = ctx.now() + input.ttlMs;
    await ctx.step('reserve', counted(true, input.gates, ctx.id, 'reserve'));
    if (input.gated === true) await ctx.signal('open');
    for (;;) {
      const first = await ctx.select({
        confirm: { signal: 'confirm' },
        address: { update: 'changeAddress' },
        expired: { sleep: { until: deadline } },
      });
      path.push(first.branch);
      switch (first.branch) {
        case 'confirm': {
          const by: string = first.value.by; // typed: the signal's payload
          await ctx.step('charge', counted(true, input.gates, ctx.id, 'charge'));
          return { status: 'confirmed', address, by, path };
        }
        case 'address': {
          const next: string = first.value.input.address; // typed: the update's input
          address = next;
          await ctx.step(`save ${next}`, counted(true, input.gates, ctx.id, 'save'));
          await first.value.reply(address);
          continue;
        }
        case 'expired': {
          const nothing: undefined = first.value;
          void nothing;
          await ctx.step('release', counted(true, input.gates, ctx.id, 'release'));
          return { status: 'expired', address, path };
        }
      }
    }
  },
);

/** A child that ends on its `go` signal (with the signal's value, or failing when it says `fail`). */
export const WfSelectChild = defineWorkflow(
  'wfselchild',
  { signals: { go: schema.string() }, determinismGuard: 'throw' },
  async (ctx, _input: null): Promise<string> => {
    const v = await ctx.signal('go');
    if (v === 'fail') throw Object.assign(new Error('the child was told to fail'), { code: 'ERR_CHILD' });
    return `child: ${v}`;
  },
);

/** Starts a child, then waits for the first of its end or the `stop` signal. */
export const WfSelectParent = defineWorkflow(
  'wfselparent',
  { signals: { stop: schema.string() }, determinismGuard: 'throw' },
  async (ctx, input: { readonly child: string }): Promise<string> => {
    const kid = await ctx.startChild(WfSelectChild, input.child, null);
    try {
      const first = await ctx.select({ done: { child: kid }, stop: { signal: 'stop' } });
      if (first.branch === 'done') {
        const out: string = first.value; // typed: the child's output
        return `done ${out}`;
      }
      await kid.cancel('stopped');
      return `stopped ${first.value}`;
    } catch (err) {
      return `child failed: ${(err as { code?: string; cause?: { code?: string } }).code}/${(err as { cause?: { code?: string } }).cause?.code}`;
    }
  },
);

/** Races a signal wait and an update wait with Promise.race (refused: ERR_WORKFLOW_CONCURRENT_WAIT). */
export const WfRaced = defineWorkflow(
  'wfraced',
  {
    signals: { confirm: schema.unknown() },
    updates: { changeAddress: defineUpdate({ input: schema.string(), output: schema.string() }) },
  },
  async (ctx, _input: null): Promise<string> => {
    await Promise.race([ctx.signal('confirm'), ctx.update('changeAddress')]);
    return 'raced';
  },
);

/**
 * Runs a step, then waits for `go`. With `diverge` set in this process (as a deploy that renamed
 * the step without a patch would), a replay asks for a step the journal does not have; its catch
 * sets an attribute — which a halted replay must not write.
 */
export const selectFlags = { diverge: false };

export const WfHalting = defineWorkflow(
  'wfhalting',
  {
    signals: { go: schema.unknown() },
    attributes: { stage: 'string' },
    determinismGuard: 'throw',
  },
  async (ctx, _input: null): Promise<string> => {
    await ctx.setAttributes({ stage: 'waiting' });
    try {
      await ctx.step(selectFlags.diverge ? 'renamed step' : 'first step', () => 1);
      await ctx.signal('go');
      await ctx.step('after', () => 2);
      await ctx.setAttributes({ stage: 'done' });
      return 'done';
    } catch (err) {
      await ctx.setAttributes({ stage: 'compensating' }).catch(() => undefined);
      throw err;
    }
  },
);

/** Waits for `go` or an hour, a compensation pushed before: a cancel strikes the select, the catch undoes. */
export const WfSelectCancel = defineWorkflow(
  'wfselcancel',
  { signals: { go: schema.unknown() }, queries: { stage: schema.string() }, determinismGuard: 'throw' },
  async (ctx, _input: null): Promise<string> => {
    let stage = 'start';
    ctx.onQuery('stage', () => stage);
    await ctx.step('reserve', () => true, { compensate: () => true });
    try {
      stage = 'waiting';
      const first = await ctx.select({ go: { signal: 'go' }, late: { sleep: 3_600_000 } });
      stage = first.branch;
      return first.branch;
    } catch (err) {
      stage = 'compensating';
      await ctx.runCompensations();
      stage = 'compensated';
      throw err;
    }
  },
);
