// Starting and driving workflow instances from any node of the cluster: `entities.workflows`
// (or `new WorkflowClient(entities)`) starts an instance by id and gives a handle to wait for its
// result, signal it, query it, cancel it, describe it, resume it or reset it. Every request is a call to the
// instance's entity, routed to its key's owner like any entity call.

import type { Infer, PID } from 'ergo-ts';

import { QUERY_DEFAULT_WAIT_MS } from './query_bound.js';
import { ErrEntityUnavailable } from '../../contract/errors.js';
import { quoted } from '../../contract/thrown.js';
import type { EntitiesClient } from '../../kinds/entity.js';
import type { EntityAddress } from '../../kinds/entity.js';
import type {
  AnyWorkflowKind,
  UpdateInput,
  UpdateOutput,
  WorkflowInput,
  WorkflowOutput,
  WorkflowQueries,
  WorkflowSignals,
  WorkflowSpec,
  WorkflowUpdates,
} from '../model/define.js';
import {
  ErrWorkflowCancelled,
  ErrWorkflowFailed,
  ErrWorkflowIncorrect,
  ErrWorkflowTimeout,
  ErrWorkflowUnsupported,
  revivedError,
} from '../model/errors.js';
import { checkSignalId, storableSize } from '../model/bounds.js';
import { checkMemo } from '../model/outcome.js';
import { checkTimeouts, ErrWorkflowTimedOut, type WorkflowTimeouts } from '../model/timeouts.js';
import type {
  ResultReply,
  WorkflowDescription,
  WorkflowEndStatus,
  WorkflowProtocol,
  WorkflowRequest,
} from '../model/record.js';
import type { WatchMode } from '../model/record.js';
import { storedDescription, type ListOptions, type WorkflowRuntimeView } from './listing.js';
import {
  askUpdate,
  startUpdate,
  updateHandleOf,
  type StartUpdateOptions,
  type UpdateOptions,
  type UpdateTarget,
  type WorkflowUpdateHandle,
} from './update_request.js';
import { WorkflowBatchClient } from './batch_client.js';
import { askThrough, isStoreUnreachable, isTimeout, STORE_RETRY_MS } from './ride_through.js';
import { checkIdReuse, checkStartSignal, type IdReusePolicy, type StartSignal } from './start_policy.js';
import { checkQueueName } from '../model/define.js';
import { queueView, type WorkflowQueueView } from '../scheduling/queues.js';
import {
  countWorkflows,
  inputRefusal,
  optionsObject,
  searchWorkflows,
  type StatusCounts,
  type WorkflowFilter,
  type WorkflowQuery,
  type WorkflowSearchPage,
} from './search.js';
import { ScheduleClient } from './schedules_client.js';

/** A signal sent with a start (signal-with-start), typed by the kind's signals. */
export type SignalWithStart<K extends AnyWorkflowKind = AnyWorkflowKind> = {
  readonly [N in keyof WorkflowSignals<K> & string]: {
    readonly name: N;
    readonly payload: Infer<WorkflowSignals<K>[N]>;
    /** Its id: a repeat is a duplicate (as `handle.signal`'s). */
    readonly id?: string;
  };
}[keyof WorkflowSignals<K> & string];

/** Options of {@link WorkflowClient.start}. */
export interface StartOptions<K extends AnyWorkflowKind = AnyWorkflowKind> {
  /** How long the start may take to be stored, in ms, its attempts across a store failover included. Default 5000. */
  readonly timeout?: number;
  /**
   * When the id's instance ended: start a new one under it (`'always'`, `'afterFailure'`: failed
   * or cancelled) or not (`'never'`); `'terminateIfRunning'` also terminates a running one and
   * starts anew in the same write. Default: the kind's `idReuse`, else `'never'`.
   */
  readonly idReuse?: IdReusePolicy;
  /**
   * Signal-with-start: the signal is in the write that creates the instance, or goes to the
   * running one (the reply's `signal` says `accepted` or `duplicate`). Refused with
   * ERR_WORKFLOW_CLOSED for an instance that ended and is not started again.
   */
  readonly signal?: SignalWithStart<K>;
  /**
   * Temporal's memo: a plain object kept with the instance, shown by `describe().memo` and
   * `ctx.workflowInfo().memo`, carried across continue-as-new (not searchable: attributes are).
   * Refused with ERR_WORKFLOW_INCORRECT when not a plain object, ERR_ENTITY_UNSTORABLE when no
   * store keeps it, ERR_WORKFLOW_VALUE_TOO_LARGE over the kind's `maxValueBytes`.
   */
  readonly memo?: Readonly<Record<string, unknown>>;
  /**
   * Temporal's `workflowExecutionTimeout`: the whole chain of runs under this id (every
   * continue-as-new of it) ends `timedOut` this long after this start, ms — its body stopped where it
   * was, its running steps aborted, its open children cancelled, `result()` rejecting with
   * ERR_WORKFLOW_TIMED_OUT. Durable: the deadline is the record's start time plus this, fired by the
   * instance's reminder on whichever member owns it then. Default: unbounded. Refused with
   * ERR_WORKFLOW_INCORRECT unless a whole number ≥ 1. Ignored by a start that makes no run.
   */
  readonly executionTimeoutMs?: number;
  /**
   * Temporal's `workflowRunTimeout`: each run (the first, and each one a continue-as-new makes) ends
   * the instance `timedOut` this long after that run started, ms, as {@link executionTimeoutMs} does.
   */
  readonly runTimeoutMs?: number;
}

/** What {@link WorkflowClient.start} resolves to: a handle, and what the start did. */
export type Started<K extends AnyWorkflowKind> = WorkflowHandle<K> & {
  /** True when this call started the instance (a new id, or an ended one used again). */
  readonly created: boolean;
  /** With `idReuse`: how the instance whose id this start used again had ended. */
  readonly reused?: WorkflowEndStatus;
  /**
   * With `signal`: whether the signal was kept (`accepted`) or a repeat of its id (`duplicate`).
   * (Not `signal`: that is the handle's method.)
   */
  readonly signalled?: 'accepted' | 'duplicate';
};

/** Options of {@link WorkflowHandle.query} that send several arguments. */
export interface QueryArgsOptions {
  /** How long to wait for the answer, ms (default 5000). */
  readonly timeout?: number;
  /** The arguments, the query handler called with them in order (`ctx.onQuery(name, (a, b) => …)`). */
  readonly args: readonly unknown[];
}

/** Options of {@link WorkflowHandle.result}. */
export interface ResultOptions {
  /** Give up after this long, in ms: rejects with ERR_WORKFLOW_TIMEOUT (the instance goes on). Default: wait. */
  readonly timeout?: number;
  /** Stops waiting when aborted (the instance goes on). */
  readonly signal?: AbortSignal;
}

/** How long one `result` call waits on the instance before it asks again. */
const RESULT_POLL_MS = 25_000;
/** A request's timeout on top of its own wait. */
const CALL_MARGIN_MS = 5_000;

/** A handle on one workflow instance (any node; a plain object: cheap to make). */
export class WorkflowHandle<K extends AnyWorkflowKind = AnyWorkflowKind> {
  readonly #e: EntitiesClient;
  readonly #to: EntityAddress<typeof WorkflowProtocol>;
  /** The kind's definition when the handle was made from it (its updates checked here). */
  readonly #spec: WorkflowSpec | undefined;

  /** @internal use {@link WorkflowClient.handle}. */
  constructor(
    entities: EntitiesClient,
    workflow: string,
    readonly id: string,
    spec?: WorkflowSpec,
  ) {
    this.#spec = spec;
    this.#e = entities;
    this.#to = Object.freeze({ kind: workflow, key: id });
    this.workflow = workflow;
  }

  /** The workflow's name. */
  readonly workflow: string;

  #ask(request: WorkflowRequest, timeout?: number): Promise<unknown> {
    return this.#e.call(this.#to, request as never, timeout === undefined ? {} : { timeout }) as Promise<unknown>;
  }

  /**
   * Asks the request `make` builds from the caller's `options` (checked: an object or absent), with
   * their `timeout`: an argument that cannot be read (null options, a throwing getter) rejects
   * with ERR_WORKFLOW_INCORRECT, never throws synchronously, and nothing is sent.
   */
  #request<O extends { readonly timeout?: number }>(
    what: string,
    options: O | undefined,
    make: (o: O) => WorkflowRequest,
    through = false,
    changes?: string,
  ): Promise<unknown> {
    let request: WorkflowRequest;
    let timeout: number | undefined;
    try {
      const o = optionsObject(options, what);
      timeout = o.timeout;
      request = make(o);
    } catch (err) {
      return Promise.reject(inputRefusal(`workflow ${this.workflow}/${this.id}: ${what}`, err));
    }
    // `through`: a request safe to ask again rides through a failover (ride_through.ts).
    return through ? askThrough(timeout, (ms) => this.#ask(request, ms), changes) : this.#ask(request, timeout);
  }

  /**
   * Waits for the instance's outcome: its output; rejects with ERR_WORKFLOW_FAILED (its `cause` the
   * body's error, its code kept), ERR_WORKFLOW_CANCELLED, ERR_WORKFLOW_TIMED_OUT (it ran past its
   * execution or run timeout: `details.timeout` says which), or ERR_WORKFLOW_NOT_FOUND for an id never
   * started; ERR_WORKFLOW_TIMEOUT once `timeout` passed, ERR_ENTITY_STOPPED once this client's
   * runtime stopped (`entities.stop()`, `node.stop()`). Survives the instance moving between
   * members and a store unreachable for a while, as in a PostgreSQL failover (it asks again).
   */
  async result(options: ResultOptions = {}): Promise<WorkflowOutput<K>> {
    try {
      options = { ...optionsObject(options, 'result') };
    } catch (err) {
      throw inputRefusal(`workflow ${this.workflow}/${this.id}: result`, err);
    }
    const deadline = options.timeout === undefined ? Infinity : Date.now() + options.timeout;
    for (;;) {
      if (options.signal?.aborted === true)
        throw options.signal.reason instanceof Error ? options.signal.reason : new Error('aborted');
      const left = deadline - Date.now();
      if (left <= 0)
        throw ErrWorkflowTimeout.with(`workflow ${this.workflow}/${this.id}: no result within ${options.timeout} ms`);
      const waitMs = Math.min(RESULT_POLL_MS, left);
      let r: ResultReply;
      try {
        // Not past the deadline: a call's margin is for an answer on its way, not for the caller's wait.
        const callMs = Math.max(1, Math.ceil(Math.min(waitMs + CALL_MARGIN_MS, left)));
        r = (await this.#ask({ '~wf': 'result', waitMs }, callMs)) as ResultReply;
      } catch (err) {
        // The owner died or the key moved while we waited: ask the next owner.
        if (ErrEntityUnavailable.is(err) || isTimeout(err)) continue;
        // The store is unreachable for a while (a failover): ask again shortly, within the deadline.
        if (isStoreUnreachable(err)) {
          await new Promise((r) => setTimeout(r, Math.min(STORE_RETRY_MS, Math.max(0, deadline - Date.now()))));
          continue;
        }
        throw err;
      }
      if (r.status === 'pending') continue;
      if (r.status === 'completed') return r.output as WorkflowOutput<K>;
      if (r.status === 'cancelled')
        throw ErrWorkflowCancelled.with(`workflow ${this.workflow}/${this.id}: ${r.reason}`);
      if (r.status === 'timedOut') {
        const timedOut = ErrWorkflowTimedOut.with(r.error.message);
        (timedOut as { details?: unknown }).details = r.error.details;
        throw timedOut;
      }
      const cause = revivedError(r.error, this.#spec?.failureConverter);
      const err = ErrWorkflowFailed.with(
        `workflow ${this.workflow}/${this.id} failed: ${r.error.code === undefined ? '' : `${r.error.code}: `}${r.error.message}`,
      );
      (err as { cause?: unknown }).cause = cause;
      throw err;
    }
  }

  /**
   * Sends the signal `name` (stored before this resolves; kept until the body consumes it). With
   * an `id`, a repeat of the same id is ignored ('duplicate'), also after the instance ended (a
   * sender retrying after a lost acknowledgement learns it arrived). Rejects with
   * ERR_WORKFLOW_CLOSED when the instance ended (and the id, if any, is not one it kept), ERR_WORKFLOW_INCORRECT for an undeclared signal or a refused payload.
   * A name that is not a string, or a payload whose reading throws (a getter), is refused here
   * with ERR_WORKFLOW_INCORRECT, a payload no store keeps with ERR_ENTITY_UNSTORABLE, before anything is sent.
   * Rides through a store unreachable for a while (a failover) and an owner that moved: asked again
   * every 200 ms within `timeout` (default 5000) with the call's request id, so an attempt that
   * landed is kept once and answered 'accepted' ('duplicate' is for an `id` another call sent).
   * Past the timeout with an attempt that may have been kept (no answer came in time):
   * ERR_WORKFLOW_OUTCOME_UNKNOWN. Send it again with the same `id` (give one whenever you may send
   * again): without one, a signal sent twice is taken twice.
   */
  signal<N extends keyof WorkflowSignals<K> & string>(
    name: N,
    payload: Infer<WorkflowSignals<K>[N]>,
    options: { readonly id?: string; readonly timeout?: number } = {},
  ): Promise<'accepted' | 'duplicate'> {
    // Checked here, before any message: a name that is not a string, or a payload whose reading
    // throws (a getter), would otherwise reach the instance and be refused there at best.
    if (typeof name !== 'string' || name === '')
      return Promise.reject(ErrWorkflowIncorrect.with(`signal: a name is a non-empty string, got ${quoted(name)}`));
    try {
      storableSize(payload, `signal ${name}: the payload`);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    // One request id for the call: its attempts after a failover are kept once (start_request.ts).
    const rid = crypto.randomUUID();
    return this.#request(
      'signal',
      options,
      (o) => {
        const id = checkSignalId(`signal ${name}`, o.id);
        return { '~wf': 'signal', name, payload, ...(id === undefined ? {} : { id }), rid };
      },
      true,
      `workflow ${this.workflow}/${this.id}: signal ${name}`,
    ) as Promise<'accepted' | 'duplicate'>;
  }

  /**
   * Asks the query `name` of the running (or ended: replayed) instance, its handler called with
   * `arg`; or with several arguments in order, given as `options.args` (then `arg` is `undefined`:
   * `query('total', undefined, { args: ['eur', 2] })` calls the handler `(currency, places) => …`).
   * Rejects with ERR_WORKFLOW_INCORRECT for an undeclared query (a name that is not a string, or
   * `args` that is not an array, or both `arg` and `args`: before anything is sent).
   */
  query<N extends keyof WorkflowQueries<K> & string>(
    name: N,
    arg?: unknown,
    options?: { readonly timeout?: number },
  ): Promise<Infer<WorkflowQueries<K>[N]>>;
  query<N extends keyof WorkflowQueries<K> & string>(
    name: N,
    arg: undefined,
    options: QueryArgsOptions,
  ): Promise<Infer<WorkflowQueries<K>[N]>>;
  query<N extends keyof WorkflowQueries<K> & string>(
    name: N,
    arg?: unknown,
    options: { readonly timeout?: number; readonly args?: readonly unknown[] } = {},
  ): Promise<Infer<WorkflowQueries<K>[N]>> {
    if (typeof name !== 'string' || name === '')
      return Promise.reject(ErrWorkflowIncorrect.with(`query: a name is a non-empty string, got ${quoted(name)}`));
    // The caller's wait goes along: a handler that never settles is answered as a timeout naming it.
    return this.#request('query', options, (o) => {
      const args = o.args;
      if (args !== undefined && !Array.isArray(args))
        throw ErrWorkflowIncorrect.with(`query ${name}: args must be an array, got ${quoted(args)}`);
      if (args !== undefined && arg !== undefined)
        throw ErrWorkflowIncorrect.with(`query ${name}: give its argument or its args, not both`);
      return {
        '~wf': 'query',
        name,
        ...(args === undefined ? { arg } : { args: [...(args as readonly unknown[])] }),
        waitMs: typeof o.timeout === 'number' ? o.timeout : QUERY_DEFAULT_WAIT_MS,
      };
    }) as Promise<Infer<WorkflowQueries<K>[N]>>;
  }

  /**
   * Sends the update `name` and waits for the body's answer (docs/workflows.md, "Updates"): its
   * output; ERR_WORKFLOW_UPDATE_FAILED (its `cause` the body's error) when the body failed it.
   * Refused before anything is journaled: ERR_WORKFLOW_UPDATE_REJECTED for an input the update's
   * schema (checked here, from a handle made of the kind, and at the instance) or its `validate`
   * refuses, ERR_WORKFLOW_INCORRECT for an undeclared update, ERR_WORKFLOW_CLOSED for an instance
   * that ended (or that ended before answering it). Idempotent by `updateId` (default: a random
   * UUID, kept across this call's own retries): asked again, an id already accepted is not
   * accepted twice, and an answered one gets the same answer, also after the instance ended. Asks
   * again across a move or a crash of the owner; ERR_WORKFLOW_TIMEOUT once `timeoutMs` passed (the
   * update stays accepted: ask again with its id).
   */
  update<N extends keyof WorkflowUpdates<K> & string>(
    name: N,
    input: UpdateInput<K, N>,
    options: UpdateOptions = {},
  ): Promise<UpdateOutput<K, N>> {
    let o: UpdateOptions;
    try {
      o = { ...optionsObject(options, 'update') };
    } catch (err) {
      return Promise.reject(inputRefusal(`workflow ${this.workflow}/${this.id}: update`, err));
    }
    return askUpdate(this.#updateTarget(), name, input, o) as Promise<UpdateOutput<K, N>>;
  }

  /**
   * Sends the update `name` and returns once it reached `waitForStage` (Temporal's `startUpdate`;
   * default 'ACCEPTED': it passed its checks and is kept in the record, so the body takes and
   * answers it even across a crash) with a handle whose `result()` waits for the answer. Refused
   * as `update` is, before anything is journaled (ERR_WORKFLOW_UPDATE_REJECTED, ERR_WORKFLOW_INCORRECT,
   * ERR_WORKFLOW_CLOSED); idempotent by `updateId`; ERR_WORKFLOW_TIMEOUT when the stage was not
   * reached within `timeoutMs`.
   */
  startUpdate<N extends keyof WorkflowUpdates<K> & string>(
    name: N,
    input: UpdateInput<K, N>,
    options: StartUpdateOptions = {},
  ): Promise<WorkflowUpdateHandle<UpdateOutput<K, N>>> {
    let o: StartUpdateOptions;
    try {
      o = { ...optionsObject(options, 'startUpdate') };
      return startUpdate<UpdateOutput<K, N>>(this.#updateTarget(), name, input, o);
    } catch (err) {
      return Promise.reject(inputRefusal(`workflow ${this.workflow}/${this.id}: startUpdate`, err));
    }
  }

  /**
   * A handle on the update accepted under `updateId` (Temporal's `getUpdateHandle`): nothing is
   * sent; its `result()` waits for the answer, ERR_WORKFLOW_UPDATE_NOT_FOUND for an id the instance
   * never accepted. `name` (optional) types the result and names it in errors.
   */
  getUpdateHandle<N extends keyof WorkflowUpdates<K> & string>(
    updateId: string,
    name?: N,
  ): WorkflowUpdateHandle<UpdateOutput<K, N>> {
    return updateHandleOf<UpdateOutput<K, N>>(this.#updateTarget(), updateId, name);
  }

  #updateTarget(): UpdateTarget {
    return { workflow: this.workflow, id: this.id, spec: this.#spec, ask: (r, t) => this.#ask(r, t) };
  }

  /**
   * Asks the instance to cancel (stored before this resolves): its pending operations throw
   * ERR_WORKFLOW_CANCELLED, its compensations may run, its children are cancelled too.
   * Resolves 'cancelled'; rejects with ERR_WORKFLOW_CLOSED when it had completed or failed.
   */
  cancel(reason = 'cancelled', options: { readonly timeout?: number } = {}): Promise<'cancelled'> {
    return this.#request('cancel', options, () => ({ '~wf': 'cancel', reason })) as Promise<'cancelled'>;
  }

  /** The instance as an operator sees it: status, history, pending timers and signals. */
  describe(options: { readonly timeout?: number } = {}): Promise<WorkflowDescription> {
    return this.#request('describe', options, () => ({ '~wf': 'describe' })) as Promise<WorkflowDescription>;
  }

  /**
   * `pid` (any node) gets a `WorkflowDown` message when the instance completes, fails or is
   * cancelled, as a monitor of a process gets a DOWN; at once when it had ended ('ended'). Kept in
   * the instance's record: it holds across moves and restarts. Undo with {@link unwatch}.
   */
  monitor(pid: PID, options: { readonly timeout?: number } = {}): Promise<'ok' | 'ended'> {
    return this.#watch('watch', pid, 'monitor', options);
  }

  /**
   * Links `pid` to the instance: it gets an exit signal (ERR_WORKFLOW_FAILED or
   * ERR_WORKFLOW_CANCELLED) when the instance fails or is cancelled, as a linked process does when
   * its peer ends abnormally (trap exits to get it as a message); a completion sends nothing.
   */
  link(pid: PID, options: { readonly timeout?: number } = {}): Promise<'ok' | 'ended'> {
    return this.#watch('watch', pid, 'link', options);
  }

  /**
   * `pid` follows the instance's journal live: a `WorkflowJournalUpdate` with the journal so
   * far at once, then one after each save that added or finished entries.
   */
  subscribe(pid: PID, options: { readonly timeout?: number } = {}): Promise<'ok' | 'ended'> {
    return this.#watch('watch', pid, 'journal', options);
  }

  /** Removes `pid`'s monitor, link or subscription (`mode`). */
  unwatch(pid: PID, mode: WatchMode, options: { readonly timeout?: number } = {}): Promise<'ok'> {
    return this.#watch('unwatch', pid, mode, options) as Promise<'ok'>;
  }

  #watch(
    op: 'watch' | 'unwatch',
    pid: PID,
    mode: WatchMode,
    options: { readonly timeout?: number } | undefined,
  ): Promise<'ok' | 'ended'> {
    return this.#request(op, options, () => ({
      '~wf': op,
      pid: { node: String(pid.node), id: pid.id, creation: pid.creation },
      mode,
    })) as Promise<'ok' | 'ended'>;
  }

  /**
   * An operator's resume: a halted (diverged) instance runs again on the current code ('resumed';
   * 'running' when it was not halted), a failed one runs its failed steps again. Rejects with
   * ERR_WORKFLOW_CLOSED for a completed or cancelled instance, and for a failed one whose journal
   * goes on past its failed step (its compensations ran): {@link reset} it instead.
   */
  resume(options: { readonly timeout?: number } = {}): Promise<'resumed' | 'running'> {
    return this.#request('resume', options, () => ({ '~wf': 'resume' })) as Promise<'resumed' | 'running'>;
  }

  /**
   * An operator's reset, as Temporal's: the instance, whatever its status, runs again from
   * operation `toSeq` (a `history` entry's `s`; 0: from the start) on the current code. Its
   * journal keeps the entries before `toSeq` (replayed, not run again); the signals it consumed
   * from there on are kept again, in order, for the body to consume anew; its outcome, halt and
   * cancel are dropped; `describe().resets` lists the reset. Operations from `toSeq` on run again,
   * their effects under new idempotency keys (`~r<n>` after the sequence number, n the resets that
   * cut there): a receiver that de-duplicates by key applies them again. Resolves 'reset'; rejects
   * with ERR_WORKFLOW_INCORRECT for a `toSeq` past the journal's end + 1.
   */
  reset(options: {
    readonly toSeq: number;
    readonly reason?: string;
    /** The reset's id: asked again with it (a retry after a lost answer), it is answered, not done twice. */
    readonly id?: string;
    readonly timeout?: number;
  }): Promise<'reset'> {
    return this.#request('reset', options, ({ toSeq, reason, id }) => ({
      '~wf': 'reset',
      toSeq,
      ...(reason === undefined ? {} : { reason }),
      ...(id === undefined ? {} : { id }),
    })) as Promise<'reset'>;
  }

  /**
   * An operator's terminate, as Temporal's: a running instance ends at once, `cancelled` with the
   * reason `terminated: <reason>`: its body stops where it was, **no compensation runs**, its
   * children get a cancel, its waiters and monitors hear the end. Resolves 'terminated' (also for
   * one cancelled already: a repeat changes nothing); rejects with ERR_WORKFLOW_CLOSED when it had
   * completed or failed. Prefer {@link cancel}, which lets the body clean up.
   */
  terminate(reason = 'by an operator', options: { readonly timeout?: number } = {}): Promise<'terminated'> {
    return this.#request('terminate', options, () => ({ '~wf': 'terminate', reason })) as Promise<'terminated'>;
  }
}

/** Starts workflow instances and hands out handles (see the top of this file). */
export class WorkflowClient {
  readonly #e: EntitiesClient;
  readonly #view: WorkflowRuntimeView | undefined;

  /**
   * `runtime`: the store and kinds of the runtime `entities` is (the runtime's own
   * `entities.workflows` has them): without it, {@link list} and {@link kinds} are not supported.
   */
  constructor(entities: EntitiesClient, runtime?: WorkflowRuntimeView) {
    this.#e = entities;
    this.#view = runtime;
  }

  /**
   * Starts an instance of `kind` with `id` (its idempotency key) and `input`: resolves once it is
   * stored. Starting an id that exists starts nothing and returns its handle (`created` false).
   * Rejects with ERR_WORKFLOW_INCORRECT for an input the kind's schema refuses,
   * ERR_WORKFLOW_VALUE_TOO_LARGE over its `maxValueBytes`, or the runtime's errors (an unknown kind).
   * Rides through a store unreachable for a while (a failover) and an owner that moved: asked again
   * every 200 ms within `timeout` with the call's request id (start_request.ts), so an attempt
   * that landed is answered as it was — the same run, under every `idReuse`; past the timeout, the
   * last error (ERR_ENTITY_STORE_UNAVAILABLE while the store stayed unreachable), or
   * ERR_WORKFLOW_OUTCOME_UNKNOWN when an attempt may have been kept (no answer came in time): start
   * again with the same id (`created: false` then says the first one made it).
   */
  async start<K extends AnyWorkflowKind>(
    kind: K,
    id: string,
    input: WorkflowInput<K>,
    options: StartOptions<K> = {},
  ): Promise<Started<K>> {
    return this.#start(kind, id, input, options, undefined);
  }

  /**
   * @internal A child's start by its parent's run (instance/engine.ts): admitted work, never held
   * for room nor refused as new work — a parent holding its member's room while its child waited
   * for some could hold the room for ever.
   */
  startChild<K extends AnyWorkflowKind>(kind: K, id: string, input: WorkflowInput<K>): Promise<Started<K>> {
    return this.#start(kind, id, input, {}, undefined, false);
  }

  async #start<K extends AnyWorkflowKind>(
    kind: K,
    id: string,
    input: WorkflowInput<K>,
    options: StartOptions<K>,
    update: { readonly name: string; readonly input: unknown; readonly id: string } | undefined,
    shed = true,
  ): Promise<Started<K>> {
    let h: WorkflowHandle<K>;
    let timeout: number | undefined;
    let reuse: IdReusePolicy | undefined;
    let signal: StartSignal | undefined;
    let memo: Readonly<Record<string, unknown>> | undefined;
    let timeouts: WorkflowTimeouts | undefined;
    try {
      h = this.handle(kind, id);
      const o = optionsObject(options, 'start');
      timeout = o.timeout;
      reuse = checkIdReuse(`workflow ${h.workflow}: start`, o.idReuse);
      signal = checkStartSignal(o.signal);
      memo = checkMemo(h.workflow, o.memo, kind.workflow.maxValueBytes);
      timeouts = checkTimeouts(h.workflow, o);
    } catch (err) {
      throw inputRefusal('start', err);
    }
    const to = Object.freeze({ kind: h.workflow, key: id }) as EntityAddress<typeof WorkflowProtocol>;
    const request = {
      '~wf': 'start',
      input,
      ...(reuse === undefined ? {} : { reuse }),
      ...(signal === undefined ? {} : { signal }),
      ...(update === undefined ? {} : { update }),
      ...(memo === undefined ? {} : { memo }),
      ...(timeouts === undefined ? {} : { timeouts }),
      // One request id for the call: asked again after a failover, answered as the first time.
      rid: crypto.randomUUID(),
    };
    const r = (await askThrough(
      timeout,
      // New work: held for room or refused (ERR_ENTITY_OVERLOADED, retryAfterMs) by an overloaded owner.
      (ms) => this.#e.call(to, request as never, { timeout: ms, shed }),
      `workflow ${h.workflow}/${id}: start`,
    )) as {
      created: boolean;
      reused?: Started<K>['reused'];
      signal?: Started<K>['signalled'];
    };
    return Object.assign(h, {
      created: r.created,
      ...(r.reused === undefined ? {} : { reused: r.reused }),
      ...(r.signal === undefined ? {} : { signalled: r.signal }),
    });
  }

  /**
   * Update-with-start: starts instance `id` of `kind` on `input` (as {@link start}, with its
   * options) with update `name` accepted in the same write — or, when it runs already, sends it
   * the update — then waits for the update's answer, as `handle.update` does (its `updateId`,
   * default a random UUID, makes asking again safe). Resolves with the handle, whether it was
   * created, and the answer. Refused before anything is written as a start or an update would be.
   */
  async updateWithStart<K extends AnyWorkflowKind, N extends keyof WorkflowUpdates<K> & string>(
    kind: K,
    id: string,
    input: WorkflowInput<K>,
    update: { readonly name: N; readonly input: UpdateInput<K, N> },
    options: StartOptions<K> & UpdateOptions = {},
  ): Promise<{ readonly handle: WorkflowHandle<K>; readonly created: boolean; readonly output: UpdateOutput<K, N> }> {
    let updateId: unknown;
    let u: { readonly name: N; readonly input: UpdateInput<K, N> };
    try {
      updateId = optionsObject(options, 'updateWithStart').updateId ?? crypto.randomUUID();
      // Read once into a plain object: a null update, or one whose reading throws, is refused here.
      if (typeof update !== 'object' || update === null)
        throw ErrWorkflowIncorrect.with(`updateWithStart: update is { name, input }, got ${quoted(update)}`);
      const { name, input: updateInput } = update;
      if (typeof name !== 'string' || name === '')
        throw ErrWorkflowIncorrect.with(`updateWithStart: update is { name, input }, its name is ${quoted(name)}`);
      u = { name, input: updateInput };
    } catch (err) {
      throw inputRefusal('updateWithStart', err);
    }
    if (typeof updateId !== 'string') throw ErrWorkflowIncorrect.with('updateWithStart: updateId is a string');
    const h = await this.#start(kind, id, input, options, { name: u.name, input: u.input, id: updateId });
    const output = await h.update(u.name, u.input, {
      updateId,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
    return { handle: this.handle(kind, id), created: h.created, output };
  }

  /**
   * Durable schedules that start instances of a kind at cron or interval times
   * (schedules_client.ts; docs/workflows.md, "Schedules"): the members run the
   * `WorkflowSchedules` kind.
   */
  get schedules(): ScheduleClient {
    this.#schedules ??= new ScheduleClient(this.#e, this.#view);
    return this.#schedules;
  }
  #schedules: ScheduleClient | undefined;

  /** A handle on the instance `id` of `kind` (nothing is checked until it is used). */
  handle<K extends AnyWorkflowKind>(kind: K, id: string): WorkflowHandle<K> {
    if (typeof kind !== 'object' || kind === null || typeof kind.name !== 'string')
      throw ErrWorkflowIncorrect.with('handle: not a workflow kind');
    return new WorkflowHandle<K>(this.#e, kind.name, id, kind.workflow);
  }

  /** A handle by the workflow's name (an operator's tools, which do not import the kind). */
  handleOf(workflow: string, id: string): WorkflowHandle {
    return new WorkflowHandle(this.#e, workflow, id);
  }

  /**
   * The instance `id` of `kind` as its record in the store says, read without asking its owner:
   * it answers while no member hosts the kind (every member stopped, a client-only runtime, a
   * runtime stopped since — the store stays the application's), as Temporal's server answers a
   * history read with no worker running. `active` is false and no running attempt is listed (the
   * owner was not asked); timers are read at the wall clock. Rejects with ERR_WORKFLOW_NOT_FOUND
   * for an id never started, ERR_WORKFLOW_UNSUPPORTED when this client was made without its runtime.
   *
   * @example
   * const d = await entities.workflows.describeStored(Order, 'order-42'); // d.history: the journal
   */
  describeStored(kind: AnyWorkflowKind | string, id: string): Promise<WorkflowDescription> {
    const name = typeof kind === 'string' ? kind : (kind as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || typeof id !== 'string')
      return Promise.reject(ErrWorkflowIncorrect.with('describeStored: a kind (or its name) and an id'));
    if (this.#view === undefined)
      return Promise.reject(ErrWorkflowUnsupported.with('describeStored: this client has no runtime'));
    return storedDescription(this.#view, name, id, Date.now());
  }

  /**
   * A page of the instances that match `query`, read from the store's state index (search.ts):
   * by kind, status, start and end time ranges and search attributes (typed by the kind's
   * `attributes` when `kind` is the kind itself), newest first (start time, then kind and id,
   * descending), with the counts per status of the query's filter. Pass `next` as `cursor` for
   * the next page: an instance started after the first page was read does not shift the pages
   * after it. Instances saved before the store had an index are backfilled when the runtime
   * starts (and before the first search). Rejects with ERR_WORKFLOW_INCORRECT for a bad filter
   * (an undeclared attribute, a wrong type, a cursor no listing gave), ERR_WORKFLOW_UNSUPPORTED
   * when the store has no `stateIndex` (a custom store) or this client was made without its runtime.
   *
   * @example
   * const page = await entities.workflows.list({ kind: Order, status: 'failed', attributes: { customer: 'c-7' } });
   * const more = page.next === undefined ? undefined : await entities.workflows.list({ kind: Order, cursor: page.next });
   */
  list<K extends AnyWorkflowKind | string>(query?: WorkflowQuery<K>): Promise<WorkflowSearchPage>;
  /** The same for one kind: `list({ kind, status, limit, cursor })`. */
  list(kind: AnyWorkflowKind | string, options?: ListOptions): Promise<WorkflowSearchPage>;
  list(a: unknown = {}, options: ListOptions = {}): Promise<WorkflowSearchPage> {
    // Read here, synchronously: a throw (a Proxy's trap, a getter) is a coded rejection, not a throw.
    let query: WorkflowQuery;
    try {
      if (
        typeof a === 'string' ||
        (typeof a === 'object' && a !== null && typeof (a as { name?: unknown }).name === 'string')
      ) {
        if (typeof options !== 'object' || options === null)
          throw ErrWorkflowIncorrect.with('list: options must be an object');
        const cursor = options.cursor ?? options.after;
        query = {
          kind: a as AnyWorkflowKind | string,
          ...(options.status === undefined ? {} : { status: options.status }),
          ...(options.limit === undefined ? {} : { limit: options.limit }),
          ...(cursor === undefined ? {} : { cursor }),
        };
      } else query = a as WorkflowQuery;
    } catch (err) {
      return Promise.reject(inputRefusal('list', err));
    }
    return searchWorkflows(this.#view, query);
  }

  /**
   * How many instances match `filter` (as {@link list}'s, without status or paging), per status
   * and in all. Rejects as {@link list} does.
   */
  count<K extends AnyWorkflowKind | string>(filter: WorkflowFilter<K> = {}): Promise<StatusCounts> {
    return countWorkflows(this.#view, filter as WorkflowFilter); // async: a bad filter rejects
  }

  /**
   * Batch operations (batch_client.ts): cancel, terminate, signal, resume or reset every instance
   * a query matches, with a dry-run count and progress; run by the `WorkflowBatches` kind, which
   * the members must host.
   */
  get batch(): WorkflowBatchClient {
    return (this.#batch ??= new WorkflowBatchClient(this.#e, this.#view, (w, id) => this.handleOf(w, id)));
  }

  #batch: WorkflowBatchClient | undefined;

  /** @internal the store and kinds of its runtime (retention.ts reads them). */
  runtimeView(): WorkflowRuntimeView | undefined {
    return this.#view;
  }

  /** The names of the workflow kinds this runtime hosts, sorted (ERR_WORKFLOW_UNSUPPORTED without its runtime). */
  kinds(): string[] {
    if (this.#view === undefined) throw ErrWorkflowUnsupported.with('kinds: this client has no runtime');
    return this.#view
      .kinds()
      .filter((k) => typeof (k as { workflow?: unknown }).workflow === 'object')
      .map((k) => k.name)
      .sort();
  }

  /**
   * Queue `name` as this member sees it (queues.ts): its limits, whether this member serves it,
   * how many of its attempts run here, and the attempts waiting here for a slot, in order.
   */
  queue(name: string): WorkflowQueueView {
    return queueView(this.#e, checkQueueName('queue', name) ?? name);
  }
}
