// Declaring a workflow: `defineWorkflow(name, async (ctx, input) => ..., options)` gives a kind
// the entities runtime hosts like any other (`startEntities(node, { kinds: [Order] })`): one
// instance per workflow id (the id is its entity key and its idempotency key), its body run by the
// engine (engine.ts) through a context (context.ts) that journals every step.

import type { Infer, StandardSchemaV1 } from 'ergo-ts';

import { describeThrown } from '../../contract/thrown.js';
import type { EntityKind } from '../../kinds/entity.js';
import { attributeSchemas, type AttributeSchemas } from './attributes.js';
import { MAX_TIMER_MS } from './bounds.js';
import { isDeterminismGuardMode, type DeterminismGuardMode } from './determinism_mode.js';
import { ErrWorkflowIncorrect, type WorkflowFailureConverter } from './errors.js';
import { checkUpdates } from './update_state.js';
import type { WorkflowProtocol, WorkflowRecord } from './record.js';

/** The signals a workflow takes: a payload schema per signal name. */
export type SignalSchemas = Readonly<Record<string, StandardSchemaV1>>;

/** What an outbox handler is given besides the message. */
export interface OutboxInfo {
  /** The outbox operation's idempotency key (`<workflow>/<id>/<operation>`): the same on every redelivery. */
  readonly idempotencyKey: string;
  /** This delivery attempt's number, from 1. */
  readonly attempt: number;
}

/** A workflow's outbox handlers, by name: each delivers one message to the outside world. */
export type OutboxHandlers = Readonly<Record<string, (message: any, info: OutboxInfo) => unknown>>;

/** A workflow's outbox message types, by handler name (inferred from its `outboxes`). */
export type OutboxMessages = Readonly<Record<string, unknown>>;

/**
 * The outbox handlers for message types `Om`: handler `K` takes an `Om[K]` and the delivery's
 * {@link OutboxInfo} (contextually typed: `(m: Mail, { idempotencyKey }) => …` needs no annotation
 * on its second parameter).
 */
export type OutboxHandlersOf<Om extends OutboxMessages> = {
  readonly [K in keyof Om]: (message: Om[K], info: OutboxInfo) => unknown;
};

/**
 * What an activity's attempt is given besides its input (a step's `StepInfo` where it runs here;
 * on another member its `signal` is never aborted and `heartbeat` does nothing).
 */
export interface ActivityInfo {
  /** The operation's idempotency key, as a step's: the same on every attempt. */
  readonly idempotencyKey: string;
  /** This attempt's number, from 1. */
  readonly attempt: number;
  readonly signal: AbortSignal;
  heartbeat(details?: unknown): void;
  readonly heartbeatDetails: unknown;
}

/**
 * A kind's activities, by name (activities.ts): functions every member has, that a member
 * serving their queue runs for any other (`ctx.activity(name, input)`), given the input and the
 * attempt's info.
 */
export type ActivityHandlers = Readonly<Record<string, (input: any, info: ActivityInfo) => unknown>>;

/** The queries a workflow answers: the reply's schema per query name. */
export type QuerySchemas = Readonly<Record<string, StandardSchemaV1>>;

/** One update a workflow takes (updates.ts): its input's and its answer's schemas, and a validator. */
export interface UpdateSchema<
  In extends StandardSchemaV1 = StandardSchemaV1,
  Out extends StandardSchemaV1 = StandardSchemaV1,
> {
  readonly input: In;
  readonly output: Out;
  /**
   * Runs at the instance on an input the schema took, before anything is journaled: throwing
   * refuses the update (ERR_WORKFLOW_UPDATE_REJECTED, the thrown message kept). Pure: it sees the
   * input only (a refusal that depends on the instance's state is the body's `update.fail`).
   */
  validate?(input: Infer<In>): void;
}

/** The updates a workflow takes, by name. */
export type UpdateSchemas = Readonly<Record<string, UpdateSchema<any, any>>>;

/**
 * How a step retries a failed attempt: `maxAttempts` in all (1: no retry), waiting `initialMs`,
 * then `factor` times longer each time, at most `maxMs`. An error marked `terminalError` is not retried.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included. Default 5. */
  readonly maxAttempts?: number;
  /** The wait before the second attempt, in ms. Default 100. */
  readonly initialMs?: number;
  /** How much longer each next wait is. Default 2. */
  readonly factor?: number;
  /** The longest wait, in ms. Default 10 000. */
  readonly maxMs?: number;
}

/** Defaults of {@link RetryPolicy}. */
export const RETRY_DEFAULTS = Object.freeze({ maxAttempts: 5, initialMs: 100, factor: 2, maxMs: 10_000 });

/** What {@link defineWorkflow} takes besides the body. */
export interface WorkflowOptions<
  Sg extends SignalSchemas,
  Q extends QuerySchemas,
  Om extends OutboxMessages = {},
  U extends UpdateSchemas = {},
  At extends AttributeSchemas = {},
> {
  /** Checks the input at start (on every node: a remote start is checked too). */
  readonly input?: StandardSchemaV1;
  /** The signals the workflow takes, a payload schema each (`ctx.signal(name)`, `handle.signal(name, payload)`). */
  readonly signals?: Sg;
  /** The queries it answers, the reply's schema each (`ctx.onQuery(name, fn)`, `handle.query(name)`). */
  readonly queries?: Q;
  /**
   * The updates it takes (`ctx.update(name)` in the body, `handle.update(name, input)` anywhere):
   * an input and an output schema each, and an optional `validate` (docs/workflows.md, "Updates").
   */
  readonly updates?: U;
  /**
   * Its outbox handlers (`ctx.outbox(name, message)`): each delivers a journaled message with its
   * idempotency key, retried with the kind's retry policy's backoff and no attempt limit.
   */
  readonly outboxes?: OutboxHandlersOf<Om>;
  /** The default retry policy of its steps. */
  readonly retry?: RetryPolicy;
  /** The largest step result, input or output, in bytes as stored (about). Default 1 MiB. */
  readonly maxValueBytes?: number;
  /**
   * At most how long after the journal's last write an instance whose body runs is resumed
   * elsewhere if its node died, in ms (the new owner replays it then; at least half of it: the
   * wake-up is rewritten with a journal write only once less than half is left). Default 1000.
   * While a step runs longer, the member running it leaves the wake-up due without firing it (a
   * fire would only write it again): the key's next write moves it on, and whoever activates the
   * key next — after a takeover, at once — finds it due.
   */
  readonly resumeAfterMs?: number;
  /** Passivate an instance idle this long (no body running), in ms. Default 60 000. */
  readonly passivateAfterMs?: number;
  /**
   * The determinism guard (a development aid): while the body's own code runs, `Date.now()`,
   * `Math.random()`, `crypto.randomUUID()`, timers and `fetch` are reported — `'warn'` logs a
   * warning naming the call and its line, once per call site; `'throw'` throws
   * ERR_WORKFLOW_NONDETERMINISTIC at the call; `'off'` installs nothing. Default: the
   * `ERGO_WORKFLOW_DETERMINISM_GUARD` environment variable, else `'off'` when
   * `NODE_ENV=production` and `'warn'` otherwise. Steps, compensations, outbox and query handlers
   * are not the body: they may call anything; nor is the code of the framework, of Node and of
   * the libraries in `node_modules` that the body's work runs (its caller decides).
   */
  readonly determinismGuard?: DeterminismGuardMode;
  /**
   * When a start may use again the id of an instance that ended (start_policy.ts): `'never'`
   * (default: the start answers `created: false`), `'afterFailure'` (failed, cancelled or timed out) or
   * `'always'` (Temporal's default), or `'terminateIfRunning'` (also ends a running one and starts
   * anew). A start's own `idReuse` option overrides it.
   */
  readonly idReuse?: IdReusePolicy;
  /**
   * Its search attributes, a type each (`{ customer: 'string', total: 'number' }`): the body sets
   * them with `ctx.setAttributes`, `entities.workflows.list({ kind, attributes })` filters by them.
   */
  readonly attributes?: At;
  /**
   * The queue its steps run in unless a step names its own (queues.ts, docs/workflows.md
   * "Queues"): only members that serve it run them, under its limits. Default: the default queue.
   */
  readonly queue?: string;
  /** Its steps' priority in their queue unless a step gives its own: lower runs first. Default 0. */
  readonly priority?: number;
  /**
   * Its activities (`ctx.activity(name, input, options)`): named functions a member that serves
   * the activity's queue runs for the member running the body (activities.ts).
   */
  readonly activities?: ActivityHandlers;
  /**
   * How long an ended instance is kept (retention.ts): `{ closedFor: '30d' }` (`ms`, `s`, `m`,
   * `h` or `d`) or ms. Once an instance has been completed, failed or cancelled that long, the
   * cluster deletes it — record, journal, index row, reminders, dead letters — a bounded batch at
   * a time (members must host `WorkflowRetention`). Default: kept forever.
   */
  readonly retention?: { readonly closedFor: number | string };
  /**
   * How its errors are journaled and rebuilt (stored_error.ts, docs/workflows.md "A failure
   * converter"): `toStored(err)` before an error of the body, a step, an activity or an update is
   * kept, `fromStored(err)` after one is rebuilt, in the body and at every caller. Default: none
   * (the error as thrown, rebuilt by its name and code).
   */
  readonly failureConverter?: WorkflowFailureConverter;
}

/** Defaults of {@link WorkflowOptions}. */
export const WORKFLOW_DEFAULTS = Object.freeze({
  maxValueBytes: 1024 * 1024,
  resumeAfterMs: 1000,
  passivateAfterMs: 60_000,
});

/** What the engine keeps of a definition. */
export interface WorkflowSpec {
  readonly name: string;
  /** The body (typed by `defineWorkflow`; the engine gives it its context). */
  readonly body: (ctx: any, input: any) => Promise<unknown>;
  readonly input?: StandardSchemaV1;
  readonly signals: SignalSchemas;
  readonly queries: QuerySchemas;
  readonly updates: UpdateSchemas;
  readonly outboxes: OutboxHandlers;
  readonly retry: Required<RetryPolicy>;
  readonly maxValueBytes: number;
  readonly resumeAfterMs: number;
  /** The `determinismGuard` option (undefined: the environment decides when a body starts). */
  readonly determinismGuard?: DeterminismGuardMode;
  /** The declared search attributes (none: `{}`). */
  readonly attributes: AttributeSchemas;
  /** The `idReuse` option (default `'never'`). */
  readonly idReuse: IdReusePolicy;
  /** The `queue` and `priority` options (undefined: the default queue, priority 0). */
  readonly queue?: string;
  readonly priority?: number;
  /** The `activities` option (none: `{}`). */
  readonly activities: ActivityHandlers;
  /** The `retention` option in ms (absent: kept forever). */
  readonly retention?: { readonly closedForMs: number };
  /** The `failureConverter` option (absent: none). */
  readonly failureConverter?: WorkflowFailureConverter;
}

/** A declared workflow (from {@link defineWorkflow}): an entity kind, plus its types. */
export interface WorkflowKind<
  I = unknown,
  O = unknown,
  Sg extends SignalSchemas = {},
  Q extends QuerySchemas = {},
  U extends UpdateSchemas = {},
  At extends AttributeSchemas = {},
> extends EntityKind<typeof WorkflowProtocol, WorkflowRecord> {
  /** The engine's view of the definition. */
  readonly workflow: WorkflowSpec;
  /** Phantom: the input, output, signal, query, update and search attribute types. */
  readonly '~workflow'?: {
    readonly input: I;
    readonly output: O;
    readonly signals: Sg;
    readonly queries: Q;
    readonly updates: U;
    readonly attributes: At;
  };
}

/** Any workflow kind. */
export type AnyWorkflowKind = WorkflowKind<any, any, any, any, any, any>;
/** The search attribute schemas of a workflow kind. */
export type WorkflowAttributes<K> = K extends WorkflowKind<any, any, any, any, any, infer At> ? At : never;
/** The input type of a workflow kind. */
export type WorkflowInput<K> = K extends WorkflowKind<infer I, any, any, any, any, any> ? I : never;
/** The output type of a workflow kind. */
export type WorkflowOutput<K> = K extends WorkflowKind<any, infer O, any, any, any, any> ? O : never;
/** The signal schemas of a workflow kind. */
export type WorkflowSignals<K> = K extends WorkflowKind<any, any, infer Sg, any, any, any> ? Sg : never;
/** The query schemas of a workflow kind. */
export type WorkflowQueries<K> = K extends WorkflowKind<any, any, any, infer Q, any, any> ? Q : never;
/** The update schemas of a workflow kind. */
export type WorkflowUpdates<K> = K extends WorkflowKind<any, any, any, any, infer U, any> ? U : never;
/** The input type of update `N` of a workflow kind. */
export type UpdateInput<K, N extends keyof WorkflowUpdates<K>> = Infer<WorkflowUpdates<K>[N]['input']>;
/** The answer type of update `N` of a workflow kind. */
export type UpdateOutput<K, N extends keyof WorkflowUpdates<K>> = Infer<WorkflowUpdates<K>[N]['output']>;
/** The payload type of signal `N` of a workflow kind. */
export type SignalPayload<K, N extends keyof WorkflowSignals<K>> = Infer<WorkflowSignals<K>[N]>;
/** The reply type of query `N` of a workflow kind. */
export type QueryReply<K, N extends keyof WorkflowQueries<K>> = Infer<WorkflowQueries<K>[N]>;

// ---- id reuse (start_policy.ts applies it) ----

/**
 * When a start may use again the id of an instance that ended: `'never'` (the default: it answers
 * `created: false`, the first outcome stays), `'afterFailure'` (when that instance failed, timed out or was
 * cancelled: Temporal's ALLOW_DUPLICATE_FAILED_ONLY), `'always'` (Temporal's default,
 * ALLOW_DUPLICATE), `'terminateIfRunning'` (Temporal's TERMINATE_IF_RUNNING: as `'always'`, and a
 * running instance is terminated — ended cancelled, its compensations not run — and replaced in the
 * same write). Otherwise a running instance is never replaced: the start answers `created: false`.
 */
export type IdReusePolicy = 'never' | 'afterFailure' | 'always' | 'terminateIfRunning';

/** True when `v` is an {@link IdReusePolicy}. */
export function isIdReusePolicy(v: unknown): v is IdReusePolicy {
  return v === 'never' || v === 'afterFailure' || v === 'always' || v === 'terminateIfRunning';
}

/** Checks an `idReuse` option (ERR_WORKFLOW_INCORRECT naming `where`); undefined stays undefined. */
export function checkIdReuse(where: string, v: unknown): IdReusePolicy | undefined {
  if (v === undefined || isIdReusePolicy(v)) return v;
  throw ErrWorkflowIncorrect.with(
    `${where}: idReuse must be 'never', 'afterFailure', 'always' or 'terminateIfRunning', got ${describeThrown(v)}`,
  );
}

/** A `failureConverter` option, checked: an object whose `toStored` and `fromStored` are functions when given. */
function failureConverterOf(name: string, c: unknown): WorkflowFailureConverter {
  const ok =
    c !== null &&
    typeof c === 'object' &&
    ['toStored', 'fromStored'].every((k) => {
      const f = (c as Record<string, unknown>)[k];
      return f === undefined || typeof f === 'function';
    });
  if (!ok)
    throw ErrWorkflowIncorrect.with(
      `workflow ${name}: failureConverter must be an object with functions toStored and/or fromStored, got ${describeThrown(c)}`,
    );
  return c as WorkflowFailureConverter; // itself: its methods keep their `this`
}

/** Checks a queue name (ERR_WORKFLOW_INCORRECT naming `where`). */
export function checkQueueName(where: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 200)
    throw ErrWorkflowIncorrect.with(`${where}: queue must be a non-empty string of at most 200 characters`);
  return v;
}

/** Checks a priority (ERR_WORKFLOW_INCORRECT naming `where`): a safe integer, lower runs first. */
export function checkPriority(where: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v))
    throw ErrWorkflowIncorrect.with(`${where}: priority must be an integer, got ${describeThrown(v)}`);
  return v;
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration option (`'30d'`, `'12h'`, `'90m'`, `'45s'`, `'500ms'` or ms) in ms ≥ 1 (ERR_WORKFLOW_INCORRECT). */
export function durationMs(what: string, v: unknown): number {
  const m = typeof v === 'string' ? /^(\d+)(ms|s|m|h|d)$/.exec(v) : null;
  const n = m !== null ? Number(m[1]) * UNIT_MS[m[2]!]! : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1)
    throw ErrWorkflowIncorrect.with(
      `${what} must be ms (an integer ≥ 1) or like '30d', '12h', '90m', '45s', got ${describeThrown(v)}`,
    );
  return n;
}

/** Checks a numeric option: a finite number in `min..max`. */
export function positiveOption(what: string, v: number | undefined, fallback: number, min = 1, max = Infinity): number {
  const n = v ?? fallback;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max)
    throw ErrWorkflowIncorrect.with(
      `${what} must be a number ≥ ${min}${max === Infinity ? '' : ` and ≤ ${max}`}, got ${describeThrown(v)}`,
    );
  return n;
}

/** The retry policy `r` with its defaults filled in (checked). */
export function retryPolicy(
  r: RetryPolicy | undefined,
  base: Required<RetryPolicy> = RETRY_DEFAULTS,
): Required<RetryPolicy> {
  const attempts = r?.maxAttempts ?? base.maxAttempts;
  const maxAttempts = attempts === Infinity ? attempts : positiveOption('retry.maxAttempts', attempts, attempts);
  if (maxAttempts !== Infinity && !Number.isInteger(maxAttempts))
    throw ErrWorkflowIncorrect.with(`retry.maxAttempts must be an integer or Infinity, got ${maxAttempts}`);
  // The waits are in-memory timers: a longer one than a Node timer holds would fire after 1 ms.
  return {
    maxAttempts,
    initialMs: positiveOption('retry.initialMs', r?.initialMs, base.initialMs, 0, MAX_TIMER_MS),
    factor: positiveOption('retry.factor', r?.factor, base.factor),
    maxMs: positiveOption('retry.maxMs', r?.maxMs, base.maxMs, 0, MAX_TIMER_MS),
  };
}

/** The wait before attempt `attempt + 1` under `p`. */
export function backoffMs(p: Required<RetryPolicy>, attempt: number): number {
  return p.initialMs === 0 ? 0 : Math.min(p.maxMs, p.initialMs * p.factor ** (attempt - 1)); // 0 × ∞ is NaN
}

/** The spec of a definition (checked); {@link defineWorkflow} wraps it in its entity kind (engine.ts). */
export function workflowSpec(
  name: string,
  body: unknown,
  options: WorkflowOptions<SignalSchemas, QuerySchemas, OutboxMessages, UpdateSchemas, AttributeSchemas> = {},
): WorkflowSpec {
  if (typeof body !== 'function') throw ErrWorkflowIncorrect.with(`workflow ${name}: the body must be a function`);
  if (options.signals !== undefined && (typeof options.signals !== 'object' || options.signals === null))
    throw ErrWorkflowIncorrect.with(`workflow ${name}: signals must be an object of schemas`);
  for (const [k, h] of Object.entries(options.activities ?? {}))
    if (typeof h !== 'function') throw ErrWorkflowIncorrect.with(`workflow ${name}: activity ${k} must be a function`);
  for (const [k, h] of Object.entries(options.outboxes ?? {}))
    if (typeof h !== 'function') throw ErrWorkflowIncorrect.with(`workflow ${name}: outbox ${k} must be a function`);
  if (options.queries !== undefined && (typeof options.queries !== 'object' || options.queries === null))
    throw ErrWorkflowIncorrect.with(`workflow ${name}: queries must be an object of schemas`);
  checkUpdates(name, options.updates);
  const guard = options.determinismGuard;
  if (guard !== undefined && !isDeterminismGuardMode(guard))
    throw ErrWorkflowIncorrect.with(
      `workflow ${name}: determinismGuard must be 'throw', 'warn' or 'off', got ${describeThrown(guard)}`,
    );
  return Object.freeze({
    name,
    body: body as WorkflowSpec['body'],
    ...(options.input === undefined ? {} : { input: options.input }),
    signals: options.signals ?? {},
    queries: options.queries ?? {},
    updates: options.updates ?? {},
    outboxes: options.outboxes ?? {},
    activities: options.activities ?? {},
    ...(guard === undefined ? {} : { determinismGuard: guard }),
    attributes: attributeSchemas(name, options.attributes),
    idReuse: checkIdReuse(`workflow ${name}`, options.idReuse) ?? 'never',
    ...(options.queue === undefined ? {} : { queue: checkQueueName(`workflow ${name}`, options.queue) }),
    ...(options.priority === undefined ? {} : { priority: checkPriority(`workflow ${name}`, options.priority) }),
    ...(options.retention === undefined
      ? {}
      : {
          retention: { closedForMs: durationMs(`workflow ${name}: retention.closedFor`, options.retention?.closedFor) },
        }),
    ...(options.failureConverter === undefined
      ? {}
      : { failureConverter: failureConverterOf(name, options.failureConverter) }),
    retry: retryPolicy(options.retry),
    maxValueBytes: positiveOption('maxValueBytes', options.maxValueBytes, WORKFLOW_DEFAULTS.maxValueBytes),
    resumeAfterMs: positiveOption(
      'resumeAfterMs',
      options.resumeAfterMs,
      WORKFLOW_DEFAULTS.resumeAfterMs,
      1,
      MAX_TIMER_MS,
    ),
  });
}

// ---- updates as the body holds them (the machinery: instance/updates.ts) ----

/**
 * An update the body took with `ctx.update(name)`: its id and input, and its answer. `reply` and
 * `fail` are operations (journaled; a replay does not answer again); one of them, once.
 */
export interface WorkflowUpdate<In, Out, N extends string = string> {
  /** The update's id (the caller's `updateId`, or one the client drew). */
  readonly id: string;
  /** Its name (one of those the body waited for). */
  readonly name: N;
  readonly input: In;
  /**
   * Answers the caller with `output` (checked by the update's output schema: ERR_WORKFLOW_INCORRECT
   * into the body, nothing written, when it refuses it). Resolves once the answer is journaled.
   */
  reply(output: Out): Promise<void>;
  /** Answers the caller with an error: `handle.update` rejects with ERR_WORKFLOW_UPDATE_FAILED, its `cause` this one. */
  fail(error: unknown): Promise<void>;
}

/** The update `ctx.update(names)` resolves to, for updates `U`: a union by `name` when it waits for several. */
export type UpdateOf<U extends UpdateSchemas, N extends keyof U & string> = N extends unknown
  ? WorkflowUpdate<Infer<U[N]['input']>, Infer<U[N]['output']>, N>
  : never;

/**
 * One update's declaration, typed: `validate`'s parameter is the input schema's type without an
 * annotation (`updates: { add: defineUpdate({ input, output, validate: (i) => ... }) }`). Returns
 * its argument.
 */
export function defineUpdate<In extends StandardSchemaV1, Out extends StandardSchemaV1>(
  update: UpdateSchema<In, Out>,
): UpdateSchema<In, Out> {
  return update;
}
