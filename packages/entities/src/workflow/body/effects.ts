// A run's side effects (context.ts lends them its internals through EffectOps): a step's
// attempts, each raced against its timeout, the run's end and (abandoned) a cancel; its retries,
// journaled as a retry entry so a resumed run goes on counting and waits what is left of the
// backoff; the cancel a step that settled after it throws. Steps serve ctx.step and ctx.call, a
// child's start, result and cancel, ctx.send and compensations (each with a step's options, checked
// where it is pushed). An outbox message (ctx.outbox) is
// journaled as an operation, then delivered to the workflow's handler beside the body, again after
// a backoff while it throws, until it resolves; its delivery is journaled then. A run resumed
// elsewhere delivers what its journal holds undelivered; deliveries stop when the run ends or its
// activation hands off, and the body's end and a continue-as-new wait for those in flight.

import type { AnyProtocol, MessageOf, ReplyOf, RequestOf } from 'ergo-ts';

import { ErrEntityUnstorable } from '../../contract/errors.js';
import type { EntityAddress } from '../../kinds/entity.js';
import { describeThrown, thrownError } from '../../contract/thrown.js';
import { isUndelivered } from '../../contract/undelivered.js';
import { checkStepTimeout, readChecked } from '../model/bounds.js';
import type { CompensationOptions, StepCompensation, StepInfo, StepOptions } from './context_types.js';
import { backoffMs, checkPriority, checkQueueName, retryPolicy, type OutboxInfo } from '../model/define.js';
import {
  ErrWorkflowActivityNotDelivered,
  ErrWorkflowCallNotDelivered,
  ErrWorkflowCancelled,
  ErrWorkflowIncorrect,
  ErrWorkflowTimeout,
  ErrWorkflowValueTooLarge,
  isTerminal,
  notStarted,
  revivedError,
  storedError,
  type StoredError,
} from '../model/errors.js';
import type { JournalOp, WorkflowRunningOperation } from '../model/record.js';
import { callOnce } from './in_flight.js';
import { waitForSlot } from '../scheduling/queues.js';
import type { ActivityRoute } from './activities.js';
import { figuresOf } from '../model/metrics.js';
import {
  RunEnded,
  stepFailed,
  type OnCancel,
  type RunHost,
  type RunOps,
  type RunningAttempt,
} from '../model/run_host.js';
import { engineRetryMs, isEngineFailure } from '../model/engine_failure.js';
import { stepPermit } from './step_permits.js';
import type { RunShare } from './run_load.js';
import { markersSaved } from './drawn.js';

/**
 * @internal What a run (context.ts) lends its effects beyond {@link RunOps}: its state, the
 * attempts and deliveries running. Built once with the run; every member reads the run as it is
 * at the call.
 */
export interface EffectOps extends RunOps {
  /** The run: the owner of its calls in flight (in_flight.ts). */
  readonly run: object;
  /** A read-only replay (a query of an ended instance): an operation past the journal ends it. */
  readonly readOnly: boolean;
  /** Set once the run ended, or once its activation hands off. */
  ended(): RunEnded | undefined;
  holding(): RunEnded | undefined;
  /** True while compensations run (their steps go on after a cancel); whether a cancel was asked. */
  compensating(): boolean;
  cancelled(): boolean;
  /** A read-only replay asked past its journal: ends the run and returns its end. */
  endOfJournal(): RunEnded;
  /** Operation `seq`'s idempotency key, and that key among the calls in flight on this node. */
  key(seq: number, t: JournalOp, name: string): string;
  onThisNode(key: string): string;
  /** Throws ERR_WORKFLOW_VALUE_TOO_LARGE when `v` is over the workflow's maxValueBytes. */
  checkSize(what: string, v: unknown): void;
  /** Pushes a step's compensation on the run's stack (compensations.ts). */
  pushCompensation(c: Compensation): void;
  /** The attempts running (a run's end stops them, a cancel cancels them). */
  readonly steps: Set<RunningAttempt>;
  /** The run's place in its member's count of working runs: away while it waits for a queue's slot (run_load.ts). */
  readonly share: RunShare;
  /** Outbox deliveries in flight (Run.delivered waits for them). */
  readonly deliveries: Promise<void>[];
  /** Counts outbox handler calls in flight (a hand-off waits for them). */
  delivering(delta: number): void;
}

/** What a step asks beyond its options (see {@link runStep}). */
export interface StepInner {
  readonly signalOnCancel?: boolean;
  /** An activity's (activities.ts): where each attempt runs, set before it. */
  readonly route?: ActivityRoute;
  /**
   * The step's function is a call the engine makes on the body's behalf (a child's start, result
   * or cancel, `ctx.send`): a failure of it that is the engine's (model/engine_failure.ts) is no
   * attempt — it is made again after a wait, nothing journaled, for as long as the run lasts.
   */
  readonly engine?: boolean;
  readonly returnedAfterCancel?: () => void;
}

/**
 * Calls `effect` with the activation's lease fresh at that very moment: checked in the same turn as
 * the call, nothing between them, and confirmed (renewed) again while it is not; the renewal
 * failing ends the run (RunEnded), the effect not called. The awaited check before an attempt is
 * not enough under load: its continuation may run seconds later behind other runs' queued
 * microtasks on a starved CPU, or after an ended run's call of the same operation was waited for
 * (callOnce) — effects went out after another member took the key over (the fault checker, 40
 * busy loops beside it).
 */
export async function withFreshLease<T>(
  h: Pick<RunHost, 'leaseFresh' | 'confirmLease'>,
  effect: () => T,
): Promise<Awaited<T>> {
  while (!h.leaseFresh()) await h.confirmLease();
  return await effect();
}

/** `ctx.send`: a durable send to `to` whose id is the operation's idempotency key. */
export async function entitySendStep<P extends AnyProtocol>(
  ops: EffectOps,
  to: EntityAddress<P>,
  message: MessageOf<P>,
): Promise<void> {
  await runStep(
    ops,
    'send',
    `${to.kind}/${to.key}`,
    (info) => ops.host.entities.sendDurable(to, message, info.idempotencyKey).then(() => true),
    {},
    { engine: true }, // durable by its idempotency key: made again while its owner or the store is away
  );
}

/**
 * `ctx.call`: entity call `request` to `to` as step `options.name` (default `call <kind>/<key>`),
 * each attempt through {@link entityCallAttempt}; `options.timeout` is the call's own.
 */
export function entityCallStep<P extends AnyProtocol, const R extends RequestOf<P>>(
  ops: EffectOps,
  to: EntityAddress<P>,
  request: R,
  options: StepOptions<ReplyOf<P, R>> & { readonly name?: string; readonly timeout?: number },
): Promise<ReplyOf<P, R>> {
  const name = options.name ?? `call ${to.kind}/${to.key}`;
  if (typeof name !== 'string') return Promise.reject(ErrWorkflowIncorrect.with('call: options.name must be a string'));
  const callOptions = options.timeout === undefined ? {} : { timeout: options.timeout };
  const call = (): Promise<ReplyOf<P, R>> => ops.host.entities.call(to, request, callOptions);
  return runStep(ops, 'step', name, () => entityCallAttempt(name, call), options);
}

/**
 * One attempt of a `ctx.call`: the entity's reply, or its own error; a call the router gave up on
 * before any attempt could have run it (contract/undelivered.ts) throws
 * ERR_WORKFLOW_CALL_NOT_DELIVERED instead — the engine's, waited out by {@link runStep}, never an
 * attempt and never seen by the body.
 */
export async function entityCallAttempt<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (isUndelivered(err))
      throw ErrWorkflowCallNotDelivered.with(`${what}: ${describeThrown(err)}`, err instanceof Error ? err : undefined);
    throw err;
  }
}

/**
 * Runs step `name` as the run's next operation (or replays its entry). `inner.signalOnCancel`
 * false: a cancel leaves a running attempt alone (a child's result: the child is cancelled);
 * `inner.returnedAfterCancel`: called when the step returned after the cancel.
 */
export async function runStep<T>(
  ops: EffectOps,
  t: JournalOp,
  name: string,
  fn: (info: StepInfo) => T | Promise<T>,
  options: StepOptions<T>,
  inner: StepInner = {},
): Promise<T> {
  const h = ops.host;
  const seq = ops.next();
  const hit = ops.lookup(seq, t, name);
  checkStepCompensation(name, options.compensate);
  // A cancel strikes the body's own steps, not its compensations (they run to their end).
  const struck = !ops.compensating();
  let first = 1;
  let retryAt: number | undefined;
  if (hit?.done === true) {
    if (hit.e !== undefined) {
      const failed = stepFailed(name, hit.a ?? 1, revivedError(hit.e, h.spec.failureConverter));
      throw hit.c === true ? cancelledIn(ops, name, failed) : failed;
    }
    if (options.compensate !== undefined) ops.pushCompensation(stepCompensation(name, options.compensate, hit.v as T));
    if (hit.c === true) {
      inner.returnedAfterCancel?.();
      throw cancelledIn(ops, name);
    }
    return hit.v as T;
  }
  checkStepTimeout(name, options.timeoutMs);
  checkStepTimeout(name, options.heartbeatTimeoutMs, 'heartbeatTimeoutMs');
  checkStepTimeout(name, options.scheduleToStartTimeoutMs, 'scheduleToStartTimeoutMs');
  const queue = {
    queue: checkQueueName(`step ${name}`, options.queue),
    priority: checkPriority(`step ${name}`, options.priority),
  };
  // The last heartbeat's details: an earlier run's (its retry entry), then each attempt's.
  const beats: Heartbeats = {
    details: hit?.h,
    timeoutMs: options.heartbeatTimeoutMs,
    lastError: hit?.e,
    // An entry from before `ea` was kept: its `at` is the failure's time, unless a heartbeat wrote it.
    lastErrorAt: hit?.ea ?? (hit?.e !== undefined && hit.h === undefined ? hit.at : undefined),
  };
  if (hit !== undefined) {
    // Its retry entry: attempts failed on an earlier run; the count and the backoff go on from it.
    ops.caughtUp();
    if (ops.readOnly) throw ops.endOfJournal();
    ops.checkCancel();
    first = (hit.a ?? 0) + 1;
    retryAt = hit.r;
  }
  const policy =
    options.retry === false ? { ...h.spec.retry, maxAttempts: 1 } : retryPolicy(options.retry, h.spec.retry);
  const onCancel: OnCancel = !struck || inner.signalOnCancel === false ? 'ignore' : (options.cancellation ?? 'wait');
  h.busy(1);
  let engineWaits = 0;
  // When the attempt due must have started (scheduleToStartTimeoutMs): kept while it waits for a
  // slot or a member to run it, and while a member it was sent to could not take it.
  let start: { by: number; ms: number } | undefined;
  try {
    for (let attempt = first; ; attempt++) {
      ops.checkCancel(); // a cancel that came during the retry entry's write
      if (retryAt !== undefined) {
        const left = retryAt - h.clock.now();
        retryAt = undefined;
        if (left > 0) await delay(ops, left, struck);
      }
      // Ended, or its activation hands off (a backoff can end in either): not an attempt — the
      // run ends here and the next one (here or on the next owner) goes on from the journal.
      const stop = ops.ended() ?? ops.holding();
      if (stop !== undefined) throw stop;
      const s2s = options.scheduleToStartTimeoutMs;
      if (s2s !== undefined) start ??= { by: h.clock.now() + s2s, ms: s2s };
      let value: T;
      try {
        // A slot of its queue first (queues.ts; none asked of a queue without limits), then one of
        // the member's step permits (step_permits.ts), then the lease: the attempt's own timeout
        // and heartbeat window start only once it runs, never while it waits behind others.
        // Waiting for its queue's slot (a limit's line, minutes at times), the run is not its member's load.
        ops.share.away();
        let away = true;
        let slot: { release(): void } | undefined;
        let permit: { release(): void } | undefined;
        try {
          slot =
            t === 'step' ? await waitForSlot(ops, seq, name, attempt, queue, struck, inner.route, start) : undefined;
          away = false;
          ops.share.back();
          permit = t === 'step' ? await stepPermit(ops, struck) : undefined;
          await markersSaved(ops); // a patch marker before it lands first (drawn.ts)
          await h.confirmLease();
          const ended = ops.ended();
          if (ended !== undefined) throw ended;
          value = await figuresOf(h.entities, h.spec.name).attempt(t, name, () =>
            attemptOnce(ops, { s: seq, t, n: name }, fn, attempt, options.timeoutMs, onCancel, beats),
          );
        } finally {
          permit?.release();
          slot?.release();
          if (away) ops.share.back(); // the slot's wait threw
        }
        ops.checkSize(`the result of step ${name}`, value);
      } catch (err) {
        // The run's end (or its hand-off) is never the step's failure, whatever threw it.
        const ended = ops.ended() ?? (err instanceof RunEnded ? err : undefined);
        if (ended !== undefined) throw ended;
        const cancelled = struck && ops.cancelled();
        const undelivered =
          !cancelled &&
          ((inner.engine === true && isEngineFailure(err)) ||
            ErrWorkflowActivityNotDelivered.is(err) ||
            ErrWorkflowCallNotDelivered.is(err));
        // Not started in time: fails for good, as a slot's wait past it does (queues.ts).
        if (undelivered && start !== undefined && h.clock.now() >= start.by)
          err = notStarted(name, start.ms, `it reached no member to run it: ${describeThrown(err)}`);
        else if (undelivered) {
          // The engine's own call failed for the engine's reasons, or an activity's attempt
          // reached no member to run it (body/activities.ts), or a `ctx.call` no handler of its
          // entity (entityCallAttempt): wait and call again, as the same attempt; nothing
          // journaled (model/engine_failure.ts).
          engineWaits++;
          if (engineWaits === 1 || engineWaits % 10 === 0)
            h.log.warning(
              'workflow %s/%s: %s waits for the engine (%d): %s',
              h.spec.name,
              h.id,
              name,
              engineWaits,
              describeThrown(err),
            );
          const wait = engineRetryMs(engineWaits);
          await delay(ops, start === undefined ? wait : Math.max(1, Math.min(wait, start.by - h.clock.now())), struck);
          attempt--;
          continue;
        }
        start = undefined; // the next attempt (a retry) is due anew
        const last =
          isTerminal(err) ||
          ErrWorkflowValueTooLarge.is(err) ||
          ErrEntityUnstorable.is(err) ||
          attempt >= policy.maxAttempts ||
          cancelled;
        if (!last) {
          h.log.warning(
            'workflow %s/%s: step %s attempt %d failed: %s',
            h.spec.name,
            h.id,
            name,
            attempt,
            describeThrown(err),
          );
          // Journaled (a retry entry) so a resumed run goes on counting and waits what is left;
          // a step that succeeds at once writes nothing more than its result.
          const now = h.clock.now();
          retryAt = now + backoffMs(policy, attempt);
          figuresOf(h.entities, h.spec.name).step(t, name).retries++;
          const details = beats.details === undefined ? {} : { h: beats.details };
          // With the last attempt's error: describe() shows it beside the attempt that runs next.
          beats.lastError = storedError(err, h.spec.maxValueBytes, h.spec.failureConverter);
          beats.lastErrorAt = now;
          const retry = { s: seq, t: 'retry' as const, of: t, n: name, a: attempt, r: retryAt, at: now };
          await ops.record({ ...retry, e: beats.lastError, ea: now, ...details });
          continue;
        }
        const e = storedError(err, h.spec.maxValueBytes, h.spec.failureConverter);
        if (!cancelled) figuresOf(h.entities, h.spec.name).step(t, name).failures++;
        const c = cancelled ? { c: true } : {};
        await ops.record({ s: seq, t, n: name, e, a: attempt, at: h.clock.now(), done: true, ...c });
        const failed = stepFailed(name, attempt, err);
        throw cancelled ? cancelledIn(ops, name, failed) : failed;
      }
      start = undefined;
      // Decided before the write, as a replay of the entry decides.
      const cancelled = struck && ops.cancelled();
      const c = cancelled ? { c: true } : {};
      await ops.record({ s: seq, t, n: name, v: value, a: attempt, at: h.clock.now(), done: true, ...c });
      if (options.compensate !== undefined) ops.pushCompensation(stepCompensation(name, options.compensate, value));
      if (cancelled) {
        inner.returnedAfterCancel?.();
        throw cancelledIn(ops, name);
      }
      return value;
    }
  } finally {
    h.busy(-1);
  }
}

/** The ERR_WORKFLOW_CANCELLED a step that settled after the cancel throws (`cause`: its failure, if it failed). */
function cancelledIn(ops: EffectOps, name: string, cause?: Error): Error {
  ops.strike();
  return ErrWorkflowCancelled.with(`workflow ${ops.host.id} was cancelled while step ${name} ran`, cause);
}

/** One attempt of a step: its function, raced against its timeout, the run's end and (abandoned) a cancel. */
function attemptOnce<T>(
  ops: EffectOps,
  op: { readonly s: number; readonly t: JournalOp; readonly n: string },
  fn: (info: StepInfo) => T | Promise<T>,
  attempt: number,
  timeoutMs: number | undefined,
  onCancel: OnCancel,
  beats: Heartbeats = { details: undefined, timeoutMs: undefined, lastError: undefined, lastErrorAt: undefined },
): Promise<T> {
  const ctl = new AbortController();
  const idempotencyKey = ops.key(op.s, op.t, op.n);
  const clock = ops.host.clock;
  const startedAt = clock.now();
  return new Promise<T>((resolve, reject) => {
    let timer: unknown;
    let beatTimer: unknown;
    let settled = false;
    let wroteAt = startedAt;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      ops.steps.delete(running);
      if (timer !== undefined) clock.clearTimeout(timer);
      if (beatTimer !== undefined) clock.clearTimeout(beatTimer);
      return true;
    };
    const stop = (err: Error): void => {
      if (!settle()) return;
      ctl.abort(err);
      reject(err);
    };
    // What describe() shows of it (a hung one is seen running, with its timeout if it has one).
    let shown: WorkflowRunningOperation = {
      ...op,
      attempt,
      startedAt,
      ...(timeoutMs === undefined ? {} : { timeoutAt: startedAt + timeoutMs }),
      ...(beats.lastError === undefined ? {} : { lastError: beats.lastError }),
      ...(beats.lastErrorAt === undefined ? {} : { lastErrorAt: beats.lastErrorAt }),
    };
    /** (Re)arms the heartbeat timeout from `from`. */
    const armBeat = (from: number): void => {
      const hbMs = beats.timeoutMs;
      if (hbMs === undefined) return;
      if (beatTimer !== undefined) clock.clearTimeout(beatTimer);
      shown = { ...shown, heartbeatDueAt: from + hbMs };
      beatTimer = clock.setTimeout(
        () => stop(ErrWorkflowTimeout.with(`attempt ${attempt} sent no heartbeat for ${hbMs} ms`)),
        hbMs,
      );
    };
    const heartbeat = (details?: unknown): void => {
      // A cancel, a timeout or the run's end reaches the step here (after its settling too: a loop stops).
      if (ctl.signal.aborted) throw thrownError(ctl.signal.reason);
      if (settled) return;
      const now = clock.now();
      if (details !== undefined) {
        ops.checkSize(`the heartbeat details of step ${op.n}`, details);
        beats.details = details;
      }
      shown = { ...shown, heartbeatAt: now, ...(details === undefined ? {} : { heartbeat: details }) };
      armBeat(now);
      // Written now and then (not with every beat: a store write each), so an attempt that dies
      // with its member leaves its progress to the next one. A retry entry of the attempts failed so
      // far, the last one's error with its own time (`ea`): the entry's `at` is this write's.
      if (details !== undefined && !ops.readOnly && now - wroteAt >= heartbeatWriteMs(beats.timeoutMs)) {
        wroteAt = now;
        const failed =
          beats.lastError === undefined
            ? {}
            : { e: beats.lastError, ...(beats.lastErrorAt === undefined ? {} : { ea: beats.lastErrorAt }) };
        const entry = {
          s: op.s,
          t: 'retry' as const,
          of: op.t,
          n: op.n,
          a: attempt - 1,
          at: now,
          h: details,
          ...failed,
        };
        ops.record(entry).catch(() => undefined); // a failed write ends the run (commit_queue.ts)
      }
    };
    const running: RunningAttempt = {
      get op() {
        return shown;
      },
      stop,
      cancel: (err) => {
        if (onCancel === 'abandon') stop(err);
        else if (onCancel === 'wait') ctl.abort(err); // the attempt decides, by what it returns or throws
      },
    };
    ops.steps.add(running);
    if (timeoutMs !== undefined)
      timer = clock.setTimeout(
        () => stop(ErrWorkflowTimeout.with(`attempt ${attempt} took longer than ${timeoutMs} ms`)),
        timeoutMs,
      );
    armBeat(startedAt);
    const heartbeatDetails = beats.details;
    Promise.resolve()
      // Not beside a call of the same operation an ended run of this instance left running here.
      .then(() =>
        callOnce(ops.onThisNode(idempotencyKey), ops.run, () =>
          withFreshLease(ops.host, () =>
            fn({ idempotencyKey, attempt, signal: ctl.signal, heartbeat, heartbeatDetails }),
          ),
        ),
      )
      .then(
        (v) => {
          if (settle()) resolve(v);
        },
        (e: unknown) => {
          if (settle()) reject(thrownError(e)); // any thrown value: Object.create(null) has no String()
        },
      );
  });
}

/** A step's heartbeats across its attempts: the last details, and its `heartbeatTimeoutMs`. */
interface Heartbeats {
  details: unknown;
  readonly timeoutMs: number | undefined;
  /** The error the step's last failed attempt failed with (its retry entry's `e`). */
  lastError: StoredError | undefined;
  /** When that attempt failed, epoch ms (its retry entry's `ea`). */
  lastErrorAt: number | undefined;
}

/**
 * How often a running attempt's heartbeat details are written at most: 80 % of its heartbeat
 * timeout (as Temporal throttles), between 1 s and 30 s; 30 s without one.
 */
export function heartbeatWriteMs(heartbeatTimeoutMs: number | undefined): number {
  if (heartbeatTimeoutMs === undefined) return 30_000;
  return Math.min(30_000, Math.max(1000, heartbeatTimeoutMs * 0.8));
}

/** Waits `ms` on the runtime clock (a retry's backoff); rejects when the run ends (or is cancelled). */
function delay(ops: RunOps, ms: number, cancellable: boolean): Promise<void> {
  const clock = ops.host.clock;
  return ops.waitFor(
    (resolve) => {
      const t = clock.setTimeout(resolve, ms);
      return () => clock.clearTimeout(t);
    },
    cancellable,
    clock.now() + ms,
  );
}

// ---- compensations ----
// What ctx.compensate and a step's `compensate` option push on a run's stack, checked when it is
// pushed so a wrong option is met where it is written, not when a cancel runs the stack (maybe
// months later). Each runs as a step `compensate:<name>` with its own retry policy and timeout
// (context.ts runCompensations); its journal entry is a step's, as before compensations took
// options, so older journals replay unchanged.

/** A compensation on a run's stack: its name (the step runs as `compensate:<name>`), function and step options. */
export interface Compensation {
  readonly name: string;
  readonly fn: (info: StepInfo) => unknown;
  readonly options: StepOptions<unknown>;
}

/**
 * The step options of compensation `name` from `options` (`ctx.compensate`'s, or those beside a
 * step's `compensate.run`). Throws ERR_WORKFLOW_INCORRECT for options a step would refuse.
 */
export function compensationOptions(name: string, options: CompensationOptions | undefined): StepOptions<unknown> {
  // A Proxy's trap or a getter that throws is a refusal of ours, not its own error (issue 92).
  return readChecked(`compensation ${name}: options`, () => readCompensationOptions(name, options));
}

function readCompensationOptions(name: string, options: CompensationOptions | undefined): StepOptions<unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null)
    throw ErrWorkflowIncorrect.with(`compensation ${name}: options must be an object, got ${describeThrown(options)}`);
  const { retry, timeoutMs, heartbeatTimeoutMs } = options;
  checkStepTimeout(`compensate:${name}`, timeoutMs);
  checkStepTimeout(`compensate:${name}`, heartbeatTimeoutMs, 'heartbeatTimeoutMs');
  if (retry !== undefined && retry !== false) {
    if (typeof retry !== 'object' || retry === null)
      throw ErrWorkflowIncorrect.with(
        `compensation ${name}: retry must be a retry policy or false, got ${describeThrown(retry)}`,
      );
    retryPolicy(retry); // throws ERR_WORKFLOW_INCORRECT naming the field
  }
  return {
    ...(retry === undefined ? {} : { retry }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(heartbeatTimeoutMs === undefined ? {} : { heartbeatTimeoutMs }),
  };
}

/**
 * Checks a step's `compensate` option before the step runs (a function, or `{ run, timeoutMs,
 * retry }`); throws ERR_WORKFLOW_INCORRECT naming step `step` otherwise.
 */
export function checkStepCompensation(step: string, c: unknown): void {
  if (c === undefined || typeof c === 'function') return;
  readChecked(`step ${step}: compensate`, () => {
    if (typeof c !== 'object' || c === null || typeof (c as { run?: unknown }).run !== 'function')
      throw ErrWorkflowIncorrect.with(
        `step ${step}: compensate must be a function or { run, timeoutMs?, retry? }, got ${describeThrown(c)}`,
      );
  });
  compensationOptions(step, c as CompensationOptions);
}

/** The compensation a step's `compensate` option (checked by {@link checkStepCompensation}) pushes, bound to its `result`. */
export function stepCompensation<T>(
  name: string,
  c: ((result: T, info: StepInfo) => unknown) | StepCompensation<T>,
  result: T,
): Compensation {
  if (typeof c === 'function') return { name, fn: (info) => c(result, info), options: {} };
  return { name, fn: (info) => c.run(result, info), options: compensationOptions(name, c) };
}

// ---- the outbox ----

/** Journals outbox message `name` as the run's next operation and starts its delivery (see the top of this file). */
export async function putOutbox(
  ops: EffectOps,
  name: string,
  message: unknown,
  handler: (m: unknown, info: OutboxInfo) => unknown,
): Promise<void> {
  const h = ops.host;
  const seq = ops.next();
  const hit = ops.lookup(seq, 'outbox', name);
  if (hit?.done === true) return;
  const m = hit === undefined ? message : hit.v;
  if (hit === undefined) {
    ops.checkSize(`outbox message ${name}`, m);
    await ops.record({ s: seq, t: 'outbox', n: name, v: m, at: h.clock.now() });
  }
  const at = hit?.at ?? h.clock.now();
  ops.deliveries.push(figuresOf(h.entities, h.spec.name).outbox(at, deliver(ops, seq, name, m, handler)));
}

/** Delivers a journaled outbox message until its handler resolves, then journals the delivery. */
async function deliver(
  ops: EffectOps,
  seq: number,
  name: string,
  m: unknown,
  handler: (m: unknown, info: OutboxInfo) => unknown,
): Promise<void> {
  const h = ops.host;
  const policy = h.spec.retry;
  h.busy(1);
  try {
    for (let attempt = 1; ; attempt++) {
      if (ops.ended() !== undefined || ops.holding() !== undefined) return;
      try {
        await h.confirmLease();
        if (ops.ended() !== undefined) return;
        const idempotencyKey = ops.key(seq, 'outbox', name);
        ops.delivering(1);
        try {
          await callOnce(ops.onThisNode(idempotencyKey), ops.run, () =>
            withFreshLease(h, () => handler(m, { idempotencyKey, attempt })),
          );
        } finally {
          ops.delivering(-1);
        }
      } catch (err) {
        if (ops.ended() !== undefined) return;
        h.log.warning(
          'workflow %s/%s: outbox %s delivery %d failed: %s',
          h.spec.name,
          h.id,
          name,
          attempt,
          describeThrown(err),
        );
        await delay(ops, backoffMs(policy, attempt), false).catch(() => undefined);
        continue;
      }
      if (ops.ended() !== undefined) return;
      await ops
        .record({
          s: seq,
          t: 'outbox',
          n: name,
          v: m,
          a: attempt,
          at: h.clock.now(),
          done: true,
        })
        .catch(() => undefined);
      return;
    }
  } finally {
    h.busy(-1);
  }
}
