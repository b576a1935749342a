// Replaying a recorded workflow history against the workflow's current code: the check a team runs
// before deploying changed workflow code (Temporal's replayer). The history is what an instance
// journaled — `handle.describe()` (its `history`), or the stored record (its `journal`), e.g. saved
// as JSON from production — and the body runs through the engine's own Run in read-only mode:
// every operation must match the journal's entry at its number, exactly as a resume after a crash
// or a move would check it, and no step function, sleep, signal wait or send runs. A mismatch is
// the error the live instance would halt with (ERR_WORKFLOW_DIVERGED naming the operation).

import type { Log } from 'ergo-ts';

import { ErrEntityIncorrect } from '../contract/errors.js';
import type { EntitiesClient } from '../kinds/entity.js';
import { Run, RunEnded, type RunHost } from '../workflow/body/context.js';
import type { AnyWorkflowKind } from '../workflow/model/define.js';
import { isWorkflowKind } from '../workflow/instance/define_workflow.js';
import { ErrWorkflowDiverged, ErrWorkflowIncorrect, storedError, type StoredError } from '../workflow/model/errors.js';
import type { WorkflowJournalEntry, WorkflowRecord } from '../workflow/model/record.js';

/**
 * A recorded instance: a `WorkflowDescription` (`handle.describe()`: `id`, `input`, `history`,
 * `cancel`) or a stored `WorkflowRecord` (`input`, `journal`, `cancel`), or the same parsed from JSON.
 */
export interface RecordedWorkflow {
  /** The instance's id (its idempotency keys and messages name it); default `'replay'`. */
  readonly id?: string;
  /** The instance's input, as the body got it. */
  readonly input?: unknown;
  /** The journal, from a description. */
  readonly history?: readonly WorkflowJournalEntry[];
  /** The journal, from a stored record. */
  readonly journal?: readonly WorkflowJournalEntry[];
  /** Set when a cancel was asked (the body then replays as cancelled). */
  readonly cancel?: string;
}

/** What {@link replayWorkflow} found when the code agreed with the journal. */
export interface ReplayReport {
  /** The journal's operations the code asked for, in the same order, with the same names. */
  readonly replayed: number;
  /** The journal's entries. */
  readonly entries: number;
  /**
   * How the replay ended: the body returned or threw, or asked for an operation past the journal
   * (where the live instance would go on with new operations: not a divergence).
   */
  readonly ended: 'returned' | 'threw' | 'end-of-journal';
  /** What the body returned. */
  readonly output?: unknown;
  /** What the body threw (a step failure the journal holds, ERR_WORKFLOW_CANCELLED...). */
  readonly error?: StoredError;
}

const noop = (): void => undefined;
const silentLog = new Proxy({} as Log, { get: () => noop });

/** No outside world in a replay: every operation is answered from the journal. */
const noEntities = new Proxy({} as EntitiesClient, {
  get: () => () => Promise.reject(ErrWorkflowIncorrect.with('a replay reaches no entity')),
});

/** The replay's clock: every recorded sleep has ended; no timer ever fires. */
const farClock = Object.freeze({
  now: () => Number.MAX_SAFE_INTEGER,
  setTimeout: () => undefined,
  clearTimeout: () => undefined,
});

function journalOf(recorded: RecordedWorkflow): readonly WorkflowJournalEntry[] {
  const j = recorded.history ?? recorded.journal;
  if (!Array.isArray(j))
    throw ErrEntityIncorrect.with('replayWorkflow: the recording has no history (or journal) array');
  for (const e of j as unknown[]) {
    const x = e as Partial<WorkflowJournalEntry> | null;
    if (
      typeof x !== 'object' ||
      x === null ||
      !Number.isInteger(x.s) ||
      typeof x.t !== 'string' ||
      typeof x.n !== 'string'
    )
      throw ErrEntityIncorrect.with(`replayWorkflow: not a journal entry: ${JSON.stringify(e)}`);
  }
  return j as readonly WorkflowJournalEntry[];
}

/**
 * Replays `recorded` (an instance's history: see {@link RecordedWorkflow}; a JSON string is
 * parsed) against the current code of `kind`, as a resume of that instance would: resolves with a
 * {@link ReplayReport} when every operation the body asks for matches the journal's entry at its
 * number (or lies past the journal's end), and rejects with ERR_WORKFLOW_DIVERGED naming the first
 * operation that does not (`operation 3: the journal has step 'charge', the code asked for step
 * 'reserve'`), or when the body returned or threw while the journal holds operations it never
 * asked for. Nothing outside runs: no step function, no timer, no entity. Rejects with
 * ERR_ENTITY_INCORRECT for a kind that is not a workflow or a recording without a journal. Needs
 * no kit: run it over saved histories in CI before a deploy.
 *
 * @example
 * const saved = JSON.parse(readFileSync('histories/order-7.json', 'utf8'));
 * await replayWorkflow(Order, saved); // throws ERR_WORKFLOW_DIVERGED if the new code breaks it
 */
export async function replayWorkflow(
  kind: AnyWorkflowKind,
  recorded: RecordedWorkflow | string,
): Promise<ReplayReport> {
  if (!isWorkflowKind(kind)) throw ErrEntityIncorrect.with('replayWorkflow: not a workflow kind');
  const rec = (typeof recorded === 'string' ? JSON.parse(recorded) : recorded) as RecordedWorkflow;
  if (typeof rec !== 'object' || rec === null) throw ErrEntityIncorrect.with('replayWorkflow: not a recording');
  const journal = journalOf(rec);
  const record: WorkflowRecord = {
    status: 'running',
    input: rec.input,
    journal,
    signals: [],
    signalIds: [],
    runs: 1,
    ...(rec.cancel === undefined ? {} : { cancel: rec.cancel }),
  };
  let run: Run | undefined;
  // An open signal wait is where the recording stopped: the run ends there (its wait rejects).
  const endHere = (): Promise<never> => {
    run!.end('the replay reached an open wait of the journal');
    return new Promise<never>(noop);
  };
  const outside = (): Promise<never> => Promise.reject(new RunEnded('a replay runs no step'));
  const host: RunHost = {
    spec: kind.workflow,
    id: rec.id ?? 'replay',
    entities: noEntities,
    log: silentLog,
    clock: farClock,
    commit: () => Promise.reject(new RunEnded('a replay writes nothing')),
    busy: noop,
    deadline: noop,
    awaitSignal: endHere,
    awaitUpdate: () => ({ promise: endHere(), drop: noop }),
    awaitSelect: () => ({ promise: endHere(), settle: noop, drop: noop }),
    updateAnswered: noop,
    peek: () => record,
    startChild: outside,
    childResult: outside,
    signalChild: outside,
    cancelChild: outside,
    confirmLease: outside,
    leaseFresh: () => true,
    continueAsNew: outside,
  };
  run = new Run(host, record, true);
  const r = run;
  let outcome: { output: unknown } | { error: unknown };
  try {
    outcome = { output: await kind.workflow.body(r, rec.input) };
  } catch (error) {
    outcome = { error };
  }
  if (r.diverged !== undefined) throw r.diverged;
  const asked = r.parking().seq;
  const matched = (upTo: number): number => journal.filter((e) => e.s < upTo).length;
  // Past the journal's end (or at an open wait): the operation asked last is not in the journal.
  if (r.ended) return { replayed: matched(asked - 1), entries: journal.length, ended: 'end-of-journal' };
  const missed = [...journal].sort((a, b) => a.s - b.s).find((e) => e.s >= asked);
  const how = 'output' in outcome ? 'returned' : 'threw';
  if (missed !== undefined)
    throw ErrWorkflowDiverged.with(
      `workflow ${kind.name}/${host.id}, operation ${missed.s}: the journal has ${missed.t} '${missed.n}', the code ${how} without asking for it`,
    );
  return 'output' in outcome
    ? { replayed: matched(asked), entries: journal.length, ended: 'returned', output: outcome.output }
    : { replayed: matched(asked), entries: journal.length, ended: 'threw', error: storedError(outcome.error) };
}
