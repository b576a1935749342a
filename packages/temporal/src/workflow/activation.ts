// The implicit context of Temporal's workflow API. `sleep`, `condition`, `setHandler`, the
// functions `proxyActivities` gives... are module-level in Temporal: each finds the workflow that
// calls it through the sandbox it runs in. Here a workflow body runs in the Worker's process beside
// others, so each run is an Activation found through an AsyncLocalStorage: the driver (driver.ts)
// runs the body inside it, and Node carries it into every continuation of the body's awaits and
// into the callbacks it registers, so two instances interleaving never see each other's. The
// engine's own context objects are passed to the body rather than found, and it exposes no
// current-context lookup; its determinism guard keeps a storage of its own for another purpose.
// Signal, update and query handlers are entered here again when the engine calls them (its call
// does not come through the body's continuation), marked as handlers: their operations do not wait
// for the driver's idle wait, which is what runs them.

import { AsyncLocalStorage } from 'node:async_hooks';

import { ErrWorkflowCancelled, type AnyWorkflowKind, type WorkflowContext } from '@ergo-ts/entities';

import { ErrTemporalOutsideWorkflow } from '../common/errors.js';
import { CancelledFailure } from '../common/failures.js';
import type { LoadedDataConverter } from '../common/data_converter.js';
import type { Payload } from '../common/payload_converter.js';

/** A workflow's input as its body reads it: Temporal's arguments and memo. */
export interface TemporalInput {
  readonly args: readonly unknown[];
  readonly memo?: Readonly<Record<string, unknown>>;
  /** A cron workflow's schedule (the start's `cronSchedule`, as written). */
  readonly cronSchedule?: string;
}

/**
 * A workflow's input as the engine keeps it: the arguments as payloads of the data converter
 * (`args`, values as they are, is what a schedule's runs and records of before have) and the memo.
 */
export interface KeptInput {
  readonly payloads?: readonly Payload[];
  readonly args?: readonly unknown[];
  readonly memo?: Readonly<Record<string, unknown>>;
  /** A cron workflow's schedule: each run waits for its next time, then continues as new (driver.ts). */
  readonly cronSchedule?: string;
}

/** A Worker's activities: functions by name. */
export type ActivityTable = Readonly<Record<string, (...args: any[]) => unknown>>;

/** What a Worker gives every run it hosts. */
export interface WorkerSide {
  readonly activities: ActivityTable;
  /** The Worker's workflow kinds by name (children are started from it). */
  readonly kinds: ReadonlyMap<string, AnyWorkflowKind>;
  readonly taskQueue: string;
  readonly namespace: string;
  /** false: activities wait in their task queue's ergo-ts queue, which this runtime does not serve. */
  readonly runsActivities: boolean;
  /** The Worker's data converter, loaded. */
  readonly converter: LoadedDataConverter;
}

/** The engine's context as the package drives it (its type parameters are open: names come at run time). */
export type Ctx = WorkflowContext<any, any, any, any, any, KeptInput>;

/** One run of a Temporal workflow function on the engine. */
export class Activation {
  /** Operations asked and not settled (steps, waits, children). */
  inFlight = 0;
  /** The driver's wait during which handlers run, when the body waits on something else. */
  idle: Promise<void> | undefined;
  /** Signal and update handlers that ended (a handler's end is what the idle wait waits for). */
  handlersRan = 0;
  /** Signal and update handlers registered. */
  handlers = 0;
  /** Signal and update handlers running now (started, not ended). */
  handling = 0;
  /** The body returned or threw. */
  done = false;
  #scheduled = false;
  /** Runs a function in the driver's own context: the idle wait belongs to no cancellation scope of the body's. */
  readonly #outside = AsyncLocalStorage.snapshot();
  readonly #fail: (err: unknown) => void;

  constructor(
    readonly ctx: Ctx,
    readonly worker: WorkerSide,
    readonly input: TemporalInput,
    fail: (err: unknown) => void,
  ) {
    this.#fail = fail;
  }

  /**
   * Called when the run may have stopped on something the engine does not see (a promise a handler
   * resolves): checked after the body's pending microtasks ran (setImmediate), so an operation the
   * body asks next is seen first. With nothing in flight and a handler registered, the driver waits
   * in `ctx.condition` until one handler ended, then `ctx.allHandlersFinished()` for the messages
   * kept meanwhile — journaled waits, so a replay takes them at the same point, and the handlers run
   * in them as they would in the body's own condition.
   */
  wake(): void {
    if (this.#scheduled || this.done) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.done || this.inFlight > 0 || this.idle !== undefined || this.handlers === 0) return;
      const seen = this.handlersRan;
      // The messages kept meanwhile are drained in the same wait, so a query sees them handled.
      this.idle = this.#outside(async () => {
        await this.ctx.condition(() => this.handlersRan > seen);
        await this.ctx.allHandlersFinished();
      })
        .then(
          () => undefined,
          (err: unknown) => this.#fail(err),
        )
        .finally(() => {
          this.idle = undefined;
          this.wake();
        });
    });
  }
}

/** Where a call runs: its activation, and whether inside a handler. */
export interface Frame {
  readonly act: Activation;
  readonly handler: boolean;
}

const storage = new AsyncLocalStorage<Frame>();

/** Runs `fn` in `frame` (the body, or a handler). */
export function runIn<T>(frame: Frame, fn: () => T): T {
  return storage.run(frame, fn);
}

/** The calling workflow's frame; throws ERR_TEMPORAL_OUTSIDE_WORKFLOW outside one. */
export function frameOf(what: string): Frame {
  const f = storage.getStore();
  if (f === undefined) throw ErrTemporalOutsideWorkflow.with(`${what} outside a workflow`);
  return f;
}

/** Whether code runs inside a workflow. */
export function inWorkflow(): boolean {
  return storage.getStore() !== undefined;
}

/** An engine cancel as Temporal's CancelledFailure, the engine's error kept to end the run as cancelled. */
export function temporalError(err: unknown): unknown {
  if (ErrWorkflowCancelled.is(err)) {
    const f = new CancelledFailure((err as Error).message);
    ENGINE_CANCEL.set(f, err as Error);
    return f;
  }
  return err;
}

/** CancelledFailures made from the engine's cancel, and that cancel. */
export const ENGINE_CANCEL = new WeakMap<object, Error>();

/**
 * Runs `f` once the driver's idle wait is over (at once in a handler: the idle wait runs it), in
 * the caller's async context as it was when it asked — its cancellation scope above all: the
 * continuation of an await on the idle wait (made in the driver's own context) was seen running
 * in the outermost scope, so an operation asked in a scope escaped that scope's cancel (a
 * `withTimeout` whose timer fired never struck its `condition`: the run hung).
 */
export async function afterIdle<T>(frame: Frame, f: () => T): Promise<Awaited<T>> {
  const caller = AsyncLocalStorage.snapshot();
  if (!frame.handler) while (frame.act.idle !== undefined) await frame.act.idle;
  return await caller(f);
}

/**
 * Runs the engine operation `f` for the calling workflow: after the driver's idle wait (outside a
 * handler), counted in flight, its cancel as a CancelledFailure.
 */
export async function op<T>(what: string, f: (act: Activation) => Promise<T>): Promise<T> {
  const frame = frameOf(what);
  const act = frame.act;
  return afterIdle(frame, () => counted(act, f));
}

/** `f` counted in flight (the idle wait starts only with none), its cancel as a CancelledFailure. */
async function counted<T>(act: Activation, f: (act: Activation) => Promise<T>): Promise<T> {
  act.inFlight++;
  try {
    return await f(act);
  } catch (err) {
    throw temporalError(err);
  } finally {
    act.inFlight--;
    if (act.inFlight === 0) act.wake();
  }
}
