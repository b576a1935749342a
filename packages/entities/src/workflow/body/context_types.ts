// The types a workflow's body sees: its context (steps, sleeps, signals, queries, children,
// durable sends, deterministic values, patches, compensations) and the options of each.

import type { AnyProtocol, Infer, Log, MessageOf, ReplyOf, RequestOf } from 'ergo-ts';

import type { EntitiesClient } from '../../kinds/entity.js';
import type { CancellationScope } from './scopes.js';
import type { EntityAddress } from '../../kinds/entity.js';
import type { AttributeSchemas, SetAttributesArg } from '../model/attributes.js';
import type {
  AnyWorkflowKind,
  OutboxMessages,
  QuerySchemas,
  RetryPolicy,
  SignalSchemas,
  UpdateSchemas,
  WorkflowInput,
  WorkflowOutput,
  WorkflowSignals,
} from '../model/define.js';
import type { UpdateOf } from '../model/define.js';

/** What a step's function is given. */
export interface StepInfo {
  /**
   * `<workflow>/<id>/<seq>[~c<n>][~r<m>]/<kind>:<name>` (docs/workflows.md, "Steps and
   * idempotency keys"): the same on every attempt of this operation (a retry, a replay after a
   * crash before its result was journaled), never the same for two operations (another run of a
   * continued instance adds `~c<n>`, a reset `~r<m>`). Pass it to the outside world so a repeat is
   * recognised there (a payment API's idempotency key, a mail's message id).
   */
  readonly idempotencyKey: string;
  /**
   * This attempt's number, from 1. Failed attempts are journaled, so the count goes on where it
   * was after a move or a crash during a retry's backoff.
   */
  readonly attempt: number;
  /**
   * Aborted when the attempt's timeout passes or the instance moves, and when the instance is
   * cancelled (a compensation's is not aborted by a cancel). On a cancel, a step that stops early
   * decides by what it returns or throws (see {@link StepOptions.cancellation}).
   */
  readonly signal: AbortSignal;
  /**
   * Reports that the attempt is alive, with optional progress `details` (Temporal's activity
   * heartbeat). With the step's `heartbeatTimeoutMs`, an attempt that does not heartbeat that long
   * fails with ERR_WORKFLOW_TIMEOUT and is retried (a hung call is found in seconds, not at the
   * step's whole timeout). The details reach the next attempt (`heartbeatDetails`), after a crash
   * too once written (a failed attempt writes them; a running one at most every few seconds), and
   * show in `describe().running`. Throws the abort's reason once `signal` is aborted (a cancel, a
   * timeout): a loop that heartbeats stops there.
   */
  heartbeat(details?: unknown): void;
  /** The details of the last heartbeat of an earlier attempt of this step (undefined: none). */
  readonly heartbeatDetails: unknown;
}

/** Options of one step. */
export interface StepOptions<T> {
  /** Its retry policy (default the workflow's); `false`: one attempt. */
  readonly retry?: RetryPolicy | false;
  /** How long one attempt may take, in ms (then it fails with ERR_WORKFLOW_TIMEOUT, and is retried). */
  readonly timeoutMs?: number;
  /**
   * How long an attempt may go without `info.heartbeat()`, in ms (from its start, then from each
   * heartbeat): then it fails with ERR_WORKFLOW_TIMEOUT and is retried. Default: none.
   */
  readonly heartbeatTimeoutMs?: number;
  /**
   * How long an attempt may wait to start, in ms (Temporal's schedule-to-start): for a slot of its
   * queue, or — an activity — for a live member that serves its queue. Then the step fails for good
   * (ERR_WORKFLOW_STEP_FAILED, its `cause` an ERR_WORKFLOW_TIMEOUT saying so; not retried). Counted
   * from when the attempt was due, in this activation. `timeoutMs` starts only once it runs. Default: wait.
   */
  readonly scheduleToStartTimeoutMs?: number;
  /**
   * A compensation, pushed on the saga's stack once the step succeeded (see `runCompensations`):
   * a function, or `{ run, timeoutMs, retry }` to bound it as a step is bounded. It runs as a step
   * of its own: `info.idempotencyKey` is the compensation's key (not the step's), the same on
   * every run of it.
   */
  readonly compensate?: ((result: T, info: StepInfo) => unknown) | StepCompensation<T>;
  /**
   * What a cancel does to an attempt of this step that is running (Temporal's cancellation types).
   * `'wait'` (default): its `signal` is aborted and the body waits for the attempt to settle (at
   * most its `timeoutMs`, when it has one). A returned value is journaled as the step's result and
   * its compensation pushed; an attempt that threw (or timed out) is journaled failed, with no
   * retry. Either way the step then throws ERR_WORKFLOW_CANCELLED. `'abandon'`: the step is
   * journaled failed with ERR_WORKFLOW_CANCELLED at once and throws it; the attempt's `signal` is
   * aborted, and what it later returns or throws is ignored, so its compensation is never pushed:
   * an effect it still makes is not undone by `runCompensations()`.
   */
  readonly cancellation?: 'wait' | 'abandon';
  /**
   * The queue its attempts run in (default: its workflow's `queue`, else the default queue): each
   * attempt takes a slot of it first, and runs only on a member that serves it (queues.ts).
   */
  readonly queue?: string;
  /** Its priority in that queue (default: its workflow's, else 0): lower runs first. */
  readonly priority?: number;
}

/**
 * Options of a compensation (`ctx.compensate`'s third argument, a step's `compensate: { run, ... }`):
 * those of a step. Without them a compensation has the workflow's retry policy and no timeout, so
 * a hung one holds its instance until it settles: give one that calls the outside world a
 * `timeoutMs` (its attempt's `signal` is aborted then, and it is retried per `retry`).
 */
export interface CompensationOptions {
  /** Its retry policy (default the workflow's); `false`: one attempt. */
  readonly retry?: RetryPolicy | false;
  /** How long one attempt may take, in ms (then it fails with ERR_WORKFLOW_TIMEOUT, and is retried). */
  readonly timeoutMs?: number;
  /** How long an attempt may go without `info.heartbeat()`, in ms (as a step's `heartbeatTimeoutMs`). */
  readonly heartbeatTimeoutMs?: number;
}

/** A step's compensation with its options (see {@link StepOptions.compensate}). */
export interface StepCompensation<T> extends CompensationOptions {
  /** Undoes the step, given its result. */
  readonly run: (result: T, info: StepInfo) => unknown;
}

/** Options of `ctx.onUpdate`. */
export interface UpdateHandlerOptions<In> {
  /**
   * Runs before the update is accepted when the body is live and has this handler — throwing
   * refuses it with ERR_WORKFLOW_UPDATE_REJECTED, nothing kept — and again when the update is
   * handed to the handler (refused then, it is answered failed, its cause that refusal). It sees
   * the body's state; it must not change it, and is synchronous.
   */
  readonly validate?: (input: In) => void;
}

/**
 * What `ctx.workflowInfo()` tells about the run (Temporal's `workflowInfo()`): the same on every
 * replay of the run, so a body may branch on it.
 */
export interface WorkflowInfo {
  /** The workflow's kind (Temporal's `workflowType`). */
  readonly workflowType: string;
  /** The instance's id. */
  readonly workflowId: string;
  /** This run's id (undefined for a first run started before run ids existed). */
  readonly runId: string | undefined;
  /** This run's number: 1, one more for each continue-as-new. */
  readonly run: number;
  /** The id of the run this one continued from (`ctx.continueAsNew`), undefined for a first run. */
  readonly continuedFromRunId: string | undefined;
  /** When this run started, epoch ms (undefined: not known). */
  readonly runStartedAt: number | undefined;
  /**
   * Temporal's workflow attempt: always 1 — a failed run is not started again by a retry policy
   * here (steps retry; an operator's `resume` goes on in the same run).
   */
  readonly attempt: number;
  /** The memo its start gave (`start(kind, id, input, { memo })`), kept across continue-as-new. */
  readonly memo?: Readonly<Record<string, unknown>>;
  /** Its start's `executionTimeoutMs` and `runTimeoutMs` (absent: unbounded). */
  readonly executionTimeoutMs?: number;
  readonly runTimeoutMs?: number;
}

/** A child workflow started by `ctx.startChild`. */
export interface ChildHandle<O, Sg extends SignalSchemas = SignalSchemas> {
  /** The child's workflow id. */
  readonly id: string;
  /** Waits for the child's outcome (journaled in the parent: a replay does not wait again). */
  result(): Promise<O>;
  /**
   * Signals the child (Temporal's `ChildWorkflowHandle.signal`): a step of the parent, journaled
   * once the child kept it; its signal id comes from the step's idempotency key, so the child keeps
   * it once however often a crash makes the parent send it. ERR_WORKFLOW_STEP_FAILED (its cause
   * ERR_WORKFLOW_CLOSED) when the child ended.
   */
  signal<N extends keyof Sg & string>(name: N, payload: Infer<Sg[N]>): Promise<void>;
  /** Asks the child to cancel (journaled as a step of the parent). */
  cancel(reason?: string): Promise<void>;
}

/**
 * A workflow's context: every operation on it is journaled, so a body run again after a crash,
 * a move or a passivation replays what already happened instead of doing it again. Operations are
 * numbered in the order the body asks for them: the body must ask for the same operations in the
 * same order on every run (no `Date.now()`, `Math.random()` or reads of outside state outside a
 * step: use `ctx.now()`, `ctx.random()`, and steps). A replay that asks for something else fails
 * with ERR_WORKFLOW_DIVERGED naming the operation, and the instance halts until resumed.
 */
export interface WorkflowContext<
  Sg extends SignalSchemas = {},
  Q extends QuerySchemas = {},
  Om extends OutboxMessages = {},
  U extends UpdateSchemas = {},
  At extends AttributeSchemas = {},
  I = unknown,
> {
  /** The workflow's name. */
  readonly workflow: string;
  /** This instance's id. */
  readonly id: string;
  /** The entities runtime of the node running the body: use it inside steps. */
  readonly entities: EntitiesClient;
  /** The host process's logger (replays log again: guard with `ctx.replaying` if it matters). */
  readonly log: Log;
  /** True while the body replays operations its journal already holds. */
  readonly replaying: boolean;
  /** True once a cancel was asked: operations then throw ERR_WORKFLOW_CANCELLED (compensations still run). */
  readonly cancelled: boolean;
  /** The run's kind, id, run id and number and the run it continued from (not journaled: fixed for the run). */
  workflowInfo(): WorkflowInfo;

  /**
   * Runs `fn` and journals its result before the body goes on; a replay returns the journaled
   * result without running it. An attempt that throws is retried (the policy), unless its error
   * is `terminalError(...)`; a step that fails for good journals its error and throws
   * ERR_WORKFLOW_STEP_FAILED (its `cause` the last error). `fn` may run more than once before its
   * result is journaled (a crash in between): give the outside world `info.idempotencyKey`.
   */
  step<T>(name: string, fn: (info: StepInfo) => T | Promise<T>, options?: StepOptions<T>): Promise<T>;
  /**
   * Runs activity `name` of this workflow's kind (its `activities` option) on `input`, journaled as
   * a step (retries, timeouts, idempotency key): here when this member serves its queue (the
   * step's `queue`, else the kind's), else on a live member that does (docs/workflows.md, "Queues").
   * Rejects with ERR_WORKFLOW_INCORRECT for an activity the kind does not declare.
   */
  activity<T = unknown>(name: string, input: unknown, options?: StepOptions<T>): Promise<T>;
  /** Sleeps durably (a reminder): `ms` from now, or until a time. Fires late after a cluster outage, never early. */
  sleep(duration: number | { readonly until: Date | number }): Promise<void>;
  /**
   * Waits for the signal `name` (sent by `handle.signal` from any node, before or after this wait:
   * signals are kept until consumed, in order). With `timeoutMs`, throws ERR_WORKFLOW_TIMEOUT when
   * none came in time.
   */
  signal<N extends keyof Sg & string>(name: N, options?: { readonly timeoutMs?: number }): Promise<Infer<Sg[N]>>;
  /**
   * Takes the next update `name` — or of any of `names`, its `name` telling which (Temporal's
   * Update; docs/workflows.md, "Updates"): the oldest one accepted and not taken yet, or the next
   * to come, as an operation (journaled: a replay takes the
   * same one). Answer it with `update.reply(output)` or `update.fail(error)`; its caller waits for
   * that answer. With `timeoutMs`, throws ERR_WORKFLOW_TIMEOUT when none came in time.
   */
  update<N extends keyof U & string>(
    name: N | readonly N[],
    options?: { readonly timeoutMs?: number },
  ): Promise<UpdateOf<U, N>>;
  /**
   * Waits for the first of several things, as ONE operation: a signal (`{ signal: name }`), an
   * update (`{ update: name | names }`), a child's end (`{ child: handle }` from `ctx.startChild`),
   * or a sleep (`{ sleep: ms | { until } }`, one at most). Resolves with `{ branch, value }` — the
   * signal's payload, the taken update (answer it with `reply`/`fail`), the child's output, or
   * undefined for the sleep; a child that failed throws ERR_WORKFLOW_STEP_FAILED (its `cause` the
   * child's error), as `handle.result()` does. The journal records which branch won, so a replay
   * returns the same one whatever came later; the losers take nothing (a signal or update that
   * comes later is kept for the next wait). When several are ready at once, the first branch in
   * the order written wins. Use it instead of `Promise.race` over `ctx` waits, which is refused
   * (ERR_WORKFLOW_CONCURRENT_WAIT). A cancel throws ERR_WORKFLOW_CANCELLED, as any wait.
   *
   * ```ts
   * const first = await ctx.select({
   *   confirm: { signal: 'confirm' },
   *   address: { update: 'changeAddress' },
   *   expired: { sleep: 24 * 3_600_000 },
   * });
   * switch (first.branch) { case 'confirm': ...; case 'address': await first.value.reply(...); ... }
   * ```
   */
  select<const B extends SelectBranches<Sg, U>>(branches: B): Promise<SelectResult<Sg, U, B>>;
  /**
   * Registers the handler of signal `name` (Temporal's `setHandler`): each signal of that name is
   * handed to it, oldest first, while the body waits in `ctx.condition` or
   * `ctx.allHandlersFinished` — not during other operations (docs/workflows.md, "Handlers and
   * conditions"). Signals kept before it was registered are handed to it at the next such wait.
   * A wait hands one message at a time, each handler run to its end before the next or the body
   * goes on; a handler may run steps, activities and children, and wait (`ctx.sleep`,
   * `ctx.condition`, `ctx.allHandlersFinished`; one wait at a time) — its own condition hands the
   * next messages to their handlers, nested. A wait the body asks while a handler runs is refused
   * (ERR_WORKFLOW_CONCURRENT_WAIT). One that throws
   * ends the wait it ran in with that error (an instance whose body does not catch it fails).
   * Registering the same name again replaces the handler. `ctx.signal`, `ctx.select` then refuse
   * the name (ERR_WORKFLOW_INCORRECT).
   */
  onSignal<N extends keyof Sg & string>(name: N, handler: (payload: Infer<Sg[N]>) => void | Promise<void>): void;
  /**
   * Registers the handler of update `name`: each update of that name is handed to it as signals
   * are (see `ctx.onSignal`); what it returns (or resolves to) answers the caller, checked by the
   * update's output schema; what it throws fails the update (`handle.update` rejects with
   * ERR_WORKFLOW_UPDATE_FAILED), never the body. `options.validate` refuses an update before it is
   * accepted (ERR_WORKFLOW_UPDATE_REJECTED, nothing journaled) while the body is live. `ctx.update`
   * and `ctx.select` then refuse the name.
   */
  onUpdate<N extends keyof U & string>(
    name: N,
    handler: (input: Infer<U[N]['input']>) => Infer<U[N]['output']> | Promise<Infer<U[N]['output']>>,
    options?: UpdateHandlerOptions<Infer<U[N]['input']>>,
  ): void;
  /**
   * Waits until `fn()` is true (Temporal's `condition`): true at once when it already is (no
   * operation); else one journaled operation during which the handlers run, `fn` checked after
   * each; resolves true once it holds, false when `timeoutMs` passed first (a durable deadline, as
   * a sleep's). `fn` reads the body's state only (it runs again on a replay). Throws what a signal
   * handler or `fn` threw, and ERR_WORKFLOW_CANCELLED on a cancel.
   */
  condition(fn: () => boolean, timeoutMs?: number): Promise<boolean>;
  /**
   * Waits until every kept signal and update that has a handler was handed to it and handled (one
   * journaled operation; Temporal's `condition(allHandlersFinished)`). Await it before returning
   * when the handlers' work must be done: a body that ends with messages kept for its handlers
   * leaves them unhandled (a warning is logged; their updates' callers get ERR_WORKFLOW_CLOSED).
   */
  allHandlersFinished(): Promise<void>;
  /**
   * A new cancellation scope inside the current one (Temporal's `new CancellationScope()`):
   * operations asked while `scope.run(fn)` runs belong to it, and `scope.cancel(reason)` cancels
   * them alone — its waits throw ERR_WORKFLOW_CANCELLED (journaled), its running steps have their
   * `signal` aborted and are waited for (or ended, `cancellation: 'abandon'`), and what it asks
   * afterwards throws ERR_WORKFLOW_CANCELLED. The run's cancel reaches it too. Race a step against
   * a timer, cancel the loser:
   *
   * ```ts
   * const scope = ctx.cancellationScope();
   * const charge = scope.run(() => ctx.step('charge', chargeCard));
   * await ctx.sleep(30_000); // or a signal, a condition...
   * scope.cancel('too slow');
   * await charge.catch(() => undefined); // ERR_WORKFLOW_CANCELLED once the attempt settled
   * ```
   */
  cancellationScope(): CancellationScope;
  /**
   * Runs `fn` where no cancel from outside reaches (Temporal's `CancellationScope.nonCancellable`):
   * cleanup after the run was cancelled, or an operation that must finish. A cancellable scope made
   * inside it can still be cancelled by its own `cancel`.
   */
  nonCancellable<T>(fn: () => Promise<T> | T): Promise<T>;
  /**
   * Runs `fn` in a new cancellable scope that is cancelled once `timeoutMs` passed (Temporal's
   * `CancellationScope.withTimeout`): a durable timer, journaled, that holds across a restart. Its
   * operations then throw ERR_WORKFLOW_CANCELLED ("... timed out after N ms"); settles as `fn` does.
   */
  withTimeout<T>(timeoutMs: number, fn: () => Promise<T> | T): Promise<T>;
  /**
   * Answers the query `name` (read-only: it sees the body's variables; it must not change them).
   * The handler gets the query's argument (`handle.query(name, arg)`), or its several arguments in
   * order (`handle.query(name, undefined, { args: [a, b] })`: `(a, b) => …`).
   */
  onQuery<N extends keyof Q & string>(name: N, handler: (arg: unknown, ...more: unknown[]) => Infer<Q[N]>): void;
  /** The time, journaled (the same on a replay). */
  now(): number;
  /** A random number in [0, 1), journaled. */
  random(): number;
  /** A random UUID, journaled. */
  uuid(): string;
  /**
   * Versioning: true when this run of the body took the code path added under the patch `id`, false
   * when the instance had already passed this point on older code (its journal has no marker here).
   * Keep the old path until no instance started before the patch runs (docs/workflows.md).
   */
  patched(id: string): boolean;
  /** Starts a child workflow (idempotent by its id) and journals it. Cancelling this instance cancels it. */
  startChild<K extends AnyWorkflowKind>(
    kind: K,
    id: string,
    input: WorkflowInput<K>,
  ): Promise<ChildHandle<WorkflowOutput<K>, WorkflowSignals<K>>>;
  /** Starts a child workflow and waits for its outcome. */
  child<K extends AnyWorkflowKind>(kind: K, id: string, input: WorkflowInput<K>): Promise<WorkflowOutput<K>>;
  /**
   * Sends `message` durably to an entity, exactly once: its id is the operation's idempotency key,
   * so a repeat after a crash is recognised by the entity's inbox.
   */
  send<P extends AnyProtocol>(to: EntityAddress<P>, message: MessageOf<P>): Promise<void>;
  /** Calls an entity as a step (its reply journaled; the call itself at least once). */
  call<P extends AnyProtocol, const R extends RequestOf<P>>(
    to: EntityAddress<P>,
    request: R,
    options?: StepOptions<ReplyOf<P, R>> & { readonly name?: string; readonly timeout?: number },
  ): Promise<ReplyOf<P, R>>;
  /**
   * A transactional outbox: journals `message` for the kind's outbox handler `name`, then delivers
   * it in the background (retried with backoff until the handler resolves), with the operation's
   * idempotency key — the same on every redelivery, so a receiver that de-duplicates by it applies
   * it once. Resolves once the message is journaled; the instance does not end before every
   * message it put in the outbox was delivered. After a crash the next owner delivers what was
   * journaled and not confirmed.
   */
  outbox<N extends keyof Om & string>(name: N, message: Om[N]): Promise<void>;
  /**
   * Pushes a compensation on the saga's stack (replay-safe: the stack is rebuilt by the replay). It
   * runs as a step named `compensate:<name>`, with that step's {@link StepInfo} (its own idempotency
   * key) and `options` (a step's `retry` and `timeoutMs`). Throws ERR_WORKFLOW_INCORRECT for a
   * missing name or function, or options a step would refuse.
   */
  compensate(name: string, fn: (info: StepInfo) => unknown, options?: CompensationOptions): void;
  /**
   * Runs the stack's compensations, newest first, each as a step named `compensate:<name>` with its
   * options (by default the workflow's retry policy, no timeout), after a cancel too; empties it.
   * While one runs, `describe()` shows it among the instance's `running` operations. One that fails for good does not stop
   * the older ones: they all run, then it throws ERR_WORKFLOW_COMPENSATION_FAILED naming those that
   * failed (an instance whose body throws it ends `failed`, even when it was cancelled).
   */
  runCompensations(): Promise<void>;
  /**
   * Continue-as-new (Temporal's): ends this run and starts the instance's next one, under the same
   * id, on `input` (the workflow's input type) and an empty journal; never returns. One write does
   * it, so a crash leaves either this run (replayed to this call again) or the next. The run must
   * have nothing in flight: a step, sleep or signal wait not awaited, or a child not waited for,
   * refuses it with ERR_WORKFLOW_CONTINUE_PENDING; its outbox messages are
   * delivered first. Signals not consumed yet go to the next run, in order; watchers stay; a
   * `result()` waits for the last run's outcome. Throws ERR_WORKFLOW_CANCELLED once a cancel came,
   * ERR_WORKFLOW_INCORRECT (or ERR_WORKFLOW_VALUE_TOO_LARGE) for an input the kind refuses. A
   * refusal is journaled (a replay is refused alike); the body may catch it and go on in this run.
   * Compensations pushed in this run do not carry over: run them first if they must. Await it
   * (`return ctx.continueAsNew(...)`): a second call while one is under way is refused with
   * ERR_WORKFLOW_INCORRECT, and a body that returns meanwhile ends as the call does (the next run,
   * or failed with its refusal).
   */
  continueAsNew(input: I): Promise<never>;
  /**
   * Sets some of the instance's search attributes (declared in `defineWorkflow`'s `attributes`;
   * others keep their values): saved with its record and its index row, found by
   * `entities.workflows.list({ attributes })`. Not journaled: a replay sets them again and writes
   * nothing when they are unchanged. Rejects with ERR_WORKFLOW_INCORRECT for an undeclared name or
   * a wrong type (a compile error when typed).
   */
  setAttributes(values: SetAttributesArg<At>): Promise<void>;
}

/** A workflow's body: runs again from the top on each resume, its finished operations replayed from the journal. */
export type WorkflowBody<
  I,
  O,
  Sg extends SignalSchemas,
  Q extends QuerySchemas,
  Om extends OutboxMessages = {},
  U extends UpdateSchemas = {},
  At extends AttributeSchemas = {},
> = (ctx: WorkflowContext<Sg, Q, Om, U, At, I>, input: I) => Promise<O>;

// ---- ctx.select's branches and result (select.ts runs it) ----

/** A branch of `ctx.select`: what it waits for. */
export type SelectBranch<Sg extends SignalSchemas = SignalSchemas, U extends UpdateSchemas = UpdateSchemas> =
  | { readonly signal: keyof Sg & string }
  | { readonly update: (keyof U & string) | readonly (keyof U & string)[] }
  | { readonly sleep: number | { readonly until: Date | number } }
  | { readonly child: ChildHandle<unknown> };

/** The branches of a `ctx.select`, by the names the body gives them. */
export type SelectBranches<Sg extends SignalSchemas = SignalSchemas, U extends UpdateSchemas = UpdateSchemas> = {
  readonly [branch: string]: SelectBranch<Sg, U>;
};

type Names<N> = N extends readonly (infer E)[] ? E : N;

/** What one branch resolves to: the signal's payload, the taken update, the child's output, nothing for a sleep. */
export type SelectValue<Sg extends SignalSchemas, U extends UpdateSchemas, B> = B extends {
  readonly signal: infer N extends keyof Sg;
}
  ? Infer<Sg[N]>
  : B extends { readonly update: infer N }
    ? UpdateOf<U, Names<N> & keyof U & string>
    : B extends { readonly child: ChildHandle<infer O> }
      ? O
      : undefined;

/**
 * What `ctx.select(branches)` resolves to: `{ branch, value }` for the branch that won, a union
 * by `branch` (a `switch` on it narrows `value`).
 */
export type SelectResult<Sg extends SignalSchemas, U extends UpdateSchemas, B extends SelectBranches<Sg, U>> = {
  readonly [K in keyof B & string]: { readonly branch: K; readonly value: SelectValue<Sg, U, B[K]> };
}[keyof B & string];
