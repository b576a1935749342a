// What a body draws once and a replay reads back: `ctx.now()`, `ctx.random()`, `ctx.uuid()` (a
// value journaled with the next write) and `ctx.patched(id)` (a marker journaled where new code
// passes, absent where older code passed). Each is one operation of the run (context.ts lends
// its numbering and journal); none waits.

import { ErrWorkflowIncorrect } from '../model/errors.js';
import type { JournalOp, WorkflowJournalEntry } from '../model/record.js';
import type { RunHost } from '../model/run_host.js';

/** @internal What drawing a value needs of its run. */
export interface DrawOps {
  readonly host: RunHost;
  readonly readOnly: boolean;
  next(): number;
  lookup(seq: number, t: JournalOp, n: string): WorkflowJournalEntry | undefined;
  record(entry: WorkflowJournalEntry): Promise<void>;
  entryAt(seq: number): WorkflowJournalEntry | undefined;
  seq(): number;
  caughtUp(): void;
  ended(): Error | undefined;
  endOfJournal(): Error;
}

/** A value drawn once (`draw`) as operation `t`, or the one its journal holds. */
export function drawn<T>(ops: DrawOps, t: JournalOp, draw: () => T): T {
  const seq = ops.next();
  const hit = ops.lookup(seq, t, '');
  if (hit !== undefined) return hit.v as T;
  const v = draw();
  // Not awaited: written in order with the next commit, which any later durable effect waits for.
  ops.record({ s: seq, t, n: '', v, at: ops.host.clock.now(), done: true }).catch(() => undefined);
  return v;
}

/**
 * `ctx.patched(id)`: true where the journal has the patch or the run is past its journal; false
 * where older code passed (another operation there) and where `unseen(seq)` says an older run may
 * have had an operation in flight that left no entry (a gap in the journal, or the position after
 * a resumed run's last ended operation: a kill -9 mid-step leaves no trace of the step, and taking
 * the patch there would run it again at a later position, under another idempotency key).
 */
export function patched(ops: DrawOps, id: string, unseen: (seq: number) => boolean): boolean {
  if (typeof id !== 'string' || id === '') throw ErrWorkflowIncorrect.with('a patch needs an id');
  const ended = ops.ended();
  if (ended !== undefined) throw ended;
  const e = ops.entryAt(ops.seq());
  if (e !== undefined && !(e.t === 'patch' && e.n === id)) return false; // older code passed here without the patch
  if (e === undefined && !ops.readOnly && unseen(ops.seq())) return false; // the older path: what may run here keeps its key
  const seq = ops.next();
  if (e !== undefined) return true;
  ops.caughtUp();
  if (ops.readOnly) throw ops.endOfJournal();
  const write = ops.record({ s: seq, t: 'patch', n: id, at: ops.host.clock.now(), done: true });
  write.catch(() => undefined);
  unsavedMarkers.set(ops, write);
  return true;
}

/** A run's last patch marker being written (markers are saved in order: the last covers the others). */
const unsavedMarkers = new WeakMap<object, Promise<void>>();

/**
 * Resolves once the patch marker `ops`'s run journaled last is saved (or failed: the run then
 * ends): an effect waits for it. Else an effect of the patched path could go out, the run end
 * before its marker lands, and a resume — seeing no marker where its journal ends — take the
 * older path ({@link unseenAfter}) with that effect already out.
 */
export function markersSaved(ops: object): Promise<void> {
  const write = unsavedMarkers.get(ops);
  if (write === undefined) return Promise.resolve();
  return write.then(
    () => void (unsavedMarkers.get(ops) === write && unsavedMarkers.delete(ops)),
    () => undefined,
  );
}

/**
 * Where an earlier run of a resumed journal may have run an operation that left no entry: the
 * position after its last one when that one had ended (a pending wait or a step's retry held the
 * earlier run there); -1 when nowhere.
 */
export function unseenAfter(entries: ReadonlyMap<number, WorkflowJournalEntry>, lastSeq: number): number {
  const last = entries.get(lastSeq);
  return last === undefined || last.done === true ? lastSeq + 1 : -1;
}
