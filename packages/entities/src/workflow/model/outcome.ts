// How an ended workflow instance is told: the reply a `result` call gets, the exit reason a linked
// process gets, and why a body's output cannot be stored (engine.ts ends the instance failed then)
// or a signal cannot be taken.

import type { StandardSchemaV1 } from 'ergo-ts';

import { quoted } from '../../contract/thrown.js';
import { declared, storableSize, valueIssue } from './bounds.js';
import {
  ErrWorkflowCancelled,
  ErrWorkflowCompensationFailed,
  ErrWorkflowFailed,
  ErrWorkflowIncorrect,
  ErrWorkflowValueTooLarge,
  storedError,
} from './errors.js';
import type { WorkflowSpec } from './define.js';
import { ErrWorkflowTimedOut } from './timeouts.js';
import type { ResultReply, WorkflowRecord } from './record.js';
import { storedBytes } from './sizes.js';

/** The exit reason a linked process gets when the instance failed, was cancelled or timed out. */
export function endReason(workflow: string, id: string, rec: WorkflowRecord): Error {
  if (rec.status === 'cancelled')
    return ErrWorkflowCancelled.with(`workflow ${workflow}/${id}: ${rec.cancel ?? 'cancelled'}`);
  if (rec.status === 'timedOut') return ErrWorkflowTimedOut.with(rec.error?.message ?? `workflow ${workflow}/${id}`);
  const e = rec.error;
  return ErrWorkflowFailed.with(
    `workflow ${workflow}/${id} failed: ${e === undefined ? '' : `${e.code ?? e.name}: ${e.message}`}`,
  );
}

/** Why a body's output cannot be stored (unstorable, or over the cap), or undefined when it can. */
export function outputRefusal(output: unknown, max: number): Error | undefined {
  let size: number;
  try {
    size = storedBytes(output, 'output');
  } catch (err) {
    return err as Error;
  }
  return size > max
    ? ErrWorkflowValueTooLarge.with(
        `the output is ${size} bytes stored, over maxValueBytes ${max}: keep a reference (a claim check)`,
      )
    : undefined;
}

/** A `result` reply from an ended record. */
export function outcomeOf(rec: WorkflowRecord): ResultReply {
  if (rec.status === 'completed') return { status: 'completed', output: rec.output };
  if (rec.status === 'cancelled') return { status: 'cancelled', reason: rec.cancel ?? 'cancelled' };
  if (rec.status === 'failed') return { status: 'failed', error: rec.error ?? { name: 'Error', message: 'failed' } };
  if (rec.status === 'timedOut')
    return {
      status: 'timedOut',
      error: rec.error ?? { name: 'Error', message: 'timed out', code: 'ERR_WORKFLOW_TIMED_OUT' },
    };
  return { status: 'pending' };
}

/**
 * The end of an instance whose body ended with `outcome`: cancelled (a cancel was asked and met the
 * body, which threw) unless a compensation failed for good (an undo is missing: failed), failed
 * with the body's error, or completed with its output (failed when the output cannot be stored).
 * `cancelled`: a cancel was asked and met the body, or the body threw (engine.ts): one that came
 * after the body's last operation does not undo what it did, and the body's return completes the
 * instance (as after Temporal's cancellation request).
 */
export function endOf(
  outcome: { output: unknown } | { error: unknown },
  cancelled: boolean,
  spec: Pick<WorkflowSpec, 'maxValueBytes' | 'failureConverter'>,
): Partial<WorkflowRecord> {
  const { maxValueBytes, failureConverter } = spec;
  const undoFailed = 'error' in outcome && ErrWorkflowCompensationFailed.is(outcome.error);
  if (cancelled && !undoFailed)
    return {
      status: 'cancelled',
      ...('error' in outcome ? { error: storedError(outcome.error, maxValueBytes, failureConverter) } : {}),
    };
  if ('error' in outcome)
    return { status: 'failed', error: storedError(outcome.error, maxValueBytes, failureConverter) };
  const refused = outputRefusal(outcome.output, maxValueBytes);
  return refused === undefined
    ? { status: 'completed', output: outcome.output }
    : { status: 'failed', error: storedError(refused) };
}

/**
 * Why `v` (named `what`: an input, a signal's payload) cannot be stored: ERR_ENTITY_UNSTORABLE or
 * ERR_WORKFLOW_INCORRECT (a getter that throws), or ERR_WORKFLOW_VALUE_TOO_LARGE over `max`
 * bytes; undefined when it can.
 */
export function storableRefusal(what: string, v: unknown, max: number): Error | undefined {
  let size: number;
  try {
    size = storableSize(v, what);
  } catch (err) {
    return err as Error;
  }
  return size > max
    ? ErrWorkflowValueTooLarge.with(`${what} is ${size} bytes stored, over maxValueBytes ${max}`)
    : undefined;
}

/**
 * Why signal `name` with `payload` is refused by a kind (`spec`): undeclared, its payload refused
 * by its schema, or too large to keep; undefined when it is fine.
 */
export function signalRefusal(
  spec: {
    readonly name: string;
    readonly signals: Readonly<Record<string, StandardSchemaV1>>;
    readonly maxValueBytes: number;
  },
  name: unknown,
  payload: unknown,
): Error | undefined {
  const schema = declared(spec.signals, name);
  if (schema === undefined)
    return ErrWorkflowIncorrect.with(`workflow ${spec.name} declares no signal ${quoted(name)}`);
  const issue = valueIssue(schema, payload);
  if (issue !== undefined) return ErrWorkflowIncorrect.with(`signal ${String(name)}: payload refused: ${issue}`);
  return storableRefusal(`signal ${String(name)}`, payload, spec.maxValueBytes);
}

/**
 * A start's `memo` (client.ts) checked: undefined, or a plain object a store keeps within `max`
 * bytes; throws ERR_WORKFLOW_INCORRECT, ERR_ENTITY_UNSTORABLE or ERR_WORKFLOW_VALUE_TOO_LARGE.
 */
export function checkMemo(workflow: string, memo: unknown, max: number): Readonly<Record<string, unknown>> | undefined {
  if (memo === undefined) return undefined;
  const proto = memo !== null && typeof memo === 'object' ? Object.getPrototypeOf(memo) : undefined;
  if (proto !== Object.prototype && proto !== null)
    throw ErrWorkflowIncorrect.with(`workflow ${workflow}: start's memo must be a plain object`);
  const refused = storableRefusal('the memo', memo, max);
  if (refused !== undefined) throw refused;
  return memo as Readonly<Record<string, unknown>>;
}
