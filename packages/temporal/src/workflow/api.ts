// Temporal's module-level workflow functions on the calling workflow's engine context (found by
// activation.ts): timers and conditions, info, deterministic values, patches, continue-as-new,
// children and external handles.

import { ErrWorkflowStepFailed, WorkflowClient } from '@ergo-ts/entities';

import { fromStored } from '../common/converter.js';
import { fromEncoded, toEncoded } from '../common/data_converter.js';
import { isPayload } from '../common/payload_converter.js';
import { msToNumber, type Duration } from '../common/duration.js';
import { ErrTemporalIncorrect, ErrTemporalUnsupported } from '../common/errors.js';
import { ChildWorkflowFailure, RetryState } from '../common/failures.js';
import { frameOf, op, type Activation } from './activation.js';
import { argsOf, type SignalDefinition } from './definitions.js';

/** Temporal's `WorkflowInfo`: the fields the engine has (docs/temporal-compat.md). */
export interface WorkflowInfo {
  readonly workflowId: string;
  readonly runId: string;
  readonly workflowType: string;
  readonly taskQueue: string;
  readonly namespace: string;
  readonly firstExecutionRunId: string;
  readonly continuedFromExecutionRunId?: string;
  /** Always 1: the engine retries steps, never a whole run. */
  readonly attempt: number;
  readonly memo?: Readonly<Record<string, unknown>>;
  /** The start's `workflowExecutionTimeout` and `workflowRunTimeout`, ms (absent: none). */
  readonly executionTimeoutMs?: number;
  readonly runTimeoutMs?: number;
  readonly searchAttributes: Readonly<Record<string, unknown>>;
  /** The start's `cronSchedule`, for a cron workflow's runs. */
  readonly cronSchedule?: string;
  readonly startTime: Date;
  readonly runStartTime: Date;
  readonly unsafe: { readonly isReplaying: boolean; readonly now: () => number };
}

/** The calling workflow's info (Temporal's `workflowInfo()`). */
export function workflowInfo(): WorkflowInfo {
  const act = frameOf('workflowInfo()').act;
  const i = act.ctx.workflowInfo();
  const started = new Date(i.runStartedAt ?? 0);
  return {
    workflowId: i.workflowId,
    runId: i.runId ?? '',
    workflowType: i.workflowType,
    taskQueue: act.worker.taskQueue,
    namespace: act.worker.namespace,
    firstExecutionRunId: i.runId ?? '',
    ...(i.continuedFromRunId === undefined ? {} : { continuedFromExecutionRunId: i.continuedFromRunId }),
    attempt: 1,
    ...(act.input.memo === undefined ? {} : { memo: act.input.memo }),
    ...(act.input.cronSchedule === undefined ? {} : { cronSchedule: act.input.cronSchedule }),
    ...(i.executionTimeoutMs === undefined ? {} : { executionTimeoutMs: i.executionTimeoutMs }),
    ...(i.runTimeoutMs === undefined ? {} : { runTimeoutMs: i.runTimeoutMs }),
    searchAttributes: {},
    startTime: started,
    runStartTime: started,
    unsafe: { isReplaying: act.ctx.replaying, now: () => Date.now() },
  };
}

/**
 * Sleeps durably (Temporal's `sleep`). Handlers run during it, as in Temporal: with a signal or
 * update handler registered it is a `ctx.condition(() => false, ms)`, else a `ctx.sleep(ms)`.
 * Inside a handler too: the messages that come meanwhile are handed to their handlers there.
 */
export function sleep(ms: Duration): Promise<void> {
  const wait = msToNumber(ms, 'sleep');
  frameOf('sleep'); // outside a workflow: thrown at once, as Temporal's
  return op('sleep', async (act) => {
    if (act.handlers > 0) await act.ctx.condition(() => false, wait);
    else await act.ctx.sleep(wait);
  });
}

/**
 * Whether no signal or update handler of the calling workflow runs now (Temporal's
 * `allHandlersFinished`), for `await condition(allHandlersFinished)` before the body returns. The
 * body resumes only once the handlers a wait of it ran ended, so its code reads true there; messages
 * still kept when the body returns are not handled (the engine warns, as Temporal does).
 */
export function allHandlersFinished(): boolean {
  return frameOf('allHandlersFinished').act.handling === 0;
}

/** Waits until `fn()` is true (Temporal's `condition`). */
export function condition(fn: () => boolean): Promise<void>;
/** Waits until `fn()` is true or `timeout` passed: true, or false on the timeout. */
export function condition(fn: () => boolean, timeout: Duration): Promise<boolean>;
export function condition(fn: () => boolean, timeout?: Duration): Promise<void | boolean> {
  if (typeof fn !== 'function') throw ErrTemporalIncorrect.with('condition: fn must be a function');
  const ms = timeout === undefined ? undefined : msToNumber(timeout, 'condition timeout');
  frameOf('condition'); // outside a workflow: thrown at once, as Temporal's
  return op('condition', async (act) => {
    const ok = await act.ctx.condition(fn, ms);
    return ms === undefined ? undefined : ok;
  });
}

/** A random UUID, journaled (Temporal's `uuid4`). */
export function uuid4(): string {
  return frameOf('uuid4()').act.ctx.uuid();
}

/** Whether this run takes the code path of patch `id` (Temporal's `patched`). */
export function patched(id: string): boolean {
  return frameOf('patched()').act.ctx.patched(id);
}

/** Marks patch `id` as deprecated (Temporal's `deprecatePatch`): the marker is kept, the old path gone. */
export function deprecatePatch(id: string): void {
  frameOf('deprecatePatch()').act.ctx.patched(id);
}

/** Options of `continueAsNew` beyond the arguments (Temporal's `ContinueAsNewOptions`, the memo only). */
export interface ContinueAsNewOptions {
  memo?: Record<string, unknown>;
}

/** Ends this run and starts the next one on `args` (Temporal's `continueAsNew`); the memo carries over. */
export function continueAsNew<F extends (...args: any[]) => any>(...args: Parameters<F>): Promise<never> {
  return op('continueAsNew', async (act) =>
    act.ctx.continueAsNew({ payloads: await toEncoded(act.worker.converter, args), ...memoOf(act) }),
  );
}

/** A `continueAsNew` with options (Temporal's `makeContinueAsNewFunc`). */
export function makeContinueAsNewFunc<F extends (...args: any[]) => any>(
  options: ContinueAsNewOptions = {},
): (...args: Parameters<F>) => Promise<never> {
  return (...args) =>
    op('continueAsNew', async (act) =>
      act.ctx.continueAsNew({
        payloads: await toEncoded(act.worker.converter, args),
        ...(options.memo === undefined ? memoOf(act) : { memo: options.memo }),
      }),
    );
}

function memoOf(act: Activation): { memo?: Readonly<Record<string, unknown>> } {
  return act.input.memo === undefined ? {} : { memo: act.input.memo };
}

/** Options of a child (Temporal's `ChildWorkflowOptions`, those that apply). */
export interface ChildWorkflowOptions {
  args?: unknown[];
  workflowId?: string;
  taskQueue?: string;
  memo?: Record<string, unknown>;
}

/** A started child (Temporal's `ChildWorkflowHandle`). */
export interface ChildWorkflowHandle<R = unknown> {
  readonly workflowId: string;
  readonly firstExecutionRunId: string;
  /** The child's result; a failed child rejects with a ChildWorkflowFailure. */
  result(): Promise<R>;
  /** Signals the child (a step of the parent, its idempotency key the signal's id). */
  signal<Args extends any[]>(def: SignalDefinition<Args> | string, ...args: Args): Promise<void>;
}

type WorkflowRef = string | ((...args: any[]) => any);

function typeName(w: WorkflowRef): string {
  const name = typeof w === 'function' ? w.name : w;
  if (typeof name !== 'string' || name === '')
    throw ErrTemporalIncorrect.with('a workflow is a named function or a name');
  return name;
}

/** Starts a child workflow (Temporal's `startChild`). */
export async function startChild<R = unknown>(
  workflow: WorkflowRef,
  options: ChildWorkflowOptions = {},
): Promise<ChildWorkflowHandle<R>> {
  const name = typeName(workflow);
  const act = frameOf('startChild').act;
  const kind = act.worker.kinds.get(name);
  if (kind === undefined) throw ErrTemporalIncorrect.with(`startChild: no workflow ${name} on this Worker`);
  const dc = act.worker.converter;
  let workflowId = options.workflowId ?? '';
  const h = await op('startChild', async (a) => {
    // Drawn inside the operation: after the driver's idle wait, as a replay draws it.
    if (workflowId === '') workflowId = `${a.ctx.id}-${a.ctx.uuid()}`;
    const payloads = await toEncoded(dc, options.args ?? []);
    const input = { payloads, ...(options.memo === undefined ? {} : { memo: options.memo }) };
    return a.ctx.startChild(kind, workflowId, input);
  });
  return {
    workflowId,
    firstExecutionRunId: '',
    result: () =>
      op('child result', async () => {
        try {
          const out = await h.result();
          return (isPayload(out) ? (await fromEncoded(dc, [out]))[0] : out) as R;
        } catch (err) {
          if (!ErrWorkflowStepFailed.is(err)) throw err;
          throw new ChildWorkflowFailure(
            act.worker.namespace,
            { workflowId },
            name,
            RetryState.NON_RETRYABLE_FAILURE,
            await fromStored((err as Error).cause, dc),
          );
        }
      }),
    signal: (def, ...args) => signalStep(def, args, name, workflowId),
  };
}

/** Starts a child workflow and waits for its result (Temporal's `executeChild`). */
export async function executeChild<R = unknown>(workflow: WorkflowRef, options: ChildWorkflowOptions = {}): Promise<R> {
  const h = await startChild<R>(workflow, options);
  return h.result();
}

function signalStep(
  def: SignalDefinition<any> | string,
  args: unknown[],
  kind: string | undefined,
  id: string,
): Promise<void> {
  const name = typeof def === 'string' ? def : def.name;
  return op(`signal ${name}`, (act) =>
    act.ctx.step(`signal:${name}`, async (info) => {
      const client = new WorkflowClient(act.ctx.entities);
      for (const k of kind === undefined ? [...act.worker.kinds.keys()] : [kind]) {
        try {
          await client.handleOf(k, id).signal(name, argsOf(args), { id: info.idempotencyKey });
          return;
        } catch (err) {
          if ((err as { code?: unknown }).code !== 'ERR_WORKFLOW_NOT_FOUND' || kind !== undefined) throw err;
        }
      }
      throw ErrTemporalIncorrect.with(`signal ${name}: no workflow ${id} of this Worker's workflows`);
    }),
  ).then(() => undefined);
}

/** A handle on another workflow by its id (Temporal's `ExternalWorkflowHandle`): signal it. */
export interface ExternalWorkflowHandle {
  readonly workflowId: string;
  readonly runId?: string;
  signal<Args extends any[]>(def: SignalDefinition<Args> | string, ...args: Args): Promise<void>;
  /** Refused (ERR_TEMPORAL_UNSUPPORTED): a workflow cancels another through a step with a client. */
  cancel(): Promise<void>;
}

/** A handle on the workflow `workflowId` of this Worker's workflows (Temporal's `getExternalWorkflowHandle`). */
export function getExternalWorkflowHandle(workflowId: string, runId?: string): ExternalWorkflowHandle {
  return {
    workflowId,
    ...(runId === undefined ? {} : { runId }),
    signal: (def, ...args) => signalStep(def, args, undefined, workflowId),
    cancel: () =>
      Promise.reject(ErrTemporalUnsupported.with('ExternalWorkflowHandle.cancel: cancel from a step with a Client')),
  };
}

/** The workflow logger (Temporal's `log`): the host's logger; a replay does not log again. */
export const log = {
  debug: (message: string, attrs?: Record<string, unknown>): void => write('debug', message, attrs),
  info: (message: string, attrs?: Record<string, unknown>): void => write('info', message, attrs),
  warn: (message: string, attrs?: Record<string, unknown>): void => write('warning', message, attrs),
  error: (message: string, attrs?: Record<string, unknown>): void => write('error', message, attrs),
};

function write(level: 'debug' | 'info' | 'warning' | 'error', message: string, attrs?: Record<string, unknown>): void {
  const act = frameOf('log').act;
  if (act.ctx.replaying) return;
  if (attrs === undefined) act.ctx.log[level]('%s', message);
  else act.ctx.log[level]('%s %O', message, attrs);
}
