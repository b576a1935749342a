// Updates as the caller asks them (`handle.update`): checked where the call is made, its id drawn
// once, and asked of the instance until answered — again with the same id across a move, a crash
// or a store that is unreachable for a while (instance/updates.ts answers; an id already kept is
// never accepted twice).

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
  if (typeof name !== 'string' || name === '')
    throw ErrWorkflowIncorrect.with(`update: a name is a non-empty string, got ${quoted(name)}`);
  const updateId = options.updateId ?? crypto.randomUUID();
  if (typeof updateId !== 'string' || updateId === '' || updateId.length > MAX_UPDATE_ID_LENGTH)
    throw ErrWorkflowIncorrect.with(`update ${name}: updateId is a string of 1..${MAX_UPDATE_ID_LENGTH} characters`);
  const t = options.timeoutMs;
  if (t !== undefined && (typeof t !== 'number' || !(t > 0)))
    throw ErrWorkflowIncorrect.with(`update ${name}: timeoutMs must be a number > 0`);
  if (to.spec !== undefined) {
    const d = declared(to.spec.updates, name);
    if (d === undefined) throw ErrWorkflowIncorrect.with(`workflow ${to.workflow} declares no update ${quoted(name)}`);
    const issue = valueIssue(d.input, input);
    if (issue !== undefined) throw ErrWorkflowUpdateRejected.with(`update ${name}: input refused: ${issue}`);
  }
  storableSize(input, `update ${name}: the input`);
  const deadline = t === undefined ? Infinity : Date.now() + t;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0)
      throw ErrWorkflowTimeout.with(
        `workflow ${to.workflow}/${to.id}: update ${name} (${updateId}) not answered within ${t} ms; ask again with its updateId`,
      );
    const waitMs = Math.min(UPDATE_POLL_MS, left);
    let r: UpdateReply;
    try {
      const callMs = Math.max(1, Math.ceil(Math.min(waitMs + CALL_MARGIN_MS, left)));
      r = (await to.ask({ '~wf': 'update', name, input, id: updateId, waitMs }, callMs)) as UpdateReply;
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
    if (r.status === 'pending') continue;
    if (r.status === 'answered') return r.output;
    const err = ErrWorkflowUpdateFailed.with(
      `workflow ${to.workflow}/${to.id}: update ${name} failed: ${r.error.code === undefined ? '' : `${r.error.code}: `}${r.error.message}`,
    );
    (err as { cause?: unknown }).cause = revivedError(r.error);
    throw err;
  }
}
