// The test kit's probe of a workflow instance: a local call its host answers with whether the
// body only waits (so the kit may move the test clock). Kept apart from the engine that answers it.

import type { Run } from '../body/context.js';
import type { WorkflowRecord, WorkflowRunningOperation } from '../model/record.js';

/**
 * @internal A local call (known by identity, like COMMIT) the test kit asks an instance's host:
 * whether its body only waits, so the kit may move the test clock. Answered with a {@link WorkflowProbe}.
 */
export const WORKFLOW_PROBE = Object.freeze({ '~wf': 'probe' });

/** @internal What an instance answers {@link WORKFLOW_PROBE} with. */
export interface WorkflowProbe {
  readonly status: WorkflowRecord['status'];
  /** A replay diverged: the body halts until a resume. */
  readonly halted: boolean;
  /** True when no body runs here, or its body only waits (for time, a signal, a child) with nothing left to save. */
  readonly parked: boolean;
  /** When the clock next ends one of its waits (a sleep, a retry's backoff, a signal's deadline). */
  readonly wakeAt: number | undefined;
  /** The signals its body waits for. */
  readonly signals: readonly string[];
  /** The updates its body waits for (`ctx.update`'s names, joined by ' | ' for one of several). */
  readonly updates: readonly string[];
  /** The `ctx.select` waits of its body (each branch's name and what it waits for). */
  readonly selects: readonly string[];
  /** Its open `ctx.condition` (`''`) and `ctx.allHandlersFinished` (`'handlers'`) waits, from its journal. */
  readonly conditions: readonly string[];
  /** The attempts its body runs now (steps, compensations): what `describe()` shows as `running`. */
  readonly running: readonly WorkflowRunningOperation[];
  /** Operations asked so far and entries journaled: a change between two probes is progress. */
  readonly seq: number;
  readonly journal: number;
}

/** @internal The probe of an instance: its record, the run here (if any), whether it halted, its queued writes and signal waits. */
export function probeOf(
  rec: WorkflowRecord,
  run: Run | undefined,
  halted: boolean,
  queued: number,
  waits: readonly { readonly name: string }[],
  updates: readonly string[] = [],
  selects: readonly string[] = [],
): WorkflowProbe {
  const p = run === undefined || run.ended ? undefined : run.parking();
  return {
    status: rec.status,
    halted,
    parked: queued === 0 && (p === undefined || p.parked),
    wakeAt: p?.wakeAt,
    signals: waits.map((w) => w.name),
    updates,
    selects,
    conditions: rec.journal.filter((e) => e.t === 'condition' && e.done !== true).map((e) => e.n),
    running: run === undefined || run.ended ? [] : run.running(),
    seq: p?.seq ?? -1,
    journal: rec.journal.length,
  };
}
