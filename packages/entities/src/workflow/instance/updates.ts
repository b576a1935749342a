// Updates (Temporal's Update): a typed request to a running instance that its body takes, handles
// and answers. The caller's `handle.update(name, input, { updateId })` is checked at the client
// and again at the instance (the input schema, then the definition's `validate`) before anything
// is written: a refused one journals nothing. Accepted, it is kept in the record's `updates` (its
// id, name and input) in the same write that, when the body already waits for it, journals the
// body's `ctx.update` operation; else the body's next `ctx.update(name)` takes the oldest one kept,
// in order, as `ctx.signal` takes signals. `update.reply(v)` (or `fail(err)`) is an operation of
// its own: its journal entry and the answer kept under the update's id are one write. The caller
// waits for that answer with bounded calls, asking again (same id) across a move or a crash: an id
// already kept is never accepted twice, and an answered one is answered from the record, after the
// instance ended too.
//
// The body takes an update itself (`const u = await ctx.update(name)`), or registers a handler
// (`ctx.onUpdate`, body/handlers.ts) that takes each one while the body waits in `ctx.condition`:
// every operation takes the next sequence number when it is asked (context.ts), so a handler runs
// only while the body is parked in one wait, never beside its other operations. The validator of a
// handler (`validate`) refuses an update here before it is kept, when the body is live.

import type { EntitiesClock } from '../../contract/clock.js';
import { describeThrown, quoted } from '../../contract/thrown.js';
import { deferReply, refuseCall } from '../../kinds/entity.js';
import { declared, timerMs, valueIssue } from '../model/bounds.js';
import type { WorkflowSpec } from '../model/define.js';
import {
  ErrWorkflowClosed,
  ErrWorkflowIncorrect,
  ErrWorkflowTimeout,
  ErrWorkflowUpdateNotFound,
  ErrWorkflowUpdateRejected,
  revivedError,
  storedError,
} from '../model/errors.js';
import { storableRefusal } from '../model/outcome.js';
import { withEntry, type WorkflowRecord } from '../model/record.js';
import type { RunRef } from '../model/run_host.js';
import {
  checkUpdates,
  keptUpdates,
  MAX_UPDATE_ID_LENGTH,
  type PendingUpdate,
  type Taken,
  type UpdateReply,
  type UpdateState,
  type UpdateTake,
} from '../model/update_state.js';

export { checkUpdates, type PendingUpdate, type UpdateState, type UpdateTake };

/** Updates accepted and not answered an instance keeps at most: one more is refused (ERR_WORKFLOW_UPDATE_REJECTED). */
export const MAX_PENDING_UPDATES = 256;

/** How long an update whose acceptance could not be written waits before its caller asks again, in ms. */
const RETRY_AFTER_MS = 100;

/** `d` (the description of `rec`) with the updates `rec` accepted and has not answered. */
export function withPendingUpdates<D extends object>(d: D, rec: WorkflowRecord): D {
  const pending: PendingUpdate[] = (rec.updates ?? [])
    .filter((u) => u.out === undefined)
    .map((u) => ({ id: u.id, name: u.name, input: u.input, at: u.at, ...(u.s === undefined ? {} : { taken: u.s }) }));
  return pending.length === 0 ? d : { ...d, updates: pending };
}

/** Accepted, not taken by a `ctx.update` yet. */
function untaken(u: UpdateState): boolean {
  return u.s === undefined && u.out === undefined;
}

/** The reply to a caller for an answered update. */
function answerOf(u: UpdateState): UpdateReply {
  const out = u.out!;
  return out.e !== undefined ? { status: 'failed', error: out.e } : { status: 'answered', output: out.v };
}

interface UpdateWaiter {
  readonly run: RunRef | undefined;
  readonly seq: number;
  /** The names it waits for (any of them). */
  readonly names: readonly string[];
  /** Its journal entry's name: the names joined by ' | '. */
  readonly key: string;
  readonly until: number | undefined;
  settled: boolean;
  timer: unknown;
  resolve(v: Taken): void;
  reject(e: Error): void;
}

/** A caller waiting for an update's answer. */
interface Caller {
  readonly id: string;
  settle(r: UpdateReply | Error): void;
}

/** What the instance (engine.ts) lends its update desk. */
export interface UpdateDeskHost {
  readonly spec: WorkflowSpec;
  readonly id: string;
  readonly clock: EntitiesClock;
  /** The record of a started instance (ERR_WORKFLOW_NOT_FOUND, refused, otherwise). */
  known(): WorkflowRecord;
  /** Queues a change of the record (dropped when `run` ended first); resolves once saved. */
  commit(mutate: (rec: WorkflowRecord) => WorkflowRecord, run?: RunRef): Promise<void>;
  deadline(seq: number, until: number | undefined): void;
  ensureRunning(): void;
  /** The running body's validator of update `name` (body/handlers.ts): throws its refusal. */
  validate?(name: string, input: unknown): void;
  /** Update `name` was accepted (kept in the record for the first time): the metrics count it. */
  accepted(name: string): void;
}

/** One activation's updates: the callers waiting for answers and the body's waits (see the top of this file). */
export class UpdateDesk {
  readonly #h: UpdateDeskHost;
  #waiters: UpdateWaiter[] = [];
  readonly #callers = new Set<Caller>();
  #ended = false;

  constructor(host: UpdateDeskHost) {
    this.#h = host;
  }

  /** The body's update waits. */
  get waits(): number {
    return this.#waiters.length;
  }

  /** What the body's update waits wait for (the test kit's probe). */
  waitingFor(): string[] {
    return this.#waiters.map((w) => w.key);
  }

  /** Callers waiting for an answer here. */
  get callers(): number {
    return this.#callers.size;
  }

  /**
   * An update request (the entity's call handler): refused, or a deferred reply with its answer —
   * with `accepted` instead once it is kept when `stage` is 'accepted' (startUpdate), and for a
   * `known` request (an update handle's result) only an id accepted already, never a new update.
   */
  request(name: unknown, input: unknown, id: unknown, waitMs: unknown, stage?: unknown, onlyKnown?: unknown): unknown {
    const rec = this.#h.known();
    if (typeof id !== 'string' || id === '' || id.length > MAX_UPDATE_ID_LENGTH)
      throw refuseCall(ErrWorkflowIncorrect.with(`update: an id is a string of 1..${MAX_UPDATE_ID_LENGTH} characters`));
    const known = rec.updates?.find((u) => u.id === id);
    if (known?.out !== undefined) return answerOf(known);
    if (known === undefined && onlyKnown === true)
      throw refuseCall(
        ErrWorkflowUpdateNotFound.with(
          `workflow ${this.#h.spec.name}/${this.#h.id} has no update ${quoted(id)} (never accepted, or answered long ago)`,
        ),
      );
    if (rec.status !== 'running') throw refuseCall(this.#closed(rec, name, known));
    if (known === undefined) this.#check(rec, name, input);
    this.#h.ensureRunning();
    const accepted = known === undefined ? this.#accept(name as string, input, id) : Promise.resolve();
    const ms = typeof waitMs === 'number' && waitMs >= 0 ? Math.min(waitMs, 30_000) : 30_000;
    // A failed acceptance write ends this activation: the caller asks again (the same id), a
    // moment later, and the key's next activation takes it.
    const retry = (): Promise<UpdateReply> =>
      new Promise((resolve) => setTimeout(() => resolve({ status: 'pending' }), RETRY_AFTER_MS).unref());
    const then = stage === 'accepted' ? () => this.#acceptedNow(id) : () => this.#answer(id, ms);
    return deferReply(accepted.then(then, retry));
  }

  /** What an ACCEPTED-stage request is answered once update `id` is kept: its answer if it has one already. */
  #acceptedNow(id: string): UpdateReply {
    const rec = this.#h.known();
    const u = rec.updates?.find((x) => x.id === id);
    if (u?.out !== undefined) return answerOf(u);
    // Kept, then the instance ended without answering it (a write of the same batch): its caller's result says so.
    return { status: 'accepted' };
  }

  /**
   * Accepts update `id` as a request does, without waiting for its answer (update-with-start on a
   * running instance): resolves once it is kept; a repeat of a known id is accepted already.
   */
  offer(name: unknown, input: unknown, id: unknown): Promise<void> {
    const rec = this.#h.known();
    if (typeof id !== 'string' || id === '' || id.length > MAX_UPDATE_ID_LENGTH)
      throw refuseCall(ErrWorkflowIncorrect.with(`update: an id is a string of 1..${MAX_UPDATE_ID_LENGTH} characters`));
    const known = rec.updates?.find((u) => u.id === id);
    if (known !== undefined) return Promise.resolve();
    if (rec.status !== 'running') throw refuseCall(this.#closed(rec, name, known));
    this.#check(rec, name, input);
    this.#h.ensureRunning();
    return this.#accept(name as string, input, id);
  }

  /**
   * Checks update `name` with `input` and `id` for the record `rec` of an instance about to start
   * (update-with-start): refused as a request would be, nothing written. Returns it as kept.
   */
  checkedForStart(rec: WorkflowRecord, name: unknown, input: unknown, id: unknown, at: number): UpdateState {
    if (typeof id !== 'string' || id === '' || id.length > MAX_UPDATE_ID_LENGTH)
      throw refuseCall(ErrWorkflowIncorrect.with(`update: an id is a string of 1..${MAX_UPDATE_ID_LENGTH} characters`));
    this.#check(rec, name, input);
    return { id, name: name as string, input, at };
  }

  /** ERR_WORKFLOW_CLOSED for an update to an ended instance (or accepted and left unanswered by it). */
  #closed(rec: WorkflowRecord, name: unknown, known: UpdateState | undefined): Error {
    const what = `workflow ${this.#h.spec.name}/${this.#h.id}`;
    return ErrWorkflowClosed.with(
      known === undefined
        ? `${what} is ${rec.status}: update ${quoted(name)} refused`
        : `${what} ended ${rec.status} before it answered update ${known.name} (${known.id})`,
    );
  }

  /** The checks before anything is written (see the top of this file). */
  #check(rec: WorkflowRecord, name: unknown, input: unknown): void {
    const { spec } = this.#h;
    const d = declared(spec.updates, name);
    if (d === undefined)
      throw refuseCall(ErrWorkflowIncorrect.with(`workflow ${spec.name} declares no update ${quoted(name)}`));
    const issue = valueIssue(d.input, input);
    if (issue !== undefined)
      throw refuseCall(ErrWorkflowUpdateRejected.with(`update ${String(name)}: input refused: ${issue}`));
    if (d.validate !== undefined) {
      let r: unknown;
      try {
        r = d.validate(input);
      } catch (err) {
        throw refuseCall(ErrWorkflowUpdateRejected.with(`update ${String(name)}: refused: ${describeThrown(err)}`));
      }
      if (r instanceof Promise) {
        r.catch(() => undefined);
        throw refuseCall(ErrWorkflowIncorrect.with(`update ${String(name)}: validate must be synchronous`));
      }
    }
    try {
      this.#h.validate?.(name as string, input);
    } catch (err) {
      throw refuseCall(err as Error);
    }
    const big = storableRefusal(`update ${String(name)}`, input, spec.maxValueBytes);
    if (big !== undefined) throw refuseCall(big);
    if ((rec.updates ?? []).filter((u) => u.out === undefined).length >= MAX_PENDING_UPDATES)
      throw refuseCall(
        ErrWorkflowUpdateRejected.with(`${spec.name}/${this.#h.id}: ${MAX_PENDING_UPDATES} updates wait already`),
      );
  }

  /** Keeps the update, handing it to a body that waits for one of its name and has none kept. */
  #accept(name: string, input: unknown, id: string): Promise<void> {
    let took: UpdateWaiter | undefined;
    let added = false;
    const at = this.#h.clock.now();
    return this.#h
      .commit((rec) => {
        const list = rec.updates ?? [];
        if (rec.status !== 'running' || list.some((u) => u.id === id)) return rec; // a repeat came first
        // A wait takes the oldest kept update of its names first: a new one goes to a wait with none kept.
        const w = this.#waiters.find(
          (x) => !x.settled && x.names.includes(name) && !list.some((u) => x.names.includes(u.name) && untaken(u)),
        );
        let next = rec;
        if (w !== undefined) {
          took = w;
          this.#settle(w);
          next = withEntry(next, { s: w.seq, t: 'update', n: w.key, v: { id, name, input }, at, done: true });
        }
        const u: UpdateState = { id, name, input, at, ...(w === undefined ? {} : { s: w.seq }) };
        added = true;
        return { ...next, updates: keptUpdates([...list, u]) };
      })
      .then(() => {
        if (added) this.#h.accepted(name);
        took?.resolve({ id, name, input });
      });
  }

  /** Waits (at most `ms`) for the answer of the accepted update `id`. */
  #answer(id: string, ms: number): Promise<UpdateReply> {
    const now = this.#now(id);
    if (now !== undefined) return now instanceof Error ? Promise.reject(now) : Promise.resolve(now);
    if (this.#ended) return Promise.resolve({ status: 'pending' });
    return new Promise<UpdateReply>((resolve, reject) => {
      const c: Caller = {
        id,
        settle: (r) => {
          clearTimeout(timer);
          this.#callers.delete(c);
          if (r instanceof Error) reject(r);
          else resolve(r);
        },
      };
      // The wall clock: it bounds a caller's real wait (the test clock must not stretch it).
      const timer = setTimeout(() => c.settle({ status: 'pending' }), ms).unref();
      this.#callers.add(c);
    });
  }

  /** The answer for `id` the record has now, ERR_WORKFLOW_CLOSED when it ended without one, else undefined. */
  #now(id: string): UpdateReply | Error | undefined {
    const rec = this.#h.known();
    const u = rec.updates?.find((x) => x.id === id);
    if (u?.out !== undefined) return answerOf(u);
    if (rec.status !== 'running') return this.#closed(rec, u?.name, u);
    return undefined;
  }

  /** The record changed (an answer saved, the instance ended): callers with an outcome hear it. */
  look(): void {
    for (const c of [...this.#callers]) {
      const r = this.#now(c.id);
      if (r !== undefined) c.settle(r);
    }
  }

  /** The activation ended: callers ask again (the next owner answers), waits end with the run. */
  end(): void {
    this.#ended = true;
    for (const c of [...this.#callers]) c.settle({ status: 'pending' });
    for (const w of this.#waiters.splice(0)) {
      w.settled = true;
      this.#h.clock.clearTimeout(w.timer);
    }
  }

  /** The body waits for an update of `names` as operation `seq` (taking the oldest kept one first). */
  await(
    seq: number,
    names: readonly string[],
    until: number | undefined,
    recordOpen: boolean,
    run: RunRef | undefined,
  ): UpdateTake {
    let resolve!: (v: Taken) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<Taken>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const key = names.join(' | ');
    const w: UpdateWaiter = { run, seq, names, key, until, settled: false, timer: undefined, resolve, reject };
    this.#waiters.push(w);
    this.#waiters.sort((a, b) => a.seq - b.seq);
    if (until !== undefined) {
      this.#h.deadline(seq, until);
      w.timer = this.#h.clock.setTimeout(() => this.#timeOut(w), timerMs(until - this.#h.clock.now()));
    }
    let took: Taken | undefined;
    const at = this.#h.clock.now();
    this.#h
      .commit((rec) => {
        if (w.settled) return rec;
        const u = (rec.updates ?? []).find((x) => names.includes(x.name) && untaken(x));
        if (u !== undefined) {
          took = { id: u.id, name: u.name, input: u.input };
          this.#settle(w);
          const updates = rec.updates!.map((x) => (x === u ? { ...x, s: seq } : x));
          return withEntry({ ...rec, updates }, { s: seq, t: 'update', n: key, v: took, at, done: true });
        }
        if (!recordOpen) return rec;
        return withEntry(rec, { s: seq, t: 'update', n: key, ...(until === undefined ? {} : { until }), at });
      }, run)
      .then(
        () => {
          if (took !== undefined) resolve(took);
        },
        (err: Error) => {
          if (!w.settled) this.#settle(w);
          reject(err);
        },
      );
    return {
      promise,
      drop: () => {
        if (!w.settled) this.#settle(w);
      },
    };
  }

  #timeOut(w: UpdateWaiter): void {
    if (w.settled || this.#ended) return;
    // A Node timer may fire a millisecond early by Date.now(): a wait never times out early.
    const left = (w.until ?? 0) - this.#h.clock.now();
    if (left > 0) {
      w.timer = this.#h.clock.setTimeout(() => this.#timeOut(w), timerMs(left));
      return;
    }
    this.#settle(w);
    const e = storedError(ErrWorkflowTimeout.with(`update ${w.key} did not come in time`));
    const entry = { s: w.seq, t: 'update' as const, n: w.key, e, until: w.until, at: this.#h.clock.now(), done: true };
    this.#h
      .commit((rec) => withEntry(rec, entry), w.run)
      .then(
        () => w.reject(revivedError(e)),
        (x: Error) => w.reject(x),
      );
  }

  /** Marks `w` settled and forgets it (its timer and deadline too). */
  #settle(w: UpdateWaiter): void {
    w.settled = true;
    this.#h.clock.clearTimeout(w.timer);
    if (w.until !== undefined) this.#h.deadline(w.seq, undefined);
    this.#waiters = this.#waiters.filter((x) => x !== w);
  }
}

/**
 * A reset to `toSeq` (recovery.ts): updates taken at or after it and not answered are kept again
 * for the body to take anew; answered ones stay answered (their callers had their answer).
 */
export function updatesAfterReset(rec: WorkflowRecord, toSeq: number): WorkflowRecord {
  if (rec.updates === undefined) return rec;
  const updates = rec.updates.map((u) => {
    if (u.s === undefined || u.s < toSeq || u.out !== undefined) return u;
    const { s: _s, ...rest } = u;
    return rest;
  });
  return { ...rec, updates };
}
