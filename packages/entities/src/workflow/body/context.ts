// One run of a workflow's body: the context it is given. Each operation takes the next sequence
// number; when the journal holds an entry at that number (same operation, same name) its outcome is
// returned, else the operation runs and its entry is committed (engine.ts saves it with the fencing
// token) before the body goes on. A run ends when its activation does (a move, a crash, a stale
// token): its pending waits reject with an internal marker and nothing it does afterwards is written.

import { type AnyProtocol, type Infer, type Log, type MessageOf, type ReplyOf, type RequestOf } from 'ergo-ts';

import { quoted, thrownError } from '../../contract/thrown.js';
import type { EntitiesClient, EntityAddress } from '../../kinds/entity.js';
import { checkValueSize, declared, sleepUntil, timerMs } from '../model/bounds.js';
import type {
  ChildHandle,
  CompensationOptions,
  SelectBranches,
  StepInfo,
  StepOptions,
  UpdateHandlerOptions,
  WorkflowContext,
  WorkflowInfo,
} from './context_types.js';
import {
  type AnyWorkflowKind,
  type OutboxMessages,
  type QuerySchemas,
  type SignalSchemas,
  type WorkflowInput,
  type WorkflowOutput,
  type WorkflowSignals,
} from '../model/define.js';
import {
  ErrWorkflowCancelled,
  ErrWorkflowCompensationFailed,
  concurrentWait,
  ErrWorkflowDiverged,
  ErrWorkflowIncorrect,
  ErrWorkflowStepFailed,
  ErrWorkflowTimeout,
  revivedError,
  storedError,
} from '../model/errors.js';
import { RunAttributes } from '../model/attributes.js';
import type { IndexValue } from '../../contract/state_index.js';
import {
  keyGeneration,
  withEntry,
  type JournalOp,
  type WorkflowJournalEntry,
  type WorkflowRecord,
  type WorkflowRunningOperation,
} from '../model/record.js';
import { runInfo, runMarker } from '../model/continue_as_new.js';
import { takeUpdate } from './update_take.js';
import { takeSignal } from './signal_take.js';
import { runSelect, type SelectOps } from './select.js';
import { startChild } from './children.js';
import { conditionDeadline, Handlers, type HandlerOps, type WaitSlot } from './handlers.js';
import {
  compensationOptions,
  entityCallStep,
  entitySendStep,
  putOutbox,
  runStep,
  type Compensation,
  type EffectOps,
} from './effects.js';
import { activityAttempt, type ActivityRoute } from './activities.js';
import { RunShare } from './run_load.js';
import { drawn, patched, unseenAfter } from './drawn.js';
import { Scopes, TaggedSet, type CancellationScope, type Scope, type TimeoutOps, withTimeout } from './scopes.js';
import { RunEnded, type RunHost, type RunParking, type RunningAttempt, type Wait } from '../model/run_host.js';

export { RunEnded, type RunHost, type RunParking } from '../model/run_host.js';

/** One run of a body (see the top of this file). */
export class Run implements WorkflowContext<SignalSchemas, QuerySchemas, OutboxMessages> {
  readonly #h: RunHost;
  readonly #entries: Map<number, WorkflowJournalEntry>;
  readonly #lastSeq: number;
  /** Where an older run may have run an operation that left no entry (drawn.ts `unseenAfter`; -1: none). */
  readonly #unseenAt: number;
  readonly #resets: WorkflowRecord['resets'];
  /** The idempotency keys' run marker (continue_as_new.ts), and the continue-as-new under way. */
  readonly #runMarker: string;
  #continuing: RunEnded | undefined;
  readonly #attributes: RunAttributes;
  readonly #info: WorkflowInfo;
  readonly #waits = new Set<Wait>();
  /** Its cancellation scopes (scopes.ts), and the scope each wait and running attempt started in. */
  readonly #scopes: Scopes = new Scopes({
    id: () => this.id,
    runCancel: () => (this.#cancelled ? ErrWorkflowCancelled.with(`workflow ${this.id} was cancelled`) : undefined),
    compensating: () => this.#compensating,
    cancelled: (scope, err) => this.#cancelScope(scope, err),
  });
  readonly #scopeOf = new WeakMap<object, Scope | undefined>();
  readonly #steps = new TaggedSet<RunningAttempt>((a) => this.#scopeOf.set(a, this.#scopes.current()));
  readonly #queries = new Map<string, (...args: unknown[]) => unknown>();
  /** Its signal and update handlers, and the waits they run in (handlers.ts). */
  readonly #handlers = new Handlers(() => this.#ops);
  readonly #compensations: Compensation[] = [];
  /** Outbox deliveries in flight. */
  readonly #deliveries: Promise<void>[] = [];
  /** Journal writes not saved yet, and child results waited for (see {@link parking}). */
  #committing = 0;
  #childWaits = 0;
  /** Outbox handler calls in flight. */
  #delivering = 0;
  /** The activation hands off: no operation or attempt starts any more ({@link holdForHandOff}). */
  #holding: RunEnded | undefined;
  /** True while compensations run: their steps go on after a cancel. */
  #compensating = false;
  #seq = 0;
  /** The wait of the body pending now (a sleep, a signal, an update or a select), as its message names it. */
  readonly #bodySlot: WaitSlot = { waiting: undefined };
  #ended: RunEnded | undefined;
  #cancelled = false;
  /** A cancel was thrown into the body (an operation or a wait met it): see {@link cancelStruck}. */
  #struck = false;
  #diverged: Error | undefined;
  /** Read-only: a replay for a query of an ended instance; an operation the journal lacks stops it. */
  readonly #readOnly: boolean;
  readonly #share: RunShare; // its place in its member's count of runs with work to do (run_load.ts)
  #caughtUp!: () => void;
  /** Resolves once the body asked for an operation past its journal, waits, or ended. */
  readonly caughtUp = new Promise<void>((resolve) => (this.#caughtUp = resolve));

  constructor(host: RunHost, record: WorkflowRecord, readOnly = false, resumed = false) {
    this.#h = host;
    this.#entries = new Map(record.journal.map((e) => [e.s, e]));
    this.#lastSeq = record.journal.reduce((m, e) => Math.max(m, e.s), -1);
    this.#unseenAt = resumed ? unseenAfter(this.#entries, this.#lastSeq) : -1; // resumed: an earlier run ran this journal
    this.#resets = record.resets;
    this.#runMarker = runMarker(record);
    this.#attributes = new RunAttributes(record.attributes);
    this.#info = Object.freeze(runInfo(host.spec.name, host.id, record));
    // What a replay set is written at its catch-up, in that turn (never by one that halted or ended first).
    const live = (): boolean => this.#ended === undefined && this.#diverged === undefined && !readOnly;
    this.#caughtUp = this.#attributes.writingOnCatchUp(host, this.#caughtUp, live);
    this.#cancelled = record.cancel !== undefined;
    this.#readOnly = readOnly;
    this.#share = new RunShare(host, this, !readOnly);
  }

  get workflow(): string {
    return this.#h.spec.name;
  }
  get id(): string {
    return this.#h.id;
  }
  get entities(): EntitiesClient {
    return this.#h.entities;
  }
  get log(): Log {
    return this.#h.log;
  }
  get replaying(): boolean {
    return this.#seq <= this.#lastSeq;
  }
  get cancelled(): boolean {
    return this.#cancelled;
  }
  workflowInfo(): WorkflowInfo {
    return this.#info;
  }
  /** 1 while the body waits in a condition (handlers.ts): an event wait, as a signal's (no keep-alive wake). */
  get handlerWaits(): number {
    return this.#handlers.waiting;
  }
  /**
   * Whether the cancel reached the body (an operation or a wait threw ERR_WORKFLOW_CANCELLED). A
   * body that returns without meeting it — the cancel came after its last operation — completes.
   */
  get cancelStruck(): boolean {
    return this.#struck;
  }
  /** The error a replay diverged with, if it did (the body may have caught it: it halts anyway). */
  get diverged(): Error | undefined {
    return this.#diverged;
  }
  /** Whether the activation hands off: the body's outcome from now on is the next owner's to decide. */
  get handingOff(): boolean {
    return this.#holding !== undefined;
  }
  /** Whether this run is a read-only replay (a query's, of an ended instance). */
  get readOnly(): boolean {
    return this.#readOnly;
  }
  /** Whether this run ended (its activation did). */
  get ended(): boolean {
    return this.#ended !== undefined;
  }

  /** Whether the body only waits now (the test kit skips time with it). */
  parking(): RunParking {
    let wakeAt: number | undefined;
    for (const w of this.#waits) if (w.at !== undefined && (wakeAt === undefined || w.at < wakeAt)) wakeAt = w.at;
    const parked =
      this.#ended === undefined &&
      this.#committing === 0 &&
      this.#steps.size === this.#childWaits &&
      this.#waits.size + this.#childWaits > 0;
    return { parked, wakeAt, seq: this.#seq };
  }

  /** The attempts running now, oldest first (describe()'s `running`; a compensation's too). */
  running(): WorkflowRunningOperation[] {
    return [...this.#steps].flatMap((a) => (a.op === undefined ? [] : [a.op]));
  }

  /** The query handler `name`, once the body registered it. */
  query(name: string): ((...args: unknown[]) => unknown) | undefined {
    return this.#queries.get(name);
  }

  /** The activation ended: pending waits reject, running steps are aborted, nothing more is written. */
  end(reason: string): void {
    if (this.#ended !== undefined) return;
    this.#ended = new RunEnded(reason);
    this.#share.end();
    for (const w of [...this.#waits]) w.reject(this.#ended);
    for (const a of [...this.#steps]) a.stop(this.#ended);
    this.#caughtUp();
  }

  /**
   * A cancel was asked: waits reject with ERR_WORKFLOW_CANCELLED; running attempts have their
   * signal aborted and are waited for, or are abandoned (their step's `cancellation`).
   */
  cancel(reason: string): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#cancelScope(undefined, ErrWorkflowCancelled.with(reason));
  }

  /**
   * Cancels what a cancel of `scope` (undefined: the run's) reaches (scopes.ts): its waits are
   * struck, its running attempts cancelled; a non-cancellable scope stops it.
   */
  #cancelScope(scope: Scope | undefined, err: Error): void {
    for (const w of [...this.#waits])
      if (w.cancellable && this.#scopes.reaches(this.#scopeOf.get(w), scope)) {
        // Journaled first: the commit queue is ordered, so whatever the body's catch writes comes after.
        if (w.strike !== undefined) this.#strikeWait(w.strike, err);
        if (this.#cancelled) this.#struck = true;
        w.reject(err);
      }
    for (const a of [...this.#steps]) if (this.#scopes.reaches(this.#scopeOf.get(a), scope)) a.cancel(err);
  }

  /**
   * The activation hands off: no operation or attempt starts any more (they throw {@link RunEnded});
   * returns whether effects it started are still in flight (a step's function, an outbox handler,
   * a journal write), which the host waits for before it stops, so the next owner replays their
   * outcome instead of running them again — under a changed body, at another position.
   */
  holdForHandOff(): boolean {
    this.#holding ??= new RunEnded('its activation hands off');
    return this.#steps.size > this.#childWaits || this.#delivering > 0 || this.#committing > 0;
  }

  /** The body asked for every operation of its journal (or ended): answer queries now; no more its member's load. */
  markCaughtUp(): void {
    this.#share.end();
    this.#caughtUp();
  }

  // ---- operations ----

  /** The next operation's number; throws when the run ended, diverged or (unless compensating) was cancelled. */
  #next(): number {
    if (this.#ended !== undefined) throw this.#ended;
    if (this.#holding !== undefined) throw this.#holding;
    if (this.#diverged !== undefined) throw this.#diverged;
    if (this.#continuing !== undefined) throw this.#continuing;
    return this.#seq++;
  }

  /**
   * Throws ERR_WORKFLOW_CANCELLED once a cancel was asked, unless compensations run. Checked when
   * an operation would start (past the journal) or wait: journaled operations still replay after a
   * cancel, so a body resumed elsewhere rebuilds its compensation stack before the cancel strikes.
   */
  #checkCancel(): void {
    const err = this.#scopes.cancelHere(); // the run's, or a scope's (scopes.ts)
    if (err === undefined) return;
    if (this.#cancelled) this.#struck = true;
    throw err;
  }

  /**
   * A cancel struck the wait whose open entry is `open`: the entry is closed with the cancel's
   * error (unless the wait ended first in the same write: a signal taken), in order before anything
   * the body's catch writes; returns the error to throw.
   */
  #strikeWait(open: WorkflowJournalEntry, err: Error): Error {
    if (this.#cancelled) this.#struck = true;
    if (this.#readOnly) return err;
    const entry: WorkflowJournalEntry = { ...open, e: storedError(err), at: this.#h.clock.now(), done: true };
    const closed = (rec: WorkflowRecord): boolean => rec.journal.some((e) => e.s === open.s && e.done === true);
    // Not awaited: a failed write ends the run (commit_queue.ts), and the body's next write with it.
    this.#record(entry, (rec) => (closed(rec) ? rec : withEntry(rec, entry))).catch(() => undefined);
    return err;
  }

  /**
   * On replay, whether the open wait at `seq` of a cancelled record was struck by the cancel when
   * it ran: nothing was journaled after it (the strike's own entry was not saved yet), or a
   * compensation right after it (a record written before strikes were journaled). A sleep followed
   * by anything else had ended: the operation after it met the cancel.
   */
  #struckOnReplay(seq: number): boolean {
    if (!this.#cancelled || this.#scopes.cancelHere() === undefined) return false;
    if (seq >= this.#lastSeq) return true;
    const next = this.#entries.get(seq + 1);
    return next !== undefined && (next.t === 'step' || next.t === 'retry') && next.n.startsWith('compensate:');
  }

  /** The journal's entry for operation `seq`, checked against what the code asks; undefined past the journal. */
  #lookup(seq: number, t: JournalOp, n: string): WorkflowJournalEntry | undefined {
    const e = this.#entries.get(seq);
    if (e === undefined) {
      this.#caughtUp();
      if (this.#readOnly) throw this.#endOfJournal();
      this.#checkCancel();
      return undefined;
    }
    if ((e.t === 'retry' ? e.of : e.t) !== t || e.n !== n) {
      this.#diverged = ErrWorkflowDiverged.with(
        `workflow ${this.workflow}/${this.id}, operation ${seq}: the journal has ${e.t} '${e.n}', the code asked for ${t} '${n}'`,
      );
      throw this.#diverged;
    }
    return e;
  }

  /** A read-only replay asked past its journal: it ends there (no later operation is looked up). */
  #endOfJournal(): RunEnded {
    this.end('a read-only replay reached the end of the journal');
    return this.#ended!;
  }

  /** Commits `entry` (a new one, or one replacing the open entry of its number). */
  #record(entry: WorkflowJournalEntry, mutate?: (rec: WorkflowRecord) => WorkflowRecord): Promise<void> {
    this.#entries.set(entry.s, entry);
    this.#committing++;
    const done = this.#h.commit(mutate ?? ((rec) => withEntry(rec, entry)));
    done.then(
      () => this.#committing--,
      () => this.#committing--,
    );
    // A failed write ended the run first (commit_queue.ts): the body sees that end, never the engine's error.
    return done.catch((err: unknown) => Promise.reject(this.#engineFailure(err)));
  }

  /**
   * An engine failure met by an operation or a wait (not a cancel, a timeout or a step's outcome):
   * the run ends (if it did not already), and that end is what the body sees — its outcome is then
   * ignored and the next activation replays, instead of a catch taking it for the body's failure.
   */
  #engineFailure(err: unknown): Error {
    // A replay that diverged halts instead (engine.ts #finish): its writes were dropped, not failed.
    if (this.#ended === undefined && this.#diverged !== undefined) return this.#diverged;
    if (this.#ended === undefined) this.end(`an engine failure: ${thrownError(err).message}`);
    return this.#ended!;
  }

  /**
   * The idempotency key of operation `seq`: the instance, the position (with `~r<n>` after it once
   * n resets cut at or before it: operations a reset cut run again under keys of their own) and the
   * operation's kind and name, so two different effects never share one (a position alone did when
   * two runs of one instance took different branches: a cancel's compensation and the step after a
   * sleep).
   */
  #key(seq: number, t: JournalOp, name: string): string {
    const g = keyGeneration(this.#resets, seq);
    return `${this.workflow}/${this.id}/${seq}${this.#runMarker}${g > 0 ? `~r${g}` : ''}/${t}:${name}`;
  }

  /** An operation's key among the calls in flight on this node (in_flight.ts: one registry a process). */
  #onThisNode(key: string): string {
    return `${this.#h.entities.node.name}\u0000${key}`;
  }

  /**
   * What this run lends updates.ts and effects.ts: one object a run, made at its first operation
   * (once the constructor set what it lends); its members read the run as it is at each call.
   */
  #lent: (EffectOps & SelectOps & HandlerOps & TimeoutOps) | undefined;
  get #ops(): EffectOps & SelectOps & HandlerOps & TimeoutOps {
    return (this.#lent ??= {
      host: this.#h,
      run: this,
      readOnly: this.#readOnly,
      next: () => this.#next(),
      lookup: (seq, t, n) => this.#lookup(seq, t, n),
      record: (entry: WorkflowJournalEntry, mutate?: (rec: WorkflowRecord) => WorkflowRecord) =>
        this.#record(entry, mutate),
      waitFor: (start, cancellable, at, strike) => this.#waitFor(start, cancellable, at, strike),
      checkCancel: () => this.#checkCancel(),
      scopes: this.#scopes,
      caughtUp: () => this.#caughtUp(),
      ended: () => this.#ended,
      holding: () => this.#holding,
      compensating: () => this.#compensating,
      cancelled: () => this.#scopes.cancelHere() !== undefined,
      strike: () => void (this.#struck ||= this.#cancelled),
      endOfJournal: () => this.#endOfJournal(),
      key: (seq, t, name) => this.#key(seq, t, name),
      onThisNode: (key) => this.#onThisNode(key),
      checkSize: (what, v) => checkValueSize(what, v, this.#h.spec.maxValueBytes),
      pushCompensation: (c) => this.#compensations.push(c),
      steps: this.#steps,
      share: this.#share,
      deliveries: this.#deliveries,
      delivering: (d) => {
        this.#delivering += d;
      },
      childWait: (d) => {
        this.#childWaits += d;
      },
      handled: (kind, name) => this.#handlers.handles(kind, name),
      entryAt: (seq) => this.#entries.get(seq),
      seq: () => this.#seq,
      halted: () => this.#ended ?? this.#diverged,
      diverge: (message) =>
        (this.#diverged = ErrWorkflowDiverged.with(`workflow ${this.workflow}/${this.id}: ${message}`)),
      peek: () => this.#h.peek(),
      outermost: (fn) => this.#scopes.outermost(fn),
    });
  }

  step<T>(name: string, fn: (info: StepInfo) => T | Promise<T>, options: StepOptions<T> = {}): Promise<T> {
    if (typeof name !== 'string' || name === '')
      return Promise.reject(ErrWorkflowIncorrect.with('a step needs a name'));
    if (typeof fn !== 'function')
      return Promise.reject(ErrWorkflowIncorrect.with(`step ${name}: fn must be a function`));
    const c = (options as { cancellation?: unknown }).cancellation;
    if (c !== undefined && c !== 'wait' && c !== 'abandon')
      return Promise.reject(ErrWorkflowIncorrect.with(`step ${name}: cancellation must be 'wait' or 'abandon'`));
    return runStep(this.#ops, 'step', name, fn, options);
  }

  activity<T = unknown>(name: string, input: unknown, options: StepOptions<T> = {}): Promise<T> {
    // Where each attempt runs is decided before it (activities.ts): here, or on a serving member.
    const route: ActivityRoute = {};
    let fn: (info: StepInfo) => unknown;
    try {
      fn = activityAttempt(this.#h, name, input, route, options.queue, options.timeoutMs);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    return runStep(this.#ops, 'step', name, fn as (info: StepInfo) => T, options, { route });
  }

  /** A pending wait the run's end (or a cancel) rejects; `start` returns its own cleanup. */
  #waitFor<T>(
    start: (resolve: (v: T) => void, reject: (e: Error) => void) => () => void,
    cancellable: boolean,
    at?: number,
    strike?: WorkflowJournalEntry,
  ): Promise<T> {
    if (this.#ended !== undefined) return Promise.reject(this.#ended);
    return new Promise<T>((resolve, reject) => {
      let cleanup: (() => void) | undefined;
      const w: Wait = {
        cancellable,
        at,
        ...(strike === undefined ? {} : { strike }),
        reject: (e) => {
          this.#waits.delete(w);
          cleanup?.();
          reject(e);
        },
      };
      this.#waits.add(w);
      this.#scopeOf.set(w, this.#scopes.current());
      cleanup = start(
        (v) => {
          this.#waits.delete(w);
          cleanup?.();
          resolve(v);
        },
        // A wait ends by its cancel or its timeout; anything else is the engine's (see #engineFailure).
        (e) => w.reject(ErrWorkflowCancelled.is(e) || ErrWorkflowTimeout.is(e) ? e : this.#engineFailure(e)),
      );
    });
  }

  /**
   * Runs the wait `op` (`what` names it) unless another wait of the body is pending: then refuses
   * it (ERR_WORKFLOW_CONCURRENT_WAIT, before it takes an operation number, so the journal is the
   * same live and on a replay). Cleared as the wait settles, before the body's continuation runs.
   */
  #oneWait<T>(what: string, op: () => Promise<T>): Promise<T> {
    // A handler's code waits in its own frame, while the wait that runs it waits (handlers.ts).
    const slot = this.#handlers.frame() ?? this.#bodySlot;
    const pending = this.#handlers.waitRefusal(slot);
    if (pending !== undefined) return Promise.reject(concurrentWait(this.workflow, this.id, what, pending));
    slot.waiting = what;
    let p: Promise<T>;
    try {
      p = op();
    } catch (err) {
      slot.waiting = undefined;
      return Promise.reject(err as Error);
    }
    this.#share.away(); // waiting on something outside the member, the run is not its load (run_load.ts)
    const clear = (): void => {
      if (slot.waiting === what) slot.waiting = undefined;
      this.#share.back();
    };
    return p.then(
      (v) => {
        clear();
        return v;
      },
      (err: unknown) => {
        clear();
        throw err;
      },
    );
  }

  sleep(duration: number | { readonly until: Date | number }): Promise<void> {
    return this.#oneWait('ctx.sleep()', () => this.#sleep(duration));
  }

  async #sleep(duration: number | { readonly until: Date | number }): Promise<void> {
    const seq = this.#next();
    const hit = this.#lookup(seq, 'sleep', '');
    if (hit?.e !== undefined) throw this.#refusal(revivedError(hit.e)); // a cancel struck it
    const now = this.#h.clock.now();
    let until: number;
    if (hit !== undefined) until = hit.until ?? now;
    else until = sleepUntil(duration, now);
    this.#caughtUp();
    const open: WorkflowJournalEntry = { s: seq, t: 'sleep', n: '', until, at: now };
    const cancel = (): Error =>
      this.#strikeWait(
        open,
        this.#scopes.cancelHere() ?? ErrWorkflowCancelled.with(`workflow ${this.id} was cancelled`),
      );
    if (until <= now) {
      if (hit === undefined) await this.#record({ ...open, done: true });
      // Its end is not journaled: struck when it ran (see #struckOnReplay), it strikes here again.
      else if (hit.done !== true && this.#struckOnReplay(seq)) throw cancel();
      return;
    }
    if (hit !== undefined && this.#scopes.cancelHere() !== undefined) throw cancel(); // still running when the cancel came
    this.#h.deadline(seq, until);
    try {
      if (hit === undefined) await this.#record(open);
      if (this.#scopes.cancelHere() !== undefined) throw cancel(); // the cancel came while it was written
      // Armed again while the clock is short of `until`: a Node timer may fire a millisecond early
      // by Date.now(), and a sleep never ends early.
      await this.#waitFor<void>(
        (resolve) => {
          let t: unknown;
          const arm = (): void => {
            const left = until - this.#h.clock.now();
            if (left <= 0) resolve();
            else t = this.#h.clock.setTimeout(arm, timerMs(left));
          };
          arm();
          return () => this.#h.clock.clearTimeout(t);
        },
        true,
        until,
        open,
      );
    } finally {
      this.#h.deadline(seq, undefined);
    }
  }

  signal(name: string, options: { readonly timeoutMs?: number } = {}): Promise<never> {
    // signal_take.ts runs it on what this run lends: its numbering, journal and waits.
    return this.#oneWait(`ctx.signal(${quoted(name)})`, () => takeSignal(this.#ops, name, options)) as Promise<never>;
  }

  update(name: string | readonly string[], options?: { readonly timeoutMs?: number }): Promise<never> {
    // updates.ts runs it on what this run lends: its numbering, journal and waits.
    const what = `ctx.update(${typeof name === 'string' ? quoted(name) : 'names'})`;
    return this.#oneWait(what, () => takeUpdate(this.#ops, name, options)) as Promise<never>;
  }

  /** The first of several waits, as one journaled operation (select.ts). */
  select(branches: SelectBranches): Promise<never> {
    return this.#oneWait('ctx.select()', () => runSelect(this.#ops, this.#h.spec.signals, branches)) as Promise<never>;
  }

  onSignal(name: string, handler: (payload: never) => unknown): void {
    this.#handlers.onSignal(name, handler);
  }

  onUpdate(name: string, handler: (input: never) => unknown, options?: UpdateHandlerOptions<never>): void {
    this.#handlers.onUpdate(name, handler, options as UpdateHandlerOptions<unknown> | undefined);
  }

  cancellationScope(): CancellationScope {
    return this.#scopes.make(true);
  }

  nonCancellable<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.#scopes.make(false).run(fn);
  }

  /** A scope cancelled at a durable deadline (scopes.ts): one journaled timer. */
  withTimeout<T>(timeoutMs: number, fn: () => Promise<T> | T): Promise<T> {
    return withTimeout(this.#ops, timeoutMs, fn);
  }

  /** A wait in which handlers run (handlers.ts); a predicate that holds now takes no operation. */
  condition(fn: () => boolean, timeoutMs?: number): Promise<boolean> {
    if (typeof fn !== 'function')
      return Promise.reject(ErrWorkflowIncorrect.with('ctx.condition: fn must be a function'));
    try {
      conditionDeadline(timeoutMs, this.#h.clock.now()); // refused before an operation is taken
      if (fn() === true) return Promise.resolve(true);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return this.#oneWait('ctx.condition()', () => this.#handlers.wait(fn, timeoutMs));
  }

  allHandlersFinished(): Promise<void> {
    return this.#oneWait('ctx.allHandlersFinished()', () => this.#handlers.allFinished());
  }

  /** An update request came: its handler's validator refuses it now when this run is live (handlers.ts). */
  validateUpdate(name: string, input: unknown): void {
    this.#handlers.validate(name, input, !this.replaying && this.#ended === undefined);
  }

  /** A signal or an update was kept by the instance: a wait running handlers looks again. */
  messageKept(): void {
    this.#handlers.kept();
  }

  onQuery(name: string, handler: (...args: unknown[]) => unknown): void {
    if (declared(this.#h.spec.queries, name) === undefined)
      throw ErrWorkflowIncorrect.with(`workflow ${this.workflow} declares no query ${quoted(name)}`);
    if (typeof handler !== 'function') throw ErrWorkflowIncorrect.with(`query ${name}: the handler must be a function`);
    this.#queries.set(name, handler);
  }

  now(): number {
    return drawn(this.#ops, 'now', () => this.#h.clock.now());
  }

  random(): number {
    return drawn(this.#ops, 'random', () => Math.random());
  }

  uuid(): string {
    return drawn(this.#ops, 'uuid', () => crypto.randomUUID());
  }

  setAttributes(values: Readonly<Record<string, IndexValue>>): Promise<void> {
    // A halted replay sets nothing: its catch block would show a blocked instance as what it was not.
    return this.#attributes.set(this.#h, values, this.#readOnly, this.#ended ?? this.#diverged, this.replaying);
  }

  patched(id: string): boolean {
    return patched(this.#ops, id, (seq) => seq <= this.#lastSeq || seq === this.#unseenAt);
  }

  startChild<K extends AnyWorkflowKind>(
    kind: K,
    id: string,
    input: WorkflowInput<K>,
  ): Promise<ChildHandle<WorkflowOutput<K>, WorkflowSignals<K>>> {
    return startChild(this.#ops, kind, id, input);
  }

  async child<K extends AnyWorkflowKind>(kind: K, id: string, input: WorkflowInput<K>): Promise<WorkflowOutput<K>> {
    const h = await this.startChild(kind, id, input);
    return h.result();
  }

  send<P extends AnyProtocol>(to: EntityAddress<P>, message: MessageOf<P>): Promise<void> {
    return entitySendStep(this.#ops, to, message);
  }

  call<P extends AnyProtocol, const R extends RequestOf<P>>(
    to: EntityAddress<P>,
    request: R,
    options: StepOptions<ReplyOf<P, R>> & { readonly name?: string; readonly timeout?: number } = {},
  ): Promise<ReplyOf<P, R>> {
    return entityCallStep(this.#ops, to, request, options);
  }

  outbox(name: string, message: unknown): Promise<void> {
    const handler = declared(this.#h.spec.outboxes, name);
    if (handler === undefined)
      return Promise.reject(ErrWorkflowIncorrect.with(`workflow ${this.workflow} declares no outbox ${quoted(name)}`));
    return putOutbox(this.#ops, name, message, handler);
  }

  /** Settles once every outbox message this run put out was delivered (or the run ended). */
  async delivered(): Promise<void> {
    // At the body's end (not a continue-as-new's: kept messages go to the next run), as Temporal warns.
    if (this.#continueUnderWay === undefined && this.#ended === undefined) this.#handlers.warnLeft();
    while (this.#deliveries.length > 0) await Promise.all(this.#deliveries.splice(0));
  }

  compensate(name: string, fn: (info: StepInfo) => unknown, options?: CompensationOptions): void {
    if (typeof name !== 'string' || name === '') throw ErrWorkflowIncorrect.with('a compensation needs a name');
    if (typeof fn !== 'function') throw ErrWorkflowIncorrect.with(`compensation ${name}: fn must be a function`);
    this.#compensations.push({ name, fn, options: compensationOptions(name, options) });
  }

  /**
   * A continue-as-new under way (asked, not settled): a second call meanwhile is refused, and the
   * body's end waits for it (engine.ts). It settles with what the call threw.
   */
  #continueUnderWay: Promise<Error> | undefined;

  /** Ends this run for the next one on `input` (see the context's TSDoc; continue_as_new.ts). */
  continueAsNew(input: unknown): Promise<never> {
    // Not two at once: both would be written, the second continuing the run the first started.
    if (this.#continueUnderWay !== undefined)
      return Promise.reject(
        ErrWorkflowIncorrect.with(
          `workflow ${this.workflow}/${this.id}: continueAsNew called while an earlier one of this run is under way: await (or return) the first, which never returns`,
        ),
      );
    let settle!: (refusal: Error) => void;
    this.#continueUnderWay = new Promise((resolve) => (settle = resolve));
    const p = this.#continueOnce(input).catch((err: unknown) => {
      // Refused (the body goes on, and may call it again), or the run ended (it continued).
      this.#continueUnderWay = undefined;
      settle(err as Error);
      throw err;
    });
    p.catch(() => undefined); // not an unhandled rejection when the body did not await it (see continuing())
    return p;
  }

  /**
   * Settles once a continue-as-new under way is done (at once when none is): with its refusal,
   * which a body that did not await it never saw, or with ERR_WORKFLOW_RUN_ENDED (it continued).
   */
  continuing(): Promise<Error | undefined> {
    return this.#continueUnderWay ?? Promise.resolve(undefined);
  }

  async #continueOnce(input: unknown): Promise<never> {
    const seq = this.#next();
    const hit = this.#lookup(seq, 'continue', ''); // past the journal: a cancel throws here
    if (hit?.e !== undefined) throw this.#refusal(revivedError(hit.e));
    await this.delivered(); // its outbox messages first, as at a body's end (a cancel meanwhile: the write refuses)
    this.#continuing = new RunEnded('it continued as new');
    try {
      await this.#h.continueAsNew(input);
    } catch (err) {
      this.#continuing = undefined; // refused: the body goes on (and may catch it)
      if (this.#ended !== undefined || err instanceof RunEnded) throw err;
      // Journaled: a replay, where what was in flight is replayed at once, is refused the same way.
      await this.#record({ s: seq, t: 'continue', n: '', e: storedError(err), at: this.#h.clock.now(), done: true });
      throw this.#refusal(err as Error);
    }
    throw this.#ended ?? this.#continuing;
  }

  #refusal(err: Error): Error {
    if (ErrWorkflowCancelled.is(err)) this.#struck = true;
    return err;
  }

  async runCompensations(): Promise<void> {
    const was = this.#compensating;
    this.#compensating = true;
    const failed: { name: string; err: unknown }[] = [];
    try {
      while (this.#compensations.length > 0) {
        const c = this.#compensations.pop()!;
        try {
          await runStep(this.#ops, 'step', `compensate:${c.name}`, (info) => c.fn(info), c.options);
        } catch (err) {
          // One that failed for good does not stop the older ones (saga practice); the run's end
          // or a divergence does.
          if (!ErrWorkflowStepFailed.is(err) || this.#ended !== undefined || this.#diverged !== undefined) throw err;
          failed.push({ name: `compensate:${c.name}`, err });
        }
      }
    } finally {
      this.#compensating = was;
    }
    if (failed.length > 0)
      throw ErrWorkflowCompensationFailed.with(
        `workflow ${this.workflow}/${this.id}: ${failed.map((f) => f.name).join(', ')} failed for good`,
        failed[0]!.err,
      );
  }
}

/** Re-exported for the engine: a signal's typed payload. */
export type SignalValue<Sg extends SignalSchemas, N extends keyof Sg> = Infer<Sg[N]>;
