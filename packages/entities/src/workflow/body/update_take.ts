// Updates as the body takes them (instance/updates.ts keeps them on the instance's side; the
// caller's side is client/update_request.ts): `ctx.update(names)` takes the next update of those
// names as one operation, and the handle it gives answers it (`reply`, `fail`) as one more, its
// journal entry and the answer kept under the update's id one write. A Run lends its sequencing,
// journal and waits (RunOps).

import { describeThrown, quoted } from '../../contract/thrown.js';
import { declared, MAX_WAKE_AT, valueIssue } from '../model/bounds.js';
import type { WorkflowUpdate } from '../model/define.js';
import {
  ErrWorkflowCancelled,
  ErrWorkflowIncorrect,
  handledBy,
  revivedError,
  storedError,
  type StoredError,
} from '../model/errors.js';
import { storableRefusal } from '../model/outcome.js';
import { withEntry, type WorkflowJournalEntry, type WorkflowRecord } from '../model/record.js';
import type { RunOps } from '../model/run_host.js';
import { keptUpdates, type Taken } from '../model/update_state.js';

/** `ctx.update(names, { timeoutMs })`: the next update of those names, taken as an operation. */
export async function takeUpdate(
  ops: RunOps,
  asked: string | readonly string[],
  options: { readonly timeoutMs?: number } | undefined,
): Promise<WorkflowUpdate<unknown, unknown>> {
  const { spec } = ops.host;
  const names = typeof asked === 'string' ? [asked] : Array.isArray(asked) ? [...(asked as unknown[])] : [];
  if (names.length === 0) throw ErrWorkflowIncorrect.with(`ctx.update: a name or a non-empty list of names`);
  for (const name of names) {
    if (declared(spec.updates, name) === undefined)
      throw ErrWorkflowIncorrect.with(`workflow ${spec.name} declares no update ${quoted(name)}`);
    if (ops.handled('update', name as string)) throw handledBy('update', name as string);
  }
  const key = (names as string[]).join(' | ');
  const seq = ops.next();
  const hit = ops.lookup(seq, 'update', key);
  if (hit?.done === true) {
    if (hit.e === undefined) return updateHandle(ops, hit.v as Taken);
    const e = revivedError(hit.e); // a timeout, or the cancel struck it
    if (ErrWorkflowCancelled.is(e)) ops.strike();
    throw e;
  }
  ops.checkCancel(); // a journaled wait still open when the cancel came
  const until = hit?.until ?? deadlineOf(key, options?.timeoutMs, ops.host.clock.now());
  ops.caughtUp();
  const take = ops.host.awaitUpdate(seq, names as string[], until, hit === undefined && until !== undefined);
  const taken = await ops.waitFor<Taken>(
    (resolve, reject) => {
      take.promise.then(resolve, reject);
      return () => take.drop();
    },
    true,
    until,
    { s: seq, t: 'update', n: key, ...(until === undefined ? {} : { until }), at: ops.host.clock.now() },
  );
  return updateHandle(ops, taken);
}

function deadlineOf(name: string, timeoutMs: unknown, now: number): number | undefined {
  if (timeoutMs === undefined) return undefined;
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || now + timeoutMs > MAX_WAKE_AT)
    throw ErrWorkflowIncorrect.with(`update ${name}: timeoutMs must be a number ≥ 0, got ${describeThrown(timeoutMs)}`);
  return now + timeoutMs;
}

/** @internal The update `taken` as the body holds it: its answer is one operation, once. */
export function updateHandle(ops: RunOps, taken: Taken): WorkflowUpdate<unknown, unknown> {
  const { id, name, input } = taken;
  let answered = false;
  const answer = async (out: { readonly v: unknown } | { readonly e: StoredError }): Promise<void> => {
    if (answered) throw ErrWorkflowIncorrect.with(`update ${name} (${id}) was answered already`);
    const seq = ops.next();
    const hit = ops.lookup(seq, 'reply', name); // throws ERR_WORKFLOW_CANCELLED after a cancel: not answered
    answered = true;
    if (hit !== undefined) return; // answered on an earlier run
    // Past the journal: what the replay set (search attributes) is written first. Without this a
    // body that set them after a replayed step, answered and ended left them behind (the fault
    // checker: `taken` 1 on an instance that took 2 updates, handed off after the second's step).
    ops.caughtUp();
    const at = ops.host.clock.now();
    const entry: WorkflowJournalEntry = { s: seq, t: 'reply', n: name, v: { id, ...out }, at, done: true };
    await ops.record(entry, (rec) => answeredIn(withEntry(rec, entry), id, out, at));
    ops.host.updateAnswered();
  };
  return Object.freeze({
    id,
    name,
    input,
    reply: async (output: unknown): Promise<void> => {
      const d = declared(ops.host.spec.updates, name)!;
      const issue = valueIssue(d.output, output);
      if (issue !== undefined) throw ErrWorkflowIncorrect.with(`update ${name}: answer refused: ${issue}`);
      const big = storableRefusal(`update ${name}'s answer`, output, ops.host.spec.maxValueBytes);
      if (big !== undefined) throw big;
      return answer({ v: output });
    },
    fail: (error: unknown): Promise<void> =>
      answer({ e: storedError(error, undefined, ops.host.spec.failureConverter) }),
  });
}

/** The record with update `id` answered `out` (its state kept for repeats of its id). */
function answeredIn(rec: WorkflowRecord, id: string, out: object, at: number): WorkflowRecord {
  if (rec.updates === undefined) return rec;
  return { ...rec, updates: keptUpdates(rec.updates.map((u) => (u.id === id ? { ...u, out: { ...out, at } } : u))) };
}
