// Child workflows as the body starts and drives them (`ctx.startChild`, `ctx.child`): the start,
// the wait for its outcome and the cancel are each a step of the parent (journaled, so a replay
// does not start, wait or cancel again), run by the engine on the body's behalf. A Run lends its
// sequencing, journal and waits (EffectOps); a select's child branch reads the handle's CHILD_OF.

import { createHash } from 'node:crypto';

import type { ChildHandle } from './context_types.js';
import { MAX_SIGNAL_ID_LENGTH } from '../model/bounds.js';
import { ErrWorkflowClosed, terminalError } from '../model/errors.js';
import type { AnyWorkflowKind, WorkflowInput, WorkflowOutput, WorkflowSignals } from '../model/define.js';
import { CHILD_OF } from '../model/select_types.js';
import { runStep, type EffectOps } from './effects.js';

/** What {@link startChild} needs of the run beyond {@link EffectOps}. */
export interface ChildOps extends EffectOps {
  /** Counts a wait for a child's outcome (the instance then only waits: parking, its wake-up). */
  childWait(delta: number): void;
}

/**
 * `ctx.startChild(kind, id, input)`: starts the child (idempotent by its id) as a step, and gives
 * its handle. Cancelling the parent cancels the children it journaled.
 */
export async function startChild<K extends AnyWorkflowKind>(
  ops: ChildOps,
  kind: K,
  id: string,
  input: WorkflowInput<K>,
): Promise<ChildHandle<WorkflowOutput<K>, WorkflowSignals<K>>> {
  const h = ops.host;
  const parent = `${h.spec.name}/${h.id}`;
  const name = `${kind.name}/${id}`;
  // A start that returned after the cancel: the engine cancelled the children journaled then, not this one.
  const orphan = (): void => {
    if (ops.readOnly) return;
    void h.cancelChild(kind, id, `cancelled by ${parent}`).catch((err: unknown) => {
      h.log.warning('workflow %s: cancelling child %s failed: %s', parent, name, String(err));
    });
  };
  await runStep(
    ops,
    'child',
    `start ${name}`,
    () => h.startChild(kind, id, input).then(() => true),
    {},
    { returnedAfterCancel: orphan, engine: true },
  );
  return {
    id,
    [CHILD_OF]: { kind, id },
    result: () =>
      runStep(
        ops,
        'child',
        `result ${name}`,
        (info) => {
          ops.childWait(1);
          ops.share.away(); // waiting on another instance: not its member's work (run_load.ts)
          const back = (): void => void (ops.childWait(-1), ops.share.back());
          return h.childResult(kind, id, info.signal).finally(back);
        },
        { retry: false },
        // A cancel cancels the child: its outcome is waited for. The engine's own call: only the
        // child's outcome settles it, never its owner or the store unreachable for a while.
        { signalOnCancel: false, engine: true },
      ),
    // A step of the parent: journaled once sent; its signal id (from the step's idempotency key) keeps it once at the child.
    signal: (signalName: string, payload: unknown) =>
      runStep(
        ops,
        'child',
        `signal ${signalName} ${name}`,
        (info) =>
          h.signalChild(kind, id, signalName, payload, childSignalId(info.idempotencyKey)).catch((err: unknown) => {
            // A child that ended keeps no signal: the step fails at once (no retry).
            throw ErrWorkflowClosed.is(err) ? terminalError(err as Error) : err;
          }),
        {},
        { engine: true },
      ).then(() => undefined),
    cancel: (reason = `cancelled by ${parent}`) =>
      runStep(ops, 'child', `cancel ${name}`, () => h.cancelChild(kind, id, reason), {}, { engine: true }).then(
        () => undefined,
      ),
  } as ChildHandle<WorkflowOutput<K>, WorkflowSignals<K>>;
}

/** A child signal's id: its step's idempotency key, hashed when longer than a signal id may be. */
function childSignalId(key: string): string {
  return key.length <= MAX_SIGNAL_ID_LENGTH ? key : createHash('sha256').update(key).digest('hex');
}
