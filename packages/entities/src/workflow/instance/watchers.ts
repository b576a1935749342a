// Who hears about a workflow instance, from any node: a process that monitors it gets a
// WorkflowDown message when it completes, fails or is cancelled (as a DOWN for a process); a
// process linked to it gets an exit signal when it fails or is cancelled (as a link to a process:
// a completion is a normal exit, which does not reach a linked process); a journal subscriber gets
// each new journal entry as it is saved. The list is part of the instance's record, so it holds
// across moves, passivation and restarts; a watcher whose process is gone is dropped on delivery.
// Also what else follows an end the engine wrote itself (a terminate): its figures, the `result()`
// callers waiting on this member, and the children it never waited for (each gets a cancel).

import { PID, type Atom } from 'ergo-ts';

import { describeThrown } from '../../contract/thrown.js';
import { ErrWorkflowClosed, ErrWorkflowIncorrect, type StoredError } from '../model/errors.js';
import { figuresOf } from '../model/metrics.js';
import { endReason, outcomeOf } from '../model/outcome.js';
import {
  openChildren,
  type ResultReply,
  type StoredWatcher,
  type WatchMode,
  type WorkflowJournalEntry,
  type WorkflowRecord,
  type WorkflowStatus,
} from '../model/record.js';

export type { StoredWatcher, WatchMode } from '../model/record.js';

/** The message a monitoring process gets when the instance ends. */
export interface WorkflowDown {
  readonly '~wf': 'down';
  readonly workflow: string;
  readonly id: string;
  readonly status: Exclude<WorkflowStatus, 'running'>;
  readonly output?: unknown;
  readonly error?: StoredError;
  /** Why it was cancelled. */
  readonly reason?: string;
}

/** The message a journal subscriber gets after each save that added or finished entries. */
export interface WorkflowJournalUpdate {
  readonly '~wf': 'journal';
  readonly workflow: string;
  readonly id: string;
  readonly status: WorkflowStatus;
  /** The entries added or finished by that save, in sequence order. */
  readonly entries: readonly WorkflowJournalEntry[];
  /**
   * The run they belong to, after a continue-as-new (absent: the first run). A save that
   * continued the instance sends the new run's number with no entries: its journal starts again at 0.
   */
  readonly run?: number;
}

/** True when `m` is a {@link WorkflowDown}. */
export function isWorkflowDown(m: unknown): m is WorkflowDown {
  return typeof m === 'object' && m !== null && (m as { '~wf'?: unknown })['~wf'] === 'down';
}

/** True when `m` is a {@link WorkflowJournalUpdate}. */
export function isWorkflowJournalUpdate(m: unknown): m is WorkflowJournalUpdate {
  return typeof m === 'object' && m !== null && (m as { '~wf'?: unknown })['~wf'] === 'journal';
}

/** The stored form of `pid` watching in `mode`. */
export function storedWatcher(pid: { node: string; id: number; creation: number }, mode: WatchMode): StoredWatcher {
  return { node: String(pid.node), id: Number(pid.id), creation: Number(pid.creation), mode };
}

/** The PID of a stored watcher. */
export function watcherPid(w: StoredWatcher): PID {
  return new PID(w.node as Atom, w.id, w.creation);
}

/** True when `w` is `pid` in `mode`. */
export function sameWatcher(w: StoredWatcher, pid: StoredWatcher): boolean {
  return w.node === pid.node && w.id === pid.id && w.creation === pid.creation && w.mode === pid.mode;
}

/** What the engine's host process can do inside a handler, for {@link notifyWatchers}. */
export interface Notifier {
  send(to: PID, message: unknown): void;
  sendExit(to: PID, reason: Error): void;
}

/**
 * Tells the watchers of `after` what its last save changed from `before`: journal subscribers the
 * new or finished entries, monitors and links the end. Called inside a handler, after the save.
 * Returns the watchers whose process could not be reached (to drop).
 */
export function notifyWatchers(
  n: Notifier,
  workflow: string,
  id: string,
  before: WorkflowRecord,
  after: WorkflowRecord,
  endError: () => Error,
): StoredWatcher[] {
  const watchers = after.watchers ?? [];
  if (watchers.length === 0) return [];
  const gone: StoredWatcher[] = [];
  const deliver = (w: StoredWatcher, f: (pid: PID) => void): void => {
    try {
      f(watcherPid(w));
    } catch {
      gone.push(w);
    }
  };
  const old = new Set(before.journal);
  const entries = after.journal.filter((e) => !old.has(e)).sort((a, b) => a.s - b.s);
  const ended = before.status === 'running' && after.status !== undefined && after.status !== 'running';
  const continued = after.run !== before.run;
  const update =
    entries.length > 0 || continued
      ? journalUpdate(workflow, id, after.status ?? 'running', entries, after.run)
      : undefined;
  for (const w of watchers) {
    if (w.mode === 'journal' && update !== undefined) deliver(w, (pid) => n.send(pid, update));
    if (ended) deliver(w, () => tellEnd(n, w, workflow, id, after, endError));
  }
  return gone;
}

/** A journal subscriber's message: `entries` (in order) of instance `workflow`/`id`, now `status`. */
export function journalUpdate(
  workflow: string,
  id: string,
  status: WorkflowJournalUpdate['status'],
  entries: WorkflowJournalUpdate['entries'],
  run?: number,
): WorkflowJournalUpdate {
  return { '~wf': 'journal', workflow, id, status, entries, ...(run === undefined ? {} : { run }) };
}

/**
 * What watcher `w` hears of the ended `rec`: a monitor its {@link WorkflowDown}, a link (unless the
 * instance completed) the exit signal `endError()`; a journal subscriber nothing more. Throws when
 * the watcher's process cannot be reached.
 */
export function tellEnd(
  n: Notifier,
  w: StoredWatcher,
  workflow: string,
  id: string,
  rec: WorkflowRecord,
  endError: () => Error,
): void {
  if (w.mode === 'monitor') n.send(watcherPid(w), downOf(workflow, id, rec));
  else if (w.mode === 'link' && rec.status !== 'completed') n.sendExit(watcherPid(w), endError());
}

/** The {@link WorkflowDown} of an ended record. */
export function downOf(workflow: string, id: string, rec: WorkflowRecord): WorkflowDown {
  return {
    '~wf': 'down',
    workflow,
    id,
    status: rec.status as WorkflowDown['status'],
    ...(rec.output === undefined ? {} : { output: rec.output }),
    ...(rec.error === undefined ? {} : { error: rec.error }),
    ...(rec.cancel === undefined ? {} : { reason: rec.cancel }),
  };
}

/** What a watch or unwatch request does: the reply, the record to save (if it changed), what to tell. */
export interface WatchOutcome {
  readonly reply: 'ok' | 'ended';
  readonly next?: WorkflowRecord;
  /** Told at once (each may throw: its watcher cannot be reached). */
  readonly tell: readonly ((n: Notifier) => void)[];
}

/**
 * A request that `pid` watch (`on`) or stop watching instance `workflow`/`id` (its record `rec`) in
 * `mode`. A journal subscriber gets the journal so far at once; a monitor or link of an ended
 * instance hears its end at once ('ended', nothing saved). Throws ERR_WORKFLOW_INCORRECT for a pid
 * or mode that is not one, or past `max` watchers.
 */
export function watchRequest(
  workflow: string,
  id: string,
  rec: WorkflowRecord,
  pid: unknown,
  mode: unknown,
  on: boolean,
  max: number,
): WatchOutcome {
  const p = pid as { node?: unknown; id?: unknown; creation?: unknown } | null;
  if (
    typeof p !== 'object' ||
    p === null ||
    typeof p.node !== 'string' ||
    typeof p.id !== 'number' ||
    typeof p.creation !== 'number' ||
    (mode !== 'monitor' && mode !== 'link' && mode !== 'journal')
  )
    throw ErrWorkflowIncorrect.with('watch: a PID and a mode (monitor, link or journal)');
  const w = storedWatcher(p as StoredWatcher, mode as WatchMode);
  const others = (rec.watchers ?? []).filter((x) => !sameWatcher(x, w));
  if (!on)
    return others.length === (rec.watchers ?? []).length
      ? { reply: 'ok', tell: [] }
      : { reply: 'ok', next: { ...rec, watchers: others }, tell: [] };
  const tell: ((n: Notifier) => void)[] = [];
  if (w.mode === 'journal')
    tell.push((n) =>
      n.send(
        watcherPid(w),
        journalUpdate(
          workflow,
          id,
          rec.status!,
          [...rec.journal].sort((a, b) => a.s - b.s),
          rec.run,
        ),
      ),
    );
  if (rec.status !== 'running') {
    // Ended already: a monitor hears it at once (as a DOWN for a process that is gone), a link too.
    tell.push((n) => tellEnd(n, w, workflow, id, rec, () => endReason(workflow, id, rec)));
    return { reply: 'ended', tell };
  }
  if (others.length >= max) throw ErrWorkflowIncorrect.with(`workflow ${workflow}/${id} has ${max} watchers already`);
  return { reply: 'ok', next: { ...rec, watchers: [...others, w] }, tell };
}

/** Tells a watcher something; one that cannot be reached is logged, not thrown at the caller. */
export function tellWatcher(h: Pick<EndingHost, 'workflow' | 'key' | 'log'>, f: () => void): void {
  try {
    f();
  } catch (err) {
    h.log.warning('workflow %s/%s: a watcher could not be told: %s', h.workflow, h.key, String(err));
  }
}

/** @internal What of an instance's entity the end's consequences need. */
export interface EndingHost {
  /** The workflow kind's name and the instance's id. */
  readonly workflow: string;
  readonly key: string;
  /** The entities runtime (its figures). */
  readonly entities: object;
  readonly log: { warning(format: string, ...args: unknown[]): void };
  /** A client of the runtime, for the children's cancels (the runtime's WorkflowClient). */
  workflows(): { handleOf(kind: string, id: string): { cancel(reason: string): Promise<unknown> } };
  /** The `result()` calls waiting here. */
  readonly resultWaiters: ReadonlySet<(r: ResultReply) => void>;
  notifier(): Notifier;
}

/**
 * Sends a cancel to each child in `journal` started and not waited for, in the background: one
 * that ended meanwhile is fine (ERR_WORKFLOW_CLOSED); any other failure is logged, not thrown.
 */
export function cancelOpenChildren(h: EndingHost, why: string, journal: readonly WorkflowJournalEntry[]): void {
  for (const { kind, id, target } of openChildren(journal)) {
    h.workflows()
      .handleOf(kind, id)
      .cancel(`parent ${h.workflow}/${h.key}: ${why}`)
      .catch((err: unknown) => {
        if (!ErrWorkflowClosed.is(err))
          h.log.warning(
            'workflow %s/%s: cancelling child %s failed: %s',
            h.workflow,
            h.key,
            target,
            describeThrown(err),
          );
      });
  }
}

/**
 * After an end the engine wrote itself (a terminate, a start that terminated the running
 * instance, a timeout), once it is saved: counted, answered to the waiting `result()` calls, told to the
 * watchers, and its open children cancelled.
 */
export function announceEnded(h: EndingHost, before: WorkflowRecord, ended: WorkflowRecord): void {
  figuresOf(h.entities, h.workflow).ended(ended);
  const r = outcomeOf(ended);
  for (const f of [...h.resultWaiters]) f(r);
  notifyWatchers(h.notifier(), h.workflow, h.key, before, ended, () => endReason(h.workflow, h.key, ended));
  cancelOpenChildren(h, ended.cancel ?? ended.error?.message ?? String(ended.status), ended.journal);
}
