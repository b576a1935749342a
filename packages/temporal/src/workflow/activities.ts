// `proxyActivities`: each activity call is an ergo-ts step (`ctx.step`) that runs the Worker's
// activity function inside its activity Context, journaled, retried by Temporal's retry policy
// (Temporal's defaults: no attempt limit, 1 s, ×2). `scheduleToCloseTimeout` is bounded here: its
// deadline is taken once with `ctx.now()` (journaled), each attempt gets what is left of it, and an
// attempt after it fails at once, not retried.

import {
  ErrWorkflowCancelled,
  ErrWorkflowStepFailed,
  terminalError,
  type StepInfo,
  type StepOptions,
} from '@ergo-ts/entities';

import { Context, runInActivity, type Info } from '../activity/context.js';
import { fromStored, toStorable } from '../common/converter.js';
import { fromEncoded, toEncoded, type LoadedDataConverter } from '../common/data_converter.js';
import { isPayload, type Payload } from '../common/payload_converter.js';
import { ErrTemporalIncorrect } from '../common/errors.js';
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  RetryState,
  TimeoutFailure,
  TimeoutType,
} from '../common/failures.js';
import { ActivityCancellationType, retryOf, timeoutsOf, type ActivityOptions } from '../common/options.js';
import { ENGINE_CANCEL, op, temporalError, type Activation } from './activation.js';

/** What a step of an activity journals: its input and its result, as the data converter encoded them. */
export interface ActivityRecord {
  readonly '~activity': 1;
  readonly input: Payload[];
  readonly result: Payload;
}

/** `v` (a step's journaled value) as an activity's record, or undefined when it is not one. */
export function activityRecord(v: unknown): ActivityRecord | undefined {
  if (v === null || typeof v !== 'object' || (v as ActivityRecord)['~activity'] !== 1) return undefined;
  const r = v as ActivityRecord;
  return Array.isArray(r.input) && r.input.every(isPayload) && isPayload(r.result) ? r : undefined;
}

/** The activity functions `proxyActivities<A>` gives: each returns a Promise of its result. */
export type ActivityInterfaceFor<A> = {
  [K in keyof A]: A[K] extends (...args: infer P) => infer R ? (...args: P) => Promise<Awaited<R>> : never;
};

/**
 * Temporal's `proxyActivities(options)`: an object whose function `name(...args)` runs the
 * Worker's activity `name` as a step. Checked at once: one of startToCloseTimeout and
 * scheduleToCloseTimeout is required (ERR_TEMPORAL_INCORRECT).
 */
export function proxyActivities<A = Record<string, (...args: any[]) => any>>(
  options: ActivityOptions,
): ActivityInterfaceFor<A> {
  if (options === null || typeof options !== 'object')
    throw ErrTemporalIncorrect.with('proxyActivities: options must be an object');
  timeoutsOf(options);
  retryOf(options.retry);
  return new Proxy({} as ActivityInterfaceFor<A>, {
    get(_, name) {
      if (typeof name !== 'string') return undefined;
      return (...args: unknown[]) => callActivity(name, args, options);
    },
  });
}

/** Runs activity `name` on `args` as a step of the calling workflow. */
export function callActivity(name: string, args: unknown[], options: ActivityOptions): Promise<unknown> {
  return op(`activity ${name}`, async (act) => {
    const { startToCloseMs, scheduleToCloseMs, scheduleToStartMs, heartbeatMs } = timeoutsOf(options);
    const deadline = scheduleToCloseMs === undefined ? undefined : act.ctx.now() + scheduleToCloseMs;
    const retry = retryOf(options.retry);
    const startBound = scheduleToStartMs ?? scheduleToCloseMs;
    const queue = options.taskQueue ?? act.worker.taskQueue;
    const step: StepOptions<unknown> = {
      retry,
      ...(startToCloseMs === undefined ? {} : { timeoutMs: startToCloseMs }),
      ...(heartbeatMs === undefined ? {} : { heartbeatTimeoutMs: heartbeatMs }),
      // The engine's schedule-to-start bound: past it the step fails for good, not retried. Unset,
      // it is the schedule-to-close timeout, as Temporal's server sets it.
      ...(startBound === undefined ? {} : { scheduleToStartTimeoutMs: startBound }),
      cancellation:
        options.cancellationType === ActivityCancellationType.WAIT_CANCELLATION_COMPLETED ? 'wait' : 'abandon',
      // Its task queue's ergo-ts queue: named when it is another one, or when this Worker runs no
      // activity (the queue it does not serve).
      ...(queue === act.worker.taskQueue && act.worker.runsActivities ? {} : { queue }),
    };
    const dc = act.worker.converter;
    let kept: unknown;
    try {
      kept = await act.ctx.step(name, (info) => attempt(act, name, args, options, info, deadline), step);
    } catch (err) {
      if (ErrWorkflowCancelled.is(err)) throw cancelledActivity(name, err as Error);
      if (!ErrWorkflowStepFailed.is(err)) throw err;
      throw await activityFailure(name, err as Error, retry.maxAttempts, dc);
    }
    const rec = activityRecord(kept);
    return rec === undefined ? kept : (await fromEncoded(dc, [rec.result]))[0];
  });
}

/**
 * An activity its scope (or the run) cancelled: Temporal's ActivityFailure ← CancelledFailure; the
 * engine's cancel kept so a body that rethrows it ends as cancelled.
 */
function cancelledActivity(name: string, err: Error): ActivityFailure {
  const f = new ActivityFailure(
    'Activity task cancelled',
    name,
    undefined,
    RetryState.CANCEL_REQUESTED,
    undefined,
    temporalError(err) as Error,
  );
  ENGINE_CANCEL.set(f, err);
  return f;
}

async function activityFailure(
  name: string,
  err: Error,
  maxAttempts: number,
  dc: LoadedDataConverter,
): Promise<ActivityFailure> {
  const c = err.cause as { code?: unknown; message?: unknown } | undefined;
  // The engine's schedule-to-start failure (an attempt that never started): Temporal's timeout type.
  const cause =
    c?.code === 'ERR_WORKFLOW_TIMEOUT' &&
    typeof c.message === 'string' &&
    c.message.includes('scheduleToStartTimeoutMs')
      ? new TimeoutFailure(c.message, undefined, TimeoutType.SCHEDULE_TO_START)
      : await fromStored(err.cause, dc);
  const state =
    cause instanceof CancelledFailure
      ? RetryState.CANCEL_REQUESTED
      : cause instanceof TimeoutFailure
        ? RetryState.TIMEOUT
        : cause instanceof ApplicationFailure && cause.nonRetryable === true
          ? RetryState.NON_RETRYABLE_FAILURE
          : maxAttempts === Infinity
            ? RetryState.RETRY_POLICY_NOT_SET
            : RetryState.MAXIMUM_ATTEMPTS_REACHED;
  return new ActivityFailure('Activity task failed', name, undefined, state, undefined, cause);
}

/**
 * One attempt: the arguments encoded as payloads and decoded again (what the activity gets is what
 * the journal keeps), the activity function in its Context, bounded by the schedule-to-close
 * deadline; its input and result journaled as payloads.
 */
async function attempt(
  act: Activation,
  name: string,
  args: unknown[],
  options: ActivityOptions,
  step: StepInfo,
  deadline: number | undefined,
): Promise<ActivityRecord> {
  const dc = act.worker.converter;
  const fn = act.worker.activities[name];
  if (typeof fn !== 'function')
    throw terminalError(
      (await toStorable(
        ApplicationFailure.nonRetryable(`Activity function ${name} is not registered on this Worker`, 'NotFoundError'),
        dc,
      )) as Error,
    );
  const left = deadline === undefined ? Infinity : deadline - Date.now();
  if (left <= 0) throw terminalError((await toStorable(scheduleToClose(), dc)) as Error);
  const input = await toEncoded(dc, args);
  const values = await fromEncoded(dc, input);
  const info: Info = {
    activityId: options.activityId ?? step.idempotencyKey,
    activityType: name,
    attempt: step.attempt,
    heartbeatDetails: step.heartbeatDetails,
    workflowExecution: { workflowId: act.ctx.id, runId: act.ctx.workflowInfo().runId ?? '' },
    workflowType: act.ctx.workflow,
    workflowNamespace: act.worker.namespace,
    activityNamespace: act.worker.namespace,
    taskQueue: options.taskQueue ?? act.worker.taskQueue,
    isLocal: false,
    startToCloseTimeoutMs: timeoutsOf(options).startToCloseMs ?? left,
    scheduleToCloseTimeoutMs: timeoutsOf(options).scheduleToCloseMs ?? 0,
    heartbeatTimeoutMs: timeoutsOf(options).heartbeatMs,
    currentAttemptScheduledTimestampMs: Date.now(),
  };
  // The deadline aborts the attempt's context too, so an activity that honours it stops.
  const local = new AbortController();
  const context = new Context(info, step, AbortSignal.any([step.signal, local.signal]), act.ctx.log);
  const run = Promise.resolve().then(() => runInActivity(context, () => fn(...values)));
  let timer: NodeJS.Timeout | undefined;
  let late: TimeoutFailure | undefined;
  try {
    const bounded =
      left === Infinity
        ? run
        : Promise.race([
            run,
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => {
                // Rejected before the abort reaches the activity, so this wins the race.
                late = scheduleToClose();
                reject(late);
                local.abort(late);
              }, left);
            }),
          ]);
    const result = (await toEncoded(dc, [await bounded]))[0]!;
    return { '~activity': 1, input, result };
  } catch (err) {
    if (err === late) throw terminalError((await toStorable(late, dc)) as Error); // past the deadline: not retried
    throw await storableActivityError(err, options, dc);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    run.catch(() => undefined); // an attempt left behind by the deadline settles unobserved
  }
}

function scheduleToClose(): TimeoutFailure {
  return new TimeoutFailure('activity ScheduleToClose timeout', undefined, TimeoutType.SCHEDULE_TO_CLOSE);
}

/** What an activity threw, as the journal keeps it; not retried when Temporal would not retry it. */
async function storableActivityError(
  err: unknown,
  options: ActivityOptions,
  dc: LoadedDataConverter,
): Promise<unknown> {
  if (err instanceof Error && (err as { code?: unknown }).code !== undefined && !(err instanceof ApplicationFailure))
    return err; // the engine's own (a timeout, a cancel): as it is
  const type = err instanceof ApplicationFailure ? err.type : err instanceof Error ? err.name : undefined;
  const stop =
    (err instanceof ApplicationFailure && err.nonRetryable === true) ||
    (type != null && (options.retry?.nonRetryableErrorTypes ?? []).includes(type));
  const out = await toStorable(err, dc);
  return stop && out instanceof Error ? terminalError(out) : out;
}
