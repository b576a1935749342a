// How a workflow instance (engine.ts) saves its record. The body runs beside the entity's mailbox,
// so its journal entries are queued here and a local COMMIT message makes the entity save them
// (several at once when they came together), in order, with the activation's fencing token; each
// waiter resolves once its change is saved. Every save carries the `wake` reminder staged for it:
// soon after the last write while a step runs (so a member that died mid-step has its instances
// resumed on the new owner; rewritten only once less than half of resumeAfterMs is left, not with
// every step), at the earliest sleep or signal deadline while the body only waits, never after
// its execution or run timeout's deadline, and none once it ended. After a save, the instance's watchers hear what changed.

import type { EntitiesClock } from '../../contract/clock.js';
import { describeThrown } from '../../contract/thrown.js';
import type { Entity } from '../../kinds/entity.js';
import { stageCancelOf, stageReminderOf } from '../../kinds/reminders.js';
import type { Run } from '../body/context.js';
import type { WorkflowSpec } from '../model/define.js';
import { endReason } from '../model/outcome.js';
import { WAKE, type WorkflowRecord } from '../model/record.js';
import { timeoutDeadline } from '../model/timeouts.js';
import { RunEnded, type Commit } from '../model/run_host.js';
import { notifyWatchers, sameWatcher, type Notifier } from './watchers.js';

/** @internal The local message that makes an instance save its queued journal entries (identity is enough). */
export const COMMIT = Object.freeze({ '~wf': 'commit' });

/**
 * How often an instance whose body only waits for child workflows has its wake-up renewed (a write):
 * if its member dies meanwhile, another resumes it within this long and asks its children again.
 */
const CHILD_WAIT_RECHECK_MS = 30_000;

/** The most turns {@link CommitQueue.quiet} waits for the writes under way to end (taking a message is one or two). */
const QUIET_ROUNDS = 8;

/** @internal What the queue needs of its instance (engine.ts); read at each call. */
export interface CommitQueueHost {
  /** The instance's entity: its state, its save, its process (the COMMIT is sent to it). */
  readonly entity: Entity<unknown, WorkflowRecord>;
  spec(): WorkflowSpec;
  /** The instance's durable deadlines by operation number (sleeps, signal and update waits). */
  readonly deadlines: ReadonlyMap<number, number>;
  clock(): EntitiesClock;
  /** The body running here, if any. */
  run(): Run | undefined;
  /** A replay diverged in this activation (the body is not started again). */
  halted(): boolean;
  /** The activation ended: nothing more is queued. */
  ended(): boolean;
  /** Operations running outside a durable wait, and the body's waits for a signal or an update. */
  busyOps(): number;
  bodyWaits(): number;
  notifier(): Notifier;
}

/** @internal The commit queue of one activation of an instance (see the top of this file). */
export class CommitQueue {
  readonly #h: CommitQueueHost;
  #queue: Commit[] = [];
  /** Changes queued or being saved, each settled once its save is done (see {@link written}). */
  readonly #unsaved = new Set<Promise<void>>();
  #nudged = false;
  #runsToCount = 0;
  /**
   * The due time of the keep-alive `wake` (the one soon after a write while the body runs) this
   * activation last saved, or undefined when unknown or not a keep-alive one; and what the one
   * staged for the next save makes it (null: not a keep-alive one; undefined: none staged).
   */
  #keepAliveAt: number | undefined;
  #keepAliveStaged: number | null | undefined;

  constructor(host: CommitQueueHost) {
    this.#h = host;
  }

  /** How many changes wait for the next save. */
  get queued(): number {
    return this.#queue.length;
  }

  /** How many changes are queued or being saved. */
  get unsaved(): number {
    return this.#unsaved.size;
  }

  /** Settles once every change queued or being saved now is saved (or failed); later ones are not waited for. */
  written(): Promise<void> {
    return this.#unsaved.size === 0 ? Promise.resolve() : Promise.allSettled([...this.#unsaved]).then(() => undefined);
  }

  /**
   * Settles once `run` took what was acknowledged before now and got as far as it can with it (a
   * query waits for this: it then answers from state that took every signal and update acknowledged
   * before it, as Temporal's does). What takes a message here is a write — a signal handed to a
   * `ctx.signal` wait is journaled before it is acknowledged; one kept is taken by a select, a
   * handler's wait or the body's next `ctx.signal` in a write of its own — followed by the body's
   * code up to its next operation, which runs in microtasks. So: the writes under way are awaited,
   * then the event loop's next turn (every microtask ran by then: the body's code that followed
   * reached its next wait, or a write that took a message), until a turn ends with no write under
   * way. Bounded in rounds: a body that writes without pause (a loop of quick steps) still answers.
   */
  async quiet(run: Run): Promise<void> {
    for (let round = 0; round < QUIET_ROUNDS; round++) {
      await this.written();
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (run.ended || this.#unsaved.size === 0) return;
    }
  }

  /** A run started here that the record does not count yet: the next save counts it. */
  countRun(): void {
    this.#runsToCount++;
  }

  /** The `wake` fired: the stored one is gone, so the next is written again (nothing staged counts as saved). */
  wakeFired(): void {
    this.#keepAliveAt = undefined;
  }

  /** The activation ended: every change still queued is rejected with `ended`. */
  rejectAll(ended: Error): void {
    for (const c of this.#queue.splice(0)) c.reject(ended);
  }

  /** Saves, and keeps what the keep-alive `wake` staged for it became (see {@link stageWake}). */
  async saveWake(): Promise<void> {
    try {
      await this.#h.entity.save();
    } catch (err) {
      this.#keepAliveAt = this.#keepAliveStaged = undefined;
      throw err;
    }
    if (this.#keepAliveStaged !== undefined) this.#keepAliveAt = this.#keepAliveStaged ?? undefined;
    this.#keepAliveStaged = undefined;
  }

  /** Saves the record, then tells its watchers what changed since `before` (inside the handler). */
  async persist(before: WorkflowRecord): Promise<void> {
    const e = this.#h.entity;
    await this.saveWake();
    const after = e.state;
    if ((after.watchers ?? []).length === 0) return;
    const gone = notifyWatchers(this.#h.notifier(), this.#h.spec().name, e.key, before, after, () =>
      endReason(this.#h.spec().name, e.key, after),
    );
    // Unreachable watchers are dropped with the next save.
    if (gone.length > 0)
      e.state = { ...after, watchers: (after.watchers ?? []).filter((w) => !gone.some((g) => sameWatcher(g, w))) };
  }

  /** Queues `mutate` of the record for the next save, on behalf of `run`; resolves once it is saved. */
  commit(mutate: (rec: WorkflowRecord) => WorkflowRecord, run?: Run): Promise<void> {
    if (this.#h.ended()) return Promise.reject(new RunEnded('the activation ended'));
    const saved = new Promise<void>((resolve, reject) => {
      this.#queue.push({ run, mutate, resolve, reject });
      if (this.#nudged) return;
      this.#nudged = true;
      try {
        // From outside a handler (the body runs beside the mailbox): the node sends it.
        const actor = this.#h.entity.actor;
        actor.node.send(actor.pid, COMMIT);
      } catch (err) {
        // The process is not in the node's table (an engine fault, not the body's): nothing can be
        // saved here, so the run ends and its writes reject with that end; the next activation replays.
        this.#nudged = false;
        this.#failed(`its journal write could not be queued: ${describeThrown(err)}`, this.#queue.splice(0));
      }
    });
    const settled = saved.then(
      () => void this.#unsaved.delete(settled),
      () => void this.#unsaved.delete(settled),
    );
    this.#unsaved.add(settled);
    return saved;
  }

  /**
   * Writes that cannot be saved: the run ends first, then they reject with that end (RunEnded),
   * never with the engine's own error, which a body would take for its failure.
   */
  #failed(why: string, commits: readonly Commit[]): void {
    this.#h.run()?.end(why);
    const ended = new RunEnded(why);
    for (const c of commits) c.reject(ended);
  }

  /** Saves every queued change in one write (the COMMIT message's handler). */
  async flush(): Promise<void> {
    const e = this.#h.entity;
    this.#nudged = false;
    const batch = this.#queue.splice(0);
    if (batch.length === 0) return;
    const before = e.state;
    let rec = before;
    if (this.#runsToCount > 0) {
      rec = { ...rec, runs: rec.runs + this.#runsToCount };
      this.#runsToCount = 0;
    }
    // A run ended meanwhile (a resume or reset started another) writes nothing more; nor does one
    // whose replay diverged: what its catch block asks (attributes, say) is not what happened.
    const dropped = new Set(batch.filter((c) => c.run?.ended === true || c.run?.diverged !== undefined));
    for (const c of batch) if (!dropped.has(c)) rec = c.mutate(rec);
    e.state = rec;
    try {
      await this.stageWake();
      await this.persist(before);
    } catch (err) {
      // The failed write ends this activation (the host reloads the key). The run ends first, so a
      // body that catches the error can do nothing more here (no compensation of a saga that goes
      // on from its journal on the next activation).
      this.#failed(`a journal write failed: ${describeThrown(err)}`, batch);
      throw err;
    }
    for (const c of batch)
      if (dropped.has(c)) c.reject(new RunEnded('its run ended'));
      else c.resolve();
  }

  /** Stages the `wake` reminder for the record's next save (see the top of this file). */
  async stageWake(starting = false): Promise<void> {
    const e = this.#h.entity;
    const spec = this.#h.spec();
    const rec = e.state;
    const run = this.#h.run();
    const running = starting || (run !== undefined && !run.ended);
    // Its execution or run timeout's deadline (timeouts.ts): the wake is never later, so whoever
    // owns the key then ends it, a halted instance too.
    const timeout = timeoutDeadline(rec)?.at;
    const now = this.#h.clock().now();
    if (rec.status !== 'running' || (!running && this.#h.halted())) {
      if (timeout === undefined) stageCancelOf(e, WAKE);
      else await stageReminderOf(e, WAKE, { afterMs: Math.max(1, Math.ceil(timeout - now)) }, { at: timeout });
      this.#keepAliveStaged = null;
      return;
    }
    const waits = this.#h.deadlines.size + this.#h.bodyWaits();
    // Parked on child results only (no step runs): looked at again later, not each resumeAfterMs.
    const childOnly =
      running && run !== undefined && this.#h.busyOps() > 0 && this.#queue.length === 0 && run.parking().parked;
    if (!childOnly && (!running || this.#h.busyOps() > 0 || this.#queue.length > 0 || waits === 0)) {
      const at = Math.min(now + spec.resumeAfterMs, timeout ?? Infinity);
      // A keep-alive wake saved less than half resumeAfterMs ago stays as it is: rewriting it with
      // each step was a second row (and two index entries) in every journal write, the larger
      // part of a step's write in the server. It still fires at most resumeAfterMs after the last
      // write, at least half of it after. While the body runs here it is not fired at all (the
      // scheduler leaves it standing by: engine.ts' ENTITY_REMINDER_STANDBY); this write moves it on.
      const kept = this.#keepAliveAt;
      if (kept !== undefined && kept <= at && kept - now >= spec.resumeAfterMs / 2) return;
      await stageReminderOf(e, WAKE, { afterMs: Math.max(1, Math.ceil(at - now)) }, { at });
      this.#keepAliveStaged = at;
      return;
    }
    let at: number | undefined;
    for (const d of this.#h.deadlines.values()) at = at === undefined ? d : Math.min(at, d);
    if (childOnly) at = Math.min(at ?? Infinity, now + Math.max(spec.resumeAfterMs, CHILD_WAIT_RECHECK_MS));
    if (rec.cancel !== undefined && at === undefined) at = now + spec.resumeAfterMs;
    if (timeout !== undefined) at = Math.min(at ?? Infinity, timeout);
    if (at === undefined) stageCancelOf(e, WAKE);
    else await stageReminderOf(e, WAKE, { afterMs: Math.max(1, Math.ceil(at - now)) }, { at });
    this.#keepAliveStaged = null;
  }
}
