// Temporal workflow functions as ergo-ts workflow kinds: `workflowKinds(module, options)` makes one
// kind per exported function (its export name the workflow type, as Temporal's), whose body runs
// the function on its arguments inside an Activation (activation.ts). The kind declares every
// signal, query and update defined in the process (definitions.ts). The input the engine keeps is
// `{ args, memo }`.

import { defineWorkflow, type AnyWorkflowKind, type WorkflowKind } from '@ergo-ts/entities';

import { toStorable } from '../common/converter.js';
import { defaultDataConverter, fromEncoded, toEncoded, type LoadedDataConverter } from '../common/data_converter.js';
import { nextCronTime } from '../client/schedule_spec.js';
import { ErrTemporalIncorrect } from '../common/errors.js';
import {
  Activation,
  ENGINE_CANCEL,
  runIn,
  type Ctx,
  type KeptInput,
  type TemporalInput,
  type WorkerSide,
} from './activation.js';
import type { ActivityTable } from './activation.js';
import { QUERIES, SIGNALS, UPDATES } from './definitions.js';

/** What {@link workflowKinds} takes besides the workflows. */
export interface WorkflowKindsOptions {
  /** The activities `proxyActivities` runs, by name. */
  readonly activities?: ActivityTable;
  /** The task queue `workflowInfo()` reports (and activities on another queue run in that ergo-ts queue). Default 'default'. */
  readonly taskQueue?: string;
  /** The namespace `workflowInfo()` reports. Default 'default'. */
  readonly namespace?: string;
  /**
   * false: the runtime does not run the activities (Temporal's `enableNonLocalActivities: false`):
   * each waits in the ergo-ts queue named by its task queue, which the runtime then must not serve
   * (`workflowQueues.serve`; `Worker.create` does it). Default true.
   */
  readonly runsActivities?: boolean;
  /** The data converter, loaded (`loadDataConverter`): the arguments, results and failures kept as its payloads. */
  readonly dataConverter?: LoadedDataConverter;
}

/** A Temporal workflow's kind: its input is `{ payloads, memo }` (or `{ args, memo }`). */
export type TemporalWorkflowKind = WorkflowKind<KeptInput, unknown, any, any, any, any>;

/**
 * One ergo-ts workflow kind per function of `workflows` (a module's exports: its other values are
 * skipped), to register with `startEntities(node, { kinds })` — `Worker.create` does it for you.
 */
export function workflowKinds(
  workflows: Readonly<Record<string, unknown>>,
  options: WorkflowKindsOptions = {},
): TemporalWorkflowKind[] {
  if (workflows === null || typeof workflows !== 'object')
    throw ErrTemporalIncorrect.with('workflowKinds: workflows is a module or an object of functions');
  const kinds = new Map<string, AnyWorkflowKind>();
  const side: WorkerSide = {
    activities: options.activities ?? {},
    kinds,
    taskQueue: options.taskQueue ?? 'default',
    namespace: options.namespace ?? 'default',
    runsActivities: options.runsActivities !== false,
    converter: options.dataConverter ?? defaultDataConverter,
  };
  for (const [name, fn] of Object.entries(workflows)) {
    if (typeof fn !== 'function') continue;
    const kind = defineWorkflow(
      name,
      { signals: SIGNALS, queries: QUERIES, updates: UPDATES },
      (ctx, input: KeptInput) => drive(ctx as Ctx, side, fn as (...a: unknown[]) => unknown, input),
    );
    kinds.set(name, kind);
  }
  return [...kinds.values()] as TemporalWorkflowKind[];
}

/** The input as the body reads it: `{ payloads, memo }` decoded, `{ args, memo }` as it is (a bare array is taken as the arguments). */
async function inputOf(input: unknown, dc: LoadedDataConverter): Promise<TemporalInput> {
  if (Array.isArray(input)) return { args: input };
  if (input !== null && typeof input === 'object') {
    const { payloads, args, memo, cronSchedule } = input as KeptInput;
    const m = { ...(memo === undefined ? {} : { memo }), ...(cronSchedule === undefined ? {} : { cronSchedule }) };
    if (Array.isArray(payloads)) return { args: await fromEncoded(dc, payloads), ...m };
    if (Array.isArray(args)) return { args, ...m };
  }
  return { args: input === undefined ? [] : [input] };
}

/**
 * Runs one Temporal workflow function as an ergo-ts body; a cron workflow's run (Temporal's
 * `cronSchedule`) first waits durably for the schedule's next time, and once the function
 * returned continues as new on the same input: each run a run of the same workflow id, as on
 * Temporal's server. A run that fails ends the chain (Temporal would start the next one).
 */
async function drive(ctx: Ctx, side: WorkerSide, fn: (...a: unknown[]) => unknown, raw: unknown): Promise<unknown> {
  const cron = (raw as KeptInput | null)?.cronSchedule;
  if (typeof cron !== 'string') return driveRun(ctx, side, fn, raw);
  const now = ctx.now();
  await ctx.sleep(Math.max(0, nextCronTime(cron, now) - now));
  await driveRun(ctx, side, fn, raw);
  return ctx.continueAsNew(raw as KeptInput);
}

/** One run of the workflow function. */
async function driveRun(ctx: Ctx, side: WorkerSide, fn: (...a: unknown[]) => unknown, raw: unknown): Promise<unknown> {
  const dc = side.converter;
  let input: TemporalInput;
  try {
    input = await inputOf(raw, dc);
  } catch (err) {
    throw await toStorable(err, dc); // a payload its converter cannot read: the run fails with why
  }
  let fail!: (err: unknown) => void;
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => undefined); // raced below; never unhandled
  const act = new Activation(ctx, side, input, fail);
  try {
    const run = runIn({ act, handler: false }, async () => fn(...input.args));
    act.wake();
    const out = await Promise.race([run, failed]);
    // The handler that let the body end is still finishing its wait: the run ends after it.
    while (act.idle !== undefined) await act.idle;
    // The result is kept as a payload of the Worker's data converter.
    return (await toEncoded(dc, [out]))[0];
  } catch (err) {
    const engine = ENGINE_CANCEL.get(err as object);
    if (engine !== undefined) throw engine; // the engine's cancel: the instance ends cancelled
    throw await toStorable(err, dc);
  } finally {
    act.done = true;
  }
}
