// Updates as the caller asks them (`handle.update`, `handle.startUpdate`): checked where the call
// is made, its id drawn once, and asked of the instance until answered — or, for startUpdate's
// ACCEPTED stage, until kept — again with the same id across a move, a crash or a store that is
// unreachable for a while (instance/updates.ts answers; an id already kept is never accepted
// twice). An update handle (`WorkflowUpdateHandle`) asks for the outcome of an id accepted
// already, and never accepts one.

import { ErrEntityUnavailable } from '../../contract/errors.js';
import { quoted } from '../../contract/thrown.js';
import { declared, storableSize, valueIssue } from '../model/bounds.js';
import type { WorkflowSpec } from '../model/define.js';
import {
  ErrWorkflowIncorrect,
  ErrWorkflowTimeout,
  ErrWorkflowUpdateFailed,
  ErrWorkflowUpdateRejected,
  revivedError,
} from '../model/errors.js';
import type { WorkflowRequest } from '../model/record.js';
import { MAX_UPDATE_ID_LENGTH, type UpdateReply } from '../model/update_state.js';
import { isStoreUnreachable, isTimeout, STORE_RETRY_MS } from './ride_through.js';

/** Options of `WorkflowHandle.update`. */
export interface UpdateOptions {
  /**
   * The update's id (1..256 characters): a repeat of it is the same update, answered once. Default:
   * a random UUID drawn by this call (kept across its own retries; pass one to retry across calls).
   */
  readonly updateId?: string;
  /** Give up waiting after this long, in ms: ERR_WORKFLOW_TIMEOUT (the update stays accepted). Default: wait. */
  readonly timeoutMs?: number;
}

/**
 * The stage `handle.startUpdate` waits for (Temporal's `WorkflowUpdateStage`): 'ACCEPTED' — the
 * update passed its checks (schema, `validate`, a live handler's validator) and is kept in the
 * instance's record, so it will be taken and answered even across a crash; 'COMPLETED' — answered.
 */
export type WorkflowUpdateStage = 'ACCEPTED' | 'COMPLETED';

/** Options of `WorkflowHandle.startUpdate`. */
export interface StartUpdateOptions extends UpdateOptions {
  /** The stage to wait for before the handle is returned. Default: 'ACCEPTED'. */
  readonly waitForStage?: WorkflowUpdateStage;
}

/** Options of {@link WorkflowUpdateHandle.result}. */
export interface UpdateResultOptions {
  /** Give up waiting after this long, in ms: ERR_WORKFLOW_TIMEOUT (the update stays accepted). Default: wait. */
  readonly timeoutMs?: number;
}

/** How long one request waits at the instance before it answers `pending` and is asked again. */
const UPDATE_POLL_MS = 25_000;
/** A request's timeout on top of its own wait. */
const CALL_MARGIN_MS = 5_000;

/** What the handle lends {@link askUpdate}. */
export interface UpdateTarget {
  readonly workflow: string;
  readonly id: string;
  /** The kind's definition, when the handle was made from it: the input is checked here too. */
  readonly spec: WorkflowSpec | undefined;
  ask(request: WorkflowRequest, timeout?: number): Promise<unknown>;
}

/** `handle.update(name, input, options)` (see `WorkflowHandle.update`). */
export async function askUpdate(
  to: UpdateTarget,
  name: string,
  input: unknown,
  options: UpdateOptions,
): Promise<unknown> {
  const updateId = checkedUpdate(to, name, input, options);
  const r = await pollUpdate(to, { '~wf': 'update', name, input, id: updateId, waitMs: 0 }, options.timeoutMs);
  return outcome(to, name, r);
}

/** `handle.startUpdate(name, input, options)`: the update kept (or answered), then its handle. */
export async function startUpdate<O>(
  to: UpdateTarget,
  name: string,
  input: unknown,
  options: StartUpdateOptions,
): Promise<WorkflowUpdateHandle<O>> {
  const stage = options.waitForStage ?? 'ACCEPTED';
  if (stage !== 'ACCEPTED' && stage !== 'COMPLETED')
    throw ErrWorkflowIncorrect.with(
      `startUpdate ${name}: waitForStage is 'ACCEPTED' or 'COMPLETED', got ${quoted(stage)}`,
    );
  const updateId = checkedUpdate(to, name, input, options);
  const request: WorkflowRequest = {
    '~wf': 'update',
    name,
    input,
    id: updateId,
    waitMs: 0,
    ...(stage === 'ACCEPTED' ? { stage: 'accepted' as const } : {}),
  };
  const r = await pollUpdate(to, request, options.timeoutMs);
  const h = new WorkflowUpdateHandle<O>(to, updateId, name);
  // Answered already (COMPLETED, or it was by the time it was kept): its handle holds the answer.
  if (r.status !== 'accepted') h.answered(r);
  return h;
}

/** Checks an update's name, id, timeout and (when the kind is known) input; returns its id. */
function checkedUpdate(to: UpdateTarget, name: string, input: unknown, options: UpdateOptions): string {
  if (typeof name !== 'string' || name === '')
    throw ErrWorkflowIncorrect.with(`update: a name is a non-empty string, got ${quoted(name)}`);
  const updateId = options.updateId ?? crypto.randomUUID();
  checkUpdateId(name, updateId);
  checkTimeout(name, options.timeoutMs);
  if (to.spec !== undefined) {
    const d = declared(to.spec.updates, name);
    if (d === undefined) throw ErrWorkflowIncorrect.with(`workflow ${to.workflow} declares no update ${quoted(name)}`);
    const issue = valueIssue(d.input, input);
    if (issue !== undefined) throw ErrWorkflowUpdateRejected.with(`update ${name}: input refused: ${issue}`);
  }
  storableSize(input, `update ${name}: the input`);
  return updateId;
}

function checkUpdateId(what: string, updateId: unknown): asserts updateId is string {
  if (typeof updateId !== 'string' || updateId === '' || updateId.length > MAX_UPDATE_ID_LENGTH)
    throw ErrWorkflowIncorrect.with(`update ${what}: updateId is a string of 1..${MAX_UPDATE_ID_LENGTH} characters`);
}

function checkTimeout(what: string, t: unknown): void {
  if (t !== undefined && (typeof t !== 'number' || !(t > 0)))
    throw ErrWorkflowIncorrect.with(`update ${what}: timeoutMs must be a number > 0`);
}

/**
 * Asks `request` of the instance until it is answered (or, for the ACCEPTED stage, kept): across a
 * move, a crash or a store failover, with the same id; ERR_WORKFLOW_TIMEOUT after `timeoutMs`.
 */
async function pollUpdate(
  to: UpdateTarget,
  request: Extract<WorkflowRequest, { '~wf': 'update' }>,
  timeoutMs: number | undefined,
): Promise<Exclude<UpdateReply, { status: 'pending' }>> {
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  const what = request.known === true ? `update ${request.id}` : `update ${request.name} (${request.id})`;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0)
      throw ErrWorkflowTimeout.with(
        `workflow ${to.workflow}/${to.id}: ${what} not ${request.stage === 'accepted' ? 'accepted' : 'answered'} within ${timeoutMs} ms; ask again with its updateId`,
      );
    const waitMs = Math.min(UPDATE_POLL_MS, left);
    let r: UpdateReply;
    try {
      const callMs = Math.max(1, Math.ceil(Math.min(waitMs + CALL_MARGIN_MS, left)));
      r = (await to.ask({ ...request, waitMs }, callMs)) as UpdateReply;
    } catch (err) {
      // The owner died, paused or moved while we waited: ask the next one (the id makes it safe).
      if (ErrEntityUnavailable.is(err) || isTimeout(err)) continue;
      // The store is unreachable for a while (a failover): ask again shortly, within the deadline.
      if (isStoreUnreachable(err)) {
        await new Promise((r) => setTimeout(r, Math.min(STORE_RETRY_MS, Math.max(0, deadline - Date.now()))));
        continue;
      }
      throw err;
    }
    if (r.status !== 'pending') return r;
  }
}

/** The output of an answered update, or ERR_WORKFLOW_UPDATE_FAILED (its `cause` the body's error). */
function outcome(to: UpdateTarget, name: string, r: UpdateReply): unknown {
  if (r.status === 'answered') return r.output;
  if (r.status !== 'failed') throw ErrWorkflowIncorrect.with(`update ${name}: no outcome yet (${r.status})`);
  const err = ErrWorkflowUpdateFailed.with(
    `workflow ${to.workflow}/${to.id}: update ${name} failed: ${r.error.code === undefined ? '' : `${r.error.code}: `}${r.error.message}`,
  );
  (err as { cause?: unknown }).cause = revivedError(r.error, to.spec?.failureConverter);
  throw err;
}

/**
 * An update accepted by an instance (Temporal's `WorkflowUpdateHandle`): from
 * `handle.startUpdate(...)`, or again by its id with `handle.getUpdateHandle(updateId)` — on any
 * node, after the caller restarted. `result()` waits for its answer.
 */
export class WorkflowUpdateHandle<O = unknown> {
  readonly #to: UpdateTarget;
  /** The answer known when the handle was made (answered by then). */
  #answer: UpdateReply | undefined;

  /** @internal use `WorkflowHandle.startUpdate` or `WorkflowHandle.getUpdateHandle`. */
  constructor(
    to: UpdateTarget,
    /** The update's id. */
    readonly updateId: string,
    /** The update's name, when the handle knows it (undefined from `getUpdateHandle` without one). */
    readonly name?: string,
  ) {
    this.#to = to;
    this.workflowId = to.id;
    this.workflow = to.workflow;
  }

  /** The id of the workflow instance the update was sent to. */
  readonly workflowId: string;
  /** The workflow's name (its kind). */
  readonly workflow: string;

  /** @internal The answer was known when the handle was made: result() gives it without asking. */
  answered(r: UpdateReply): void {
    this.#answer = r;
  }

  /**
   * The update's output once the body answered it; ERR_WORKFLOW_UPDATE_FAILED (its `cause` the
   * body's error) when it failed it; ERR_WORKFLOW_CLOSED when the instance ended without answering;
   * ERR_WORKFLOW_UPDATE_NOT_FOUND for an id the instance never accepted (or answered so long ago
   * that its answer is no longer kept); ERR_WORKFLOW_TIMEOUT after `timeoutMs` (it stays accepted).
   */
  async result(options: UpdateResultOptions = {}): Promise<O> {
    if (this.#answer !== undefined) return outcome(this.#to, this.name ?? this.updateId, this.#answer) as O;
    checkTimeout(this.name ?? this.updateId, options.timeoutMs);
    const request = {
      '~wf': 'update',
      name: this.name ?? '',
      input: undefined,
      id: this.updateId,
      waitMs: 0,
      known: true,
    } as const;
    const r = await pollUpdate(this.#to, request, options.timeoutMs);
    return outcome(this.#to, this.name ?? this.updateId, r) as O;
  }
}

/** `handle.getUpdateHandle(updateId, name?)`: checks the id (nothing is sent). */
export function updateHandleOf<O>(to: UpdateTarget, updateId: string, name?: string): WorkflowUpdateHandle<O> {
  checkUpdateId(name ?? 'handle', updateId);
  if (name !== undefined && (typeof name !== 'string' || name === ''))
    throw ErrWorkflowIncorrect.with(`getUpdateHandle: a name is a non-empty string, got ${quoted(name)}`);
  return new WorkflowUpdateHandle<O>(to, updateId, name);
}
