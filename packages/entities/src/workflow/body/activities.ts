// Activities: a step that may run on another member (Temporal's activities on a task queue). A
// step's function is a closure of its body, so it can only run where the body runs; an activity
// is a named function of its kind (`defineWorkflow(..., { activities: { render } })`), which every
// member has (every member hosts the same kinds), called with a stored input. `ctx.activity(name,
// input, options)` is journaled as a step is (retries, timeouts, idempotency key); each attempt
// runs here when this member serves the activity's queue (under its slots, as a step's), else on
// a live member that serves it: the attempt asks that member's entities manager, which takes a
// slot of the queue there, runs the function and answers its result (the caller journals it). A
// queue no live member serves waits, and describe() says so. A serving member that dies during
// an attempt fails it (the call to it ends): the attempt is retried, on another serving member.
// Not carried to a remote attempt: a cancel (its signal stays unaborted) and heartbeats.

import { ProcessID, type Atom, type Node } from 'ergo-ts';

import type { StepInfo } from './context_types.js';
import type { ActivityHandlers, AnyWorkflowKind } from '../model/define.js';
import { codesAlong } from '../../contract/codes.js';
import { describeThrown } from '../../contract/thrown.js';
import {
  ErrWorkflowActivityNotDelivered,
  ErrWorkflowIncorrect,
  revivedError,
  storedError,
  type StoredError,
} from '../model/errors.js';
import { checkQueueName } from '../model/define.js';
import { DEFAULT_QUEUE, queuesOf, type WorkflowQueues } from '../scheduling/queues.js';
import type { RunHost } from '../model/run_host.js';

/** A request one member's manager answers for another (manager.ts hands it here). */
export type QueueRequest =
  | { readonly '~wfq': 'serves' }
  | { readonly '~wfq': 'waiting'; readonly queue?: string }
  | { readonly '~wfq': 'queues'; readonly queue?: string }
  | {
      /**
       * `attempt` answers the activity's outcome as a value ({@link AttemptAnswer}), so a call that
       * rejects never carries the activity's own error; `run` (members before it) answers the
       * value or rejects with the activity's error.
       */
      readonly '~wfq': 'run' | 'attempt';
      readonly queue: string;
      readonly kind: string;
      readonly id: string;
      readonly activity: string;
      readonly seq: number;
      readonly input: unknown;
      readonly idempotencyKey: string;
      readonly attempt: number;
      readonly priority: number;
    };

/** True when `v` is a {@link QueueRequest} (shape only: the handler checks the fields). */
export function isQueueRequest(v: unknown): v is QueueRequest {
  return typeof v === 'object' && v !== null && typeof (v as { '~wfq'?: unknown })['~wfq'] === 'string';
}

/** A serving member's answer to an `attempt` request: the activity's value, or its error as journaled. */
export type AttemptAnswer =
  { readonly '~wfqa': 'ok'; readonly value: unknown } | { readonly '~wfqa': 'failed'; readonly error: StoredError };

function isAttemptAnswer(v: unknown): v is AttemptAnswer {
  if (typeof v !== 'object' || v === null) return false;
  const tag = (v as { '~wfqa'?: unknown })['~wfqa'];
  return tag === 'ok' || tag === 'failed';
}

/**
 * Codes of a rejected `attempt` call that mean it reached no handler: a member answers the
 * activity's own errors as values, so a rejection is the path's or a refusal before the handler
 * ran. A deadline or a connection lost with the call under way may have run the attempt: those
 * stay the attempt's (Temporal counts a worker lost mid-activity too).
 */
const NOT_DELIVERED_CODES: ReadonlySet<string> = new Set([
  'ERR_NO_ROUTE',
  'ERR_PROCESS_UNKNOWN',
  'ERR_NAME_UNKNOWN',
  'ERR_WORKFLOW_INCORRECT', // the member no longer serves the queue, or has no such kind or activity
]);

/** Members that answered `attempt` as an unknown request (an older version), and when. */
const olderMembers = new Map<string, number>();
/** How long a member that did not know `attempt` is asked with `run` before it is tried again. */
const OLDER_MEMBER_MS = 60_000;
const UNKNOWN_REQUEST = 'workflow queues: unknown request';

/**
 * Runs one attempt of `request` on `member` through `queues`: the activity's value, or its own
 * error thrown; a call that reached no handler throws ERR_WORKFLOW_ACTIVITY_NOT_DELIVERED (the
 * engine's: not counted as an attempt, body/effects.ts). A member of an older version is asked
 * with `run`, whose rejections cannot be told apart and count as before.
 */
async function remoteAttempt(
  queues: Pick<WorkflowQueues, 'call'>,
  member: string,
  request: Extract<QueueRequest, { '~wfq': 'run' | 'attempt' }>,
  timeoutMs: number | undefined,
): Promise<unknown> {
  const older = olderMembers.get(member);
  if (older !== undefined && Date.now() - older < OLDER_MEMBER_MS)
    return queues.call(member, { ...request, '~wfq': 'run' }, timeoutMs);
  let answer: unknown;
  try {
    answer = await queues.call(member, { ...request, '~wfq': 'attempt' }, timeoutMs);
  } catch (err) {
    if (err instanceof Error && err.message.includes(UNKNOWN_REQUEST)) {
      olderMembers.set(member, Date.now());
      return queues.call(member, { ...request, '~wfq': 'run' }, timeoutMs);
    }
    const first = codesAlong(err)[0];
    if (first !== undefined && NOT_DELIVERED_CODES.has(first))
      throw ErrWorkflowActivityNotDelivered.with(
        `activity ${request.activity} on ${member}: ${describeThrown(err)}`,
        err instanceof Error ? err : undefined,
      );
    throw err;
  }
  olderMembers.delete(member);
  if (!isAttemptAnswer(answer)) return answer;
  if (answer['~wfqa'] === 'ok') return answer.value;
  throw revivedError(answer.error);
}

/** What routing an activity needs of its runtime (registered with its queues). */
export interface ActivityRuntime {
  readonly node: Node;
  /** The entities manager's registered name (the same on every member). */
  readonly manager: string;
  /** The live members, this node included. */
  members(): string[];
}

/** How long a member's answer to `serves` is believed, in ms. */
const SERVES_TTL_MS = 1000;
/** How long a call for a remote attempt may take when the activity gives no `timeoutMs`. */
const REMOTE_DEFAULT_MS = 3_600_000;

/** The handler of activity `name` of `kind` (ERR_WORKFLOW_INCORRECT when it has none). */
export function activityOf(
  kind: { readonly name: string; readonly activities: ActivityHandlers },
  name: string,
): (input: unknown, info: StepInfo) => unknown {
  const h = Object.hasOwn(kind.activities, name) ? kind.activities[name] : undefined;
  if (typeof h !== 'function')
    throw ErrWorkflowIncorrect.with(`workflow ${kind.name}: no activity ${name} (declare it in the kind's activities)`);
  return h;
}

/** Which live members serve which queues, as they said (asked again after a second). */
export class ServingMembers {
  readonly #rt: ActivityRuntime;
  readonly #said = new Map<string, { at: number; serves: readonly string[] | null }>();

  constructor(rt: ActivityRuntime) {
    this.#rt = rt;
  }

  /** A live member other than this one that serves `queue` (one at random), or undefined. */
  async find(queue: string): Promise<string | undefined> {
    const me = this.#rt.node.name;
    const others = this.#rt.members().filter((m) => m !== me);
    const said = await Promise.all(others.map((m) => this.#serves(m)));
    const serving = others.filter((_, i) => {
      const s = said[i];
      return s !== undefined && (s === null || queue === DEFAULT_QUEUE || s.includes(queue));
    });
    return serving[Math.floor(Math.random() * serving.length)];
  }

  /** What `member` serves (null: every queue), undefined when it did not answer. */
  async #serves(member: string): Promise<readonly string[] | null | undefined> {
    const now = Date.now();
    const known = this.#said.get(member);
    if (known !== undefined && now - known.at < SERVES_TTL_MS) return known.serves;
    try {
      const to = new ProcessID(this.#rt.manager as Atom, member as Atom);
      const serves = (await this.#rt.node.call(to, { '~wfq': 'serves' }, { timeout: 2000 })) as string[] | null;
      this.#said.set(member, { at: now, serves });
      return serves;
    } catch {
      this.#said.delete(member);
      return undefined;
    }
  }
}

/** Calls `request` to `member`'s entities manager (its answer: a remote attempt's result). */
export function callMember(
  rt: ActivityRuntime,
  member: string,
  request: QueueRequest,
  timeoutMs?: number,
): Promise<unknown> {
  const to = new ProcessID(rt.manager as Atom, member as Atom);
  return rt.node.call(to, request, { timeout: timeoutMs ?? REMOTE_DEFAULT_MS });
}

/** Where an activity's attempt runs: set by the step's queue wait (queues.ts waitForSlot) before each attempt. */
export interface ActivityRoute {
  /** The serving member to run it on (undefined: here). */
  member?: string | undefined;
  priority?: number;
  /** The step's operation number. */
  seq?: number;
}

/**
 * The function of each attempt of activity `name` of the run's kind on `input` (ctx.activity):
 * its handler here, or a call to the member `route` names. Throws ERR_WORKFLOW_INCORRECT for an
 * activity the kind does not declare.
 */
export function activityAttempt(
  h: RunHost,
  name: string,
  input: unknown,
  route: ActivityRoute,
  queue: string | undefined,
  timeoutMs: number | undefined,
): (info: StepInfo) => unknown {
  const handler = activityOf(h.spec, name);
  return (info) => {
    const member = route.member;
    if (member === undefined) return handler(input, info);
    const queues = queuesOf(h.entities);
    if (queues === undefined) throw ErrWorkflowIncorrect.with(`activity ${name}: no queues on this runtime`);
    return remoteAttempt(
      queues,
      member,
      {
        '~wfq': 'attempt',
        queue: queue ?? h.spec.queue ?? DEFAULT_QUEUE,
        kind: h.spec.name,
        id: h.id,
        activity: name,
        seq: route.seq ?? 0,
        input,
        idempotencyKey: info.idempotencyKey,
        attempt: info.attempt,
        priority: route.priority ?? 0,
      },
      timeoutMs,
    );
  };
}

/**
 * Answers another member's {@link QueueRequest} on runtime `rt` (manager.ts): which queues it
 * serves, what waits here (of one queue or all), or an attempt of an activity, run under a slot
 * of its queue here.
 */
export async function answerQueueRequest(rt: object, request: QueueRequest): Promise<unknown> {
  const queues = queuesOf(rt);
  if (request['~wfq'] === 'serves') return queues?.served ?? null;
  // A client-only node runs no step: what waits, and its queues, are the members' (asked of them).
  const client = queues?.client === true;
  if (request['~wfq'] === 'waiting') {
    const queue = typeof request.queue === 'string' ? request.queue : undefined;
    return (client ? await queues.waitingEverywhere(queue) : queues?.waiting(queue)) ?? [];
  }
  // The queues this member knows (the Observer's Queues page): limits, served here, running here;
  // on a client-only node the members' (served here: none; who serves each, what runs there).
  if (request['~wfq'] === 'queues') {
    const also = checkQueueName('workflow queues', request.queue);
    if (client) return (await queues.overviewEverywhere(also)).map((q) => ({ ...q, served: false }));
    return queues?.overview(also) ?? [];
  }
  if (request['~wfq'] !== 'run' && request['~wfq'] !== 'attempt') throw ErrWorkflowIncorrect.with(UNKNOWN_REQUEST);
  const r = request;
  if (queues !== undefined && !queues.serves(r.queue))
    throw ErrWorkflowIncorrect.with(`workflow queues: this member does not serve queue ${r.queue}`);
  const kind = queues?.kind(r.kind) as AnyWorkflowKind | undefined;
  if (kind === undefined) throw ErrWorkflowIncorrect.with(`workflow queues: no workflow kind ${r.kind} here`);
  const fn = activityOf(kind.workflow, r.activity);
  const slot = queues === undefined || queues.free(r.queue) ? undefined : await takeHere(queues, r);
  try {
    const info: StepInfo = {
      idempotencyKey: r.idempotencyKey,
      attempt: r.attempt,
      signal: new AbortController().signal,
      heartbeat: () => undefined,
      heartbeatDetails: undefined,
    };
    if (r['~wfq'] === 'run') return await fn(r.input, info);
    // The activity's outcome as a value: a rejection of this call is then never the activity's.
    try {
      return { '~wfqa': 'ok', value: await fn(r.input, info) } satisfies AttemptAnswer;
    } catch (err) {
      return { '~wfqa': 'failed', error: storedError(err, kind.workflow.maxValueBytes) } satisfies AttemptAnswer;
    }
  } finally {
    slot?.release();
  }
}

function takeHere(
  queues: WorkflowQueues,
  r: Extract<QueueRequest, { '~wfq': 'run' | 'attempt' }>,
): Promise<{ release(): void }> {
  return new Promise((resolve) => {
    queues.take(
      {
        queue: r.queue,
        priority: r.priority,
        kind: r.kind,
        id: r.id,
        step: r.activity,
        seq: r.seq,
        attempt: r.attempt,
        since: Date.now(),
      },
      resolve,
    );
  });
}
