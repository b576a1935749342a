// How an ended workflow instance is told: the reply a `result` call gets, the exit reason a linked
// process gets, and why a body's output cannot be stored (engine.ts ends the instance failed then).

import { ErrWorkflowCancelled, ErrWorkflowFailed, ErrWorkflowValueTooLarge } from './errors.js';
import type { ResultReply, WorkflowRecord } from './record.js';
import { storedBytes } from './sizes.js';

/** The exit reason a linked process gets when the instance failed or was cancelled. */
export function endReason(workflow: string, id: string, rec: WorkflowRecord): Error {
  if (rec.status === 'cancelled')
    return ErrWorkflowCancelled.with(`workflow ${workflow}/${id}: ${rec.cancel ?? 'cancelled'}`);
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
  return { status: 'pending' };
}
