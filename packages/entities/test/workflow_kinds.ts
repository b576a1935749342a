// The workflow kinds the distributed workflow tests run in their nodes (entity_node.ts): steps
// whose every run is recorded in an effects file (WF_EFFECTS, one line per run: the step's
// idempotency key and the node), so a test sees a step that ran twice; and a sleep between them.

import { appendFileSync } from 'node:fs';

import { schema } from 'ergo-ts';

import { defineWorkflow, type OutboxInfo } from '../src/index.js';

/** The input of {@link WfSteps}. */
export interface StepsInput {
  /** How many steps. */
  readonly steps: number;
  /** A sleep after the first step, in ms (0: none). */
  readonly sleepMs: number;
  /** How long each step's work takes, in ms. */
  readonly stepMs: number;
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs `steps` steps (each recording its run), sleeping `sleepMs` after the first; returns the steps' sum. */
export const WfSteps = defineWorkflow('wfsteps', async (ctx, input: StepsInput) => {
  let sum = 0;
  for (let i = 0; i < input.steps; i++) {
    sum += await ctx.step(`s${i}`, async ({ idempotencyKey }) => {
      const file = process.env.WF_EFFECTS;
      if (file) appendFileSync(file, `${idempotencyKey} ${process.env.ENT_NAME ?? ''}\n`);
      if (input.stepMs > 0) await delay(input.stepMs);
      return i;
    });
    if (i === 0 && input.sleepMs > 0) await ctx.sleep(input.sleepMs);
  }
  return sum;
});

/** The input of {@link WfCan}. */
export interface CanInput {
  /** How many runs in all (each takes one tick). */
  readonly runs: number;
  /** The ticks the runs before took, in order. */
  readonly got: readonly number[];
  /**
   * The run that does not go on on node `holdOn`: its first step does not return until its run
   * ends (`step`), or its outbox message is not delivered there (`outbox`: the run waits in
   * continueAsNew). A fault then lands while it is held.
   */
  readonly holdRun: number;
  readonly holdOn: string;
  readonly holdAt: 'step' | 'outbox';
}

function recordRun(idempotencyKey: string): void {
  const file = process.env.WF_EFFECTS;
  if (file) appendFileSync(file, `${idempotencyKey} ${process.env.ENT_NAME ?? ''}\n`);
}

/**
 * Continue-as-new across faults (entities.workflows.continue_as_new.dist.test.ts): each run runs a
 * step (recorded in the effects file, its key carrying the run's `~c<n>`), takes one `tick` signal,
 * puts out a note (`holdAt: 'outbox'`) and continues as new with it, until `runs` ticks were
 * taken; returns them in order.
 */
export const WfCan = defineWorkflow(
  'wfcan',
  async (ctx, input: CanInput) => {
    const run = input.got.length + 1;
    const held = run === input.holdRun ? input.holdOn : '';
    await ctx.step('s', async ({ idempotencyKey, signal }) => {
      recordRun(idempotencyKey);
      if (input.holdAt === 'step' && held === process.env.ENT_NAME)
        await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)));
      return run;
    });
    const got = [...input.got, await ctx.signal('tick')];
    if (input.holdAt === 'outbox') await ctx.outbox('note', { run, held });
    if (got.length < input.runs) return ctx.continueAsNew({ ...input, got });
    return got;
  },
  {
    signals: { tick: schema.number() },
    outboxes: {
      note: async (m: { run: number; held: string }, { idempotencyKey }: OutboxInfo) => {
        recordRun(idempotencyKey);
        if (m.held === process.env.ENT_NAME) await new Promise(() => undefined); // until the process dies
      },
    },
  },
);

/** The input of {@link WfHold}. */
export interface HoldInput {
  /** The node on which the step never returns (whatever its abort signal says). */
  readonly holdOn: string;
  /** true: the held step heartbeats every 100 ms meanwhile, ignoring the heartbeat's refusals. */
  readonly heartbeat: boolean;
  /**
   * true: the held step also hogs the event loop until the process ends — 20 ms of CPU-bound work
   * in every turn of the loop (a step computing in slices), whatever its abort signal says.
   */
  readonly spin?: boolean;
}

/** Burns the event loop: 20 ms of busy work, then the next slice in the next turn, for ever. */
function hogLoop(): void {
  const until = performance.now() + 20;
  while (performance.now() < until) {
    // CPU-bound work (nothing to yield to inside a slice).
  }
  setImmediate(hogLoop);
}

/**
 * A step that never settles on node `holdOn` and ignores its abort signal (a call to a service that
 * hangs, in code that takes no AbortSignal), elsewhere returns at once; then the workflow returns
 * the node that ran it (entities.stop_bounded*.test.ts: a member stopped while such steps run).
 * Its every run is recorded in the effects file (WF_EFFECTS).
 */
export const WfHold = defineWorkflow('wfhold', async (ctx, input: HoldInput) => {
  return ctx.step(
    'hold',
    async (info) => {
      recordRun(info.idempotencyKey);
      const here = process.env.ENT_NAME ?? '';
      if (here !== input.holdOn) return here;
      if (input.heartbeat)
        setInterval(() => {
          try {
            info.heartbeat({ at: Date.now() });
          } catch {
            // Ignored on purpose: this step ignores every sign that it should stop.
          }
        }, 100).unref(); // the runtime's own handles are what must let the process end
      if (input.spin === true) setImmediate(hogLoop);
      return new Promise<string>(() => undefined);
    },
    { timeoutMs: 3_600_000 },
  );
});
